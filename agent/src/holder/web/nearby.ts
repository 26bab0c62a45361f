import { Router } from "express";
import { platformRelay } from "../../payments/relay.js";
import { html } from "../../web/html.js";
import { renderPage } from "../../web/layout.js";

/**
 * The wallet as a payment terminal (seed 003's "first terminal"): this browser's device key reports the
 * phone's position to the platform, takes part (or not) in verifying payers nearby (camera capture, signed
 * answer, or decline), and unlocks the person's own payment function after a refusal (PIN + fresh face).
 * The key, the position and the camera stay in the browser; this server only relays to the platform.
 */
export function nearbyRouter(config: { platformUrl: () => string; brand: string }): Router {
  const r = Router();
  r.use("/api", platformRelay(config.platformUrl));
  r.get("/", (_req, res) => {
    res.type("html").send(renderPage({
      title: "Pay in person",
      brand: config.brand,
      nav: [{ href: "/", label: "Wallet" }, { href: "/nearby", label: "Pay in person", current: true }],
      main: html`<h1>Pay in person</h1>
<section id="nearby" data-api="/nearby/api" aria-labelledby="nearby-h">
<h2 id="nearby-h">This phone</h2>
<p>Your payment terminal: <code id="nearby-terminal-id">…</code> (show it at the till). Its device key, for enrolment:</p>
<pre id="nearby-terminal-jwk" class="wrap"></pre>
<p><label for="nearby-floor">The floor you are on</label> <input id="nearby-floor" type="number" step="1" value="0"></p>
<p id="nearby-reporting" role="status">Not sharing the position yet.</p>
<p><button type="button" id="nearby-optin">Help verify people paying nearby</button> <button type="button" id="nearby-optout" class="secondary">Stop helping</button></p>
<p id="nearby-optstate" role="status"></p>
</section>
<section aria-labelledby="requests-h">
<h2 id="requests-h">Someone nearby is paying</h2>
<ul id="nearby-requests"></ul>
<video id="nearby-video" playsinline muted hidden aria-label="Camera"></video>
<p id="nearby-answer-state" role="status"></p>
</section>
<section aria-labelledby="unlock-h">
<h2 id="unlock-h">Unlock payments</h2>
<p>After a refused payment, paying is locked until you confirm it is you: your PIN and a fresh look at the camera.</p>
<form id="nearby-unlock">
<p><label for="nearby-pin">PIN</label> <input id="nearby-pin" type="password" inputmode="numeric" autocomplete="off" required></p>
<p><button type="submit">Unlock with PIN and face</button></p>
</form>
<p id="nearby-unlock-state" role="status"></p>
</section>
<script src="/assets/terminal.js" defer></script>
<script src="/assets/nearby.js" defer></script>`,
    }));
  });
  return r;
}
