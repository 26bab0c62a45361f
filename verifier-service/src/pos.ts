import { Router } from "express";
import { html, platformRelay, renderPage } from "@realname/agent";

export interface PosConfig {
  /** The payment platform (the issuer) the POS reports to. */
  platformUrl: () => string;
}

/**
 * The merchant's point-of-sale page (seed 003's "second terminal"): the browser holds the terminal's device
 * key, signs its position and the payment start, and shows the platform's decision. The merchant's server
 * only relays to the platform; it never sees a peer's image (the platform never sends one).
 */
export function posRouter(config: PosConfig & { merchantName: string }): Router {
  const r = Router();
  r.use("/api", platformRelay(config.platformUrl));
  r.get("/", (_req, res) => {
    res.type("html").send(renderPage({
      title: "In-person payment",
      brand: config.merchantName,
      main: html`<h1>In-person payment</h1>
<section id="pos" data-api="/pos/api" aria-labelledby="pos-terminal-h">
<h2 id="pos-terminal-h">This till</h2>
<p>Terminal <code id="pos-terminal-id">…</code>. Its device key (give it to the platform to enrol this till):</p>
<pre id="pos-terminal-jwk" class="wrap"></pre>
<form id="pos-form">
<p><label for="pos-floor">Floor of this till</label> <input id="pos-floor" name="floor" type="number" step="1" value="0"></p>
<p><label for="pos-payer">Payer's wallet (terminal id shown in their wallet)</label> <input id="pos-payer" name="payer" required autocomplete="off"></p>
<p><button type="submit">Start payment</button></p>
</form>
<div id="pos-decision" role="status" aria-live="polite"></div>
</section>
<script src="/assets/terminal.js" defer></script>
<script src="/assets/pos.js" defer></script>`,
    }));
  });
  return r;
}
