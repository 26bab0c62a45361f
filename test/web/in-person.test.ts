import { expect } from "chai";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { createWalletWebApp, listenOn, type Listening } from "@realname/agent";
import { startService, type ServiceProcess } from "../../scripts/lib/devnet.js";
import { auditPage, CHROMIUM, screenshot } from "../helpers/browser.js";
import { PaymentsHarness, PEOPLE, portrait } from "../helpers/payments-harness.js";

/** 1 m ≈ 9e-6° of latitude. */
const SHOP = { latitude: 31.2304, longitude: 121.4737 };
const north = (m: number) => ({ latitude: SHOP.latitude + m * 9e-6, longitude: SHOP.longitude, accuracy: 5 });

/**
 * A fake camera that films one face: an MJPEG file (concatenated JPEG frames, which Chromium's file capture
 * device reads) made from a real portrait fixture. Chromium serves it to getUserMedia.
 */
async function fakeCamera(dir: string, face: string): Promise<string> {
  const frame = await sharp(portrait(face)).resize(240, 300).jpeg({ quality: 90 }).toBuffer();
  const file = join(dir, `${face}.mjpeg`);
  writeFileSync(file, Buffer.concat(Array.from({ length: 30 }, () => frame)));
  return file;
}

async function launchWithCamera(file: string): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync", "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream", `--use-file-for-fake-video-capture=${file}`],
  });
}

