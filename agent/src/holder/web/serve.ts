import { listenOn, type Listening } from "../../web/listen.js";
import { createWalletWebApp } from "./app.js";
import type { WebRegistrationConfig } from "./register.js";

/** Starts the wallet's web pages for the wallet in `dir` on loopback. Closing also locks the wallet. */
export async function serveWalletWeb(args: { dir: string; rpcUrl: string; host?: string; port?: number; idleLockMs?: number; log?: (line: string) => void; paymentPlatformUrl?: string; registration?: WebRegistrationConfig }): Promise<Listening> {
  const hosts: string[] = [];
  const app = createWalletWebApp({ dir: args.dir, rpcUrl: args.rpcUrl, allowedHosts: () => hosts, idleLockMs: args.idleLockMs, log: args.log, ...(args.registration ? { registration: args.registration } : {}), ...(args.paymentPlatformUrl ? { payments: { platformUrl: () => args.paymentPlatformUrl! } } : {}) });
  const listening = await listenOn(app, args.host ?? "127.0.0.1", args.port ?? 0, hosts);
  return {
    ...listening,
    close: async () => {
      await listening.close();
      await app.sessions.lock();
    },
  };
}
