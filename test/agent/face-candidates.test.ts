import { expect } from "chai";
import { facePhotos, variant } from "../../bench/face-set.js";
import { HumanFaceMatcher, MemoryDocumentStore, RegistryFaceIndex, type FaceSearchableRegistry } from "@realname/agent";

/**
 * The 1:N index behind face-first registration, on the real face model and real photos: it names the one
 * registry record whose photo is this face, and nobody when the face is not there or when two records carry the
 * same face (ambiguous: the person types). Embeddings are kept by photo hash, so a reload embeds nothing again.
 */
describe("RegistryFaceIndex: 1:N over the registry's photos (seed 002)", function () {
  this.timeout(120_000);
  const faces = new HumanFaceMatcher();
  const photos = facePhotos().filter((p) => !/-[2-9]\./.test(p.file)).slice(0, 8);
  const registryOf = (records: { idNumber: string; photo: Buffer }[]): FaceSearchableRegistry & { reads: number } => {
    const registry = {
      reads: 0,
      async *photoRecords() {
        registry.reads++;
        yield* records;
      },
    };
    return registry;
  };
  const records = photos.slice(0, 6).map((p, i) => ({ idNumber: `ID-${i}`, photo: p.bytes }));

  it("finds the record whose photo is the live face (cropped and shifted), with the runner-up well behind", async () => {
    const index = new RegistryFaceIndex({ registry: registryOf(records), faces, embeddings: new MemoryDocumentStore() });
    for (const i of [0, 3, 5]) {
      const live = await faces.embed(await variant(await variant(photos[i]!.bytes, "crop12"), "shift20"));
      const found = await index.identify(live);
      expect(found?.idNumber).to.equal(`ID-${i}`);
      expect(found!.score - found!.runnerUp).to.be.at.least(0.05);
    }
  });

  it("a face in no record finds nobody", async () => {
    const index = new RegistryFaceIndex({ registry: registryOf(records), faces, embeddings: new MemoryDocumentStore() });
    for (const outsider of photos.slice(6, 8)) expect(await index.identify(await faces.embed(outsider.bytes))).to.equal(undefined);
  });

  it("two records with the same face are ambiguous: nobody is named", async () => {
    const twins = [...records, { idNumber: "ID-twin-of-2", photo: await variant(photos[2]!.bytes, "jpeg35") }];
    const index = new RegistryFaceIndex({ registry: registryOf(twins), faces, embeddings: new MemoryDocumentStore() });
    expect(await index.identify(await faces.embed(await variant(photos[2]!.bytes, "crop12")))).to.equal(undefined);
    // Another person's face in the same registry is still found.
    expect((await index.identify(await faces.embed(await variant(photos[4]!.bytes, "crop12"))))?.idNumber).to.equal("ID-4");
  });

  it("embeddings are kept by photo hash: a reload after the refresh interval re-reads the registry but embeds only new photos", async () => {
    let now = Date.parse("2026-11-22T00:00:00Z");
    const store = new MemoryDocumentStore<{ embedding: number[] }>();
    const registry = registryOf(records);
    let embedded = 0;
    const counting = { threshold: faces.threshold, similarity: faces.similarity.bind(faces), compare: faces.compare.bind(faces), embed: (image: Uint8Array) => (embedded++, faces.embed(image)) };
    const index = new RegistryFaceIndex({ registry, faces: counting, embeddings: store, refreshSeconds: 60, clock: () => new Date(now) });
    expect(await index.load()).to.deep.equal({ candidates: 6 });
    expect([embedded, (await store.list()).length]).to.deep.equal([6, 6]);
    const probe = await faces.embed(photos[1]!.bytes);
    await index.identify(probe);
    expect([registry.reads, embedded], "within the interval: no re-read").to.deep.equal([1, 6]);
    now += 61_000;
    records.push({ idNumber: "ID-new", photo: photos[7]!.bytes });
    try {
      await index.identify(probe);
      expect([registry.reads, embedded], "after it: re-read, only the new photo embedded").to.deep.equal([2, 7]);
    } finally {
      records.pop();
    }
  });

  it("a registry photo without a usable face is no candidate (the typed 1:1 path still applies to that record)", async () => {
    const blank = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==", "base64");
    const index = new RegistryFaceIndex({ registry: registryOf([...records.slice(0, 2), { idNumber: "ID-blank", photo: blank }]), faces, embeddings: new MemoryDocumentStore() });
    expect(await index.load()).to.deep.equal({ candidates: 2 });
  });
});
