import type {
  AnchorQueue,
  CredentialIssuance,
  DeviceRegistry,
  IdentityIssuer,
  IdentityVault,
  JwsSigner,
  RegistrationService,
  RiskEngine,
  SpentTokens,
  StatusListService,
  TrustRegistry,
} from "@realname/agent";

/** Everything the issuer's HTTP layer needs; server.ts (the composition root) builds it. */
export interface IssuerDeps {
  /** `iss`: what credentials and status lists carry (the DID unless given: the public URL, ISSUER_IDENTIFIER=url). */
  issuer: { did: string; name: string; signer: JwsSigner; iss?: () => string };
  baseUrl: () => string;
  registration: RegistrationService;
  devices: DeviceRegistry;
  risk: RiskEngine;
  issuance: CredentialIssuance;
  identityIssuer: IdentityIssuer;
  status: StatusListService;
  trust: TrustRegistry;
  vault: IdentityVault;
  /** Anchoring queue of status-list changes. */
  queue: AnchorQueue;
  /** Bearer token for the admin endpoints. */
  adminToken: string;
  /** Single-use `jti`s of notary attestations. */
  spentTokens: SpentTokens;
  /** Requests per client address and window (429 ERR_RATE_LIMITED beyond). */
  rateLimit?: { max: number; windowMs: number };
  clock?: () => Date;
  log?: (line: string) => void;
}
