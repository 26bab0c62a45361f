import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { didKeyFromPublicKey, fromB64url, keyObjectSigner, type JwsSigner } from "@realname/agent";

/** An in-memory Ed25519 key with its did:key, for tests that need a signer without a Veramo agent. */
export interface TestKey {
  did: string;
  privateKey: KeyObject;
  signer: JwsSigner;
}

export function newTestKey(): TestKey {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const x = publicKey.export({ format: "jwk" }).x as string;
  return { did: didKeyFromPublicKey(fromB64url(x)), privateKey, signer: keyObjectSigner(privateKey) };
}
