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
  ERR_TRUST_REGISTRY_INVALID: "The platform's list of merchants could not be checked, so your wallet will not answer. Nothing was shared.",
  ERR_NO_CREDENTIAL: "Your wallet holds no identity credential yet. Register first.",
  ERR_BATCH_EXHAUSTED: "Every credential in your wallet has been used with another merchant. Refresh your batch (wallet refresh) to answer privately.",
  ERR_WALLET_LOCKED: "Too many wrong PINs. The wallet is locked for a while.",
  ERR_WRONG_PASSPHRASE: "The PIN is wrong.",
};

export function messageFor(code: string, fallback: string): string {
  return MESSAGES[code] ?? fallback;
}
