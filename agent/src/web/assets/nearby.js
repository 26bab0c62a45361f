// The wallet's "pay in person" page (issue 18): reports the phone's signed position every second, lists the
// verification requests the platform sends back, answers one with a camera capture or declines it, and
// unlocks the person's payment function with PIN + fresh capture.
(function () {
  "use strict";
  var root = document.getElementById("nearby");
  if (!root || !window.PaymentTerminal) return;
  var api = root.getAttribute("data-api");
  var floor = document.getElementById("nearby-floor");
  var list = document.getElementById("nearby-requests");
  var video = document.getElementById("nearby-video");
  var answerState = document.getElementById("nearby-answer-state");
  var answered = {};
  var stream = null;
  function say(id, text, code) {
    var el = document.getElementById(id);
    el.textContent = text;
    el.setAttribute("data-code", code || "");
  }
  async function withCamera(fn) {
    video.hidden = false;
    if (!stream) stream = await PaymentTerminal.camera(video);
    try { return await fn(await PaymentTerminal.capture(video)); }
    finally { stream.getTracks().forEach(function (tr) { tr.stop(); }); stream = null; video.hidden = true; }
  }
  PaymentTerminal.load("wallet", api).then(function (t) {
    document.getElementById("nearby-terminal-id").textContent = t.terminalId;
    document.getElementById("nearby-terminal-jwk").textContent = JSON.stringify(t.publicJwk);
    root.setAttribute("data-ready", "1");
    async function answer(req, verdict) {
      answered[req.verificationId] = true;
      render([]);
      try {
        var r = verdict === "decline"
          ? await t.api("POST", "/peer-answers", { answer: await t.sign("answer", { verification_id: req.verificationId, verdict: "decline" }) })
          : await withCamera(async function (img) {
              var answer = await t.sign("answer", { verification_id: req.verificationId, verdict: "confirm", image_sha256: img.sha256 });
              return t.api("POST", "/peer-answers", { answer: answer, image: img.base64 });
            });
        if (r.status === 200) say("nearby-answer-state", verdict === "decline" ? "You declined." : "Thank you: your confirmation was sent. The picture is deleted once the payment is decided.", "sent");
        else say("nearby-answer-state", "Not sent: " + (r.body.error && r.body.error.message), r.body.error && r.body.error.code);
      } catch (err) {
        say("nearby-answer-state", "Not sent: " + (err && err.message || err), "error");
      }
    }
    function render(requests) {
      list.textContent = "";
      requests.filter(function (q) { return !answered[q.verificationId]; }).forEach(function (q) {
        var li = document.createElement("li");
        li.setAttribute("data-verification", q.verificationId);
        li.appendChild(document.createTextNode("Someone is paying at " + q.merchantName + ". Can you see them? Point your camera at the person at the till. "));
        var yes = document.createElement("button");
        yes.type = "button";
        yes.textContent = "Confirm with camera";
        yes.className = "confirm";
        yes.addEventListener("click", function () { answer(q, "confirm"); });
        var no = document.createElement("button");
        no.type = "button";
        no.textContent = "Decline";
        no.className = "secondary decline";
        no.addEventListener("click", function () { answer(q, "decline"); });
        li.appendChild(yes);
        li.appendChild(no);
        list.appendChild(li);
      });
    }
    var reports = 0;
    async function report() {
      try {
        var r = await t.api("POST", "/positions", { report: await t.sign("position", { pos: await PaymentTerminal.position(floor) }) });
        if (r.status === 200) {
          reports++;
          say("nearby-reporting", "Position shared with the platform (" + reports + ").", "reporting");
          root.setAttribute("data-reports", String(reports));
          render(r.body.peerRequests || []);
        } else say("nearby-reporting", "Position not accepted: " + (r.body.error && r.body.error.message), r.body.error && r.body.error.code);
      } catch (err) {
        say("nearby-reporting", String(err && err.message || err), "error");
      }
      setTimeout(report, 1000);
    }
    report();
    async function opt(optIn) {
      var r = await t.api("POST", "/opt-in", { message: await t.sign("opt", { opt_in: optIn }) });
      say("nearby-optstate", r.status === 200 ? (r.body.peerOptIn ? "You help verify people nearby." : "You are not asked to verify anyone.") : "Not changed: " + (r.body.error && r.body.error.message), r.status === 200 ? String(r.body.peerOptIn) : r.body.error && r.body.error.code);
    }
    document.getElementById("nearby-optin").addEventListener("click", function () { opt(true); });
    document.getElementById("nearby-optout").addEventListener("click", function () { opt(false); });
    document.getElementById("nearby-unlock").addEventListener("submit", async function (e) {
      e.preventDefault();
      var pin = document.getElementById("nearby-pin").value;
      try {
        var r = await withCamera(async function (img) {
          return t.api("POST", "/unlock", { message: await t.sign("unlock", { portrait_sha256: img.sha256 }), pin: pin, portrait: img.base64 });
        });
        say("nearby-unlock-state", r.status === 200 ? "Payments unlocked." : "Still locked: " + (r.body.error && r.body.error.message), r.status === 200 ? "unlocked" : r.body.error && r.body.error.code);
      } catch (err) {
        say("nearby-unlock-state", String(err && err.message || err), "error");
      }
    });
  });
})();
