// A citizen's phone (the QR code on the ticket): the ticket's place in line,
// live. Small on purpose: no library, one request, then one event stream.
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const q = new URLSearchParams(location.search);
  const m = /^\/t\/(\d+)\/?$/.exec(location.pathname);
  const id = m && m[1];
  const k = q.get("k") || "";
  let lang = q.get("lang") || localStorage.getItem("hallq.lang") || "zh";
  if (lang !== "en") lang = "zh";
  let view = null, error = null, es = null, up = false, retry = 2000;
  const t = (zh, en) => (lang === "en" ? en : zh);
  const nm = (zh, en) => (lang === "en" && en ? en : zh || "");
  const qs = "?k=" + encodeURIComponent(k);

  const STATUS = {
    waiting: ["等候中", "Waiting"],
    serving: ["办理中", "Being served"],
    parked: ["暂时挂起，请留意叫号", "On hold: listen for your number"],
    finished: ["已办结，感谢您的耐心等候", "Done. Thank you for waiting"],
    no_show: ["已过号，请重新取号", "Missed: please take a new ticket"],
    cancelled: ["已取消", "Cancelled"],
    expired: ["已过期（仅当天有效）", "Expired (valid on its day only)"],
  };

  function render() {
    document.documentElement.lang = lang === "en" ? "en" : "zh-CN";
    document.querySelectorAll("[data-zh]").forEach((e) => (e.textContent = t(e.dataset.zh, e.dataset.en)));
    document.querySelector(".lang-switch").textContent = lang === "en" ? "中文" : "English";
    $("link").classList.toggle("up", up);
    $("error").classList.toggle("hidden", !error);
    if (error) $("error").textContent = t(error[0], error[1]);
    $("card").classList.toggle("hidden", !view);
    $("hall").textContent = t("排队进度", "Your place in line");
    if (!view) return;
    const v = view;
    if (v.hall_name) $("hall").textContent = nm(v.hall_name, v.hall_name_en);
    $("number").textContent = v.number;
    $("service").textContent = nm(v.service_name, v.service_name_en);
    const called = v.status === "called" && v.window;
    const s = STATUS[v.status];
    let st = s ? t(s[0], s[1]) : v.status;
    if (called) st = t("轮到您了，请到" + v.window + "号窗口", "Your turn: please go to window " + v.window);
    else if (v.status === "serving" && v.window) st = t(v.window + "号窗口办理中", "Being served at window " + v.window);
    $("status").textContent = st;
    $("status").className = "status s-" + v.status;
    $("called").classList.toggle("hidden", !called);
    if (called) {
      const b = document.createElement("b");
      b.textContent = t(v.window + "号窗口", "Window " + v.window);
      const d = document.createElement("span");
      const name = nm(v.window_name, v.window_name_en);
      d.textContent = [v.floor ? t(v.floor + "楼", "Floor " + v.floor) : "", name].filter(Boolean).join(" · ");
      $("called").replaceChildren(b, d);
    }
    const waiting = v.status === "waiting" || v.status === "parked";
    document.querySelector(".facts").classList.toggle("hidden", !waiting);
    const ahead = waiting && v.ahead !== null && v.ahead !== undefined;
    $("ahead").textContent = ahead ? t(v.ahead + " 人", String(v.ahead)) : "—";
    const e = waiting && v.wait_estimate;
    $("estimate").textContent = e ? (e.low === e.high ? e.low : e.low + "–" + e.high) + t(" 分钟", " min") : "—";
    const zone = nm(v.zone_name, v.zone_name_en);
    let where = "";
    if (waiting && zone) where = t("请在 " + zone + " 等候", "Please wait in " + zone);
    else if (called && zone) where = zone;
    $("where").textContent = where;
    $("where").classList.toggle("hidden", !where);
    const at = /T(\d\d:\d\d)/.exec(v.issued_at || "");
    $("issued").textContent = at ? t("取号时间 ", "Issued at ") + at[1] : "";
    document.title = v.number + " · " + st;
    $("live").textContent = up
      ? t("本页自动更新，无需刷新", "This page updates by itself")
      : t("正在连接…", "Connecting…");
  }

  function fail(status) {
    const gone = status === 404 || status === 400 || status === 403;
    if (gone) view = null; // else keep showing the last known state
    error =
      gone
        ? ["链接无效或号票不存在。请扫描号票上的二维码，或到咨询台咨询。", "This link is not valid or the ticket does not exist. Scan the code on your ticket, or ask at the information desk."]
        : ["暂时无法连接服务器，稍后自动重试。", "Cannot reach the hall right now; retrying shortly."];
    render();
    return gone;
  }

  async function load() {
    if (!id || !k) return fail(404);
    try {
      const r = await fetch("/api/v1/public/tickets/" + id + qs, { cache: "no-store" });
      if (!r.ok) return fail(r.status);
      show(await r.json());
      return false;
    } catch (e) {
      return fail(0);
    }
  }

  function show(v) {
    const was = view && view.status;
    view = v;
    error = null;
    if (v.status === "called" && was && was !== "called" && navigator.vibrate) navigator.vibrate([300, 150, 300]);
    render();
  }

  function connect() {
    if (es) es.close();
    es = new EventSource("/api/v1/public/tickets/" + id + "/events" + qs);
    es.onopen = () => {
      up = true;
      retry = 2000;
      render();
    };
    es.addEventListener("ticket", (e) => {
      try {
        show(JSON.parse(e.data));
      } catch (x) {}
    });
    es.onerror = () => {
      up = false;
      render();
      if (es.readyState !== EventSource.CLOSED) return; // the browser retries by itself
      es = null;
      setTimeout(restart, retry);
      retry = Math.min(retry * 2, 60000);
    };
  }

  async function restart() {
    if (es || document.hidden) return;
    const gone = await load();
    if (!gone || view) connect();
  }

  document.querySelector(".lang-switch").addEventListener("click", () => {
    lang = lang === "en" ? "zh" : "en";
    localStorage.setItem("hallq.lang", lang);
    render();
  });
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden && !es && view) restart();
  });

  render();
  load().then((gone) => {
    if (!gone) connect();
  });
})();
