import { expect } from "chai";
import { distanceM, GeohashPositionIndex, type Position } from "@realname/agent";

/** A deterministic scatter of points (no Math.random: the test is the same every run). */
function scatter(n: number, seed = 7): Array<{ id: string; p: Position }> {
  let s = seed;
  const next = () => ((s = (s * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  return Array.from({ length: n }, (_, i) => ({ id: `t${i}`, p: { lat: 31.2 + next() * 0.02, lon: 121.45 + next() * 0.02, at: 0 } }));
}

describe("Geohash position index (ngeohash buckets, geolib distances)", () => {
  it("finds exactly what a brute-force scan finds, across cell borders, nearest first", () => {
    const points = scatter(5000);
    const index = new GeohashPositionIndex({ ttlMs: 60_000 });
    for (const { id, p } of points) index.put(id, p);
    const now = new Date(1000);
    for (const [center, radius] of [[{ lat: 31.21, lon: 121.46 }, 150], [{ lat: 31.2013, lon: 121.4687 }, 40], [{ lat: 31.215, lon: 121.455 }, 400]] as const) {
      const nearby = index.nearby(center, radius, now);
      const found = nearby.map((n) => n.terminalId);
      const brute = points.filter(({ p }) => distanceM(center, p) <= radius).map((x) => x.id);
      expect([...found].sort()).to.deep.equal([...brute].sort());
      // Nearest first (ties at the 0.1 m resolution in either order).
      for (let i = 1; i < nearby.length; i++) expect(nearby[i]!.distanceM).to.be.at.least(nearby[i - 1]!.distanceM);
      expect(found.length).to.be.greaterThan(0);
    }
  });

  it("forgets expired positions and moves a terminal that reports again", () => {
    const index = new GeohashPositionIndex({ ttlMs: 10_000 });
    index.put("a", { lat: 31.2, lon: 121.4, at: 0 });
    index.put("b", { lat: 31.2, lon: 121.4, at: 8_000 });
    expect(index.nearby({ lat: 31.2, lon: 121.4 }, 10, new Date(12_000)).map((n) => n.terminalId)).to.deep.equal(["b"]);
    expect(index.get("a", new Date(12_000))).to.equal(undefined);
    index.put("b", { lat: 31.3, lon: 121.4, at: 9_000 });
    expect(index.nearby({ lat: 31.2, lon: 121.4 }, 10, new Date(12_000))).to.deep.equal([]);
    expect(index.sweep(new Date(30_000))).to.equal(2);
    expect(index.size).to.equal(0);
  });
});
