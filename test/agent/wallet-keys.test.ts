import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HolderWallet, lockDuration, LOCK_POLICY } from "@realname/agent";

describe("Wallet keys behind a PIN", function () {
  this.timeout(60_000);
  let dir: string;
  let now: Date;
  const clock = () => now;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "wallet-pin-"));
    now = new Date("2026-11-21T10:00:00Z");
    const w = await HolderWallet.open({ dir, pin: "2468", clock });
    await w.init();
    await w.close();
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const openCode = async (pin: string) => {
    try {
      const w = await HolderWallet.open({ dir, pin, clock });
      await w.close();
      return "opened";
    } catch (error) {
      return (error as { code: string }).code;
    }
  };

  it("lock durations grow: free attempts, then doubling, capped", () => {
    expect(lockDuration(LOCK_POLICY.freeAttempts - 1)).to.equal(0);
    expect(lockDuration(LOCK_POLICY.freeAttempts)).to.equal(LOCK_POLICY.firstLockMs);
    expect(lockDuration(LOCK_POLICY.freeAttempts + 1)).to.equal(2 * LOCK_POLICY.firstLockMs);
    expect(lockDuration(100)).to.equal(LOCK_POLICY.maxLockMs);
  });

  it("repeated wrong PINs lock the wallet for a growing time; even the right PIN waits; success resets", async () => {
    expect(await openCode("0000")).to.equal("ERR_WRONG_PASSPHRASE");
    expect(await openCode("0000")).to.equal("ERR_WRONG_PASSPHRASE");
    expect(await openCode("0000")).to.equal("ERR_WRONG_PASSPHRASE"); // third failure: locked for 30 s
    expect(await openCode("2468")).to.equal("ERR_WALLET_LOCKED");
    now = new Date(now.getTime() + 31_000);
    expect(await openCode("0000")).to.equal("ERR_WRONG_PASSPHRASE"); // fourth: 60 s
    now = new Date(now.getTime() + 31_000);
    expect(await openCode("2468")).to.equal("ERR_WALLET_LOCKED");
    now = new Date(now.getTime() + 30_000);
    expect(await openCode("2468")).to.equal("opened");
    expect(await openCode("0000")).to.equal("ERR_WRONG_PASSPHRASE"); // the counter was reset by the success
    expect(await openCode("2468")).to.equal("opened");
  });

  it("refuses a PIN shorter than 4 characters", async () => {
    expect(await openCode("12")).to.equal("ERR_WEAK_PASSPHRASE");
  });

  it("changing the PIN re-encrypts without loss: the old PIN stops working, identity and keys remain", async () => {
    let w = await HolderWallet.open({ dir, pin: "2468", clock });
    const before = await w.init();
    const device = await w.deviceKey();
    await w.remember({ iss: "did:key:z6MkExample", merchant_name: "Shop", level: "verified" });
    await w.changePin("97531");
    await w.close();
    expect(await openCode("2468")).to.equal("ERR_WRONG_PASSPHRASE");
    w = await HolderWallet.open({ dir, pin: "97531", clock });
    expect((await w.init()).did).to.equal(before.did);
    expect((await w.deviceKey()).did).to.equal(device.did);
    expect(await w.rememberedChoices()).to.have.length(1);
    await w.close();
  });
});
