import { expect } from "chai";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import type { Browser, Page } from "playwright-core";
import { fetchJson, HolderWallet, REPO_ROOT, serveWalletWeb, type Listening } from "@realname/agent";
import { chainWithRegistry } from "../helpers/chain.js";
import { launchChromium, screenshot, visibleText } from "../helpers/browser.js";
import { freePort, startService, type EmbeddedChain, type ServiceProcess } from "../../scripts/lib/devnet.js";

const PIN = "864200";
const ADMIN_TOKEN = "regweb-admin-token-0123456789";
const PERSON = { fullName: "张三", idNumber: "110105199003071239", live: join(REPO_ROOT, "issuer-service", "fixtures", "portraits", "zhang-san-live.jpg") };
const OFFER = { id: "adult", title: "Buy an age-restricted book", level: "verified", purpose: "regweb verified adult", retentionDays: 0, claims: [], ageOver18: true };

/**
 * A fake camera filming 张三: an MJPEG file (concatenated JPEG frames, which Chromium's file capture device
 * reads) made from the real live-capture fixture. Every frame is the same picture: a still, not a person.
 */
async function fakeCamera(dir: string): Promise<string> {
  const frame = await sharp(readFileSync(PERSON.live)).resize(240, 300).jpeg({ quality: 90 }).toBuffer();
  const file = join(dir, "zhang-san.mjpeg");
  writeFileSync(file, Buffer.concat(Array.from({ length: 30 }, () => frame)));
  return file;
}

/**
 * Registration in the web wallet, driven in Chromium with a fake camera, from a merchant's request: the
 * person without credentials is taken through /register (camera with the issuer's challenge, details,
 * masked confirmation, credentials) and straight back to that request, then shares. Over a real chain, a
 * real issuer with its face model and a real merchant service.
 */
