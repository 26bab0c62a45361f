import { createHash, randomBytes, randomInt } from "node:crypto";
import { AgentError } from "../../errors.js";
import type { DocumentStore } from "../../stores/document-store.js";
import type { DeviceRecord } from "../devices.js";
import { analyseSingleFace, cosineSimilarity, pixelCorrelation, type FaceObservation } from "./analyse.js";

export type ChallengeAction = "turn-left" | "turn-right" | "blink" | "smile";
export const CHALLENGE_ACTIONS: readonly ChallengeAction[] = ["turn-left", "turn-right", "blink", "smile"];

/** What the capture page shows the person: do these, in this order, then send the frames. */
export interface LivenessChallenge {
  challengeId: string;
  actions: ChallengeAction[];
  expiresAt: string;
  minFrames: number;
  maxFrames: number;
}

/**
 * What the capture device sends back: the frames (JPEG/PNG, in capture order, the first one neutral and
 * facing the camera) and a device-proof+jwt over them: `{aud: issuer, nonce: challengeId,
 * portrait_sha256: framesDigest(frames), iat}` signed by the registered capture device's key.
 */
export interface LivenessEvidence {
  challengeId: string;
  frames: Uint8Array[];
  deviceProof: string;
}

export interface LivenessResult {
  device: DeviceRecord;
  /** The most frontal frame's face: the one compared with the registry photo. */
  best: FaceObservation;
  actions: ChallengeAction[];
  passive: { real: number; live: number };
}

/** The active + passive liveness check, as an adapter: a certified vendor's SDK can implement the same. */
export interface LivenessCheck {
  issueChallenge(now: Date): Promise<LivenessChallenge>;
  verify(evidence: LivenessEvidence, expected: { audience: string; now: Date }): Promise<LivenessResult>;
}

/** What the device signs as `portrait_sha256` for a frame sequence: sha-256 over the frames' sha-256s, in order. */
export function framesDigest(frames: Uint8Array[]): string {
  const h = createHash("sha256");
  for (const f of frames) h.update(createHash("sha256").update(f).digest());
  return h.digest("hex");
}

export const LIVENESS_LIMITS = {
  actions: 3,
  validSeconds: 120,
  maxFrames: 12,
  /** Head turn: yaw change from the neutral first frame, radians (0.25 ≈ 14°). */
  minTurn: 0.25,
  /** Eyes: human's own blink threshold (eyelid gap over eye height). */
  closedEye: 0.2,
  openEye: 0.25,
  /** Smile: the emotion model's "happy" score. */
  smile: 0.6,
  /** Consecutive frames must show one face: embedding similarity above this (lower than 1:1 matching: poses change). */
  continuity: 0.5,
  /** Frames whose face pixels correlate above this with the previous frame are the same still. */
  still: 0.995,
  /** Passive scores (human's antispoof and liveness models), averaged over the frames. */
  minReal: 0.2,
  minLive: 0.2,
};

type ChallengeDoc = { actions: ChallengeAction[]; expiresAt: number };

/** How far along the challenge a frame sequence got: the index of the first action not seen, in order. */
export function actionsPerformed(frames: FaceObservation[], actions: ChallengeAction[], limits = LIVENESS_LIMITS): number {
  const base = frames[0]!;
  let next = 0;
  for (const f of frames.slice(1)) {
    if (next >= actions.length) break;
    const a = actions[next]!;
    const done =
      (a === "turn-left" && f.yaw <= base.yaw - limits.minTurn) ||
      (a === "turn-right" && f.yaw >= base.yaw + limits.minTurn) ||
      (a === "blink" && base.eyeOpenness >= limits.openEye && f.eyeOpenness < limits.closedEye) ||
      (a === "smile" && base.happy < limits.smile && f.happy >= limits.smile);
    if (done) next++;
  }
  return next;
}

/**
 * The default liveness check on human's models. Order of checks: the challenge (known, unused, fresh), the
 * frame count, the device's signature over exactly these frames, one face per frame, not a sequence of
 * stills, one continuous face, passive scores, then the requested actions in order.
 */
