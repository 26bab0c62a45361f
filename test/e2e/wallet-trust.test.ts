import { expect } from "chai";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { fetchJson, HolderWallet, identityVct, merchantPseudonymClaim, REPO_ROOT, serveWalletWeb, sha256Hex, type Listening } from "@realname/agent";
import { chainWithRegistry } from "../helpers/chain.js";
import { startService, type EmbeddedChain, type ServiceProcess } from "../../scripts/lib/devnet.js";
import { disclosedNames, startCounter, startPhishingPage, startSwappingMerchant, type PhishingPage, type SwappingMerchant } from "../../drill/hostile.js";
import { startStandardMerchant, type StandardMerchant } from "../../drill/standard-merchant.js";

const exec = promisify(execFile);
const ADMIN_TOKEN = "trust-admin-token-0123456789";
const PIN = "864200";
const PERSON = { fullName: "张三", idNumber: "110105199003071239", portrait: readFileSync(join(REPO_ROOT, "issuer-service", "fixtures", "portraits", "zhang-san-live.jpg")) };

/**
 * What the person sees is what leaves the wallet: a registered merchant that swaps its request under the
 * PIN, a request that names itself differently from the registry or answers to an unregistered site, a
 * phishing page relaying a real merchant's login, and pages that try to make the wallet fetch. Real
 * issuer and merchant processes, real signatures, real HTTP on loopback.
 */
