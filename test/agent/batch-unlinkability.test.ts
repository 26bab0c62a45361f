import { expect } from "chai";
import {
  DataKey,
  IdentityIssuer,
  IdentityVault,
  jwkFromDidKey,
  MemoryDocumentStore,
  merchantPseudonymClaim,
  readCredentialClaims,
  StatusListService,
  verifySdJwtPresentation,
} from "@realname/agent";
import { newTestKey } from "../helpers/keys.js";

const PEOPLE = [
  { idNumber: "110105199003071239", fullName: "张三", familyName: "张", givenName: "三", birthDate: "1990-03-07" },
  { idNumber: "310115198508154561", fullName: "李四", familyName: "李", givenName: "四", birthDate: "1985-08-15" },
];

/** Every leaf of a JSON value by its path; array elements of `_sd` are leaves of their own ("_sd[]"). */
function leaves(value: unknown, path: string, out: Map<string, string[]>): Map<string, string[]> {
  if (Array.isArray(value) && path.endsWith("._sd")) {
    out.set(`${path}.length`, [String(value.length)]);
    out.set(`${path}[]`, value.map((v) => JSON.stringify(v)));
  } else if (value && typeof value === "object" && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) leaves(v, `${path}.${k}`, out);
  } else out.set(path, [JSON.stringify(value)]);
  return out;
}

/** What a merchant sees of a credential without any disclosure: header, payload, signature. */
function plainFields(credential: string): Map<string, string[]> {
  const [h, p, sig] = credential.split("~")[0]!.split(".");
  const decode = (s: string) => JSON.parse(Buffer.from(s, "base64url").toString());
  const out = new Map<string, string[]>([["signature", [sig!]]]);
  leaves(decode(h!), "header", out);
  leaves(decode(p!), "payload", out);
  return out;
}

describe("a batch of credentials cannot be linked by what a merchant sees (issue 12 §3)", () => {
  const issuer = newTestKey();
  const now = new Date("2026-11-21T10:00:00Z");
  const merchants = [newTestKey().did, newTestKey().did];

  async function issueBatches() {
    const key = DataKey.ephemeral();
    const vault = new IdentityVault(new MemoryDocumentStore(), key);
    const status = new StatusListService(new MemoryDocumentStore(), { listId: "1", uri: () => "https://issuer.example/status-lists/1", issuer, size: 4096, clock: () => now });
    const identityIssuer = new IdentityIssuer({
      issuer,
      vct: () => "https://issuer.example/vct/realname-identity/v1",
      vault,
      status,
      validForSeconds: 365 * 86_400,
      clock: () => now,
      pseudonyms: { merchants: async () => merchants, value: (ref, did) => key.index("merchant-pseudonym", `${ref}\u0000${did}`) },
    });
    const batches: string[][] = [];
    for (const person of PEOPLE) {
      const ref = await vault.put({ person, evidence: { method: "registry+face", verifiedAt: now.toISOString(), assurance: "substantial" }, statusIndexes: [] });
      batches.push(await identityIssuer.issue(ref, Array.from({ length: 10 }, () => jwkFromDidKey(newTestKey().did))));
    }
    return batches;
  }

  it("two people's batches of 10, compared field by field: only values every credential of this issuer shares repeat", async () => {
    const batches = await issueBatches();
    const all = batches.flat();
    for (const c of all) expect(verifySdJwtPresentation({ presentation: c, trustedIssuers: [issuer.did], audience: "", nonce: "", requireKeyBinding: false, now: () => now }).verified).to.equal(true);
    const fields = all.map(plainFields);
    const paths = new Set(fields.flatMap((f) => [...f.keys()]));
    const constant: string[] = [];
    for (const path of paths) {
      // Every credential has the same plain fields (a missing one would itself tell people apart).
      for (const f of fields) expect(f.has(path), `${path} present in every credential`).to.equal(true);
      const values = fields.flatMap((f) => f.get(path)!);
      const distinct = new Set(values);
      if (distinct.size === 1) {
        constant.push(path);
        continue;
      }
      // Not shared by everyone: then no value may occur twice, pairwise, across the credentials.
      for (let i = 0; i < fields.length; i++) {
        for (let j = i + 1; j < fields.length; j++) {
          const shared = fields[i]!.get(path)!.filter((v) => fields[j]!.get(path)!.includes(v));
          expect(shared, `credentials ${i} and ${j} share ${path}`).to.deep.equal([]);
        }
      }
    }
    // The fields everyone shares are the issuer's, the type's and the list's: nothing about time or person.
    expect(constant.sort()).to.deep.equal(
      ["header.alg", "header.kid", "header.typ", "payload._sd.length", "payload._sd_alg", "payload.cnf.jwk.crv", "payload.cnf.jwk.kty", "payload.iss", "payload.status.status_list.uri", "payload.vct"].sort(),
    );
    // Time claims: in the day before issuance, ending at most a week before the nominal validity, never both equal.
    const t = Math.floor(now.getTime() / 1000);
    for (const f of fields) {
      const iat = Number(f.get("payload.iat")![0]);
      const exp = Number(f.get("payload.exp")![0]);
      expect(iat).to.be.within(t - 86_400, t);
      expect(exp).to.be.within(t + 365 * 86_400 - 7 * 86_400, t + 365 * 86_400);
    }
  });

  it("each credential carries one pseudonym per pseudonymous merchant: the same within a person, different across people and merchants", async () => {
    const batches = await issueBatches();
    const claims = await Promise.all(batches.map((b) => Promise.all(b.map(readCredentialClaims))));
    const [a, b] = merchants.map(merchantPseudonymClaim);
    for (const batch of claims) {
      expect(new Set(batch.map((c) => c[a!])).size).to.equal(1);
      expect(new Set(batch.map((c) => c[b!])).size).to.equal(1);
      expect(batch[0]![a!]).to.not.equal(batch[0]![b!]);
    }
    expect(claims[0]![0]![a!]).to.not.equal(claims[1]![0]![a!]);
  });
});
