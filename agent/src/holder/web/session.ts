import { randomBytes, timingSafeEqual } from "node:crypto";
import { HolderWallet, type WalletSettings } from "../wallet.js";

export interface UnlockedSession {
  id: string;
  /** Sent back in every form of this session (beside the Origin check): a forged post cannot know it. */
  csrf: string;
  wallet: HolderWallet;
}

/**
 * The wallet page's unlock state. The wallet is one person's: one unlocked session at a time (LevelDB is
 * opened by one holder only), held by the browser's HttpOnly, SameSite=Strict cookie, locked again after
 * `idleMs` without use or on "Lock". Unlocking elsewhere ends the previous session.
 */
export class WalletSessions {
  private current?: UnlockedSession & { lastUsed: number };
  private timer?: NodeJS.Timeout;
  private busy = 0;

  constructor(
    private readonly dir: string,
    private readonly options: { idleMs: number; clock: () => Date; open?: (dir: string, pin: string, clock: () => Date) => Promise<HolderWallet> },
  ) {}

  /** Opens the wallet with the PIN (wrong PINs count toward the lockout) and starts a new session. */
  async unlock(pin: string): Promise<UnlockedSession> {
    await this.lock();
    const open = this.options.open ?? ((dir, p, clock) => HolderWallet.open({ dir, pin: p, clock }));
    const wallet = await open(this.dir, pin, this.options.clock);
    this.current = { id: randomBytes(24).toString("base64url"), csrf: randomBytes(24).toString("base64url"), wallet, lastUsed: Date.now() };
    this.arm();
    return this.current;
  }

  /** The session for this cookie, if it is the unlocked one. */
  find(cookie: string | undefined): UnlockedSession | undefined {
    const s = this.current;
    if (!s || !cookie || !equal(cookie, s.id)) return undefined;
    s.lastUsed = Date.now();
    return s;
  }

  /** Runs `fn` with the wallet kept open (the idle lock waits for work in progress). */
  async use<T>(session: UnlockedSession, fn: (wallet: HolderWallet) => Promise<T>): Promise<T> {
    this.busy++;
    try {
      return await fn(session.wallet);
    } finally {
      this.busy--;
      if (this.current) this.current.lastUsed = Date.now();
    }
  }

  checkCsrf(session: UnlockedSession, token: unknown): boolean {
    return typeof token === "string" && equal(token, session.csrf);
  }

  /** Settings readable without the PIN (issuer URL and DID): from the open wallet, else straight from disk. */
  async settings(): Promise<WalletSettings> {
    return this.current ? this.current.wallet.getSettings() : HolderWallet.readSettings(this.dir);
  }

  async lock(): Promise<void> {
    clearTimeout(this.timer);
    const s = this.current;
    this.current = undefined;
    await s?.wallet.close();
  }

  private arm(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      const s = this.current;
      if (!s) return;
      if (this.busy > 0 || Date.now() - s.lastUsed < this.options.idleMs) return this.arm();
      void this.lock();
    }, Math.min(this.options.idleMs, 30_000));
    this.timer.unref();
  }
}

function equal(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
