import { randomUUID } from "node:crypto";
import { z } from "zod";
import { AgentError } from "../errors.js";
import { sha256Hex } from "../encoding.js";
import type { FaceMatcher } from "../issuer/face-matcher.js";
import { createReceipt, type ReceiptSigner } from "../receipts/receipts.js";
import type { DocumentStore } from "../stores/document-store.js";
import { checkDistance, type MerchantPolicies, type MerchantPolicy } from "./policy.js";
import type { PositionStore } from "./position-index.js";
import { PositionReports } from "./positions.js";
import { NonceLedger, terminalIdOf, terminalIdSchema, verifyTerminalMessage, type TerminalMessageKind } from "./terminal-message.js";
import type { TerminalRecord, TerminalRegistry } from "./terminals.js";

export const PAYMENT_DECISION_TYPE = "InPersonPaymentDecision";
export const PAYMENT_UNLOCK_TYPE = "PaymentUnlock";

/** What the decision receipt records: never a position, an image or a face score of a peer's image. */
export interface PaymentDecisionRecord {
  receiptId: string;
  schemaVersion: string;
  decidedAt: string;
  verificationId: string;
  merchant: { id: string };
  posTerminalId: string;
  payerTerminalId: string;
  outcome: "accepted" | "refused";
  /** Stable codes: ERR_OUT_OF_RANGE, ERR_OTHER_FLOOR, ERR_PEER_FACE_MISMATCH, ERR_NO_PEER_CONFIRMATION… */
  reasons: string[];
  /** Which terminals were asked: other wallets ("first"), other POS ("second"), or none nearby. */
  peersKind: "first" | "second" | "none";
  peersAsked: number;
  peersAnswered: number;
  faceMatches: number;
  faceMismatches: number;
  payerLocked: boolean;
}

export interface PeerRequestView {
  verificationId: string;
  merchantName: string;
  deadline: string;
}

export interface VerificationView {
  verificationId: string;
  status: "pending" | "decided";
  deadline: string;
  peersAsked: number;
  decision?: { outcome: "accepted" | "refused"; reasons: string[]; payerLocked: boolean; receipt: string };
}

interface Pending {
  verificationId: string;
  merchantDid: string;
  merchantName: string;
  posTerminalId: string;
  payerTerminalId: string;
  identityRef: string;
  policy: MerchantPolicy;
  deadline: number;
  peersKind: "first" | "second" | "none";
  /** Peer → its answer (undefined until it answers). Images live here only until the decision. */
  answers: Map<string, { verdict: "confirm" | "decline"; image?: Uint8Array } | undefined>;
  deciding?: Promise<void>;
}

interface DecisionDoc {
  view: VerificationView;
  /** The POS that started the payment: the only terminal that may read this decision. */
  posTerminalId?: string;
  receiptHash: string;
  /** The terminals that were asked (so a late answer is told it is late, not that it was never asked). */
  asked: string[];
}

export interface InPersonPaymentsDeps {
  /** `aud` of every terminal message: the platform's identifier. */
  audience: string;
  terminals: TerminalRegistry;
  positions: PositionStore;
  policies: MerchantPolicies;
  /** The issuer's configured face matcher (the same instance registration uses). */
  faces: FaceMatcher;
  /** The registered face of a verified identity (the registry photo), by vault ref. */
  registeredFace: (identityRef: string) => Promise<Uint8Array | undefined>;
  merchantName: (merchantDid: string) => Promise<string>;
  signer: ReceiptSigner;
  /** Queues a receipt for anchoring (durable before it resolves). */
  anchor: (receiptJwt: string, receiptId: string) => Promise<void>;
  decisions: DocumentStore<DecisionDoc>;
  clock: () => Date;
}

const answerPayload = z.object({ verification_id: z.string().uuid(), verdict: z.enum(["confirm", "decline"]), image_sha256: z.string().regex(/^[0-9a-f]{64}$/).optional() }).passthrough();
const startPayload = z.object({ payer: terminalIdSchema, pos: z.unknown() }).passthrough();
const MAX_IMAGE_BYTES = 1_500_000;

/**
 * In-person payments verified by proximity and by nearby peers (seed 003). The platform side: signed
 * positions into an expiring spatial index, the merchant's distance rule, the fan-out to opted-in peers
 * with a deadline, the decision against the payer's registered face, the lock, and a signed, anchored
 * receipt for every decision. The merchant gets the decision, never the peers' images; images are
 * dropped the moment the decision is made.
 */
export class InPersonPayments {
  private readonly nonces = new NonceLedger();
  private readonly reports: PositionReports;
  private readonly pending = new Map<string, Pending>();

  constructor(private readonly deps: InPersonPaymentsDeps) {
    this.reports = new PositionReports(deps.positions);
  }

