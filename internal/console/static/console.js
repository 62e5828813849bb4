// sos console: small progressive enhancements. Every page works without it.
"use strict";
(function () {
  // Copy buttons: <button data-copy="input-id">.
  document.querySelectorAll("button[data-copy]").forEach(function (btn) {
    btn.addEventListener("click", function () {
      var input = document.getElementById(btn.dataset.copy);
      if (!input) return;
      var note = btn.parentElement.querySelector(".copied");
      var done = function () { if (note) { note.textContent = "Copied"; setTimeout(function () { note.textContent = ""; }, 2000); } };
      input.select();
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(input.value).then(done, function () { document.execCommand("copy"); done(); });
      } else {
        document.execCommand("copy");
        done();
      }
    });
  });

  // Confirmations: <form data-confirm="question">.
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (ev) {
      if (!window.confirm(form.dataset.confirm)) ev.preventDefault();
    });
  });

  // "…" menus: close on Escape and on a click elsewhere.
  var menus = document.querySelectorAll("details.menu");
  document.addEventListener("click", function (ev) {
    menus.forEach(function (m) { if (m.open && !m.contains(ev.target)) m.open = false; });
  });
  document.addEventListener("keydown", function (ev) {
    if (ev.key !== "Escape") return;
    menus.forEach(function (m) { if (m.open) { m.open = false; m.querySelector("summary").focus(); } });
  });

  // Upload with a progress bar (the plain form posts the same fields).
  var form = document.getElementById("upload-form");
  if (form && window.FormData && window.XMLHttpRequest) {
    var bar = document.getElementById("upload-progress");
    var pct = document.getElementById("upload-percent");
    var err = document.getElementById("upload-error");
    var btn = document.getElementById("upload-submit");
    var showError = function (msg) { err.textContent = msg; err.hidden = false; btn.disabled = false; };
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var file = document.getElementById("upload-file");
      if (!file.files.length) { showError("Choose a file to upload."); file.focus(); return; }
      err.hidden = true;
      btn.disabled = true;
      bar.hidden = false;
      bar.value = 0;
      pct.textContent = "0 %";
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      xhr.setRequestHeader("Accept", "application/json");
      xhr.upload.addEventListener("progress", function (e) {
        if (!e.lengthComputable) return;
        var p = Math.round(100 * e.loaded / e.total);
        bar.value = p;
        pct.textContent = p + " %";
      });
      xhr.addEventListener("load", function () {
        var body = null;
        try { body = JSON.parse(xhr.responseText); } catch (e) { /* not JSON */ }
        if (body && body.redirect) { bar.value = 100; pct.textContent = "Done"; window.location.assign(body.redirect); return; }
        showError(body && body.error ? body.error : "The upload failed with HTTP status " + xhr.status + ".");
      });
      xhr.addEventListener("error", function () { showError("The upload was interrupted: the console could not be reached."); });
      xhr.send(new FormData(form));
    });
  }
})();
