// Upload progress for the console's file forms (发票数据, 申报情况): a form with
// `data-progress="<id>"` is sent with XMLHttpRequest so that the <progress> inside #<id> shows
// how much of the file has gone up. Without this script the form posts as usual. The answer
// is shown as the browser would: a redirect is followed, any other page replaces this one.
// After the redirect, the new page says the upload reached 100% (kept in sessionStorage).
(function () {
  "use strict";
  var KEY = "fapiao.upload";

  function box(form) {
    var id = form.getAttribute("data-progress");
    return id ? document.getElementById(id) : null;
  }

  function show(el, percent, text) {
    if (!el) { return; }
    el.hidden = false;
    var bar = el.querySelector("progress"), label = el.querySelector(".upload-text");
    if (bar) { bar.value = percent; }
    if (label) { label.textContent = text; }
    el.setAttribute("data-percent", String(percent));
  }

  // The upload that led here, if any: shown once beside its form.
  try {
    var done = JSON.parse(window.sessionStorage.getItem(KEY) || "null");
    window.sessionStorage.removeItem(KEY);
    if (done && done.id) {
      show(document.getElementById(done.id), 100, "上传完成（100%）：" + done.name);
    }
  } catch (e) { /* storage unavailable: nothing to show */ }

  var forms = document.querySelectorAll("form[data-progress]");
  Array.prototype.forEach.call(forms, function (form) {
    if (!window.FormData || !window.XMLHttpRequest) { return; }
    form.addEventListener("submit", function (ev) {
      var el = box(form), input = form.querySelector("input[type=file]");
      var file = input && input.files && input.files[0];
      if (!file) { return; } // let the browser say the field is required
      ev.preventDefault();
      var button = form.querySelector("button[type=submit]");
      if (button) { button.disabled = true; }
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      xhr.upload.addEventListener("progress", function (e) {
        if (e.lengthComputable && e.total > 0) {
          var p = Math.min(100, Math.round((e.loaded / e.total) * 100));
          show(el, p, "正在上传 " + p + "%");
        }
      });
      xhr.upload.addEventListener("load", function () {
        show(el, 100, "上传完成（100%），正在处理，请稍候…");
      });
      xhr.addEventListener("load", function () {
        show(el, 100, "上传完成（100%），正在处理，请稍候…");
        var url = xhr.responseURL || "";
        var redirected = url && url.split("#")[0] !== form.action;
        if (xhr.status < 400 && redirected) {
          try {
            window.sessionStorage.setItem(KEY, JSON.stringify({ id: form.getAttribute("data-progress"), name: file.name }));
          } catch (e) { /* the page works without the note */ }
          window.location.assign(url);
          return;
        }
        // A refusal (the page with the reason): show it as the browser would have.
        document.open();
        document.write(xhr.responseText);
        document.close();
      });
      xhr.addEventListener("error", function () {
        if (button) { button.disabled = false; }
        show(el, 0, "上传失败，请检查网络后重试。");
      });
      show(el, 0, "正在上传 0%");
      xhr.send(new FormData(form));
    });
  });
})();
