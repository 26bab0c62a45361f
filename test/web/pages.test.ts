import { expect } from "chai";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { createNotaryConsoleApp, fetchJson, HolderWallet, listenOn, loadTrustAnchors, REPO_ROOT, serveWalletWeb, type Listening } from "@realname/agent";
import { chainWithRegistry } from "../helpers/chain.js";
import { auditPage, launchChromium, screenshot, SCREENSHOTS, visibleText } from "../helpers/browser.js";
import { freePort, startService, type EmbeddedChain, type ServiceProcess } from "../../scripts/lib/devnet.js";

const PIN = "975310";
const ADMIN_TOKEN = "web-admin-token-0123456789";
const PERSON = { fullName: "张三", idNumber: "110105199003071239", portrait: readFileSync(join(REPO_ROOT, "issuer-service", "fixtures", "portraits", "zhang-san-live.jpg")) };
const OFFERS = [
  { id: "adult", title: "Buy an age-restricted book", level: "verified", purpose: "web verified adult", retentionDays: 0, claims: [], ageOver18: true },
  { id: "member", title: "Join the readers' club", level: "pseudonymous", purpose: "web member account", retentionDays: 365, claims: [], ageOver18: false },
  { id: "invoice", title: "Get an invoice in your legal name", level: "full", purpose: "web invoice", retentionDays: 180, claims: ["full_name"], ageOver18: false },
];

/**
 * The three web faces driven in Debian's Chromium, as people use them: a merchant's checkout, the
 * person's wallet page, the notary's console; over a real chain, a real issuer and real merchant services.
 */
