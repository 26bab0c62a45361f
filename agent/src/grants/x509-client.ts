import "reflect-metadata"; // @peculiar/x509 resolves its ASN.1 schemas through tsyringe, which needs it
import * as x509 from "@peculiar/x509";
import { createHash, createPublicKey, webcrypto } from "node:crypto";
import { AgentError } from "../errors.js";
import { keyObjectFromJwk, signJws, verifyWithAlg, type JwsSigner } from "../crypto/jws.js";
import { didKeyFromJwk } from "../identity/did-key.js";
import type { MerchantEntry } from "../issuer/trust-registry.js";

/**
 * OpenID4VP 1.0 §5.9.3 `x509_san_dns` client identifiers: the request object carries the merchant's certificate
 * chain in its `x5c` header (leaf first, RFC 7515 §4.1.6), the leaf is certified (here: by the platform's own
 * CA, which the wallet pins) for the DNS name after the prefix, the request is signed by the leaf's key, and
 * the `response_uri` lives on that DNS name. The merchant behind the certificate is the did:key of the leaf's
 * key: the same registry entry, grant receipts and pseudonyms as a `decentralized_identifier:` client.
 */
export const X509_SAN_DNS_PREFIX = "x509_san_dns:";
/** §5.9.3 `x509_hash`: base64url(SHA-256(DER of the leaf)); what HAIP 1.0 asks for. Same chain checks, no name. */
export const X509_HASH_PREFIX = "x509_hash:";
const crypto = webcrypto as unknown as Crypto;
/** Longer chains are not what a platform CA issues; refused before any parsing work. */
const MAX_CHAIN = 4;

export const x509ClientIdOf = (dnsName: string): string => `${X509_SAN_DNS_PREFIX}${dnsName}`;
/** The `x509_hash` value of a leaf (base64 DER): base64url of the SHA-256 of its DER bytes. */
export const x509HashOf = (leafB64: string): string => createHash("sha256").update(Buffer.from(leafB64, "base64")).digest("base64url");
export const isX509ClientId = (clientId: string): boolean => clientId.startsWith(X509_SAN_DNS_PREFIX) || clientId.startsWith(X509_HASH_PREFIX);

/** What a merchant configures to act as an x509 client: its chain (leaf first, base64 DER), the name, the prefix. */
export interface X509ClientConfig {
  x5c: string[];
  dnsName: string;
  /** `x509_san_dns` (default) or `x509_hash`. */
  prefix?: "x509_san_dns" | "x509_hash";
}

/** The client identifier a configured x509 merchant uses. */
export const x509ClientIdFor = (config: X509ClientConfig): string => (config.prefix === "x509_hash" ? `${X509_HASH_PREFIX}${x509HashOf(config.x5c[0]!)}` : x509ClientIdOf(config.dnsName));

/** The DNS names a merchant's registry entry gives it: its origins' host names (an IP address is no dNSName). */
export function registeredDnsNames(merchant: Pick<MerchantEntry, "origins">): string[] {
  const names = new Set<string>();
  for (const origin of merchant.origins) {
    const host = new URL(origin).hostname;
    if (/^[0-9.]+$/.test(host) || host.startsWith("[")) continue;
    names.add(host);
  }
  return [...names];
}

const refuse = (code: string, message: string): never => {
  throw new AgentError(code, message);
};

/** Parses certificates given as PEM (one or several) or base64 DER; throws on anything else. */
export function parseCertificates(values: readonly string[]): x509.X509Certificate[] {
  const out: x509.X509Certificate[] = [];
  for (const value of values) {
    if (value.includes("-----BEGIN")) out.push(...x509.PemConverter.decode(value).map((d) => new x509.X509Certificate(d)));
    else out.push(new x509.X509Certificate(Buffer.from(value, "base64")));
  }
  return out;
}

