import type {
  AnchorQueue,
  CredentialIssuance,
  DeviceRegistry,
  IdentityIssuer,
  IdentityVault,
  JwsSigner,
  RegistrationService,
  RiskEngine,
  StatusListService,
  TrustRegistry,
} from "@realname/agent";

/** Everything the issuer's HTTP layer needs; server.ts (the composition root) builds it. */
export interface IssuerDeps {
  issuer: { did: string; name: string; signer: JwsSigner };
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
  clock?: () => Date;
  log?: (line: string) => void;
}
