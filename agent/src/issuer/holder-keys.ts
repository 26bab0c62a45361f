import type { DocumentStore } from "../stores/document-store.js";
import type { DataKey } from "./data-key.js";

/**
 * Which person each holder key belongs to, known only to the platform: the issuer binds every credential to a
 * fresh holder key (did:key), and the person's consent receipts are signed by those keys. The key is stored
 * as a keyed index of the DID and the person's vault ref sealed under the data key (bound to the index), so
 * the store alone links nothing.
 */
export class HolderKeyIndex {
  constructor(
    private readonly store: DocumentStore<{ sealed: string }>,
    private readonly key: DataKey,
  ) {}

  private indexOf(holderDid: string): string {
    return this.key.index("holder-key", holderDid);
  }

  async bind(holderDids: string[], identityRef: string): Promise<void> {
    await this.store.batch(holderDids.map((did) => {
      const key = this.indexOf(did);
      return { type: "put" as const, key, value: { sealed: this.key.seal(identityRef, key) } };
    }));
  }

  /** The person's vault ref behind a holder key, or undefined for a key this platform never issued to. */
  async personOf(holderDid: string): Promise<string | undefined> {
    const key = this.indexOf(holderDid);
    const found = await this.store.get(key);
    return found ? this.key.open(found.sealed, key) : undefined;
  }
}