  /** How many peer images the platform holds right now (awaiting a decision); none once every payment is decided. */
  heldImages(): number {
    let n = 0;
    for (const p of this.pending.values()) for (const a of p.answers.values()) if (a?.image) n++;
    return n;
  }

  /** What terminals sign for (`aud`). */
  get audience(): string {
    return this.deps.audience;
  }

  /** Verifies a terminal-signed message and spends its nonce; returns the terminal and the payload. */
  private async verified(jws: unknown, kind: TerminalMessageKind): Promise<{ terminal: TerminalRecord; payload: Record<string, unknown> & { iat: number; nonce: string } }> {
    const terminalId = terminalIdOf(jws);
    const terminal = await this.deps.terminals.get(terminalId);
    if (!terminal) throw new AgentError("ERR_TERMINAL_UNKNOWN", "the terminal is not registered");
    const now = this.deps.clock();
    const payload = verifyTerminalMessage(jws as string, terminal.publicJwk, { kind, audience: this.deps.audience, now });
    this.nonces.spend(terminalId, payload.nonce, now);
    return { terminal, payload };
  }

  /** A terminal reports where it is; the answer lists the verification requests waiting for it. */
  async reportPosition(jws: unknown): Promise<{ peerRequests: PeerRequestView[] }> {
    const { terminal, payload } = await this.verified(jws, "position");
    this.reports.accept(terminal.terminalId, payload.pos, payload.iat, this.deps.clock());
    return { peerRequests: this.requestsFor(terminal.terminalId) };
  }

  requestsFor(terminalId: string): PeerRequestView[] {
    const now = this.deps.clock().getTime();
    return [...this.pending.values()]
      .filter((p) => p.deadline > now && p.answers.has(terminalId) && p.answers.get(terminalId) === undefined)
      .map((p) => ({ verificationId: p.verificationId, merchantName: p.merchantName, deadline: new Date(p.deadline).toISOString() }));
  }

  /** A terminal joins or leaves the peer verification service. */
  async setOptIn(jws: unknown): Promise<{ peerOptIn: boolean }> {
    const { terminal, payload } = await this.verified(jws, "opt");
    if (typeof payload.opt_in !== "boolean") throw new AgentError("ERR_INVALID_INPUT", "opt_in must be true or false");
    const next = await this.deps.terminals.setOptIn(terminal.terminalId, payload.opt_in);
    return { peerOptIn: next.peerOptIn };
  }

  /**
   * The POS starts an in-person payment: its own signed position and the payer's wallet terminal. Refused at
   * once (and the payer locked) when the two are not within the merchant's distance; otherwise opted-in
   * wallets near the payer are asked, or, when there are none, opted-in POS terminals.
   */
  async start(jws: unknown): Promise<VerificationView> {
    const { terminal: pos, payload } = await this.verified(jws, "start");
    if (pos.kind !== "second" || !pos.merchantDid) throw new AgentError("ERR_FORBIDDEN", "only a POS terminal starts an in-person payment");
    const body = startPayload.safeParse(payload);
    if (!body.success) throw new AgentError("ERR_INVALID_INPUT", "the start names the payer's terminal and the POS position");
    const now = this.deps.clock();
    const payer = await this.deps.terminals.get(body.data.payer);
    if (!payer || payer.kind !== "first" || !payer.identityRef) throw new AgentError("ERR_PAYER_NOT_FOUND", "no such payer wallet");
    if (payer.locked) throw new AgentError("ERR_PAYMENT_LOCKED", "the payer's payment function is locked until they unlock it");
    const posPosition = this.reports.accept(pos.terminalId, body.data.pos, payload.iat, now);
    const payerPosition = this.deps.positions.get(payer.terminalId, now);
    if (!payerPosition) throw new AgentError("ERR_PAYER_POSITION_UNKNOWN", "the payer's wallet has not reported a recent position");
    const policy = await this.deps.policies.get(pos.merchantDid);
    const p: Pending = {
      verificationId: randomUUID(),
      merchantDid: pos.merchantDid,
      merchantName: await this.deps.merchantName(pos.merchantDid),
      posTerminalId: pos.terminalId,
      payerTerminalId: payer.terminalId,
      identityRef: payer.identityRef,
      policy,
      deadline: now.getTime() + policy.peerDeadlineMs,
      peersKind: "none",
      answers: new Map(),
    };
    const distance = checkDistance(payerPosition, posPosition, policy);
    if (!distance.ok) return this.record(p, "refused", [distance.code], { lock: true, matches: 0, mismatches: 0 });
    const peers = await this.choosePeers(payerPosition, p, now);
    p.peersKind = peers.kind;
    for (const id of peers.ids) p.answers.set(id, undefined);
    if (peers.ids.length === 0) return this.record(p, "refused", ["ERR_NO_PEERS_NEARBY"], { lock: false, matches: 0, mismatches: 0 });
    this.pending.set(p.verificationId, p);
    return this.viewOf(p);
  }

