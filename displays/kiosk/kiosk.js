// The ticket machine (自助取号机): services by department, a touch issues a
// ticket, the ticket screen prints itself (80 mm) and goes back after 20 s.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const el = (...a) => HQ.el(...a);
  const RETURN_SECONDS = 20;
  const REFUSAL_SECONDS = 15;
  const autoPrint = HQ.params.get("print") !== "0";

  const S = {
    data: null, // GET /api/v1/services
    busy: false,
    ticket: null,
    countdown: 0,
    timer: null,
    refusalTimer: null,
    refusal: null,
    last: null, // {service, key, at}: a retry after a lost answer reuses its key
    stream: null,
    hall: JSON.parse(localStorage.getItem("hallq.hallName") || "null"),
  };

  // ---- refusals in plain words: [title, advice] per code, zh and en ----------
  const ONLINE_ZH = "也可登录网上办事大厅或政务服务App办理。";
  const ONLINE_EN = "You can also use the online service hall or the government services app.";
  const REFUSALS = {
    daily_cap_reached: [
      ["今日号已取完", "请明天再来取号。" + ONLINE_ZH],
      ["Today's tickets are all taken", "Please come back tomorrow. " + ONLINE_EN],
      ["今日已取完", "Sold out today"],
    ],
    series_exhausted: [
      ["今日号已取完", "请明天再来取号。" + ONLINE_ZH],
      ["Today's tickets are all taken", "Please come back tomorrow. " + ONLINE_EN],
      ["今日已取完", "Sold out today"],
    ],
    slot_cap_reached: [
      ["本时段号已取完", "请在下一个放号时段再来取号。" + ONLINE_ZH],
      ["All tickets for this time slot are taken", "Please come back in the next time slot. " + ONLINE_EN],
      ["本时段已取完", "Slot full"],
    ],
    person_cap_reached: [
      ["您今天已取过该业务的号", "每人每天取号数量有限，请持已取的号等候叫号；如有疑问请到咨询导办台。"],
      ["You already have a ticket for this today", "The number of tickets per person is limited: wait with the ticket you have, or ask at the information desk."],
      null,
    ],
    outside_issue_hours: [
      ["该业务当前不在取号时段", "请在该业务的放号时段内再来取号，详情请到咨询导办台咨询。"],
      ["This service is not issuing tickets now", "Please come back during its ticket hours, or ask at the information desk."],
      ["暂不取号", "Not now"],
    ],
    hall_closed: [
      ["当前不在办公时间", "请在办公时间内前来取号（办公时间以大厅公示为准）。" + ONLINE_ZH],
      ["The hall is closed now", "Please come back during office hours (posted at the entrance). " + ONLINE_EN],
      ["非办公时间", "Closed"],
    ],
    issue_cutoff: [
      ["本时段已停止取号", "办公时段结束前停止取号，请下一时段或明天再来。" + ONLINE_ZH],
      ["Ticket issuing has stopped for now", "Tickets stop shortly before closing: please come back in the next session or tomorrow. " + ONLINE_EN],
      ["已停止取号", "Stopped"],
    ],
    no_business_day: [
      ["大厅尚未开始办公", "请稍候再来取号，或到咨询导办台咨询。"],
      ["The hall has not opened yet", "Please try again shortly, or ask at the information desk."],
      ["未开始办公", "Not open yet"],
    ],
    session_not_open: [
      ["当前不在办公时间", "请在办公时间内前来取号（办公时间以大厅公示为准）。"],
      ["The hall is closed now", "Please come back during office hours (posted at the entrance)."],
      ["非办公时间", "Closed"],
    ],
    hall_full: [
      ["当前等候人数已满", "请稍后再来取号，或到咨询导办台咨询。"],
      ["The hall is full right now", "Please try again a little later, or ask at the information desk."],
      ["暂停取号", "Full"],
    ],
    unknown_service: [
      ["该业务暂不能取号", "请到咨询导办台咨询。"],
      ["This service cannot be chosen now", "Please ask at the information desk."],
      ["暂不取号", "Unavailable"],
    ],
    rate_limited: [
      ["取号人数较多，请稍候再试", "请等几秒钟后再触摸您要办理的业务。"],
      ["The machine is busy", "Please wait a few seconds and touch your service again."],
      null,
    ],
    network: [
      ["网络连接中断，未能取号", "请稍后再试，或到咨询导办台人工取号。"],
      ["Network problem: no ticket was issued", "Please try again, or ask at the information desk for a ticket."],
      null,
    ],
    unauthorized: [
      ["本机暂不能取号", "请联系工作人员（取号机未授权）。"],
      ["This machine cannot issue tickets", "Please tell the staff (the machine is not authorised)."],
      null,
    ],
  };
  REFUSALS.forbidden = REFUSALS.unauthorized;

  // ---- the service list --------------------------------------------------------
  async function load() {
    if (!HQ.machineKey()) {
      setup("本机未配置取号密钥：请在地址后加上 #key=取号机密钥", "This machine has no kiosk key: add #key=KIOSK-KEY to the address");
      return;
    }
    try {
      S.data = await HQ.api("GET", "/api/v1/services");
      if (S.data && S.data.hall_name) {
        S.hall = { name: S.data.hall_name, name_en: S.data.hall_name_en || S.data.hall_name };
        localStorage.setItem("hallq.hallName", JSON.stringify(S.hall));
      }
      setup(null);
      renderServices();
    } catch (e) {
      if (e.status === 401 || e.status === 403)
        setup("本机暂不能取号，请联系工作人员（" + e.message_zh + "）", "This machine cannot issue tickets; please tell the staff (" + e.message_en + ")");
      else if (!S.data) setup("暂时无法取号：" + e.message_zh, "Tickets are not available right now: " + e.message_en);
    }
  }
  const reload = HQ.coalesce(load, 800);

  let setupText = null;
  function setup(zh, en) {
    setupText = zh ? [zh, en] : null;
    $("setup").classList.toggle("hidden", !setupText);
    if (setupText) $("setup").textContent = HQ.t(setupText[0], setupText[1]);
  }

  function zoneText(ids, joiner) {
    const zones = (S.data && S.data.zones) || [];
    return (ids || [])
      .map((id) => zones.find((z) => z.id === id))
      .filter(Boolean)
      .map((z) => HQ.t(z.name, z.name_en))
      .join(joiner || " / ");
  }

  function renderServices() {
    const box = $("services");
    if (!S.data) return;
    const zones = S.data.zones || [];
    const zoneRank = (id) => {
      const i = zones.findIndex((z) => z.id === id);
      return i < 0 ? 999 : i;
    };
    // Departments in the order of the zone their first service is in, then as configured.
    const depts = (S.data.departments || []).map((d, i) => ({
      d,
      i,
      services: S.data.services.filter((s) => s.department === d.id),
    }));
    const orphans = S.data.services.filter((s) => !depts.some((x) => x.d.id === s.department));
    if (orphans.length) depts.push({ d: { id: "", name: "其他业务", name_en: "Other services" }, i: 999, services: orphans });
    const rank = (x) => (x.services.length ? zoneRank((x.services[0].zones || [])[0]) : 999);
    const groups = depts.filter((x) => x.services.length).sort((a, b) => rank(a) - rank(b) || a.i - b.i);

    // Nothing issuing at all (closed hall…): say so once, in plain words, above the list.
    const all = S.data.services;
    const none = all.length && all.every((s) => !s.issuing);
    const first = none && all[0].refusal;
    const m = first && REFUSALS[first.code];
    const banner = $("closed-banner");
    banner.classList.toggle("hidden", !none);
    $("prompt").classList.toggle("hidden", !!none);
    if (none) {
      const [title, advice] = m ? (HQ.lang === "en" ? m[1] : m[0]) : [HQ.t("暂停取号", "No tickets are issued now"), first ? HQ.t(first.message, first.message_en) : ""];
      banner.replaceChildren(el("strong", null, title), " ", el("span", null, advice));
    }
    const cols = el("div", { class: "cols" });
    groups.forEach((g) => {
      // Where to wait: once for the department when its services share it, else on each service.
      const key = (s) => (s.zones || []).join(",");
      const shared = g.services.every((s) => key(s) === key(g.services[0]));
      const card = el(
        "section",
        { class: "dept", "data-department": g.d.id },
        el("h2", { class: "nowrap" }, HQ.t(g.d.name, g.d.name_en)),
        shared && zoneText(g.services[0].zones) ? el("div", { class: "d-zone nowrap" }, zoneText(g.services[0].zones)) : null
      );
      g.services.forEach((s) => card.append(serviceTile(s, !shared)));
      cols.append(card);
    });
    const scroll = box.scrollTop;
    box.replaceChildren(cols);
    box.scrollTop = scroll;
  }

  function serviceTile(s, withZone) {
    const off = !s.issuing;
    let stats;
    if (off) {
      const r = s.refusal || {};
      const m = REFUSALS[r.code];
      stats = el("span", null, m && m[2] ? HQ.t(m[2][0], m[2][1]) : HQ.t("暂停取号", "Not issuing"));
    } else {
      const est = s.estimate;
      const wait = s.waiting ? HQ.t("等候" + s.waiting + "人", s.waiting + " waiting") : HQ.t("无人等候", "0 waiting");
      stats = [el("span", null, wait), est ? el("span", null, HQ.t("约", "~") + HQ.minutes(est.low, est.high)) : null];
    }
    const b = el(
      "button",
      { type: "button", class: "service" + (off ? " off" : ""), "data-service": s.id, "data-prefix": s.prefix },
      el("span", { class: "s-name" }, HQ.t(s.name, s.name_en)),
      el("span", { class: "s-stats" }, stats),
      withZone ? el("span", { class: "s-zone nowrap" }, zoneText(s.zones)) : null
    );
    b.addEventListener("click", () => issue(s));
    return b;
  }

  // ---- issuing ----------------------------------------------------------------------
  async function issue(s) {
    if (S.busy) return;
    S.busy = true;
    $("busy").classList.remove("hidden");
    // A second touch right after an unanswered attempt is a retry, not a second ticket.
    const now = Date.now();
    const key = S.last && S.last.service === s.id && now - S.last.at < 15000 ? S.last.key : HQ.newKey();
    S.last = { service: s.id, key, at: now };
    try {
      const r = await HQ.api("POST", "/api/v1/tickets", { service: s.id }, { idempotencyKey: key });
      S.last = null;
      showTicket(r.ticket, s);
    } catch (e) {
      if (!(e instanceof HQ.ApiError) || e.status !== 0) S.last = null; // refused: a new touch is a new request
      showRefusal(e, s);
    } finally {
      S.busy = false;
      $("busy").classList.add("hidden");
      reload();
    }
  }

  function showRefusal(e, s) {
    const code = e instanceof HQ.ApiError ? (e.status === 0 ? "network" : e.status === 401 ? "unauthorized" : e.code) : "network";
    S.refusal = { code, zh: e.message_zh || String(e), en: e.message_en || String(e), service: s };
    renderRefusal();
    $("refusal").classList.remove("hidden");
    clearTimeout(S.refusalTimer);
    S.refusalTimer = setTimeout(closeRefusal, REFUSAL_SECONDS * 1000);
  }
  function renderRefusal() {
    const r = S.refusal;
    if (!r) return;
    const m = REFUSALS[r.code];
    $("refusal-service").textContent = r.service ? HQ.t(r.service.name, r.service.name_en) : "";
    const server = HQ.t(r.zh, r.en);
    if (m) {
      const [title, advice] = HQ.lang === "en" ? m[1] : m[0];
      $("refusal-title").textContent = title;
      $("refusal-advice").textContent = advice;
      $("refusal-server").textContent = server && server !== title ? server : "";
    } else {
      $("refusal-title").textContent = HQ.t("暂不能取号", "No ticket can be issued");
      $("refusal-advice").textContent = server;
      $("refusal-server").textContent = "";
    }
  }
  function closeRefusal() {
    clearTimeout(S.refusalTimer);
    S.refusal = null;
    $("refusal").classList.add("hidden");
  }

  // ---- the ticket screen ----------------------------------------------------------------
  function qrSource(t) {
    if (!t.status_url) return null;
    try {
      const u = new URL(t.status_url, location.origin);
      const m = /\/t\/(\d+)/.exec(u.pathname);
      const k = u.searchParams.get("k");
      if (!m || !k) return null;
      return "/api/v1/public/tickets/" + m[1] + "/qr.svg?k=" + encodeURIComponent(k);
    } catch (e) {
      return null;
    }
  }

  function showTicket(t, s) {
    S.ticket = { t, s };
    renderTicket();
    const qr = $("ticket-qr");
    const src = qrSource(t);
    qr.classList.toggle("hidden", !src);
    $("ticket-qr-note").classList.toggle("hidden", !src);
    let printed = false;
    const printOnce = () => {
      if (printed || !autoPrint || !S.ticket || S.ticket.t !== t) return;
      printed = true;
      setTimeout(printTicket, 50);
    };
    if (src) {
      qr.onload = printOnce;
      qr.onerror = () => {
        qr.classList.add("hidden");
        $("ticket-qr-note").classList.add("hidden");
        printOnce();
      };
      qr.src = src;
      setTimeout(printOnce, 2500); // never wait for the code longer than this
    } else {
      qr.removeAttribute("src");
      setTimeout(printOnce, 300);
    }
    if (src) learnHall(src);
    $("screen-services").classList.add("hidden");
    $("screen-ticket").classList.remove("hidden");
    startCountdown();
  }

  function renderTicket() {
    if (!S.ticket) return;
    const { t, s } = S.ticket;
    $("ticket-hall").textContent = S.hall ? HQ.t(S.hall.name, S.hall.name_en) : "";
    $("ticket-number").textContent = t.number;
    $("ticket-service").textContent = HQ.t(t.service_name, t.service_name_en);
    const ahead = t.ahead === null || t.ahead === undefined ? null : t.ahead;
    $("ticket-ahead").textContent =
      ahead === null ? "" : ahead === 0 ? HQ.t("前面没有人，请留意叫号", "Nobody ahead of you: listen for your number") : HQ.t("前面还有 " + ahead + " 人", ahead + (ahead === 1 ? " person" : " people") + " ahead of you");
    const e = t.wait_estimate;
    $("ticket-estimate").textContent = e ? HQ.t("预计等候 ", "Estimated wait ") + HQ.minutes(e.low, e.high) : "";
    const zones = zoneText((s && s.zones) || (t.zone ? [t.zone] : []), HQ.t(" 或 ", " or "));
    $("ticket-zone").textContent = zones ? HQ.t("请到 " + zones + " 等候", "Please wait in: " + zones) : "";
    const d = /^(\d{4}-\d\d-\d\d)T(\d\d:\d\d)/.exec(t.issued_at || "");
    $("ticket-time").textContent = d ? HQ.t("取号时间 ", "Issued ") + d[1] + " " + d[2] : "";
  }

  /// The hall's name is on the public ticket view (the kiosk cannot read the hall).
  async function learnHall(qrSrc) {
    if (S.hall) return;
    const m = /tickets\/(\d+)\/qr\.svg\?k=(.*)$/.exec(qrSrc);
    if (!m) return;
    try {
      const v = await HQ.api("GET", "/api/v1/public/tickets/" + m[1] + "?k=" + m[2]);
      if (v && v.hall_name) {
        S.hall = { name: v.hall_name, name_en: v.hall_name_en || v.hall_name };
        localStorage.setItem("hallq.hallName", JSON.stringify(S.hall));
        renderHall();
        renderTicket();
      }
    } catch (e) {
      // the name is a nicety
    }
  }
  function renderHall() {
    $("hall-name").textContent = S.hall ? HQ.t(S.hall.name, S.hall.name_en) + " · " : "";
  }

  function startCountdown() {
    clearInterval(S.timer);
    S.countdown = RETURN_SECONDS;
    const tick = () => {
      $("countdown").textContent = "(" + S.countdown + ")";
      if (S.countdown-- <= 0) backToServices();
    };
    tick();
    S.timer = setInterval(tick, 1000);
  }

  function backToServices() {
    clearInterval(S.timer);
    document.documentElement.classList.remove("printing");
    S.ticket = null;
    $("screen-ticket").classList.add("hidden");
    $("screen-services").classList.remove("hidden");
    $("ticket-qr").removeAttribute("src");
    reload();
  }

  // ---- live list ------------------------------------------------------------------------
  function startStream() {
    if (!HQ.machineKey()) return;
    if (S.stream) S.stream.close();
    S.stream = HQ.stream("/api/v1/events", {
      onState: (up) => {
        $("link").classList.toggle("up", up);
        if (up) reload();
      },
      onAuth: () => {
        // This key may not follow the stream: refresh after each ticket and
        // when the screen wakes instead (never on a timer).
        S.stream.close();
        S.stream = null;
        $("link").classList.remove("up");
      },
      onEvent: (name) => {
        if (name === "device") return;
        reload();
      },
    });
  }

  /// Before any print: the paper layout (html.printing), and a page exactly as long as the ticket.
  function paper() {
    document.documentElement.classList.add("printing");
    const px = $("ticket").getBoundingClientRect().height;
    const mm = Math.ceil(px / 3.7795) + 3 + 5 + 4; // content, margins, a little slack before the cut
    let st = $("page-size");
    if (!st) {
      st = el("style", { id: "page-size" });
      document.head.append(st);
    }
    st.textContent = "@page { size: 80mm " + Math.max(mm, 60) + "mm; }";
  }

  /// window.print() returns once the page has been handed to the printer;
  /// afterprint does not always fire (headless, some drivers), so the paper layout ends here too.
  function printTicket() {
    try {
      window.print();
    } finally {
      document.documentElement.classList.remove("printing");
    }
  }

  function wire() {
    window.addEventListener("beforeprint", paper);
    window.addEventListener("afterprint", () => document.documentElement.classList.remove("printing"));
    $("done").addEventListener("click", (e) => {
      e.stopPropagation();
      backToServices();
    });
    $("print").addEventListener("click", (e) => {
      e.stopPropagation();
      startCountdown();
      printTicket();
    });
    $("screen-ticket").addEventListener("click", (e) => {
      if (e.target.closest(".ticket-actions")) return;
      backToServices();
    });
    $("refusal").addEventListener("click", closeRefusal);
    document.addEventListener("contextmenu", (e) => e.preventDefault());
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState !== "visible") return;
      reload();
      if (!S.stream) startStream();
    });
    HQ.onLang(() => {
      renderServices();
      renderTicket();
      renderRefusal();
      renderHall();
      if (setupText) setup(setupText[0], setupText[1]);
    });
  }

  function init() {
    HQ.applyLang();
    HQ.wireLangSwitch();
    HQ.clock($("date"), $("time"));
    renderHall();
    wire();
    load();
    startStream();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
