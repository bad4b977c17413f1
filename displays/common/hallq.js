// hallq's shared page library: language switch, credentials, the JSON API,
// and a resumable Server-Sent-Events reader over fetch (EventSource cannot
// send an Authorization header). No dependencies, no build step.
"use strict";

(function () {
  const HQ = {};
  window.HQ = HQ;

  // ---- language ---------------------------------------------------------
  const params = new URLSearchParams(location.search);
  HQ.params = params;
  HQ.lang = params.get("lang") || localStorage.getItem("hallq.lang") || "zh";
  if (HQ.lang !== "en") HQ.lang = "zh";
  const langListeners = [];

  /// The text for the current language.
  HQ.t = function (zh, en) {
    return HQ.lang === "en" && en ? en : zh;
  };
  /// Registers a re-render to run when the language changes.
  HQ.onLang = function (fn) {
    langListeners.push(fn);
  };
  /// Fills every element carrying data-zh / data-en (and data-zh-placeholder…).
  HQ.applyLang = function (root) {
    const scope = root || document;
    document.documentElement.lang = HQ.lang === "en" ? "en" : "zh-CN";
    scope.querySelectorAll("[data-zh]").forEach((el) => {
      el.textContent = HQ.t(el.dataset.zh, el.dataset.en);
    });
    scope.querySelectorAll("[data-zh-placeholder]").forEach((el) => {
      el.placeholder = HQ.t(el.dataset.zhPlaceholder, el.dataset.enPlaceholder);
    });
    scope.querySelectorAll("[data-zh-title]").forEach((el) => {
      el.title = HQ.t(el.dataset.zhTitle, el.dataset.enTitle);
    });
  };
  HQ.setLang = function (lang) {
    HQ.lang = lang === "en" ? "en" : "zh";
    localStorage.setItem("hallq.lang", HQ.lang);
    HQ.applyLang();
    langListeners.forEach((fn) => fn(HQ.lang));
  };
  /// Wires every `.lang-switch` button: it toggles 中文 / English.
  HQ.wireLangSwitch = function () {
    document.querySelectorAll(".lang-switch").forEach((b) => {
      const label = () => (b.textContent = HQ.lang === "en" ? "中文" : "English");
      label();
      b.addEventListener("click", () => {
        HQ.setLang(HQ.lang === "en" ? "zh" : "en");
        label();
      });
      HQ.onLang(label);
    });
  };

  // ---- credentials ------------------------------------------------------
  // Screens and kiosks use a machine key, given once in the address as
  // `#key=…` (kept out of server logs) and remembered in localStorage.
  // People sign in; their token lives in sessionStorage (gone with the tab).
  (function takeKeyFromHash() {
    const m = /(?:^#|&)key=([^&]+)/.exec(location.hash);
    if (m) {
      localStorage.setItem("hallq.key", decodeURIComponent(m[1]));
      history.replaceState(null, "", location.pathname + location.search);
    }
  })();
  HQ.machineKey = () => localStorage.getItem("hallq.key");
  HQ.token = () => sessionStorage.getItem("hallq.token");
  HQ.setToken = (t) =>
    t ? sessionStorage.setItem("hallq.token", t) : sessionStorage.removeItem("hallq.token");
  /// The bearer credential of this page: a person's token if signed in, else the machine key.
  HQ.credential = () => HQ.token() || HQ.machineKey();

  // ---- JSON API ---------------------------------------------------------
  class ApiError extends Error {
    constructor(status, code, message, messageEn) {
      super(message);
      this.status = status;
      this.code = code;
      this.message_zh = message;
      this.message_en = messageEn || message;
    }
    text() {
      return HQ.t(this.message_zh, this.message_en);
    }
  }
  HQ.ApiError = ApiError;

  /// Calls the API; resolves with the parsed JSON (or null), rejects with an ApiError.
  HQ.api = async function (method, path, body, opts) {
    const headers = { Accept: "application/json" };
    const cred = (opts && opts.credential) || HQ.credential();
    if (cred) headers.Authorization = "Bearer " + cred;
    if (body !== undefined && body !== null) headers["Content-Type"] = "application/json";
    if (opts && opts.idempotencyKey) headers["Idempotency-Key"] = opts.idempotencyKey;
    let res;
    try {
      res = await fetch(path, {
        method,
        headers,
        body: body !== undefined && body !== null ? JSON.stringify(body) : undefined,
        cache: "no-store",
      });
    } catch (e) {
      throw new ApiError(0, "network", "无法连接服务器，请稍后再试", "Cannot reach the server; try again shortly");
    }
    HQ.noteHallTime(res.headers.get("X-Hall-Time"));
    const text = await res.text();
    let json = null;
    if (text) {
      try {
        json = JSON.parse(text);
      } catch (e) {
        json = null;
      }
    }
    if (!res.ok) {
      const err = (json && json.error) || {};
      throw new ApiError(
        res.status,
        err.code || "http_" + res.status,
        err.message || "请求失败（" + res.status + "）",
        err.message_en || "Request failed (" + res.status + ")"
      );
    }
    return json;
  };

  /// A fresh idempotency key, so a retried POST never acts twice.
  HQ.newKey = function () {
    const a = new Uint8Array(12);
    crypto.getRandomValues(a);
    return Array.from(a, (b) => b.toString(16).padStart(2, "0")).join("");
  };

  // ---- event stream -----------------------------------------------------
  /// Follows a Server-Sent-Events route with the page's credential.
  /// `after`: resume after this id (the `seq` of the view the page loaded).
  /// Calls onEvent(name, data, id) for each message, in order, never twice
  /// for the same id; reconnects by itself (0.5 s, doubling to 5 s) and
  /// resumes with Last-Event-ID. onState(true|false) reports the link.
  /// Returns { close(), lastId() }.
  HQ.stream = function (path, opts) {
    let lastId = opts.after === undefined || opts.after === null ? null : Number(opts.after);
    let closed = false;
    let controller = null;
    let delay = 500;
    const state = (up) => opts.onState && opts.onState(up);

    async function connect() {
      while (!closed) {
        controller = new AbortController();
        const headers = { Accept: "text/event-stream" };
        const cred = (opts && opts.credential) || HQ.credential();
        if (cred) headers.Authorization = "Bearer " + cred;
        if (lastId !== null) headers["Last-Event-ID"] = String(lastId);
        try {
          const res = await fetch(path, { headers, signal: controller.signal, cache: "no-store" });
          if (res.status === 401 || res.status === 403) {
            state(false);
            if (opts.onAuth) opts.onAuth(res.status);
            await sleep(5000);
            continue;
          }
          if (!res.ok || !res.body) throw new Error("status " + res.status);
          state(true);
          delay = 500;
          await read(res.body.getReader());
        } catch (e) {
          // fall through to reconnect
        }
        if (closed) return;
        state(false);
        await sleep(delay);
        delay = Math.min(delay * 2, 5000);
      }
    }

    async function read(reader) {
      const decoder = new TextDecoder();
      let buf = "";
      let ev = { name: "message", data: [], id: null };
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buf += decoder.decode(value, { stream: true });
        let nl;
        while ((nl = buf.search(/\r\n|\r|\n/)) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + (buf[nl] === "\r" && buf[nl + 1] === "\n" ? 2 : 1));
          if (line === "") {
            dispatch(ev);
            ev = { name: "message", data: [], id: null };
            continue;
          }
          if (line[0] === ":") continue; // keep-alive comment
          const colon = line.indexOf(":");
          const field = colon < 0 ? line : line.slice(0, colon);
          let val = colon < 0 ? "" : line.slice(colon + 1);
          if (val[0] === " ") val = val.slice(1);
          if (field === "event") ev.name = val;
          else if (field === "data") ev.data.push(val);
          else if (field === "id") ev.id = val;
        }
      }
    }

    function dispatch(ev) {
      if (!ev.data.length) return;
      let data;
      try {
        data = JSON.parse(ev.data.join("\n"));
      } catch (e) {
        return;
      }
      if (ev.id !== null && ev.id !== "") {
        const id = Number(ev.id);
        if (lastId !== null && id <= lastId) return; // already seen
        lastId = id;
      }
      try {
        opts.onEvent(ev.name, data, ev.id === null ? null : Number(ev.id));
      } catch (e) {
        console.error(e);
      }
    }

    connect();
    return {
      close() {
        closed = true;
        if (controller) controller.abort();
      },
      lastId: () => lastId,
    };
  };

  function sleep(ms) {
    return new Promise((r) => setTimeout(r, ms));
  }
  HQ.sleep = sleep;

  /// Runs fn at most once per `ms`, trailing: bursts of events cost one refresh.
  HQ.coalesce = function (fn, ms) {
    let timer = null;
    let running = false;
    let again = false;
    return function () {
      if (timer) return;
      timer = setTimeout(async () => {
        timer = null;
        if (running) {
          again = true;
          return;
        }
        running = true;
        try {
          await fn();
        } finally {
          running = false;
          if (again) {
            again = false;
            timer = setTimeout(() => {
              timer = null;
              fn();
            }, ms);
          }
        }
      }, ms);
    };
  };

  // ---- time -------------------------------------------------------------
  // The hall's clock: every API answer carries X-Hall-Time (RFC 3339 with the
  // hall's UTC offset). Pages show the hall's time, not the screen's own
  // clock or time zone.
  let hallSkewMs = 0; // server instant − this browser's instant
  let hallOffsetMin = null; // the hall's UTC offset, minutes
  const hallTimeListeners = [];
  /// Runs fn when the hall's time is first learned (clocks redraw at once).
  HQ.onHallTime = function (fn) {
    hallTimeListeners.push(fn);
  };
  HQ.noteHallTime = function (rfc3339) {
    if (!rfc3339) return;
    const instant = Date.parse(rfc3339);
    const m = /([+-])(\d\d):(\d\d)$/.exec(rfc3339);
    if (isNaN(instant)) return;
    const first = hallOffsetMin === null;
    hallSkewMs = instant - Date.now();
    hallOffsetMin = m ? (m[1] === "-" ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3])) : 0;
    if (first) hallTimeListeners.forEach((fn) => fn());
  };
  /// Now as a Date whose getUTC* fields are the hall's local wall clock
  /// (the browser's local clock until the first API answer).
  HQ.hallNow = function () {
    if (hallOffsetMin === null) {
      const d = new Date();
      return new Date(d.getTime() - d.getTimezoneOffset() * 60000);
    }
    return new Date(Date.now() + hallSkewMs + hallOffsetMin * 60000);
  };
  const WEEKDAYS_ZH = ["星期日", "星期一", "星期二", "星期三", "星期四", "星期五", "星期六"];
  const WEEKDAYS_EN = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
  const pad = (n) => String(n).padStart(2, "0");
  /// HH:MM of an RFC 3339 time as the hall wrote it (its own zone).
  HQ.hhmm = function (rfc3339) {
    const m = /T(\d\d):(\d\d)/.exec(rfc3339 || "");
    return m ? m[1] + ":" + m[2] : "";
  };
  /// Keeps `dateEl` and `timeEl` showing the date and time (local clock).
  HQ.clock = function (dateEl, timeEl) {
    function tick() {
      const d = HQ.hallNow();
      if (timeEl) timeEl.textContent = pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes()) + ":" + pad(d.getUTCSeconds());
      if (dateEl)
        dateEl.textContent =
          HQ.lang === "en"
            ? d.getUTCFullYear() + "-" + pad(d.getUTCMonth() + 1) + "-" + pad(d.getUTCDate()) + " " + WEEKDAYS_EN[d.getUTCDay()]
            : d.getUTCFullYear() + "年" + (d.getUTCMonth() + 1) + "月" + d.getUTCDate() + "日 " + WEEKDAYS_ZH[d.getUTCDay()];
    }
    tick();
    setInterval(tick, 1000);
    HQ.onLang(tick);
    HQ.onHallTime(tick);
  };

  /// Minutes as "12分钟" / "12 min", or a range "8–15分钟".
  HQ.minutes = function (m, hi) {
    const n = hi !== undefined && hi !== m ? m + "–" + hi : String(m);
    return HQ.lang === "en" ? n + " min" : n + "分钟";
  };

  /// Builds an element: HQ.el("div", {class: "x", text: "…"}, children…).
  HQ.el = function (tag, attrs, ...children) {
    const e = document.createElement(tag);
    if (attrs)
      for (const [k, v] of Object.entries(attrs)) {
        if (v === undefined || v === null || v === false) continue;
        if (k === "text") e.textContent = v;
        else if (k === "class") e.className = v;
        else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
        else e.setAttribute(k, v === true ? "" : v);
      }
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return e;
  };
})();
