import { expect } from "chai";
import { generateSigningKey, receiptHash, sha256Hex, signJwt, TERMINAL_TYP, verifyReceipt, PAYMENT_DECISION_TYPE, type PaymentDecisionRecord } from "@realname/agent";
import { randomUUID } from "node:crypto";
import { call } from "../helpers/http.js";
import { PaymentsHarness, portrait, type TestTerminal } from "../helpers/payments-harness.js";

/** A shop at ground floor; offsets in metres turned into degrees (1 m ≈ 9e-6° of latitude). */
const SHOP = { lat: 31.2304, lon: 121.4737 };
/** Each case plays in its own street (a kilometre east of the last), so no case sees another's terminals. */
let street = 0;
const at = (northM: number, floor?: number, altitude?: number) => ({ lat: SHOP.lat + northM * 9e-6, lon: SHOP.lon + street * 0.01, ...(floor !== undefined ? { floor } : {}), ...(altitude !== undefined ? { altitude } : {}) });
type Loc = Record<string, unknown>;
const PAYER_FACE = portrait("zhang-san-live.jpg");
const OTHER_FACE = portrait("impostor-live.jpg");

describe("In-person payments (seed 003): proximity, peers, decision, lock", function () {
  this.timeout(120_000);
  let h: PaymentsHarness;
  before(async () => {
    h = await PaymentsHarness.start();
  });
  after(async () => h?.close());
  /** Every case starts a second later, so no terminal's reports run backwards in time. */
  beforeEach(() => {
    h.advance(1000);
    street++;
  });

  async function scene(opts: { payerAt?: Loc; posAt?: Loc; peers?: Array<{ at: Loc; optIn?: boolean }> } = {}): Promise<{ payer: TestTerminal; pos: TestTerminal; peers: TestTerminal[]; posAt: Loc }> {
    const payer = await h.wallet("zhang", { optIn: false });
    const pos = await h.pos();
    expect((await h.report(payer, opts.payerAt ?? at(0, 0))).status).to.equal(200);
    const peers: TestTerminal[] = [];
    for (const p of opts.peers ?? [{ at: at(5, 0) as Loc }]) {
      const peer = await h.wallet("li", { optIn: p.optIn ?? true });
      expect((await h.report(peer, p.at)).status).to.equal(200);
      peers.push(peer);
    }
    return { payer, pos, peers, posAt: opts.posAt ?? at(2, 0) };
  }
  const decided = async (id: string) => (await h.status(id)).body.decision;

  it("accepts within range when a nearby peer's capture matches the payer's registered face; the receipt is signed, anchored, and carries no position or image", async () => {
    const { payer, pos, peers, posAt } = await scene();
    const started = await h.start(pos, payer, posAt);
    expect(started.status, JSON.stringify(started.body)).to.equal(201);
    expect(started.body).to.include({ status: "pending", peersAsked: 1 });
    // The peer learns of the request with its next position report.
    h.advance(1000);
    const polled = await h.report(peers[0]!, at(5, 0));
    expect(polled.body.peerRequests.map((r: { verificationId: string }) => r.verificationId)).to.deep.equal([started.body.verificationId]);
    expect(polled.body.peerRequests[0].merchantName).to.equal("Corner Shop");
    expect((await h.answer(peers[0]!, started.body.verificationId, PAYER_FACE)).status).to.equal(200);
    const decision = await decided(started.body.verificationId);
    expect(decision).to.include({ outcome: "accepted", payerLocked: false });
    const receipt = await verifyReceipt<PaymentDecisionRecord>(decision.receipt, PAYMENT_DECISION_TYPE, { now: h.now });
    expect(receipt.verified, JSON.stringify(receipt.errors)).to.equal(true);
    expect(receipt.issuer).to.equal(h.audience);
    expect(receipt.record).to.include({ outcome: "accepted", peersKind: "first", peersAsked: 1, peersAnswered: 1, faceMatches: 1, faceMismatches: 0, payerLocked: false });
    expect(receipt.record!.merchant).to.deep.equal({ id: h.merchant.did });
    const text = Buffer.from(decision.receipt.split(".")[1], "base64url").toString();
    for (const forbidden of ["lat", "lon", "floor", "altitude", "image", String(SHOP.lat)]) expect(text).not.to.include(forbidden);
    // Anchored like every other receipt.
    await h.queue.flush();
    expect((await h.queue.get(receiptHash(decision.receipt)))?.status).to.equal("anchored");
    // The merchant's view never holds the peers' images; a late status call reads the stored decision.
    expect(JSON.stringify((await h.status(started.body.verificationId)).body)).not.to.include(PAYER_FACE.toString("base64").slice(0, 40));
  });

  it("refuses a payer out of the merchant's horizontal range, locks the payer's payment function and tells the merchant", async () => {
    const { payer, pos } = await scene({ payerAt: at(0, 0) });
    const started = await h.start(pos, payer, at(40, 0));
    expect(started.status).to.equal(201);
    expect(started.body.decision).to.include({ outcome: "refused", payerLocked: true });
    expect(started.body.decision.reasons).to.deep.equal(["ERR_OUT_OF_RANGE"]);
    h.advance(1000);
    const again = await h.start(pos, payer, at(1, 0));
    expect(again.status).to.equal(400);
    expect(again.body.error.code).to.equal("ERR_PAYMENT_LOCKED");
  });

  it("refuses a payer on another floor (declared floors), and one at another altitude (measured)", async () => {
    const a = await scene({ payerAt: at(0, 1) });
    expect((await h.start(a.pos, a.payer, at(1, 0))).body.decision.reasons).to.deep.equal(["ERR_OTHER_FLOOR"]);
    const b = await scene({ payerAt: at(0, undefined, 14) });
    expect((await h.start(b.pos, b.payer, at(1, undefined, 4))).body.decision.reasons).to.deep.equal(["ERR_OTHER_FLOOR"]);
    const c = await scene({ payerAt: at(0, undefined, 5), peers: [{ at: at(3, undefined, 5) }] });
    expect((await h.start(c.pos, c.payer, at(1, undefined, 4))).body).to.include({ status: "pending" });
  });

  it("refuses, and locks, when the peer's capture is another person's face", async () => {
    const { payer, pos, peers, posAt } = await scene();
    const started = await h.start(pos, payer, posAt);
    await h.answer(peers[0]!, started.body.verificationId, OTHER_FACE);
    const decision = await decided(started.body.verificationId);
    expect(decision).to.include({ outcome: "refused", payerLocked: true });
    expect(decision.reasons).to.deep.equal(["ERR_PEER_FACE_MISMATCH"]);
  });

  it("asks opted-in POS terminals when no wallet is nearby, and never asks an opted-out terminal", async () => {
    const optedOut = await h.wallet("li", { optIn: false });
    const otherPos = await h.pos({ optIn: true });
    const { payer, pos, posAt } = await scene({ peers: [] });
    await h.report(optedOut, at(3, 0));
    await h.report(otherPos, at(6, 0));
    const started = await h.start(pos, payer, posAt);
    expect(started.body).to.include({ status: "pending", peersAsked: 1 });
    h.advance(1000);
    expect((await h.report(optedOut, at(3, 0))).body.peerRequests).to.deep.equal([]);
    expect((await h.report(otherPos, at(6, 0))).body.peerRequests).to.have.length(1);
    expect((await h.answer(optedOut, started.body.verificationId, PAYER_FACE)).body.error.code).to.equal("ERR_PEER_NOT_ASKED");
    await h.answer(otherPos, started.body.verificationId, PAYER_FACE);
    const decision = await decided(started.body.verificationId);
    expect(decision.outcome).to.equal("accepted");
    const record = (await verifyReceipt<PaymentDecisionRecord>(decision.receipt, PAYMENT_DECISION_TYPE, { now: h.now })).record!;
    expect(record.peersKind).to.equal("second");
  });

  it("a terminal that opts out (signed) is no longer asked; with nobody nearby the payment is refused without a lock", async () => {
    const { payer, pos, peers, posAt } = await scene();
    const message = await peers[0]!.sign("opt", { opt_in: false });
    expect((await call(`${h.url}/payments/opt-in`, { body: { message } })).body).to.deep.equal({ peerOptIn: false });
    const started = await h.start(pos, payer, posAt);
    expect(started.body.decision).to.include({ outcome: "refused", payerLocked: false });
    expect(started.body.decision.reasons).to.deep.equal(["ERR_NO_PEERS_NEARBY"]);
  });

  it("a locked payer unlocks only with the right PIN and a fresh capture of their registered face; the unlock is a receipt", async () => {
    const { payer, pos } = await scene();
    await h.start(pos, payer, at(100, 0));
    const unlock = async (pin: string, face: Buffer) => {
      const message = await payer.sign("unlock", { portrait_sha256: sha256Hex(face) });
      return call(`${h.url}/payments/unlock`, { body: { message, pin, portrait: face.toString("base64") } });
    };
    expect((await unlock("9999", PAYER_FACE)).body.error.code).to.equal("ERR_PIN_INVALID");
    expect((await unlock("1234", OTHER_FACE)).body.error.code).to.equal("ERR_FACE_NOT_CONFIRMED");
    expect((await h.platform.terminals.get(payer.terminalId))?.locked).to.not.equal(undefined);
    const ok = await unlock("1234", PAYER_FACE);
    expect(ok.status, JSON.stringify(ok.body)).to.equal(200);
    expect((await verifyReceipt(ok.body.receipt, "PaymentUnlock", { now: h.now })).verified).to.equal(true);
    expect((await unlock("1234", PAYER_FACE)).body.error.code).to.equal("ERR_NOT_LOCKED");
    h.advance(1000);
    await h.report(payer, at(0, 0));
    expect((await h.start(pos, payer, at(2, 0))).status).to.equal(201);
  });

  after("no position, image or terminal key reached the platform's log", () => {
    expect(h.logs.length).to.be.greaterThan(20);
    const all = h.logs.join("\n");
    for (const forbidden of ["lat", "floor", "/9j/", "iVBOR"]) expect(all).not.to.include(forbidden);
    // No coordinate: a number with five or more decimals (an ISO time has three, a logged duration one; a
    // plain "31.23" also occurs in times such as "10:14:31.234Z", which made an earlier check flaky).
    expect(all.match(/\d\.\d{5,}/g) ?? []).to.deep.equal([]);
  });

  it("five wrong PINs stop unlocking, even with the right PIN and face afterwards", async () => {
    const { payer, pos } = await scene();
    await h.start(pos, payer, at(100, 0));
    const unlock = async (pin: string) => {
      const message = await payer.sign("unlock", { portrait_sha256: sha256Hex(PAYER_FACE) });
      return (await call(`${h.url}/payments/unlock`, { body: { message, pin, portrait: PAYER_FACE.toString("base64") } })).body.error?.code ?? "unlocked";
    };
    for (let i = 0; i < 5; i++) expect(await unlock(`000${i}`)).to.equal("ERR_PIN_INVALID");
    expect(await unlock("1234")).to.equal("ERR_WALLET_LOCKED");
    expect((await h.platform.terminals.get(payer.terminalId))?.locked).to.not.equal(undefined);
  });

  describe("bad input: refused with a code, nothing decided on it", () => {
    it("a position not signed by the terminal's registered device key", async () => {
      const payer = await h.wallet("zhang");
      const pos = await h.pos();
      const thief = generateSigningKey("ES256");
      const forged = await signJwt({ typ: TERMINAL_TYP.position, kid: payer.terminalId }, { aud: h.audience, iat: h.now.getTime() / 1000, nonce: randomUUID(), pos: at(0, 0) }, thief);
      const r = await call(`${h.url}/payments/positions`, { body: { report: forged } });
      expect(r.status).to.equal(400);
      expect(r.body.error.code).to.equal("ERR_TERMINAL_SIGNATURE");
      const wrongAud = await signJwt({ typ: TERMINAL_TYP.position, kid: payer.terminalId }, { aud: "did:key:zOther", iat: h.now.getTime() / 1000, nonce: randomUUID(), pos: at(0, 0) }, thief);
      expect((await call(`${h.url}/payments/positions`, { body: { report: wrongAud } })).body.error.code).to.equal("ERR_TERMINAL_SIGNATURE");
      expect((await call(`${h.url}/payments/positions`, { body: { report: "not.a.jws.at.all" } })).body.error.code).to.equal("ERR_TERMINAL_SIGNATURE");
      // Nothing was stored: the payer has no position to decide on.
      expect((await h.start(pos, payer, at(1, 0))).body.error.code).to.equal("ERR_PAYER_POSITION_UNKNOWN");
    });

    it("a stale position, a replayed one, and one older than the terminal's last", async () => {
      const payer = await h.wallet("zhang");
      const pos = await h.pos();
      const stale = await h.report(payer, at(0, 0), new Date(h.now.getTime() - 60_000));
      expect(stale.body.error.code).to.equal("ERR_TERMINAL_MESSAGE_STALE");
      expect((await h.start(pos, payer, at(1, 0))).body.error.code).to.equal("ERR_PAYER_POSITION_UNKNOWN");
      const report = await payer.sign("position", { pos: at(0, 0) });
      expect((await call(`${h.url}/payments/positions`, { body: { report } })).status).to.equal(200);
      expect((await call(`${h.url}/payments/positions`, { body: { report } })).body.error.code).to.equal("ERR_REPLAYED");
      expect((await h.report(payer, at(0, 0), new Date(h.now.getTime() - 2000))).body.error.code).to.equal("ERR_POSITION_STALE");
    });

    it("an impossible jump (a kilometre in a second) is refused and the index keeps the last credible position", async () => {
      const { payer, pos, posAt } = await scene();
      h.advance(1000);
      const jump = await h.report(payer, { ...at(1000, 0) });
      expect(jump.body.error.code).to.equal("ERR_POSITION_IMPOSSIBLE_JUMP");
      expect((await h.start(pos, payer, posAt)).body).to.include({ status: "pending" });
      const malformed = await h.report(payer, { lat: 123, lon: 0 });
      expect(malformed.body.error.code).to.equal("ERR_POSITION_INVALID");
    });

    it("a peer answer after the deadline is refused; the decision is made at the deadline without it", async () => {
      const { payer, pos, peers, posAt } = await scene();
      const started = await h.start(pos, payer, posAt);
      h.advance(60_001);
      const late = await h.answer(peers[0]!, started.body.verificationId, PAYER_FACE);
      expect(late.body.error.code).to.equal("ERR_PEER_LATE");
      const decision = await decided(started.body.verificationId);
      expect(decision).to.include({ outcome: "refused", payerLocked: false });
      expect(decision.reasons).to.deep.equal(["ERR_NO_PEER_CONFIRMATION"]);
    });

    it("a peer answering twice: the second answer is refused and does not count", async () => {
      const { payer, pos, peers, posAt } = await scene({ peers: [{ at: at(4, 0) }, { at: at(6, 0) }] });
      const started = await h.start(pos, payer, posAt);
      expect(started.body.peersAsked).to.equal(2);
      expect((await h.answer(peers[0]!, started.body.verificationId, OTHER_FACE)).status).to.equal(200);
      const twice = await h.answer(peers[0]!, started.body.verificationId, PAYER_FACE);
      expect(twice.body.error.code).to.equal("ERR_PEER_ANSWERED");
      expect((await h.status(started.body.verificationId)).body.status).to.equal("pending");
      // One image is held while the second peer has not answered; none once the payment is decided.
      expect(h.platform.service.heldImages()).to.equal(1);
      await h.answer(peers[1]!, started.body.verificationId, undefined, "decline");
      const decision = await decided(started.body.verificationId);
      expect(decision.reasons).to.deep.equal(["ERR_PEER_FACE_MISMATCH"]);
      expect(h.platform.service.heldImages()).to.equal(0);
    });

    it("only the POS that started a payment reads its state: a peer that was asked (it knows the id) and another till are told there is none; a replayed status message is refused", async () => {
      const { payer, pos, peers, posAt } = await scene();
      const started = await h.start(pos, payer, posAt);
      const id = started.body.verificationId;
      expect((await h.answer(peers[0]!, id, PAYER_FACE)).status).to.equal(200);
      expect((await h.status(id)).body.decision.outcome).to.equal("accepted");
      const otherTill = await h.pos();
      for (const stranger of [peers[0]!, otherTill]) {
        const r = await h.status(id, stranger);
        expect([r.status, r.body.error.code]).to.deep.equal([404, "ERR_VERIFICATION_NOT_FOUND"]);
        expect(JSON.stringify(r.body)).to.not.include("accepted");
      }
      const message = await pos.sign("status", { verification_id: id });
      expect((await call(`${h.url}/payments/in-person/status`, { body: { message } })).status).to.equal(200);
      expect((await call(`${h.url}/payments/in-person/status`, { body: { message } })).body.error.code).to.equal("ERR_REPLAYED");
      const noId = await pos.sign("status", { verification_id: "not-a-uuid" });
      expect((await call(`${h.url}/payments/in-person/status`, { body: { message: noId } })).body.error.code).to.equal("ERR_INVALID_INPUT");
    });

    it("an image that is not the one the peer signed, a POS that is not a POS, bodies that are not JSON", async () => {
      const { payer, pos, peers, posAt } = await scene();
      const started = await h.start(pos, payer, posAt);
      const answer = await peers[0]!.sign("answer", { verification_id: started.body.verificationId, verdict: "confirm", image_sha256: "0".repeat(64) });
      const r = await call(`${h.url}/payments/peer-answers`, { body: { answer, image: PAYER_FACE.toString("base64") } });
      expect(r.body.error.code).to.equal("ERR_PEER_IMAGE_MISMATCH");
      expect((await h.status(started.body.verificationId)).body.status).to.equal("pending");
      const notPos = await peers[0]!.sign("start", { payer: payer.terminalId, pos: posAt });
      expect((await call(`${h.url}/payments/in-person`, { body: { message: notPos } })).body.error.code).to.equal("ERR_FORBIDDEN");
      expect((await call(`${h.url}/payments/positions`, { body: "{", contentType: "application/json" })).status).to.equal(400);
      expect((await call(`${h.url}/payments/positions`, { body: "x", contentType: "text/plain" })).status).to.equal(415);
      // A payment's state is read only with the starting POS's signature: never by its id alone.
      expect((await call(`${h.url}/payments/in-person/${started.body.verificationId}`)).status).to.equal(404);
      expect((await call(`${h.url}/payments/in-person/status`, { body: { message: "eyJhbGciOiJFUzI1NiJ9.e30.AAAA" } })).body.error.code).to.equal("ERR_TERMINAL_SIGNATURE");
      expect((await call(`${h.url}/admin/payments/terminals`, { body: {} })).status).to.equal(401);
    });
  });
});
