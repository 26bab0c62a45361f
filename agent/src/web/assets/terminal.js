// A payment terminal in the browser (issue 18): a P-256 device key made by WebCrypto, not extractable, kept in
// IndexedDB; signed messages (compact JWS, ES256) for the platform; the browser's position. Used by the POS
// page (merchant) and the nearby page (wallet). `api` is the page's own relay to the platform (same origin).
(function () {
  "use strict";
  var TYP = { position: "terminal-position+jwt", start: "payment-start+jwt", answer: "peer-answer+jwt", opt: "terminal-opt+jwt", unlock: "payment-unlock+jwt", status: "payment-status+jwt" };
  function b64url(bytes) {
    var s = "";
    for (var i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function utf8(s) { return new TextEncoder().encode(s); }
  function idb(op) {
    return new Promise(function (resolve, reject) {
      var open = indexedDB.open("payment-terminal", 1);
      open.onupgradeneeded = function () { open.result.createObjectStore("keys"); };
      open.onerror = function () { reject(open.error); };
      open.onsuccess = function () {
        var tx = open.result.transaction("keys", "readwrite");
        var req = op(tx.objectStore("keys"));
        tx.oncomplete = function () { resolve(req && req.result); };
        tx.onerror = function () { reject(tx.error); };
      };
    });
  }
  function randomId(prefix, bytes) {
    var b = crypto.getRandomValues(new Uint8Array(bytes || 9));
    return prefix + "-" + b64url(b).replace(/[^A-Za-z0-9]/g, "x");
  }
  async function json(method, url, body) {
    var r = await fetch(url, { method: method, headers: body ? { "content-type": "application/json" } : {}, body: body ? JSON.stringify(body) : undefined, credentials: "same-origin" });
    var data = await r.json().catch(function () { return {}; });
    return { status: r.status, body: data };
  }
  async function sha256Hex(bytes) {
    var d = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
    return Array.prototype.map.call(d, function (x) { return x.toString(16).padStart(2, "0"); }).join("");
  }

  /** Loads (or makes, once) this browser's terminal: id, key pair, public JWK. */
  async function load(prefix, api) {
    var saved = await idb(function (s) { return s.get(prefix); });
    if (!saved) {
      var pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign", "verify"]);
      var jwk = await crypto.subtle.exportKey("jwk", pair.publicKey);
      saved = { terminalId: randomId(prefix), privateKey: pair.privateKey, publicJwk: { kty: "EC", crv: "P-256", x: jwk.x, y: jwk.y } };
      await idb(function (s) { return s.put(saved, prefix); });
    }
    var platform = (await json("GET", api + "/platform")).body;
    return {
      terminalId: saved.terminalId,
      publicJwk: saved.publicJwk,
      /** A signed message of `kind` for the platform: fresh time, fresh nonce. */
      sign: async function (kind, claims) {
        var header = { alg: "ES256", typ: TYP[kind], kid: saved.terminalId };
        var payload = Object.assign({ aud: platform.audience, iat: Date.now() / 1000, nonce: randomId("n", 18) }, claims);
        var input = b64url(utf8(JSON.stringify(header))) + "." + b64url(utf8(JSON.stringify(payload)));
        var sig = new Uint8Array(await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, saved.privateKey, utf8(input)));
        return input + "." + b64url(sig);
      },
      api: function (method, path, body) { return json(method, api + path, body); },
    };
  }

  /** The browser's position, with the floor the person declared (or the altitude the device measured). */
  function position(floorInput) {
    return new Promise(function (resolve, reject) {
      navigator.geolocation.getCurrentPosition(function (p) {
        var pos = { lat: p.coords.latitude, lon: p.coords.longitude, accuracy: Math.min(10000, p.coords.accuracy || 0) };
        var floor = floorInput && floorInput.value !== "" ? Number(floorInput.value) : NaN;
        if (Number.isInteger(floor)) pos.floor = floor;
        else if (typeof p.coords.altitude === "number") pos.altitude = p.coords.altitude;
        resolve(pos);
      }, function (e) { reject(new Error("no position: " + e.message)); }, { enableHighAccuracy: true, timeout: 10000, maximumAge: 0 });
    });
  }

  /** The camera into `video`; resolves when frames arrive. */
  async function camera(video) {
    var stream = await navigator.mediaDevices.getUserMedia({ video: true, audio: false });
    video.srcObject = stream;
    await video.play();
    return stream;
  }

  /** One frame as a JPEG (at most 320 px wide: small enough for the relay, enough for the face check). */
  async function capture(video) {
    var scale = Math.min(1, 320 / (video.videoWidth || 320));
    var canvas = document.createElement("canvas");
    canvas.width = Math.round((video.videoWidth || 320) * scale);
    canvas.height = Math.round((video.videoHeight || 240) * scale);
    canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
    var blob = await new Promise(function (r) { canvas.toBlob(r, "image/jpeg", 0.9); });
    var bytes = new Uint8Array(await blob.arrayBuffer());
    var s = "";
    for (var i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
    return { base64: btoa(s), sha256: await sha256Hex(bytes) };
  }

  /** The page's messages in its language (the server renders them as JSON in `data-words`). */
  function words(root) {
    try { return JSON.parse(root.getAttribute("data-words") || "{}"); } catch (e) { return {}; }
  }
  /** A message with {name} placeholders filled. */
  function fill(text, values) {
    return String(text || "").replace(/\{(\w+)\}/g, function (_, k) { return values && values[k] !== undefined ? String(values[k]) : ""; });
  }

  /**
   * Takes part in verifying payers nearby (seed 003's peers), for a wallet (first terminal) or a till (second):
   * reports this terminal's signed position every second, lists the verification requests the platform sends
   * back, answers one with a camera capture (signed, with the image's hash) or declines it, and opts in or out.
   * Elements, by `prefix`: -requests (a list), -video, -answer-state, -reporting, -optin, -optout, -optstate.
   * `w` are the page's words; `onReport(count)` is told of every accepted report.
   */
  function peer(t, prefix, floor, w, onReport) {
    var el = function (name) { return document.getElementById(prefix + "-" + name); };
    var list = el("requests");
    var video = el("video");
    var answered = {};
    var stream = null;
    function say(name, text, code) {
      var node = el(name);
      node.textContent = text;
      node.setAttribute("data-code", code || "");
    }
    async function withCamera(fn) {
      video.hidden = false;
      if (!stream) stream = await camera(video);
      try { return await fn(await capture(video)); }
      finally { stream.getTracks().forEach(function (tr) { tr.stop(); }); stream = null; video.hidden = true; }
    }
    async function answer(req, verdict) {
      answered[req.verificationId] = true;
      render([]);
      try {
        var r = verdict === "decline"
          ? await t.api("POST", "/peer-answers", { answer: await t.sign("answer", { verification_id: req.verificationId, verdict: "decline" }) })
          : await withCamera(async function (img) {
              var signed = await t.sign("answer", { verification_id: req.verificationId, verdict: "confirm", image_sha256: img.sha256 });
              return t.api("POST", "/peer-answers", { answer: signed, image: img.base64 });
            });
        if (r.status === 200) say("answer-state", verdict === "decline" ? w.declined : w.sent, "sent");
        else say("answer-state", w.notSent + " " + (r.body.error && r.body.error.message), r.body.error && r.body.error.code);
      } catch (err) {
        say("answer-state", w.notSent + " " + (err && err.message || err), "error");
      }
    }
    function render(requests) {
      list.textContent = "";
      requests.filter(function (q) { return !answered[q.verificationId]; }).forEach(function (q) {
        var li = document.createElement("li");
        li.setAttribute("data-verification", q.verificationId);
        li.appendChild(document.createTextNode(fill(w.request, { merchant: q.merchantName }) + " "));
        [["confirm", w.confirm, "confirm"], ["decline", w.decline, "secondary decline"]].forEach(function (b) {
          var button = document.createElement("button");
          button.type = "button";
          button.textContent = b[1];
          button.className = b[2];
          button.addEventListener("click", function () { answer(q, b[0]); });
          li.appendChild(button);
        });
        list.appendChild(li);
      });
    }
    var reports = 0;
    // One signed message at a time from this terminal: the platform refuses a report older than the terminal's
    // last, so a payment start must not race a position report signed just after it (see `alone`).
    var turn = Promise.resolve();
    var paused = false;
    function alone(fn) {
      var run = turn.then(function () { paused = true; return fn(); });
      turn = run.catch(function () {}).then(function () { paused = false; });
      return run;
    }
    async function report() {
      if (paused) return setTimeout(report, 1000);
      var done;
      turn = turn.then(function () { return new Promise(function (r) { done = r; }); });
      try {
        var r = await t.api("POST", "/positions", { report: await t.sign("position", { pos: await position(floor) }) });
        if (r.status === 200) {
          reports++;
          say("reporting", fill(w.reporting, { n: reports }), "reporting");
          if (onReport) onReport(reports);
          render(r.body.peerRequests || []);
        } else say("reporting", w.positionRefused + " " + (r.body.error && r.body.error.message), r.body.error && r.body.error.code);
      } catch (err) {
        say("reporting", String(err && err.message || err), "error");
      }
      done();
      setTimeout(report, 1000);
    }
    report();
    async function opt(optIn) {
      var r = await t.api("POST", "/opt-in", { message: await t.sign("opt", { opt_in: optIn }) });
      if (r.status === 200) say("optstate", r.body.peerOptIn ? w.optedIn : w.optedOut, String(r.body.peerOptIn));
      else say("optstate", w.optNotChanged + " " + (r.body.error && r.body.error.message), r.body.error && r.body.error.code);
    }
    el("optin").addEventListener("click", function () { opt(true); });
    el("optout").addEventListener("click", function () { opt(false); });
    return { withCamera: withCamera, say: say, alone: alone };
  }

  window.PaymentTerminal = { load: load, position: position, camera: camera, capture: capture, peer: peer, words: words, fill: fill };
})();
