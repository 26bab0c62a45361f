import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createNotaryConsoleApp, createWalletWebApp, listenOn, type Listening } from "@realname/agent";

/**
 * The web wallet speaks Chinese by default and English on request (issue 17): the language comes from ?lang=
 * (remembered in a cookie), else the browser's Accept-Language, else Chinese. Every page carries the switch.
 */
describe("web wallet: Chinese by default, English on request", () => {
  let work: string;
  let web: Listening;
  const hosts: string[] = [];
  before(async () => {
    work = mkdtempSync(join(tmpdir(), "wallet-language-"));
    web = await listenOn(createWalletWebApp({ dir: join(work, "wallet"), rpcUrl: "http://127.0.0.1:1", allowedHosts: () => hosts }), "127.0.0.1", 0, hosts);
  });
  after(async () => {
    await web?.close();
    rmSync(work, { recursive: true, force: true });
  });
  const page = (path: string, headers: Record<string, string> = {}) => fetch(`${web.url}${path}`, { headers });

  it("no language asked: zh-CN, the page in Chinese with a switch to English", async () => {
    const text = await (await page("/")).text();
    expect(text).to.include('<html lang="zh-CN">').and.include("您的身份钱包").and.include("解锁钱包").and.include("钱包 PIN");
    expect(text).to.include('hreflang="en"').and.not.include("Unlock your wallet");
    expect(text).to.include("跳到正文").and.not.include("Skip to content");
  });

  it("?lang=en gives English and a cookie; the cookie keeps English on the next page; Accept-Language works too", async () => {
    const en = await page("/?lang=en");
    const text = await en.text();
    expect(text).to.include('<html lang="en">').and.include("Your identity wallet").and.include("Unlock your wallet");
    const cookie = en.headers.get("set-cookie")!.split(";")[0]!;
    expect(cookie).to.equal("lang=en");
    expect(await (await page("/grants", { cookie })).text()).to.include('<html lang="en">');
    expect(await (await page("/", { "accept-language": "en-GB,en;q=0.9" })).text()).to.include("Your identity wallet");
    expect(await (await page("/", { "accept-language": "en", cookie: "lang=zh-CN" })).text()).to.include("您的身份钱包");
  });

  it("refusals read as a sentence in the page's language, the code kept for scripts", async () => {
    const zh = await (await page("/grants/not-a-grant/withdraw")).text();
    expect(zh).to.include('<html lang="zh-CN">').and.include("您的钱包已锁定");
    // An error page is the wallet's too, in the reader's language (brand, heading, sentence).
    const notFound = await (await page("/no-such-page")).text();
    expect(notFound).to.include('<html lang="zh-CN">').and.include("身份钱包").and.not.include("Identity wallet");
    const unknownLink = await fetch(`${web.url}/open`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", origin: web.url }, body: "link=nonsense" });
    const body = await unknownLink.text();
    expect(body).to.match(/data-error-code="ERR_[A-Z_]+"/);
    expect(body).to.include('<html lang="zh-CN">');
  });

  it("the notary console too: Chinese by default, English on request, the check words in both", async () => {
    const hostsC: string[] = [];
    const console_ = await listenOn(createNotaryConsoleApp({ rpcUrl: "http://127.0.0.1:1", trust: { rpcUrl: "http://127.0.0.1:1", contracts: [], issuers: [], source: "test" }, allowedHosts: () => hostsC }), "127.0.0.1", 0, hostsC);
    try {
      const zh = await (await fetch(`${console_.url}/`)).text();
      expect(zh).to.include('<html lang="zh-CN">').and.include("核验证据包").and.include("公证控制台");
      const en = await (await fetch(`${console_.url}/?lang=en`)).text();
      expect(en).to.include('<html lang="en">').and.include("Verify an evidence bundle");
    } finally {
      await console_.close();
    }
  });
});