const der = (cert: x509.X509Certificate) => Buffer.from(cert.rawData);
const spkiJwk = (cert: x509.X509Certificate) => createPublicKey({ key: Buffer.from(cert.publicKey.rawData), format: "der", type: "spki" }).export({ format: "jwk" }) as Record<string, unknown>;
const signedBy = (cert: x509.X509Certificate, issuer: x509.X509Certificate) => cert.issuer === issuer.subject && cert.verify({ publicKey: issuer.publicKey, signatureOnly: true }, crypto).catch(() => false);
const basicConstraints = (cert: x509.X509Certificate) => cert.getExtension(x509.BasicConstraintsExtension);

/**
 * A merchant's configured chain, checked before it is used (at start-up): parses, the leaf names `dnsName`, and
 * certifies exactly the merchant's own key (`merchantJwk`). Returns the chain as `x5c` (base64 DER, leaf first).
 */
export function merchantX5c(certificates: readonly string[], merchantJwk: Record<string, unknown>, dnsName?: string, prefix: X509ClientConfig["prefix"] = "x509_san_dns"): X509ClientConfig {
  let chain: x509.X509Certificate[];
  try {
    chain = parseCertificates(certificates);
  } catch {
    return refuse("ERR_CONFIG", "the merchant certificate chain is not PEM or base64 DER");
  }
  const leaf = chain[0] ?? refuse("ERR_CONFIG", "the merchant certificate chain is empty");
  const names = leaf.getExtension(x509.SubjectAlternativeNameExtension)?.names.items.filter((n) => n.type === "dns").map((n) => n.value) ?? [];
  const name = dnsName ?? names[0] ?? refuse("ERR_CONFIG", "the merchant certificate has no dNSName");
  if (!names.includes(name)) refuse("ERR_CONFIG", `the merchant certificate does not name ${name}`);
  const jwk = spkiJwk(leaf);
  if (jwk.x !== merchantJwk.x || jwk.y !== merchantJwk.y || jwk.crv !== merchantJwk.crv) refuse("ERR_CONFIG", "the merchant certificate certifies another key than the merchant's");
  // The root stays out of x5c (HAIP: the trust anchor is not sent).
  const x5c = chain.filter((c, i) => i === 0 || c.subject !== c.issuer).map((c) => der(c).toString("base64"));
  return { x5c, dnsName: name, prefix };
}

/** A request object signed by the merchant's leaf key, its chain in `x5c` (OpenID4VP §5.9.3, RFC 9101). */
export function signX509RequestObject(payload: Record<string, unknown>, config: X509ClientConfig, signer: JwsSigner, alg: "ES256" | "EdDSA"): Promise<string> {
  return signJws({ alg, typ: "oauth-authz-req+jwt", x5c: config.x5c }, payload, signer);
}

export interface VerifiedX509Client {
  /** For `x509_san_dns`: the certified name the client id states (for `x509_hash`: none). */
  dnsName?: string;
  /** The merchant: the did:key of the leaf certificate's key (how the registry lists it). */
  merchantDid: string;
  leafJwk: Record<string, unknown>;
  /** When the leaf expires (ISO). */
  notAfter: string;
}

/**
 * The wallet's checks of an `x509_san_dns` or `x509_hash` client (§5.9.3 and HAIP), each refusal with its own code:
 * the chain is there and parses, the leaf is no self-signed certificate and no CA, every issuer in the path is a
 * CA (basicConstraints, pathLenConstraint), the path ends at a pinned trust anchor, every certificate in it is
 * valid at `now`, the leaf may sign (keyUsage digitalSignature), the request is signed by the leaf's key; for
 * `x509_san_dns` its SAN dNSName is the client id's name and the `response_uri` is on that name, for `x509_hash`
 * the client id is the leaf's hash.
 */
