// The voice registration page: the sheet goes to the portal (same session, CSRF token), the
// file goes straight to storage by the presigned POST, then the status is polled until final.
(function () {
  "use strict";
  var form = document.getElementById("voice-form");
  if (!form) { return; }
  var ja = (document.documentElement.lang || "ja") !== "en";
  function t(jaText, enText) { return ja ? jaText : enText; }
  var words = {
    awaiting_upload: t("アップロード待ち", "awaiting upload"), processing: t("処理中", "processing"),
    registered: t("登録済み", "registered"), rejected: t("登録できませんでした", "rejected"),
    conflict: t("競合（運営が確認します）", "conflict (an operator will decide)")
  };
  // A browser may not know an audio file's type (FLAC, Opus on some systems): named by its
  // extension, as the ailas client does, so the registry's own decoder decides.
  var types = { wav: "audio/wav", wave: "audio/wav", flac: "audio/flac", mp3: "audio/mpeg",
    ogg: "audio/ogg", oga: "audio/ogg", opus: "audio/ogg" };
  function audioType(file) {
    if (file.type && file.type.indexOf("audio/") === 0) { return file.type; }
    var ext = (file.name.split(".").pop() || "").toLowerCase();
    return types[ext] || "audio/x-unknown";
  }

  function show(id, text) { var el = document.getElementById(id); if (el) { el.textContent = text || ""; } }
  function signedOut() {
    show("form-error", t("セッションが切れました。サインインし直してから、もう一度お試しください。",
      "Your session has ended. Sign in again, then try once more."));
    var link = document.getElementById("signin-again");
    if (link) { link.hidden = false; }
  }
  // The portal answers JSON to this page; anything else (the sign-in page after a session
  // ended, an HTML error page) is not an answer to read as one.
  function json(r) {
    var type = r.headers.get("Content-Type") || "";
    if (r.redirected || type.indexOf("application/json") !== 0) { return Promise.reject("signed_out"); }
    return r.json().then(function (j) { return { ok: r.ok, body: j }; });
  }

  function poll(base, voiceNo) {
    fetch(base + voiceNo + "/status", { credentials: "same-origin" })
      .then(json)
      .then(function (reply) {
        var v = reply.body;
        show("voice-status", words[v.status] || v.status);
        document.getElementById("voice-status").className = "status status-" + v.status;
        if (v.error) { show("voice-detail", v.error.code + ": " + v.error.message); }
        else if (v.audio) { show("voice-detail", v.audio.duration_s.toFixed(1) + " s, " + v.audio.format); }
        if (!v.final) { setTimeout(function () { poll(base, voiceNo); }, 1000); }
      })
      .catch(function (why) {
        if (why === "signed_out") { signedOut(); return; }
        setTimeout(function () { poll(base, voiceNo); }, 2000);
      });
  }

  function upload(upload, file, done) {
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

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    ["form-error", "file-error", "title-error", "performer_ids-error"].forEach(function (id) { show(id, ""); });
    var file = document.getElementById("file").files[0];
    if (!file) { show("file-error", t("ファイルを選んでください。", "Choose a file.")); return; }
    var body = new URLSearchParams(new FormData(form));
    body.delete("file");
    body.set("file_name", file.name);
    body.set("file_size", String(file.size));
    body.set("file_type", audioType(file));
    document.getElementById("register").disabled = true;
    fetch(form.action, {
      method: "POST", credentials: "same-origin", body: body,
      headers: { "Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json" }
    })
      .then(json)
      .then(function (reply) {
        if (!reply.ok) {
          var errors = reply.body.errors || { form: "error" };
          Object.keys(errors).forEach(function (k) {
            var id = k === "file" ? "file-error" : (document.getElementById(k + "-error") ? k + "-error" : "form-error");
            show(id, errors[k]);
          });
          document.getElementById("register").disabled = false;
          return;
        }
        var voiceNo = reply.body.voice_no, base = form.getAttribute("data-status-base");
        document.getElementById("progress-box").hidden = false;
        show("voice-no", voiceNo);
        document.getElementById("voice-link").href = base + voiceNo;
        show("voice-status", words.awaiting_upload);
        upload(reply.body.upload, file, function () { poll(base, voiceNo); });
      })
      .catch(function (why) {
        if (why === "signed_out") { signedOut(); }
        else { show("form-error", t("通信エラーです。もう一度お試しください。", "Network error: please try again.")); }
        document.getElementById("register").disabled = false;
      });
  });
}());
