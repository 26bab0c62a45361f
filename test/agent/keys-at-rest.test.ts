import { expect } from "chai";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRoleAgent, ensureIdentifier, identifierSigner, LevelDatabase, decodeJws, verifyEd25519, publicKeyFromDidKey, signJws } from "@realname/agent";

describe("Veramo agent over LevelDB: keys sealed under the passphrase", () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), "agent-test-"))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("creates a did:key, signs with it after a reopen, and never writes the private key in clear", async () => {
    let db = await LevelDatabase.open(dir);
    let { agent } = await createRoleAgent(db, "2468");
    const id = await ensureIdentifier(agent, "me");
    await db.close();

    // The sealed record is all the store holds; unseal it with the right passphrase, then make sure those
    // key bytes appear nowhere in the files LevelDB wrote.
    const privateKeyStore = await LevelDatabase.open(dir);
    const sealed = await privateKeyStore.store<{ sealed: string }>("veramo-private-keys").list();
    expect(sealed).to.have.length(1);
    expect(sealed[0]![1].sealed).to.match(/^v1\./);
    await privateKeyStore.close();
    const { box } = await (async () => {
      const d = await LevelDatabase.open(dir);
      const r = await createRoleAgent(d, "2468");
      await d.close();
      return r;
    })();
    const privateHex = box.decrypt(sealed[0]![1].sealed);
    expect(privateHex).to.match(/^[0-9a-f]{64,128}$/);
    const raw = readdirSync(dir).map((f) => readFileSync(join(dir, f)).toString("latin1")).join("");
    expect(raw.includes(privateHex)).to.equal(false);
    expect(raw.includes(Buffer.from(privateHex, "hex").toString("latin1"))).to.equal(false);

    db = await LevelDatabase.open(dir);
    ({ agent } = await createRoleAgent(db, "2468"));
    const again = await ensureIdentifier(agent, "me");
    expect(again.did).to.equal(id.did);
    const jws = decodeJws(await signJws({ alg: "EdDSA" }, { hello: "world" }, identifierSigner(agent, again)))!;
    expect(verifyEd25519(jws.signingInput, jws.signature, publicKeyFromDidKey(id.did))).to.equal(true);
    await db.close();
  });

  it("a wrong passphrase opens nothing: ERR_WRONG_PASSPHRASE", async () => {
    let db = await LevelDatabase.open(dir);
    const { agent } = await createRoleAgent(db, "2468");
    await ensureIdentifier(agent, "me");
    await db.close();
    db = await LevelDatabase.open(dir);
    try {
      await createRoleAgent(db, "1357");
      expect.fail("opened with the wrong passphrase");
    } catch (error) {
      expect((error as { code: string }).code).to.equal("ERR_WRONG_PASSPHRASE");
    } finally {
      await db.close();
    }
  });
});
