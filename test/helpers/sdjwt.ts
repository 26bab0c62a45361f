import {
  bindPresentation,
  identityVct,
  issueIdentityCredential,
  jwkFromDidKey,
  selectDisclosures,
  sha256B64url,
  signJws,
  b64url,
  type IdentityClaims,
} from "@realname/agent";
import { newTestKey, type TestKey } from "./keys.js";

export const NOW = new Date("2026-11-21T10:00:00Z");
/** The identity credential type of the test issuer (issuer.example serves its type metadata). */
export const TEST_VCT = identityVct("https://issuer.example");
export const AUDIENCE = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK";
export const NONCE = "n-0S6_WzA2Mj-0123456789";

export const CLAIMS: IdentityClaims = {
  real_name_verified: true,
  age_over_18: true,
  family_name: "张",
  given_name: "三",
  full_name: "张三",
  id_number: "110105199003071239",
  birth_date: "1990-03-07",
};

export interface Scenario {
  issuer: TestKey;
  holder: TestKey;
  credential: string;
}

export async function scenario(): Promise<Scenario> {
  const issuer = newTestKey();
  const holder = newTestKey();
  const credential = await issueIdentityCredential({ issuerDid: issuer.did, vct: TEST_VCT, signer: issuer.signer, holderJwk: jwkFromDidKey(holder.did), claims: CLAIMS, now: NOW, validForSeconds: 86_400 });
  return { issuer, holder, credential };
}

/** A presentation with key binding; every field can be bent by a test. */
export async function present(
  s: Scenario,
  o: { disclose?: string[]; audience?: unknown; nonce?: string; now?: Date; signer?: TestKey; credential?: string; kbHeader?: Record<string, unknown> } = {},
): Promise<string> {
  const { presented, sdHash } = await selectDisclosures(o.credential ?? s.credential, o.disclose ?? ["real_name_verified"]);
  if (o.kbHeader) {
    return presented + (await signJws(o.kbHeader, { iat: Math.floor((o.now ?? NOW).getTime() / 1000), aud: o.audience ?? AUDIENCE, nonce: o.nonce ?? NONCE, sd_hash: sdHash }, (o.signer ?? s.holder).signer));
  }
  if (o.audience !== undefined && typeof o.audience !== "string") {
    return presented + (await signJws({ typ: "kb+jwt", alg: "EdDSA" }, { iat: Math.floor((o.now ?? NOW).getTime() / 1000), aud: o.audience, nonce: o.nonce ?? NONCE, sd_hash: sdHash }, (o.signer ?? s.holder).signer));
  }
  return bindPresentation({ presented, sdHash, audience: (o.audience as string) ?? AUDIENCE, nonce: o.nonce ?? NONCE, now: o.now ?? NOW, signer: (o.signer ?? s.holder).signer });
}

/** An issuer-signed SD-JWT whose payload and disclosures the test writes by hand (for malicious issuers' shapes). */
export async function handmade(
  s: Scenario,
  build: (disclose: (d: unknown[]) => { encoded: string; digest: string }) => { payload: Record<string, unknown>; disclosures: string[] },
  header: Record<string, unknown> = { alg: "EdDSA", typ: "dc+sd-jwt" },
): Promise<string> {
  const disclose = (d: unknown[]) => {
    const encoded = b64url(Buffer.from(JSON.stringify(d)));
    return { encoded, digest: sha256B64url(encoded) };
  };
  const { payload, disclosures } = build(disclose);
  const full = { iss: s.issuer.did, iat: Math.floor(NOW.getTime() / 1000), exp: Math.floor(NOW.getTime() / 1000) + 3600, vct: "urn:realname:identity:1", cnf: { jwk: jwkFromDidKey(s.holder.did) }, _sd_alg: "sha-256", ...payload };
  const jwt = await signJws(header, full, s.issuer.signer);
  const presented = `${jwt}~${disclosures.map((d) => d + "~").join("")}`;
  const kb = await signJws({ typ: "kb+jwt", alg: "EdDSA" }, { iat: Math.floor(NOW.getTime() / 1000), aud: AUDIENCE, nonce: NONCE, sd_hash: sha256B64url(presented) }, s.holder.signer);
  return presented + kb;
}
