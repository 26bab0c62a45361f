// The library every role is built from. Explicit named exports only.
export { AgentError, InvalidInputError, VerificationFailedError, UpstreamError, httpStatusFor } from "./errors.js";
export type { VerificationIssue } from "./errors.js";
export { sha256B64url, sha256Hex, random128, b64url, fromB64url } from "./encoding.js";
export type { DocumentStore, StoreDatabase, ListOptions } from "./stores/document-store.js";
export { KeyedMutex, iterateStore, durably } from "./stores/document-store.js";
export { PgDatabase, PgDocumentStore } from "./stores/pg-store.js";
export { PgAdvisoryLease, SOLE_OWNER_LEASE, type Lease } from "./stores/lease.js";
export { openRoleDatabase } from "./stores/open-database.js";
export { GroupCommit } from "./stores/group-commit.js";
export { MemoryDocumentStore } from "./stores/memory-store.js";
export { LevelDatabase, LevelDocumentStore } from "./stores/level-store.js";
export { ensurePrivateDir, writePrivateFile, restrictTree, chmodIfPresent, privateUmask, PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from "./stores/private-files.js";
export { SpentTokens } from "./stores/spent-tokens.js";
export { PassphraseBox } from "./crypto/passphrase-box.js";
export { decodeJws, signJws, verifyEd25519, keyObjectSigner } from "./crypto/jws.js";
export type { JwsSigner, DecodedJws } from "./crypto/jws.js";
export { createRoleAgent, ensureIdentifier, createIdentifier, identifierSigner, identifierKeyObjectSigner } from "./identity/agent.js";
export type { RoleAgent } from "./identity/agent.js";
export { didKeyFromPublicKey, publicKeyFromDidKey, jwkFromDidKey, didKeyFromJwk, publicKeyFromJwk, didKeyKid, didKeyDocument } from "./identity/did-key.js";
export type { Ed25519PublicJwk } from "./identity/did-key.js";
export { IDENTITY_VCT_PATH, identityVct, IDENTITY_CLAIM_NAMES, FULL_LEVEL_CLAIMS, GRANT_LEVELS, claimsForLevel } from "./sdjwt/identity-credential.js";
export type { IdentityClaims, GrantLevel, IdentityClaimName } from "./sdjwt/identity-credential.js";
export { identityTypeMetadata } from "./sdjwt/type-metadata.js";
export { IssuerMetadataResolver, JWT_VC_ISSUER_WELL_KNOWN, jwtVcIssuerMetadata, jwtVcIssuerMetadataUrl, isUrlIssuer } from "./sdjwt/issuer-metadata.js";
export { issueIdentityCredential, SD_DIGEST_BUCKET } from "./sdjwt/issue.js";
export { batchCredentialTimes } from "./sdjwt/credential-times.js";
export { merchantPseudonymClaim, isMerchantPseudonymClaim } from "./sdjwt/merchant-pseudonym.js";
export { selectDisclosures, bindPresentation, readCredentialClaims } from "./sdjwt/present.js";
export { verifySdJwtPresentation } from "./sdjwt/verify.js";
export type { VerifyPresentationOptions, PresentationVerification, TrustedIssuerKey } from "./sdjwt/verify.js";
export { presentationRequestSchema, grantTermsSchema, requestHash } from "./grants/request.js";
export type { PresentationRequest } from "./grants/request.js";
export { derivePairwiseKey, signPairwiseProof, verifyPairwiseProof } from "./grants/pairwise.js";
export { verifyGrantResponse, transactionDataHashErrors, kbJwtOf } from "./grants/verify-response.js";
export type { GrantResponse, VerifiedGrant, PresentationBinding } from "./grants/verify-response.js";
export { consentExpiresAt, consentTermsErrors, CONSENT_TIME_SKEW_SECONDS } from "./grants/verify-response.js";
export {
  createConsentReceipt,
  createGrantReceipt,
  createReceipt,
  verifyReceipt,
  receiptHash,
  CONSENT_RECEIPT_TYPE,
  GRANT_RECEIPT_TYPE,
  WITHDRAWAL_RECEIPT_TYPE,
  WITHDRAWAL_ACK_TYPE,
} from "./receipts/receipts.js";
export type { ConsentRecord, GrantRecord, WithdrawalRecord, WithdrawalAckRecord, ReceiptSigner } from "./receipts/receipts.js";
export { receiptLeaf, buildMerkleBatch, verifyMerkleInclusion, newLeafSalt } from "./merkle/merkle.js";
export {
  AnchorRegistryClient,
  ANCHOR_REGISTRY_ABI,
  deployAnchorRegistry,
  readDeployment,
  writeDeployment,
  isDeploymentLive,
  providerFor,
  devAccountKey,
  DEFAULT_DEPLOYMENT_FILE,
  DEFAULT_RPC_URL,
  HARDHAT_CHAIN_ID,
  REPO_ROOT,
} from "./anchoring/registry-contract.js";
export type { Deployment, ChainAnchor } from "./anchoring/registry-contract.js";
export { AnchorQueue } from "./anchoring/anchor-queue.js";
export type { AnchorRecord } from "./anchoring/anchor-queue.js";
export { resolveChain } from "./anchoring/resolve-chain.js";
export { buildEvidenceBundle, verifyEvidenceBundle, evidenceBundleSchema, EVIDENCE_FORMAT } from "./notary/evidence.js";
export type { EvidenceBundle, EvidenceReport, EvidenceCheck, InclusionProof } from "./notary/evidence.js";
export { HolderWallet } from "./holder/wallet.js";
export type { StoredCredential, GrantEntry, ConsentPreview, RegistrationMaterials, Transport, AnswerPolicy, WalletSettings } from "./holder/wallet.js";
export { LOW_BATCH_THRESHOLD } from "./holder/wallet.js";
export { checkMerchantRequest } from "./holder/request-check.js";
export type { CheckedRequest } from "./holder/request-check.js";
export { messageFor } from "./holder/messages.js";
export { lockDuration, LOCK_POLICY } from "./crypto/passphrase-box.js";
export { validateResidentIdNumber, residentIdNumberSchema, withCheckDigit, sameName, ageOn } from "./registry/identity-registry.js";
export type { IdentityRegistry, RegistryPerson, IdNumberProblem } from "./registry/identity-registry.js";
export { FileIdentityRegistry, parseRegistryFile, registryRecordSchema } from "./registry/file-registry.js";
export { HttpsIdentityRegistry } from "./registry/https-registry.js";
export type { HttpsRegistryOptions } from "./registry/https-registry.js";
export { identityRegistryFromEnv } from "./registry/from-config.js";
export { fetchJson } from "./http/json-client.js";
export { boundedFetch, boundedFetcher, checkFetchUrl, isLoopbackHost, isPrivateHost, isLoopbackHttpUrl, withFetchPolicy, FETCH_DEFAULTS } from "./http/bounded-fetch.js";
export type { FetchPolicy } from "./http/bounded-fetch.js";
export { createServiceApp, requireJson, parseInput, handle, notFound, errorHandler, rateLimiter } from "./http/service-kit.js";
export { DataKey } from "./issuer/data-key.js";
export { IdentityVault } from "./issuer/identity-vault.js";
export type { VerifiedIdentity, VerificationEvidence } from "./issuer/identity-vault.js";
export { DeviceRegistry, DEVICE_PROOF_TYP, deviceIdSchema } from "./issuer/devices.js";
export type { DeviceRecord } from "./issuer/devices.js";
export { inspectPortrait } from "./issuer/face-matcher.js";
export type { FaceMatcher, FaceComparison } from "./issuer/face-matcher.js";
export { HumanFaceMatcher, FACE_MATCH_THRESHOLD } from "./issuer/face/human-face-matcher.js";
export { analyseImage, analyseSingleFace, cosineSimilarity, pixelCorrelation, MAX_IMAGE_BYTES } from "./issuer/face/analyse.js";
export type { FaceObservation } from "./issuer/face/analyse.js";
export { loadHuman } from "./issuer/face/human-runtime.js";
export { replayOf, REPLAY_MIN_EMBEDDING, REPLAY_MIN_PIXELS } from "./issuer/face/replay.js";
export { HumanLivenessCheck, framesDigest, actionsPerformed, LIVENESS_LIMITS, CHALLENGE_ACTIONS } from "./issuer/face/liveness.js";
export type { LivenessCheck, LivenessChallenge, LivenessEvidence, LivenessResult, ChallengeAction } from "./issuer/face/liveness.js";
export { RegistryFaceIndex, isFaceSearchable } from "./issuer/face/candidate-index.js";
export type { FaceCandidates, FaceCandidate, FaceSearchableRegistry } from "./issuer/face/candidate-index.js";
export {
  RiskEngine,
  RiskState,
  DEFAULT_RISK_LIMITS,
  DEFAULT_RISK_RULES,
  blacklistedPerson,
  blacklistedDevice,
  tooManyPerDevice,
  tooManyPerAddress,
  tooManyPerPerson,
  duplicateFaceByEmbedding,
  flaggedDevice,
} from "./issuer/risk.js";
export type { RiskClass, RiskContext, RiskLogEntry, RiskLimits, RiskRule, RiskAssessment, TrustSignals, DuplicateFaceCheck } from "./issuer/risk.js";
export { riskLimitsFromEnv } from "./issuer/risk-config.js";
export { AttestedIdentities } from "./issuer/attested-identities.js";
export { portraitBase64Schema, imageBase64Schema, MAX_PORTRAIT_BYTES, MAX_FRAME_BYTES } from "./issuer/portrait-input.js";
export { signIdentityAttestation, uploadIdentityAttestation, attestedPersonSchema, IDENTITY_ATTESTATION_TYP } from "./notary/identity-attestation.js";
export type { AttestedPerson, AttestationResult } from "./notary/identity-attestation.js";
export type { IdentityReview } from "./issuer/attested-identities.js";
export { DeviceEnrolment, enrolmentPolicyFromEnv, enrolDeviceScript } from "./issuer/device-enrolment.js";
export type { DeviceEnrolmentPolicy } from "./issuer/device-enrolment.js";
export { StatusListService, STATUS, STATUS_LIST_TYP } from "./issuer/status-list.js";
export type { StatusName } from "./issuer/status-list.js";
export { TrustRegistry, verifyTrustRegistry, merchantEntrySchema, notaryEntrySchema, TRUST_REGISTRY_TYP } from "./issuer/trust-registry.js";
export type { MerchantEntry, NotaryEntry, TrustRegistryDocument } from "./issuer/trust-registry.js";
export { RegistrationService, maskName, maskIdNumber, identityClaimsFor } from "./issuer/registration.js";
export { IdentityIssuer } from "./issuer/identity-issuer.js";
export { CredentialIssuance, CREDENTIAL_CONFIGURATION_ID } from "./issuer/credential-issuance.js";
export type { HttpRequestLike } from "./issuer/credential-issuance.js";
export { sweepIssuer } from "./issuer/sweep.js";
export { HolderKeyIndex } from "./issuer/holder-keys.js";
export { PlatformTrace } from "./issuer/platform-trace.js";
export type { TraceEntry, TraceGrant, TraceAccess, TraceAnchor } from "./issuer/platform-trace.js";
export { TraceService, traceReportSchema } from "./issuer/trace-service.js";
export type { TraceReport, TraceView, LegalAnswer } from "./issuer/trace-service.js";
export { signNotaryReport, anchorReport, checkNotaryReport, bundleHash, reportHash, newReportNumber, notaryReportFileSchema, NOTARY_REPORT_FORMAT, NOTARY_REPORT_TYPE } from "./notary/signed-report.js";
export type { NotaryReportFile, NotaryReportSubject, ReportAnchor, ReportCheckResult } from "./notary/signed-report.js";
export { renderReportPdf, findCjkFont } from "./notary/report-pdf.js";
export { timeInWords, grantInWords, checkInWords, levelInWords, claimInWords, DEFAULT_REPORT_TIME_ZONE } from "./notary/report-words.js";
export { signLegalRequest, requestFromPlatform } from "./notary/legal-request.js";
export type { LegalSubject } from "./notary/legal-request.js";
export { traceReportFor, reportGrantToPlatform, fetchOwnTrace } from "./holder/platform-trace-client.js";
export { signRequest, checkSignedRequest, TRACE_REQUEST_TYP, LEGAL_REQUEST_TYP, SIGNED_REQUEST_MAX_LIFETIME_SECONDS } from "./issuer/signed-request.js";
export { redeemCredentialOffer } from "./holder/oid4vci-client.js";
export { oid4vcCallbacks, allowHttpIfLoopback } from "./oid4vc/callbacks.js";
export { connectAnchoring, connectAnchoringFromEnv } from "./anchoring/connect.js";
export { submitRegistration, confirmRegistration, requestLivenessChallenge } from "./holder/capture.js";
export type { CaptureDevice, CaptureMaterials } from "./holder/capture.js";
export { StatusListResolver, DEFAULT_STATUS_MAX_AGE_SECONDS } from "./sdjwt/status.js";
export type { StatusReference } from "./sdjwt/status.js";
export { notaryAuthorization, NotaryGate, NOTARY_AUTH_SCHEME } from "./notary/access.js";
export { TrustRegistryResolver } from "./grants/trust-registry-resolver.js";
export { PlatformCa, MERCHANT_CERT_DAYS, type MerchantCertificate, type Sealer } from "./issuer/platform-ca.js";
export { X509_SAN_DNS_PREFIX, X509_HASH_PREFIX, x509HashOf, x509ClientIdFor, isX509ClientId, x509ClientIdOf, merchantX5c, registeredDnsNames, parseCertificates, verifyX509Client, type X509ClientConfig, type VerifiedX509Client } from "./grants/x509-client.js";
export { fetchPlatformCa, PLATFORM_CA_PEM_PATH } from "./holder/platform-ca-pin.js";
export type { RelyingRegistry } from "./grants/trust-registry-resolver.js";
export { loadTrustAnchors, connectTrustedRegistries, trustAnchorsSchema, ANCHOR_TIME_SKEW_SECONDS } from "./notary/trust.js";
export type { TrustAnchors } from "./notary/trust.js";
export { verifyPresentation } from "./sdjwt/verify-presentation.js";
export type { PresentationResult } from "./sdjwt/verify-presentation.js";
export { createAuthorizationRequest, resolveAuthorizationRequest, submitAuthorizationResponse, submitDecline, parseAuthorizationResponse, dcqlFor, DCQL_CREDENTIAL_ID, CLIENT_ID_PREFIX, SELF_ISSUED_AUDIENCE, VP_FORMATS_SUPPORTED, clientIdOf, grantTermsFor, presentationRequestOf, requestedClaimNames, type ResolvedRequest, type SubmitResult } from "./grants/openid4vp.js";
export { REALNAME_GRANT_TRANSACTION_TYPE, TRANSACTION_DATA_HASH_ALG, grantTransactionDataSchema, encodeTransactionData, decodeTransactionData, transactionDataHash, type GrantTransactionData } from "./grants/transaction-data.js";
export { newResponseEncryptionKey, decryptAuthorizationResponse, encryptAuthorizationResponse, responseEncryptionTarget, RESPONSE_MODE_PLAIN, RESPONSE_MODE_ENCRYPTED, RESPONSE_MODES, RESPONSE_ENCRYPTION_ALG, RESPONSE_ENC_VALUES, DEFAULT_RESPONSE_ENC, MAX_ENCRYPTED_RESPONSE_CHARS, type ResponseMode, type ResponseDecryptionKey, type ResponseEncryptionTarget } from "./grants/response-encryption.js";
export { publicJwkFromDidKey } from "./identity/did-key-any.js";
export { renderEvidenceReport } from "./notary/report.js";
export { html, raw, escapeHtml, SafeHtml } from "./web/html.js";
export { renderPage, notice, assets as webAssets } from "./web/layout.js";
export { pageLang, pageWords, languageSwitch } from "./web/lang.js";
export { DEFAULT_LANG, DEFAULT_TIME_ZONE, formatTime, formatDate, parseLang, langFromAcceptLanguage, translator, type Lang, type Translate } from "./i18n/index.js";
export type { PageOptions, NavLink } from "./web/layout.js";
export { PAGE_CSP, formBody, sameOriginPost, allowHosts, pageErrorHandler } from "./web/security.js";
export { CLAIM_LABELS, LEVEL_LABELS, claimLabel, claimValue, shortId, merchantMark } from "./web/labels.js";
export { listenOn } from "./web/listen.js";
export type { Listening } from "./web/listen.js";
export { createWalletWebApp, classifyLink } from "./holder/web/app.js";
export type { WalletWebDeps } from "./holder/web/app.js";
export { serveWalletWeb } from "./holder/web/serve.js";
export { createNotaryConsoleApp, CHECK_WORDS } from "./notary/console.js";
export type { NotaryConsoleDeps } from "./notary/console.js";
// Issue 13 (ES256 next to EdDSA): the algorithm layer, P-256 did:key, P-256 holder identifiers.
export { JWS_ALGS, isJwsAlg, algForJwk, jwkThumbprint, generateSigningKey, publicJwkOfKeyObject, signJwt, verifyJwt, verifyRequestObjectSignature, assertVerified, REQUEST_OBJECT_TYP } from "./crypto/algorithms.js";
export type { JwsAlg, JwtVerification } from "./crypto/algorithms.js";
export { algForDidKey, publicJwkFrom } from "./identity/did-key.js";
export type { PublicJwk, P256PublicJwk } from "./identity/did-key.js";
export { identifierAlg, ensureKeyObjectSigner } from "./identity/agent.js";
// Issue 18 (seed 003): in-person payments verified by proximity and nearby peers.
export * from "./payments/index.js";
export { acceptableLevels, allChoosableClaimNames, assertChoice, choiceClaimNames, choiceErrors, choiceFromDisclosed, choiceOf, offersChoice, preferredChoice, termsAreCoherent, type ChoiceTerms, type GrantChoice } from "./grants/choice.js";
