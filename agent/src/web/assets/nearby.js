// The wallet's "pay in person" page (issue 18): this phone as a first terminal. It takes part in verifying
// payers nearby (PaymentTerminal.peer: signed positions, requests, camera answers, opt-in) and unlocks the
// person's payment function with PIN + fresh capture. Messages come from the page (data-words).
(function () {
  "use strict";
  var root = document.getElementById("nearby");
  if (!root || !window.PaymentTerminal) return;
  var w = PaymentTerminal.words(root);
  PaymentTerminal.load("wallet", root.getAttribute("data-api")).then(function (t) {
    document.getElementById("nearby-terminal-id").textContent = t.terminalId;
    document.getElementById("nearby-terminal-jwk").textContent = JSON.stringify(t.publicJwk);
    root.setAttribute("data-ready", "1");
    var peer = PaymentTerminal.peer(t, "nearby", document.getElementById("nearby-floor"), w, function (n) { root.setAttribute("data-reports", String(n)); });
    document.getElementById("nearby-unlock").addEventListener("submit", async function (e) {
      e.preventDefault();
      var pin = document.getElementById("nearby-pin").value;
      try {
        var r = await peer.withCamera(async function (img) {
          return t.api("POST", "/unlock", { message: await t.sign("unlock", { portrait_sha256: img.sha256 }), pin: pin, portrait: img.base64 });
        });
        peer.say("unlock-state", r.status === 200 ? w.unlocked : w.stillLocked + " " + (r.body.error && r.body.error.message), r.status === 200 ? "unlocked" : r.body.error && r.body.error.code);
      } catch (err) {
        peer.say("unlock-state", String(err && err.message || err), "error");
      }
    });
  });
})();
