// 征纳互动坐席 console (/office/interact): the queue, one tab per interaction assigned to me,
// answering the taxpayer's video call. Same WebSocket protocol as chat.js (docs/interaction.md).
(function () {
  "use strict";
  var root = document.getElementById("console");
  if (!root) { return; }
  var KEY = "zn.console", MAX = 2000;
  var STAGES = { bot: "智能服务", queued: "等待人工接入", assigned: "人工服务中", ended: "已结束", rated: "已评价", cancelled: "已取消" };
  var STARS = ["非常不满意", "不满意", "一般", "满意", "非常满意"];
  var $ = function (id) { return document.getElementById(id); };
  var qList = $("queue-list"), qCount = $("queue-count"), acceptBtn = $("accept-oldest");
  var tabs = $("chat-tabs"), panels = $("chat-panels"), statusEl = $("console-status");
  var noop = function () {};
  var md = navigator.mediaDevices;

  // Window styles live in chat.css; the console page may not link it.
  if (!document.querySelector("link[href='/assets/chat.css']")) {
    var css = document.createElement("link");
    css.rel = "stylesheet";
    css.href = "/assets/chat.css";
    document.head.appendChild(css);
  }

  // ---- storage: the transcripts held, so a reload resumes with `since`
  var saved = null;
  try { saved = JSON.parse(window.sessionStorage.getItem(KEY)); } catch (e) { saved = null; }
  saved = saved || {};
  var ix = {}; // i -> {i, st, m, has, wait, unread, els, call, cands, media, asked}
  var out = Array.isArray(saved.out) ? saved.out : [];
  var gone = saved.gone || {}; // tabs closed with 关闭标签
  var sel = saved.sel == null ? null : saved.sel;
  var persist = function () {
    var o = {};
    Object.keys(ix).forEach(function (k) { var r = ix[k]; o[k] = { st: r.st, m: r.m, wait: r.wait }; });
    try { window.sessionStorage.setItem(KEY, JSON.stringify({ ix: o, out: out, gone: gone, sel: sel, me: myName() })); } catch (e) { /* quota */ }
  };
  var myName = function () { return (welcome && welcome.name) || saved.me || ""; };
  var seen = function (r) { var n = 0; while (r.has[n + 1]) { n++; } return n; };

  var el = function (tag, attrs, kids) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      var v = attrs[k];
      if (k === "text") { e.textContent = v; } else if (k === "cls") { e.className = v; } else if (k.slice(0, 2) === "on") { e.addEventListener(k.slice(2), v); } else if (v === true) { e.setAttribute(k, ""); } else if (v != null && v !== false) { e.setAttribute(k, v); }
    });
    (kids || []).forEach(function (c) { if (c) { e.appendChild(typeof c === "string" ? document.createTextNode(c) : c); } });
    return e;
  };
  var hhmm = function (at) { var t = /T(\d\d:\d\d)/.exec(at || ""); return t ? t[1] : ""; };
  var mmss = function (s) { s = Math.max(0, Math.floor(s)); var m = Math.floor(s / 60); return (m < 10 ? "0" : "") + m + ":" + (s % 60 < 10 ? "0" : "") + (s % 60); };
  var rid = function () {
    var a = new Uint8Array(12);
    if (window.crypto && window.crypto.getRandomValues) { window.crypto.getRandomValues(a); } else { for (var k = 0; k < a.length; k++) { a[k] = Math.random() * 256; } }
    return Array.prototype.map.call(a, function (b) { return (b + 256).toString(16).slice(1); }).join("");
  };
  var say = function (t) { statusEl.textContent = t; };

  // ---- notification: a short beep and a flashing title
  var actx = null, baseTitle = document.title, flashTimer = null, flashText = "";
  var audio = function () {
    var AC = window.AudioContext || window.webkitAudioContext;
    if (!actx && AC) { try { actx = new AC(); } catch (e) { actx = null; } }
    if (actx && actx.state === "suspended") { actx.resume().catch(noop); }
    return actx;
  };
  var beep = function () {
    var a = audio();
    if (!a) { return; }
    try {
      [0, 0.25].forEach(function (off) {
        var o = a.createOscillator(), g = a.createGain(), t = a.currentTime + off;
        o.frequency.value = 880;
        g.gain.setValueAtTime(0.0001, t);
        g.gain.exponentialRampToValueAtTime(0.2, t + 0.02);
        g.gain.exponentialRampToValueAtTime(0.0001, t + 0.18);
        o.connect(g);
        g.connect(a.destination);
        o.start(t);
        o.stop(t + 0.2);
      });
    } catch (e) { /* no audio */ }
  };
  var unflash = function () { if (flashTimer) { clearInterval(flashTimer); flashTimer = null; document.title = baseTitle; } };
  var flash = function (text) {
    flashText = text;
    document.title = text + baseTitle;
    if (flashTimer) { return; }
    var on = true;
    flashTimer = setInterval(function () { on = !on; document.title = on ? flashText + baseTitle : baseTitle; }, 1000);
  };
  var alertMe = function (text) { beep(); flash(text); };
  ["pointerdown", "keydown"].forEach(function (t) { document.addEventListener(t, function () { audio(); unflash(); }, true); });
  window.addEventListener("focus", unflash);

  // ---- the queue
  var queue = [], queueAt = Date.now(), known = {}, agentsOnline = null, live = false, accepting = false;
  var waitOf = function (q) { return (+q.waiting_secs || 0) + (Date.now() - queueAt) / 1000; };
  var renderQueue = function () {
    qList.textContent = "";
    queue.forEach(function (q) {
      var t = q.taxpayer || {};
      qList.appendChild(el("li", { "data-i": String(q.i) }, [el("strong", { text: t.name || "纳税人" }), "（" + (t.id || "") + "）", el("span", { cls: "c-wait", text: "已等待 " + mmss(waitOf(q)) })]));
    });
    var n = queue.length ? "当前有 " + queue.length + " 位纳税人等待接入" : "当前没有等待接入的纳税人";
    qCount.textContent = n + (agentsOnline != null ? "，在线坐席 " + agentsOnline + " 人" : "");
    acceptBtn.disabled = !queue.length || !live;
  };
  setInterval(function () {
    Array.prototype.forEach.call(qList.querySelectorAll(".c-wait"), function (s, k) { if (queue[k]) { s.textContent = "已等待 " + mmss(waitOf(queue[k])); } });
  }, 1000);
  var onQueue = function (f) {
    var items = Array.isArray(f.items) ? f.items : [], fresh = false;
    items.forEach(function (q) { if (!known[q.i]) { known[q.i] = 1; fresh = true; } });
    queue = items;
    queueAt = Date.now();
    renderQueue();
    if (fresh) { alertMe("【新的征纳互动】"); } else if (!items.length) { unflash(); }
  };
  acceptBtn.addEventListener("click", function () { if (send({ t: "accept" })) { accepting = true; } });

  // ---- tabs and panels
  var select = function (i, focus) {
    sel = i;
    Object.keys(ix).forEach(function (k) {
      var r = ix[k], on = +k === i;
      r.els.tab.setAttribute("aria-selected", on ? "true" : "false");
      r.els.tab.tabIndex = on ? 0 : -1;
      r.els.panel.hidden = !on;
      if (on) { r.unread = 0; tabLabel(r); }
    });
    if (focus && ix[i]) { ix[i].els.tab.focus(); }
    persist();
  };
  var tabLabel = function (r) {
    var t = r.els.tab, name = (r.st && r.st.taxpayer && r.st.taxpayer.name) || "纳税人" + r.i;
    t.textContent = name;
    if (r.unread) { t.appendChild(el("span", { cls: "c-unread", text: String(r.unread) }, [el("span", { cls: "zn-sr", text: "条未读" })])); }
    t.classList.toggle("c-ended", !!r.st && r.st.stage !== "assigned");
  };
  tabs.addEventListener("keydown", function (e) {
    var ids = Object.keys(ix).map(Number).sort(function (a, b) { return a - b; }), k = ids.indexOf(sel);
    var next = { ArrowRight: k + 1, ArrowLeft: k - 1, Home: 0, End: ids.length - 1 }[e.key];
    if (next == null || !ids.length) { return; }
    e.preventDefault();
    select(ids[(next + ids.length) % ids.length], true);
  });
  var rec = function (i) {
    if (ix[i]) { return ix[i]; }
    var r = ix[i] = { i: i, st: null, m: [], has: {}, wait: null, unread: 0, call: null, cands: [], media: null, asked: false, pend: {} };
    var q = function (id, text, fn, cls) { return el("button", { type: "button", id: id + "-" + i, cls: cls || "", text: text, onclick: fn }); };
    var tab = el("button", { type: "button", role: "tab", id: "tab-" + i, "aria-controls": "panel-" + i, "aria-selected": "false", tabindex: "-1", onclick: function () { select(i, false); } });
    var log = el("div", { cls: "zn-log", role: "log", "aria-live": "polite", "aria-relevant": "additions", "aria-label": "会话记录" });
    var pending = el("div", { cls: "zn-pending" });
    var input = el("textarea", { id: "input-" + i, cls: "zn-input", rows: "3", maxlength: String(MAX), placeholder: "请输入回复内容（Enter发送，Shift+Enter换行）" });
    var remote = el("video", { cls: "zn-remote", autoplay: true, playsinline: true, "aria-label": "纳税人视频" });
    var local = el("video", { cls: "zn-local", autoplay: true, playsinline: true, "aria-label": "本人视频" });
    local.muted = true;
    var dd = {};
    var head = el("dl", { cls: "c-head" });
    [["name", "纳税人名称"], ["id", "纳税人识别号"], ["wait", "等待时长"], ["status", "状态"]].forEach(function (p) {
      head.appendChild(el("dt", { text: p[1] }));
      head.appendChild(dd[p[0]] = el("dd"));
    });
    var els = r.els = {
      tab: tab, log: log, pending: pending, input: input, remote: remote, local: local, dd: dd,
      send: q("send", "发送", function () { if (sayIn(r, input.value)) { input.value = ""; } input.focus(); }),
      end: q("end", "结束互动", function () { if (window.confirm("确定结束本次征纳互动吗？结束后纳税人将收到满意度评价。")) { send({ t: "end", i: i }); } }, "secondary"),
      answer: q("answer", "接听视频", function () { if (send({ t: "answer_call", i: i })) { r.media = r.media || media(r); } }),
      hangup: q("hangup", "挂断", function () { send({ t: "hangup", i: i }); }, "secondary"),
      closeTab: q("close", "关闭标签", function () { forget(i, true); }, "secondary"),
      callNote: el("p"), closedNote: el("p"),
      scroll: el("div", { cls: "c-scroll", tabindex: "0" }, [log, pending])
    };
    els.video = el("div", { cls: "c-video", hidden: true }, [remote, local]);
    els.compose = el("div", { cls: "c-compose" }, [el("label", { cls: "zn-sr", "for": "input-" + i, text: "回复内容" }), input, els.send, els.end]);
    els.closed = el("div", { cls: "c-closed", hidden: true }, [els.closedNote, els.closeTab]);
    els.calls = el("div", { cls: "c-calls" }, [els.callNote, els.answer, els.hangup]);
    els.panel = el("div", { role: "tabpanel", id: "panel-" + i, "aria-labelledby": "tab-" + i, hidden: true }, [head, els.calls, els.video, els.scroll, els.compose, els.closed]);
    els.panel.dataset.call = "none";
    input.addEventListener("keydown", function (e) {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing && e.keyCode !== 229) { e.preventDefault(); if (sayIn(r, input.value)) { input.value = ""; } }
    });
    tabs.appendChild(el("li", { role: "presentation" }, [tab]));
    panels.appendChild(els.panel);
    tabLabel(r);
    return r;
  };
  var forget = function (i, byUser) {
    var r = ix[i];
    if (!r) { return; }
    stopCall(r);
    r.els.tab.parentNode.remove();
    r.els.panel.remove();
    delete ix[i];
    out = out.filter(function (o) { return o.i !== i; });
    if (byUser) { gone[i] = 1; }
    if (sel === i) {
      var ids = Object.keys(ix);
      sel = null;
      if (ids.length) { select(+ids[ids.length - 1], byUser); } else if (byUser) { acceptBtn.focus(); }
    }
    persist();
  };

  // ---- messages
  var who = function (r, m) {
    if (m.from === "taxpayer") { return (r.st && r.st.taxpayer && r.st.taxpayer.name) || m.name || "纳税人"; }
    if (m.from === "bot") { return "智能服务"; }
    if (m.from === "agent") { return m.name && m.name === myName() ? "我" : (m.name || "税务工作人员"); }
    return "";
  };
  var msgEl = function (r, m) {
    var d = el("div", { cls: "zn-m zn-" + (m.from || "system"), "data-seq": String(m.seq) }), w = who(r, m);
    if (w) { d.appendChild(el("p", { cls: "zn-meta" }, [el("span", { cls: "zn-who", text: w }), " ", el("time", { datetime: m.at, text: hhmm(m.at) })])); }
    d.appendChild(el("p", { cls: "zn-text", text: String(m.text == null ? "" : m.text) }));
    if (Array.isArray(m.suggest) && m.suggest.length) {
      var ul = el("ul", { cls: "c-suggest", "aria-label": "您是否要咨询以下问题：" });
      m.suggest.forEach(function (s) { if (s && s.question) { ul.appendChild(el("li", { text: s.question })); } });
      d.appendChild(ul);
    }
    return d;
  };
  var note = function (r, text) {
    if (!r) { say(text); return; }
    r.els.log.appendChild(el("div", { cls: "zn-m zn-system zn-note" }, [el("p", { cls: "zn-text", text: text })]));
    r.els.scroll.scrollTop = r.els.scroll.scrollHeight;
  };
  var insert = function (r, m) {
    var log = r.els.log, kids = log.children, k = kids.length - 1, s = r.els.scroll;
    var near = s.scrollHeight - s.scrollTop - s.clientHeight < 80;
    while (k >= 0 && +(kids[k].getAttribute("data-seq") || 0) > m.seq) { k--; }
    log.insertBefore(msgEl(r, m), kids[k + 1] || null);
    if (near || m.from === "agent") { s.scrollTop = s.scrollHeight; }
  };
  var addPending = function (r, o) {
    var d = el("div", { cls: "zn-m zn-agent zn-sending" }, [el("p", { cls: "zn-meta" }, [el("span", { cls: "zn-who", text: "我" }), " ", el("span", { cls: "zn-flag", text: "发送中…" })]), el("p", { cls: "zn-text", text: o.text })]);
    r.pend[o.cid] = d;
    r.els.pending.appendChild(d);
    r.els.scroll.scrollTop = r.els.scroll.scrollHeight;
  };
  var settle = function (cid, failed) {
    out = out.filter(function (o) { return o.cid !== cid; });
    Object.keys(ix).forEach(function (k) {
      var d = ix[k].pend[cid];
      if (!d) { return; }
      delete ix[k].pend[cid];
      if (failed) { d.className = "zn-m zn-agent zn-failed"; d.querySelector(".zn-flag").textContent = "发送失败"; } else { d.remove(); }
    });
  };
  var onMsg = function (m) {
    if (typeof m.i !== "number" || typeof m.seq !== "number" || gone[m.i]) { return; }
    if (m.cid) { settle(m.cid, false); }
    var r = rec(m.i);
    if (r.has[m.seq]) { return; }
    r.has[m.seq] = 1;
    r.m.push(m);
    if (r.m.length > 1 && r.m[r.m.length - 2].seq > m.seq) { r.m.sort(function (a, b) { return a.seq - b.seq; }); }
    insert(r, m);
    if (m.from === "taxpayer" && (sel !== m.i || document.hidden)) {
      if (sel !== m.i) { r.unread++; tabLabel(r); }
      if (document.hidden) { flash("【新消息】"); }
    }
    persist();
  };
  var sayIn = function (r, text) {
    text = String(text || "").replace(/^\s+|\s+$/g, "");
    if (!text || !r.st || r.st.stage !== "assigned") { return false; }
    if (text.length > MAX) { note(r, "消息不能超过" + MAX + "字"); return false; }
    var o = { cid: rid(), i: r.i, text: text };
    out.push(o);
    persist();
    addPending(r, o);
    send({ t: "say", i: o.i, text: o.text, cid: o.cid });
    return true;
  };

  // ---- states
  var renderPanel = function (r) {
    var s = r.st || {}, els = r.els, t = s.taxpayer || {}, open = s.stage === "assigned", c = s.call || "none";
    els.panel.dataset.stage = s.stage || "";
    els.dd.name.textContent = t.name || "";
    els.dd.id.textContent = t.id || "";
    els.dd.wait.textContent = r.wait == null ? "—" : mmss(r.wait);
    els.dd.status.textContent = (STAGES[s.stage] || "") + (open && c === "ringing" ? "（视频呼叫中）" : open && c === "active" ? "（视频通话中）" : "") +
      (s.rating != null ? "，评价：" + "★★★★★".slice(0, s.rating) + "☆☆☆☆☆".slice(s.rating) + " " + (STARS[s.rating - 1] || "") : "");
    els.compose.hidden = !open;
    els.input.disabled = els.send.disabled = !open;
    els.end.disabled = !live;
    els.calls.hidden = !open || c === "none";
    els.answer.hidden = c !== "ringing";
    els.answer.disabled = els.hangup.disabled = !live;
    els.hangup.textContent = c === "active" ? "关闭视频" : "挂断";
    els.callNote.textContent = c === "ringing" ? "纳税人发起视频聊天请求" : c === "active" && !(r.call && r.call.pc.remoteDescription) ? "正在等待纳税人建立视频连接…" : "";
    els.video.hidden = !open || c !== "active";
    els.closed.hidden = open || !s.stage;
    els.closedNote.textContent = s.stage === "rated" ? "纳税人已完成评价：" + s.rating + " 星（" + (STARS[s.rating - 1] || "") + "）" :
      s.stage === "ended" ? (s.rating_offered ? "本次征纳互动已结束，等待纳税人评价" : "纳税人已关闭窗口，本次征纳互动已结束（未发起评价）") :
        s.stage === "cancelled" ? "本次征纳互动已取消" : "";
    tabLabel(r);
  };
  var onState = function (s) {
    if (typeof s.i !== "number" || gone[s.i]) { return; }
    if (!ix[s.i] && (s.stage === "bot" || s.stage === "queued")) { return; } // not mine (yet)
    var fresh = !ix[s.i], r = rec(s.i), prev = r.st;
    r.st = s;
    if (r.wait == null) {
      queue.forEach(function (q) { if (q.i === s.i) { r.wait = waitOf(q); } });
    }
    if (s.stage !== "assigned" || s.call === "none") { stopCall(r); }
    if (s.stage === "assigned" && s.call === "ringing" && (!prev || prev.call !== "ringing")) { alertMe("【视频呼叫】"); }
    if (!r.asked && (+s.last_seq || 0) > seen(r)) { r.asked = true; send({ t: "transcript", i: s.i }); } // history from before I joined
    renderPanel(r);
    if ((fresh && accepting && s.stage === "assigned") || sel == null || !ix[sel]) {
      if (fresh && accepting) { accepting = false; }
      select(s.i, false);
      if (s.stage === "assigned" && document.activeElement === acceptBtn) { r.els.input.focus(); }
    }
    persist();
  };

  // ---- video (the taxpayer offers, I answer)
  var media = function (r) {
    if (!md || !md.getUserMedia) { note(r, "当前浏览器无法使用摄像头和麦克风，仅接收对方的音视频"); return Promise.resolve(null); }
    return md.getUserMedia({ audio: true, video: true }).catch(function () {
      return md.getUserMedia({ audio: true }).then(function (s) { note(r, "未能打开摄像头，仅使用麦克风进行通话"); return s; });
    }).catch(function () { note(r, "未能打开摄像头和麦克风，仅接收对方的音视频"); return null; });
  };
  var play = function (v) { var p = v.play && v.play(); if (p && p.catch) { p.catch(noop); } };
  var stopCall = function (r) {
    var c = r.call;
    r.call = null;
    r.cands = [];
    r.els.panel.dataset.call = "none";
    if (c) { try { c.pc.close(); } catch (e) { /* closed */ } }
    if (r.media) { r.media.then(function (s) { if (s) { s.getTracks().forEach(function (t) { t.stop(); }); } }); r.media = null; }
    r.els.remote.srcObject = null;
    r.els.local.srcObject = null;
  };
  var newCall = function (r) {
    var pc = new RTCPeerConnection({ iceServers: (welcome && welcome.ice_servers) || [] });
    var c = r.call = { pc: pc, remote: new MediaStream(), added: false };
    r.els.panel.dataset.call = pc.connectionState || "new";
    pc.onicecandidate = function (e) { if (e.candidate && r.call === c) { send({ t: "signal", i: r.i, data: { candidate: e.candidate } }); } };
    pc.ontrack = function (e) { c.remote.addTrack(e.track); r.els.remote.srcObject = c.remote; play(r.els.remote); };
    pc.onconnectionstatechange = function () {
      if (r.call !== c) { return; }
      r.els.panel.dataset.call = pc.connectionState;
      if (pc.connectionState === "failed") { note(r, "视频连接失败"); }
    };
    return c;
  };
  var onOffer = function (r, sdp) {
    if (!r.st || r.st.stage !== "assigned") { return null; } // the server relays signals only while a call rings or is on
    var c = r.call;
    if (c && c.pc.remoteDescription) { // a new offer (the taxpayer reloaded): start over
      try { c.pc.close(); } catch (e) { /* closed */ }
      c = null;
    }
    c = c || newCall(r);
    r.media = r.media || media(r);
    return c.pc.setRemoteDescription(sdp).then(function () {
      r.cands.splice(0).forEach(function (x) { c.pc.addIceCandidate(x).catch(noop); });
      return r.media;
    }).then(function (stream) {
      if (r.call !== c) { return null; }
      if (stream && !c.added) {
        c.added = true;
        stream.getTracks().forEach(function (t) { c.pc.addTrack(t, stream); });
        r.els.local.srcObject = stream;
        play(r.els.local);
      }
      return c.pc.createAnswer();
    }).then(function (answer) {
      return answer && r.call === c ? c.pc.setLocalDescription(answer).then(function () { return true; }) : null;
    }).then(function (ok) {
      if (ok && r.call === c) { send({ t: "signal", i: r.i, data: { sdp: c.pc.localDescription } }); renderPanel(r); }
    });
  };
  var onSignal = function (f) {
    var r = ix[f.i], d = f.data;
    if (!r || !d || typeof d !== "object") { return; }
    if (d.sdp && (!d.sdp.type || d.sdp.type === "offer")) {
      // offers are handled one after another
      r.chain = (r.chain || Promise.resolve()).then(function () { return onOffer(r, d.sdp); }).catch(function (e) { note(r, "视频连接失败：" + (e && e.message ? e.message : e)); });
    } else if (d.candidate) {
      if (r.call && r.call.pc.remoteDescription) { r.call.pc.addIceCandidate(d.candidate).catch(noop); } else { r.cands.push(d.candidate); }
    }
  };

  // ---- transport
  var URL = (location.protocol === "https:" ? "wss" : "ws") + "://" + location.host + "/api/v1/interact/ws";
  var ws = null, welcome = null, retry = 0, everLive = false, retryTimer = null, pingTimer = null, pongTimer = null;
  var send = function (f) {
    if (!ws || ws.readyState !== 1) { return false; }
    try { ws.send(JSON.stringify(f)); return true; } catch (e) { return false; }
  };
  var setLive = function (on) {
    live = on;
    root.dataset.live = on ? "1" : "0";
    renderQueue();
    Object.keys(ix).forEach(function (k) { renderPanel(ix[k]); });
  };
  var connect = function () {
    if (ws) { return; }
    say(everLive ? "网络已断开，正在重连…" : "连接中…");
    var s;
    try { s = new WebSocket(URL); } catch (e) { drop(); return; }
    ws = s;
    s.onopen = function () {
      if (ws !== s) { return; }
      var since = {};
      Object.keys(ix).forEach(function (k) { ix[k].asked = false; since[k] = seen(ix[k]); });
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
    clearInterval(pingTimer);
    clearTimeout(pongTimer);
    if (s) { s.onclose = s.onerror = s.onmessage = s.onopen = null; try { s.close(); } catch (e) { /* closed */ } }
    clearTimeout(retryTimer);
    retryTimer = setTimeout(connect, Math.min(10000, 500 * Math.pow(2, retry++)));
    say("网络已断开，正在重连…");
    setLive(false);
  };
  var nudge = function () { if (!ws) { clearTimeout(retryTimer); retry = 0; connect(); } };
  window.addEventListener("online", nudge);
  document.addEventListener("visibilitychange", function () { if (!document.hidden) { nudge(); unflash(); } });

  var handle = function (f) {
    switch (f.t) {
    case "welcome":
      welcome = f;
      everLive = true;
      retry = 0;
      say("已连接" + (f.name ? "：" + f.name : ""));
      setLive(true);
      out.forEach(function (o) { send({ t: "say", i: o.i, text: o.text, cid: o.cid }); });
      break;
    case "queue": onQueue(f); break;
    case "agents": agentsOnline = +f.online || 0; renderQueue(); break;
    case "state": onState(f); break;
    case "msg": onMsg(f); break;
    case "signal": onSignal(f); break;
    case "pong": clearTimeout(pongTimer); break;
    case "error":
      if (f.cid) { settle(f.cid, true); persist(); }
      if (f.code === "queue_empty") { accepting = false; }
      note(typeof f.i === "number" ? ix[f.i] : null, String(f.message || f.code || "操作失败"));
      if ((f.code === "unknown_interaction" || f.code === "not_yours") && typeof f.i === "number") { forget(f.i, false); }
      break;
    default: break; // unknown frames are ignored
    }
  };

  // Restore the tabs held before a reload, then connect.
  Object.keys(saved.ix || {}).forEach(function (k) {
    var x = saved.ix[k], r = rec(+k);
    r.st = x.st || null;
    r.wait = x.wait == null ? null : x.wait;
    (x.m || []).forEach(function (m) { if (!r.has[m.seq]) { r.has[m.seq] = 1; r.m.push(m); insert(r, m); } });
    out.forEach(function (o) { if (o.i === r.i) { addPending(r, o); } });
    renderPanel(r);
  });
  if (sel != null && ix[sel]) { select(sel, false); } else if (Object.keys(ix).length) { select(+Object.keys(ix)[0], false); }
  renderQueue();
  connect();
  window.ZNConsole = {
    state: function () {
      var o = {};
      Object.keys(ix).forEach(function (k) { o[k] = { stage: ix[k].st && ix[k].st.stage, call: ix[k].els.panel.dataset.call, since: seen(ix[k]) }; });
      return { connected: live, readyState: ws ? ws.readyState : 3, queue: queue.length, outbox: out.length, interactions: o };
    }
  };
})();
