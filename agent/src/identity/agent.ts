import { createAgent, type IDIDManager, type IKeyManager, type IResolver, type TAgent, type IIdentifier } from "@veramo/core";
import { KeyManager } from "@veramo/key-manager";
import { KeyManagementSystem } from "@veramo/kms-local";
import { DIDManager } from "@veramo/did-manager";
import { KeyDIDProvider, getDidKeyResolver } from "@veramo/did-provider-key";
import { DIDResolverPlugin } from "@veramo/did-resolver";
import { PassphraseBox } from "../crypto/passphrase-box.js";
import { DocumentDIDStore, DocumentKeyStore, SealedPrivateKeyStore } from "../stores/veramo-stores.js";
import type { StoreDatabase } from "../stores/document-store.js";
import { keyObjectSigner, type JwsSigner } from "../crypto/jws.js";
import { createECDH, createPrivateKey, createPublicKey } from "node:crypto";
import { b64url } from "../encoding.js";
import { bytesToMultibase } from "did-jwt";
import { didKeyKid, jwkFromDidKey } from "./did-key.js";
import type { JwsAlg } from "../crypto/algorithms.js";

export type RoleAgent = TAgent<IKeyManager & IDIDManager & IResolver>;

/**
 * The Veramo agent of one role (holder, issuer, merchant, notary): did:key identifiers with Ed25519 keys,
 * key metadata and DIDs in the role's LevelDB, private keys sealed under the role's passphrase.
 */
export async function createRoleAgent(database: StoreDatabase, passphrase: string, clock?: () => Date): Promise<{ agent: RoleAgent; box: PassphraseBox }> {
  const box = await PassphraseBox.open(database.store("box"), passphrase, clock);
  const agent = createAgent<IKeyManager & IDIDManager & IResolver>({
    plugins: [
      new KeyManager({
        store: new DocumentKeyStore(database.store("veramo-keys")),
        kms: { local: new KeyManagementSystem(new SealedPrivateKeyStore(database.store("veramo-private-keys"), box)) },
      }),
      new DIDManager({
        store: new DocumentDIDStore(database.store("veramo-dids")),
        defaultProvider: "did:key",
        providers: { "did:key": new KeyDIDProvider({ defaultKms: "local" }) },
      }),
      new DIDResolverPlugin({ ...getDidKeyResolver() }),
    ],
  });
  return { agent, box };
}

/**
 * Returns the identifier under `alias`, creating a did:key on first use: Ed25519 by default, P-256 for
 * `ES256`. Veramo 7.0.1's did-provider-key knows no Secp256r1 (it would silently make an Ed25519 key), but
 * its key manager does (kms-local imports Secp256r1 keys and signs ES256): so a P-256 identifier is a Veramo
 * key, sealed like every other, imported with a did:key we compute ourselves (multicodec p256-pub).
 */
export async function ensureIdentifier(agent: RoleAgent, alias: string, alg: JwsAlg = "EdDSA"): Promise<IIdentifier> {
  const existing = await agent.didManagerFind({ alias });
  if (existing[0]) return existing[0];
  return createIdentifier(agent, alias, alg);
}

export async function createIdentifier(agent: RoleAgent, alias?: string, alg: JwsAlg = "EdDSA"): Promise<IIdentifier> {
  if (alg === "EdDSA") return agent.didManagerCreate({ alias, provider: "did:key", kms: "local", options: { keyType: "Ed25519" } });
  if (alg !== "ES256") throw new TypeError(`unsupported algorithm ${String(alg)}`);
  // The scalar is drawn here (node:crypto) and handed straight to Veramo's import, which seals it like any key.
  const ecdh = createECDH("prime256v1");
  ecdh.generateKeys();
  const did = p256DidKey(ecdh.getPublicKey("hex", "compressed"));
  const privateKeyHex = ecdh.getPrivateKey("hex").padStart(64, "0");
  return agent.didManagerImport({ did, alias: alias ?? did, provider: "did:key", keys: [{ type: "Secp256r1", kms: "local", privateKeyHex } as never], services: [] });
}

