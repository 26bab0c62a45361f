// A capture device enrols itself: options bound to its signing key, a WebAuthn credential with an attestation
// statement, the issuer's verification. `window.enrolDevice(label, publicJwk)` is the whole flow; the button
// enrols with a fresh Ed25519 key kept (non-extractable) by this page's device app.
(function () {
  "use strict";
  function enc(buf) {
    var s = "";
    new Uint8Array(buf).forEach(function (b) { s += String.fromCharCode(b); });
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function dec(s) {
    var b = atob(s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) % 4));
    return Uint8Array.from(b, function (c) { return c.charCodeAt(0); });
  }
  async function post(path, body) {
    var r = await fetch(path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    return { status: r.status, body: await r.json() };
  }
  window.enrolDevice = async function (label, publicJwk) {
    var o = await post("/devices/enrolment/options", { label: label, publicJwk: publicJwk });
    if (o.status !== 201) return o;
    var opt = o.body.options;
    var publicKey = Object.assign({}, opt, {
      challenge: dec(opt.challenge),
      user: Object.assign({}, opt.user, { id: dec(opt.user.id) }),
      excludeCredentials: (opt.excludeCredentials || []).map(function (c) { return Object.assign({}, c, { id: dec(c.id) }); }),
    });
    var cred = await navigator.credentials.create({ publicKey: publicKey });
    var response = {
      id: cred.id,
      rawId: enc(cred.rawId),
      type: cred.type,
      clientExtensionResults: cred.getClientExtensionResults(),
      response: {
        clientDataJSON: enc(cred.response.clientDataJSON),
        attestationObject: enc(cred.response.attestationObject),
        transports: cred.response.getTransports ? cred.response.getTransports() : [],
      },
    };
    if (cred.authenticatorAttachment) response.authenticatorAttachment = cred.authenticatorAttachment;
    return post("/devices/enrolment/verification", { enrolmentId: o.body.enrolmentId, response: response });
  };
  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("enrol");
    var out = document.getElementById("enrol-result");
    if (!form) return;
    form.addEventListener("submit", async function (event) {
      event.preventDefault();
      try {
        var keys = await crypto.subtle.generateKey({ name: "Ed25519" }, false, ["sign", "verify"]);
        var jwk = await crypto.subtle.exportKey("jwk", keys.publicKey);
        var r = await window.enrolDevice(form.elements.label.value, { kty: "OKP", crv: "Ed25519", x: jwk.x });
        out.textContent = r.status === 201 ? "Enrolled as " + r.body.deviceId : "Refused: " + r.body.error.code;
      } catch (e) {
        out.textContent = "Enrolment failed: " + e.name;
      }
    });
  });
})();
