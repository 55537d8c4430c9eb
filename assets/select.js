// 发票勾选: page-level select-all (at most 100 invoices, as the manual says) and the warning
// when leaving a page whose ticks were not saved with 保存. The page works without it.
(function () {
  "use strict";
  // Dependent fields: 认证状态 switches between 勾选状态 + 开票日期 and 认证方式 + 确认/扫描日期.
  // The stylesheet shows and hides them (also without this script); here the hidden set is
  // disabled so that it is not sent, and a hidden required date does not block 查询.
  var certified = document.getElementById("certified");
  if (certified) {
    var sync = function () {
      var on = certified.value === "true";
      document.querySelectorAll(".when-certified").forEach(function (el) { el.querySelectorAll("input,select").forEach(function (i) { i.disabled = !on; }); });
      document.querySelectorAll(".when-uncertified").forEach(function (el) { el.querySelectorAll("input,select").forEach(function (i) { i.disabled = on; }); });
    };
    certified.addEventListener("change", sync);
    sync();
  }
  var form = document.getElementById("ticks");
  if (!form) { return; }
  var boxes = Array.prototype.slice.call(form.querySelectorAll("input[name=tick]"));
  var initial = boxes.map(function (b) { return b.checked; });
  var dirty = function () {
    return boxes.some(function (b, i) { return b.checked !== initial[i]; });
  };
  var all = document.getElementById("select-all");
  if (all) {
    all.hidden = false;
    all.querySelector("input").addEventListener("change", function (e) {
      var on = e.target.checked;
      boxes.forEach(function (b, i) { if (!b.disabled) { b.checked = on && i < 100 ? true : (on ? b.checked : false); } });
      update();
    });
  }
  var note = document.getElementById("unsaved");
  var update = function () { if (note) { note.hidden = !dirty(); } };
  boxes.forEach(function (b) { b.addEventListener("change", update); });
  var message = "当前页的勾选操作尚未保存，请先点击“保存”按钮。确定要离开本页吗？";
  var saving = false;
  form.addEventListener("submit", function () { saving = true; });
  document.querySelectorAll("a.leave, nav.pager a, nav.menu a").forEach(function (a) {
    a.addEventListener("click", function (e) {
      if (dirty() && !window.confirm(message)) { e.preventDefault(); }
    });
  });
  window.addEventListener("beforeunload", function (e) {
    if (dirty() && !saving) { e.preventDefault(); e.returnValue = message; return message; }
  });
})();
