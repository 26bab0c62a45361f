import type { VerificationIssue } from "../errors.js";
import type { StatusListResolver } from "./status.js";
import { verifySdJwtPresentation, type VerifyPresentationOptions } from "./verify.js";

export interface PresentationResult {
  verified: boolean;
  claims?: Record<string, unknown>;
  disclosed?: string[];
  issuer?: string;
  keyBinding?: Record<string, unknown>;
  errors: VerificationIssue[];
}

/**
 * The merchant's verification as a library call: every RFC 9901 check (see verify.ts) and, when a
 * resolver is given, the credential's status. Clock, trust list and network are injected; the result
 * reports refusals with codes and never throws on bad input.
 */
export async function verifyPresentation(options: VerifyPresentationOptions & { status?: StatusListResolver }): Promise<PresentationResult> {
  const r = verifySdJwtPresentation(options);
  if (!r.verified) return { verified: false, errors: r.errors };
  if (options.status) {
    const errors = await options.status.check(r.claims?.status, r.issuer!, (options.now ?? (() => new Date()))(), { issuerJwk: r.issuerJwk, issuerJwks: r.issuerJwks });
    if (errors.length) return { verified: false, errors };
  }
  const claims = Object.fromEntries(r.disclosed!.map((n) => [n, r.claims![n]]));
  return { verified: true, claims, disclosed: r.disclosed, issuer: r.issuer, keyBinding: r.keyBinding, errors: [] };
}
