import { sha256Hex } from "../../encoding.js";
import type { DocumentStore } from "../../stores/document-store.js";
import type { FaceMatcher } from "../face-matcher.js";

/**
 * A registry whose photos can be searched by face (1:N). The civil registry offers this as a service in
 * production; the file adapter offers it by listing its photos.
 */
export interface FaceSearchableRegistry {
  /** Every record that has a photo: its ID number and the photo. */
  photoRecords(): AsyncIterable<{ idNumber: string; photo: Uint8Array }>;
}

export function isFaceSearchable(registry: object): registry is FaceSearchableRegistry {
  return typeof (registry as Partial<FaceSearchableRegistry>).photoRecords === "function";
}

/** What a 1:N search found: the best candidate, and how far ahead of the next one it is. */
export interface FaceCandidate {
  idNumber: string;
  score: number;
  /** The second best candidate's score (-1 when there is none). */
  runnerUp: number;
}

/** 1:N identification (seed 002): the identity whose registry photo is this face, when exactly one is. */
export interface FaceCandidates {
  /**
   * The one candidate at or above the matcher's threshold and at least `margin` ahead of every other; undefined
   * when none is, or when two are too close to tell apart (the person then types their details).
   */
  identify(embedding: readonly number[]): Promise<FaceCandidate | undefined>;
}

/**
 * The registry's photos as embeddings, searched linearly. Each photo is embedded once and kept in a store keyed
 * by the photo's hash (an embedding is not an image and cannot be turned back into one, but it is biometric data:
 * the store sits with the issuer's other sealed data). A changed photo is embedded again; the set is re-read
 * from the registry at most every `refreshSeconds`. A linear scan suits a pilot's registry of thousands; a
 * vector index (or the registry's own 1:N service) replaces it at scale behind the same interface.
 */
export class RegistryFaceIndex implements FaceCandidates {
  private entries: { idNumber: string; embedding: number[] }[] | undefined;
  private loadedAt = 0;
  private loading: Promise<void> | undefined;

  constructor(
    private readonly deps: {
      registry: FaceSearchableRegistry;
      faces: FaceMatcher;
      embeddings: DocumentStore<{ embedding: number[] }>;
      /** How far the best candidate must be ahead of the next one (cosine); default 0.05. */
      margin?: number;
      refreshSeconds?: number;
      clock?: () => Date;
    },
  ) {}

  /** Embeds the registry's photos not embedded yet (run at start so the first registration does not wait). */
  async load(): Promise<{ candidates: number }> {
    this.loading ??= this.read().finally(() => (this.loading = undefined));
    await this.loading;
    return { candidates: this.entries?.length ?? 0 };
  }

  async identify(embedding: readonly number[]): Promise<FaceCandidate | undefined> {
    const now = (this.deps.clock ?? (() => new Date()))().getTime();
    if (!this.entries || now - this.loadedAt > (this.deps.refreshSeconds ?? 3600) * 1000) await this.load();
    let best: FaceCandidate | undefined;
    let runnerUp = -1;
    for (const entry of this.entries ?? []) {
      const score = this.deps.faces.similarity(entry.embedding, embedding);
      if (!best || score > best.score) {
        runnerUp = best?.score ?? runnerUp;
        best = { idNumber: entry.idNumber, score, runnerUp: -1 };
      } else if (score > runnerUp) runnerUp = score;
    }
    if (!best || best.score < this.deps.faces.threshold || best.score - runnerUp < (this.deps.margin ?? 0.05)) return undefined;
    return { ...best, runnerUp };
  }

  private async read(): Promise<void> {
    const entries: { idNumber: string; embedding: number[] }[] = [];
    for await (const { idNumber, photo } of this.deps.registry.photoRecords()) {
      const key = sha256Hex(photo);
      let cached = await this.deps.embeddings.get(key);
      if (!cached) {
        // A registry photo without exactly one readable face cannot be a candidate; the 1:1 path still works.
        const embedding = await this.deps.faces.embed(photo).catch(() => undefined);
        if (!embedding) continue;
        cached = { embedding };
        await this.deps.embeddings.put(key, cached);
      }
      entries.push({ idNumber, embedding: cached.embedding });
    }
    this.entries = entries;
    this.loadedAt = (this.deps.clock ?? (() => new Date()))().getTime();
  }
}
