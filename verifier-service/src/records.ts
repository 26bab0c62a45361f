import type { GrantLevel, PresentationRequest } from "@realname/agent";

// What the verifier stores: sessions (open requests), grants, accounts and login challenges.

export interface Session {
  requestId: string;
  /** The signed OpenID4VP request object, served by reference. */
  requestJwt: string;
  request: PresentationRequest;
  /** Its authorization request parameters, to validate the direct_post answer against. */
  payload: Record<string, unknown>;
  authorizationRequest: string;
  /** Given to the merchant's front end only: it polls the result with it. */
  transactionSecretHash: string;
  /** Given to the wallet in the redirect: the browser it sends back reads the claim values with it, once. */
  responseCodeHash?: string;
  /** Until when (ms) that code works; the session is kept (for its status) until then. */
  responseCodeExpiresAt?: number;
  status: "pending" | "accepted" | "declined";
  /** For a declined request: the OpenID4VP error code the wallet sent (`access_denied` when the person said no). */
  declinedWith?: string;
  createdAt: string;
  grantId?: string;
  /** What the person chose within what the request stated: the level and the claim names received. */
  granted?: { level: GrantLevel; claimNames: string[] };
  /** When a wallet first fetched the request object (the checkout shows "scanned" from then on). */
  fetchedAt?: string;
  /** When the checkout's customer cancelled it: the request object is no longer served, no answer is taken. */
  cancelledAt?: string;
  /** Opened by the checkout page: after the answer the wallet is sent back there. */
  fromCheckout?: boolean;
  /**
   * For a `direct_post.jwt` request: the private half of the key made for it (sealed like claims at rest),
   * its kid and the `enc` values offered. Removed as soon as the request is answered or declined.
   */
  responseDecryption?: { kid: string; sealedPrivateJwk: string; encValues: string[] };
}

export interface StoredGrant {
  grantId: string;
  requestId: string;
  level: GrantLevel;
  /** What the merchant learned, for `verified`/`pseudonymous` (flags only, no identity values). */
  claims: Record<string, unknown>;
  /** For `full`: the identity claims, sealed under the merchant's key until the retention sweep deletes them. */
  sealedClaims?: string;
  retentionExpiredAt?: string;
  pseudonym?: string;
  /** For `pseudonymous`: the account it opened or entered (the issuer-signed pseudonym). */
  memberId?: string;
  /** The wallet's consent receipt, when it sent one (a plain OpenID4VP answer does not). */
  consentReceipt?: string;
  /** The key that signed the presentation (the grant receipt's subject): who may withdraw. */
  holderDid?: string;
  /**
   * Without a consent receipt, the person's signed consent is the presentation itself (its key-binding JWT over
   * the transaction data): kept sealed with the exact grant terms string, for evidence.
   */
  sealedPresentation?: string;
  transactionData?: string;
  grantReceipt: string;
  grantedAt: string;
  retentionUntil: string;
  withdrawal?: { receipt: string; acknowledgement: string; at: string };
}

export interface LoginChallenge {
  challengeId: string;
  nonce: string;
  expiresAt: number;
  status: "pending" | "logged-in";
  pseudonym?: string;
  /** For a challenge opened by the checkout page: only that browser may read the outcome. */
  frontEndSecretHash?: string;
}

export type RequestResult =
  | { status: "pending" }
  /** The wallet declined (OpenID4VP error response): nothing was received. */
  | { status: "declined" }
  /** What the transaction secret alone shows: that an answer arrived, at which level; never values or the pseudonym. */
  | { status: "accepted"; level: GrantLevel }
  | {
      status: "accepted";
      grantId: string;
      /** The level the person chose (within the request's preferred and accepted levels) and the claim names received. */
      level: GrantLevel;
      claimNames?: string[];
      verified: true;
      claims: Record<string, unknown>;
      retention?: string;
      withdrawn?: boolean;
      account?: { pseudonym: string; returning: boolean; visits: number; openedAt: string };
    };

/**
 * A pseudonymous account. One per person here: it is keyed by the issuer-signed pseudonym for this merchant
 * (the issuer's keyed hash of person and merchant DID), so a second credential, a second wallet or a fresh
 * registration of the same person lands in the same account and a ban on it holds. The wallet's pairwise
 * did:key is the login key recorded on the account (login by signed challenge); each new wallet adds its own.
 */
export interface Account {
  /** The issuer-signed pseudonym: the account's identity at this merchant, and the key it is stored under. */
  pseudonym: string;
  /** Wallet keys that may log in (pairwise did:key), newest last. */
  loginKeys: string[];
  openedAt: string;
  lastSeenAt: string;
  visits: number;
}
