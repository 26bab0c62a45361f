import { z } from "zod";
import { AgentError } from "../errors.js";
import { distanceM, type Position, type PositionStore } from "./position-index.js";

/** The position a terminal signs: WGS84 degrees; a declared floor and/or an altitude in metres. */
export const signedPositionSchema = z
  .object({
    lat: z.number().min(-90).max(90),
    lon: z.number().min(-180).max(180),
    floor: z.number().int().min(-20).max(300).optional(),
    altitude: z.number().min(-500).max(10_000).optional(),
    accuracy: z.number().min(0).max(10_000).optional(),
  })
  .strict();

/** Faster than this between two reports of one terminal is not a person walking, driving or flying. */
export const MAX_SPEED_M_PER_S = 100;
/** A position older than this is not where the terminal is now. */
export const POSITION_MAX_AGE_MS = 30_000;

/**
 * Accepts signed positions into the index: refuses a stale one (older than the last report, or than
 * POSITION_MAX_AGE_MS) and an impossible jump (implied speed above MAX_SPEED_M_PER_S since the last report).
 * The last report per terminal is kept in memory only, as long as a jump from it can be judged.
 */
export class PositionReports {
  private readonly last = new Map<string, Position>();

  constructor(private readonly index: PositionStore, private readonly options: { maxSpeed?: number; maxAgeMs?: number } = {}) {}

  accept(terminalId: string, signed: unknown, iatSeconds: number, now: Date): Position {
    const parsed = signedPositionSchema.safeParse(signed);
    if (!parsed.success) throw new AgentError("ERR_POSITION_INVALID", "the position is not latitude, longitude and floor or altitude");
    const at = Math.round(iatSeconds * 1000);
    if (now.getTime() - at > (this.options.maxAgeMs ?? POSITION_MAX_AGE_MS)) throw new AgentError("ERR_POSITION_STALE", "the position is too old");
    const position: Position = { ...parsed.data, at };
    const previous = this.last.get(terminalId);
    if (previous) {
      if (at <= previous.at) throw new AgentError("ERR_POSITION_STALE", "the position is older than the terminal's last report");
      const speed = distanceM(previous, position) / ((at - previous.at) / 1000);
      if (speed > (this.options.maxSpeed ?? MAX_SPEED_M_PER_S)) throw new AgentError("ERR_POSITION_IMPOSSIBLE_JUMP", "the terminal cannot have moved that far that fast");
    }
    this.last.set(terminalId, position);
    this.index.put(terminalId, position);
    if (this.last.size > 200_000) for (const [id, p] of this.last) if (now.getTime() - p.at > 3_600_000) this.last.delete(id);
    return position;
  }
}