  /** Opted-in wallets within range of the payer (not the payer); if none, opted-in POS terminals (not this one). */
  private async choosePeers(center: { lat: number; lon: number }, p: Pending, now: Date): Promise<{ kind: Pending["peersKind"]; ids: string[] }> {
    const near = this.deps.positions.nearby(center, p.policy.peerRangeM, now).filter((n) => n.terminalId !== p.payerTerminalId && n.terminalId !== p.posTerminalId);
    const byKind: Record<"first" | "second", string[]> = { first: [], second: [] };
    for (const n of near) {
      const t = await this.deps.terminals.get(n.terminalId);
      if (t?.peerOptIn && !t.locked) byKind[t.kind].push(t.terminalId);
    }
    if (byKind.first.length) return { kind: "first", ids: byKind.first.slice(0, p.policy.maxPeers) };
    if (byKind.second.length) return { kind: "second", ids: byKind.second.slice(0, p.policy.maxPeers) };
    return { kind: "none", ids: [] };
  }

  /**
   * A peer answers: a signed verdict and, to confirm, its capture of the payer (whose hash the signature
   * covers). Refused: not asked (ERR_PEER_NOT_ASKED), after the deadline (ERR_PEER_LATE), a second answer
   * (ERR_PEER_ANSWERED), an image that is not the signed one (ERR_PEER_IMAGE_MISMATCH). The last awaited
   * answer makes the decision.
   */
  async answer(jws: unknown, image: Uint8Array | undefined): Promise<{ accepted: true; verificationId: string }> {
    const { terminal, payload } = await this.verified(jws, "answer");
    const body = answerPayload.safeParse(payload);
    if (!body.success) throw new AgentError("ERR_INVALID_INPUT", "the answer names the verification and a verdict");
    const p = this.pending.get(body.data.verification_id);
    if (!p && (await this.deps.decisions.get(body.data.verification_id))?.asked.includes(terminal.terminalId)) throw new AgentError("ERR_PEER_LATE", "this verification has been decided");
    if (!p || !p.answers.has(terminal.terminalId)) throw new AgentError("ERR_PEER_NOT_ASKED", "this terminal was not asked to verify this payment");
    if (this.deps.clock().getTime() >= p.deadline || p.deciding) throw new AgentError("ERR_PEER_LATE", "the deadline for this verification has passed");
    if (p.answers.get(terminal.terminalId) !== undefined) throw new AgentError("ERR_PEER_ANSWERED", "this terminal has already answered");
    if (body.data.verdict === "confirm") {
      if (!image || image.length === 0 || image.length > MAX_IMAGE_BYTES) throw new AgentError("ERR_INVALID_INPUT", "a confirmation carries the capture");
      if (sha256Hex(image) !== body.data.image_sha256) throw new AgentError("ERR_PEER_IMAGE_MISMATCH", "the image is not the one the terminal signed");
      p.answers.set(terminal.terminalId, { verdict: "confirm", image });
    } else {
      p.answers.set(terminal.terminalId, { verdict: "decline" });
    }
    if ([...p.answers.values()].every((a) => a !== undefined)) await this.decide(p);
    return { accepted: true, verificationId: p.verificationId };
  }

  /**
   * The POS asks for its payment's state, signed (`status`, naming `verification_id`): only the terminal that
   * started the payment reads it. Peers learn the verification id from their requests; they must not learn
   * whether a stranger's payment went through or locked them. Anyone else is told there is no such payment.
   */
  async statusFor(jws: unknown): Promise<VerificationView> {
    const { terminal, payload } = await this.verified(jws, "status");
    const id = z.string().uuid().safeParse(payload.verification_id);
    if (!id.success) throw new AgentError("ERR_INVALID_INPUT", "the status message names a verification id");
    const owner = this.pending.get(id.data)?.posTerminalId ?? (await this.deps.decisions.get(id.data))?.posTerminalId;
    if (owner !== terminal.terminalId) throw new AgentError("ERR_VERIFICATION_NOT_FOUND", "no such verification for this terminal");
    return this.viewFor(id.data);
  }

  /** A payment's view (in process: the platform's own code and the bench); past its deadline it is decided now. */
  async viewFor(verificationId: string): Promise<VerificationView> {
    const p = this.pending.get(verificationId);
    if (p) {
      if (this.deps.clock().getTime() >= p.deadline) await this.decide(p);
      else return this.viewOf(p);
    }
    const done = await this.deps.decisions.get(verificationId);
    if (!done) throw new AgentError("ERR_VERIFICATION_NOT_FOUND", "no such verification");
    return done.view;
  }

