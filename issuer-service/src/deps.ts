import type {
  AnchorQueue,
  AttestedIdentities,
  CredentialIssuance,
  DeviceEnrolment,
  DeviceRegistry,
  IdentityIssuer,
  IdentityVault,
  JwsSigner,
  PlatformCa,
  RegistrationService,
  RiskEngine,
  SpentTokens,
  StatusListService,
  TraceService,
  TrustRegistry,
} from "@realname/agent";
import type { PaymentsPlatform } from "./routes/payments.js";

/** Everything the issuer's HTTP layer needs; server.ts (the composition root) builds it. */
export interface IssuerDeps {
  /** `iss`: what credentials and status lists carry (the DID unless given: the public URL, ISSUER_IDENTIFIER=url). */
  issuer: { did: string; name: string; signer: JwsSigner; iss?: () => string };
  baseUrl: () => string;
  registration: RegistrationService;
  devices: DeviceRegistry;
  /** Capture devices enrolling themselves with WebAuthn attestation (absent: admin enrolment only). */
  enrolment?: DeviceEnrolment;
  /** Keyed hash of a client address (the risk log never holds the address itself). */
  addressRef: (address: string) => string;
  risk: RiskEngine;
  issuance: CredentialIssuance;
  identityIssuer: IdentityIssuer;
  status: StatusListService;
  trust: TrustRegistry;
  vault: IdentityVault;
  /** Anchoring queue of status-list changes. */
  queue: AnchorQueue;
  /** The platform's merchant CA (x509_san_dns merchants): its root is published, its leaves issued by admins. */
  platformCa?: PlatformCa;
  /** Bearer token for the admin endpoints. */
  adminToken: string;
  /** Notaries' in-person identity uploads, cross-checked against the registry. */
  attestations: AttestedIdentities;
  /** Single-use `jti`s of notary attestations. */
  spentTokens: SpentTokens;
  /** The platform's trace of every authorization, its escrow, and notaries' legal requests. */
  trace: TraceService;
  /** Requests per client address and window (429 ERR_RATE_LIMITED beyond). */
  rateLimit?: { max: number; windowMs: number };
  /** In-person payments verified by proximity and nearby peers (seed 003); absent: the routes are not served. */
  payments?: PaymentsPlatform;
  clock?: () => Date;
  log?: (line: string) => void;
}
