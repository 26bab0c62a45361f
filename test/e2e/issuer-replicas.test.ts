import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { DEVICE_PROOF_TYP, jwkFromDidKey, sha256Hex, signJws } from "@realname/agent";
import { chainWithRegistry } from "../helpers/chain.js";
import { newTestKey } from "../helpers/keys.js";
import { call } from "../helpers/http.js";
import { PgDatabase } from "@realname/agent";
import { PG_URL, uniqueSchema } from "../helpers/pg.js";
import { startService, type EmbeddedChain, type ServiceProcess } from "../../scripts/lib/devnet.js";
import { makeRegistryFixture, type RegistryFixture } from "../../scripts/lib/registry-fixture.js";

const ADMIN = "issuer-replicas-admin";
const PRE = "urn:ietf:params:oauth:grant-type:pre-authorized_code";

/**
 * Two issuer processes on one PostgreSQL schema, as behind one address (issue 16): one platform (one DID, one
 * status list), and everything single-use is spent once across them: a registration nonce, a pending
 * registration's confirmation, a pre-authorized code.
 */
describe("issuer replicas on one PostgreSQL database: one platform, single-use things spent once across replicas", function () {
  this.timeout(240_000);
  let chain: EmbeddedChain;
  let a: ServiceProcess;
  let b: ServiceProcess;
  let work: string;
  let schema: string;
  let fixture: RegistryFixture;
  const device = { deviceId: "replica-kiosk-1", key: newTestKey() };

  before(async () => {
    work = mkdtempSync(join(tmpdir(), "issuer-replicas-"));
    fixture = await makeRegistryFixture({ count: 4, outDir: join(work, "registry"), seed: 1616, poolSize: 4 });
    const c = await chainWithRegistry();
    chain = c.chain;
    schema = uniqueSchema("issuer_replicas");
    const env = (n: string) => ({
      DATA_DIR: join(work, n),
      DATABASE_URL: PG_URL,
      DATABASE_SCHEMA: schema,
      CHAIN_RPC_URL: chain.url,
      DEPLOYMENT_FILE: c.deploymentFile,
      ISSUER_PASSPHRASE: "replicas-test",
      ISSUER_DATA_KEY: "55".repeat(32),
      ADMIN_TOKEN: ADMIN,
      ANCHOR_DEV_ACCOUNT: "2",
      IDENTITY_REGISTRY_FILE: fixture.file,
      FACE_FIRST: "0",
    });
    // The first replica of a fresh database starts alone: it creates the role's keys; the second finds them.
    a = await startService("issuer-service", env("a"));
    b = await startService("issuer-service", env("b"));
    const enrolled = await call(`${a.url}/admin/devices`, { body: { deviceId: device.deviceId, label: "kiosk", publicJwk: jwkFromDidKey(device.key.did) }, headers: { authorization: `Bearer ${ADMIN}` } });
    expect(enrolled.status).to.equal(201);
  });
  after(async () => {
    await a?.stop();
    await b?.stop();
    await chain?.close();
    const db = await PgDatabase.open(PG_URL, { schema });
    await db.dropSchema();
    await db.close();
    rmSync(work, { recursive: true, force: true });
  });

  /** Registration materials signed by the enrolled device over a nonce the given replica issued. */
  async function materials(from: ServiceProcess, i: number) {
    const { nonce } = (await call(`${from.url}/registrations/nonce`, { body: {} })).body;
    const portrait = await fixture.livePortrait(i);
    const deviceProof = await signJws({ typ: DEVICE_PROOF_TYP, alg: "EdDSA", kid: device.deviceId }, { aud: from.did, nonce, portrait_sha256: sha256Hex(portrait), iat: Math.floor(Date.now() / 1000) }, device.key.signer);
    return { fullName: fixture.people[i]!.fullName, idNumber: fixture.people[i]!.idNumber, portrait: portrait.toString("base64"), nonce, deviceProof };
  }

  it("both replicas are one platform: the same issuer DID and the same status list", async () => {
    expect(b.did).to.equal(a.did);
    const list = async (s: ServiceProcess) => (await call(`${s.url}/status-lists/1`, { headers: { accept: "application/statuslist+jwt" } })).status;
    expect([await list(a), await list(b)]).to.deep.equal([200, 200]);
  });

  it("a registration nonce from one replica is spent once: the same materials sent to both at once are accepted once", async () => {
    const body = await materials(a, 0);
    const answers = await Promise.all([call(`${a.url}/registrations`, { body }), call(`${b.url}/registrations`, { body })]);
    expect(answers.map((r) => r.status).sort()).to.deep.equal([202, 400]);
    expect(answers.find((r) => r.status === 400)!.body.error.code).to.equal("ERR_NONCE_INVALID");
  });

  it("a registration submitted to one replica is confirmed at the other; the confirmation is taken once; its pre-authorized code is redeemed once across both", async () => {
    const submitted = await call(`${a.url}/registrations`, { body: await materials(a, 1) });
    expect(submitted.status).to.equal(202);
    const id = submitted.body.registrationId;
    const confirmations = await Promise.all([call(`${b.url}/registrations/${id}/confirmation`, { body: { confirm: true } }), call(`${a.url}/registrations/${id}/confirmation`, { body: { confirm: true } })]);
    expect(confirmations.map((r) => r.status).sort()).to.deep.equal([201, 404]);
    const offerLink: string = confirmations.find((r) => r.status === 201)!.body.credentialOffer;
    const offerUri = new URL(offerLink.replace(/^openid-credential-offer:\/\//, "https://offer/")).searchParams.get("credential_offer_uri")!;
    const offer = (await call(offerUri)).body;
    const code = offer.grants[PRE]["pre-authorized_code"];
    const form = new URLSearchParams({ grant_type: PRE, "pre-authorized_code": code }).toString();
    const tokens = await Promise.all([a, b].map((s) => call(`${s.url}/token`, { body: form, contentType: "application/x-www-form-urlencoded" })));
    expect(tokens.map((r) => r.status).sort(), JSON.stringify(tokens.map((t) => t.body))).to.deep.equal([200, 400]);
    expect(tokens.find((r) => r.status === 400)!.body.error).to.equal("invalid_grant");
  });

  it("an unknown registration id is 404 on both, and a nonce nobody issued is refused on both (nothing stored)", async () => {
    for (const s of [a, b]) {
      expect((await call(`${s.url}/registrations/${crypto.randomUUID()}/confirmation`, { body: { confirm: true } })).status).to.equal(404);
      const body = { ...(await materials(a, 2)), nonce: randomBytes(16).toString("base64url") };
      expect((await call(`${s.url}/registrations`, { body })).body.error.code).to.equal("ERR_NONCE_INVALID");
    }
  });
});
