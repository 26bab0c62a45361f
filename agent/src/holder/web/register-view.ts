import { html, type SafeHtml } from "../../web/html.js";
import { notice } from "../../web/layout.js";
import type { ChallengeAction, LivenessChallenge } from "../../issuer/face/liveness.js";

const PROMPTS: Record<ChallengeAction, string> = {
  "turn-left": "Turn your head to the left",
  "turn-right": "Turn your head to the right",
  blink: "Blink",
  smile: "Smile",
};

/**
 * The registration page: the camera with the issuer's challenge, the person's details, then (filled in by
 * /assets/register.js) the masked identity to confirm. Without script nothing can be filmed, so the page says so.
 */
export function registerPage(args: { csrf: string; challenge: LivenessChallenge; fromMerchant: boolean }): SafeHtml {
  const c = args.challenge;
  return html`<h1>Register your identity</h1>
${args.fromMerchant ? notice("info", "A merchant asked for your identity, and your wallet holds no credential yet. Register first; you go straight back to the merchant's request afterwards.") : ""}
<section id="register" class="card" data-csrf="${args.csrf}" data-challenge-id="${c.challengeId}" data-min-frames="${c.minFrames}" data-max-frames="${c.maxFrames}">
<h2>1. Film your face</h2>
<p class="hint">The identity issuer asks you to do this, in order (the frames are signed by this wallet's capture device):</p>
<ol id="register-actions">${c.actions.map((a) => html`<li data-action="${a}">${PROMPTS[a]}</li>`)}</ol>
<video id="register-video" playsinline muted aria-label="Camera preview"></video>
<p id="register-prompt" aria-live="polite"></p>
<button type="button" id="register-film">Start the camera and film</button>
<p id="register-filmed" class="muted" aria-live="polite"></p>
<h2>2. Your details</h2>
<label for="register-name">Full name (as on your resident identity card)</label>
<input id="register-name" name="fullName" autocomplete="name" maxlength="100" required>
<label for="register-id">Resident ID number (18 characters)</label>
<input id="register-id" name="idNumber" autocomplete="off" maxlength="18" required spellcheck="false">
<button type="button" id="register-submit" disabled>Send to the identity issuer</button>
<p id="register-error" role="alert" data-code=""></p>
</section>
<form id="register-confirm" method="post" action="/register/confirm" class="card" hidden>
<h2>3. Is this you?</h2>
<p>The identity issuer found this person in the registry, matching your face:</p>
<dl class="facts"><dt>Name</dt><dd id="register-masked-name"></dd><dt>Resident ID number</dt><dd id="register-masked-id"></dd></dl>
<input type="hidden" name="csrf" value="${args.csrf}">
<button type="submit">Yes, this is me: get my credentials</button>
</form>
<p><a href="/">Cancel</a></p>
<script src="/assets/register.js" defer></script>`;
}
