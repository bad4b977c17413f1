// The hall's big screen (TV): calls as they happen, what every window is
// doing, the wait per service, and the hall's notices. Fed by the event
// stream; calls are shown straight from the stream message, the rest of the
// board re-reads /api/v1/hall (coalesced) after an event. Never polls.
"use strict";

(function () {
  const ZONE = HQ.params.get("zone") || null;
  const MAX_FEATURED = 4; // calls shown large, side by side
  const MIN_SHOW_MS = 10000; // a featured call stays at least this long
  const STALE_MS = 60000; // a call older than this (catch-up) goes to #recent only
  const RECENT_MAX = 8;
  const ROTATE_MS = 10000; // notices and service pages
  const AUDIO_KEY = "hallq.screen.audio";

  const $ = (id) => document.getElementById(id);
  /// Like HQ.t, but an empty English text stays empty.
  const T = (zh, en) => (HQ.lang === "en" ? en : zh);
  const el = HQ.el;

  // ---- state -------------------------------------------------------------
  let view = null; // the last GET /api/v1/hall
  let viewNowMs = 0; // the server's `now` of the first view, and when we read it (monotonic)
  let viewPerf = 0;
  let newestAtMs = 0; // the newest `at` seen in a message
  let lastSeq = 0; // guard against any repeated message
  const numbers = new Map(); // ticket id → number (from issued messages and views)
  const recent = []; // [{key, ticketId, number, window, atMs}] newest first
  const featured = []; // [{call, shownAt, el}] newest first
  const pendingCalls = []; // calls waiting for a featured slot, oldest first
  let pumpTimer = null;

  // ---- helpers -----------------------------------------------------------
  function windowOf(n) {
    if (!view) return null;
    return view.windows.find((w) => w.number === n) || null;
  }
  function zoneOf(id) {
    if (!view || !id) return null;
    const z = (view.zones || []).find((z) => z.id === id);
    if (z) return { name: z.name, name_en: z.name_en, floor: z.floor };
    const w = view.windows.find((w) => w.zone === id && w.zone_name);
    if (w) return { name: w.zone_name, name_en: w.zone_name_en, floor: w.floor };
    return null;
  }
  function inZone(w) {
    return !ZONE || (w && w.zone === ZONE);
  }
  function floorText(f) {
    if (f === undefined || f === null || f === 0) return "";
    if (f < 0) return HQ.t("地下" + -f + "层", "B" + -f);
    return HQ.t(f + "楼", f + "F");
  }
  function windowLabel(n) {
    return HQ.t(n + "号窗口", "Window " + n);
  }
  function windowName(w) {
    return w ? HQ.t(w.name, w.name_en) : "";
  }
  /// The server's clock now, estimated without trusting the browser's wall
  /// clock: the view's `now` plus the monotonic time since it was read, or
  /// the newest message's time if that is later.
  function serverNow() {
    const est = viewNowMs ? viewNowMs + (performance.now() - viewPerf) : 0;
    return Math.max(est, newestAtMs);
  }
  function parseAt(s) {
    const t = Date.parse(s || "");
    return Number.isFinite(t) ? t : 0;
  }
  function showMessage(zh, en) {
    const m = $("message");
    if (!zh) {
      m.classList.add("hidden");
      return;
    }
    m.textContent = HQ.t(zh, en);
    m.classList.remove("hidden");
  }

  // ---- the hall view -----------------------------------------------------
  async function loadView() {
    const before = performance.now();
    const v = await HQ.api("GET", "/api/v1/hall");
    const nowMs = parseAt(v.now);
    if (nowMs) {
      viewNowMs = nowMs;
      viewPerf = (before + performance.now()) / 2;
    }
    view = v;
    for (const w of v.windows) if (w.current) numbers.set(w.current.id, w.current.number);
    for (const c of v.recent_calls || []) numbers.set(c.ticket_id, c.number);
    showMessage(null);
    return v;
  }

  function renderHeader() {
    if (!view) return;
    $("hall-name").textContent = HQ.t(view.name, view.name_en);
    const zn = $("zone-name");
    if (ZONE) {
      const z = zoneOf(ZONE);
      const name = z ? HQ.t(z.name, z.name_en) : ZONE;
      zn.textContent = name + HQ.t(" · 叫号信息", " · Queue");
    } else {
      zn.textContent = HQ.t("全厅叫号信息", "Whole hall · Queue");
    }
    document.title = $("hall-name").textContent + " · " + zn.textContent;
  }

  /// What the "now calling" area says while nobody is called.
  function renderIdle() {
    const open = !view || view.session_open !== false;
    $("fe-main").textContent = HQ.t("欢迎光临", "Welcome");
    $("fe-sub").textContent = open
      ? HQ.t("请取号后留意屏幕叫号和语音提示", "Please take a ticket and watch this screen for your number")
      : HQ.t("现在是非办公时间，办公时间请见大厅公告", "The hall is closed now; see the notices for opening hours");
  }

  function renderAll() {
    renderIdle();
    renderHeader();
    renderWindows();
    renderServices();
    renderNotices();
    renderFeatured();
    renderRecent();
  }

  // ---- windows -----------------------------------------------------------
  const PAUSE_REASONS = {
    lunch: ["午间休息", "Lunch break"],
    meeting: ["会议中", "In a meeting"],
    out_of_supplies: ["补充物料", "Restocking"],
    break: ["暂时离开", "Back soon"],
    other: ["暂停", "Paused"],
  };
  function stateText(w) {
    switch (w.state) {
      case "calling":
        return HQ.t("正在呼叫", "Calling");
      case "serving":
        return HQ.t("正在办理", "Serving");
      case "idle":
        return HQ.t("等待叫号", "Available");
      case "paused":
        return HQ.t("暂停服务", "Paused");
      case "closed":
        return HQ.t("暂停服务", "Closed");
      default:
        return HQ.t("暂停服务", "Not staffed");
    }
  }
  function pauseReason(w) {
    const r = w.state === "paused" && w.paused_reason !== "other" && PAUSE_REASONS[w.paused_reason];
    return r ? el("span", { class: "wreason", text: " · " + HQ.t(r[0], r[1]) }) : null;
  }
  function zoneWindows() {
    if (!view) return [];
    return view.windows.filter(inZone).sort((a, b) => a.number - b.number);
  }

  function renderWindows() {
    const box = $("windows");
    const list = zoneWindows();
    box.replaceChildren(
      ...list.map((w) => {
        const cur = w.current && (w.state === "calling" || w.state === "serving") ? w.current.number : "";
        const open = w.state === "calling" || w.state === "serving" || w.state === "idle";
        return el(
          "div",
          { class: "wtile s-" + w.state + (open ? "" : " off"), "data-window": w.number },
          el(
            "div",
            { class: "wtop" },
            el("span", { class: "wno" }, String(w.number), el("small", { text: T("号", "") })),
            el("span", { class: "wname", text: windowName(w) })
          ),
          el("div", { class: "wcur", text: cur || (open ? "—" : "") }),
          el("div", { class: "wstate" }, stateText(w), pauseReason(w))
        );
      })
    );
    const serving = list.filter((w) => w.state === "calling" || w.state === "serving" || w.state === "idle").length;
    $("windows-summary").textContent = HQ.t("开放 " + serving + " / " + list.length, serving + " of " + list.length + " open");
    layoutWindows();
  }

  /// Picks the column count that gives the largest readable tiles.
  function layoutWindows() {
    const box = $("windows");
    const n = box.children.length;
    if (!n) return;
    const W = box.clientWidth;
    const H = box.clientHeight;
    if (!W || !H) return;
    const gap = parseFloat(getComputedStyle(box).columnGap) || 0;
    const rem = parseFloat(getComputedStyle(document.documentElement).fontSize) || 16;
    // the size the ticket number gets in a tile (see .wcur in screen.css)
    const ticketFont = (w, h) => (h < 5.2 * rem ? Math.min(0.48 * h, 0.2 * w) : Math.min(0.36 * h, 0.24 * w));
    let best = 1;
    let bestScore = -1;
    for (let cols = 1; cols <= n; cols++) {
      const rows = Math.ceil(n / cols);
      const w = (W - gap * (cols - 1)) / cols;
      const h = (H - gap * (rows - 1)) / rows;
      const score = ticketFont(w, h) - (rows * cols - n) * 0.01; // prefer fewer empty cells on a tie
      if (score > bestScore) {
        bestScore = score;
        best = cols;
      }
    }
    const rows = Math.ceil(n / best);
    box.style.gridTemplateColumns = "repeat(" + best + ", minmax(0, 1fr))";
    box.style.gridTemplateRows = "repeat(" + rows + ", minmax(0, 1fr))";
    const tileH = (H - gap * (rows - 1)) / rows;
    box.dataset.density = tileH < 5.2 * rem ? "dense" : "roomy";
  }

  /// Updates one window's tile at once from a call message.
  function markCalling(n, number) {
    const w = windowOf(n);
    if (w) {
      w.state = "calling";
      w.current = Object.assign({}, w.current || {}, { number });
    }
    if (w && inZone(w)) renderWindows();
  }

  // ---- services ----------------------------------------------------------
  let servicePage = 0;
  function zoneServices() {
    if (!view) return [];
    if (!ZONE) return view.services.slice();
    const ids = new Set();
    for (const w of view.windows) if (w.zone === ZONE) for (const s of w.services || []) ids.add(s.service);
    return view.services.filter((s) => (Array.isArray(s.zones) ? s.zones.includes(ZONE) || ids.has(s.id) : ids.has(s.id)));
  }
  function serviceRow(s) {
    let est;
    if (!s.staffed_windows) est = el("span", { class: "c-est none", text: HQ.t("暂无窗口", "No window") });
    else if (!s.waiting) est = el("span", { class: "c-est ok", text: HQ.t("无需等候", "No wait") });
    else if (s.estimate) est = el("span", { class: "c-est", text: HQ.minutes(s.estimate.low, s.estimate.high) });
    else est = el("span", { class: "c-est", text: "—" });
    return el(
      "div",
      { class: "srow" + (s.waiting ? "" : " zero"), "data-service": s.id },
      el("span", { class: "sname" }, el("b", { class: "sprefix", text: s.prefix }), el("span", { class: "stext", text: HQ.t(s.name, s.name_en) })),
      el("span", { class: "c-wait" }, el("b", { text: String(s.waiting) }), el("small", { text: T("人", "") })),
      est
    );
  }
  function renderServices() {
    const box = $("services");
    const list = zoneServices();
    if (!list.length) {
      box.replaceChildren(el("div", { class: "pane-empty", text: HQ.t("本区暂无业务", "No services here") }));
      $("services-page").textContent = "";
      return;
    }
    // how many rows fit: measure one
    box.replaceChildren(serviceRow(list[0]));
    const rowH = box.firstChild.getBoundingClientRect().height || 1;
    const per = Math.max(1, Math.floor((box.clientHeight + 0.5) / rowH));
    const pages = Math.ceil(list.length / per);
    if (servicePage >= pages) servicePage = 0;
    const slice = list.slice(servicePage * per, servicePage * per + per);
    box.replaceChildren(...slice.map(serviceRow));
    box.dataset.pages = pages;
    $("services-page").textContent = pages > 1 ? servicePage + 1 + " / " + pages : "";
  }

  // ---- notices -----------------------------------------------------------
  let noticeIndex = 0;
  function zoneNotices() {
    if (!view) return [];
    return (view.notices || []).filter((n) => !ZONE || !Array.isArray(n.zones) || !n.zones.length || n.zones.includes(ZONE));
  }
  function renderNotices() {
    const box = $("notices");
    const list = zoneNotices();
    const bar = box.parentElement;
    let text;
    let kind = "notice";
    if (!list.length) {
      text = HQ.t(
        "请按号排队，听到叫号后到对应窗口办理；过号请到咨询导办台咨询。",
        "Please wait for your number and go to the window shown when it is called. Missed your turn? Ask at the information desk."
      );
      kind = "default";
    } else {
      if (noticeIndex >= list.length) noticeIndex = 0;
      const n = list[noticeIndex];
      text = HQ.t(n.notice, n.notice_en);
      kind = n.kind || "notice";
    }
    bar.dataset.kind = kind;
    const label = { closure: ["闭厅通知", "Closure"], disclosure: ["政务公开", "Public information"] }[kind] || ["通知公告", "Notice"];
    $("notice-label").textContent = HQ.t(label[0], label[1]);
    $("notice-count").textContent = list.length > 1 ? noticeIndex + 1 + " / " + list.length : "";
    const cur = box.firstElementChild;
    if (cur && cur.textContent === text && box.dataset.width === String(box.clientWidth)) return; // unchanged: no re-animation
    box.dataset.width = String(box.clientWidth);
    const p = el("div", { class: "notice-text", text });
    box.replaceChildren(p);
    fitText(p, box);
  }
  /// Shrinks a text until it fits its box (long notices), never below 55 %.
  function fitText(p, box) {
    p.style.fontSize = "";
    const base = parseFloat(getComputedStyle(p).fontSize);
    let size = base;
    while (size > base * 0.55 && (p.scrollHeight > box.clientHeight + 1 || p.scrollWidth > box.clientWidth + 1)) {
      size *= 0.92;
      p.style.fontSize = size + "px";
    }
  }
  setInterval(() => {
    const list = zoneNotices();
    if (list.length > 1) {
      noticeIndex = (noticeIndex + 1) % list.length;
      renderNotices();
    }
    const pages = Number($("services").dataset.pages || 1);
    if (pages > 1) {
      servicePage = (servicePage + 1) % pages;
      renderServices();
    }
  }, ROTATE_MS);

  // ---- calls -------------------------------------------------------------
  function callKey(c) {
    return c.ticketId !== undefined && c.ticketId !== null ? "t" + c.ticketId : "n" + c.number;
  }
  function callPlace(c) {
    const w = windowOf(c.window);
    const z = w ? zoneOf(w.zone) : null;
    const zname = z ? HQ.t(z.name, z.name_en) : w ? w.zone : "";
    let floor = w ? floorText(w.floor) : "";
    // "一楼综合受理区" / "1F Comprehensive…" already says the floor
    const f = w && w.floor;
    if (f > 0 && f <= 10 && z && [f + "楼", "一二三四五六七八九十"[f - 1] + "楼", f + "F "].some((x) => (z.name + " " + z.name_en + " ").includes(x)))
      floor = "";
    return [floor, zname].filter(Boolean).join(" · ");
  }

  function featuredCard(c) {
    const w = windowOf(c.window);
    const win =
      HQ.lang === "en"
        ? el("span", { class: "fwin" }, el("span", { class: "fwin-word", text: "Window " }), el("b", { text: String(c.window) }))
        : el("span", { class: "fwin" }, el("b", { text: String(c.window) }), el("span", { class: "fwin-word", text: "号窗口" }));
    return el(
      "div",
      { class: "call fcard" + (c.recall ? " recall" : ""), "data-number": c.number, "data-window": c.window },
      el("div", { class: "fnum" }, el("span", { class: "fnum-text", text: c.number })),
      el("div", { class: "fto" }, el("span", { class: "fgo", text: HQ.t("请到", "Go to") }), win),
      el("div", { class: "fname", text: windowName(w) }),
      el("div", { class: "fplace", text: callPlace(c) })
    );
  }
  function flash(node) {
    node.classList.remove("flash");
    void node.offsetWidth; // restart the animation
    node.classList.add("flash");
  }
  function endFlash(e) {
    if (e.target === e.currentTarget) e.currentTarget.classList.remove("flash");
  }

  function renderFeatured() {
    const box = $("featured");
    for (const f of featured) {
      const sig = HQ.lang + "|" + f.call.number + "|" + f.call.window + "|" + (f.call.recall ? 1 : 0);
      if (f.el && f.sig === sig) continue;
      const fresh = featuredCard(f.call);
      if (f.el) {
        // keep the element (and its running flash), replace what it says
        f.el.replaceChildren(...fresh.childNodes);
        f.el.classList.toggle("recall", !!f.call.recall);
        f.el.dataset.number = f.call.number;
        f.el.dataset.window = f.call.window;
      } else {
        f.el = fresh;
        f.el.addEventListener("animationend", endFlash);
        if (!f.quiet) flash(f.el);
      }
      f.sig = sig;
    }
    // move only what must move: re-inserting an element restarts its animation
    const want = featured.map((f) => f.el);
    for (const c of Array.from(box.children)) if (!want.includes(c)) c.remove();
    want.forEach((e, i) => {
      if (box.children[i] !== e) box.insertBefore(e, box.children[i] || null);
    });
    box.dataset.count = String(featured.length);
    $("featured-empty").classList.toggle("hidden", featured.length > 0);
    fitFeatured();
  }
  /// A long number or window name must never spill out of its card.
  function fitFeatured() {
    for (const f of featured) {
      const to = f.el.querySelector(".fto");
      if (to) {
        to.style.fontSize = "";
        let k = 1;
        while (k > 0.5 && to.scrollWidth > to.clientWidth + 1) {
          k *= 0.92;
          to.style.fontSize = k + "rem";
        }
      }
      const t = f.el.querySelector(".fnum-text");
      if (!t) continue;
      t.style.fontSize = "";
      const box = t.parentElement;
      let size = parseFloat(getComputedStyle(t).fontSize);
      const min = size * 0.5;
      while (size > min && t.scrollWidth > box.clientWidth + 1) {
        size *= 0.93;
        t.style.fontSize = size + "px";
      }
    }
  }

  function feature(call) {
    const now = performance.now();
    const same = featured.find((f) => f.call.number === call.number && f.call.window === call.window);
    if (same) {
      // a recall of a call on show: flash again and give it its time again
      same.call = call;
      same.shownAt = now;
      // newest first: move it to the front
      featured.splice(featured.indexOf(same), 1);
      featured.unshift(same);
      renderFeatured();
      flash(same.el);
      return;
    }
    const queued = pendingCalls.findIndex((c) => c.number === call.number && c.window === call.window);
    if (queued >= 0) return; // already waiting for its turn
    pendingCalls.push(call);
    pump();
  }

  function pump() {
    if (pumpTimer) {
      clearTimeout(pumpTimer);
      pumpTimer = null;
    }
    const now = performance.now();
    let changed = false;
    while (pendingCalls.length) {
      if (featured.length >= MAX_FEATURED) {
        // the oldest call that has had its time leaves; an earlier call of
        // the same window (now out of date) first
        const next = pendingCalls[0];
        let oldest = null;
        for (const f of featured) {
          if (now - f.shownAt < MIN_SHOW_MS) continue;
          const same = f.call.window === next.window;
          const best = oldest && oldest.call.window === next.window;
          if (!oldest || (same && !best) || (same === best && f.shownAt < oldest.shownAt)) oldest = f;
        }
        if (!oldest) break;
        featured.splice(featured.indexOf(oldest), 1);
      }
      featured.unshift({ call: pendingCalls.shift(), shownAt: now, el: null });
      changed = true;
    }
    if (changed) renderFeatured();
    if (pendingCalls.length) {
      const due = Math.min(...featured.map((f) => f.shownAt + MIN_SHOW_MS)) - now;
      pumpTimer = setTimeout(pump, Math.max(50, due + 20));
    }
  }

  function recentRow(c) {
    const w = windowOf(c.window);
    return el(
      "li",
      { class: "call rrow", "data-number": c.number, "data-window": c.window },
      el("span", { class: "rnum", text: c.number }),
      el("span", { class: "rwin" }, el("span", { class: "rarrow", text: "→" }), windowLabel(c.window)),
      el("span", { class: "rtime", text: c.at ? HQ.hhmm(c.at) : "" }),
      w ? el("span", { class: "rname", text: windowName(w) }) : null
    );
  }
  function renderRecent() {
    const box = $("recent");
    box.replaceChildren(...recent.slice(0, RECENT_MAX).map(recentRow));
    $("recent-empty").classList.toggle("hidden", recent.length > 0);
  }
  function addRecent(c) {
    const key = callKey(c);
    const i = recent.findIndex((r) => r.key === key || (r.number === c.number && r.window === c.window));
    if (i >= 0) recent.splice(i, 1);
    recent.unshift(Object.assign({ key }, c));
    if (recent.length > RECENT_MAX * 2) recent.length = RECENT_MAX * 2;
    renderRecent();
    const first = $("recent").firstElementChild;
    if (first && !c.stale) first.classList.add("fresh");
  }
  function seedRecent() {
    if (!view || !Array.isArray(view.recent_calls)) return;
    const seen = new Set(recent.map((r) => r.key));
    for (const rc of view.recent_calls) {
      const w = windowOf(rc.window);
      if (ZONE && !(rc.zone === ZONE || (w && w.zone === ZONE))) continue;
      const c = { key: "t" + rc.ticket_id, ticketId: rc.ticket_id, number: rc.number, window: rc.window, at: rc.at, atMs: parseAt(rc.at) };
      if (seen.has(c.key)) continue;
      seen.add(c.key);
      recent.push(c);
    }
    recent.sort((a, b) => b.atMs - a.atMs);
    if (recent.length > RECENT_MAX * 2) recent.length = RECENT_MAX * 2;
    // A screen (re)started mid-call shows the calls of the last minute as
    // "now calling" too: without flash or sound, and any new call may take
    // their place at once.
    const now = performance.now();
    for (const c of recent.slice().reverse()) {
      if (serverNow() - c.atMs > STALE_MS) continue;
      if (featured.length >= MAX_FEATURED) featured.pop();
      // older calls count as shown earlier, so they make room first
      featured.unshift({ call: c, shownAt: now - MIN_SHOW_MS - Math.max(0, serverNow() - c.atMs), el: null, quiet: true });
    }
  }

  // Calls whose number must be looked up are handled in order, after any earlier one.
  let callChain = Promise.resolve();
  let chainBusy = 0;

  function onCall(kind, data) {
    const ev = data.event || {};
    const n = Number(ev.window);
    const w = windowOf(n);
    if (ZONE && w && w.zone !== ZONE) return;
    const atMs = parseAt(data.at);
    const call = {
      ticketId: data.ticket && data.ticket.id !== undefined ? data.ticket.id : ev.ticket,
      number: (data.ticket && data.ticket.number) || numbers.get(ev.ticket) || null,
      window: n,
      at: data.at,
      atMs,
      recall: kind === "ticket_recalled",
    };
    if (call.number && w && !chainBusy) {
      showCall(call);
      return;
    }
    // the number (or the window) is not known yet: read it, keep the order
    chainBusy++;
    callChain = callChain
      .then(async () => {
        if (!windowOf(n)) await refreshNow();
        if (!call.number) {
          try {
            const d = await HQ.api("GET", "/api/v1/windows/" + n);
            if (d && d.current && (d.current.id === call.ticketId || !call.ticketId)) call.number = d.current.number;
          } catch (e) {
            /* shown without a number is useless; skip below */
          }
        }
        const ww = windowOf(n);
        if (ZONE && (!ww || ww.zone !== ZONE)) return;
        if (call.number) showCall(call);
      })
      .catch((e) => console.error(e))
      .finally(() => chainBusy--);
  }

  function showCall(call) {
    numbers.set(call.ticketId, call.number);
    call.stale = serverNow() - call.atMs > STALE_MS;
    addRecent(call);
    if (call.stale) return; // caught up after a reconnect: history, not news
    markCalling(call.window, call.number);
    feature(call);
    announce(call);
  }

  // ---- audio -------------------------------------------------------------
  let audioOn = (function () {
    const p = HQ.params.get("audio");
    if (p === "1" || p === "0") {
      localStorage.setItem(AUDIO_KEY, p);
      return p === "1";
    }
    return localStorage.getItem(AUDIO_KEY) === "1";
  })();
  const audioQueue = [];
  let audioBusy = false;
  let actx = null;

  function renderAudioToggle() {
    const b = $("audio-toggle");
    b.setAttribute("aria-pressed", audioOn ? "true" : "false");
    b.classList.toggle("on", audioOn);
  }
  $("audio-toggle").addEventListener("click", () => {
    audioOn = !audioOn;
    localStorage.setItem(AUDIO_KEY, audioOn ? "1" : "0");
    renderAudioToggle();
    if (audioOn) {
      // a click lets the page play sound from now on
      try {
        actx = actx || new (window.AudioContext || window.webkitAudioContext)();
        actx.resume();
      } catch (e) {
        /* no WebAudio */
      }
    } else audioQueue.length = 0;
  });

  function announce(call) {
    if (!audioOn) return;
    audioQueue.push(call);
    if (!audioBusy) playQueue();
  }
  async function playQueue() {
    audioBusy = true;
    try {
      while (audioQueue.length && audioOn) {
        const c = audioQueue.shift();
        try {
          await playAnnouncement(c);
        } catch (e) {
          await chime();
        }
      }
    } finally {
      audioBusy = false;
    }
  }
  async function playAnnouncement(c) {
    const headers = {};
    const cred = HQ.credential();
    if (cred) headers.Authorization = "Bearer " + cred;
    const url =
      "/api/v1/announcements/audio?ticket=" + encodeURIComponent(c.number) + "&window=" + encodeURIComponent(c.window);
    const res = await fetch(url, { headers, cache: "no-store" });
    if (!res.ok) throw new Error("audio " + res.status);
    const blob = await res.blob();
    const src = URL.createObjectURL(blob);
    try {
      const a = new Audio(src);
      await new Promise((resolve, reject) => {
        const guard = setTimeout(resolve, 30000);
        a.onended = () => {
          clearTimeout(guard);
          resolve();
        };
        a.onerror = () => {
          clearTimeout(guard);
          reject(new Error("audio error"));
        };
        a.play().catch((e) => {
          clearTimeout(guard);
          reject(e);
        });
      });
    } finally {
      URL.revokeObjectURL(src);
    }
  }
  /// A short two-tone chime (叮咚) when the announcement cannot be played.
  function chime() {
    return new Promise((resolve) => {
      try {
        actx = actx || new (window.AudioContext || window.webkitAudioContext)();
        if (actx.state === "suspended") actx.resume();
        const t0 = actx.currentTime + 0.02;
        [
          [880, 0],
          [660, 0.45],
        ].forEach(([f, d]) => {
          const o = actx.createOscillator();
          const g = actx.createGain();
          o.type = "sine";
          o.frequency.value = f;
          g.gain.setValueAtTime(0.0001, t0 + d);
          g.gain.exponentialRampToValueAtTime(0.35, t0 + d + 0.03);
          g.gain.exponentialRampToValueAtTime(0.0001, t0 + d + 0.8);
          o.connect(g).connect(actx.destination);
          o.start(t0 + d);
          o.stop(t0 + d + 0.85);
        });
      } catch (e) {
        /* no sound at all */
      }
      setTimeout(resolve, 1400);
    });
  }

  // ---- refresh of the board ---------------------------------------------
  async function refreshNow() {
    try {
      await loadView();
      renderIdle();
      renderHeader();
      renderWindows();
      renderServices();
      renderNotices();
    } catch (e) {
      /* the next event or reconnect tries again */
    }
  }
  const refresh = HQ.coalesce(refreshNow, 300);

  // events that change nothing on this board
  const QUIET = new Set(["config_applied", "account_activity", "service_rated"]);

  function onEvent(name, data, id) {
    if (name === "device" || !data) return;
    const seq = Number(data.seq !== undefined ? data.seq : id);
    if (Number.isFinite(seq)) {
      if (seq <= lastSeq) return; // seen already
      lastSeq = seq;
    }
    const atMs = parseAt(data.at);
    if (atMs > newestAtMs) newestAtMs = atMs;
    const ev = data.event || {};
    const kind = data.kind || name;
    if (kind === "ticket_issued" && ev.number) numbers.set(ev.ticket, ev.number);
    if (data.ticket && data.ticket.number) numbers.set(data.ticket.id, data.ticket.number);
    if (kind === "ticket_called" || kind === "ticket_recalled") onCall(kind, data);
    if (kind === "day_opened" || kind === "day_ended") {
      // a new business day: yesterday's calls are gone
      featured.length = 0;
      pendingCalls.length = 0;
      recent.length = 0;
      numbers.clear();
      renderFeatured();
      renderRecent();
    }
    if (!QUIET.has(kind)) refresh();
  }

  // ---- start -------------------------------------------------------------
  let everUp = false;
  function onState(up) {
    $("link").classList.toggle("up", up);
    if (up) {
      if (everUp) refresh(); // back after a break: windows and waits may have changed
      everUp = true;
    }
  }

  async function start() {
    // The mouse pointer hides after a few seconds without movement.
    (function () {
      let t = null;
      const idle = () => document.body.classList.add("idle-cursor");
      document.addEventListener("mousemove", () => {
        document.body.classList.remove("idle-cursor");
        clearTimeout(t);
        t = setTimeout(idle, 3000);
      });
      idle();
    })();
    HQ.applyLang();
    HQ.wireLangSwitch();
    HQ.clock($("date"), $("time")); // the hall's time, from the API's answers
    renderAudioToggle();
    HQ.onLang(() => {
      renderAll();
    });
    let delay = 1000;
    for (;;) {
      try {
        await loadView();
        break;
      } catch (e) {
        if (e.status === 401 || e.status === 403)
          showMessage(
            "本屏幕未授权：请在地址末尾加上 #key=显示屏密钥",
            "This screen has no valid key: add #key=DISPLAY-KEY to its address"
          );
        else showMessage("正在连接服务器…", "Connecting to the server…");
        await HQ.sleep(delay);
        delay = Math.min(delay * 2, 10000);
      }
    }
    lastSeq = Number(view.seq) || 0;
    seedRecent();
    renderAll();
    HQ.stream("/api/v1/events", {
      after: view.seq,
      onEvent,
      onState,
      onAuth: () =>
        showMessage("本屏幕未授权：请检查显示屏密钥", "This screen's key was refused: check the display key"),
    });
    if (document.fonts && document.fonts.ready) document.fonts.ready.then(() => renderAll());
    let resizeTimer = null;
    window.addEventListener("resize", () => {
      clearTimeout(resizeTimer);
      resizeTimer = setTimeout(renderAll, 150);
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