export class HumanLivenessCheck implements LivenessCheck {
  constructor(
    private readonly deps: {
      challenges: DocumentStore<ChallengeDoc>;
      verifyDevice: (proof: string, expected: { audience: string; nonce: string; portraitSha256: string; now: Date }) => Promise<DeviceRecord>;
      limits?: Partial<typeof LIVENESS_LIMITS>;
    },
  ) {}

  private get limits() {
    return { ...LIVENESS_LIMITS, ...this.deps.limits };
  }

  async issueChallenge(now: Date): Promise<LivenessChallenge> {
    // Random actions, no action twice in a row, and always a blink or a smile: a head turn alone can be
    // faked with a still photo and its mirror image (see the liveness tests).
    let actions: ChallengeAction[] = [];
    while (!actions.some((a) => a === "blink" || a === "smile")) {
      actions = [];
      while (actions.length < this.limits.actions) {
        const a = CHALLENGE_ACTIONS[randomInt(CHALLENGE_ACTIONS.length)]!;
        if (a !== actions.at(-1)) actions.push(a);
      }
    }
    const challengeId = randomBytes(16).toString("base64url");
    const expiresAt = Math.floor(now.getTime() / 1000) + this.limits.validSeconds;
    await this.deps.challenges.put(challengeId, { actions, expiresAt });
    return { challengeId, actions, expiresAt: new Date(expiresAt * 1000).toISOString(), minFrames: actions.length + 1, maxFrames: this.limits.maxFrames };
  }

  async verify(evidence: LivenessEvidence, expected: { audience: string; now: Date }): Promise<LivenessResult> {
    const l = this.limits;
    // Taken (deleted) first: a challenge is spent by any attempt, failed or not.
    const challenge = await this.deps.challenges.take(evidence.challengeId);
    if (!challenge || challenge.expiresAt <= Math.floor(expected.now.getTime() / 1000)) {
      throw new AgentError("ERR_LIVENESS_CHALLENGE_INVALID", "the liveness challenge is unknown, used or expired: ask for a new one");
    }
    const { frames } = evidence;
    if (frames.length < challenge.actions.length + 1 || frames.length > l.maxFrames) {
      throw new AgentError("ERR_LIVENESS_FRAMES_INVALID", `the challenge needs ${challenge.actions.length + 1} to ${l.maxFrames} frames, ${frames.length} were sent`);
    }
    const device = await this.deps.verifyDevice(evidence.deviceProof, { audience: expected.audience, nonce: evidence.challengeId, portraitSha256: framesDigest(frames), now: expected.now });

    const hashes = frames.map((f) => createHash("sha256").update(f).digest("hex"));
    if (new Set(hashes).size !== hashes.length) throw new AgentError("ERR_LIVENESS_STILL", "the same frame was sent more than once");
    const faces: FaceObservation[] = [];
    for (const f of frames) faces.push(await analyseSingleFace(f));
    for (let i = 1; i < faces.length; i++) {
      const prev = faces[i - 1]!, cur = faces[i]!;
      if (cosineSimilarity(prev.embedding, cur.embedding) < l.continuity) throw new AgentError("ERR_LIVENESS_DISCONTINUOUS", "the frames do not show one continuous face");
      if (pixelCorrelation(prev.thumbnail, cur.thumbnail) >= l.still) throw new AgentError("ERR_LIVENESS_STILL", "consecutive frames are the same still picture");
    }
    const passive = { real: mean(faces.map((f) => f.real)), live: mean(faces.map((f) => f.live)) };
    if (passive.real < l.minReal || passive.live < l.minLive) throw new AgentError("ERR_LIVENESS_SPOOF", "the passive anti-spoofing check did not pass");
    if (actionsPerformed(faces, challenge.actions, l) < challenge.actions.length) {
      throw new AgentError("ERR_LIVENESS_ACTION_MISSING", "the requested actions were not all performed, in order");
    }
    const best = [...faces].sort((a, b) => Math.abs(a.yaw) - Math.abs(b.yaw) || b.detectorScore - a.detectorScore)[0]!;
    return { device, best, actions: challenge.actions, passive };
  }
}

function mean(xs: number[]): number {
  return xs.reduce((s, x) => s + x, 0) / xs.length;
}
