import { readFileSync } from "node:fs";
import { AgentError } from "../errors.js";
import { FileIdentityRegistry } from "./file-registry.js";
import { HttpsIdentityRegistry } from "./https-registry.js";
import type { IdentityRegistry } from "./identity-registry.js";

/**
 * The identity registry the configuration names (the issuer's start-up has no people of its own):
 * IDENTITY_REGISTRY=file (default) reads IDENTITY_REGISTRY_FILE (JSON or NDJSON, see FileIdentityRegistry);
 * IDENTITY_REGISTRY=https calls IDENTITY_REGISTRY_URL with the client certificate IDENTITY_REGISTRY_CLIENT_CERT
 * and key IDENTITY_REGISTRY_CLIENT_KEY (PEM files) and trusts the server certificate's IDENTITY_REGISTRY_CA.
 */
export function identityRegistryFromEnv(env: NodeJS.ProcessEnv, defaultFile: string): IdentityRegistry {
  const kind = env.IDENTITY_REGISTRY ?? "file";
  if (kind === "file") return new FileIdentityRegistry(env.IDENTITY_REGISTRY_FILE ?? defaultFile);
  if (kind !== "https") throw new AgentError("ERR_CONFIG", "IDENTITY_REGISTRY must be file or https");
  const pem = (name: string, required: boolean) => {
    const path = env[name];
    if (!path) {
      if (required) throw new AgentError("ERR_CONFIG", `${name} must name a PEM file for IDENTITY_REGISTRY=https`);
      return undefined;
    }
    try {
      return readFileSync(path);
    } catch (cause) {
      throw new AgentError("ERR_CONFIG", `${name} (${path}) cannot be read`, undefined, { cause });
    }
  };
  if (!env.IDENTITY_REGISTRY_URL) throw new AgentError("ERR_CONFIG", "IDENTITY_REGISTRY_URL must be set for IDENTITY_REGISTRY=https");
  return new HttpsIdentityRegistry({
    baseUrl: env.IDENTITY_REGISTRY_URL,
    clientCert: pem("IDENTITY_REGISTRY_CLIENT_CERT", true)!,
    clientKey: pem("IDENTITY_REGISTRY_CLIENT_KEY", true)!,
    ca: pem("IDENTITY_REGISTRY_CA", false),
    timeoutMs: Number(env.IDENTITY_REGISTRY_TIMEOUT_MS ?? 5000),
  });
}
