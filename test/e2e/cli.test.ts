import { expect } from "chai";
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { LevelDatabase } from "../../agent/src/stores/level-store.js";
import { REPO_ROOT } from "../../agent/src/repo-root.js";

const exec = promisify(execFile);
const bin = (name: "wallet" | "notary" | "verify") => join(REPO_ROOT, "node_modules", ".bin", name);
// Port 9 (discard) on loopback: nothing listens there, so a connection is refused at once.
const DOWN = "http://127.0.0.1:9";

/** Runs a compiled command line (stdin not a terminal), never throwing: exit code, stdout, stderr. */
async function run(name: "wallet" | "notary" | "verify", args: string[], env: Record<string, string | undefined> = {}) {
  try {
    // A clean environment for what the commands read: no PIN or passphrase unless given, a neutral locale.
    const base: Record<string, string | undefined> = { ...process.env, LANG: "C.UTF-8", LC_ALL: undefined, LC_MESSAGES: undefined, WALLET_PIN: undefined, WALLET_DIR: undefined, NOTARY_PASSPHRASE: undefined, ...env };
    const clean = Object.fromEntries(Object.entries(base).filter(([, v]) => v !== undefined)) as NodeJS.ProcessEnv;
    const r = await exec(bin(name), args, { cwd: REPO_ROOT, env: clean });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}
const jsonError = (stdout: string) => (JSON.parse(stdout.trim().split("\n").pop()!) as { error: { code: string; message: string } }).error;

describe("the command lines as people and scripts meet them (compiled, from dist/)", function () {
  let work: string;
  let walletDir: string;
  before(async () => {
    work = mkdtempSync(join(tmpdir(), "cli-ux-"));
    walletDir = join(work, "wallet");
    const init = await run("wallet", ["init", "--json"], { WALLET_DIR: walletDir, WALLET_PIN: "2468" });
    expect(init.code, init.stderr).to.equal(0);
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  it("--version prints the project's version on every command line", async () => {
    const { version } = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as { version: string };
    for (const name of ["wallet", "notary", "verify"] as const) {
      const r = await run(name, ["--version"]);
      expect(r.code, name).to.equal(0);
      expect(r.stdout.trim(), name).to.equal(version);
    }
  });

  it("an unknown command exits 2 with one short hint, not the whole help", async () => {
    for (const name of ["wallet", "notary"] as const) {
      const r = await run(name, ["credntials"]);
      expect(r.code, name).to.equal(2);
      expect(r.stderr).to.contain("ERR_UNKNOWN_COMMAND");
      expect(r.stderr).to.contain(`${name} --help`);
      expect(r.stderr).to.not.contain("Usage:");
      expect(r.stderr.trim().split("\n").length, r.stderr).to.be.at.most(2);
      expect(jsonError((await run(name, ["credntials", "--json"])).stdout).code).to.equal("ERR_UNKNOWN_COMMAND");
    }
    // A near miss names the command meant.
    expect((await run("wallet", ["credntials"])).stderr).to.contain("credentials");
  });

  it("errors are sentences in the chosen language with the code after them: Chinese by default, English by --lang or LANG", async () => {
    const zh = await run("wallet", ["credentials", "--dir", join(work, "nowhere")]);
    expect(zh.stderr).to.match(/^错误：.+。（ERR_NO_WALLET）\n$/);
    const byFlag = await run("wallet", ["credentials", "--dir", join(work, "nowhere"), "--lang", "en"]);
    expect(byFlag.stderr).to.match(/^error: [A-Z].+\. \(ERR_NO_WALLET\)\n$/);
    const byLocale = await run("wallet", ["credentials", "--dir", join(work, "nowhere")], { LANG: "en_US.UTF-8" });
    expect(byLocale.stderr).to.equal(byFlag.stderr);
    // The flag wins over the locale.
    expect((await run("wallet", ["credentials", "--dir", join(work, "nowhere"), "--lang=zh-CN"], { LANG: "en_US.UTF-8" })).stderr).to.equal(zh.stderr);
  });

  it("a mistyped --dir is refused (exit 2) and creates nothing: only `init` creates a wallet", async () => {
    for (const args of [["credentials"], ["grants"], ["answer", "openid4vp://?request_uri=https%3A%2F%2Fshop.example%2Fr"], ["device-key"]]) {
      const dir = join(work, "walet-typo");
      const r = await run("wallet", [...args, "--dir", dir, "--json"], { WALLET_PIN: "2468" });
      expect(r.code, args[0]).to.equal(2);
      expect(jsonError(r.stdout).code, args[0]).to.equal("ERR_NO_WALLET");
      expect(existsSync(dir), `${args[0]} created ${dir}`).to.equal(false);
    }
    const made = await run("wallet", ["init", "--dir", join(work, "second"), "--json"], { WALLET_PIN: "2468" });
    expect(made.code).to.equal(0);
    expect(existsSync(join(work, "second"))).to.equal(true);
  });

  it("a prompt that cannot be asked (not a terminal) is a usage error naming the flag that answers it", async () => {
    const r = await run("wallet", ["credentials", "--dir", walletDir, "--json"]);
    expect(r.code).to.equal(2);
    const error = jsonError(r.stdout);
    expect(error.code).to.equal("ERR_NEEDS_INPUT");
    expect(error.message).to.contain("--pin");
    const n = await run("notary", ["init", "--dir", join(work, "notary"), "--json"]);
    expect(n.code).to.equal(2);
    expect(jsonError(n.stdout).message).to.contain("--passphrase");
  });

  it("an unreachable issuer exits 5 with a sentence naming the issuer and its address", async () => {
    const portrait = join(REPO_ROOT, "issuer-service", "fixtures", "portraits", "li-si-live.jpg");
    const r = await run("wallet", ["register", "--dir", walletDir, "--issuer", DOWN, "--name", "李四", "--id-number", "310115198508154561", "--portrait", portrait, "--device-id", "d1", "--yes", "--lang", "en"], { WALLET_PIN: "2468" });
    expect(r.code, r.stderr).to.equal(5);
    expect(r.stderr).to.contain("(ERR_UPSTREAM)");
    expect(r.stderr).to.contain("issuer");
    expect(r.stderr).to.contain(DOWN);
  });

  it("an unreachable merchant exits 5 with a sentence naming the merchant and its address", async () => {
    // A registered wallet knows its issuer; written directly, as registration would, to reach the request fetch.
    const db = await LevelDatabase.open(walletDir);
    await db.store("settings").put("settings", { issuerUrl: DOWN, issuerDid: "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK" });
    await db.close();
    const requestUri = `openid4vp://?client_id=${encodeURIComponent("decentralized_identifier:did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK")}&request_uri=${encodeURIComponent(`${DOWN}/requests/abc`)}`;
    const r = await run("wallet", ["answer", requestUri, "--dir", walletDir, "--json"], { WALLET_PIN: "2468" });
    expect(r.code, r.stdout + r.stderr).to.equal(5);
    const error = jsonError(r.stdout);
    expect(error.code).to.equal("ERR_UPSTREAM");
    expect(error.message).to.contain("127.0.0.1:9");
    const zh = await run("wallet", ["answer", requestUri, "--dir", walletDir], { WALLET_PIN: "2468" });
    expect(zh.code).to.equal(5);
    expect(zh.stderr).to.contain("商户");
  });

  it("`wallet --help` starts in well under half a second", async () => {
    const started = process.hrtime.bigint();
    const r = await run("wallet", ["--help"]);
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    expect(r.code).to.equal(0);
    // Generous bound for a shared 2-core machine; typically ~0.2 s.
    expect(ms).to.be.below(1500);
  });
});
