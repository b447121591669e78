// What the portal's upload pages share: a file goes straight to storage by the presigned POST
// (with a progress bar), and a job's status is polled, as JSON of the same session, until final.
(function () {
  "use strict";
  var ja = (document.documentElement.lang || "ja") !== "en";
  function t(jaText, enText) { return ja ? jaText : enText; }
  function show(id, text) { var el = document.getElementById(id); if (el) { el.textContent = text || ""; } }

  // A browser may not know an audio file's type (FLAC, Opus on some systems): named by its
  // extension, as the ailas client does, so the registry's own decoder decides.
  var types = { wav: "audio/wav", wave: "audio/wav", flac: "audio/flac", mp3: "audio/mpeg",
    ogg: "audio/ogg", oga: "audio/ogg", opus: "audio/ogg", m4a: "audio/mp4", aac: "audio/aac" };
  function audioType(file) {
    if (file.type && file.type.indexOf("audio/") === 0) { return file.type; }
    var ext = (file.name.split(".").pop() || "").toLowerCase();
    return types[ext] || "audio/x-unknown";
  }

  // The portal answers JSON to these pages; anything else (the sign-in page after a session
  // ended, an HTML error page) is not an answer to read as one.
  function json(r) {
    var type = r.headers.get("Content-Type") || "";
    if (r.redirected || type.indexOf("application/json") !== 0) { return Promise.reject("signed_out"); }
    return r.json().then(function (j) { return { ok: r.ok, body: j }; });
  }

  function signedOut() {
    show("form-error", t("セッションが切れました。サインインし直してから、もう一度お試しください。",
      "Your session has ended. Sign in again, then try once more."));
    var link = document.getElementById("signin-again");
    if (link) { link.hidden = false; }
  }

  // The form's fields, and the file described (not sent: it goes to storage).
  function sheet(form, file) {
    var body = new URLSearchParams(new FormData(form));
    body.delete("file");
    body.set("file_name", file.name);
    body.set("file_size", String(file.size));
    body.set("file_type", audioType(file));
    return body;
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin", body: body,
      headers: { "Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json" }
    }).then(json);
  }

  function send(upload, file, done) {
    var data = new FormData();
    Object.keys(upload.fields).forEach(function (k) { data.append(k, upload.fields[k]); });
    data.append("file", file);
    var xhr = new XMLHttpRequest();
    xhr.open("POST", upload.url);
    xhr.upload.onprogress = function (e) {
      if (e.lengthComputable) { document.getElementById("upload-progress").value = Math.round(100 * e.loaded / e.total); }
    };
    xhr.onload = function () {
      if (xhr.status >= 200 && xhr.status < 300) { document.getElementById("upload-progress").value = 100; done(); }
      else { show("form-error", t("ファイルを送れませんでした", "The file could not be sent") + " (" + xhr.status + ")"); }
    };
    xhr.onerror = function () { show("form-error", t("ファイルを送れませんでした（通信エラー）", "The file could not be sent (network error)")); };
    xhr.send(data);
  }

  // Ask `url` every second until the reply says final; a network error waits two.
  function poll(url, each) {
    fetch(url, { credentials: "same-origin" })
      .then(json)
      .then(function (reply) {
        each(reply.body);
        if (!reply.body.final) { setTimeout(function () { poll(url, each); }, 1000); }
      })
      .catch(function (why) {
        if (why === "signed_out") { signedOut(); return; }
        setTimeout(function () { poll(url, each); }, 2000);
      });
  }

  window.ailasUpload = { t: t, show: show, sheet: sheet, post: post, send: send, poll: poll, signedOut: signedOut };
}());
