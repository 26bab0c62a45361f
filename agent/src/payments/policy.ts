import { z } from "zod";
import { distanceM, type Position } from "./position-index.js";
import type { DocumentStore } from "../stores/document-store.js";

/** A merchant's in-person payment policy: how close payer and POS must be, and how peers are asked. */
export const merchantPolicySchema = z
  .object({
    /** Payer and POS at most this far apart horizontally (metres). */
    maxHorizontalM: z.number().positive().max(10_000).default(15),
    /** Declared floors may differ by at most this (0: the same floor). */
    maxFloorDifference: z.number().int().min(0).max(10).default(0),
    /** When floors are not both declared: altitudes may differ by at most this (metres). */
    maxAltitudeDifferenceM: z.number().positive().max(1000).default(3),
    /** Peers are looked for within this range of the payer (metres). */
    peerRangeM: z.number().positive().max(10_000).default(30),
    /** At most this many peers are asked. */
    maxPeers: z.number().int().min(1).max(10).default(3),
    /** Peer captures matching the payer's registered face needed to accept. */
    minMatches: z.number().int().min(1).max(10).default(1),
    /** How long peers have to answer (milliseconds). */
    peerDeadlineMs: z.number().int().min(1000).max(600_000).default(60_000),
  })
  .strict();
export type MerchantPolicy = z.infer<typeof merchantPolicySchema>;
export const DEFAULT_POLICY: MerchantPolicy = merchantPolicySchema.parse({});

export class MerchantPolicies {
  constructor(private readonly store: DocumentStore<MerchantPolicy>) {}
  async get(merchantDid: string): Promise<MerchantPolicy> {
    return (await this.store.get(merchantDid)) ?? DEFAULT_POLICY;
  }
  async set(merchantDid: string, policy: unknown): Promise<MerchantPolicy> {
    const parsed = merchantPolicySchema.parse(policy);
    await this.store.put(merchantDid, parsed);
    return parsed;
  }
}

/**
 * The distance rule: horizontal distance within the policy, and vertically the same floor (both declared)
 * or altitudes within the policy (both measured). A vertical position that cannot be compared refuses:
 * a payer one storey up is not "at the till".
 */
export function checkDistance(payer: Position, pos: Position, policy: MerchantPolicy): { ok: true } | { ok: false; code: string } {
  if (distanceM(payer, pos) > policy.maxHorizontalM) return { ok: false, code: "ERR_OUT_OF_RANGE" };
  if (payer.floor !== undefined && pos.floor !== undefined) {
    return Math.abs(payer.floor - pos.floor) <= policy.maxFloorDifference ? { ok: true } : { ok: false, code: "ERR_OTHER_FLOOR" };
  }
  if (payer.altitude !== undefined && pos.altitude !== undefined) {
    return Math.abs(payer.altitude - pos.altitude) <= policy.maxAltitudeDifferenceM ? { ok: true } : { ok: false, code: "ERR_OTHER_FLOOR" };
  }
  return { ok: false, code: "ERR_VERTICAL_UNKNOWN" };
}
