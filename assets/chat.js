// 征纳互动: the taxpayer's chat window, loaded by zn.js on first use. Plain DOM (textContent
// only, never innerHTML), one WebSocket (docs/interaction.md), WebRTC for 视频/屏幕共享.
(function () {
  "use strict";
  if (window.ZN) { return; }
  var UI = "zn.ui", DATA = "zn.data", MAX = 2000;
  var STARS = ["非常不满意", "不满意", "一般", "满意", "非常满意"];
  var fab = document.getElementById("zn-open");
  var md = navigator.mediaDevices;
  var canShare = !!(md && md.getDisplayMedia);
  var noop = function () {};

  // ---- storage: UI state and the transcript survive page navigations within the tab
  var load = function (k) { try { return JSON.parse(window.sessionStorage.getItem(k)); } catch (e) { return null; } };
  var store = function (k, v) { try { window.sessionStorage.setItem(k, JSON.stringify(v)); } catch (e) { /* quota or disabled */ } };
  var ui = load(UI) || {}; // {on, min, x, y}
  var saved = load(DATA) || {};
  var cur = typeof saved.cur === "number" ? saved.cur : null; // the interaction shown
  var ix = {}; // i -> {st, m: [msg sorted by seq], has: {seq: 1}}
  var out = Array.isArray(saved.out) ? saved.out : []; // say frames not echoed yet
  var rec = function (i) {
    var r = ix[i];
    if (!r) { r = ix[i] = { st: null, m: [], has: {} }; }
    return r;
  };
  Object.keys(saved.ix || {}).forEach(function (k) {
    var s = saved.ix[k], r = rec(+k);
    r.st = s.st || null;
    (s.m || []).forEach(function (m) { if (!r.has[m.seq]) { r.has[m.seq] = 1; r.m.push(m); } });
  });
  var persist = function () {
    var o = {};
    Object.keys(ix).forEach(function (k) { o[k] = { st: ix[k].st, m: ix[k].m }; });
    store(DATA, { cur: cur, ix: o, out: out });
  };
  var saveUi = function () { store(UI, ui); };
  // The highest seq with nothing missing before it: what hello's `since` asks to resume from.
  var seen = function (r) { var n = 0; while (r.has[n + 1]) { n++; } return n; };
  var stageOf = function (i) { var r = i == null ? null : ix[i]; return r && r.st ? r.st.stage : ""; };
  var isOpen = function (stage) { return stage === "bot" || stage === "queued" || stage === "assigned"; };

  // ---- DOM helpers
  var el = function (tag, attrs, kids) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      var v = attrs[k];
      if (k === "text") { e.textContent = v; } else if (k === "cls") { e.className = v; } else if (k.slice(0, 2) === "on") { e.addEventListener(k.slice(2), v); } else if (v === true) { e.setAttribute(k, ""); } else if (v != null && v !== false) { e.setAttribute(k, v); }
    });
    (kids || []).forEach(function (c) { if (c) { e.appendChild(typeof c === "string" ? document.createTextNode(c) : c); } });
    return e;
  };
  var button = function (id, text, fn, cls) { return el("button", { type: "button", id: id, cls: cls || "zn-btn", text: text, onclick: fn }); };
  var hhmm = function (at) { var t = /T(\d\d:\d\d)/.exec(at || ""); return t ? t[1] : ""; };
  var rid = function () {
    var a = new Uint8Array(12);
    if (window.crypto && window.crypto.getRandomValues) { window.crypto.getRandomValues(a); } else { for (var k = 0; k < a.length; k++) { a[k] = Math.random() * 256; } }
    return Array.prototype.map.call(a, function (b) { return (b + 256).toString(16).slice(1); }).join("");
  };

  // ---- the window
  var log = el("div", { cls: "zn-log", role: "log", "aria-live": "polite", "aria-relevant": "additions", "aria-label": "征纳互动消息" });
  var pending = el("div", { cls: "zn-pending" });
  var scroller = el("div", { cls: "zn-scroll", tabindex: "0" }, [log, pending]);
  var statusEl = el("p", { cls: "zn-status", role: "status" });
  var remoteV = el("video", { cls: "zn-remote", autoplay: true, playsinline: true, "aria-label": "税务工作人员视频" });
  var localV = el("video", { cls: "zn-local", autoplay: true, playsinline: true, "aria-label": "本人视频" });
  localV.muted = true;
  var screenBtn = button("zn-screen", "屏幕共享", function () { toggleScreen(); });
  var hideBtn = button("zn-hide-chat", "隐藏聊天", function () { chatHidden = !chatHidden; render(); });
  var videoPane = el("div", { cls: "zn-video", hidden: true }, [remoteV, localV, el("div", { cls: "zn-vbar" }, [screenBtn, hideBtn])]);
  var infoEl = el("p", { cls: "zn-info" });
  var reasonEl = el("p", { id: "zn-human-reason", cls: "zn-reason" });
  var posEl = el("p", { id: "zn-position", cls: "zn-info" });
  var humanBtn = button("zn-human", "发起人工导税", function () { act("human"); });
  humanBtn.setAttribute("aria-describedby", "zn-human-reason");
  var cancelBtn = button("zn-cancel", "取消征纳互动", function () { if (window.confirm("确定取消本次征纳互动吗？")) { act("cancel"); } });
  var videoBtn = button("zn-video", "发起视频", function () { if (window.confirm("是否发起视频聊天")) { act("call"); } });
  var hangBtn = button("zn-hangup", "关闭视频", function () { if (window.confirm("是否断开视频聊天")) { act("hangup"); } });
  var tools = el("div", { cls: "zn-tools" }, [infoEl, posEl, humanBtn, cancelBtn, videoBtn, hangBtn, reasonEl]);
  var endView = el("div", { cls: "zn-end", hidden: true });
  var input = el("textarea", { id: "zn-input", cls: "zn-input", rows: "3", maxlength: String(MAX), placeholder: "请输入您想咨询的内容（Enter发送，Shift+Enter换行）" });
  var sendBtn = button("zn-send", "发送", function () { if (say(input.value)) { input.value = ""; } input.focus(); }, "zn-btn zn-primary");
  var composer = el("div", { cls: "zn-compose" }, [el("label", { cls: "zn-sr", "for": "zn-input", text: "消息内容" }), input, sendBtn]);
  var minBtn = button("zn-min", "—", function () { minimise(true); }, "zn-tb");
  var closeBtn = button("zn-close", "✕", function () { closeWindow(); }, "zn-tb");
  minBtn.setAttribute("aria-label", "最小化");
  minBtn.title = "最小化";
  closeBtn.setAttribute("aria-label", "关闭");
  closeBtn.title = "关闭";
  var bar = el("div", { cls: "zn-bar", tabindex: "0", role: "group", title: "拖动或使用方向键移动窗口", "aria-label": "征纳互动窗口标题栏，可使用方向键移动窗口" }, [el("h2", { cls: "zn-h", text: "征纳互动" }), minBtn, closeBtn]);
  var win = el("div", { id: "zn-window", cls: "zn-win", role: "dialog", "aria-label": "征纳互动", hidden: true }, [bar, statusEl, videoPane, tools, scroller, endView, composer]);
  win.dataset.stage = "";
  win.dataset.call = "none";
  win.dataset.live = "0";
  var badge = el("span", { cls: "zn-badge", hidden: true });
  if (fab) { fab.appendChild(badge); }
  (document.getElementById("zn") || document.body).appendChild(win);

  var chatHidden = false, wantInput = false, rateBusy = false, endKey = "", unread = 0;
  var welcome = null, ws = null, live = false, stopped = true, everLive = false, retry = 0;
  var retryTimer = null, pingTimer = null, pongTimer = null, closing = null, closeTimer = null;
  var call = null; // {i, pc, local, cam, screen, sender, remote, cands, tries}

  // ---- messages
  var scrollDown = function (force) {
    var near = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 80;
    if (force || near) { scroller.scrollTop = scroller.scrollHeight; }
  };
  var note = function (text) { log.appendChild(el("div", { cls: "zn-m zn-system zn-note" }, [el("p", { cls: "zn-text", text: text })])); scrollDown(true); };
  var msgEl = function (m) {
    var who = m.from === "taxpayer" ? "我" : m.from === "bot" ? "智能服务" : m.from === "agent" ? (m.name || "税务工作人员") : "";
    var d = el("div", { cls: "zn-m zn-" + (m.from || "system"), "data-seq": String(m.seq) });
    if (who) { d.appendChild(el("p", { cls: "zn-meta" }, [el("span", { cls: "zn-who", text: who }), " ", el("time", { datetime: m.at, text: hhmm(m.at) })])); }
    d.appendChild(el("p", { cls: "zn-text", text: String(m.text == null ? "" : m.text) }));
    if (Array.isArray(m.suggest) && m.suggest.length) {
      var box = el("div", { cls: "zn-suggest", role: "group", "aria-label": "您是否要咨询以下问题：" });
      if (String(m.text).indexOf("您是否要咨询以下问题") < 0) { box.appendChild(el("p", { text: "您是否要咨询以下问题：" })); }
      m.suggest.forEach(function (s) {
        if (s && s.question) { box.appendChild(el("button", { type: "button", cls: "zn-q", text: s.question, onclick: function () { say(s.question); } })); }
      });
      d.appendChild(box);
    }
    return d;
  };
  // Inserts in seq order (local notes have no seq and stay where they are).
  var insert = function (node, seq) {
    var kids = log.children, k = kids.length - 1;
    while (k >= 0 && +(kids[k].getAttribute("data-seq") || 0) > seq) { k--; }
    log.insertBefore(node, kids[k + 1] || null);
  };
  var pendEls = {};
  var addPending = function (o) {
    var d = el("div", { cls: "zn-m zn-taxpayer zn-sending" }, [el("p", { cls: "zn-meta" }, [el("span", { cls: "zn-who", text: "我" }), " ", el("span", { cls: "zn-flag", text: "发送中…" })]), el("p", { cls: "zn-text", text: o.text })]);
    pendEls[o.cid] = d;
    pending.appendChild(d);
  };
  var settle = function (cid, failed) {
    out = out.filter(function (o) { return o.cid !== cid; });
    var d = pendEls[cid];
    delete pendEls[cid];
    if (!d) { return; }
    if (failed) { d.className = "zn-m zn-taxpayer zn-failed"; d.querySelector(".zn-flag").textContent = "发送失败"; } else { d.remove(); }
  };
  var showAll = function () {
    log.textContent = "";
    pending.textContent = "";
    pendEls = {};
    if (cur != null) { rec(cur).m.forEach(function (m) { insert(msgEl(m), m.seq); }); }
    out.forEach(function (o) { if (o.i === cur) { addPending(o); } });
    scrollDown(true);
  };
  var setCur = function (i) { if (cur !== i) { cur = i; endKey = ""; showAll(); } };
  var onMsg = function (m) {
    if (typeof m.i !== "number" || typeof m.seq !== "number") { return; }
    var r = rec(m.i);
    if (m.cid) { settle(m.cid, false); }
    if (r.has[m.seq]) { return; } // a duplicate after a resume
    r.has[m.seq] = 1;
    r.m.push(m);
    if (r.m.length > 1 && r.m[r.m.length - 2].seq > m.seq) { r.m.sort(function (a, b) { return a.seq - b.seq; }); }
    if (cur == null || m.i > cur) { setCur(m.i); } else if (m.i === cur) { insert(msgEl(m), m.seq); scrollDown(m.from === "taxpayer"); }
    if (m.i === cur && m.from !== "taxpayer" && win.hidden) { unread++; }
    persist();
  };
  var say = function (text) {
    text = String(text || "").replace(/^\s+|\s+$/g, "");
    if (!text || !isOpen(stageOf(cur))) { return false; }
    if (text.length > MAX) { note("消息不能超过" + MAX + "字"); return false; }
    var o = { cid: rid(), i: cur, text: text };
    out.push(o);
    persist();
    addPending(o);
    scrollDown(true);
    send({ t: "say", i: o.i, text: o.text, cid: o.cid });
    return true;
  };
  var act = function (t) { if (cur != null) { send({ t: t, i: cur }); } };

  // ---- transport
  var URL = (location.protocol === "https:" ? "wss" : "ws") + "://" + location.host + "/api/v1/interact/ws";
  var send = function (f) {
    if (!ws || ws.readyState !== 1) { return false; }
    try { ws.send(JSON.stringify(f)); return true; } catch (e) { return false; }
  };
  var status = function (t) { statusEl.textContent = t; statusEl.hidden = !t; };
  var connect = function () {
    stopped = false;
    if (ws) { return; }
    clearTimeout(retryTimer);
    status(everLive ? "网络已断开，正在重连…" : "连接中…");
    var s;
    try { s = new WebSocket(URL); } catch (e) { drop(); return; }
    ws = s;
    s.onopen = function () {
      if (ws !== s) { return; }
      var since = {};
      Object.keys(ix).forEach(function (k) { since[k] = seen(ix[k]); });
      send({ t: "hello", since: since });
      pingTimer = setInterval(function () {
        if (send({ t: "ping" })) { clearTimeout(pongTimer); pongTimer = setTimeout(drop, 5000); }
      }, 10000);
    };
    s.onmessage = function (e) {
      if (ws !== s) { return; }
      var f = null;
      try { f = JSON.parse(e.data); } catch (x) { return; }
      if (f && typeof f === "object") { try { handle(f); } catch (x) { if (window.console) { window.console.error(x); } } }
    };
    s.onclose = s.onerror = function () { if (ws === s) { drop(); } };
  };
  var drop = function () {
    var s = ws;
    ws = null;
    live = false;
    win.dataset.live = "0";
    clearInterval(pingTimer);
    clearTimeout(pongTimer);
    if (s) { s.onclose = s.onerror = s.onmessage = s.onopen = null; try { s.close(); } catch (e) { /* already closed */ } }
    clearTimeout(retryTimer);
    if (!stopped) {
      retryTimer = setTimeout(connect, Math.min(10000, 500 * Math.pow(2, retry++)));
      status("网络已断开，正在重连…");
    } else { status(""); }
    render();
  };
  var stop = function () { stopped = true; clearTimeout(closeTimer); drop(); };
  var nudge = function () { if (!stopped && !ws) { retry = 0; connect(); } };
  window.addEventListener("online", nudge);
  document.addEventListener("visibilitychange", function () { if (!document.hidden) { nudge(); } });

  var handle = function (f) {
    switch (f.t) {
    case "welcome":
      welcome = f;
      live = everLive = true;
      retry = 0;
      win.dataset.live = "1";
      status("");
      out.forEach(function (o) { send({ t: "say", i: o.i, text: o.text, cid: o.cid }); });
      if (closing != null) { send({ t: "close", i: closing }); }
      break;
    case "state": onState(f); break;
    case "msg": onMsg(f); break;
    case "signal": onSignal(f); break;
    case "pong": clearTimeout(pongTimer); break;
    case "error":
      if (f.cid) { settle(f.cid, true); persist(); }
      if (f.message) { note(String(f.message)); }
      rateBusy = false;
      if ((f.code === "unknown_interaction" || f.code === "not_yours") && typeof f.i === "number") {
        delete ix[f.i];
        if (f.i === cur) { restart(); return; }
        persist();
      }
      break;
    default: return; // unknown frames are ignored
    }
    render();
  };
  var onState = function (s) {
    if (typeof s.i !== "number") { return; }
    rec(s.i).st = s;
    if (cur == null || s.i > cur) { setCur(s.i); }
    if (s.i === cur) {
      win.dataset.stage = s.stage || "";
      if (s.stage === "assigned" && s.call === "active") { if (!call || call.i !== s.i) { startCall(s.i); } } else if (call) { stopCall(); }
    }
    if (s.stage !== "ended") { rateBusy = false; }
    if (closing === s.i && !isOpen(s.stage)) { closing = null; stop(); }
    persist();
  };

  // ---- rendering of the controls by stage
  var ratingFor = function () {
    var best = null;
    Object.keys(ix).forEach(function (k) { var s = ix[k].st; if (s && s.stage === "ended" && s.rating_offered && s.rating == null && (best == null || +k > best)) { best = +k; } });
    return best;
  };
  var render = function () {
    var had = win.contains(document.activeElement) ? document.activeElement : null, st = cur != null && ix[cur] ? ix[cur].st : null, stage = st ? st.stage : "", c = st ? st.call : "none";
    // the video pane, the tools and the rating view change the room left to the messages:
    // a transcript read to its end stays at its end (also when the chat pane comes back)
    var stick = scroller.hidden || scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 80;
    var h = (st && st.human) || (welcome && welcome.human) || { available: true, reason: "" };
    var open = isOpen(stage), inCall = stage === "assigned" && c === "active";
    humanBtn.hidden = stage !== "bot";
    humanBtn.disabled = !live || !h.available;
    humanBtn.title = h.available ? (welcome && welcome.hours ? "人工服务时间：" + welcome.hours : "") : (h.reason || "");
    reasonEl.hidden = stage !== "bot" || !!h.available;
    reasonEl.textContent = h.available ? "" : (h.reason || "");
    posEl.hidden = cancelBtn.hidden = stage !== "queued";
    posEl.textContent = st && st.position ? "正在为您转接人工服务，当前排队第 " + st.position + " 位" : "正在为您转接人工服务，请稍候";
    infoEl.hidden = stage !== "assigned";
    infoEl.textContent = stage === "assigned" ? "税务工作人员" + (st.agent ? " " + st.agent + " " : "") + "为您服务" + (c === "ringing" ? "，正在等待接听视频…" : "") : "";
    videoBtn.hidden = !(stage === "assigned" && c === "none");
    hangBtn.hidden = !(stage === "assigned" && c !== "none");
    cancelBtn.disabled = videoBtn.disabled = hangBtn.disabled = !live;
    videoPane.hidden = !inCall;
    screenBtn.hidden = !canShare || !inCall;
    screenBtn.textContent = call && call.screen ? "停止共享" : "屏幕共享";
    screenBtn.setAttribute("aria-pressed", call && call.screen ? "true" : "false");
    if (!inCall) { chatHidden = false; }
    hideBtn.hidden = !inCall;
    hideBtn.textContent = chatHidden ? "显示聊天" : "隐藏聊天";
    hideBtn.setAttribute("aria-pressed", chatHidden ? "true" : "false");
    win.classList.toggle("zn-calling", inCall);
    scroller.hidden = chatHidden;
    composer.hidden = chatHidden || (!!stage && !open);
    input.disabled = sendBtn.disabled = !open;
    Array.prototype.forEach.call(log.querySelectorAll(".zn-q"), function (b) { b.disabled = !open; });
    tools.hidden = !open;
    renderEnd(st);
    if (stick && !scroller.hidden) { scroller.scrollTop = scroller.scrollHeight; }
    badge.hidden = !unread;
    badge.textContent = unread ? String(unread) : "";
    if (ui.x != null && !win.hidden) { place(ui.x, ui.y); }
    if (wantInput && !input.disabled && !composer.hidden && !win.hidden) {
      wantInput = false;
      if (document.activeElement === bar) { input.focus(); }
    }
    // keep the keyboard focus in the window when the focused control went away
    if (had && !win.hidden && (!win.contains(had) || had.offsetParent === null || had.disabled)) {
      var next = [].filter.call(win.querySelectorAll(".zn-end input, .zn-end button, .zn-tools button, #zn-input"), function (b) { return b.offsetParent !== null && !b.disabled; })[0];
      (next || bar).focus();
    }
  };
  var renderEnd = function (st) {
    var r = ratingFor(), stage = st ? st.stage : "";
    var key = r != null ? "rate" + r : (stage === "rated" || stage === "cancelled" || stage === "ended") ? stage + cur : "";
    if (key !== endKey) {
      endKey = key;
      endView.textContent = "";
      if (r != null) { endView.appendChild(rateForm(r)); } else if (key) {
        var text = stage === "rated" ? "感谢您的评价" : stage === "cancelled" ? "本次征纳互动已取消" : "本次征纳互动已结束";
        endView.appendChild(el("p", { cls: "zn-done", text: text }));
        endView.appendChild(button("zn-restart", "重新发起", function () { restart(); }, "zn-btn zn-primary"));
      }
    }
    endView.hidden = !key;
    var sub = document.getElementById("zn-rate-submit");
    if (sub) { sub.disabled = !live; sub.textContent = rateBusy ? "提交中…" : "提交评价"; }
  };
  var rateForm = function (i) {
    var shown = el("span", { cls: "zn-stars-text", "aria-hidden": "true" });
    var row = el("div", { cls: "zn-stars", role: "radiogroup", "aria-label": "满意度" });
    var err = el("p", { cls: "zn-reason", role: "alert" });
    var mark = function () {
      var v = 0;
      Array.prototype.forEach.call(row.querySelectorAll("input"), function (x) { if (x.checked) { v = +x.value; } });
      Array.prototype.forEach.call(row.querySelectorAll("label"), function (l, k) { l.classList.toggle("zn-on", k < v); });
      shown.textContent = v ? STARS[v - 1] : "";
      return v;
    };
    STARS.forEach(function (lab, k) {
      var x = el("input", { type: "radio", name: "zn-stars", value: String(k + 1), id: "zn-star-" + (k + 1), cls: "zn-sr", onchange: function () { err.textContent = ""; mark(); } });
      row.appendChild(el("label", { "for": x.id, cls: "zn-star", title: lab }, [x, el("span", { "aria-hidden": "true", text: "★" }), el("span", { cls: "zn-sr", text: lab })]));
    });
    var comment = el("textarea", { id: "zn-comment", cls: "zn-input", rows: "2", maxlength: "500", placeholder: "请输入您的意见或建议（选填，500字以内）" });
    var submit = button("zn-rate-submit", "提交评价", function () {
      var v = mark();
      if (rateBusy) { return; }
      if (!v) { err.textContent = "请选择满意度"; return; }
      var f = { t: "rate", i: i, stars: v };
      var text = comment.value.replace(/^\s+|\s+$/g, "");
      if (text) { f.comment = text.slice(0, 500); }
      if (send(f)) { rateBusy = true; render(); }
    }, "zn-btn zn-primary");
    return el("fieldset", { cls: "zn-rate" }, [el("legend", { text: "本次征纳互动已结束，请对本次服务进行评价" }), row, shown,
      el("label", { "for": "zn-comment", cls: "zn-clabel", text: "评价意见（选填）" }), comment, err, submit]);
  };

  // ---- window placement, minimise, close
  var place = function (x, y) {
    var vw = document.documentElement.clientWidth, vh = window.innerHeight;
    x = Math.max(0, Math.min(x, vw - win.offsetWidth));
    y = Math.max(0, Math.min(y, vh - win.offsetHeight));
    win.style.left = x + "px";
    win.style.top = y + "px";
    ui.x = x;
    ui.y = y;
  };
  var show = function (focus) {
    win.hidden = false;
    ui.on = true;
    ui.min = false;
    unread = 0;
    if (ui.x == null) { ui.x = document.documentElement.clientWidth - win.offsetWidth - 72; ui.y = window.innerHeight - win.offsetHeight - 16; }
    render();
    saveUi();
    if (fab) { fab.setAttribute("aria-expanded", "true"); }
    if (focus) { (input.disabled || composer.hidden ? bar : input).focus(); wantInput = input.disabled; }
    scrollDown(true);
  };
  var minimise = function (focus) {
    win.hidden = true;
    ui.on = ui.min = true;
    saveUi();
    if (fab) { fab.setAttribute("aria-expanded", "false"); if (focus) { fab.focus(); } }
    render();
  };
  var restart = function () {
    stopCall();
    ix = {};
    cur = null;
    out = [];
    closing = null;
    endKey = "";
    rateBusy = false;
    win.dataset.stage = "";
    showAll();
    persist();
    stop();
    retry = 0;
    connect(); // hello with since {}: the server opens a new interaction
    render();
    bar.focus();
  };
  var closeWindow = function () {
    var stage = stageOf(cur);
    if (stage === "assigned" && !window.confirm("关闭窗口将结束本次征纳互动（不发起评价），确定关闭吗？")) { return; }
    stopCall();
    if (isOpen(stage)) {
      closing = cur;
      send({ t: "close", i: cur });
      clearTimeout(closeTimer);
      closeTimer = setTimeout(function () { closing = null; stop(); }, 5000);
    } else { stop(); }
    win.hidden = true;
    ui.on = ui.min = false;
    saveUi();
    if (fab) { fab.setAttribute("aria-expanded", "false"); fab.focus(); }
  };
  var open = function (restore) {
    if (!ui.on && !isOpen(stageOf(cur)) && closing == null) { ix = {}; cur = null; out = []; showAll(); persist(); } // a fresh start after 关闭
    if (stopped) { retry = 0; connect(); }
    if (restore && ui.min) { minimise(false); } else if (win.hidden) { show(!restore); } else { bar.focus(); }
  };

  // Dragging by the title bar (pointer) and moving with the arrow keys when it has focus.
  bar.addEventListener("pointerdown", function (e) {
    if (e.button !== 0 || (e.target.closest && e.target.closest("button"))) { return; }
    var r = win.getBoundingClientRect(), dx = e.clientX - r.left, dy = e.clientY - r.top;
    var move = function (ev) { place(ev.clientX - dx, ev.clientY - dy); };
    var up = function () {
      bar.removeEventListener("pointermove", move);
      bar.removeEventListener("pointerup", up);
      bar.removeEventListener("pointercancel", up);
      saveUi();
    };
    try { bar.setPointerCapture(e.pointerId); } catch (x) { /* synthetic event */ }
    bar.addEventListener("pointermove", move);
    bar.addEventListener("pointerup", up);
    bar.addEventListener("pointercancel", up);
  });
  bar.addEventListener("keydown", function (e) {
    if (e.target !== bar) { return; }
    var n = e.shiftKey ? 50 : 10;
    var d = { ArrowLeft: [-n, 0], ArrowRight: [n, 0], ArrowUp: [0, -n], ArrowDown: [0, n] }[e.key];
    if (!d) { return; }
    e.preventDefault();
    place(ui.x + d[0], ui.y + d[1]);
    saveUi();
  });
  win.addEventListener("keydown", function (e) { if (e.key === "Escape" && !e.isComposing) { minimise(true); } });
  window.addEventListener("resize", function () { if (!win.hidden && ui.x != null) { place(ui.x, ui.y); saveUi(); } });
  input.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
      e.preventDefault();
      if (say(input.value)) { input.value = ""; }
    }
  });

  // ---- video call (the taxpayer makes the offer, docs/interaction.md "Call flow")
  var media = function () {
    if (!md || !md.getUserMedia) { note("当前浏览器无法使用摄像头和麦克风，仅接收对方的音视频"); return Promise.resolve(null); }
    return md.getUserMedia({ audio: true, video: true }).catch(function () {
      return md.getUserMedia({ audio: true }).then(function (s) { note("未能打开摄像头，仅使用麦克风进行通话"); return s; });
    }).catch(function () { note("未能打开摄像头和麦克风，仅接收对方的音视频"); return null; });
  };
  var play = function (v) { var p = v.play && v.play(); if (p && p.catch) { p.catch(noop); } };
  var startCall = function (i) {
    stopCall();
    var pc;
    try { pc = new RTCPeerConnection({ iceServers: (welcome && welcome.ice_servers) || [] }); } catch (e) { note("当前浏览器不支持视频聊天"); return; }
    var c = call = { i: i, pc: pc, local: null, cam: null, screen: null, sender: null, remote: new MediaStream(), cands: [] };
    win.dataset.call = pc.connectionState || "new";
    pc.onicecandidate = function (e) { if (e.candidate && call === c) { send({ t: "signal", i: i, data: { candidate: e.candidate } }); } };
    pc.ontrack = function (e) { c.remote.addTrack(e.track); remoteV.srcObject = c.remote; play(remoteV); };
    pc.onconnectionstatechange = function () {
      if (call !== c) { return; }
      win.dataset.call = pc.connectionState;
      if (pc.connectionState === "failed") { note("视频连接失败，请关闭视频后重新发起"); }
    };
    media().then(function (stream) {
      if (call !== c) { if (stream) { stream.getTracks().forEach(function (t) { t.stop(); }); } return null; }
      c.local = stream;
      ["audio", "video"].forEach(function (kind) {
        var t = stream ? stream.getTracks().filter(function (x) { return x.kind === kind; })[0] : null;
        // a sendrecv transceiver even without a track, so screen sharing needs no renegotiation
        var tr = t ? pc.addTransceiver(t, { direction: "sendrecv", streams: [stream] }) : pc.addTransceiver(kind, { direction: "sendrecv" });
        if (kind === "video") { c.sender = tr.sender; c.cam = t || null; }
      });
      if (stream) { localV.srcObject = stream; play(localV); }
      return pc.createOffer();
    }).then(function (offer) {
      return offer && call === c ? pc.setLocalDescription(offer).then(function () { return true; }) : null;
    }).then(function (ok) {
      if (ok && call === c) { send({ t: "signal", i: i, data: { sdp: pc.localDescription } }); }
    }).catch(function (e) { if (call === c) { note("视频连接失败：" + (e && e.message ? e.message : e)); } });
  };
  var onSignal = function (f) {
    var c = call, d = f.data;
    if (!c || c.i !== f.i || !d || typeof d !== "object") { return; }
    if (d.sdp && d.sdp.type !== "offer") {
      if (c.pc.signalingState !== "have-local-offer") { return; } // a stale or repeated answer
      c.pc.setRemoteDescription(d.sdp).then(function () {
        c.cands.splice(0).forEach(function (x) { c.pc.addIceCandidate(x).catch(noop); });
      }).catch(function (e) { note("视频连接失败：" + (e && e.message ? e.message : e)); });
    } else if (d.candidate) {
      if (c.pc.remoteDescription) { c.pc.addIceCandidate(d.candidate).catch(noop); } else { c.cands.push(d.candidate); }
    }
  };
  var stopCall = function () {
    var c = call;
    call = null;
    win.dataset.call = "none";
    if (!c) { return; }
    [c.local, c.remote].forEach(function (s) { if (s) { s.getTracks().forEach(function (t) { t.stop(); }); } });
    if (c.screen) { c.screen.stop(); }
    try { c.pc.close(); } catch (e) { /* already closed */ }
    remoteV.srcObject = null;
    localV.srcObject = null;
  };
  var endScreen = function (c) {
    var t = c.screen;
    c.screen = null;
    if (t) { t.stop(); }
    if (c.sender) { c.sender.replaceTrack(c.cam).catch(noop); }
    localV.srcObject = c.local;
    render();
  };
  var toggleScreen = function () {
    var c = call;
    if (!c || !c.sender || !canShare) { return; }
    if (c.screen) { endScreen(c); return; }
    md.getDisplayMedia({ video: true }).then(function (s) {
      var t = s.getVideoTracks()[0];
      if (call !== c || !t) { s.getTracks().forEach(function (x) { x.stop(); }); return null; }
      c.screen = t;
      t.addEventListener("ended", function () { if (c.screen === t) { endScreen(c); } });
      note("屏幕共享已开启，请注意保护隐私信息");
      localV.srcObject = s;
      render();
      return c.sender.replaceTrack(t);
    }).catch(function () { note("未能开启屏幕共享"); });
  };

  if (cur != null) { showAll(); }
  window.ZN = {
    open: open,
    minimize: function () { minimise(false); },
    close: closeWindow,
    say: say,
    // For tests and debugging: what the widget knows.
    state: function () {
      return { connected: live, readyState: ws ? ws.readyState : 3, interaction: cur, stage: stageOf(cur), call: win.dataset.call, outbox: out.length, since: cur == null ? 0 : seen(rec(cur)) };
    }
  };
  render();
})();
