import { createServiceApp, errorHandler, isLoopbackHttpUrl, notFound, withFetchPolicy } from "@realname/agent";
import type { IssuerDeps } from "./deps.js";
import { publicRoutes } from "./routes/public.js";
import { registrationRoutes } from "./routes/registration.js";
import { oid4vciRoutes } from "./routes/oid4vci.js";
import { adminRoutes } from "./routes/admin.js";
import { notaryRoutes } from "./routes/notary.js";
import { refreshRoutes } from "./routes/refresh.js";
import { deviceRoutes } from "./routes/devices.js";
import { traceRoutes } from "./routes/trace.js";
import { paymentRoutes } from "./routes/payments.js";

export type { IssuerDeps } from "./deps.js";

/** The identity issuer's HTTP layer: registration, OpenID4VCI issuance, status, registries, admin. */
export function createApp(deps: IssuerDeps) {
  const app = createServiceApp({ log: deps.log, bodyLimit: "8mb" /* portrait (2 MiB) + up to 12 liveness frames (256 KiB each), base64 */, rateLimit: deps.rateLimit });
  // Plain http on loopback (the libraries' URL checks and fetches) only when the issuer itself is served so:
  // a developer's machine. Decided per request, not by a process-wide switch.
  app.use((_req, _res, next) => withFetchPolicy({ allowLoopbackHttp: isLoopbackHttpUrl(deps.baseUrl()) }, next));
  app.use(publicRoutes(deps));
  app.use(oid4vciRoutes(deps));
  app.use(registrationRoutes(deps));
  app.use(deviceRoutes(deps));
  app.use(notaryRoutes(deps));
  app.use(refreshRoutes(deps));
  app.use(traceRoutes(deps));
  if (deps.payments) app.use(paymentRoutes({ payments: deps.payments, adminToken: deps.adminToken, clock: deps.clock }));
  app.use(adminRoutes(deps));
  app.use(notFound);
  app.use(errorHandler(deps.log));
  return app;
}