describe("Web pages in a real browser: checkout, wallet, notary console", function () {
  this.timeout(180_000);
  let chain: EmbeddedChain;
  let issuer: ServiceProcess;
  let shop: ServiceProcess;
  let stranger: ServiceProcess;
  let walletWeb: Listening;
  let notary: Listening;
  let browser: Browser;
  let context: BrowserContext;
  let work: string;
  const requested: string[] = [];
  let evidenceFile = "";

  before(async () => {
    work = mkdtempSync(join(tmpdir(), "web-"));
    const c = await chainWithRegistry();
    chain = c.chain;
    issuer = await startService("issuer-service", {
      DATA_DIR: join(work, "issuer"),
      CHAIN_RPC_URL: chain.url,
      DEPLOYMENT_FILE: c.deploymentFile,
      ISSUER_PASSPHRASE: "web-issuer",
      ISSUER_DATA_KEY: "22".repeat(32),
      ADMIN_TOKEN,
      ANCHOR_DEV_ACCOUNT: "2",
    });
    const walletPort = await freePort();
    const verifierEnv = (key: string, account: string, name: string) => ({
      DATA_DIR: join(work, key),
      CHAIN_RPC_URL: chain.url,
      DEPLOYMENT_FILE: c.deploymentFile,
      ANCHOR_DEV_ACCOUNT: account,
      MERCHANT_NAME: name,
      MERCHANT_PASSPHRASE: `web-${key}`,
      TRUSTED_ISSUERS: issuer.did,
      ISSUER_URL: issuer.url,
      ANCHOR_BATCH_AGE_MS: "300",
      CHECKOUT_OFFERS: JSON.stringify(OFFERS),
      WALLET_WEB_URL: `http://127.0.0.1:${walletPort}`,
    });
    [shop, stranger] = await Promise.all([
      startService("verifier-service", verifierEnv("shop", "1", "星河书店 Galaxy Books")),
      startService("verifier-service", verifierEnv("stranger", "3", "Unregistered Shop")),
    ]);
    // Only the bookshop is registered by the platform; the stranger is not.
    await admin("/admin/merchants", { did: shop.did, name: "星河书店 Galaxy Books", maxLevel: "full", purposes: OFFERS.map((o) => o.purpose), fullClaims: ["full_name", "birth_date"], origins: [new URL(shop.url).origin] }, "PUT");

    const walletDir = join(work, "wallet");
    const wallet = await HolderWallet.open({ dir: walletDir, pin: PIN });
    await wallet.init();
    await admin("/admin/devices", { deviceId: "web-phone", label: "web test phone", publicJwk: (await wallet.deviceKey()).publicJwk });
    await wallet.register(issuer.url, PERSON, { deviceId: "web-phone", batchSize: 3, confirm: async () => true });
    await wallet.close();

    walletWeb = await serveWalletWeb({ dir: walletDir, rpcUrl: chain.url, port: walletPort });
    const hosts: string[] = [];
    // The console's trust anchors: the test deployment and the issuer (never what an uploaded bundle names).
    const trust = loadTrustAnchors({ deploymentFile: c.deploymentFile, rpcUrl: chain.url, issuers: [issuer.did] });
    notary = await listenOn(createNotaryConsoleApp({ rpcUrl: chain.url, trust, allowedHosts: () => hosts }), "127.0.0.1", 0, hosts);

    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1000, height: 900 }, acceptDownloads: true });
    context.on("request", (r) => requested.push(r.url()));
    rmSync(SCREENSHOTS, { recursive: true, force: true });
  });

  after(async () => {
    await browser?.close();
    await walletWeb?.close();
    await notary?.close();
    await Promise.allSettled([issuer, shop, stranger].filter(Boolean).map((s) => s.stop()));
    await chain?.close();
    rmSync(work, { recursive: true, force: true });
  });

  const admin = (path: string, body: unknown, method = "POST") => fetchJson(`${issuer.url}${path}`, { method, body, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });

  /** At the checkout: pick an offer, ask; the wallet opens in a new tab from "Open in your web wallet". */
  async function checkout(offerTitle: RegExp): Promise<{ shopPage: Page; walletPage: Page }> {
    const shopPage = await context.newPage();
    await shopPage.goto(`${shop.url}/checkout`);
    await shopPage.getByLabel(offerTitle).check();
    await shopPage.getByRole("button", { name: "Ask my wallet" }).click();
    await shopPage.getByRole("heading", { name: "Answer with your wallet" }).waitFor();
    const [walletPage] = await Promise.all([context.waitForEvent("page"), shopPage.getByRole("link", { name: "Open in your web wallet" }).click()]);
    await reviewRequest(walletPage);
    return { shopPage, walletPage };
  }

  /**
   * The wallet's /authorize page fetches nothing (any site can open it): it shows the link and a button; the
   * person's click fetches the merchant's request, checks it and shows it.
   */
  async function reviewRequest(walletPage: Page): Promise<void> {
    await walletPage.getByRole("heading", { name: "A merchant's request" }).waitFor();
    expect(await visibleText(walletPage)).to.contain("Your wallet has not contacted anyone yet.");
    await walletPage.getByRole("button", { name: "Review the request" }).click();
    await walletPage.waitForLoadState();
  }

  it("the wallet page stays locked until the PIN; a wrong PIN is refused in words", async () => {
    const page = await context.newPage();
    await page.goto(walletWeb.url);
    await page.getByRole("heading", { name: "Unlock your wallet" }).waitFor();
    await screenshot(page, "wallet-locked");
    await page.getByLabel("Wallet PIN").fill("000000");
    await page.getByRole("button", { name: "Unlock" }).click();
    expect(await visibleText(page)).to.contain("The PIN is wrong.");
    expect(await visibleText(page)).to.not.match(/ERR_/);
    expect(await page.locator("main").getAttribute("data-error-code")).to.equal("ERR_WRONG_PASSPHRASE");
    await screenshot(page, "wallet-wrong-pin");
    await page.goto(walletWeb.url);
    await page.getByLabel("Wallet PIN").fill(PIN);
    await page.getByRole("button", { name: "Unlock" }).click();
    const text = await visibleText(page);
    expect(text).to.contain("张三");
    expect(text).to.contain("1101**********1239");
    expect(text).to.contain("3 credentials, 3 not yet shown to any merchant");
    await screenshot(page, "wallet-credentials");
    await page.close();
  });

  it("verified: chosen at the checkout with the keyboard alone, answered in the wallet, shown to the merchant", async () => {
    const shopPage = await context.newPage();
    await shopPage.goto(`${shop.url}/checkout`);
    await screenshot(shopPage, "checkout-offers");
    // Keyboard only: the first offer's radio, then the submit button.
    await shopPage.keyboard.press("Tab"); // skip link
    await shopPage.keyboard.press("Tab"); // nav link
    await shopPage.keyboard.press("Tab"); // the language switch (中文 / English)
    await shopPage.keyboard.press("Tab"); // the radio group
    expect(await shopPage.evaluate(() => (document.activeElement as HTMLInputElement).value)).to.equal("adult");
    await shopPage.keyboard.press("Tab");
    expect(await shopPage.evaluate(() => document.activeElement?.textContent)).to.equal("Ask my wallet");
    await shopPage.keyboard.press("Enter");
    await shopPage.getByRole("heading", { name: "Answer with your wallet" }).waitFor();
    expect(await shopPage.locator("img.qr").getAttribute("src")).to.match(/^data:image\/png;base64,/);
    // The link itself sits folded under "paste this link" (phones use "Open wallet", desktops the QR code).
    expect(await shopPage.locator("#request-link").textContent()).to.match(/^openid4vp:\/\/\?client_id=/);
    expect(await shopPage.locator("#open-wallet").getAttribute("href")).to.match(/^openid4vp:\/\/\?client_id=/);
    await screenshot(shopPage, "checkout-waiting");
    const [walletPage] = await Promise.all([context.waitForEvent("page"), shopPage.getByRole("link", { name: "Open in your web wallet" }).click()]);
    await screenshot(walletPage, "wallet-review-request");
    await reviewRequest(walletPage);
    await walletPage.getByRole("heading", { name: /asks for: Verified only/ }).waitFor();
    const consent = await visibleText(walletPage);
    expect(consent).to.contain("Real-name verified: yes");
    expect(consent).to.contain("Over 18: yes");
    expect(consent).to.match(/Stays in your wallet: .*Full name.*Resident ID number/);
    expect(consent).to.not.contain("张三");
    await screenshot(walletPage, "wallet-consent-verified");
    await walletPage.getByLabel("Confirm with your wallet PIN").fill(PIN);
    await walletPage.getByLabel("Confirm with your wallet PIN").press("Enter");
    await walletPage.getByRole("heading", { name: /Shared with/ }).waitFor();
    await screenshot(walletPage, "wallet-shared-verified");
    // The checkout page notices the answer by itself (its script polls): the level, never what was shared
    // (the browser that opened a checkout need not be the one of the person who answered).
    await shopPage.getByRole("heading", { name: "Answer received" }).waitFor({ timeout: 15_000 });
    const answered = await visibleText(shopPage);
    expect(answered).to.contain("Your wallet answered: Verified only").and.contain("What we checked");
    expect(answered).to.not.match(/Real-name verified\s+yes/);
    await screenshot(shopPage, "checkout-answered-verified");
    // The wallet sends the person back with its one-time response code: that page shows what arrived.
    await walletPage.getByRole("link", { name: /^Back to / }).click();
    await walletPage.getByRole("heading", { name: /Thank you/ }).waitFor();
    const received = await visibleText(walletPage);
    expect(received).to.match(/Real-name verified\s+yes/);
    expect(received).to.match(/Over 18\s+yes/);
    // What the shop checked, in words, before accepting.
    expect(received).to.contain("What we checked").and.contain("has not been revoked").and.contain("Your consent was signed");
    expect(received).to.not.contain("张三");
    await screenshot(walletPage, "checkout-received-verified");
    await Promise.all([shopPage.close(), walletPage.close()]);
  });

  it("pseudonymous: a new member, remembered, then welcomed back: the choice pre-selected, still confirmed with the PIN", async () => {
    let { shopPage, walletPage } = await checkout(/Join the readers' club/);
    expect(await visibleText(walletPage)).to.match(/A pseudonym for 星河书店 Galaxy Books only: did:key:/);
    // The issuer-signed member number leaves the wallet too, so the person sees it before sharing.
    expect(await visibleText(walletPage)).to.match(/Your member number there, from the platform: \S+/);
    await walletPage.getByLabel("Confirm with your wallet PIN").fill(PIN);
    await walletPage.getByLabel(/Remember this choice/).check();
    await walletPage.getByRole("button", { name: "Share exactly this" }).click();
    await walletPage.getByRole("heading", { name: /Shared with/ }).waitFor();
    await shopPage.getByRole("heading", { name: "Answer received" }).waitFor({ timeout: 15_000 });
    expect(await visibleText(shopPage)).to.not.match(/member account|did:key/);
    await walletPage.getByRole("link", { name: /^Back to / }).click();
    await walletPage.getByRole("heading", { name: "Thank you" }).waitFor();
    expect(await visibleText(walletPage)).to.match(/Your member account at .+ is open/);
    await screenshot(walletPage, "checkout-new-member");
    await Promise.all([shopPage.close(), walletPage.close()]);

    ({ shopPage, walletPage } = await checkout(/Join the readers' club/));
    // The remembered choice is pre-selected; a pseudonymous answer still needs the PIN (one tap is for "verified" only).
    expect(await visibleText(walletPage)).to.contain("Pre-selected from the choice you remembered for this merchant.");
    expect(await walletPage.getByLabel(/Remember this choice/).isChecked()).to.equal(true);
    await walletPage.getByLabel("Confirm with your wallet PIN").fill(PIN);
    await walletPage.getByRole("button", { name: "Share exactly this" }).click();
    await walletPage.getByRole("heading", { name: /Shared with/ }).waitFor();
    await shopPage.getByRole("heading", { name: "Answer received" }).waitFor({ timeout: 15_000 });
    await walletPage.getByRole("link", { name: /^Back to / }).click();
    await walletPage.getByRole("heading", { name: "Welcome back" }).waitFor();
    // Greeted as a member, never by a DID.
    expect(await visibleText(walletPage)).to.match(/Welcome back, member[\s\S]*this is visit 2/);
    expect(await visibleText(walletPage)).to.not.contain("did:key");
    await screenshot(walletPage, "checkout-welcome-back");
    await Promise.all([shopPage.close(), walletPage.close()]);
  });

  it("member login: the checkout's login link, confirmed in the wallet, the member signed in", async () => {
    const shopPage = await context.newPage();
    await shopPage.goto(`${shop.url}/checkout`);
    await shopPage.getByRole("button", { name: "Member login" }).click();
    await shopPage.getByRole("heading", { name: "Member login" }).waitFor();
    const [walletPage] = await Promise.all([context.waitForEvent("page"), shopPage.getByRole("link", { name: "Open in your web wallet" }).click()]);
    // Nothing is fetched until the person asks for the review on the wallet's own page.
    await walletPage.getByRole("heading", { name: "A member login link" }).waitFor();
    await walletPage.getByRole("button", { name: "Review the login" }).click();
    await walletPage.getByRole("heading", { name: "Log in to 星河书店 Galaxy Books" }).waitFor();
    expect(await visibleText(walletPage)).to.contain(`At ${new URL(shop.url).origin}, a website the identity platform has registered`);
    await screenshot(walletPage, "wallet-login");
    await walletPage.getByRole("button", { name: "Log in" }).click();
    await walletPage.getByRole("heading", { name: "Logged in" }).waitFor();
    await shopPage.getByRole("heading", { name: "Welcome back" }).waitFor({ timeout: 15_000 });
    // The member's account (keyed by the issuer-signed pseudonym, not the wallet's login key) on its third visit, greeted as a member.
    expect(await visibleText(shopPage)).to.match(/signed in as a member: visit 3/);
    expect(await visibleText(shopPage)).to.not.contain("did:key");
    await screenshot(shopPage, "checkout-member-login");
    await Promise.all([shopPage.close(), walletPage.close()]);
  });

  it("full identity: the values are shown before sharing, and the merchant receives exactly the name", async () => {
    const { shopPage, walletPage } = await checkout(/invoice/);
    const consent = await visibleText(walletPage);
    expect(consent).to.contain("Full name: 张三");
    expect(consent).to.not.contain("110105199003071239");
    await walletPage.getByLabel("Confirm with your wallet PIN").fill(PIN);
    await walletPage.getByRole("button", { name: "Share exactly this" }).click();
    await walletPage.getByRole("heading", { name: /Shared with/ }).waitFor();
    // (How many credentials are left here depends on the batch refresh the first answer started in the
    // background, so the low-batch notice is not asserted on this page.)
    await shopPage.getByRole("heading", { name: "Answer received" }).waitFor({ timeout: 15_000 });
    expect(await visibleText(shopPage)).to.not.contain("张三");
    // Same device: the wallet sends the person back to the merchant (the redirect's one-time response code).
    await walletPage.getByRole("link", { name: "Back to 星河书店 Galaxy Books" }).click();
    await walletPage.getByRole("heading", { name: /Thank you/ }).waitFor();
    expect(walletPage.url()).to.match(/\/checkout\/[0-9a-f-]{36}\?response_code=/);
    const received = await visibleText(walletPage);
    expect(received).to.match(/Full name\s+张三/);
    expect(received).to.not.contain("1101");
    await screenshot(walletPage, "checkout-received-full");
    // The code works once: the same link again shows nothing of the person.
    const reused = await fetch(walletPage.url());
    expect(reused.status).to.equal(403);
    expect(await reused.text()).to.not.contain("张三");
    // The code is bound to that checkout: a guessed one opens nothing.
    const guessed = await fetch(walletPage.url().replace(/response_code=[^&]+/, "response_code=guess"));
    expect(guessed.status).to.equal(403);
    await Promise.all([shopPage.close(), walletPage.close()]);
  });

  it("remembered choices are listed and can be forgotten", async () => {
    const page = await context.newPage();
    await page.goto(`${walletWeb.url}/choices`);
    expect(await visibleText(page)).to.match(/星河书店 Galaxy Books\s+Pseudonymous account/);
    await screenshot(page, "wallet-choices");
    await page.getByRole("button", { name: /Forget 星河书店 Galaxy Books/ }).click();
    expect(await visibleText(page)).to.contain("No remembered choices.");
    await page.close();
  });

  it("grants: anchoring state until on chain, evidence downloaded, a grant withdrawn", async () => {
    const page = await context.newPage();
    await page.goto(`${walletWeb.url}/grants`);
    expect(await page.getByRole("article").count()).to.equal(4);
    // The page reloads itself while receipts wait for the chain.
    await page.waitForFunction(() => !document.body.innerText.includes("waiting to be anchored") && !document.body.innerText.includes("being anchored"), undefined, { timeout: 30_000, polling: 500 });
    await page.reload();
    expect(await visibleText(page)).to.match(/anchored on chain in block \d+, transaction 0x/);
    await screenshot(page, "wallet-grants-anchored");
    const full = page.getByRole("article").filter({ hasText: "Full identity" });
    const [download] = await Promise.all([page.waitForEvent("download"), full.getByRole("link", { name: "Download evidence for a notary" }).click()]);
    evidenceFile = join(work, "evidence.json");
    await download.saveAs(evidenceFile);
    expect(JSON.parse(readFileSync(evidenceFile, "utf8")).format).to.equal("realname-evidence-bundle");

    await full.getByRole("link", { name: "Withdraw…" }).click();
    await page.getByRole("heading", { name: /Withdraw your grant/ }).waitFor();
    await screenshot(page, "wallet-withdraw-confirm");
    await page.getByRole("button", { name: "Withdraw this grant" }).click();
    expect(await visibleText(page)).to.contain("Withdrawn. The merchant confirmed");
    expect(await page.getByRole("article").filter({ hasText: "Full identity" }).innerText()).to.contain("Withdrawn on");
    await screenshot(page, "wallet-withdrawn");
    await page.close();
  });

  it("notary console: the bundle uploaded, every check passed, the transaction and block shown, a printable report", async () => {
    const bundle = JSON.parse(readFileSync(evidenceFile, "utf8"));
    const page = await context.newPage();
    await page.goto(notary.url);
    await screenshot(page, "notary-upload");
    await page.getByLabel("Evidence bundle (a .json file)").setInputFiles(evidenceFile);
    await page.getByRole("button", { name: "Verify" }).click();
    await page.getByRole("heading", { name: "Verified: every check passed" }).waitFor();
    const text = await visibleText(page);
    expect(text).to.contain(bundle.anchors.grant.txHash);
    expect(text).to.contain(`${bundle.anchors.grant.blockNumber} (hash ${bundle.anchors.grant.blockHash})`);
    const rows = page.locator("tr[data-check]");
    expect(await rows.count()).to.be.greaterThan(10);
    expect(await rows.filter({ hasText: "passed" }).count()).to.equal(await rows.count());
    expect(text).to.contain("The merchant's receipt counter-signs exactly this consent");
    expect(text).to.contain("The merchant is in the trusted issuer's signed registry it relied on");
    expect(text).to.contain("What this notary trusts");
    expect(text).to.contain(issuer.did);
    await screenshot(page, "notary-verified");
    await page.getByRole("link", { name: "Open the printable report" }).click();
    await page.getByRole("heading", { name: "Evidence report on a graded identity grant" }).waitFor();
    await page.emulateMedia({ media: "print" });
    await screenshot(page, "notary-printable-report");
    await page.close();
  });

  it("notary console: a tampered bundle fails in words; files that are not bundles are refused in words", async () => {
    const bundle = JSON.parse(readFileSync(evidenceFile, "utf8"));
    bundle.anchors.grant.blockNumber += 1;
    const tampered = join(work, "tampered.json");
    writeFileSync(tampered, JSON.stringify(bundle));
    const page = await context.newPage();
    const upload = async (file: string) => {
      await page.goto(notary.url);
      await page.getByLabel("Evidence bundle (a .json file)").setInputFiles(file);
      await page.getByRole("button", { name: "Verify" }).click();
      await page.locator("main h1").waitFor();
      return visibleText(page);
    };
    let text = await upload(tampered);
    expect(text).to.contain("Not verified: a check failed");
    expect(text).to.match(/One check failed: The trusted registry on chain shows the grant batch where the bundle says/);
    expect(await page.locator("tr[data-check='grant-root-on-chain']").innerText()).to.contain("FAILED");
    await screenshot(page, "notary-tampered");
    const notJson = join(work, "not.json");
    writeFileSync(notJson, "this is not json");
    text = await upload(notJson);
    expect(text).to.contain("This file is not JSON");
    expect(await page.locator("main").getAttribute("data-error-code")).to.equal("ERR_BUNDLE_NOT_JSON");
    const notBundle = join(work, "other.json");
    writeFileSync(notBundle, JSON.stringify({ hello: "world" }));
    text = await upload(notBundle);
    expect(text).to.contain("This file is not an evidence bundle");
    expect(text).to.not.match(/ERR_/);
    await screenshot(page, "notary-not-a-bundle");
    await page.close();
  });

  it("wallet refusals in words: an unreadable link, an unregistered merchant, an already answered request", async () => {
    const page = await context.newPage();
    await page.goto(walletWeb.url);
    await page.getByLabel(/Paste the link/).fill("hello, this is not a link");
    await page.getByRole("button", { name: "Open the link" }).click();
    expect(await visibleText(page)).to.contain("This link is not a merchant request or a login link.");

    const strangerRequest = await fetchJson<{ authorizationRequest: string }>(`${stranger.url}/requests`, { body: { level: "verified", purpose: "anything" } });
    await page.goto(walletWeb.url);
    await page.getByLabel(/Paste the link/).fill(strangerRequest.authorizationRequest);
    await page.getByRole("button", { name: "Open the link" }).click();
    const refused = await visibleText(page);
    expect(refused).to.contain("This merchant is not registered with the identity platform, so your wallet will not answer it. Nothing was shared.");
    expect(refused).to.not.match(/ERR_/);
    await screenshot(page, "wallet-unregistered-merchant");

    // A request answered already (its nonce is spent): the answer is refused by the merchant, said in words.
    const created = await fetchJson<{ authorizationRequest: string; requestId: string }>(`${shop.url}/requests`, { body: { level: "verified", purpose: "web verified adult" } });
    const link = `${walletWeb.url}/authorize?${new URL(created.authorizationRequest.replace("openid4vp://?", "https://x/?")).searchParams}`;
    await page.goto(link);
    await reviewRequest(page);
    const form = { request: (await page.locator("form[action='/authorize'] input[name='request']").getAttribute("value"))!, csrf: (await page.locator("form[action='/authorize'] input[name='csrf']").getAttribute("value"))!, pin: PIN };
    await page.getByLabel("Confirm with your wallet PIN").fill(PIN);
    await page.getByRole("button", { name: "Share exactly this" }).click();
    await page.getByRole("heading", { name: /Shared with/ }).waitFor();
    // The same consent form posted again: that review was answered; a new consent is needed.
    await Promise.all([
      page.waitForNavigation(),
      page.evaluate((fields) => {
        const f = document.createElement("form");
        f.method = "post";
        f.action = "/authorize";
        for (const [name, value] of Object.entries(fields)) f.append(Object.assign(document.createElement("input"), { type: "hidden", name, value }));
        document.body.append(f);
        f.submit();
      }, form),
    ]);
    expect(await visibleText(page)).to.contain("The request changed since you reviewed it");
    expect(await page.locator("main").getAttribute("data-error-code")).to.equal("ERR_REQUEST_CHANGED");
    await page.goto(link);
    await reviewRequest(page);
    await page.getByLabel("Confirm with your wallet PIN").fill(PIN);
    await page.getByRole("button", { name: "Share exactly this" }).click();
    expect(await visibleText(page)).to.contain("This request has already been answered. Ask the merchant for a new one.");
    await screenshot(page, "wallet-already-answered");
    await page.close();
  });

  it("refused without a browser: cross-site posts, a foreign Host, another browser's checkout, bad input; nothing shared or stored", async () => {
    const grantsBefore = await walletGrantCount();
    // A form post from another website (its Origin) to the wallet's share endpoint.
    const crossSite = await fetch(`${walletWeb.url}/authorize`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", origin: "http://evil.example" }, body: "link=x&pin=975310", redirect: "manual" });
    expect(crossSite.status).to.equal(403);
    expect(await crossSite.text()).to.contain("This action came from another website");
    // DNS rebinding: a hostile name resolving to 127.0.0.1.
    const rebound = await rawGet(walletWeb.url, "/", "evil.example:80");
    expect(rebound.status).to.equal(403);
    // The checkout's result belongs to the browser that opened it.
    const created = await fetch(`${shop.url}/checkout`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", origin: shop.url }, body: "offer=adult", redirect: "manual" });
    expect(created.status).to.equal(303);
    const foreign = await fetch(new URL(created.headers.get("location")!, shop.url));
    expect(foreign.status).to.equal(403);
    expect(await foreign.text()).to.contain('data-error-code="ERR_FORBIDDEN"');
    // Bad input: an unknown offer, a malformed checkout id, a missing request link, an overlong PIN.
    const unknownOffer = await fetch(`${shop.url}/checkout`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", origin: shop.url }, body: "offer=everything" });
    expect(unknownOffer.status).to.equal(400);
    expect(await unknownOffer.text()).to.contain('data-error-code="ERR_INVALID_INPUT"');
    expect((await fetch(`${shop.url}/checkout/not-an-id`)).status).to.equal(400);
    expect((await fetch(`${walletWeb.url}/authorize`)).status).to.equal(400);
    const longPin = await fetch(`${walletWeb.url}/unlock`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", origin: walletWeb.url }, body: `pin=${"1".repeat(200)}` });
    expect(longPin.status).to.equal(400);
    // Evidence from a locked wallet (no session cookie).
    expect((await fetch(`${walletWeb.url}/grants/00000000-0000-0000-0000-000000000000/evidence`)).status).to.equal(401);
    // An oversized upload to the notary console.
    const form = new FormData();
    form.append("bundle", new Blob([Buffer.alloc(3 * 1024 * 1024, 0x20)]), "big.json");
    const big = await fetch(`${notary.url}/verify`, { method: "POST", headers: { origin: notary.url }, body: form });
    expect(big.status).to.equal(413);
    // No language asked (a plain fetch): the console answers in Chinese, the code kept for scripts.
    const bigPage = await big.text();
    expect(bigPage).to.contain("此文件超过了证据包的最大大小（2 MB）").and.contain('data-error-code="ERR_BODY_TOO_LARGE"');
    const bigEn = await fetch(`${notary.url}/verify?lang=en`, { method: "POST", headers: { origin: notary.url }, body: form });
    expect(await bigEn.text()).to.contain("larger than an evidence bundle can be (2 MB)");
    expect(await walletGrantCount()).to.equal(grantsBefore);
  });

  it("every page: readable on a phone, every field labelled, no resource from outside this machine", async () => {
    const phone = await browser.newContext({ viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true });
    phone.on("request", (r) => requested.push(r.url()));
    // The phone's own browser session: unlock first.
    const page = await phone.newPage();
    await page.goto(walletWeb.url);
    await page.getByLabel("Wallet PIN").fill(PIN);
    await page.getByRole("button", { name: "Unlock" }).click();
    const created = await fetchJson<{ authorizationRequest: string }>(`${shop.url}/requests`, { body: { level: "full", purpose: "web invoice", claims: ["full_name"] } });
    const pages = [
      walletWeb.url,
      `${walletWeb.url}/authorize?${new URL(created.authorizationRequest.replace("openid4vp://?", "https://x/?")).searchParams}`,
      `${walletWeb.url}/grants`,
      `${walletWeb.url}/choices`,
      `${shop.url}/checkout`,
      notary.url,
    ];
    for (const url of pages) {
      await page.goto(url);
      const audit = await auditPage(page);
      expect(audit.unlabelled, url).to.deep.equal([]);
      expect(audit.overflowX, `${url} scrolls sideways on a phone`).to.be.at.most(0);
    }
    await screenshot(page, "phone-notary");
    await page.goto(pages[1]!);
    await reviewRequest(page);
    const consentAudit = await auditPage(page);
    expect(consentAudit.unlabelled).to.deep.equal([]);
    expect(consentAudit.overflowX, "the consent page scrolls sideways on a phone").to.be.at.most(0);
    await screenshot(page, "phone-wallet-consent");
    await phone.close();
    const outside = requested.filter((u) => !u.startsWith("http://127.0.0.1:") && !u.startsWith("data:"));
    expect(outside).to.deep.equal([]);
  });

  it("a 390 px phone in Chinese: the consent page shows the merchant and the decision without scrolling past the request; no word broken inside", async () => {
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, locale: "zh-CN" });
    try {
      const page = await phone.newPage();
      await page.goto(walletWeb.url);
      expect(await page.getAttribute("html", "lang")).to.equal("zh-CN");
      await page.getByLabel("钱包 PIN").fill(PIN);
      await page.getByRole("button", { name: "解锁" }).click();
      const created = await fetchJson<{ authorizationRequest: string }>(`${shop.url}/requests`, { body: { level: "verified", purpose: "web verified adult", ageOver18: true } });
      await page.goto(`${walletWeb.url}/authorize?${new URL(created.authorizationRequest.replace("openid4vp://?", "https://x/?")).searchParams}`);
      await page.getByRole("button", { name: "查看请求" }).click();
      await page.getByRole("heading", { name: /请求：仅实名认证/ }).waitFor({ timeout: 15_000 }).catch(async (e) => { throw new Error(`${e}\n${await visibleText(page)}`); });
      await screenshot(page, "phone-wallet-consent-zh");
      // The decision (its heading and the PIN that confirms it) is in the first screen, below everything that
      // would leave the wallet; the Share button follows right after the two remember options.
      const pin = (await page.getByLabel("用钱包 PIN 确认").boundingBox())!;
      expect(pin.y + pin.height, "the decision is in the first screen").to.be.at.most(844);
      const leaves = (await page.locator("#share-h").boundingBox())!;
      expect(leaves.y).to.be.below(pin.y);
      const share = (await page.getByRole("button", { name: "分享以上内容" }).boundingBox())!;
      expect(share.y - (pin.y + pin.height), "Share follows the PIN closely").to.be.at.most(220);
      // What the merchant is, from the registry, above it.
      expect(await visibleText(page)).to.contain("星河书店 Galaxy Books").and.contain("登记为");
      // Its mark, drawn by the wallet from the registered name (no picture fetched from the merchant).
      expect(await page.locator("h1 svg.shop-logo").getAttribute("aria-label")).to.equal("星河书店 Galaxy Books");
      // No Latin word broken inside (break-word only breaks what cannot fit a line): every table cell's words fit.
      const broken = await page.evaluate(() => [...document.querySelectorAll("th, td, dd")].filter((el) => el.scrollWidth > el.clientWidth + 1).map((el) => el.textContent));
      expect(broken).to.deep.equal([]);
      expect((await auditPage(page)).overflowX).to.be.at.most(0);
    } finally {
      await phone.close();
    }
  });

  describe("the person chooses (issue 15)", () => {
    /** A request from the shop's own API (what its front end would open), and a way to read its result. */
    async function shopRequest(body: Record<string, unknown>) {
      const created = await fetchJson<{ authorizationRequest: string; requestId: string; transactionSecret: string }>(`${shop.url}/requests`, { body });
      const result = async () => (await (await fetch(`${shop.url}/requests/${created.requestId}/result`, { headers: { "x-transaction-secret": created.transactionSecret } })).json()) as { status: string; level?: string };
      return { link: `${walletWeb.url}/authorize?${new URL(created.authorizationRequest.replace("openid4vp://?", "https://x/?")).searchParams}`, result };
    }
    // The wallet holds one unlocked session (the phone test above took it): this browser unlocks again.
    before(async () => {
      const page = await context.newPage();
      await page.goto(walletWeb.url);
      await page.getByLabel("Wallet PIN").fill(PIN);
      await page.getByRole("button", { name: "Unlock" }).click();
      await page.waitForLoadState();
      await page.close();
    });
    const invoiceWithChoice = { level: "full", purpose: "web invoice", claims: ["full_name", "birth_date"], optionalClaims: ["birth_date"], acceptLevels: ["verified"] };

    it("an optional claim switched off is not sent; the merchant records the full level with the claims it got", async () => {
      const page = await context.newPage();
      const req = await shopRequest(invoiceWithChoice);
      await page.goto(req.link);
      await reviewRequest(page);
      await page.locator("input[name=share_claim][value=birth_date]").uncheck();
      await page.getByLabel("Confirm with your wallet PIN").fill(PIN);
      await page.getByRole("button", { name: "Share exactly this" }).click();
      await page.getByRole("heading", { name: /Shared with/ }).waitFor();
      const shared = await visibleText(page);
      expect(shared).to.match(/Shared\s+Real-name verified, Full name/);
      expect(shared).to.not.contain("Date of birth");
      expect(await req.result()).to.deep.equal({ status: "accepted", level: "full" });
      await page.close();
    });

    it("Decline reaches the merchant: its result says declined", async () => {
      const page = await context.newPage();
      const req = await shopRequest(invoiceWithChoice);
      await page.goto(req.link);
      await reviewRequest(page);
      await page.getByRole("button", { name: "Decline" }).click();
      await page.getByRole("heading", { name: "Declined" }).waitFor();
      expect(await req.result()).to.deep.equal({ status: "declined" });
      await page.close();
    });

    it("one tap for verified only when turned on; full always asks for the PIN; withdrawing offers to forget the choice", async () => {
      const page = await context.newPage();
      const adult = { level: "verified", purpose: "web verified adult", ageOver18: true };
      // Remembered without one tap: pre-selected, PIN still asked.
      let req = await shopRequest(adult);
      await page.goto(req.link);
      await reviewRequest(page);
      await page.getByLabel("Confirm with your wallet PIN").fill(PIN);
      await page.getByLabel(/Remember this choice/).check();
      await page.getByRole("button", { name: "Share exactly this" }).click();
      await page.getByRole("heading", { name: /Shared with/ }).waitFor();
      req = await shopRequest(adult);
      await page.goto(req.link);
      await reviewRequest(page);
      expect(await visibleText(page)).to.contain("Pre-selected from the choice you remembered for this merchant.");
      expect(await page.getByLabel("Confirm with your wallet PIN").count()).to.equal(1);
      // Now with one tap turned on.
      await page.getByLabel("Confirm with your wallet PIN").fill(PIN);
      await page.getByLabel(/one tap next time/).check();
      await page.getByRole("button", { name: "Share exactly this" }).click();
      await page.getByRole("heading", { name: /Shared with/ }).waitFor();
      req = await shopRequest(adult);
      await page.goto(req.link);
      await reviewRequest(page);
      // The page answers by itself (one tap): no PIN.
      await page.getByRole("heading", { name: /Shared with/ }).waitFor();
      expect(await visibleText(page)).to.contain("Answered automatically, as you chose.");
      expect(await req.result()).to.deep.equal({ status: "accepted", level: "verified" });
      // A full request from the same merchant: the PIN is asked, nothing answers by itself.
      const full = await shopRequest({ level: "full", purpose: "web invoice", claims: ["full_name"] });
      await page.goto(full.link);
      await reviewRequest(page);
      await page.getByLabel("Confirm with your wallet PIN").waitFor();
      expect(await full.result()).to.deep.equal({ status: "pending" });
      // Posting that form without the PIN is refused (ERR_PIN_REQUIRED) and nothing is sent.
      await page.evaluate(() => {
        const pin = document.querySelector<HTMLInputElement>("input[name=pin]")!;
        pin.removeAttribute("required");
        pin.remove();
      });
      await page.getByRole("button", { name: "Share exactly this" }).click();
      await page.waitForLoadState();
      expect(await page.locator("main").getAttribute("data-error-code")).to.equal("ERR_PIN_REQUIRED");
      expect(await full.result()).to.deep.equal({ status: "pending" });
      // Withdraw the last verified grant: the page asks whether to forget the choice too.
      await page.goto(`${walletWeb.url}/grants`);
      const latest = page.getByRole("article").filter({ hasText: "Verified only" }).filter({ hasNotText: "Withdrawn" }).last();
      await latest.getByRole("link", { name: "Withdraw…" }).click();
      await page.getByLabel(/Also forget the choice you remembered/).check();
      await page.getByRole("button", { name: "Withdraw this grant" }).click();
      await page.getByRole("heading", { name: "Grants" }).waitFor();
      await page.goto(`${walletWeb.url}/choices`);
      expect(await visibleText(page)).to.contain("No remembered choices.");
      await page.close();
    });
    it("user-initiated: the person picks a registered merchant and opens a pseudonymous account there", async () => {
      const page = await context.newPage();
      await page.goto(`${walletWeb.url}/merchants`);
      await page.getByRole("heading", { name: "Start a grant yourself" }).waitFor();
      await screenshot(page, "wallet-start-grant");
      await page.getByRole("button", { name: "Open a pseudonymous account at 星河书店 Galaxy Books" }).click();
      // The merchant's fresh request, reviewed like any other: the values before the PIN.
      await page.getByRole("heading", { name: /星河书店 Galaxy Books asks for: Pseudonymous account/ }).waitFor();
      expect(await visibleText(page)).to.match(/A pseudonym for 星河书店 Galaxy Books only: did:key:/);
      await page.getByLabel("Confirm with your wallet PIN").fill(PIN);
      await page.getByRole("button", { name: "Share exactly this" }).click();
      await page.getByRole("heading", { name: /Shared with 星河书店 Galaxy Books/ }).waitFor();
      expect(await visibleText(page)).to.match(/Level\s+Pseudonymous account/);
      // The merchant's result (the wallet's redirect with its response code; JSON, no checkout page) names the account.
      await page.getByRole("link", { name: /^Back to / }).click();
      await page.waitForLoadState();
      const result = JSON.parse((await page.textContent("body"))!);
      expect(result).to.include({ status: "accepted", level: "pseudonymous" });
      expect(result.account.pseudonym).to.be.a("string");
      await page.close();
    });

    it("review before the PIN: locked, the PIN only unlocks the review; the values and every acceptable level are shown, then a wrong PIN says how many tries remain and keeps the request", async () => {
      const fresh = await browser.newContext();
      const page = await fresh.newPage();
      const req = await shopRequest(invoiceWithChoice);
      await page.goto(req.link);
      await reviewRequest(page);
      // Locked: names only, and no way to share before the review.
      expect(await visibleText(page)).to.contain("Unlock to review the values");
      expect(await visibleText(page)).to.not.contain("张三");
      expect(await page.getByRole("button", { name: "Share exactly this" }).count()).to.equal(0);
      await page.getByLabel("Wallet PIN").fill(PIN);
      await page.getByRole("button", { name: "Unlock and review" }).click();
      await page.getByRole("heading", { name: /asks for: Full identity/ }).waitFor();
      const review = await visibleText(page);
      // The exact values of every choice, before the PIN for sharing is asked.
      expect(review).to.contain("Full name: 张三");
      expect(review).to.match(/Date of birth: \S+/);
      expect(await page.getByRole("radio").count()).to.equal(2);
      expect(await page.getByRole("radio", { checked: true }).getAttribute("value")).to.equal("full");
      // Share and Decline side by side, in one row.
      const share = await page.getByRole("button", { name: "Share exactly this" }).boundingBox();
      const decline = await page.getByRole("button", { name: "Decline" }).boundingBox();
      expect(Math.abs(share!.y - decline!.y)).to.be.lessThan(5);
      await screenshot(page, "wallet-review-choices");
      // A wrong PIN: nothing shared, the request still open, the tries left said.
      await page.getByLabel("Confirm with your wallet PIN").fill("000000");
      await page.getByRole("button", { name: "Share exactly this" }).click();
      await page.locator("[data-tries-left]").waitFor();
      expect(await page.locator("[data-tries-left]").getAttribute("data-tries-left")).to.equal("2");
      expect(await visibleText(page)).to.contain("The PIN is wrong. Nothing was shared; the request is still open. 2 tries remain");
      expect(await req.result()).to.deep.equal({ status: "pending" });
      // Then a lower acceptable level: verified.
      await page.getByRole("radio", { name: /Verified only/ }).check();
      await page.getByLabel("Confirm with your wallet PIN").fill(PIN);
      await page.getByRole("button", { name: "Share exactly this" }).click();
      await page.getByRole("heading", { name: /Shared with/ }).waitFor();
      expect(await visibleText(page)).to.match(/Level\s+Verified only/);
      expect(await req.result()).to.deep.equal({ status: "accepted", level: "verified" });
      await fresh.close();
    });
  });

  async function walletGrantCount(): Promise<number> {
    const page = await context.newPage();
    await page.goto(`${walletWeb.url}/grants`);
    const n = await page.getByRole("article").count();
    await page.close();
    return n;
  }
});

/** A GET with a chosen Host header (fetch does not allow setting it). */
function rawGet(base: string, path: string, host: string): Promise<{ status: number }> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: u.hostname, port: u.port, path, headers: { host } }, (res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0 });
    });
    req.on("error", reject);
    req.end();
  });
}
