import { AbstractKeyStore, AbstractPrivateKeyStore, type ImportablePrivateKey, type ManagedPrivateKey } from "@veramo/key-manager";
import { AbstractDIDStore } from "@veramo/did-manager";
import type { IIdentifier, IKey, ManagedKeyInfo } from "@veramo/core";
import { randomUUID } from "node:crypto";
import type { DocumentStore } from "./document-store.js";
import type { PassphraseBox } from "../crypto/passphrase-box.js";
import { AgentError } from "../errors.js";

/** Veramo key metadata (public keys, which KMS holds them) in a DocumentStore. Never private material. */
export class DocumentKeyStore extends AbstractKeyStore {
  constructor(private readonly store: DocumentStore<IKey>) {
    super();
  }
  async importKey(args: Partial<IKey>): Promise<boolean> {
    if (!args.kid) throw new TypeError("a key needs a kid");
    const { privateKeyHex: _never, ...publicPart } = args;
    await this.store.put(args.kid, publicPart as IKey);
    return true;
  }
  async getKey({ kid }: { kid: string }): Promise<IKey> {
    const key = await this.store.get(kid);
    if (!key) throw new AgentError("ERR_KEY_NOT_FOUND", "key not found");
    return key;
  }
  async deleteKey({ kid }: { kid: string }): Promise<boolean> {
    await this.store.del(kid);
    return true;
  }
  async listKeys(): Promise<ManagedKeyInfo[]> {
    return (await this.store.list()).map(([, key]) => key as ManagedKeyInfo);
  }
}

interface SealedPrivateKey {
  alias: string;
  type: ManagedPrivateKey["type"];
  sealed: string;
}

/** Private keys for Veramo's local KMS, sealed with AES-GCM under the role's passphrase-derived key. */
export class SealedPrivateKeyStore extends AbstractPrivateKeyStore {
  constructor(
    private readonly store: DocumentStore<SealedPrivateKey>,
    private readonly box: PassphraseBox,
  ) {
    super();
  }
  async importKey(args: ImportablePrivateKey): Promise<ManagedPrivateKey> {
    const alias = args.alias ?? randomUUID();
    const record: SealedPrivateKey = { alias, type: args.type, sealed: this.box.encrypt(args.privateKeyHex) };
    if (!(await this.store.putIfAbsent(alias, record))) {
      const existing = await this.getKey({ alias });
      if (existing.privateKeyHex !== args.privateKeyHex) {
        throw new AgentError("ERR_KEY_EXISTS", "a different key already exists under this alias");
      }
    }
    return { alias, type: args.type, privateKeyHex: args.privateKeyHex };
  }
  async getKey({ alias }: { alias: string }): Promise<ManagedPrivateKey> {
    const record = await this.store.get(alias);
    if (!record) throw new AgentError("ERR_KEY_NOT_FOUND", "private key not found");
    return { alias, type: record.type, privateKeyHex: this.box.decrypt(record.sealed) };
  }
  async deleteKey({ alias }: { alias: string }): Promise<boolean> {
    await this.store.del(alias);
    return true;
  }
  async listKeys(): Promise<ManagedPrivateKey[]> {
    return Promise.all((await this.store.list()).map(([alias]) => this.getKey({ alias })));
  }
}

/** Veramo DID records (identifier, its keys' public parts, alias) in a DocumentStore. */
export class DocumentDIDStore extends AbstractDIDStore {
  constructor(private readonly store: DocumentStore<IIdentifier>) {
    super();
  }
  async importDID(args: IIdentifier): Promise<boolean> {
    const keys = args.keys.map(({ privateKeyHex: _never, ...k }) => k);
    await this.store.put(args.did, { ...args, keys });
    return true;
  }
  async getDID(args: { did: string } | { alias: string; provider?: string }): Promise<IIdentifier> {
    if ("did" in args && args.did) {
      const found = await this.store.get(args.did);
      if (found) return found;
    } else if ("alias" in args) {
      const found = (await this.store.list()).map(([, v]) => v).find((i) => i.alias === args.alias);
      if (found) return found;
    }
    throw new AgentError("ERR_DID_NOT_FOUND", "identifier not found");
  }
  async deleteDID({ did }: { did: string }): Promise<boolean> {
    await this.store.del(did);
    return true;
  }
  async listDIDs(args: { alias?: string; provider?: string }): Promise<IIdentifier[]> {
    return (await this.store.list())
      .map(([, v]) => v)
      .filter((i) => (!args.alias || i.alias === args.alias) && (!args.provider || i.provider === args.provider));
  }
}