export async function verifyX509Client(args: {
  header: Record<string, unknown>;
  signingInput: string;
  signature: Uint8Array;
  clientId: string;
  responseUri: unknown;
  trustAnchors: readonly string[];
  now: Date;
}): Promise<VerifiedX509Client> {
  const byHash = args.clientId.startsWith(X509_HASH_PREFIX);
  const dnsName = byHash ? "" : args.clientId.slice(X509_SAN_DNS_PREFIX.length);
  if (byHash ? !/^[A-Za-z0-9_-]{43}$/.test(args.clientId.slice(X509_HASH_PREFIX.length)) : !args.clientId.startsWith(X509_SAN_DNS_PREFIX) || !/^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i.test(dnsName)) {
    refuse("ERR_REQUEST_MALFORMED", byHash ? "the x509_hash client identifier is not a base64url SHA-256 hash" : "the x509_san_dns client identifier is not a DNS name");
  }
  const x5c = args.header.x5c;
  if (x5c === undefined) refuse("ERR_X509_CHAIN_MISSING", "an x509 client's request object must carry its certificate chain (x5c)");
  if (!Array.isArray(x5c) || x5c.length === 0 || x5c.length > MAX_CHAIN || !x5c.every((c) => typeof c === "string" && c.length < 8000 && /^[A-Za-z0-9+/]+=*$/.test(c))) {
    refuse("ERR_X509_CHAIN_MALFORMED", "x5c is not a short array of base64 DER certificates");
  }
  let chain: x509.X509Certificate[] = [];
  let anchors: x509.X509Certificate[] = [];
  try {
    chain = (x5c as string[]).map((c) => new x509.X509Certificate(Buffer.from(c, "base64")));
  } catch {
    refuse("ERR_X509_CHAIN_MALFORMED", "a certificate in x5c does not parse");
  }
  try {
    anchors = parseCertificates(args.trustAnchors);
  } catch {
    refuse("ERR_X509_UNKNOWN_CA", "the wallet's pinned certificate authority does not parse");
  }
  const leaf = chain[0]!;
  // x509_hash: the client id names exactly this leaf.
  if (byHash && x509HashOf(der(leaf).toString("base64")) !== args.clientId.slice(X509_HASH_PREFIX.length)) refuse("ERR_X509_HASH_MISMATCH", "the merchant's certificate is not the one its client identifier names");
  if (await leaf.isSelfSigned(crypto).catch(() => false)) refuse("ERR_X509_SELF_SIGNED_LEAF", "the merchant's certificate is self-signed: no authority vouches for it");
  if (basicConstraints(leaf)?.ca) refuse("ERR_X509_LEAF_IS_CA", "the merchant's certificate is a CA certificate, not an end-entity certificate");

  // The path: each certificate signed by the next; the last one signed by (or itself being) a pinned anchor.
  const path = [...chain];
  const last = path[path.length - 1]!;
  const pinned = anchors.find((a) => der(a).equals(der(last)));
  let anchor: x509.X509Certificate | undefined = pinned;
  if (!anchor) {
    for (const candidate of anchors) {
      if (await signedBy(last, candidate)) {
        anchor = candidate;
        break;
      }
    }
    if (!anchor) return refuse("ERR_X509_UNKNOWN_CA", "the merchant's certificate does not lead to the platform's certificate authority");
    path.push(anchor);
  }
  for (let i = 0; i + 1 < path.length; i++) {
    const issuer = path[i + 1]!;
    const constraints = basicConstraints(issuer);
    // A certificate that signs another must be a CA (RFC 5280 §6.1.4 (k)): a leaf cannot vouch for a leaf.
    if (!constraints?.ca) refuse("ERR_X509_ISSUER_NOT_CA", "a certificate in the chain signs another without being a certificate authority");
    // pathLenConstraint: how many intermediate CAs may follow below this one (RFC 5280 §4.2.1.9).
    if (constraints!.pathLength !== undefined && i > constraints!.pathLength) refuse("ERR_X509_PATH_TOO_LONG", "the chain is longer than its certificate authority allows");
    const usage = issuer.getExtension(x509.KeyUsagesExtension);
    if (usage && !(usage.usages & x509.KeyUsageFlags.keyCertSign)) refuse("ERR_X509_ISSUER_NOT_CA", "a certificate in the chain signs certificates without the keyCertSign usage");
    if (!(await signedBy(path[i]!, issuer))) refuse("ERR_X509_CHAIN_INVALID", "a certificate in the chain is not signed by the next one");
  }
  for (const cert of path) {
    if (args.now < cert.notBefore) refuse("ERR_X509_CERT_NOT_YET_VALID", "a certificate in the merchant's chain is not valid yet");
    if (args.now > cert.notAfter) refuse("ERR_X509_CERT_EXPIRED", "a certificate in the merchant's chain has expired");
  }
  const usage = leaf.getExtension(x509.KeyUsagesExtension);
  if (usage && !(usage.usages & x509.KeyUsageFlags.digitalSignature)) refuse("ERR_X509_KEY_USAGE", "the merchant's certificate may not sign");
  const dnsNames = leaf.getExtension(x509.SubjectAlternativeNameExtension)?.names.items.filter((n) => n.type === "dns").map((n) => n.value.toLowerCase()) ?? [];
  if (!byHash && !dnsNames.includes(dnsName.toLowerCase())) refuse("ERR_X509_SAN_MISMATCH", "the merchant's certificate is not for the name its client identifier states");

  let leafJwk: Record<string, unknown> = {};
  try {
    leafJwk = spkiJwk(leaf);
  } catch {
    refuse("ERR_X509_CHAIN_MALFORMED", "the merchant's certificate holds no usable key");
  }
  const key = keyObjectFromJwk(leafJwk);
  if (!key || !verifyWithAlg(args.header.alg, args.signingInput, args.signature, key)) refuse("ERR_REQUEST_SIGNATURE", "the request is not signed by the key its certificate certifies");
  // §5.9.3 x509_san_dns: without another way to trust the client's redirect URIs, the response_uri's host is the
  // DNS name. (x509_hash has no such rule; the wallet's registry check of the response_uri's origin still applies.)
  let responseHost = "";
  try {
    responseHost = new URL(String(args.responseUri)).hostname.toLowerCase();
  } catch {
    /* refused just below */
  }
  if (!byHash && responseHost !== dnsName.toLowerCase()) refuse("ERR_X509_RESPONSE_URI_MISMATCH", "the answer would go to another host than the one the merchant's certificate names");
  let merchantDid = "";
  try {
    merchantDid = didKeyFromJwk(leafJwk);
  } catch {
    refuse("ERR_X509_CHAIN_MALFORMED", "the merchant's certificate holds no P-256 or Ed25519 key");
  }
  return { ...(byHash ? {} : { dnsName: dnsName.toLowerCase() }), merchantDid, leafJwk, notAfter: leaf.notAfter.toISOString() };
}

/**
 * The merchant's side of an `x509_san_dns` request: the request object (RFC 9101, passed by reference) signed
 * with the leaf's key and carrying `x5c`, and the `openid4vp://` link naming it. Same payload as a DID client's.
 */
export async function createX509AuthorizationRequest(args: {
  payload: Record<string, unknown> & { client_id: string };
  config: X509ClientConfig;
  signer: JwsSigner;
  alg: "ES256" | "EdDSA";
  aud: string;
  requestUri: string;
  now: Date;
  validForSeconds: number;
}): Promise<{ authorizationRequest: string; jar: { authorizationRequestJwt: string } }> {
  const iat = Math.floor(args.now.getTime() / 1000);
  const authorizationRequestJwt = await signX509RequestObject({ iat, exp: iat + args.validForSeconds, aud: args.aud, ...args.payload }, args.config, args.signer, args.alg);
  const authorizationRequest = `openid4vp://?${new URLSearchParams({ client_id: args.payload.client_id, request_uri: args.requestUri })}`;
  return { authorizationRequest, jar: { authorizationRequestJwt } };
}
