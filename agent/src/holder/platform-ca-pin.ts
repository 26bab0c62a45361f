import { fetchJson } from "../http/json-client.js";
import { parseCertificates } from "../grants/x509-client.js";

/** Where the issuer (the platform) publishes its merchant CA's root certificate. */
export const PLATFORM_CA_PEM_PATH = "/platform-ca.pem";

/**
 * The platform's merchant CA certificate, fetched from the issuer at the moment the wallet first trusts that
 * issuer (its credential offer), to be pinned in the wallet's settings. Undefined when the issuer publishes
 * none or what it serves is not a certificate: the wallet then simply refuses `x509_san_dns` merchants.
 */
export async function fetchPlatformCa(issuerUrl: string): Promise<string[] | undefined> {
  try {
    const pem = await fetchJson<unknown>(new URL(PLATFORM_CA_PEM_PATH, issuerUrl).href, { accept: "application/x-pem-file", timeoutMs: 5000, maxBytes: 64_000 });
    if (typeof pem !== "string" || parseCertificates([pem]).length === 0) return undefined;
    return [pem.trim()];
  } catch {
    return undefined;
  }
}