describe("Web wallet registration in Chromium with a fake camera (merchant-initiated)", function () {
  this.timeout(240_000);
  let chain: EmbeddedChain;
  let issuer: ServiceProcess;
  /** The same issuer software with REQUIRE_LIVENESS=1: the active challenge is mandatory there. */
  let strictIssuer: ServiceProcess;
  let shop: ServiceProcess;
  let walletWeb: Listening;
  let stillWeb: Listening;
  let browser: Browser;
  let work: string;

  const admin = (path: string, body: unknown, method = "POST", at = issuer) => fetchJson(`${at.url}${path}`, { method, body, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  /** A new wallet (no credential) whose capture-device key the issuer's admin enrols, as for a kiosk. */
  async function newWallet(name: string, at = issuer): Promise<string> {
    const dir = join(work, name);
    const wallet = await HolderWallet.open({ dir, pin: PIN });
    await wallet.init();
    await admin("/admin/devices", { deviceId: name, label: `web wallet ${name}`, publicJwk: (await wallet.deviceKey()).publicJwk }, "POST", at);
    await wallet.close();
    return dir;
  }

  before(async () => {
    work = mkdtempSync(join(tmpdir(), "regweb-"));
    const c = await chainWithRegistry();
    chain = c.chain;
    issuer = await startService("issuer-service", {
      DATA_DIR: join(work, "issuer"),
      CHAIN_RPC_URL: chain.url,
      DEPLOYMENT_FILE: c.deploymentFile,
      ISSUER_PASSPHRASE: "regweb-issuer",
      ISSUER_DATA_KEY: "33".repeat(32),
      ADMIN_TOKEN,
      ANCHOR_DEV_ACCOUNT: "2",
    });
    strictIssuer = await startService("issuer-service", {
      DATA_DIR: join(work, "strict-issuer"),
      CHAIN_RPC_URL: chain.url,
      DEPLOYMENT_FILE: c.deploymentFile,
      ISSUER_PASSPHRASE: "regweb-strict",
      ISSUER_DATA_KEY: "44".repeat(32),
      ADMIN_TOKEN,
      ANCHOR_DEV_ACCOUNT: "3",
      REQUIRE_LIVENESS: "1",
    });
    const walletPort = await freePort();
    shop = await startService("verifier-service", {
      DATA_DIR: join(work, "shop"),
      CHAIN_RPC_URL: chain.url,
      DEPLOYMENT_FILE: c.deploymentFile,
      ANCHOR_DEV_ACCOUNT: "1",
      MERCHANT_NAME: "星河书店 Galaxy Books",
      MERCHANT_PASSPHRASE: "regweb-shop",
      TRUSTED_ISSUERS: issuer.did,
      ISSUER_URL: issuer.url,
      ANCHOR_BATCH_AGE_MS: "300",
      CHECKOUT_OFFERS: JSON.stringify([OFFER]),
      WALLET_WEB_URL: `http://127.0.0.1:${walletPort}`,
    });
    await admin("/admin/merchants", { did: shop.did, name: "星河书店 Galaxy Books", maxLevel: "full", purposes: [OFFER.purpose], fullClaims: [], origins: [new URL(shop.url).origin] }, "PUT");

    walletWeb = await serveWalletWeb({ dir: await newWallet("web-wallet"), rpcUrl: chain.url, port: walletPort, registration: { issuerUrl: () => issuer.url, deviceId: "web-wallet", batchSize: 3 } });
    // A second wallet, registering with the strict issuer: it sends the filmed frames for the active challenge.
    stillWeb = await serveWalletWeb({ dir: await newWallet("still-wallet", strictIssuer), rpcUrl: chain.url, registration: { issuerUrl: () => strictIssuer.url, deviceId: "still-wallet", batchSize: 3, sendFrames: true } });
    browser = await launchChromium({ extraArgs: ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream", `--use-file-for-fake-video-capture=${await fakeCamera(work)}`] });
  });

  after(async () => {
    await browser?.close();
    await walletWeb?.close();
    await stillWeb?.close();
    await Promise.allSettled([issuer, strictIssuer, shop].filter(Boolean).map((s) => s.stop()));
    await chain?.close();
    rmSync(work, { recursive: true, force: true });
  });

  async function unlockedAt(url: string): Promise<Page> {
    const page = await (await browser.newContext({ viewport: { width: 420, height: 900 } })).newPage();
    await page.goto(`${url}/register`);
    await page.getByLabel("Wallet PIN").fill(PIN);
    await page.getByRole("button", { name: "Unlock" }).click();
    await page.getByRole("heading", { name: "Register your identity" }).waitFor();
    return page;
  }

  async function film(page: Page): Promise<void> {
    await page.getByRole("button", { name: "Start the camera and film" }).click();
    // Filmed, or the page said why not (a camera that did not open): never a bare timeout. A loaded machine
    // (two test files with Chromium at once) may take long to start the fake camera.
    await page.locator("#register[data-filmed], #register-error:not([data-code=''])").first().waitFor({ state: "attached", timeout: 90_000 });
    const refused = await page.locator("#register-error").getAttribute("data-code");
    if (refused) throw new Error(`filming failed: ${refused} ${await page.locator("#register-error").textContent()}`);
  }

  /** The page's own route, as its script calls it (same origin, the session's token): returns status and body. */
  async function submitFromPage(page: Page, body: Record<string, unknown>): Promise<{ status: number; body: { error?: { code: string } } }> {
    return page.evaluate(async (b) => {
      const root = document.getElementById("register")!;
      const r = await fetch("/register/submit", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ csrf: root.getAttribute("data-csrf"), ...b }) });
      return { status: r.status, body: await r.json() };
    }, body);
  }

  it("bad input on the page's route: a wrong ID number format and a picture without a face get their codes; nothing is stored", async () => {
    const page = await unlockedAt(walletWeb.url);
    const face = readFileSync(PERSON.live).toString("base64");
    const wrongId = await submitFromPage(page, { fullName: PERSON.fullName, idNumber: "11010519900307123", portrait: face });
    expect(wrongId.status).to.equal(400);
    expect(wrongId.body.error?.code).to.equal("ERR_ID_NUMBER_INVALID");
    const badCheckDigit = await submitFromPage(page, { fullName: PERSON.fullName, idNumber: "110105199003071230", portrait: face });
    expect(badCheckDigit.body.error?.code).to.equal("ERR_ID_NUMBER_INVALID");
    const blank = (await sharp({ create: { width: 240, height: 300, channels: 3, background: { r: 200, g: 200, b: 200 } } }).jpeg().toBuffer()).toString("base64");
    const noFace = await submitFromPage(page, { fullName: PERSON.fullName, idNumber: PERSON.idNumber, portrait: blank });
    expect(noFace.status).to.equal(422);
    expect(noFace.body.error?.code).to.equal("ERR_FACE_NOT_FOUND");
    const notBase64 = await submitFromPage(page, { fullName: PERSON.fullName, idNumber: PERSON.idNumber, portrait: "<html>" });
    expect(notBase64.body.error?.code).to.equal("ERR_INVALID_INPUT");
    const oversized = await submitFromPage(page, { fullName: PERSON.fullName, idNumber: PERSON.idNumber, portrait: face, frames: Array.from({ length: 8 }, () => "A".repeat(1_800_000)) });
    expect(oversized.body.error?.code).to.equal("ERR_BODY_TOO_LARGE");
    // Nothing waits for a confirmation, and the wallet holds no credential.
    const confirm = await page.evaluate(async () => (await fetch("/register/confirm", { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: `csrf=${encodeURIComponent(document.getElementById("register")!.getAttribute("data-csrf")!)}` })).status);
    expect(confirm).to.equal(404);
    await page.goto(walletWeb.url);
    expect(await visibleText(page)).to.contain("Your wallet holds no identity credential yet.");
    await page.context().close();
  });

  it("face-first from a device the issuer does not trust yet: details left empty, the issuer asks for them in words; nothing issued", async () => {
    const page = await unlockedAt(walletWeb.url);
    await film(page);
    await page.getByRole("button", { name: "Send to the identity issuer" }).click();
    await page.locator("#register-error:not([data-code=''])").waitFor();
    expect(await page.locator("#register-error").getAttribute("data-code")).to.equal("ERR_IDENTITY_ITEMS_REQUIRED");
    expect(await page.locator("#register-error").textContent()).to.match(/name and ID number/);
    expect(await page.locator("#register-confirm").isHidden()).to.equal(true);
    // Only one of the two: refused at the wallet's edge, nothing sent to the issuer.
    await page.getByLabel(/Full name/).fill(PERSON.fullName);
    await page.getByRole("button", { name: "Send to the identity issuer" }).click();
    await page.locator("#register-error[data-code='ERR_INVALID_INPUT']").waitFor();
    await page.context().close();
  });

  it("REQUIRE_LIVENESS=1: the fake camera's still sequence fails the active challenge with a liveness code; nothing issued", async () => {
    const page = await unlockedAt(stillWeb.url);
    await film(page);
    await page.getByLabel(/Full name/).fill(PERSON.fullName);
    await page.getByLabel(/Resident ID number/).fill(PERSON.idNumber);
    await page.getByRole("button", { name: "Send to the identity issuer" }).click();
    await page.locator("#register-error:not([data-code=''])").waitFor();
    expect(await page.locator("#register-error").getAttribute("data-code")).to.match(/^ERR_LIVENESS_/);
    expect(await page.locator("#register-confirm").isHidden()).to.equal(true);
    await screenshot(page, "register-still-refused");
    await page.goto(stillWeb.url);
    expect(await visibleText(page)).to.contain("Your wallet holds no identity credential yet.");
    await page.context().close();
  });

  it("from a merchant's request without credentials: register with the camera, confirm the masked identity, back on the request, share", async () => {
    const context = await browser.newContext({ viewport: { width: 420, height: 900 } });
    const shopPage = await context.newPage();
    await shopPage.goto(`${shop.url}/checkout`);
    await shopPage.getByLabel(new RegExp(OFFER.title)).check();
    await shopPage.getByRole("button", { name: "Ask my wallet" }).click();
    await shopPage.getByRole("heading", { name: "Answer with your wallet" }).waitFor();
    const [page] = await Promise.all([context.waitForEvent("page"), shopPage.getByRole("link", { name: "Open in your web wallet" }).click()]);
    await page.getByRole("heading", { name: "A merchant's request" }).waitFor();
    await page.getByRole("button", { name: "Review the request" }).click();
    // No "register first" dead end: the registration page (after the PIN), saying why.
    await page.getByLabel("Wallet PIN").fill(PIN);
    await page.getByRole("button", { name: "Unlock" }).click();
    await page.getByRole("heading", { name: "Register your identity" }).waitFor();
    expect(new URL(page.url()).pathname).to.equal("/register");
    expect(await visibleText(page)).to.contain("you go straight back to the merchant's request");
    const prompts = await page.locator("#register-actions li").allInnerTexts();
    expect(prompts.length).to.be.greaterThan(0);
    await screenshot(page, "register-challenge");
    await film(page);
    await page.getByLabel(/Full name/).fill(PERSON.fullName);
    await page.getByLabel(/Resident ID number/).fill(PERSON.idNumber);
    await page.getByRole("button", { name: "Send to the identity issuer" }).click();
    await page.getByRole("heading", { name: "3. Is this you?" }).waitFor({ timeout: 120_000 });
    expect(await page.locator("#register-masked-id").innerText()).to.match(/^1101\*+1239$/);
    expect(await page.locator("#register-masked-id").innerText()).to.not.contain(PERSON.idNumber);
    await screenshot(page, "register-masked");
    await page.getByRole("button", { name: /Yes, this is me/ }).click();
    // Straight back to the merchant's request, what it asks for shown with the person's values.
    await page.getByRole("heading", { name: /星河书店 Galaxy Books asks for/ }).waitFor({ timeout: 60_000 });
    const consent = await visibleText(page);
    expect(consent).to.contain("Exactly what would leave your wallet");
    await screenshot(page, "register-back-on-request");
    await page.getByLabel("Confirm with your wallet PIN").fill(PIN);
    await page.getByRole("button", { name: "Share exactly this" }).click();
    await page.getByRole("heading", { name: /Shared with 星河书店 Galaxy Books/ }).waitFor();
    // The wallet's home: the credentials.
    await page.goto(walletWeb.url);
    const home = await visibleText(page);
    expect(home).to.contain("张三");
    expect(home).to.match(/3 credentials, 2 not yet shown/);
    await context.close();
  });
});
