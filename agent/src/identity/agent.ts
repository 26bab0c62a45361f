import { createAgent, type IDIDManager, type IKeyManager, type IResolver, type TAgent, type IIdentifier } from "@veramo/core";
import { KeyManager } from "@veramo/key-manager";
import { KeyManagementSystem } from "@veramo/kms-local";
import { DIDManager } from "@veramo/did-manager";
import { KeyDIDProvider, getDidKeyResolver } from "@veramo/did-provider-key";
import { DIDResolverPlugin } from "@veramo/did-resolver";
import { PassphraseBox } from "../crypto/passphrase-box.js";
import { DocumentDIDStore, DocumentKeyStore, SealedPrivateKeyStore } from "../stores/veramo-stores.js";
import type { LevelDatabase } from "../stores/level-store.js";
import { keyObjectSigner, type JwsSigner } from "../crypto/jws.js";
import { createPrivateKey, createPublicKey } from "node:crypto";
import { didKeyKid } from "./did-key.js";

export type RoleAgent = TAgent<IKeyManager & IDIDManager & IResolver>;

/**
 * The Veramo agent of one role (holder, issuer, merchant, notary): did:key identifiers with Ed25519 keys,
 * key metadata and DIDs in the role's LevelDB, private keys sealed under the role's passphrase.
 */
export async function createRoleAgent(database: LevelDatabase, passphrase: string, clock?: () => Date): Promise<{ agent: RoleAgent; box: PassphraseBox }> {
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

/** Returns the identifier under `alias`, creating an Ed25519 did:key on first use. */
export async function ensureIdentifier(agent: RoleAgent, alias: string): Promise<IIdentifier> {
  const existing = await agent.didManagerFind({ alias });
  if (existing[0]) return existing[0];
  return agent.didManagerCreate({ alias, provider: "did:key", kms: "local", options: { keyType: "Ed25519" } });
}

export async function createIdentifier(agent: RoleAgent, alias?: string): Promise<IIdentifier> {
  return agent.didManagerCreate({ alias, provider: "did:key", kms: "local", options: { keyType: "Ed25519" } });
}

/** A signer that asks Veramo's key manager to sign with the identifier's Ed25519 key (EdDSA, base64url). */
export function identifierSigner(agent: RoleAgent, identifier: IIdentifier): JwsSigner {
  const key = identifier.keys.find((k) => k.type === "Ed25519");
  if (!key) throw new TypeError(`identifier ${identifier.did} has no Ed25519 key`);
  return (data: string) => agent.keyManagerSign({ keyRef: key.kid, data, algorithm: "EdDSA", encoding: "utf-8" });
}

export const identifierKid = (identifier: IIdentifier): string => didKeyKid(identifier.did);

/**
 * A service's signer for its own identifier, on node:crypto: the private key is unsealed once at start-up
 * (from the same sealed store Veramo uses) and kept as a non-exportable-in-practice KeyObject in memory, so
 * each signature costs microseconds instead of a store read, a decryption and a pure-JS curve operation.
 * Wallets keep signing through Veramo: their keys stay sealed under the PIN between uses.
 */
export async function identifierKeyObjectSigner(database: LevelDatabase, box: PassphraseBox, identifier: IIdentifier): Promise<JwsSigner> {
  const key = identifier.keys.find((k) => k.type === "Ed25519");
  if (!key) throw new TypeError(`identifier ${identifier.did} has no Ed25519 key`);
  const { privateKeyHex } = await new SealedPrivateKeyStore(database.store("veramo-private-keys"), box).getKey({ alias: key.kid });
  const seed = Buffer.from(privateKeyHex, "hex").subarray(0, 32);
  const privateKey = createPrivateKey({ key: Buffer.concat([Buffer.from("302e020100300506032b657004220420", "hex"), seed]), format: "der", type: "pkcs8" });
  const derived = createPublicKey(privateKey).export({ format: "jwk" }).x;
  if (derived !== Buffer.from(key.publicKeyHex, "hex").toString("base64url")) throw new Error("the unsealed key does not match the identifier");
  return keyObjectSigner(privateKey);
}
