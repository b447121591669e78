// The voice registration page: the sheet goes to the portal (same session, CSRF token), the
// file goes straight to storage by the presigned POST, then the status is polled until final.
(function () {
  "use strict";
  var form = document.getElementById("voice-form");
  var u = window.ailasUpload;
  if (!form || !u) { return; }
  var t = u.t, show = u.show;
  // The button starts disabled: pressed before this script ran, the form would be posted
  // without the file's facts (the script sends them), and answered with a JSON error.
  document.getElementById("register").disabled = false;
  var words = {
    awaiting_upload: t("アップロード待ち", "awaiting upload"), processing: t("処理中", "processing"),
    registered: t("登録済み", "registered"), rejected: t("登録できませんでした", "rejected"),
    conflict: t("競合（運営が確認します）", "conflict (an operator will decide)")
  };

  function each(v) {
    show("voice-status", words[v.status] || v.status);
    document.getElementById("voice-status").className = "status status-" + v.status;
    if (v.error) { show("voice-detail", v.said || (v.error.code + ": " + v.error.message)); }
    else if (v.audio) { show("voice-detail", v.audio.duration_s.toFixed(1) + " s, " + v.audio.format); }
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    ["form-error", "file-error", "title-error", "performer_ids-error"].forEach(function (id) { show(id, ""); });
    var file = document.getElementById("file").files[0];
    if (!file) { show("file-error", t("ファイルを選んでください。", "Choose a file.")); return; }
    document.getElementById("register").disabled = true;
    u.post(form.action, u.sheet(form, file))
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
        u.send(reply.body.upload, file, function () { u.poll(base + voiceNo + "/status", each); });
      })
      .catch(function (why) {
        if (why === "signed_out") { u.signedOut(); }
        else { show("form-error", t("通信エラーです。もう一度お試しください。", "Network error: please try again.")); }
        document.getElementById("register").disabled = false;
      });
  });
}());
