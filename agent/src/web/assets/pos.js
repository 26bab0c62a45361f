// The merchant's point of sale (issue 18): starts an in-person payment with its signed position and shows the
// platform's decision. The key and the position stay in this browser; the page's server only relays.
(function () {
  "use strict";
  var root = document.getElementById("pos");
  if (!root || !window.PaymentTerminal) return;
  var api = root.getAttribute("data-api");
  var floor = document.getElementById("pos-floor");
  var out = document.getElementById("pos-decision");
  var WORDS = {
    ERR_OUT_OF_RANGE: "the payer's phone is not at this till",
    ERR_OTHER_FLOOR: "the payer's phone is on another floor",
    ERR_VERTICAL_UNKNOWN: "the floor of the payer or the till is unknown",
    ERR_PEER_FACE_MISMATCH: "people nearby saw someone else",
    ERR_NO_PEER_CONFIRMATION: "nobody nearby confirmed the payer in time",
    ERR_NO_PEERS_NEARBY: "nobody nearby takes part in verification",
  };
  function show(kind, text, code) {
    out.className = "notice " + kind;
    out.textContent = text;
    out.setAttribute("data-outcome", code || "");
  }
  function showDecision(d) {
    var why = d.reasons.map(function (c) { return WORDS[c] || c; }).join("; ");
    if (d.outcome === "accepted") show("ok", "Payment accepted: the payer was confirmed in person.", "accepted");
    else show("error", "Payment refused: " + why + "." + (d.payerLocked ? " The payer's payment function is now locked until they unlock it." : ""), "refused");
    out.setAttribute("data-reasons", d.reasons.join(" "));
  }
  PaymentTerminal.load("pos", api).then(function (t) {
    document.getElementById("pos-terminal-id").textContent = t.terminalId;
    document.getElementById("pos-terminal-jwk").textContent = JSON.stringify(t.publicJwk);
    root.setAttribute("data-ready", "1");
    document.getElementById("pos-form").addEventListener("submit", async function (e) {
      e.preventDefault();
      show("info", "Checking the payer…", "pending");
      try {
        var pos = await PaymentTerminal.position(floor);
        var message = await t.sign("start", { payer: document.getElementById("pos-payer").value.trim(), pos: pos });
        var r = await t.api("POST", "/in-person", { message: message });
        if (r.status !== 201) return show("error", "Cannot start: " + ((r.body.error && r.body.error.message) || r.status), r.body.error && r.body.error.code);
        var v = r.body;
        show("info", "Waiting for " + v.peersAsked + " people nearby to confirm the payer…", "pending");
        while (!v.decision) {
          await new Promise(function (ok) { setTimeout(ok, 500); });
          var s = await t.api("GET", "/in-person/" + v.verificationId);
          if (s.status !== 200) return show("error", "Lost the payment: " + s.status, "error");
          v = s.body;
        }
        showDecision(v.decision);
      } catch (err) {
        show("error", String(err && err.message || err), "error");
      }
    });
  });
})();
