export { TERMINAL_TYP, terminalIdSchema, p256JwkSchema, verifyTerminalMessage, NonceLedger, MESSAGE_MAX_AGE_SECONDS } from "./terminal-message.js";
export { TerminalRegistry, MAX_FAILED_UNLOCKS, type TerminalRecord } from "./terminals.js";
export { GeohashPositionIndex, distanceM, type Position, type PositionStore, type Nearby } from "./position-index.js";
export { PositionReports, MAX_SPEED_M_PER_S, POSITION_MAX_AGE_MS, signedPositionSchema } from "./positions.js";
export { MerchantPolicies, merchantPolicySchema, checkDistance, DEFAULT_POLICY, type MerchantPolicy } from "./policy.js";
export { InPersonPayments, PAYMENT_DECISION_TYPE, PAYMENT_UNLOCK_TYPE, type InPersonPaymentsDeps, type PaymentDecisionRecord, type VerificationView, type PeerRequestView } from "./in-person.js";
export { platformRelay, POS_CALLS, WALLET_CALLS, type RelayedCall } from "./relay.js";
