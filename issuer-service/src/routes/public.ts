import express, { Router } from "express";
import { z } from "zod";
import { AgentError, handle, IDENTITY_VCT_PATH, identityTypeMetadata, identityVct, JWT_VC_ISSUER_WELL_KNOWN, jwtVcIssuerMetadata, parseInput, PLATFORM_CA_PEM_PATH } from "@realname/agent";
import type { IssuerDeps } from "../deps.js";

/** Discovery: what a standard wallet or verifier fetches before talking to the issuer. */
export function publicRoutes(deps: IssuerDeps): Router {
  const r = Router();
  r.get("/health", (_req, res) => void res.json({ status: "ok", role: "issuer", did: deps.issuer.did }));
  r.get("/.well-known/issuer", (_req, res) =>
    void res.json({
      did: deps.issuer.did,
      // What the credentials carry as `iss`: the DID, or this issuer's URL (ISSUER_IDENTIFIER=url).
      iss: deps.issuer.iss?.() ?? deps.issuer.did,
      name: deps.issuer.name,
      credentialTypes: [identityVct(deps.baseUrl())],
      statusList: `${deps.baseUrl()}/status-lists/1`,
      trustRegistry: `${deps.baseUrl()}/registry`,
      credentialIssuer: deps.baseUrl(),
    }),
  );
  r.get("/.well-known/openid-credential-issuer", (_req, res) => void res.json(deps.issuance.credentialIssuerMetadata()));
  r.get("/.well-known/oauth-authorization-server", (_req, res) => void res.json(deps.issuance.authorizationServerMetadata()));
  r.get("/.well-known/jwks.json", (_req, res) => void res.type("application/jwk-set+json").json(deps.issuance.jwks()));
  // SD-JWT VC JWT VC Issuer Metadata: the issuer's keys (Ed25519 and, when it has one, P-256) found from its URL alone (no DID resolution). Served at the
  // well-known path and, for a public URL with a path component, at the path inserted after it.
  const issuerMetadata: express.RequestHandler = (req, res, next) => {
    const base = deps.baseUrl();
    const suffix = new URL(base).pathname.replace(/\/+$/, "");
    if (req.path !== JWT_VC_ISSUER_WELL_KNOWN && req.path !== `${JWT_VC_ISSUER_WELL_KNOWN}${suffix}`) return next();
    res.set("cache-control", "public, max-age=300").json(jwtVcIssuerMetadata({ issuer: base, keys: deps.issuance.credentialSigningKeys() }));
  };
  r.get(/^\/\.well-known\/jwt-vc-issuer(\/.*)?$/, issuerMetadata);
  // SD-JWT VC Type Metadata, at the `vct` URL itself (the vct is `${PUBLIC_URL}${IDENTITY_VCT_PATH}`).
  r.get(IDENTITY_VCT_PATH, (_req, res) => void res.set("cache-control", "public, max-age=3600").json(identityTypeMetadata(identityVct(deps.baseUrl()))));
  r.get("/status-lists/1", handle(async (_req, res) => {
    const jwt = await deps.status.signedList();
    res.set("cache-control", `public, max-age=${deps.status.ttlSeconds}`).type("application/statuslist+jwt").send(jwt);
  }));
  /** Every list JWT ever served, by its hash: what a merchant relied on, for evidence. */
  r.get("/status-lists/1/snapshots/:hash", handle(async (req, res) => {
    const jwt = await deps.status.snapshot(parseInput(z.string().regex(/^[0-9a-f]{64}$/), req.params.hash));
    if (!jwt) throw new AgentError("ERR_NOT_FOUND", "no such status-list snapshot");
    res.type("application/statuslist+jwt").set("cache-control", "public, max-age=31536000, immutable").send(jwt);
  }));
  // The platform's merchant CA root: what a wallet pins to trust x509_san_dns merchants (PEM, or DER).
  r.get(PLATFORM_CA_PEM_PATH, handle(async (_req, res) => {
    if (!deps.platformCa) throw new AgentError("ERR_NOT_FOUND", "this issuer runs no merchant CA");
    res.type("application/x-pem-file").set("cache-control", "public, max-age=3600").send(deps.platformCa.rootPem);
  }));
  r.get("/platform-ca.cer", handle(async (_req, res) => {
    if (!deps.platformCa) throw new AgentError("ERR_NOT_FOUND", "this issuer runs no merchant CA");
    res.type("application/pkix-cert").set("cache-control", "public, max-age=3600").send(deps.platformCa.rootDer);
  }));
  r.get("/registry", handle(async (_req, res) => {
    res.set("cache-control", "public, max-age=300").type("application/jwt").send(await deps.trust.signed());
  }));
  /** Every registry JWT ever served, by its hash: the registry a merchant relied on, for evidence. */
  r.get("/registry/snapshots/:hash", handle(async (req, res) => {
    const jwt = await deps.trust.snapshot(parseInput(z.string().regex(/^[0-9a-f]{64}$/), req.params.hash));
    if (!jwt) throw new AgentError("ERR_NOT_FOUND", "no such registry snapshot");
    res.type("application/jwt").set("cache-control", "public, max-age=31536000, immutable").send(jwt);
  }));
  /** Inclusion proof of an anchored status-list version, by the hash of its signed JWT. */
  r.get("/anchors/:hash", handle(async (req, res) => {
    const record = await deps.queue.get(parseInput(z.string().regex(/^[0-9a-f]{64}$/), req.params.hash));
    if (!record) throw new AgentError("ERR_NOT_FOUND", "nothing anchored under this hash");
    res.json(record);
  }));
  return r;
}