  /** Decides every verification whose deadline has passed (a timer calls this; tests call it with their clock). */
  async decideDue(): Promise<number> {
    const now = this.deps.clock().getTime();
    const due = [...this.pending.values()].filter((p) => now >= p.deadline);
    for (const p of due) await this.decide(p);
    return due.length;
  }

  private decide(p: Pending): Promise<void> {
    p.deciding ??= (async () => {
      let matches = 0;
      let mismatches = 0;
      const reference = await this.deps.registeredFace(p.identityRef);
      for (const a of p.answers.values()) {
        if (a?.verdict !== "confirm" || !a.image) continue;
        if (!reference) break;
        const r = await this.deps.faces.compare(a.image, reference).catch(() => ({ match: false }));
        r.match ? matches++ : mismatches++;
      }
      // The images are dropped here, before anything else: nothing after the decision can reach them.
      for (const id of p.answers.keys()) p.answers.set(id, p.answers.get(id) && { verdict: p.answers.get(id)!.verdict });
      if (mismatches > 0 && mismatches >= matches) await this.record(p, "refused", ["ERR_PEER_FACE_MISMATCH"], { lock: true, matches, mismatches });
      else if (matches >= p.policy.minMatches) await this.record(p, "accepted", [], { lock: false, matches, mismatches });
      else await this.record(p, "refused", [reference ? "ERR_NO_PEER_CONFIRMATION" : "ERR_NO_REGISTERED_FACE"], { lock: false, matches, mismatches });
      this.pending.delete(p.verificationId);
    })();
    return p.deciding;
  }

  private async record(p: Pending, outcome: "accepted" | "refused", reasons: string[], r: { lock: boolean; matches: number; mismatches: number }): Promise<VerificationView> {
    const now = this.deps.clock();
    if (r.lock) await this.deps.terminals.lock(p.payerTerminalId, p.verificationId, now);
    const { jwt, record } = await createReceipt<PaymentDecisionRecord>(
      PAYMENT_DECISION_TYPE,
      `urn:realname:terminal:${p.payerTerminalId}`,
      {
        decidedAt: now.toISOString(),
        verificationId: p.verificationId,
        merchant: { id: p.merchantDid },
        posTerminalId: p.posTerminalId,
        payerTerminalId: p.payerTerminalId,
        outcome,
        reasons,
        peersKind: p.peersKind,
        peersAsked: p.answers.size,
        peersAnswered: [...p.answers.values()].filter((a) => a !== undefined).length,
        faceMatches: r.matches,
        faceMismatches: r.mismatches,
        payerLocked: r.lock,
      },
      this.deps.signer,
      now,
    );
    await this.deps.anchor(jwt, record.receiptId);
    const view: VerificationView = { ...this.viewOf(p), status: "decided", decision: { outcome, reasons, payerLocked: r.lock, receipt: jwt } };
    await this.deps.decisions.put(p.verificationId, { view, posTerminalId: p.posTerminalId, receiptHash: sha256Hex(jwt), asked: [...p.answers.keys()] });
    return view;
  }

  private viewOf(p: Pending): VerificationView {
    return { verificationId: p.verificationId, status: "pending", deadline: new Date(p.deadline).toISOString(), peersAsked: p.answers.size };
  }

  /**
   * The person unlocks their payment function: a message signed by their wallet's device key covering a
   * fresh capture, the PIN, and that capture matching their registered face. The unlock is a receipt too.
   */
  async unlock(jws: unknown, pin: string, portrait: Uint8Array): Promise<{ unlocked: true; receipt: string }> {
    const { terminal, payload } = await this.verified(jws, "unlock");
    if (!terminal.locked) throw new AgentError("ERR_NOT_LOCKED", "the payment function is not locked");
    if (payload.portrait_sha256 !== sha256Hex(portrait)) throw new AgentError("ERR_PEER_IMAGE_MISMATCH", "the capture is not the one the terminal signed");
    await this.deps.terminals.checkPin(terminal.terminalId, pin);
    const reference = terminal.identityRef ? await this.deps.registeredFace(terminal.identityRef) : undefined;
    const face = reference ? await this.deps.faces.compare(portrait, reference) : { match: false };
    if (!face.match) throw new AgentError("ERR_FACE_NOT_CONFIRMED", "the fresh capture does not match the registered face");
    await this.deps.terminals.unlock(terminal.terminalId);
    const now = this.deps.clock();
    const { jwt, record } = await createReceipt(PAYMENT_UNLOCK_TYPE, `urn:realname:terminal:${terminal.terminalId}`, { unlockedAt: now.toISOString(), payerTerminalId: terminal.terminalId, lockedBy: terminal.locked.verificationId, checks: ["pin", "face"] }, this.deps.signer, now);
    await this.deps.anchor(jwt, record.receiptId);
    return { unlocked: true, receipt: jwt };
  }
}
