// The web wallet's registration page: films the person while they follow the issuer's challenge (a neutral
// frame first, then one frame per action), sends the details and frames to the wallet's own server (which
// signs them with this installation's capture-device key), then shows the masked identity to confirm.
(function () {
  "use strict";
  var root = document.getElementById("register");
  if (!root) return;
  var video = document.getElementById("register-video");
  var prompt = document.getElementById("register-prompt");
  var filmed = document.getElementById("register-filmed");
  var submit = document.getElementById("register-submit");
  var error = document.getElementById("register-error");
  var w = {};
  try { w = JSON.parse(root.getAttribute("data-words") || "{}"); } catch (e) { /* the codes still show */ }
  var actions = Array.prototype.map.call(document.querySelectorAll("#register-actions li"), function (li) { return li.textContent; });
  var frames = [];
  var STEP_MS = 700;

  function wait(ms) { return new Promise(function (r) { setTimeout(r, ms); }); }
  function fail(code, text) { error.textContent = text; error.setAttribute("data-code", code); }

  /** One frame as base64 JPEG, at most 320 px wide (enough for the face model, small to send). */
  async function frame() {
    var scale = Math.min(1, 320 / (video.videoWidth || 320));
    var canvas = document.createElement("canvas");
    canvas.width = Math.round((video.videoWidth || 320) * scale);
    canvas.height = Math.round((video.videoHeight || 240) * scale);
    canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
    var blob = await new Promise(function (r) { canvas.toBlob(r, "image/jpeg", 0.9); });
    var bytes = new Uint8Array(await blob.arrayBuffer());
    var s = "";
    for (var i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
    return btoa(s);
  }

  document.getElementById("register-film").addEventListener("click", async function () {
    fail("", "");
    frames = [];
    var stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: true, audio: false });
    } catch (e) {
      return fail("ERR_CAMERA_UNAVAILABLE", w.cameraUnavailable || "ERR_CAMERA_UNAVAILABLE");
    }
    try {
      video.srcObject = stream;
      await video.play();
      var steps = [w.lookStraight || ""].concat(actions);
      for (var i = 0; i < steps.length; i++) {
        prompt.textContent = steps[i];
        await wait(STEP_MS);
        frames.push(await frame());
      }
    } finally {
      stream.getTracks().forEach(function (t) { t.stop(); });
      prompt.textContent = "";
    }
    filmed.textContent = String(w.filmed || "{n}").replace("{n}", String(frames.length));
    root.setAttribute("data-filmed", String(frames.length));
    submit.disabled = false;
  });

  submit.addEventListener("click", async function () {
    fail("", "");
    submit.disabled = true;
    var body = {
      csrf: root.getAttribute("data-csrf"),
      fullName: document.getElementById("register-name").value,
      idNumber: document.getElementById("register-id").value,
      portrait: frames[0],
      challengeId: root.getAttribute("data-challenge-id"),
      frames: frames,
    };
    try {
      var r = await fetch("/register/submit", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
      var answer = await r.json().catch(function () { return { error: { code: "ERR_BAD_REQUEST", message: w.unreadable || "ERR_BAD_REQUEST" } }; });
      if (!r.ok) return fail(answer.error.code, answer.error.message);
      document.getElementById("register-masked-name").textContent = answer.masked.name;
      document.getElementById("register-masked-id").textContent = answer.masked.idNumber;
      root.hidden = true;
      document.getElementById("register-confirm").hidden = false;
    } catch (e) {
      fail("ERR_UPSTREAM", w.unreachable || "ERR_UPSTREAM");
    } finally {
      submit.disabled = false;
    }
  });
})();
