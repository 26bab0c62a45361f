import { Agent } from "undici";
import { z } from "zod";
import { AgentError, UpstreamError } from "../errors.js";
import { boundedFetch } from "../http/bounded-fetch.js";
import { validateResidentIdNumber, type IdentityRegistry, type RegistryPerson } from "./identity-registry.js";

/** How to reach a real ID-check service: its base URL and the TLS material of the mutual-TLS connection. */
export interface HttpsRegistryOptions {
  /** https base URL; the service answers GET {baseUrl}/people/{idNumber}. */
  baseUrl: string;
  /** This issuer's client certificate and key (PEM), which the service requires. */
  clientCert: string | Buffer;
  clientKey: string | Buffer;
  /** The CA(s) that sign the service's server certificate (PEM); the system roots when absent. */
  ca?: string | Buffer;
  timeoutMs?: number;
  /** Largest answer accepted (a record with its photo), bytes. */
  maxBytes?: number;
}

const answerSchema = z
  .object({
    recordId: z.string().min(1).max(128),
    idNumber: z.string(),
    fullName: z.string().min(1).max(64),
    familyName: z.string().min(1).max(32),
    givenName: z.string().min(1).max(32),
    birthDate: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
    photoBase64: z.string().regex(/^[A-Za-z0-9+/]+={0,2}$/).optional(),
  })
  .passthrough();

/**
 * An adapter for a real ID-check service over mutual TLS: the issuer presents its client certificate and
 * accepts only a server certificate from the configured CA. Every call goes through the bounded fetch (https
 * only, time and size capped, no cross-host redirects). An answer that is not a consistent record for the
 * number asked is an upstream failure (ERR_REGISTRY_UPSTREAM), never a person.
 */
export class HttpsIdentityRegistry implements IdentityRegistry {
  private readonly dispatcher: Agent;
  constructor(private readonly options: HttpsRegistryOptions) {
    if (!options.baseUrl.startsWith("https://")) throw new AgentError("ERR_CONFIG", "the ID-check service is reached over https only");
    this.dispatcher = new Agent({ connect: { cert: options.clientCert, key: options.clientKey, ...(options.ca ? { ca: options.ca } : {}), rejectUnauthorized: true } });
  }

  async lookup(idNumber: string): Promise<RegistryPerson | undefined> {
    const found = await this.fetchRecord(idNumber);
    if (!found) return undefined;
    const { photoBase64: _photo, ...rest } = found;
    return { idNumber: rest.idNumber, fullName: rest.fullName, familyName: rest.familyName, givenName: rest.givenName, birthDate: rest.birthDate, recordId: rest.recordId };
  }

  async photo(idNumber: string): Promise<Uint8Array | undefined> {
    const found = await this.fetchRecord(idNumber);
    return found?.photoBase64 ? Buffer.from(found.photoBase64, "base64") : undefined;
  }

  async close(): Promise<void> {
    await this.dispatcher.close();
  }

  private async fetchRecord(idNumber: string): Promise<z.infer<typeof answerSchema> | undefined> {
    const id = idNumber.toUpperCase();
    // Never send a malformed number upstream (nor a path segment built from one).
    if (!validateResidentIdNumber(id).valid) return undefined;
    const url = `${this.options.baseUrl.replace(/\/$/, "")}/people/${id}`;
    let response: Response;
    try {
      response = await boundedFetch(url, { headers: { accept: "application/json" }, dispatcher: this.dispatcher } as RequestInit, { timeoutMs: this.options.timeoutMs ?? 5000, maxBytes: this.options.maxBytes ?? 3_000_000, allowLoopbackHttp: false });
    } catch (cause) {
      throw new UpstreamError("ERR_REGISTRY_UPSTREAM", "the ID-check service cannot be reached", undefined, { cause });
    }
    if (response.status === 404) return undefined;
    if (response.status !== 200) throw new UpstreamError("ERR_REGISTRY_UPSTREAM", `the ID-check service answered ${response.status}`);
    let body: unknown;
    try {
      body = await response.json();
    } catch (cause) {
      throw new UpstreamError("ERR_REGISTRY_UPSTREAM", "the ID-check service answered something that is not JSON", undefined, { cause });
    }
    const parsed = answerSchema.safeParse(body);
    if (!parsed.success || parsed.data.idNumber.toUpperCase() !== id || validateResidentIdNumber(id).birthDate !== parsed.data.birthDate) {
      throw new UpstreamError("ERR_REGISTRY_UPSTREAM", "the ID-check service's answer is not a record of the number asked");
    }
    return parsed.data;
  }
}
