// The trace page: the file's facts go to the portal, the file straight to storage, and once
// the trace is done the browser opens its result page.
(function () {
  "use strict";
  var form = document.getElementById("trace-form");
  var u = window.ailasUpload;
  if (!form || !u) { return; }
  var t = u.t, show = u.show;
  // The button starts disabled: pressed before this script ran, the form would be posted
  // without the file's facts (the script sends them), and answered with a JSON error.
  document.getElementById("trace").disabled = false;
  var words = { awaiting_upload: t("アップロード待ち", "awaiting upload"), processing: t("照合中", "matching"),
    done: t("完了", "done"), failed: t("照合できませんでした", "failed") };

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    ["form-error", "file-error"].forEach(function (id) { show(id, ""); });
    var file = document.getElementById("file").files[0];
    if (!file) { show("file-error", t("ファイルを選んでください。", "Choose a file.")); return; }
    document.getElementById("trace").disabled = true;
    u.post(form.action, u.sheet(form, file))
      .then(function (reply) {
        if (!reply.ok) {
          var errors = reply.body.errors || { form: "error" };
          Object.keys(errors).forEach(function (k) { show(k === "file" ? "file-error" : "form-error", errors[k]); });
          document.getElementById("trace").disabled = false;
          return;
        }
        var page = form.getAttribute("data-status-base") + reply.body.trace_id;
        document.getElementById("progress-box").hidden = false;
        show("trace-status", words.awaiting_upload);
        u.send(reply.body.upload, file, function () {
          u.poll(page + "/status", function (job) {
            show("trace-status", words[job.status] || job.status);
            if (job.final) { window.location.assign(page); }
          });
        });
      })
      .catch(function (why) {
        if (why === "signed_out") { u.signedOut(); }
        else { show("form-error", t("通信エラーです。もう一度お試しください。", "Network error: please try again.")); }
        document.getElementById("trace").disabled = false;
      });
  });
}());
