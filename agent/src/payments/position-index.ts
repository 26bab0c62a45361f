import ngeohash from "ngeohash";
import { getBoundsOfDistance } from "geolib";
import haversine from "haversine-distance";

/** A terminal's reported position: WGS84 degrees, and vertically a declared floor and/or an altitude (metres). */
export interface Position {
  lat: number;
  lon: number;
  floor?: number;
  altitude?: number;
  /** Horizontal accuracy the device claims, metres. */
  accuracy?: number;
  /** When the terminal signed it (ms since the epoch). */
  at: number;
}

export interface Nearby {
  terminalId: string;
  position: Position;
  distanceM: number;
}

/**
 * Where terminals were recently seen. Positions expire; they are never persisted, logged or anchored.
 * This interface is what a spatial database (PostGIS, Redis GEO) would implement for a deployment that
 * outgrows one process.
 */
export interface PositionStore {
  put(terminalId: string, position: Position): void;
  /** The latest unexpired position of a terminal. */
  get(terminalId: string, now: Date): Position | undefined;
  /** Unexpired positions within `radiusM` of `center`, nearest first. */
  nearby(center: { lat: number; lon: number }, radiusM: number, now: Date): Nearby[];
  remove(terminalId: string): void;
  /** Drops expired positions; returns how many. */
  sweep(now: Date): number;
  readonly size: number;
}

/**
 * Great-circle distance in metres (haversine-distance: the formula and nothing else; geolib's getDistance
 * gives the same figure but parses every input format first and was 15 µs a call, the cost of a lookup).
 */
export const distanceM = (a: { lat: number; lon: number }, b: { lat: number; lon: number }): number => haversine(a, b);

/**
 * In-memory index on geohash cells (ngeohash): positions are bucketed by their 7-character geohash
 * (~153 m × 153 m); a radius query takes the bounding box of the circle (geolib), the cells covering it
 * (ngeohash.bboxes), and filters by the box, then by exact distance. Geohash buckets accept updates in O(1), unlike a
 * static k-d tree (kdbush), which would have to be rebuilt on every position report.
 */
export class GeohashPositionIndex implements PositionStore {
  private readonly entries = new Map<string, { position: Position; cell: string }>();
  private readonly cells = new Map<string, Set<string>>();

  constructor(private readonly options: { ttlMs: number; precision?: number }) {}

  get size(): number {
    return this.entries.size;
  }

  put(terminalId: string, position: Position): void {
    this.remove(terminalId);
    const cell = ngeohash.encode(position.lat, position.lon, this.options.precision ?? 7);
    this.entries.set(terminalId, { position, cell });
    let set = this.cells.get(cell);
    if (!set) this.cells.set(cell, (set = new Set()));
    set.add(terminalId);
  }

  get(terminalId: string, now: Date): Position | undefined {
    const e = this.entries.get(terminalId);
    return e && !this.expired(e.position, now) ? e.position : undefined;
  }

  nearby(center: { lat: number; lon: number }, radiusM: number, now: Date): Nearby[] {
    const [sw, ne] = getBoundsOfDistance({ latitude: center.lat, longitude: center.lon }, radiusM);
    const out: Nearby[] = [];
    for (const cell of ngeohash.bboxes(sw!.latitude, sw!.longitude, ne!.latitude, ne!.longitude, this.options.precision ?? 7)) {
      for (const terminalId of this.cells.get(cell) ?? []) {
        const { position } = this.entries.get(terminalId)!;
        if (this.expired(position, now)) continue;
        // The bounding box first (two comparisons), the great-circle distance only for what is inside it.
        if (position.lat < sw!.latitude || position.lat > ne!.latitude || position.lon < sw!.longitude || position.lon > ne!.longitude) continue;
        const d = distanceM(center, position);
        if (d <= radiusM) out.push({ terminalId, position, distanceM: d });
      }
    }
    return out.sort((a, b) => a.distanceM - b.distanceM);
  }

  remove(terminalId: string): void {
    const e = this.entries.get(terminalId);
    if (!e) return;
    this.entries.delete(terminalId);
    const set = this.cells.get(e.cell);
    set?.delete(terminalId);
    if (set && set.size === 0) this.cells.delete(e.cell);
  }

  sweep(now: Date): number {
    let n = 0;
    for (const [id, e] of this.entries) if (this.expired(e.position, now)) (this.remove(id), n++);
    return n;
  }

  private expired(p: Position, now: Date): boolean {
    return now.getTime() - p.at > this.options.ttlMs;
  }
}
