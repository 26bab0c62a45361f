import {
  GeohashPositionIndex,
  InPersonPayments,
  MerchantPolicies,
  receiptHash,
  TerminalRegistry,
  type AnchorQueue,
  type FaceMatcher,
  type IdentityRegistry,
  type IdentityVault,
  type JwsSigner,
  type StoreDatabase,
  type TrustRegistry,
} from "@realname/agent";
import type { PaymentsPlatform } from "./routes/payments.js";

/** How long a reported position stays in the index: a terminal that stops reporting is soon nowhere. */
export const POSITION_TTL_MS = 60_000;

/**
 * Builds the in-person payment platform over the issuer's database, vault, identity registry and face
 * matcher: the payer's registered face is the registry photo of the identity the wallet is bound to.
 * Decisions and unlocks are anchored through the issuer's queue. Returns the platform and a stop function
 * (the timer that decides verifications whose deadline passed).
 */
export function buildPaymentsPlatform(args: {
  db: StoreDatabase;
  vault: IdentityVault;
  registry: IdentityRegistry;
  faces: FaceMatcher;
  trust: TrustRegistry;
  issuer: { did: string; signer: JwsSigner };
  queue: AnchorQueue;
  clock?: () => Date;
  log?: (line: string) => void;
}): { payments: PaymentsPlatform; stop: () => void } {
  const clock = args.clock ?? (() => new Date());
  const terminals = new TerminalRegistry(args.db.store("payment-terminals"));
  const policies = new MerchantPolicies(args.db.store("payment-policies"));
  const positions = new GeohashPositionIndex({ ttlMs: POSITION_TTL_MS });
  const service = new InPersonPayments({
    audience: args.issuer.did,
    terminals,
    positions,
    policies,
    faces: args.faces,
    registeredFace: async (ref) => {
      const identity = await args.vault.get(ref);
      return identity ? args.registry.photo(identity.person.idNumber) : undefined;
    },
    merchantName: async (did) => (await args.trust.merchant(did))?.name ?? "a merchant",
    signer: { did: args.issuer.did, signer: args.issuer.signer },
    anchor: async (jwt, receiptId) => void (await args.queue.enqueue(receiptHash(jwt), receiptId)),
    decisions: args.db.store("payment-decisions"),
    clock,
  });
  const timer = setInterval(() => {
    positions.sweep(clock());
    void service.decideDue().catch((e) => args.log?.(JSON.stringify({ level: "warn", event: "payment-decide-failed", code: (e as { code?: string }).code ?? "ERR_INTERNAL" })));
  }, 1000);
  timer.unref();
  return {
    payments: {
      service,
      terminals,
      policies,
      identityRefFor: async (idNumber) => {
        const ref = args.vault.refFor(idNumber);
        return (await args.vault.get(ref)) ? ref : undefined;
      },
    },
    stop: () => clearInterval(timer),
  };
}