describe("In-person payments in Chromium: POS page, wallet peers with emulated positions and a fake camera", function () {
  this.timeout(240_000);
  let h: PaymentsHarness;
  let work: string;
  let walletWeb: Listening;
  let shop: ServiceProcess;
  let payerCam: Browser;
  let impostorCam: Browser;
  const contexts: BrowserContext[] = [];

  async function open(browser: Browser, url: string, at: ReturnType<typeof north>): Promise<{ page: Page; context: BrowserContext }> {
    const context = await browser.newContext({ geolocation: at, permissions: ["geolocation", "camera"], viewport: { width: 420, height: 900 } });
    contexts.push(context);
    const page = await context.newPage();
    await page.goto(url);
    await page.waitForSelector("[data-ready='1']");
    return { page, context };
  }
  const terminalOf = async (page: Page, prefix: "nearby" | "pos") => ({
    terminalId: (await page.textContent(`#${prefix}-terminal-id`))!,
    publicJwk: JSON.parse((await page.textContent(`#${prefix}-terminal-jwk`))!),
  });
  /** A wallet page enrolled as a first terminal of `person`, reporting its position (waits for an accepted report). */
  async function walletPage(browser: Browser, at: ReturnType<typeof north>, person: keyof typeof PEOPLE, optIn: boolean) {
    const w = await open(browser, `${walletWeb.url}/nearby`, at);
    const t = await terminalOf(w.page, "nearby");
    const r = await h.admin("/admin/payments/terminals", { kind: "first", ...t, label: "phone", idNumber: PEOPLE[person], pin: "2468", peerOptIn: optIn });
    expect(r.status, JSON.stringify(r.body)).to.equal(201);
    await w.page.waitForSelector("#nearby-reporting[data-code='reporting']", { timeout: 8000 }).catch(async (e) => { throw new Error(`${await w.page.textContent("#nearby-reporting")} ${await w.page.getAttribute("#nearby-reporting", "data-code")} ${e}`); });
    return { ...w, terminalId: t.terminalId };
  }
  async function pay(pos: Page, payerId: string) {
    await pos.fill("#pos-payer", payerId);
    await pos.click("#pos-form button[type=submit]");
  }
  const decision = async (pos: Page) => {
    await pos.waitForSelector("#pos-decision[data-outcome='accepted'], #pos-decision[data-outcome='refused'], #pos-decision[data-outcome^='ERR_']");
    return { outcome: await pos.getAttribute("#pos-decision", "data-outcome"), reasons: await pos.getAttribute("#pos-decision", "data-reasons"), text: await pos.textContent("#pos-decision") };
  };
  async function unlock(payer: Page, pin: string) {
    await payer.fill("#nearby-pin", pin);
    await payer.evaluate(() => document.getElementById("nearby-unlock-state")!.setAttribute("data-code", "waiting"));
    await payer.click("#nearby-unlock button[type=submit]");
    await payer.waitForSelector("#nearby-unlock-state:not([data-code='waiting'])");
    return payer.getAttribute("#nearby-unlock-state", "data-code");
  }

  before(async () => {
    work = mkdtempSync(join(tmpdir(), "in-person-web-"));
    h = await PaymentsHarness.start({ realClock: true });
    const hosts: string[] = [];
    walletWeb = await listenOn(createWalletWebApp({ dir: join(work, "wallet"), rpcUrl: h.chain.url, allowedHosts: () => hosts, payments: { platformUrl: () => h.url } }), "127.0.0.1", 0, hosts);
    // The merchant's real verifier service, its POS page reporting to the platform.
    shop = await startService("verifier-service", {
      DATA_DIR: join(work, "shop"),
      CHAIN_RPC_URL: h.chain.url,
      DEPLOYMENT_FILE: h.deploymentFile,
      ANCHOR_DEV_ACCOUNT: "6",
      MERCHANT_NAME: "Galaxy Books",
      MERCHANT_PASSPHRASE: "pos-shop",
      TRUSTED_ISSUERS: h.audience,
      ISSUER_URL: h.url,
      PAYMENT_PLATFORM_URL: h.url,
    });
    await h.trust.putMerchant({ did: shop.did, name: "Galaxy Books", maxLevel: "verified", purposes: ["payment"], fullClaims: [] } as never);
    payerCam = await launchWithCamera(await fakeCamera(work, "zhang-san-live.jpg"));
    impostorCam = await launchWithCamera(await fakeCamera(work, "impostor-live.jpg"));
  });
  after(async () => {
    for (const c of contexts) await c.close().catch(() => undefined);
    await payerCam?.close();
    await impostorCam?.close();
    await shop?.stop();
    await walletWeb?.close();
    await h?.close();
    rmSync(work, { recursive: true, force: true });
  });

  it("accepts, refuses out of range, on another floor and on another face; an opted-out peer is never asked; the payer unlocks with PIN and face", async () => {
    // Three phones and a till around one shop: the payer, an honest bystander filming the payer, and a till.
    const payer = await walletPage(payerCam, north(0), "zhang", false);
    const bystander = await walletPage(payerCam, north(6), "li", false);
    await bystander.page.click("#nearby-optin");
    await bystander.page.waitForSelector("#nearby-optstate[data-code='true']");
    const till = await open(payerCam, `${shop.url}/pos`, north(2));
    const t = await terminalOf(till.page, "pos");
    expect((await h.admin("/admin/payments/terminals", { kind: "second", ...t, label: "till 1", merchantDid: shop.did, peerOptIn: false })).status).to.equal(201);

    // 1. Within range, same floor, the bystander's camera sees the payer: accepted.
    await pay(till.page, payer.terminalId);
    const request = bystander.page.locator("#nearby-requests li");
    await request.waitFor();
    expect(await request.textContent()).to.include("Galaxy Books");
    await screenshot(bystander.page, "in-person-peer-request");
    await request.locator("button.confirm").click();
    await bystander.page.waitForSelector("#nearby-answer-state[data-code='sent']");
    expect(await decision(till.page)).to.include({ outcome: "accepted" });
    await screenshot(till.page, "in-person-pos-accepted");

    // 2. A till of the shop 40 m away from the payer: refused, the payer locked, the merchant told. (A till that
    // reports its position every second cannot be moved 40 m at once: the platform would refuse that as an
    // impossible jump. This is another till, standing there.)
    const farTill = await open(payerCam, `${shop.url}/pos`, north(40));
    const farId = await terminalOf(farTill.page, "pos");
    expect((await h.admin("/admin/payments/terminals", { kind: "second", ...farId, label: "till by the door", merchantDid: shop.did, peerOptIn: false })).status).to.equal(201);
    await farTill.page.waitForSelector("#pos-reporting[data-code='reporting']", { timeout: 8000 });
    await pay(farTill.page, payer.terminalId);
    const far = await decision(farTill.page);
    expect(far).to.include({ outcome: "refused", reasons: "ERR_OUT_OF_RANGE" });
    expect(far.text).to.include("locked");
    await pay(till.page, payer.terminalId);
    expect((await decision(till.page)).outcome).to.equal("ERR_PAYMENT_LOCKED");
    // Unlock: a wrong PIN does not; the right PIN and the payer's own face do.
    expect(await unlock(payer.page, "0000")).to.equal("ERR_PIN_INVALID");
    expect(await unlock(payer.page, "2468")).to.equal("unlocked");

    // 3. At the near till, but the payer declares the floor above: refused.
    await payer.page.fill("#nearby-floor", "1");
    await payer.page.waitForFunction((n) => Number(document.getElementById("nearby")!.getAttribute("data-reports")) > n + 1, Number(await payer.page.getAttribute("#nearby", "data-reports")));
    await pay(till.page, payer.terminalId);
    expect(await decision(till.page)).to.include({ outcome: "refused", reasons: "ERR_OTHER_FLOOR" });
    expect(await unlock(payer.page, "2468")).to.equal("unlocked");
    await payer.page.fill("#nearby-floor", "0");
    await payer.page.waitForFunction((n) => Number(document.getElementById("nearby")!.getAttribute("data-reports")) > n + 1, Number(await payer.page.getAttribute("#nearby", "data-reports")));

    // 4. The honest bystander opts out; a phone whose camera sees another face is the only peer: refused.
    await bystander.page.click("#nearby-optout");
    await bystander.page.waitForSelector("#nearby-optstate[data-code='false']");
    const deceived = await walletPage(impostorCam, north(4), "li", true);
    await pay(till.page, payer.terminalId);
    const wrong = deceived.page.locator("#nearby-requests li");
    await wrong.waitFor();
    await wrong.locator("button.confirm").click();
    expect(await decision(till.page)).to.include({ outcome: "refused", reasons: "ERR_PEER_FACE_MISMATCH" });
    // The opted-out bystander was never asked (it kept reporting its position all along).
    expect(Number(await bystander.page.getAttribute("#nearby", "data-reports"))).to.be.greaterThan(3);
    expect(await bystander.page.locator("#nearby-requests li").count()).to.equal(0);
    await screenshot(till.page, "in-person-pos-refused");
    // Both pages read on a phone: nothing wider than the screen, every field labelled.
    for (const page of [till.page, payer.page]) expect(await auditPage(page)).to.deep.equal({ overflowX: 0, unlabelled: [] });

    // 5. No wallet near the payer takes part any more: the platform asks the tills nearby that opted in.
    expect(await unlock(payer.page, "2468")).to.equal("unlocked");
    await deceived.page.click("#nearby-optout");
    await deceived.page.waitForSelector("#nearby-optstate[data-code='false']");
    const enrolTill = async (browser: Browser, at: ReturnType<typeof north>, label: string) => {
      const page = await open(browser, `${shop.url}/pos`, at);
      const id = await terminalOf(page.page, "pos");
      expect((await h.admin("/admin/payments/terminals", { kind: "second", ...id, label, merchantDid: shop.did, peerOptIn: false })).status).to.equal(201);
      await page.page.waitForSelector("#pos-reporting[data-code='reporting']", { timeout: 8000 });
      return page;
    };
    const seesPayer = await enrolTill(payerCam, north(3), "till 2");
    const seesOther = await enrolTill(impostorCam, north(5), "till 3");
    const optTill = async (page: Page, how: "optin" | "optout") => {
      await page.click(`#pos-${how}`);
      await page.waitForSelector(`#pos-optstate[data-code='${how === "optin"}']`);
    };
    // 5a. Till 2 (its camera sees the payer) opted in, till 3 not: only till 2 is asked; it confirms: accepted.
    await optTill(seesPayer.page, "optin");
    await pay(till.page, payer.terminalId);
    const asked = seesPayer.page.locator("#pos-requests li");
    await asked.waitFor();
    expect(await asked.textContent()).to.include("Galaxy Books");
    await screenshot(seesPayer.page, "in-person-pos-as-peer");
    await asked.locator("button.confirm").click();
    await seesPayer.page.waitForSelector("#pos-answer-state[data-code='sent']");
    expect(await decision(till.page)).to.include({ outcome: "accepted" });
    expect(await seesOther.page.locator("#pos-requests li").count(), "an opted-out till is never asked").to.equal(0);
    // 5b. Till 2 opts out, till 3 (its camera sees someone else) opts in and confirms what it sees: refused.
    await optTill(seesPayer.page, "optout");
    await optTill(seesOther.page, "optin");
    await pay(till.page, payer.terminalId);
    const other = seesOther.page.locator("#pos-requests li");
    await other.waitFor();
    await other.locator("button.confirm").click();
    expect(await decision(till.page)).to.include({ outcome: "refused", reasons: "ERR_PEER_FACE_MISMATCH" });
    expect(await seesPayer.page.locator("#pos-requests li").count()).to.equal(0);
    expect(await auditPage(seesPayer.page)).to.deep.equal({ overflowX: 0, unlabelled: [] });
  });

  it("the POS and nearby pages speak Chinese by default and English on request; the script's words come from the page", async () => {
    const zh = await fetch(`${shop.url}/pos`).then((r) => r.text());
    expect(zh).to.include('<html lang="zh-CN">').and.include("当面付款").and.include("开始付款");
    expect(zh).to.include("付款人的手机在另一楼层"); // the refusal words the script shows, in data-words
    const en = await fetch(`${shop.url}/pos?lang=en`).then((r) => r.text());
    expect(en).to.include('<html lang="en">').and.include("Start payment").and.not.include("开始付款");
    const nearbyZh = await fetch(`${walletWeb.url}/nearby`, { headers: { host: new URL(walletWeb.url).host } }).then((r) => r.text());
    expect(nearbyZh).to.include('<html lang="zh-CN">').and.include("协助核验附近的付款人");
  });

  it("the POS relay forwards only the platform's terminal calls, and the platform's refusals with their codes", async () => {
    const post = (path: string, body: unknown) => fetch(`${shop.url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    const forged = await post("/pos/api/in-person", { message: "eyJhbGciOiJFUzI1NiJ9.e30.AAAA" });
    expect(forged.status).to.equal(400);
    expect(((await forged.json()) as { error: { code: string } }).error.code).to.equal("ERR_TERMINAL_SIGNATURE");
    const unsignedStatus = await post("/pos/api/in-person/status", { message: "eyJhbGciOiJFUzI1NiJ9.e30.AAAA" });
    expect(((await unsignedStatus.json()) as { error: { code: string } }).error.code).to.equal("ERR_TERMINAL_SIGNATURE");
    expect((await fetch(`${shop.url}/pos/api/in-person/${crypto.randomUUID()}`)).status).to.equal(404);
    expect((await post("/pos/api/admin/payments/terminals", {})).status).to.equal(404);
    // Each page relays only its own terminal's calls: a till unlocks no wallet, a wallet starts no payment.
    expect((await post("/pos/api/unlock", {})).status).to.equal(404);
    expect((await fetch(`${walletWeb.url}/nearby/api/in-person`, { method: "POST", headers: { "content-type": "application/json", origin: walletWeb.url }, body: "{}" })).status).to.equal(404);
    expect((await fetch(`${shop.url}/pos/api/platform`).then((r) => r.json()) as { audience: string }).audience).to.equal(h.audience);
  });
});
