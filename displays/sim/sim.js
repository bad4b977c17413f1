// The demo hall's simulated RS-485 devices, drawn as they look now: window
// indicators, zone boards, the BX-5K controller, voice chips, keypads and
// evaluators (whose keys and ratings can be pressed). Fed by the simulator's
// event stream; the device list is re-read (coalesced) when devices change.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const el = HQ.el;

  const KEYS = [
    ["call_next", "呼叫", "Call"],
    ["recall", "重呼", "Recall"],
    ["no_show", "过号", "No-show"],
    ["start", "开始", "Start"],
    ["finish", "办结", "Finish"],
    ["pause", "暂停", "Pause"],
    ["resume", "恢复", "Resume"],
    ["transfer", "转移", "Transfer"],
    ["request_evaluation", "评价", "Rate"],
    ["park", "挂起", "Park"],
  ];
  const RATINGS = [
    [1, "非常满意", "Very good"],
    [2, "满意", "Good"],
    [3, "基本满意", "OK"],
    [4, "不满意", "Poor"],
    [5, "非常不满意", "Very poor"],
  ];
  const KIND_NAMES = {
    indicator: ["窗口屏", "Window indicator"],
    board: ["区域屏", "Zone board"],
    bx5k: ["BX-5K 控制卡", "BX-5K controller"],
    voice: ["语音播报", "Voice announcer"],
    keypad: ["呼叫器", "Call keypad"],
    evaluator: ["评价器", "Evaluator"],
    other: ["设备", "Device"],
  };
  const MODES = {
    off: ["关闭", "off"],
    idle: ["空闲", "idle"],
    calling: ["呼叫", "calling"],
    serving: ["办理中", "serving"],
    paused: ["暂停", "paused"],
    closed: ["关闭窗口", "closed"],
  };
  const FAULTS = {
    unplug: ["已拔出", "unplugged"],
    unplugged: ["已拔出", "unplugged"],
    silent: ["不应答", "silent"],
    garbage: ["发乱码", "garbage"],
    badcrc: ["校验错", "bad CRC"],
    slow: ["应答慢", "slow"],
  };
  const T = (pair) => (pair ? HQ.t(pair[0], pair[1]) : "");

  let hall = null; // GET /api/v1/hall (names, zones), or null
  let devices = []; // GET /api/v1/sim/devices .devices
  let built = ""; // signature of the drawn layout (labels in order)
  const elByLabel = new Map();
  let stream = null;
  const logLines = [];

  // ---- helpers ----------------------------------------------------------------
  /// A field of the device's structured content, wherever the encoding nests it.
  function pick(obj, key, depth) {
    depth = depth || 0;
    if (!obj || typeof obj !== "object" || depth > 4) return undefined;
    if (Object.prototype.hasOwnProperty.call(obj, key)) return obj[key];
    for (const v of Object.values(obj)) {
      const r = pick(v, key, depth + 1);
      if (r !== undefined) return r;
    }
    return undefined;
  }
  function kindOf(d) {
    const p = String(d.protocol || "").toLowerCase();
    if (p.includes("bx5k") || p.includes("bx-5k") || p.includes("onbon")) return "bx5k";
    if (p.includes("indicator")) return "indicator";
    if (p.includes("board")) return "board";
    if (p.includes("keypad")) return "keypad";
    if (p.includes("evaluator")) return "evaluator";
    if (p.includes("syn") || p.includes("xfs") || p.includes("voice") || p.includes("tts")) return "voice";
    const m = /\s(indicator|board|voice|keypad|evaluator)(\s|$)/.exec(d.label || "");
    if (m) return m[1] === "board" && /bx/i.test(d.profile || "") ? "bx5k" : m[1];
    return "other";
  }
  /// The `shows` line without its label.
  function showsText(d) {
    const s = String(d.shows || "");
    const pre = d.label + ": ";
    return s.startsWith(pre) ? s.slice(pre.length) : s;
  }
  function unplugged(d) {
    return faultName(d) === "unplug" || d.content === "Unplugged" || pick(d.content, "unplugged") === true ||
      (d.content && (d.content.kind === "unplugged" || d.content.type === "unplugged")) || showsText(d) === "(unplugged)";
  }
  function faultName(d) {
    const f = d.fault;
    if (!f) return null;
    if (typeof f === "string") {
      const w = f.split(/\s+/)[0];
      return w === "none" ? null : w;
    }
    if (typeof f === "object") {
      const k = f.kind || f.type || Object.keys(f)[0];
      return !k || k === "none" ? null : String(k).toLowerCase();
    }
    return null;
  }
  function windowOf(d) {
    if (d.window !== undefined && d.window !== null) return Number(d.window);
    const m = /^窗口(\d+)\s/.exec(d.label || "");
    return m ? Number(m[1]) : null;
  }
  function zoneOf(d) {
    if (d.zone) return d.zone;
    const w = windowOf(d);
    if (w !== null && hall) {
      const win = hall.windows.find((x) => x.number === w);
      if (win) return win.zone;
    }
    if (w === null) {
      const m = /^(\S+)\s(board|voice)/.exec(d.label || "");
      if (m) return m[1];
    }
    return null;
  }
  function toast(text, ok) {
    const t = $("toast");
    t.textContent = text;
    t.className = "toast " + (ok ? "ok" : "error");
    clearTimeout(toast.timer);
    toast.timer = setTimeout(() => t.classList.add("hidden"), 4000);
  }
  function pageMsg(text, kind) {
    const m = $("page-msg");
    m.className = "page-msg msg " + (kind || "error") + (text ? "" : " hidden");
    m.textContent = text || "";
  }

  // ---- parsing what a device shows (structured content first, else the line) ----
  function indicatorState(d) {
    const c = d.content;
    let mode = pick(c, "mode");
    let line1 = pick(c, "line1");
    let line2 = pick(c, "line2");
    let flash = pick(c, "flash_count");
    let brightness = pick(c, "brightness");
    if (typeof mode === "object" && mode) mode = mode.kind || mode.mode || Object.keys(mode)[0];
    if (line1 === undefined && line2 === undefined) {
      const s = showsText(d);
      const m = /^\[(\w+)(?: ×(\d+))?\]( \(dark\))?(?: (.*?) \| (.*))?$/.exec(s);
      if (m) {
        mode = m[1];
        flash = m[2] ? Number(m[2]) : 0;
        brightness = m[3] ? 0 : 100;
        line1 = m[4] === "—" ? "" : m[4] || "";
        line2 = m[5] === "—" ? "" : m[5] || "";
      } else {
        mode = null;
        line1 = s;
        line2 = "";
      }
    }
    return {
      mode: mode ? String(mode).toLowerCase() : null,
      line1: line1 || "",
      line2: line2 || "",
      flash: flash || 0,
      brightness: brightness === undefined || brightness === null ? 100 : Number(brightness),
    };
  }
  function boardLines(d) {
    let lines = pick(d.content, "lines");
    if (!Array.isArray(lines)) {
      const s = showsText(d);
      lines = s === "(blank)" || s === "" ? [] : s.split(" / ").map((l) => (l === "—" ? "" : l));
    }
    return lines;
  }
  function keypadState(d) {
    let ticket = pick(d.content, "ticket");
    let waiting = pick(d.content, "waiting");
    if (ticket === undefined) {
      const m = /^(.*) · 等待 (\d+)$/.exec(showsText(d));
      ticket = m ? (m[1] === "—" ? "" : m[1]) : showsText(d);
      waiting = m ? Number(m[2]) : null;
    }
    const pending = pick(d.content, "pending");
    return { ticket: ticket || "", waiting, pending: Array.isArray(pending) ? pending.length : 0 };
  }
  function evaluatorState(d) {
    let prompt = pick(d.content, "prompt");
    let staff = pick(d.content, "staff_line");
    if (prompt === undefined && staff === undefined) {
      const s = showsText(d);
      prompt = s.startsWith("请评价");
      staff = prompt ? s.replace(/^请评价 · /, "") : s;
      if (staff === "—") staff = "";
    }
    return { prompt: !!prompt, staff: staff || "" };
  }
  function voiceState(d) {
    let speaking = pick(d.content, "speaking");
    if (speaking === undefined) {
      const m = /^(speaking|paused) (.*)$/.exec(showsText(d));
      speaking = m ? m[2] : null;
    }
    return { speaking: speaking || null, spoken: Array.isArray(d.spoken) ? d.spoken : [] };
  }

  // ---- drawing -----------------------------------------------------------------------
  function deviceShell(d, kind, extraClass) {
    const e = el(
      "div",
      { class: "device kind-" + kind + (extraClass ? " " + extraClass : ""), "data-label": d.label, "data-kind": kind, title: d.label },
      el(
        "div",
        { class: "dev-head" },
        el("span", { class: "dev-kind" }, T(KIND_NAMES[kind])),
        el("span", { class: "dev-addr mono" }, d.bus + (d.unit !== null && d.unit !== undefined ? " #" + d.unit : "")),
        el("span", { class: "dev-fault hidden" })
      ),
      el("div", { class: "dev-body" })
    );
    elByLabel.set(d.label, e);
    return e;
  }

  function buildKeys(win) {
    return el(
      "div",
      { class: "keys" },
      KEYS.map(([k, zh, en]) =>
        el(
          "button",
          { type: "button", class: "key key-" + k, "data-window": win, "data-key": k, onclick: () => press(win, k) },
          el("span", { "data-zh": zh, "data-en": en }, HQ.t(zh, en))
        )
      )
    );
  }
  function buildRates(win) {
    return el(
      "div",
      { class: "rates" },
      RATINGS.map(([n, zh, en]) =>
        el(
          "button",
          { type: "button", class: "rate rate-" + n, "data-window": win, "data-rating": n, title: n + " " + HQ.t(zh, en), onclick: () => rate(win, n) },
          el("span", { class: "face", "aria-hidden": "true" }),
          el("span", { class: "rl", "data-zh": zh, "data-en": en }, HQ.t(zh, en))
        )
      )
    );
  }

  /// Draws the layout: floors → zones → zone devices, then window cards.
  function build() {
    elByLabel.clear();
    const zones = zoneList();
    const byZone = new Map(zones.map((z) => [z.id, { zone: z, zoneDevices: [], windows: new Map() }]));
    const other = { zone: { id: "", name: "其他设备", name_en: "Other devices", floor: null }, zoneDevices: [], windows: new Map() };
    for (const d of devices) {
      const zid = zoneOf(d);
      const group = (zid && byZone.get(zid)) || (zid ? addZone(byZone, zid) : other);
      const w = windowOf(d);
      if (w === null) group.zoneDevices.push(d);
      else {
        if (!group.windows.has(w)) group.windows.set(w, []);
        group.windows.get(w).push(d);
      }
    }
    const groups = [...byZone.values()].filter((g) => g.zoneDevices.length || g.windows.size);
    if (other.zoneDevices.length || other.windows.size) groups.push(other);

    const area = $("devices");
    const nav = $("zone-nav");
    const navItems = [];
    const sections = [];
    let lastFloor;
    for (const g of groups) {
      const z = g.zone;
      if (z.floor !== lastFloor && z.floor !== null && z.floor !== undefined) {
        sections.push(el("h2", { class: "floor-title" }, floorName(z.floor)));
        navItems.push(el("span", { class: "nav-floor" }, floorName(z.floor)));
        lastFloor = z.floor;
      }
      const anchor = "zone-" + (z.id || "other");
      navItems.push(el("a", { href: "#" + anchor, class: "nav-zone" }, HQ.t(z.name, z.name_en)));
      const zoneDevs = g.zoneDevices
        .slice()
        .sort((a, b) => order(kindOf(a)) - order(kindOf(b)))
        .map((d) => drawZoneDevice(d));
      const winCards = [...g.windows.entries()]
        .sort((a, b) => a[0] - b[0])
        .map(([n, ds]) => drawWindow(n, ds));
      sections.push(
        el(
          "section",
          { class: "zone", id: anchor, "data-zone": z.id },
          el("div", { class: "zone-head" }, el("h3", null, HQ.t(z.name, z.name_en)), z.id ? el("span", { class: "mono muted" }, z.id) : null),
          zoneDevs.length ? el("div", { class: "zone-devices" }, zoneDevs) : null,
          winCards.length ? el("div", { class: "windows" }, winCards) : null
        )
      );
    }
    nav.replaceChildren(...navItems);
    area.replaceChildren(...sections);
    built = signature();
    devices.forEach(update);
  }
  function order(kind) {
    return { board: 0, bx5k: 1, voice: 2 }[kind] ?? 3;
  }
  function addZone(byZone, zid) {
    const g = { zone: { id: zid, name: zid, name_en: zid, floor: null }, zoneDevices: [], windows: new Map() };
    byZone.set(zid, g);
    return g;
  }
  function zoneList() {
    if (hall && hall.zones && hall.zones.length) return hall.zones.slice().sort((a, b) => a.floor - b.floor);
    const m = new Map();
    if (hall)
      for (const w of hall.windows)
        if (!m.has(w.zone)) m.set(w.zone, { id: w.zone, name: w.zone_name || w.zone, name_en: w.zone_name_en || w.zone, floor: w.floor });
    for (const d of devices) if (d.zone && !m.has(d.zone)) m.set(d.zone, { id: d.zone, name: d.zone, name_en: d.zone, floor: null });
    return [...m.values()].sort((a, b) => (a.floor ?? 99) - (b.floor ?? 99));
  }
  function floorName(f) {
    if (HQ.lang === "en") return f > 0 ? "Floor " + f : "Basement " + (1 - f);
    return f > 0 ? f + "楼" : "地下" + (1 - f) + "层";
  }
  function signature() {
    return devices.map((d) => d.label + "|" + (windowOf(d) ?? "") + "|" + (zoneOf(d) ?? "")).join(",") + "|" + (hall ? hall.windows.length : 0);
  }

  function drawZoneDevice(d) {
    const kind = kindOf(d);
    return deviceShell(d, kind, "zone-device");
  }
  function drawWindow(n, ds) {
    const w = hall && hall.windows.find((x) => x.number === n);
    const parts = [];
    const sorted = ds.slice().sort((a, b) => ({ indicator: 0, keypad: 1, evaluator: 2 }[kindOf(a)] ?? 3) - ({ indicator: 0, keypad: 1, evaluator: 2 }[kindOf(b)] ?? 3));
    for (const d of sorted) {
      const kind = kindOf(d);
      const shell = deviceShell(d, kind);
      if (kind === "keypad") shell.append(buildKeys(n));
      if (kind === "evaluator") shell.append(buildRates(n));
      parts.push(shell);
    }
    return el(
      "article",
      { class: "window-card", "data-window": n },
      el(
        "div",
        { class: "win-head" },
        el("span", { class: "win-num" }, String(n)),
        el("span", { class: "win-name nowrap" }, w ? HQ.t(w.name, w.name_en) : HQ.t(n + "号窗口", "Window " + n))
      ),
      parts
    );
  }

  /// Redraws one device's face from its current state.
  function update(d) {
    const e = elByLabel.get(d.label);
    if (!e) return;
    const kind = e.dataset.kind;
    const body = e.querySelector(".dev-body");
    const f = faultName(d);
    const fb = e.querySelector(".dev-fault");
    fb.classList.toggle("hidden", !f);
    if (f) {
      const slow = typeof d.fault === "string" ? d.fault.replace(/^slow\s*/, "") : "";
      fb.textContent = HQ.t("故障：", "fault: ") + (FAULTS[f] ? T(FAULTS[f]) : f) + (f === "slow" && slow ? " " + slow + "ms" : "");
    }
    const off = unplugged(d);
    e.classList.toggle("unplugged", off);
    e.querySelectorAll(".key, .rate").forEach((b) => b.classList.toggle("dead", off));
    if (off) {
      body.replaceChildren(el("div", { class: "dead-face" }, HQ.t("（已断开，无显示）", "(unplugged — shows nothing)")));
      return;
    }
    if (kind === "indicator") body.replaceChildren(drawIndicator(d));
    else if (kind === "board" || kind === "bx5k") body.replaceChildren(drawBoard(d, kind));
    else if (kind === "voice") body.replaceChildren(...drawVoice(d));
    else if (kind === "keypad") body.replaceChildren(drawKeypad(d));
    else if (kind === "evaluator") body.replaceChildren(drawEvaluator(d));
    else body.replaceChildren(el("div", { class: "plain mono" }, showsText(d)));
  }

  function drawIndicator(d) {
    const s = indicatorState(d);
    const dark = s.brightness === 0 || s.mode === "off";
    const led = el(
      "div",
      {
        class: "led indicator-led mode-" + (s.mode || "unknown") + (dark ? " dark" : ""),
        style: dark ? null : "--glow:" + (0.55 + 0.45 * Math.min(1, s.brightness / 100)).toFixed(2),
      },
      el("div", { class: "l1" }, s.line1 || "\u00a0"),
      el("div", { class: "l2" }, s.line2 || "\u00a0")
    );
    const mode = s.mode && MODES[s.mode] ? T(MODES[s.mode]) : s.mode ? s.mode : HQ.t("未知模式", "unknown mode");
    return el(
      "div",
      { class: "ind-wrap" },
      led,
      el("div", { class: "dev-note" }, mode + (s.mode === "calling" && s.flash ? " ×" + s.flash : "") + (s.brightness === 0 ? HQ.t("（亮度0）", " (dark)") : ""))
    );
  }
  function drawBoard(d, kind) {
    const lines = boardLines(d);
    const rows = Math.max(lines.length, kind === "bx5k" ? 2 : 4);
    const shown = [];
    for (let i = 0; i < Math.min(rows, 8); i++) shown.push(el("div", { class: "bl" }, lines[i] || "\u00a0"));
    return el(
      "div",
      { class: "led board-led " + kind + (lines.length ? "" : " blank") },
      shown,
      lines.length > 8 ? el("div", { class: "bl more" }, "+" + (lines.length - 8)) : null
    );
  }
  function drawVoice(d) {
    const v = voiceState(d);
    const recent = v.spoken.slice(-6).reverse();
    return [
      el(
        "div",
        { class: "voice-now" + (v.speaking ? " speaking" : "") },
        speakerIcon(),
        el(
          "div",
          { class: "voice-text" },
          el("div", { class: "vt-label" }, v.speaking ? HQ.t("正在播报", "Saying now") : HQ.t("静音", "Silent")),
          el("div", { class: "vt-now" }, v.speaking || "—")
        )
      ),
      el(
        "ol",
        { class: "spoken" },
        recent.length
          ? recent.map((t) => el("li", null, t))
          : [el("li", { class: "muted" }, HQ.t("尚未播报", "Nothing said yet"))]
      ),
    ];
  }
  function speakerIcon() {
    const ns = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 32 32");
    svg.setAttribute("class", "spk");
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", "🔊");
    const add = (tag, attrs) => {
      const n = document.createElementNS(ns, tag);
      for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
      svg.append(n);
    };
    add("path", { d: "M4 12h6l8-7v22l-8-7H4z", class: "cone" });
    add("path", { d: "M22 11a7 7 0 0 1 0 10", class: "wave w1" });
    add("path", { d: "M25.5 7.5a12 12 0 0 1 0 17", class: "wave w2" });
    return svg;
  }
  function drawKeypad(d) {
    const k = keypadState(d);
    return el(
      "div",
      { class: "lcd" },
      el("span", { class: "lcd-ticket" }, k.ticket || "----"),
      el("span", { class: "lcd-wait" }, k.waiting === null || k.waiting === undefined ? "" : HQ.t("等待 ", "wait ") + k.waiting),
      k.pending ? el("span", { class: "lcd-pending", title: HQ.t("未取走的按键", "presses not yet polled") }, "⋯" + k.pending) : null
    );
  }
  function drawEvaluator(d) {
    const s = evaluatorState(d);
    return el(
      "div",
      { class: "eval-face" },
      el("span", { class: "lamp" + (s.prompt ? " on" : "") }, HQ.t("请评价", "Rate us")),
      el("span", { class: "eval-staff nowrap" }, s.staff || "—")
    );
  }

  // ---- actions ------------------------------------------------------------------------------
  async function press(win, key) {
    const btn = document.querySelector('.key[data-window="' + win + '"][data-key="' + key + '"]');
    flashBtn(btn);
    try {
      await HQ.api("POST", "/api/v1/sim/keypads/" + win, { key });
      log(HQ.t(win + "号窗口呼叫器：按 ", "window " + win + " keypad: pressed ") + keyName(key), "press");
    } catch (e) {
      failed(e, btn);
    }
  }
  async function rate(win, rating) {
    const btn = document.querySelector('.rate[data-window="' + win + '"][data-rating="' + rating + '"]');
    flashBtn(btn);
    try {
      await HQ.api("POST", "/api/v1/sim/evaluators/" + win, { rating });
      const r = RATINGS.find((x) => x[0] === rating);
      log(HQ.t(win + "号窗口评价器：", "window " + win + " evaluator: ") + HQ.t(r[1], r[2]), "press");
    } catch (e) {
      failed(e, btn);
    }
  }
  function keyName(k) {
    const x = KEYS.find((y) => y[0] === k);
    return x ? HQ.t(x[1], x[2]) : k;
  }
  function flashBtn(b) {
    if (!b) return;
    b.classList.remove("pressed");
    void b.offsetWidth;
    b.classList.add("pressed");
  }
  function failed(e, btn) {
    if (btn) btn.classList.add("refused");
    setTimeout(() => btn && btn.classList.remove("refused"), 1200);
    if (e instanceof HQ.ApiError && e.status === 401) return needCredential(e.text());
    const text = e instanceof HQ.ApiError ? e.text() : String(e);
    toast(text);
    log(text, "error");
  }

  // ---- activity log ------------------------------------------------------------------------------
  function log(text, kind) {
    const now = new Date();
    const t = String(now.getHours()).padStart(2, "0") + ":" + String(now.getMinutes()).padStart(2, "0") + ":" + String(now.getSeconds()).padStart(2, "0");
    logLines.unshift({ t, text, kind });
    if (logLines.length > 200) logLines.pop();
    const ol = $("log");
    ol.querySelectorAll(".empty").forEach((x) => x.remove());
    ol.prepend(el("li", { class: "lg-" + (kind || "shows") }, el("span", { class: "lt mono" }, t), el("span", { class: "lx" }, text)));
    while (ol.children.length > 200) ol.lastChild.remove();
  }

  // ---- data and the live feed ----------------------------------------------------------------------
  async function loadDevices() {
    const r = await HQ.api("GET", "/api/v1/sim/devices");
    devices = (r && r.devices) || [];
    if (signature() !== built) build();
    else devices.forEach(update);
    renderCounts();
  }
  const refresh = HQ.coalesce(async () => {
    try {
      await loadDevices();
    } catch (e) {
      if (e instanceof HQ.ApiError && (e.status === 401 || e.status === 403)) needCredential(e.text());
    }
  }, 250);

  function renderCounts() {
    const faults = devices.filter((d) => faultName(d)).length;
    const speaking = devices.filter((d) => kindOf(d) === "voice" && voiceState(d).speaking).length;
    $("counts").textContent =
      HQ.t("设备 ", "devices ") + devices.length +
      (faults ? HQ.t(" · 故障 ", " · faults ") + faults : "") +
      (speaking ? HQ.t(" · 播报中 ", " · speaking ") + speaking : "");
  }

  function onSim(data) {
    if (!data || !data.label) return;
    const d = devices.find((x) => x.label === data.label);
    if (d) {
      if (data.kind === "shows") d.shows = data.text;
      if (data.kind === "spoke") {
        d.spoken = (d.spoken || []).concat([data.text]);
        d.content = Object.assign({}, d.content || {}, { speaking: data.text });
      }
      if (data.kind === "fault") d.fault = String(data.text || "").replace(/^fault\s+/, "");
      // The structured content is re-read below; the line is enough to flash.
      const e = elByLabel.get(d.label);
      if (e) {
        if (data.kind === "spoke") update(d);
        e.classList.remove("changed");
        void e.offsetWidth;
        e.classList.add("changed");
      }
    }
    const text = data.kind === "spoke" ? data.label + HQ.t(" 播报：", " says: ") + data.text : data.kind === "fault" ? data.label + ": " + HQ.t("故障 ", "fault ") + data.text : data.text;
    // A voice chip's `shows` line repeats what `spoke` already logged.
    if (!(data.kind === "shows" && d && kindOf(d) === "voice")) log(text, data.kind);
    refresh();
  }

  function startLive() {
    if (stream) stream.close();
    stream = HQ.stream("/api/v1/sim/events", {
      onState: (up) => {
        $("link").classList.toggle("up", up);
        if (up) refresh(); // catch up on what changed while away
      },
      onAuth: () => needCredential(HQ.t("显示屏密钥无效或登录已过期", "The display key is not valid, or the sign-in expired")),
      onEvent: (name, data) => {
        if (name === "sim" || (data && data.label)) onSim(data);
        else refresh(); // `lagged`: changes were missed; read them all again
      },
    });
  }

  async function start() {
    pageMsg("");
    try {
      try {
        hall = await HQ.api("GET", "/api/v1/hall");
        $("hall-name").textContent = HQ.t(hall.name, hall.name_en);
        document.title = HQ.t(hall.name, hall.name_en) + " · " + HQ.t("模拟设备", "Simulated devices");
      } catch (e) {
        if (e instanceof HQ.ApiError && e.status === 401) throw e;
        hall = null; // names only; the devices still draw
      }
      await loadDevices();
    } catch (e) {
      if (e instanceof HQ.ApiError && (e.status === 401 || e.status === 403)) return needCredential(e.text());
      if (e instanceof HQ.ApiError && e.status === 404)
        return pageMsg(
          HQ.t("这个大厅没有模拟设备：模拟器只在演示大厅（不带配置文件启动）或配置了 port = \"sim\" 的总线上运行。",
            "This hall has no simulated devices: the simulator runs only in the demo hall (started without a configuration) or on buses with port = \"sim\"."),
          "warn"
        );
      return pageMsg(e instanceof HQ.ApiError ? e.text() : String(e));
    }
    $("login").classList.add("hidden");
    $("main").classList.remove("hidden");
    $("sign-out").classList.toggle("hidden", !HQ.token());
    startLive();
  }

  function needCredential(message) {
    if (stream) stream.close();
    stream = null;
    $("link").classList.remove("up");
    $("main").classList.add("hidden");
    $("login").classList.remove("hidden");
    const m = $("login-msg");
    m.className = "msg error" + (message ? "" : " hidden");
    m.textContent = message || "";
  }

  async function signIn(ev) {
    ev.preventDefault();
    $("sign-in").disabled = true;
    try {
      HQ.setToken(null);
      const r = await HQ.api("POST", "/api/v1/sessions", { account: $("account").value.trim(), password: $("password").value });
      if (r.must_change_password) {
        const m = $("login-msg");
        m.className = "msg error";
        m.textContent = HQ.t("该账号须先修改密码：请在管理驾驶舱（/manager）登录并修改后再来。", "This account must change its password first: sign in at /manager, change it, then come back.");
        return;
      }
      HQ.setToken(r.token);
      $("password").value = "";
      await start();
    } catch (e) {
      const m = $("login-msg");
      m.className = "msg error";
      m.textContent = e instanceof HQ.ApiError ? e.text() : String(e);
    } finally {
      $("sign-in").disabled = false;
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    HQ.applyLang();
    HQ.wireLangSwitch();
    HQ.clock(null, $("time"));
    HQ.onLang(() => {
      if (hall) $("hall-name").textContent = HQ.t(hall.name, hall.name_en);
      if (devices.length) build();
      renderCounts();
    });
    $("login-form").addEventListener("submit", signIn);
    $("key-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const k = $("key-input").value.trim();
      if (!k) return;
      localStorage.setItem("hallq.key", k);
      $("key-input").value = "";
      HQ.setToken(null);
      start();
    });
    $("log-clear").addEventListener("click", () => $("log").replaceChildren());
    $("sign-out").addEventListener("click", async () => {
      try {
        await HQ.api("DELETE", "/api/v1/sessions");
      } catch (e) {
        // gone already
      }
      HQ.setToken(null);
      if (HQ.machineKey()) start();
      else needCredential("");
    });
    if (HQ.credential()) start();
    else needCredential("");
  });
})();
