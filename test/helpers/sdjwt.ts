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
  type JwsSigner,
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

// --- exact-text builders for the strict-decoding tests (duplicate names, invalid UTF-8, odd encodings) ------

/** A compact JWS whose header and payload are exactly these texts or bytes, signed by `signer`. */
export async function rawJws(header: string | Uint8Array, payload: string | Uint8Array, signer: JwsSigner): Promise<string> {
  const signingInput = `${b64url(Buffer.from(header as string))}.${b64url(Buffer.from(payload as string))}`;
  return `${signingInput}.${await signer(signingInput)}`;
}

/** The JSON text of `object` with `name: first` written before its own members: a duplicate when `object` has `name` too. */
export const withLeadingMember = (object: Record<string, unknown>, name: string, first: unknown): string =>
  `{${JSON.stringify(name)}:${JSON.stringify(first)},${JSON.stringify(object).slice(1)}`;

/** The UTF-8 JSON bytes of `object` plus a member `name` whose string value is exactly `raw` (e.g. invalid UTF-8). */
export const withRawStringMember = (object: Record<string, unknown>, name: string, raw: Uint8Array): Buffer =>
  Buffer.concat([Buffer.from(`${JSON.stringify(object).slice(0, -1)},${JSON.stringify(name)}:"`), Buffer.from(raw), Buffer.from('"}')]);

/** The same bytes as base64url `s`, spelled differently: a non-zero unused trailing bit (non-canonical). */
export function nonCanonicalB64url(s: string): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  if (s.length % 4 < 2) throw new Error("this length has no unused bits");
  const flipped = alphabet[alphabet.indexOf(s[s.length - 1]!) ^ 1]!;
  return s.slice(0, -1) + flipped;
}

/** The issuer-signed payload `handmade` starts from, before the test's own members. */
export function baseIssuerPayload(s: Scenario): Record<string, unknown> {
  const t = Math.floor(NOW.getTime() / 1000);
  return { iss: s.issuer.did, iat: t, exp: t + 3600, vct: "urn:realname:identity:1", cnf: { jwk: jwkFromDidKey(s.holder.did) }, _sd_alg: "sha-256" };
}

/** The key-binding claims a genuine holder signs for `presented` (the SD-JWT ending in '~'). */
export const kbClaims = (presented: string): Record<string, unknown> => ({ iat: Math.floor(NOW.getTime() / 1000), aud: AUDIENCE, nonce: NONCE, sd_hash: sha256B64url(presented) });

/** `presented` plus a key-binding JWT by the scenario's holder, its header and payload exact texts when given. */
export async function bindRaw(s: Scenario, presented: string, o: { header?: string | Uint8Array; payload?: string | Uint8Array } = {}): Promise<string> {
  return presented + (await rawJws(o.header ?? JSON.stringify({ typ: "kb+jwt", alg: "EdDSA" }), o.payload ?? JSON.stringify(kbClaims(presented)), s.holder.signer));
}

/** An issuer-signed JWT from exact header and payload texts, with these disclosures, bound by the holder. */
export async function handmadeRaw(s: Scenario, header: string | Uint8Array, payload: string | Uint8Array, disclosures: string[] = []): Promise<string> {
  const jwt = await rawJws(header, payload, s.issuer.signer);
  return bindRaw(s, `${jwt}~${disclosures.map((d) => d + "~").join("")}`);
}
