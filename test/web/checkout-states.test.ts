import { expect } from "chai";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { DEFAULT_CHECKOUT_OFFERS, EXAMPLE_ORDER } from "../../verifier-service/src/checkout.js";
import { auditPage, launchChromium, screenshot } from "../helpers/browser.js";
import { newTestKey } from "../helpers/keys.js";
import { startInProcessVerifier, type InProcessVerifier } from "../helpers/verifier-harness.js";

/**
 * The checkout a shop could ship, in Chromium: both languages, a 390 px phone and a desktop, and every state
 * the customer can meet while the wallet is asked (waiting with a countdown, scanned, declined, cancelled,
 * expired with a new request offered). The verifier runs in process with an injected clock: expiry is the
 * clock moved past the request's `exp`, never a wait.
 */
describe("Checkout states in a real browser (phone and desktop, Chinese and English)", function () {
  this.timeout(120_000);
  const issuer = newTestKey();
  const merchantKey = newTestKey();
  const merchant = { did: merchantKey.did, name: "Lotus Books", signer: merchantKey.signer };
  let now = Date.parse("2026-11-22T02:00:00Z");
  let harness: InProcessVerifier;
  let browser: Browser;
  before(async () => {
    harness = await startInProcessVerifier({ issuer, merchant, clock: () => new Date(now), statusTtlSeconds: 60, checkout: { offers: DEFAULT_CHECKOUT_OFFERS, order: EXAMPLE_ORDER } });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await harness?.close();
  });

  const layouts = [
    { name: "phone-zh", viewport: { width: 390, height: 844 }, locale: "zh-CN", lang: "zh-CN", phone: true },
    { name: "desktop-en", viewport: { width: 1280, height: 900 }, locale: "en-US", lang: "en", phone: false },
  ] as const;

  /** Opens a request from the checkout's first offer; returns its id and the request object's URL. */
  async function openRequest(page: Page): Promise<{ id: string; requestUri: string }> {
    await page.goto(`${harness.base}/checkout`);
    await page.locator('button[type="submit"]').first().click();
    await page.waitForURL(/\/checkout\/[0-9a-f-]{36}$/);
    const id = /\/checkout\/([0-9a-f-]{36})$/.exec(page.url())![1]!;
    const link = await page.locator("#open-wallet").getAttribute("href");
    const requestUri = new URL(link!.replace(/^openid4vp:\/\/\?/, "https://x/?")).searchParams.get("request_uri")!;
    return { id, requestUri };
  }

  for (const layout of layouts) {
    describe(layout.name, () => {
      let context: BrowserContext;
      let page: Page;
      before(async () => {
        context = await browser.newContext({ viewport: layout.viewport, locale: layout.locale, deviceScaleFactor: 1 });
        page = await context.newPage();
      });
      after(async () => context?.close());

      it("the offers page: the shop's name, logo and example order, in the browser's language, readable at this width", async () => {
        await page.goto(`${harness.base}/checkout`);
        expect(await page.getAttribute("html", "lang")).to.equal(layout.lang);
        expect(await page.locator(".shop-logo").count()).to.equal(1);
        const text = await page.locator("main").innerText();
        expect(text).to.contain("Lotus Books").and.contain(EXAMPLE_ORDER.total);
        expect(text).to.contain(layout.lang === "en" ? "Your order" : "您的订单");
        const audit = await auditPage(page);
        expect(audit.overflowX, "no sideways scrolling").to.be.at.most(0);
        expect(audit.unlabelled).to.deep.equal([]);
        await screenshot(page, `checkout-${layout.name}-offers`);
      });

      it("waiting: phone shows Open wallet first, desktop the QR code first; a countdown to the request's expiry; scanned once the wallet fetched it", async () => {
        const { requestUri } = await openRequest(page);
        const open = (await page.locator("#open-wallet").boundingBox())!;
        const qr = (await page.locator("img.qr").boundingBox())!;
        if (layout.phone) expect(open.y + open.height, "Open wallet above the QR, on the first screen of a phone").to.be.below(Math.min(qr.y, layout.viewport.height));
        else expect(qr.y, "QR above Open wallet on a desktop").to.be.below(open.y);
        expect(await page.locator("#open-wallet").getAttribute("href")).to.match(/^openid4vp:\/\//);
        // The countdown runs to the request's own exp, and the page keeps checking until then (not a fixed timeout).
        const { expiresAt } = (await page.evaluate((url) => fetch(url).then((r) => r.json()), page.url() + "/status")) as { expiresAt: number };
        const left = expiresAt - Math.floor(now / 1000);
        expect(left).to.be.above(60);
        const shown = /(\d+):(\d\d)/.exec(await page.locator("[data-countdown]").innerText())!;
        expect(Number(shown[1]) * 60 + Number(shown[2])).to.be.within(left - 3, left);
        expect(Number(await page.locator("[data-poll]").getAttribute("data-poll-max-ms"))).to.be.at.least(left * 1000);
        expect(await page.locator("#checkout-state").getAttribute("data-state")).to.equal("pending");
        expect((await auditPage(page)).overflowX).to.be.at.most(0);
        await screenshot(page, `checkout-${layout.name}-waiting`);
        // The wallet fetches the request object: the page says so by itself (its script polls the status).
        expect((await fetch(requestUri)).status).to.equal(200);
        await page.locator('#checkout-state[data-state="scanned"]').waitFor();
        expect(await page.locator("#checkout-state").innerText()).to.contain(layout.lang === "en" ? "opened the request" : "已打开此请求");
        await screenshot(page, `checkout-${layout.name}-scanned`);
      });

      it("a decline shows as declined, with a new request offered", async () => {
        const { id } = await openRequest(page);
        const declined = await fetch(`${harness.base}/requests/${id}/response`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams({ error: "access_denied", state: id }) });
        expect(declined.status).to.equal(200);
        await page.locator('h1[data-state="declined"]').waitFor();
        expect(await page.locator('form[action="/checkout"] button').count()).to.equal(1);
        await screenshot(page, `checkout-${layout.name}-declined`);
      });

      it("cancel: the page says cancelled, and the wallet can no longer fetch the request", async () => {
        const { requestUri } = await openRequest(page);
        await page.locator("#cancel").click();
        await page.locator('h1[data-state="cancelled"]').waitFor();
        expect((await fetch(requestUri)).status).to.equal(410);
        await screenshot(page, `checkout-${layout.name}-cancelled`);
      });

      it("after the request's expiry the page says so and offers a new request, which waits again", async () => {
        const { id } = await openRequest(page);
        now += 16 * 60_000; // past the request's 15-minute exp on the verifier's clock
        try {
          await page.locator('h1[data-state="expired"]').waitFor();
          await screenshot(page, `checkout-${layout.name}-expired`);
          await page.locator('form[action="/checkout"] button').click();
          await page.waitForURL((url) => /\/checkout\/[0-9a-f-]{36}$/.test(url.pathname) && !url.pathname.endsWith(id));
          expect(await page.locator("#checkout-state").getAttribute("data-state")).to.equal("pending");
        } finally {
          now -= 16 * 60_000;
        }
      });
    });
  }

  it("language: ?lang= switches and is remembered in a cookie; Accept-Language decides otherwise; Chinese by default", async () => {
    const get = async (path: string, headers: Record<string, string> = {}) => {
      const res = await fetch(`${harness.base}${path}`, { headers });
      return { text: await res.text(), cookie: res.headers.get("set-cookie") ?? "" };
    };
    expect((await get("/checkout")).text).to.contain('<html lang="zh-CN">');
    expect((await get("/checkout", { "accept-language": "en-GB,en;q=0.8" })).text).to.contain('<html lang="en">');
    expect((await get("/checkout", { "accept-language": "fr-FR, en;q=0.5, zh;q=0.9" })).text).to.contain('<html lang="zh-CN">');
    const switched = await get("/checkout?lang=en");
    expect(switched.text).to.contain('<html lang="en">');
    expect(switched.cookie).to.match(/^lang=en;/);
    expect((await get("/checkout", { cookie: "lang=en", "accept-language": "zh-CN" })).text).to.contain('<html lang="en">');
    // A refusal page speaks the same language, with its code for scripts.
    const refused = await get("/checkout/00000000-0000-4000-8000-000000000000", { "accept-language": "zh-CN" });
    expect(refused.text).to.contain('data-error-code="ERR_REQUEST_NOT_FOUND"').and.contain("未能完成");
  });
});