/** The did:key (p256-pub) of a compressed P-256 point in hex; decoded once to check the point. */
function p256DidKey(compressedHex: string): string {
  const bytes = Buffer.from(compressedHex, "hex");
  if (bytes.length !== 33) throw new TypeError("expected a compressed P-256 public key");
  const did = `did:key:${bytesToMultibase(bytes, "base58btc", "p256-pub")}`;
  jwkFromDidKey(did);
  return did;
}

/** The key of an identifier we sign with: its Ed25519 (EdDSA) or Secp256r1 (ES256) key. */
function signingKeyOf(identifier: IIdentifier): { kid: string; alg: JwsAlg; publicKeyHex: string } {
  const key = identifier.keys.find((k) => k.type === "Ed25519" || k.type === "Secp256r1");
  if (!key) throw new TypeError(`identifier ${identifier.did} has no Ed25519 or P-256 key`);
  return { kid: key.kid, alg: key.type === "Secp256r1" ? "ES256" : "EdDSA", publicKeyHex: key.publicKeyHex };
}

/** The JWS algorithm an identifier signs with. */
export const identifierAlg = (identifier: IIdentifier): JwsAlg => signingKeyOf(identifier).alg;

/** A signer that asks Veramo's key manager to sign with the identifier's key (EdDSA or ES256 r||s, base64url). */
export function identifierSigner(agent: RoleAgent, identifier: IIdentifier): JwsSigner {
  const key = signingKeyOf(identifier);
  return (data: string) => agent.keyManagerSign({ keyRef: key.kid, data, algorithm: key.alg, encoding: "utf-8" });
}

export const identifierKid = (identifier: IIdentifier): string => didKeyKid(identifier.did);

/**
 * A service's signer for its own identifier, on node:crypto: the private key is unsealed once at start-up
 * (from the same sealed store Veramo uses) and kept as a non-exportable-in-practice KeyObject in memory, so
 * each signature costs microseconds instead of a store read, a decryption and a pure-JS curve operation.
 * Wallets keep signing through Veramo: their keys stay sealed under the PIN between uses.
 */
export async function identifierKeyObjectSigner(database: StoreDatabase, box: PassphraseBox, identifier: IIdentifier): Promise<JwsSigner> {
  const key = signingKeyOf(identifier);
  const { privateKeyHex } = await new SealedPrivateKeyStore(database.store("veramo-private-keys"), box).getKey({ alias: key.kid });
  if (key.alg === "ES256") {
    const jwk = jwkFromDidKey(identifier.did) as { x: string; y: string };
    const privateKey = createPrivateKey({ key: { kty: "EC", crv: "P-256", x: jwk.x, y: jwk.y, d: b64url(Buffer.from(privateKeyHex, "hex")) }, format: "jwk" });
    const derived = createPublicKey(privateKey).export({ format: "jwk" });
    if (derived.x !== jwk.x || derived.y !== jwk.y) throw new Error("the unsealed key does not match the identifier");
    return keyObjectSigner(privateKey);
  }
  const seed = Buffer.from(privateKeyHex, "hex").subarray(0, 32);
  const privateKey = createPrivateKey({ key: Buffer.concat([Buffer.from("302e020100300506032b657004220420", "hex"), seed]), format: "der", type: "pkcs8" });
  const derived = createPublicKey(privateKey).export({ format: "jwk" }).x;
  if (derived !== Buffer.from(key.publicKeyHex, "hex").toString("base64url")) throw new Error("the unsealed key does not match the identifier");
  return keyObjectSigner(privateKey);
}

/**
 * A service's second key (e.g. the issuer's ES256 key next to its Ed25519 DID, or a merchant's P-256 key for
 * request objects): a Veramo identifier under `alias`, created on first use, its key sealed like the others,
 * unsealed once into an in-memory signer.
 */
export async function ensureKeyObjectSigner(agent: RoleAgent, database: StoreDatabase, box: PassphraseBox, alias: string, alg: JwsAlg): Promise<{ identifier: IIdentifier; alg: JwsAlg; signer: JwsSigner }> {
  const identifier = await ensureIdentifier(agent, alias, alg);
  if (identifierAlg(identifier) !== alg) throw new TypeError(`identifier ${alias} does not sign ${alg}`);
  return { identifier, alg, signer: await identifierKeyObjectSigner(database, box, identifier) };
}
