// 征纳互动 loader: the button is server-rendered and inert; the chat widget (chat.js) is fetched
// only on first use, when an interaction is already live, or to restore the window after a
// page navigation.
(function () {
  "use strict";
  var root = document.getElementById("zn"), fab = document.getElementById("zn-open");
  if (!root || !fab) { return; }
  var ss = null, who = root.getAttribute("data-who") || "";
  try {
    ss = window.sessionStorage;
    // Another taxpayer used this tab before: forget their chat.
    if (ss.getItem("zn.who") !== who) { ss.removeItem("zn.ui"); ss.removeItem("zn.data"); ss.setItem("zn.who", who); }
  } catch (e) { /* storage disabled */ }
  var loading = false, restore = true;
  var go = function (auto) {
    if (window.ZN) { window.ZN.open(auto); return; }
    restore = restore && auto;
    if (loading) { return; }
    loading = true;
    var s = document.createElement("script");
    s.src = "/assets/chat.js";
    s.onload = function () { if (window.ZN) { window.ZN.open(restore); } };
    s.onerror = function () { loading = false; s.remove(); };
    document.head.appendChild(s);
  };
  fab.addEventListener("click", function () { go(false); });
  var ui = null;
  try { ui = JSON.parse(ss.getItem("zn.ui")); } catch (e) { ui = null; }
  if (root.getAttribute("data-live") === "1" || (ui && ui.on)) { go(true); }
})();
