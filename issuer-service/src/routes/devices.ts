import { Router } from "express";
import { z } from "zod";
import { AgentError, enrolDeviceScript, handle, html, parseInput, renderPage, requireJson, type DeviceEnrolment } from "@realname/agent";
import type { IssuerDeps } from "../deps.js";

const ENROL_SCRIPT = enrolDeviceScript();

const jwkSchema = z.object({ kty: z.literal("OKP"), crv: z.literal("Ed25519"), x: z.string().regex(/^[A-Za-z0-9_-]{43}$/) }).strict();
const b64url = z.string().min(1).max(16_384).regex(/^[A-Za-z0-9_-]+$/, "must be base64url");
const responseSchema = z
  .object({
    id: b64url,
    rawId: b64url,
    type: z.literal("public-key"),
    clientExtensionResults: z.record(z.string(), z.unknown()),
    authenticatorAttachment: z.enum(["platform", "cross-platform"]).optional(),
    response: z.object({ clientDataJSON: b64url, attestationObject: b64url, transports: z.array(z.string().max(32)).max(8).optional() }).strict(),
  })
  .strict();

/**
 * Capture devices enrolling themselves (WebAuthn attestation under the issuer's policy): a page for the device
 * app, the options and the verification. Kiosks are still enrolled by the admin (/admin/devices).
 */
export function deviceRoutes(deps: Pick<IssuerDeps, "enrolment" | "addressRef">): Router {
  const r = Router();
  const enrolment = (): DeviceEnrolment => {
    if (!deps.enrolment) throw new AgentError("ERR_DEVICE_ENROLMENT_DISABLED", "this issuer enrols capture devices through its admin only");
    return deps.enrolment;
  };
  r.get("/devices/enrol", (_req, res) => {
    res.type("html").send(
      renderPage({
        title: "Enrol a capture device",
        brand: "Identity issuer",
        main: html`<h1>Enrol a capture device</h1>
<p>This device proves what it is with its security key or platform authenticator (WebAuthn attestation). The issuer enrols it only if its policy allows the authenticator model.</p>
<form id="enrol"><label for="label">Device name</label> <input id="label" name="label" required maxlength="128"> <button type="submit">Enrol this device</button></form>
<p id="enrol-result" role="status"></p>
<script src="/devices/enrol.js" defer></script>`,
      }),
    );
  });
  r.get("/devices/enrol.js", (_req, res) => void res.type("js").send(ENROL_SCRIPT));
  r.post("/devices/enrolment/options", requireJson, handle(async (req, res) => {
    const input = parseInput(z.object({ label: z.string().trim().min(1).max(128), publicJwk: jwkSchema }).strict(), req.body);
    res.status(201).json(await enrolment().options(input, deps.addressRef(req.socket.remoteAddress ?? "unknown")));
  }));
  r.post("/devices/enrolment/verification", requireJson, handle(async (req, res) => {
    const input = parseInput(z.object({ enrolmentId: z.string().uuid(), response: responseSchema }).strict(), req.body);
    const record = await enrolment().verify(input as Parameters<DeviceEnrolment["verify"]>[0], deps.addressRef(req.socket.remoteAddress ?? "unknown"));
    res.status(201).json({ deviceId: record.deviceId, label: record.label, status: record.status, enrolment: record.enrolment });
  }));
  return r;
}
