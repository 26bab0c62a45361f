/**
 * What the person reads when the wallet refuses: plain words, what happened and that nothing was shared.
 * Codes stay stable for scripts; these sentences are for people.
 */
const MESSAGES: Record<string, string> = {
  ERR_MERCHANT_UNREGISTERED: "This merchant is not registered with the identity platform, so your wallet will not answer it. Nothing was shared.",
  ERR_REQUEST_SIGNATURE: "This request is not really signed by the merchant it names. It may be a forgery. Nothing was shared.",
  ERR_REQUEST_MALFORMED: "This request is damaged or not a merchant request at all. Nothing was shared.",
  ERR_REQUEST_EXPIRED: "This request has expired. Ask the merchant for a new one. Nothing was shared.",
  ERR_LEVEL_NOT_ALLOWED: "This merchant asks for more than it is registered to receive. Nothing was shared.",
  ERR_PURPOSE_NOT_ALLOWED: "This merchant states a purpose it is not registered for. Nothing was shared.",
  ERR_CLAIMS_NOT_REGISTERED: "This merchant asks for identity details it is not registered to receive. Nothing was shared.",
  ERR_MERCHANT_NAME_MISMATCH: "This request calls the merchant by a name the identity platform does not have for it. It may be an imitation. Nothing was shared.",
  ERR_ORIGIN_NOT_REGISTERED: "This comes from, or would answer to, a website the identity platform has not registered for this merchant. It may be an imitation. Nothing was shared or signed.",
  ERR_REQUEST_CHANGED: "The request changed since you reviewed it (or the review is too old); review it again. A changed request needs your consent again. Nothing was shared.",
  ERR_TRUST_REGISTRY_INVALID: "The platform's list of merchants could not be checked, so your wallet will not answer. Nothing was shared.",
  ERR_NO_CREDENTIAL: "Your wallet holds no identity credential yet. Register first.",
  ERR_BATCH_EXHAUSTED: "Every credential in your wallet has been used (each answer gets a fresh one, so answers cannot be linked). Refresh your batch (wallet refresh) to answer privately.",
  ERR_PSEUDONYM_UNAVAILABLE: "Your credentials carry no member pseudonym for this merchant yet (it was registered after they were issued), and a fresh batch could not be fetched. Try wallet refresh. Nothing was shared.",
  ERR_WALLET_LOCKED: "Too many wrong PINs. The wallet is locked for a while.",
  ERR_WRONG_PASSPHRASE: "The PIN is wrong.",
  ERR_WEAK_PASSPHRASE: "A PIN has at least 4 characters.",
  ERR_DECLINED: "You declined. Nothing was sent to the merchant.",
  ERR_UPSTREAM: "The service could not be reached. Check the connection and try again.",
  ERR_NONCE_REUSED: "This request has already been answered. Ask the merchant for a new one.",
  ERR_REQUEST_NOT_FOUND: "The merchant no longer knows this request. Ask the merchant for a new one. Nothing was shared.",
  ERR_GRANT_RECEIPT_INVALID: "The merchant's answer was not a valid signed receipt for your consent. Keep this in mind: the merchant may not have recorded your grant properly.",
  ERR_GRANT_NOT_FOUND: "This grant is not in your wallet.",
  ERR_CONFLICT: "This was already done.",
  ERR_NOT_ANCHORED: "The receipts are not on the chain yet. Try again in a few seconds.",
  ERR_CHALLENGE_NOT_FOUND: "This login link has expired or was already used. Ask the merchant for a new one.",
  ERR_ACCOUNT_NOT_FOUND: "You have no member account at this merchant yet. Share the pseudonymous level with it first.",
  ERR_LINK_UNRECOGNISED: "This link is not a merchant request or a login link. Copy the whole link the merchant shows.",
  ERR_SESSION_EXPIRED: "Your wallet was locked. Enter your PIN to go on.",
  ERR_FORBIDDEN_ORIGIN: "This action came from another website, so it was refused. Use the wallet's own page.",
  ERR_FORBIDDEN_HOST: "This page was reached under an unexpected address, so it was refused.",
  ERR_CHAIN_UNAVAILABLE: "The chain cannot be reached right now, so the receipts cannot be checked. Try again later.",
  ERR_INVALID_INPUT: "Some of what was entered is missing or not valid.",
  ERR_NOT_FOUND: "There is no such page.",
  ERR_STORE_IN_USE: "The wallet is open in another program (the wallet's web page or a command). Lock or close it there first.",
  ERR_TRANSACTION_DATA_UNSUPPORTED: "This request asks your wallet to sign a kind of transaction it does not know. Nothing was shared.",
  ERR_REQUEST_UNSUPPORTED: "This request asks for an answer your wallet cannot give (only a direct answer to the merchant is supported). Nothing was shared.",
  ERR_RATE_LIMITED: "Too many attempts in a short time. Wait a minute and try again.",
};

export function messageFor(code: string, fallback: string): string {
  return MESSAGES[code] ?? fallback;
}
