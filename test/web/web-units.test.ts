import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AgentError, classifyLink, HolderWallet, html, raw, renderPage, translator } from "@realname/agent";
import { WalletSessions } from "../../agent/src/holder/web/session.js";
import { consentPage } from "../../agent/src/holder/web/views.js";
import { PinnedReviews } from "../../agent/src/holder/web/pinned.js";
import type { CheckedRequest } from "@realname/agent";

describe("Web pages: the parts on their own", () => {
  describe("html templates escape everything that is not marked safe", () => {
    it("a merchant-chosen name cannot become markup", () => {
      const name = `<img src=x onerror="alert(1)">&'`;
      expect(html`<h1>${name}</h1>`.value).to.equal("<h1>&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&amp;&#39;</h1>");
      expect(html`<p>${[name, raw("<b>ok</b>")]}${undefined}${false}${null}</p>`.value).to.equal("<p>&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&amp;&#39;<b>ok</b></p>");
    });

    it("the consent page shows a hostile merchant name, purpose and link as text", () => {
      const evil = `</h1><script>steal()</script>`;
      const checked = {
        request: { iss: "did:key:z6Mkexample", merchant_name: evil, level: "verified", purpose: evil, retention_days: 0, claims: [], age_over_18: false, exp: 2_000_000_000, nonce: "n", request_id: "r", response_uri: "http://x" },
        requestJwt: "a.b.c",
        payload: {},
        claimNames: ["real_name_verified"],
        merchant: { did: "did:key:z6Mkexample", name: "x", maxLevel: "full", purposes: [evil], fullClaims: [] },
      } as unknown as CheckedRequest;
      const page = renderPage({ title: evil, brand: "Identity wallet", main: consentPage(translator("en"), { checked, link: `openid4vp://?x="><script>`, qrSvg: "<svg></svg>", unlocked: false }) });
      expect(page).to.not.contain("<script>");
      expect(page).to.contain("&lt;/h1&gt;&lt;script&gt;steal()&lt;/script&gt;");
    });
  });

  describe("reviewed requests kept for the answer", () => {
    it("are bounded in number (the oldest goes) and in time (the review's age, or the request's own expiry)", () => {
      let now = Date.parse("2026-01-01T00:00:00Z");
      const pins = new PinnedReviews<string>({ max: 3, ttlMs: 60_000, clock: () => new Date(now) });
      for (const k of ["a", "b", "c", "d"]) pins.pin(k, `request ${k}`);
      expect([pins.get("a"), pins.get("b"), pins.get("d"), pins.size]).to.deep.equal([undefined, "request b", "request d", 3]);
      pins.pin("soon", "expires in 5 s", new Date(now + 5_000));
      now += 5_000;
      expect(pins.get("soon")).to.equal(undefined);
      expect(pins.get("d")).to.equal("request d");
      now += 55_000;
      expect([pins.get("b"), pins.get("c"), pins.get("d"), pins.size]).to.deep.equal([undefined, undefined, undefined, 0]);
      pins.pin("e", "request e");
      expect([pins.take("e"), pins.take("e"), pins.get("e")]).to.deep.equal(["request e", undefined, undefined]);
    });
  });

  describe("pasted links", () => {
    it("recognises a request (custom scheme or https) and a login challenge; refuses anything else with a code", () => {
      const request = classifyLink(" openid4vp://?client_id=decentralized_identifier%3Adid%3Akey%3Az6Mk&request_uri=http%3A%2F%2F127.0.0.1%3A1%2Frequests%2Fabc ");
      expect(request).to.deep.equal({ kind: "request", query: "client_id=decentralized_identifier%3Adid%3Akey%3Az6Mk&request_uri=http%3A%2F%2F127.0.0.1%3A1%2Frequests%2Fabc" });
      expect(classifyLink("https://wallet.example/authorize?client_id=a&request_uri=https%3A%2F%2Fm.example%2Fr").kind).to.equal("request");
      expect(classifyLink("http://127.0.0.1:9/login/challenges/0f8e4b6a-1c2d-4e5f-8a9b-0c1d2e3f4a5b")).to.deep.equal({ kind: "login", challenge: "http://127.0.0.1:9/login/challenges/0f8e4b6a-1c2d-4e5f-8a9b-0c1d2e3f4a5b" });
      for (const bad of ["", "hello", "javascript:alert(1)", "https://example.com/", "openid4vp://?client_id=only", "ftp://x/login/challenges/0f8e4b6a-1c2d-4e5f-8a9b-0c1d2e3f4a5b"]) {
        expect(() => classifyLink(bad), bad).to.throw(AgentError).with.property("code", "ERR_LINK_UNRECOGNISED");
      }
    });
    it("recognises a request object passed by value (request=, RFC 9101 §5); refuses a link carrying both request and request_uri", () => {
      expect(classifyLink("openid4vp://?client_id=decentralized_identifier%3Adid%3Akey%3Az6Mk&request=eyJh.eyJi.c2ln")).to.deep.equal({ kind: "request", query: "client_id=decentralized_identifier%3Adid%3Akey%3Az6Mk&request=eyJh.eyJi.c2ln" });
      expect(() => classifyLink("openid4vp://?client_id=a&request=eyJh.eyJi.c2ln&request_uri=https%3A%2F%2Fm.example%2Fr")).to.throw(AgentError).with.property("code", "ERR_REQUEST_MALFORMED");
    });
  });

  describe("the wallet page's unlock sessions (real LevelDB wallet)", function () {
    this.timeout(30_000);
    let dir: string;
    before(() => {
      dir = mkdtempSync(join(tmpdir(), "wallet-session-"));
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    it("one session at a time; a stranger's cookie or token is not it; it locks itself when idle", async () => {
      const sessions = new WalletSessions(dir, { idleMs: 300, clock: () => new Date() });
      const first = await sessions.unlock("2468");
      expect(sessions.find(first.id)).to.equal(first);
      expect(sessions.find("forged")).to.equal(undefined);
      expect(sessions.find(undefined)).to.equal(undefined);
      expect(sessions.checkCsrf(first, first.csrf)).to.equal(true);
      expect(sessions.checkCsrf(first, "x".repeat(first.csrf.length))).to.equal(false);
      expect(sessions.checkCsrf(first, undefined)).to.equal(false);
      // Unlocking again (another tab, another browser) ends the first session.
      const second = await sessions.unlock("2468");
      expect(sessions.find(first.id)).to.equal(undefined);
      expect(sessions.find(second.id)).to.equal(second);
      // A wrong PIN opens nothing and counts toward the lockout.
      await sessions.unlock("0000").then(() => expect.fail("a wrong PIN unlocked"), (e) => expect(e.code).to.equal("ERR_WRONG_PASSPHRASE"));
      expect(sessions.find(second.id)).to.equal(undefined);
      const third = await sessions.unlock("2468");
      // While the page holds the wallet, the command line is told so in words, not a LevelDB code.
      await HolderWallet.open({ dir, pin: "2468" }).then(() => expect.fail("opened twice"), (e) => expect(e.code).to.equal("ERR_STORE_IN_USE"));
      await new Promise((r) => setTimeout(r, 900));
      expect(sessions.find(third.id), "still unlocked after the idle time").to.equal(undefined);
      // Locked means closed: the folder can be opened again.
      expect((await sessions.settings())).to.deep.equal({});
    });
  });
});
