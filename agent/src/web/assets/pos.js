// The merchant's point of sale (issue 18), a second terminal: starts an in-person payment with its signed
// position and shows the platform's decision; and, opted in, confirms payers at other tills nearby when no
// wallet near them takes part (PaymentTerminal.peer). The key and the position stay in this browser; the
// page's server only relays. Messages come from the page (data-words), in its language.
(function () {
  "use strict";
  var root = document.getElementById("pos");
  if (!root || !window.PaymentTerminal) return;
  var w = PaymentTerminal.words(root);
  var floor = document.getElementById("pos-floor");
  var out = document.getElementById("pos-decision");
  function show(kind, text, code) {
    out.className = "notice " + kind;
    out.textContent = text;
    out.setAttribute("data-outcome", code || "");
  }
  function showDecision(d) {
    var why = d.reasons.map(function (c) { return (w.reasons && w.reasons[c]) || c; }).join(w.separator || "; ");
    if (d.outcome === "accepted") show("ok", w.accepted, "accepted");
    else show("error", PaymentTerminal.fill(w.refused, { why: why }) + (d.payerLocked ? " " + w.payerLocked : ""), "refused");
    out.setAttribute("data-reasons", d.reasons.join(" "));
  }
  PaymentTerminal.load("pos", root.getAttribute("data-api")).then(function (t) {
    document.getElementById("pos-terminal-id").textContent = t.terminalId;
    document.getElementById("pos-terminal-jwk").textContent = JSON.stringify(t.publicJwk);
    root.setAttribute("data-ready", "1");
    var peer = PaymentTerminal.peer(t, "pos", floor, w, function (n) { root.setAttribute("data-reports", String(n)); });
    document.getElementById("pos-form").addEventListener("submit", async function (e) {
      e.preventDefault();
      show("info", w.checking, "pending");
      try {
        // No position report of this till runs while the start (which carries its position) is signed and sent.
        var r = await peer.alone(async function () {
          var pos = await PaymentTerminal.position(floor);
          var message = await t.sign("start", { payer: document.getElementById("pos-payer").value.trim(), pos: pos });
          return t.api("POST", "/in-person", { message: message });
        });
        if (r.status !== 201) return show("error", w.cannotStart + " " + ((r.body.error && r.body.error.message) || r.status), r.body.error && r.body.error.code);
        var v = r.body;
        show("info", PaymentTerminal.fill(w.waiting, { n: v.peersAsked }), "pending");
        while (!v.decision) {
          await new Promise(function (ok) { setTimeout(ok, 500); });
          var s = await t.api("POST", "/in-person/status", { message: await t.sign("status", { verification_id: v.verificationId }) });
          if (s.status !== 200) return show("error", w.lost + " " + s.status, "error");
          v = s.body;
        }
        showDecision(v.decision);
      } catch (err) {
        show("error", String(err && err.message || err), "error");
      }
    });
  });
})();
