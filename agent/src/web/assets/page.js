// Progressive enhancement only: every page works without this script (forms, links, "check again").
(function () {
  "use strict";
  // <div data-poll="/status-url" data-poll-while="pending">: poll the JSON status, reload when it changes.
  document.querySelectorAll("[data-poll]").forEach(function (el) {
    var url = el.getAttribute("data-poll");
    var waiting = (el.getAttribute("data-poll-while") || "pending").split(",");
    var every = Number(el.getAttribute("data-poll-ms") || 1000);
    var stopAt = Date.now() + Number(el.getAttribute("data-poll-max-ms") || 600000);
    function tick() {
      if (Date.now() > stopAt) return;
      fetch(url, { headers: { accept: "application/json" }, credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : { status: "error" }; })
        .then(function (s) {
          if (waiting.indexOf(s.status) === -1) return location.reload();
          // A waiting state that changed (the wallet fetched the request: "scanned") is said in place.
          if (el.hasAttribute("data-state") && el.getAttribute("data-state") !== s.status) {
            el.setAttribute("data-state", s.status);
            var said = el.getAttribute("data-" + s.status + "-text");
            if (said && el.firstChild) el.firstChild.textContent = said + " ";
          }
          setTimeout(tick, every);
        })
        .catch(function () { setTimeout(tick, every * 3); });
    }
    setTimeout(tick, every);
  });
  // <p data-countdown="seconds" data-template="… {left} …">: the time left, every second; at zero the page
  // reloads and the server says whether the request expired (its clock decides, not this one).
  document.querySelectorAll("[data-countdown]").forEach(function (el) {
    var left = Number(el.getAttribute("data-countdown"));
    var template = el.getAttribute("data-template") || "{left}";
    var started = Date.now();
    function show() {
      var remaining = Math.max(0, left - Math.floor((Date.now() - started) / 1000));
      el.textContent = template.replace("{left}", Math.floor(remaining / 60) + ":" + String(remaining % 60).padStart(2, "0"));
      if (remaining === 0) return setTimeout(function () { location.reload(); }, 1500);
      setTimeout(show, 1000);
    }
    show();
  });
  // <form data-autosubmit>: a remembered choice answers without asking (the button stays for no-script use).
  document.querySelectorAll("form[data-autosubmit]").forEach(function (form) { form.requestSubmit ? form.requestSubmit() : form.submit(); });
  // <button data-print>: the browser's print dialog (to paper or PDF).
  document.querySelectorAll("[data-print]").forEach(function (b) { b.hidden = false; b.addEventListener("click", function () { window.print(); }); });
  // <button data-copy="#id">: copy a link's text.
  document.querySelectorAll("[data-copy]").forEach(function (b) {
    b.hidden = false;
    b.addEventListener("click", function () {
      var target = document.querySelector(b.getAttribute("data-copy"));
      if (!target || !navigator.clipboard) return;
      navigator.clipboard.writeText(target.value || target.textContent).then(function () { b.textContent = b.getAttribute("data-copied") || "Copied"; });
    });
  });
})();