describe("The wallet answers exactly what the person saw, and only for the merchant's registered sites", function () {
  this.timeout(180_000);
  let chain: EmbeddedChain;
  let issuer: ServiceProcess;
  let shop: ServiceProcess;
  let swapper: SwappingMerchant;
  let impostor: SwappingMerchant;
  let offsite: SwappingMerchant;
  let phishing: PhishingPage;
  let work: string;
  let walletDir: string;

  const admin = (path: string, body: unknown, method = "POST") => fetchJson(`${issuer.url}${path}`, { method, body, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  const register = (did: string, name: string, purposes: string[], origins: string[]) => admin("/admin/merchants", { did, name, maxLevel: "full", purposes, fullClaims: ["full_name", "id_number"], origins }, "PUT");
  /** Everything a merchant that swapped would have got: no answer may carry more than `verified`. */
  const fullClaimsReceived = (m: SwappingMerchant) => m.answers.filter((a) => a.level !== "verified" || a.disclosed.some((n) => n === "full_name" || n === "id_number"));

  before(async () => {
    work = mkdtempSync(join(tmpdir(), "trust-"));
    const c = await chainWithRegistry();
    chain = c.chain;
    issuer = await startService("issuer-service", { DATA_DIR: join(work, "issuer"), CHAIN_RPC_URL: chain.url, DEPLOYMENT_FILE: c.deploymentFile, ISSUER_PASSPHRASE: "trust-issuer", ISSUER_DATA_KEY: "55".repeat(32), ADMIN_TOKEN, ANCHOR_DEV_ACCOUNT: "2" });
    shop = await startService("verifier-service", { DATA_DIR: join(work, "shop"), CHAIN_RPC_URL: chain.url, DEPLOYMENT_FILE: c.deploymentFile, ANCHOR_DEV_ACCOUNT: "1", MERCHANT_NAME: "Real Shop", MERCHANT_PASSPHRASE: "trust-shop", TRUSTED_ISSUERS: issuer.did, ISSUER_URL: issuer.url, ANCHOR_BATCH_AGE_MS: "300" });
    await register(shop.did, "Real Shop", ["membership"], [new URL(shop.url).origin]);
    swapper = await startSwappingMerchant({ name: "Swap Shop", purpose: "swap test", vct: identityVct(issuer.url) });
    await register(swapper.did, "Swap Shop", ["swap test"], [swapper.url]);
    // Registered as "Small Shop", but its requests call it "Famous Bank".
    impostor = await startSwappingMerchant({ name: "Small Shop", clientName: "Famous Bank", purpose: "swap test", vct: identityVct(issuer.url) });
    await register(impostor.did, "Small Shop", ["swap test"], [impostor.url]);
    // Registered, but for another web site than the one its requests answer to.
    offsite = await startSwappingMerchant({ name: "Offsite Shop", purpose: "swap test", vct: identityVct(issuer.url) });
    await register(offsite.did, "Offsite Shop", ["swap test"], ["https://offsite.example"]);
    phishing = await startPhishingPage();

    walletDir = join(work, "wallet");
    const wallet = await HolderWallet.open({ dir: walletDir, pin: PIN });
    try {
      await wallet.init();
      await admin("/admin/devices", { deviceId: "trust-phone", label: "trust test phone", publicJwk: (await wallet.deviceKey()).publicJwk });
      await wallet.register(issuer.url, PERSON, { deviceId: "trust-phone", batchSize: 10, confirm: async () => true });
    } finally {
      await wallet.close();
    }
  });

  after(async () => {
    await Promise.allSettled([swapper, impostor, offsite, phishing].filter(Boolean).map((x) => x.close()));
    await Promise.allSettled([issuer, shop].filter(Boolean).map((s) => s.stop()));
    await chain?.close();
    rmSync(work, { recursive: true, force: true });
  });

  describe("the command line", () => {
    const cli = async (args: string[]) => {
      try {
        const r = await exec(join(REPO_ROOT, "node_modules", ".bin", "wallet"), [...args, "--json"], { cwd: REPO_ROOT, env: { ...process.env, WALLET_DIR: walletDir, WALLET_PIN: PIN, LANG: "en_US.UTF-8" } });
        return { code: 0, out: JSON.parse(r.stdout.trim().split("\n").pop()!) };
      } catch (error) {
        const e = error as { code: number; stdout: string };
        return { code: e.code, out: JSON.parse(e.stdout.trim().split("\n").pop()!) };
      }
    };

    it("a merchant that swaps its request for a `full` one after showing a `verified` one gets the `verified` answer only", async () => {
      const { requestId, link } = await swapper.newRequest();
      const r = await cli(["answer", link, "--yes"]);
      expect(r.code, JSON.stringify(r.out)).to.equal(0);
      expect(r.out.level).to.equal("verified");
      expect(r.out.claimNames).to.deep.equal(["real_name_verified"]);
      expect(r.out.merchant.name).to.equal("Swap Shop");
      expect(swapper.served.get(requestId), "the request object is fetched once").to.equal(1);
      expect(swapper.answers).to.have.length(1);
      expect(swapper.answers[0]).to.deep.equal({ level: "verified", disclosed: ["real_name_verified"] });
      expect(fullClaimsReceived(swapper)).to.deep.equal([]);
    });

    it("a request that names the merchant otherwise than the registry is refused in words (exit 4), nothing sent", async () => {
      const { link } = await impostor.newRequest();
      const r = await cli(["answer", link, "--yes"]);
      expect(r.code).to.equal(4);
      expect(r.out.error.code).to.equal("ERR_MERCHANT_NAME_MISMATCH");
      expect(r.out.error.message).to.match(/name the identity platform does not have.*Nothing was shared/);
      expect(impostor.answers).to.deep.equal([]);
    });
  });

  describe("the web wallet", () => {
    let web: Listening;
    let cookie = "";
    /** The wallet's pages as the person's browser reaches them: its session cookie, its own Origin on posts. */
    const browse = async (path: string, form?: Record<string, string>, headers: Record<string, string> = {}) => {
      const res = await fetch(`${web.url}${path}`, {
        method: form ? "POST" : "GET",
        redirect: "manual",
        // An English-speaking browser (the pages are Chinese unless asked otherwise); the assertions read English.
        headers: { "accept-language": "en", ...(cookie ? { cookie } : {}), ...(form ? { "content-type": "application/x-www-form-urlencoded", origin: web.url } : {}), ...headers },
        body: form ? new URLSearchParams(form).toString() : undefined,
      });
      const set = res.headers.get("set-cookie");
      if (set) cookie = set.split(";")[0]!;
      const text = await res.text();
      return { status: res.status, text, code: /data-error-code="(ERR_[A-Z_]+)"/.exec(text)?.[1], field: (name: string) => new RegExp(`name="${name}" value="([^"]+)"`).exec(text)?.[1] };
    };
    const authorizePath = (link: string) => `/authorize?${new URL(link.replace("openid4vp://?", "https://x/?")).searchParams}`;

    before(async () => {
      web = await serveWalletWeb({ dir: walletDir, rpcUrl: chain.url });
      expect((await browse("/unlock", { pin: PIN })).status).to.equal(303);
    });
    after(async () => {
      await web?.close();
    });

    it("the swapped request: the page reviews the `verified` request, the PIN answers exactly it, the merchant gets no `full` claim", async () => {
      const before = swapper.answers.length;
      const { requestId, link } = await swapper.newRequest();
      const landing = await browse(authorizePath(link));
      expect(landing.status).to.equal(200);
      expect(swapper.served.get(requestId) ?? 0, "opening the link fetches nothing").to.equal(0);
      const csrf = landing.field("csrf")!;
      const review = await browse("/authorize/review", { link: landing.field("link")!.replace(/&amp;/g, "&"), csrf });
      expect(review.status, review.code).to.equal(200);
      expect(review.text).to.contain("Swap Shop asks for: Verified only");
      const hash = review.field("request")!;
      expect(hash).to.match(/^[0-9a-f]{64}$/);
      const shared = await browse("/authorize", { request: hash, pin: PIN, csrf });
      expect(shared.status, shared.code).to.equal(200);
      expect(shared.text).to.contain("Shared with Swap Shop");
      expect(swapper.served.get(requestId), "nothing fetched after the person saw it").to.equal(1);
      expect(swapper.answers.slice(before)).to.deep.equal([{ level: "verified", disclosed: ["real_name_verified"] }]);
      expect(fullClaimsReceived(swapper)).to.deep.equal([]);
      // The same form again: that review was answered, a new consent is needed.
      const again = await browse("/authorize", { request: hash, pin: PIN, csrf });
      expect([again.status, again.code]).to.deep.equal([400, "ERR_REQUEST_CHANGED"]);
      expect(again.text).to.contain("review it again");
      expect(swapper.answers.length).to.equal(before + 1);
    });

    it("the same consent form posted twice at once answers once", async () => {
      const before = swapper.answers.length;
      const { link } = await swapper.newRequest();
      const landing = await browse(authorizePath(link));
      const csrf = landing.field("csrf")!;
      const review = await browse("/authorize/review", { link: landing.field("link")!.replace(/&amp;/g, "&"), csrf });
      const form = { request: review.field("request")!, pin: PIN, csrf };
      const results = await Promise.all([browse("/authorize", form), browse("/authorize", form)]);
      expect(results.map((r) => r.status).sort()).to.deep.equal([200, 400]);
      expect(results.map((r) => r.code ?? "shared").sort()).to.deep.equal(["ERR_REQUEST_CHANGED", "shared"]);
      expect(swapper.answers.length).to.equal(before + 1);
    });

    it("a locked wallet: reviewed without values, the PIN unlocks the review (nothing shared), then answers exactly the reviewed request", async () => {
      await browse("/lock", { csrf: (await browse("/")).field("csrf")! });
      cookie = "";
      const before = swapper.answers.length;
      const { requestId, link } = await swapper.newRequest();
      const landing = await browse(authorizePath(link));
      expect(landing.field("csrf")).to.equal(undefined);
      const review = await browse("/authorize/review", { link: landing.field("link")!.replace(/&amp;/g, "&") });
      expect(review.text).to.contain("Unlock to review the values");
      const unlocked = await browse("/authorize/unlock", { request: review.field("request")!, pin: PIN });
      expect(unlocked.text).to.contain("Exactly what would leave your wallet");
      expect(swapper.answers.length).to.equal(before);
      const shared = await browse("/authorize", { request: unlocked.field("request")!, pin: PIN, csrf: unlocked.field("csrf")! });
      expect(shared.text, shared.code).to.contain("Shared with Swap Shop");
      expect(swapper.served.get(requestId)).to.equal(1);
      expect(swapper.answers.slice(before)).to.deep.equal([{ level: "verified", disclosed: ["real_name_verified"] }]);
    });

    it("a form naming a request that was not reviewed (unknown hash, or the old link field) is refused in words: ERR_REQUEST_CHANGED", async () => {
      const { requestId, link } = await swapper.newRequest();
      const landing = await browse(authorizePath(link));
      const csrf = landing.field("csrf")!;
      await browse("/authorize/review", { link: landing.field("link")!.replace(/&amp;/g, "&"), csrf });
      const answered = swapper.answers.length;
      const forms: Array<Record<string, string>> = [{ request: sha256Hex("another request object"), pin: PIN, csrf }, { link, pin: PIN, csrf }, { pin: PIN, csrf }];
      for (const form of forms) {
        const r = await browse("/authorize", form);
        expect([r.status, r.code], JSON.stringify(Object.keys(form))).to.deep.equal([400, "ERR_REQUEST_CHANGED"]);
        expect(r.text).to.contain("The request changed since you reviewed it");
      }
      expect(swapper.answers.length).to.equal(answered);
      expect(swapper.served.get(requestId)).to.equal(1);
    });

    it("the merchant's name shown is the registry's; a request calling itself otherwise is refused in words", async () => {
      const { link } = await impostor.newRequest();
      const landing = await browse(authorizePath(link));
      const r = await browse("/authorize/review", { link: landing.field("link")!.replace(/&amp;/g, "&"), csrf: landing.field("csrf")! });
      expect(r.code).to.equal("ERR_MERCHANT_NAME_MISMATCH");
      expect(r.status).to.be.within(400, 499);
      expect(r.text).to.not.contain("Famous Bank asks");
      expect(impostor.answers).to.deep.equal([]);
    });

    it("a request passed by value (request=) from the encrypting merchant: same checks as by reference, answered encrypted; a forged or relabelled one refused", async () => {
      const created = await fetchJson<{ requestId: string; requestUri: string; transactionSecret: string }>(`${shop.url}/requests`, { body: { level: "verified", purpose: "membership" } });
      const requestObject = (await (await fetch(created.requestUri)).text()).trim();
      const byValue = (clientId: string, jwt: string) => `openid4vp://?${new URLSearchParams({ client_id: clientId, request: jwt })}`;
      const clientId = `decentralized_identifier:${shop.did}`;
      // Forged: the signature no longer covers the payload; relabelled: the link names another client.
      const [h, p, s] = requestObject.split(".");
      const forged = [h, p, (s![0] === "A" ? "B" : "A") + s!.slice(1)].join(".");
      for (const [link, code] of [[byValue(clientId, forged), "ERR_REQUEST_SIGNATURE"], [byValue(`decentralized_identifier:${swapper.did}`, requestObject), "ERR_REQUEST_SIGNATURE"]] as const) {
        const landing = await browse(authorizePath(link));
        const r = await browse("/authorize/review", { link: landing.field("link")!.replace(/&amp;/g, "&"), csrf: landing.field("csrf")! });
        expect([r.status, r.code]).to.deep.equal([400, code]);
      }
      const landing = await browse(authorizePath(byValue(clientId, requestObject)));
      expect(landing.status).to.equal(200);
      const csrf = landing.field("csrf")!;
      const review = await browse("/authorize/review", { link: landing.field("link")!.replace(/&amp;/g, "&"), csrf });
      expect(review.status, review.code).to.equal(200);
      expect(review.text).to.contain("Real Shop asks for: Verified only");
      const shared = await browse("/authorize", { request: review.field("request")!, pin: PIN, csrf });
      expect(shared.text, shared.code).to.contain("Shared with Real Shop");
      // The merchant runs its default, direct_post.jwt: it accepted only because the answer came encrypted to its key.
      expect(JSON.parse(Buffer.from(p!, "base64url").toString()).response_mode).to.equal("direct_post.jwt");
      expect(await fetchJson(`${shop.url}/requests/${created.requestId}/result`, { headers: { "x-transaction-secret": created.transactionSecret } })).to.deep.equal({ status: "accepted", level: "verified" });
    });

    it("opening /authorize or /login makes the wallet fetch nothing; only the person's same-origin post does", async () => {
      const counter = await startCounter();
      try {
        const requestUri = `${counter.url}/requests/00000000-0000-0000-0000-000000000001`;
        const link = `openid4vp://?client_id=${encodeURIComponent("decentralized_identifier:did:key:z6MkexampleXYZ")}&request_uri=${encodeURIComponent(requestUri)}`;
        const challenge = `${counter.url}/login/challenges/00000000-0000-0000-0000-000000000002`;
        // What any website can make a browser do: navigate (locked or unlocked, same-site or not).
        for (const headers of [{}, { "sec-fetch-site": "cross-site" }] as Array<Record<string, string>>) {
          expect((await browse(authorizePath(link), undefined, headers)).status).to.equal(200);
          expect((await browse(`/login?challenge=${encodeURIComponent(challenge)}`, undefined, headers)).status).to.equal(200);
        }
        const locked = await fetch(`${web.url}${authorizePath(link)}`, { headers: { "accept-language": "en" } });
        expect(locked.status).to.equal(200);
        // A post from another site is refused before anything is fetched.
        const crossSite = await fetch(`${web.url}/authorize/review`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", origin: "http://evil.example", cookie, "accept-language": "en" }, body: new URLSearchParams({ link }).toString() });
        expect(crossSite.status).to.equal(403);
        expect(counter.hits, "no request reached the counting server").to.deep.equal([]);
        // The person's own click on the page: now the wallet fetches (and refuses what it gets, in words).
        const reviewed = await browse("/authorize/review", { link });
        expect(reviewed.status).to.be.within(400, 499);
        expect(counter.hits.length).to.be.greaterThan(0);
        const before = counter.hits.length;
        const login = await browse("/login/review", { challenge });
        expect(login.status).to.be.at.least(400);
        expect(login.code).to.match(/^ERR_/);
        expect(counter.hits.length).to.be.greaterThan(before);
      } finally {
        await counter.close();
      }
    });

    it("the grants page sent from another site contacts no merchant; the wallet's own navigation does", async () => {
      const anchorRequests = () => swapper.otherRequests.filter((r) => r.includes("/anchors/")).length;
      const before = anchorRequests();
      const crossSite = await browse("/grants", undefined, { "sec-fetch-site": "cross-site" });
      expect(crossSite.text).to.contain("Swap Shop");
      expect(anchorRequests()).to.equal(before);
      expect((await browse("/grants/status", undefined, { "sec-fetch-site": "same-site" })).status).to.equal(200);
      expect(anchorRequests()).to.equal(before);
      const grantId = /\/grants\/([0-9a-f-]{36})\/withdraw/.exec(crossSite.text)![1]!;
      const evidence = await browse(`/grants/${grantId}/evidence`, undefined, { "sec-fetch-site": "cross-site" });
      expect(evidence.status).to.equal(403);
      expect(anchorRequests()).to.equal(before);
      await browse("/grants", undefined, { "sec-fetch-site": "same-origin" });
      expect(anchorRequests()).to.be.greaterThan(before);
    });

    it("a phishing page relaying the real merchant's login is refused in words; nothing is signed or sent", async () => {
      const { challengeUri } = await fetchJson<{ challengeUri: string }>(`${shop.url}/login/challenges`, { method: "POST", body: {} });
      const relayed = phishing.relay(challengeUri, "merchant");
      const landing = await browse(`/login?challenge=${encodeURIComponent(relayed)}`);
      expect(landing.status).to.equal(200);
      const r = await browse("/login/review", { challenge: relayed, csrf: landing.field("csrf")! });
      expect(r.code).to.equal("ERR_ORIGIN_NOT_REGISTERED");
      expect(r.text).to.contain("a website the identity platform has not registered for this merchant");
      expect(phishing.proofsReceived).to.equal(0);
      expect(await fetchJson<{ nonce?: string }>(challengeUri)).to.have.property("nonce");
    });
  });

  describe("the wallet library", () => {
    let wallet: HolderWallet;
    const refusal = (p: Promise<unknown>) => p.then(() => ({ code: "accepted" }), (e: { code: string }) => e);
    before(async () => {
      wallet = await HolderWallet.open({ dir: walletDir, pin: PIN });
      // A member account at the real shop, to log in to.
      const { requestUri } = await fetchJson<{ requestUri: string }>(`${shop.url}/requests`, { body: { level: "pseudonymous", purpose: "membership" } });
      await wallet.answer(await wallet.preview(requestUri));
    });
    after(async () => {
      await wallet?.close();
    });

    it("a preview pins the request object: the answer is built from it, nothing is fetched again", async () => {
      const before = swapper.answers.length;
      const { requestId, link } = await swapper.newRequest();
      const checked = await wallet.fetchRequest(link);
      const preview = await wallet.preview(checked);
      expect(preview.requestHash).to.equal(sha256Hex(preview.requestJwt));
      const grant = await wallet.answer(preview, { requestHash: checked.requestHash });
      expect(grant.level).to.equal("verified");
      expect(swapper.served.get(requestId)).to.equal(1);
      expect(swapper.answers.slice(before)).to.deep.equal([{ level: "verified", disclosed: ["real_name_verified"] }]);
      // A confirmation naming another request is not an answer to this one.
      const other = await wallet.preview(await wallet.fetchRequest((await swapper.newRequest()).link));
      expect((await refusal(wallet.answer(other, { requestHash: checked.requestHash }))).code).to.equal("ERR_REQUEST_CHANGED");
      expect(swapper.answers.length).to.equal(before + 1);
    });

    it("a request whose answer would go to a site not registered for its signer is refused: ERR_ORIGIN_NOT_REGISTERED", async () => {
      const { link } = await offsite.newRequest();
      expect((await refusal(wallet.preview(link))).code).to.equal("ERR_ORIGIN_NOT_REGISTERED");
      expect(offsite.answers).to.deep.equal([]);
    });

    for (const answerTo of ["phishing", "merchant"] as const) {
      it(`a phishing page relaying the real merchant's challenge (answer to the ${answerTo}): refused, nothing signed or sent`, async () => {
        const { challengeUri } = await fetchJson<{ challengeUri: string }>(`${shop.url}/login/challenges`, { method: "POST", body: {} });
        const r = await refusal(wallet.login(phishing.relay(challengeUri, answerTo)));
        expect(r.code).to.equal("ERR_ORIGIN_NOT_REGISTERED");
        expect(phishing.proofsReceived).to.equal(0);
        // The real challenge was never answered.
        expect(await fetchJson<{ nonce?: string; status?: string }>(challengeUri)).to.have.property("nonce");
      });
    }

    it("the merchant refuses a login proof made for another origin (a wallet that skipped the check): ERR_PAIRWISE_PROOF_ORIGIN", async () => {
      const { challengeUri } = await fetchJson<{ challengeUri: string }>(`${shop.url}/login/challenges`, { method: "POST", body: {} });
      const genuine = await wallet.checkLogin(challengeUri);
      // What a wallet without the registry check would make of the relayed challenge: the phishing origin in its proof.
      const relayed = { ...genuine, challengeUri: phishing.relay(challengeUri, "merchant") };
      expect((await refusal(wallet.login(relayed))).code).to.equal("ERR_PAIRWISE_PROOF_ORIGIN");
      expect(await fetchJson<{ nonce?: string }>(challengeUri)).to.have.property("nonce");
      // The genuine login, checked once and answered as checked, works.
      const ok = await wallet.login(genuine);
      expect(ok.pseudonym).to.match(/^did:key:/);
      expect(await fetchJson<{ status?: string }>(challengeUri)).to.deep.include({ status: "logged-in" });
    });
  });

  describe("a standard merchant (OpenID4VP 1.0 only: no transaction_data, its own DCQL id, ES256 or EdDSA)", () => {
    let wallet: HolderWallet;
    let es256: StandardMerchant;
    let eddsa: StandardMerchant;
    let unregistered: StandardMerchant;
    const refusal = (p: Promise<unknown>) => p.then(() => ({ code: "accepted" }), (e: { code: string }) => e);
    before(async () => {
      es256 = await startStandardMerchant({ alg: "ES256", reply: "redirect", dcqlId: "pid", vct: identityVct(issuer.url) });
      eddsa = await startStandardMerchant({ alg: "EdDSA", reply: "empty", dcqlId: "my_credential", vct: identityVct(issuer.url) });
      unregistered = await startStandardMerchant({ alg: "ES256", reply: "redirect", vct: identityVct(issuer.url) });
      await admin("/admin/merchants", { did: es256.did, name: "HAIP Shop", maxLevel: "full", purposes: ["age check"], fullClaims: ["full_name"], origins: [es256.url] }, "PUT");
      await admin("/admin/merchants", { did: eddsa.did, name: "Plain Shop", maxLevel: "pseudonymous", purposes: ["membership"], fullClaims: [], origins: [eddsa.url] }, "PUT");
      wallet = await HolderWallet.open({ dir: walletDir, pin: PIN });
    });
    after(async () => {
      await wallet?.close();
      await Promise.allSettled([es256, eddsa, unregistered].filter(Boolean).map((m) => m.close()));
    });

    it("ES256 request, `full` inferred from the claims asked; the `{redirect_uri}` reply is success; the KB-JWT aud is the full client id", async () => {
      const { link } = await es256.newRequest(["real_name_verified", "full_name"]);
      const preview = await wallet.preview(link);
      expect(preview.request).to.deep.include({ level: "full", claims: ["full_name"], merchant_name: "HAIP Shop", purpose: "age check", client_id: es256.clientId, credential_id: "pid" });
      expect(preview.request.transaction_data).to.equal(undefined);
      expect(preview.values).to.deep.equal({ real_name_verified: true, full_name: PERSON.fullName });
      const entry = await wallet.answer(preview);
      expect(entry.level).to.equal("full");
      expect(entry.returnTo).to.match(new RegExp(`^${es256.url}/done#`));
      expect(entry.grantReceipt).to.equal("");
      const got = es256.answers.at(-1)!;
      expect(got.presentation, "the merchant got the presentation under its own DCQL id").to.be.a("string");
      expect(got.keyBinding).to.deep.include({ aud: es256.clientId, nonce: preview.request.nonce });
      expect(got.keyBinding).to.not.have.property("transaction_data_hashes");
      expect(got.form.state).to.equal(preview.payload.state);
      // The grant stands in the wallet (the data has left): listed with the others.
      expect((await wallet.grants()).some((g) => g.grantId === entry.grantId)).to.equal(true);
    });

    it("EdDSA request with another DCQL id, `verified` and `pseudonymous` inferred; an empty 200 is success", async () => {
      const verified = await wallet.preview((await eddsa.newRequest(["real_name_verified"])).link);
      expect(verified.request).to.deep.include({ level: "verified", merchant_name: "Plain Shop", purpose: "membership", credential_id: "my_credential" });
      await wallet.answer(verified);
      expect(eddsa.answers.at(-1)!.keyBinding).to.deep.include({ aud: eddsa.clientId });
      const pseudonymous = await wallet.preview((await eddsa.newRequest(["real_name_verified", merchantPseudonymClaim(eddsa.did)])).link);
      expect(pseudonymous.request.level).to.equal("pseudonymous");
      expect(pseudonymous.memberPseudonym).to.match(/^[A-Za-z0-9_-]{16,64}$/);
      const entry = await wallet.answer(pseudonymous);
      expect(entry.level).to.equal("pseudonymous");
      expect(disclosedNames(eddsa.answers.at(-1)!.presentation!).sort()).to.deep.equal([merchantPseudonymClaim(eddsa.did), "real_name_verified"].sort());
    });

    it("a minimal request by value (no exp, no state, no client_metadata) is answered; without state the answer carries none", async () => {
      const preview = await wallet.preview((await eddsa.newRequest(["real_name_verified"], { byValue: true, minimal: true })).link);
      expect(preview.request).to.deep.include({ level: "verified", merchant_name: "Plain Shop" });
      expect(preview.request.exp).to.be.greaterThan(Math.floor(Date.now() / 1000));
      await wallet.answer(preview);
      const got = eddsa.answers.at(-1)!;
      expect(got.keyBinding).to.deep.include({ aud: eddsa.clientId, nonce: preview.request.nonce });
      expect(got.form).to.not.have.property("state");
    });

    it("a standard merchant asking above its registration, or for a claim outside the levels, is refused in words; nothing sent", async () => {
      const before = eddsa.answers.length;
      expect((await refusal(wallet.preview((await eddsa.newRequest(["real_name_verified", "id_number"])).link))).code).to.equal("ERR_LEVEL_NOT_ALLOWED");
      expect((await refusal(wallet.preview((await eddsa.newRequest(["real_name_verified", "verification_commitment"])).link))).code).to.equal("ERR_REQUEST_MALFORMED");
      expect(eddsa.answers.length).to.equal(before);
    });

    it("an unregistered standard merchant is refused in words before the PIN (ERR_MERCHANT_UNREGISTERED)", async () => {
      const r = (await refusal(wallet.preview((await unregistered.newRequest(["real_name_verified"])).link))) as { code: string; message: string };
      expect(r.code).to.equal("ERR_MERCHANT_UNREGISTERED");
      expect(r.message).to.match(/not registered/);
      expect(unregistered.answers).to.deep.equal([]);
    });

    it("the person declines a standard request: access_denied with the state is posted, nothing about the person", async () => {
      const preview = await wallet.fetchRequest((await es256.newRequest(["real_name_verified"])).link);
      await wallet.decline(preview);
      expect(es256.answers.at(-1)!.form).to.deep.equal({ error: "access_denied", error_description: "the person declined", state: String(preview.payload.state) });
    });
  });
});
