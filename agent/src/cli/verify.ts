import { Command } from "commander";
import { readFileSync } from "node:fs";
import { AgentError } from "../errors.js";
import { c, claimLabel, commandLine, EXIT, fail, out, t, table } from "./common.js";

const program = commandLine(new Command("verify"))
  .description("Verify an SD-JWT VC presentation exactly as the merchant's service does, without running it.")
  .requiredOption("--presentation <file>", "file holding the presentation (- for standard input)")
  .requiredOption("--trusted-issuer <did-or-url...>", "issuer(s) to trust: DIDs, or https issuer URLs (keys from their /.well-known/jwt-vc-issuer)")
  .requiredOption("--audience <did>", "this merchant's client identifier, e.g. decentralized_identifier:did:key:… (the key binding's aud, OpenID4VP 1.0)")
  .requiredOption("--nonce <nonce>", "the nonce of the request this answers")
  .option("--now <iso>", "verify as of this time (default now)")
  .option("--allowed-claims <names>", "comma-separated: disclosing anything else is refused")
  .option("--required-claims <names>", "comma-separated: each must be disclosed")
  .option("--no-status", "skip the status-list check")
  .option("--allow-loopback-http", "development: fetch a status list over plain http from a loopback address")
  .option("--json", "machine-readable output", false)
  .addHelpText("after", "\nExit codes: 0 verified, 1 refused (each reason printed with its code), 2 bad usage.")
  .action(async (o: { presentation: string; trustedIssuer: string[]; audience: string; nonce: string; now?: string; allowedClaims?: string; requiredClaims?: string; status: boolean; json: boolean; allowLoopbackHttp?: boolean }) => {
    try {
      let text: string;
      try {
        text = readFileSync(o.presentation === "-" ? 0 : o.presentation, "utf8").trim();
      } catch {
        throw new AgentError("ERR_INVALID_INPUT", `cannot read ${o.presentation}`);
      }
      const now = o.now ? new Date(o.now) : new Date();
      if (Number.isNaN(now.getTime())) throw new AgentError("ERR_INVALID_INPUT", "--now must be an ISO date");
      // The verifier loads only when a presentation is to be checked, never for --help.
      const [{ StatusListResolver }, { verifyPresentation }, { IssuerMetadataResolver }] = await Promise.all([import("../sdjwt/status.js"), import("../sdjwt/verify-presentation.js"), import("../sdjwt/issuer-metadata.js")]);
      const list = (s?: string) => (s ? s.split(",").map((x) => x.trim()).filter(Boolean) : undefined);
      const r = await verifyPresentation({
        presentation: text,
        trustedIssuers: await new IssuerMetadataResolver().resolve(o.trustedIssuer),
        audience: o.audience,
        nonce: o.nonce,
        now: () => now,
        allowedClaims: list(o.allowedClaims),
        requiredClaims: list(o.requiredClaims),
        status: o.status ? new StatusListResolver({ allowLoopbackHttp: o.allowLoopbackHttp === true }) : undefined,
      });
      if (o.json) out(JSON.stringify(r));
      else if (r.verified) out(`${c.green(t("cli.verified"))} ${t("cli.issuerLine", { issuer: r.issuer })}\n${table([[t("cli.verifyHeader.claim"), t("cli.verifyHeader.value")], ...Object.entries(r.claims!).map(([k, v]) => [claimLabel(k), typeof v === "boolean" ? t(v ? "values.yes" : "values.no") : typeof v === "string" ? v : JSON.stringify(v)])])}`);
      else out(`${c.red(t("cli.refused"))}\n${table([[t("cli.verifyHeader.code"), t("cli.verifyHeader.reason")], ...r.errors.map((e) => [e.code, e.message])])}`);
      process.exit(r.verified ? EXIT.ok : EXIT.failed);
    } catch (error) {
      fail(error, o.json);
    }
  });

await program.parseAsync(process.argv);
