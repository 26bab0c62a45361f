// A payment terminal in the browser (issue 18): a P-256 device key made by WebCrypto, not extractable, kept in
// IndexedDB; signed messages (compact JWS, ES256) for the platform; the browser's position. Used by the POS
// page (merchant) and the nearby page (wallet). `api` is the page's own relay to the platform (same origin).
(function () {
  "use strict";
  var TYP = { position: "terminal-position+jwt", start: "payment-start+jwt", answer: "peer-answer+jwt", opt: "terminal-opt+jwt", unlock: "payment-unlock+jwt" };
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

  window.PaymentTerminal = { load: load, position: position, camera: camera, capture: capture };
})();
