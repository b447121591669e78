// The voice registration page: the sheet goes to the portal (same session, CSRF token), the
// file goes straight to storage by the presigned POST, then the status is polled until final.
(function () {
  "use strict";
  var form = document.getElementById("voice-form");
  if (!form) { return; }
  var final = { registered: true, rejected: true, conflict: true };

  function show(id, text) { var el = document.getElementById(id); if (el) { el.textContent = text || ""; } }

  function poll(base, voiceNo) {
    fetch(base + voiceNo + "/status", { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (v) {
        show("voice-status", v.status);
        document.getElementById("voice-status").className = "status status-" + v.status;
        if (v.error) { show("voice-detail", v.error.code + ": " + v.error.message); }
        else if (v.audio) { show("voice-detail", v.audio.duration_s.toFixed(1) + " s, " + v.audio.format); }
        if (!v.final) { setTimeout(function () { poll(base, voiceNo); }, 1000); }
      })
      .catch(function () { setTimeout(function () { poll(base, voiceNo); }, 2000); });
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
      else { show("form-error", "upload failed (" + xhr.status + ")"); }
    };
    xhr.onerror = function () { show("form-error", "upload failed"); };
    xhr.send(data);
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    ["form-error", "file-error", "title-error", "performer_ids-error"].forEach(function (id) { show(id, ""); });
    var file = document.getElementById("file").files[0];
    if (!file) { show("file-error", "?"); return; }
    var body = new URLSearchParams(new FormData(form));
    body.delete("file");
    body.set("file_name", file.name);
    body.set("file_size", String(file.size));
    body.set("file_type", file.type || "application/octet-stream");
    document.getElementById("register").disabled = true;
    fetch(form.action, {
      method: "POST", credentials: "same-origin", body: body,
      headers: { "Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json" }
    })
      .then(function (r) { return r.json().then(function (j) { return { ok: r.ok, body: j }; }); })
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
        show("voice-status", "awaiting_upload");
        upload(reply.body.upload, file, function () { poll(base, voiceNo); });
      })
      .catch(function () { show("form-error", "network error"); document.getElementById("register").disabled = false; });
  });
}());
