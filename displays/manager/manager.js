// The manager dashboard: the hall live (plan, waits, alerts, devices), today's
// figures as charts, and window actions (open/close, services). Fed by the
// event stream; views are re-read (coalesced) when events arrive, never on a
// timer.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const el = HQ.el;

  const STATES = {
    idle: ["空闲", "Idle"],
    calling: ["呼叫中", "Calling"],
    serving: ["办理中", "Serving"],
    paused: ["暂停", "Paused"],
    closed: ["已关闭", "Closed"],
    unstaffed: ["未签到", "Unstaffed"],
  };
  const PAUSE_REASONS = {
    lunch: ["午休", "lunch"],
    meeting: ["开会", "meeting"],
    out_of_supplies: ["缺少耗材", "out of supplies"],
    break: ["休息", "break"],
    other: ["其他", "other"],
  };
  const KINDS = {
    comprehensive: ["综合受理", "Comprehensive"],
    department: ["部门窗口", "Department"],
    fee: ["缴费", "Fees"],
    pickup: ["出件", "Pickup"],
    agency: ["帮办代办", "Assistance"],
    consultation: ["咨询", "Information"],
    complaint: ["投诉", "Complaints"],
    fallback: ["办不成事", "Unresolved matters"],
    leader: ["领导值班", "Duty leader"],
  };
  const T = (pair) => (pair ? HQ.t(pair[0], pair[1]) : "");

  let view = null; // the HallView
  let viewAt = 0; // Date.now() when it was read
  let today = null; // GET /api/v1/hall/today, or null
  let todayMissing = false;
  let stream = null;
  let panelWindow = null; // window number whose panel is open
  let panelDetail = null; // GET /api/v1/windows/{n}
  let panelDirty = false; // services edited but not saved
  let charts = null;

  // ---- helpers ------------------------------------------------------------
  const serviceById = () => new Map(((view && view.services) || []).map((s) => [s.id, s]));
  /// Minutes elapsed since the view was read (to age its minute counts between events).
  const ageMinutes = () => Math.max(0, Math.floor((Date.now() - viewAt) / 60000));
  function floorName(f) {
    if (HQ.lang === "en") return f > 0 ? "Floor " + f : "Basement " + (1 - f);
    return f > 0 ? f + "楼" : "地下" + (1 - f) + "层";
  }
  function zoneList() {
    if (view.zones && view.zones.length) return view.zones;
    const m = new Map();
    for (const w of view.windows)
      if (!m.has(w.zone))
        m.set(w.zone, { id: w.zone, name: w.zone_name || w.zone, name_en: w.zone_name_en || w.zone, floor: w.floor });
    return [...m.values()];
  }
  function toast(text, ok) {
    const t = $("toast");
    t.textContent = text;
    t.className = "toast " + (ok ? "ok" : "error");
    clearTimeout(toast.timer);
    toast.timer = setTimeout(() => t.classList.add("hidden"), 5000);
  }
  function showMsg(box, text, kind) {
    if (!text) {
      box.classList.add("hidden");
      box.textContent = "";
      return;
    }
    box.className = "msg " + (kind || "error");
    box.textContent = text;
  }

  // ---- sign-in --------------------------------------------------------------
  let pendingPassword = null; // the old password while a change is required

  function showLogin(message) {
    stopLive();
    $("dash").classList.add("hidden");
    $("login").classList.remove("hidden");
    $("login-form").classList.remove("hidden");
    $("change-form").classList.add("hidden");
    $("who").classList.add("hidden");
    $("sign-out").classList.add("hidden");
    $("session-badge").classList.add("hidden");
    showMsg($("login-msg"), message || "");
    setTimeout(() => ($("account").value ? $("password") : $("account")).focus(), 0);
  }

  async function signIn(ev) {
    ev.preventDefault();
    const account = $("account").value.trim();
    const password = $("password").value;
    if (!account || !password) {
      showMsg($("login-msg"), HQ.t("请输入账号和密码", "Enter your account and password"));
      return;
    }
    $("sign-in").disabled = true;
    showMsg($("login-msg"), "");
    try {
      HQ.setToken(null);
      const r = await HQ.api("POST", "/api/v1/sessions", { account, password });
      HQ.setToken(r.token);
      sessionStorage.setItem("hallq.manager.account", account);
      sessionStorage.setItem("hallq.manager.role", r.role || "");
      $("password").value = "";
      if (r.must_change_password) {
        pendingPassword = password;
        $("login-form").classList.add("hidden");
        $("change-form").classList.remove("hidden");
        showMsg(
          $("change-msg"),
          HQ.t(
            "该账号必须先修改密码才能使用管理驾驶舱。请设置新密码。",
            "This account must change its password before using the dashboard. Set a new password."
          ),
          "warn"
        );
        $("new-password").focus();
        return;
      }
      await enter();
    } catch (e) {
      showMsg($("login-msg"), e instanceof HQ.ApiError ? e.text() : String(e));
    } finally {
      $("sign-in").disabled = false;
    }
  }

  async function changePassword(ev) {
    ev.preventDefault();
    const a = $("new-password").value;
    const b = $("new-password2").value;
    if (a !== b) {
      showMsg($("change-msg"), HQ.t("两次输入的新密码不一致", "The two new passwords differ"));
      return;
    }
    $("change-password").disabled = true;
    try {
      await HQ.api("POST", "/api/v1/sessions/password", { old_password: pendingPassword, new_password: a });
      pendingPassword = null;
      $("new-password").value = $("new-password2").value = "";
      toast(HQ.t("密码已修改", "Password changed"), true);
      await enter();
    } catch (e) {
      showMsg($("change-msg"), e instanceof HQ.ApiError ? e.text() : String(e));
    } finally {
      $("change-password").disabled = false;
    }
  }

  async function signOut() {
    try {
      await HQ.api("DELETE", "/api/v1/sessions");
    } catch (e) {
      // already gone: fine
    }
    HQ.setToken(null);
    view = null;
    closePanel();
    showLogin(HQ.t("已退出登录", "Signed out"));
    $("login-msg").className = "msg ok";
  }

  /// Shows the dashboard once the hall view loads with the token.
  async function enter() {
    try {
      await loadHall();
    } catch (e) {
      if (e instanceof HQ.ApiError && e.status === 403) {
        // Signed in, but not as someone who may see the hall: end that session.
        try {
          await HQ.api("DELETE", "/api/v1/sessions");
        } catch (e2) {
          // ignore
        }
        HQ.setToken(null);
        showLogin(HQ.t("管理驾驶舱需要管理人员账号（管理员、值班主任或窗口负责人）。", "The dashboard needs a manager account (manager, supervisor, admin or window head). ") + e.text());
      } else if (e instanceof HQ.ApiError && e.status === 401) {
        HQ.setToken(null);
        showLogin(e.text());
      } else {
        showLogin(e instanceof HQ.ApiError ? e.text() : String(e));
      }
      return;
    }
    $("login").classList.add("hidden");
    $("dash").classList.remove("hidden");
    const who = sessionStorage.getItem("hallq.manager.account");
    if (who) {
      $("who").textContent = who;
      $("who").classList.remove("hidden");
    }
    $("sign-out").classList.remove("hidden");
    startLive();
    loadToday();
  }

  // ---- data -------------------------------------------------------------------
  async function loadHall() {
    const v = await HQ.api("GET", "/api/v1/hall");
    view = v;
    viewAt = Date.now();
    renderAll();
    if (panelWindow !== null) loadPanelDetail();
  }
  const refreshHall = HQ.coalesce(async () => {
    try {
      await loadHall();
    } catch (e) {
      authFailure(e);
    }
  }, 500);

  async function loadToday() {
    try {
      today = await HQ.api("GET", "/api/v1/hall/today");
      todayMissing = false;
    } catch (e) {
      if (authFailure(e)) return;
      today = null;
      todayMissing = true;
    }
    renderKpis();
    renderCharts();
  }
  const refreshToday = HQ.coalesce(loadToday, 5000);

  function authFailure(e) {
    if (e instanceof HQ.ApiError && e.status === 401) {
      HQ.setToken(null);
      showLogin(HQ.t("登录已过期，请重新登录", "Your sign-in expired; sign in again"));
      return true;
    }
    return false;
  }

  function startLive() {
    stopLive();
    stream = HQ.stream("/api/v1/events", {
      after: view ? view.seq : null,
      onState: (up) => $("link").classList.toggle("up", up),
      onAuth: (status) => {
        if (status === 401) {
          HQ.setToken(null);
          showLogin(HQ.t("登录已过期，请重新登录", "Your sign-in expired; sign in again"));
        }
      },
      onEvent: (name, data) => {
        // An alert changes the alert list alone: nothing to re-read.
        if (name === "alert") return onAlert(data);
        refreshHall();
        if (name !== "device") refreshToday();
        // The statistics panel (stats.js) re-reads on the same stream.
        document.dispatchEvent(new CustomEvent("hallq:event", { detail: { name } }));
      },
    });
  }
  function stopLive() {
    if (stream) stream.close();
    stream = null;
    $("link").classList.remove("up");
  }

  // ---- rendering ----------------------------------------------------------------
  function renderAll() {
    if (!view) return;
    const name = HQ.t(view.name, view.name_en);
    $("hall-name").textContent = name;
    document.title = name + " · " + HQ.t("管理驾驶舱", "Manager dashboard");
    const badge = $("session-badge");
    badge.classList.toggle("hidden", !!view.session_open);
    badge.textContent = HQ.t("大厅未开放", "Hall closed");
    renderLegend();
    renderPlan();
    renderServices();
    renderAlerts();
    renderKpis();
    if (panelWindow !== null) renderPanel();
  }

  function renderLegend() {
    $("legend").replaceChildren(
      ...Object.keys(STATES).map((s) => el("span", { class: "lg state-" + s }, el("i"), T(STATES[s]))),
      el("span", { class: "lg idle-alert" }, el("i"), HQ.t("空闲但有人等候", "Idle while people wait"))
    );
  }

  function renderPlan() {
    const services = serviceById();
    const zones = zoneList();
    const floors = [...new Set(zones.map((z) => z.floor))].sort((a, b) => a - b);
    const plan = $("plan");
    const age = ageMinutes();
    const frag = document.createDocumentFragment();
    for (const f of floors) {
      const zoneEls = [];
      for (const z of zones.filter((z) => z.floor === f)) {
        const ws = view.windows.filter((w) => w.zone === z.id).sort((a, b) => a.number - b.number);
        if (!ws.length) continue;
        const n = ws.length;
        const rows = n <= 2 ? 1 : Math.max(2, Math.ceil(n / 8));
        const cols = Math.ceil(n / rows);
        const staffed = ws.filter((w) => w.staff).length;
        const waiting = zoneWaiting(z.id);
        zoneEls.push(
          el(
            "div",
            { class: "zone", "data-zone": z.id, style: "flex:" + cols + " 1 " + (cols * 106 + 18) + "px" },
            el(
              "div",
              { class: "zone-head" },
              el("span", { class: "zone-name nowrap" }, HQ.t(z.name, z.name_en)),
              el(
                "span",
                { class: "zone-stats" },
                waiting === null ? null : el("span", { class: waiting ? "zw has" : "zw" }, HQ.t("等候 ", "waiting ") + waiting),
                el("span", { class: "muted" }, HQ.t("在岗 ", "staffed ") + staffed + "/" + n)
              )
            ),
            el(
              "div",
              { class: "tiles", style: "grid-template-columns:repeat(" + cols + ",minmax(100px,1fr))" },
              ws.map((w) => tile(w, services, age))
            )
          )
        );
      }
      frag.append(
        el("div", { class: "floor", "data-floor": f }, el("div", { class: "floor-label" }, floorName(f)), el("div", { class: "zones" }, zoneEls))
      );
    }
    plan.replaceChildren(frag);
  }

  /// People waiting for services offered in this zone (null when the view does not say).
  function zoneWaiting(zoneId) {
    if (!view.services.some((s) => Array.isArray(s.zones))) return null;
    return view.services.filter((s) => (s.zones || []).includes(zoneId)).reduce((a, s) => a + s.waiting, 0);
  }

  function tile(w, services, age) {
    const st = STATES[w.state] ? w.state : "unstaffed";
    const idleAlert = w.state === "idle" && w.idle_minutes !== null && w.idle_minutes !== undefined;
    const cur = w.current;
    const svc = cur ? services.get(cur.service) : null;
    let line2;
    if (cur) line2 = el("span", { class: "ticket mono", title: svc ? HQ.t(svc.name, svc.name_en) : cur.service }, cur.number);
    else if (w.state === "paused")
      line2 = el("span", { class: "why" }, w.paused_reason && PAUSE_REASONS[w.paused_reason] ? T(PAUSE_REASONS[w.paused_reason]) : "");
    else line2 = el("span", { class: "why" }, "");
    let foot = null;
    if (idleAlert) foot = el("div", { class: "idle-min" }, HQ.t("空闲", "idle ") + HQ.minutes(w.idle_minutes + age));
    else if (w.parked && w.parked.length)
      foot = el("div", { class: "parked muted nowrap" }, HQ.t("挂起 ", "parked ") + w.parked.join(" "));
    const staff = w.staff ? w.staff.name : "";
    return el(
      "button",
      {
        type: "button",
        class: "window state-" + st + (idleAlert ? " idle-alert" : "") + (panelWindow === w.number ? " selected" : ""),
        "data-window": w.number,
        "data-state": w.state,
        title: HQ.t(w.name, w.name_en) + (w.staff ? " · " + w.staff.name + " " + w.staff.job_number : ""),
        onclick: () => openPanel(w.number),
      },
      el("div", { class: "t-top" }, el("span", { class: "wnum" }, String(w.number)), el("span", { class: "st" }, T(STATES[st]))),
      el("div", { class: "wname nowrap" }, HQ.t(w.name, w.name_en)),
      el("div", { class: "t-mid" }, line2, el("span", { class: "t-staff nowrap" }, staff)),
      foot
    );
  }

  function renderServices() {
    const age = ageMinutes();
    const list = view.services.slice();
    const rank = (s) => (s.waiting > 0 ? 0 : 1);
    list.sort((a, b) => rank(a) - rank(b) || (rank(a) === 0 ? b.longest_wait_minutes - a.longest_wait_minutes : 0));
    const body = $("service-table").tBodies[0];
    body.replaceChildren(
      ...list.map((s) => {
        const longest = s.waiting > 0 ? s.longest_wait_minutes + age : 0;
        const target = s.target_wait_minutes;
        const over = s.waiting > 0 && target !== undefined && target !== null && longest > target;
        const nobody = s.waiting > 0 && s.staffed_windows === 0;
        const est = s.estimate || {};
        const dept = s.department_name ? HQ.t(s.department_name, s.department_name_en) : "";
        return el(
          "tr",
          {
            class: (over ? "over " : "") + (nobody ? "nobody " : "") + (s.waiting ? "" : "quiet"),
            "data-service": s.id,
            title: [HQ.t(s.name, s.name_en), dept, target ? HQ.t("目标等候 ", "target wait ") + HQ.minutes(target) : ""].filter(Boolean).join(" · "),
          },
          el("td", { class: "svc" }, el("div", { class: "svcwrap" }, el("span", { class: "prefix mono" }, s.prefix), el("span", { class: "nowrap sname" }, HQ.t(s.name, s.name_en)))),
          el("td", { class: "num waiting" }, String(s.waiting)),
          el(
            "td",
            { class: "num longest" },
            s.waiting ? String(longest) : "–",
            over ? el("span", { class: "target" }, " / " + target) : null
          ),
          el("td", { class: "num" }, est.low !== undefined ? (est.low === est.high ? String(est.low) : est.low + "–" + est.high) : est.minutes ?? "–"),
          el("td", { class: "num staffed" + (nobody ? " zero" : "") }, String(s.staffed_windows))
        );
      })
    );
  }

  function deviceAlerts() {
    const d = view.devices;
    if (!d || !d.list) return [];
    return d.list
      .filter((x) => x.link === "offline")
      .map((x) => ({
        kind: "device_offline",
        level: "alarm",
        message: "设备离线：" + deviceName(x, "zh"),
        message_en: "Device offline: " + deviceName(x, "en"),
        window: x.serves && x.serves.window,
      }));
  }
  function deviceName(x, lang) {
    const s = x.serves || {};
    const where = s.window ? (lang === "en" ? "window " + s.window : s.window + "号窗口") : s.zone || "";
    return (where ? where + " " : "") + (x.profile || x.protocol || "") + " (" + x.bus + (x.unit !== undefined && x.unit !== null ? "#" + x.unit : "") + ")";
  }
  /// The alerts in force by key: the view's, kept up between reads by the
  /// stream's `alert` messages ({state: raised|cleared, alert}).
  let alertsByKey = new Map();
  let alertsOfView = null; // the view alertsByKey was last taken from
  /// Cleared alerts still fading out, by key.
  const fadingAlerts = new Map();
  const alertKey = (a) => a.key || a.kind + ":" + (a.service || a.window || a.device || "");
  function onAlert(msg) {
    if (!msg || !msg.alert) return;
    const a = msg.alert;
    const key = alertKey(a);
    if (msg.state === "raised") {
      fadingAlerts.delete(key);
      alertsByKey.set(key, a);
    } else if (msg.state === "cleared" && alertsByKey.has(key)) {
      alertsByKey.delete(key);
      fadingAlerts.set(key, a);
      setTimeout(() => {
        if (fadingAlerts.delete(key) && view) renderAlerts();
      }, 900);
    }
    if (view) renderAlerts();
  }
  /// Minutes since the alert's condition began, by the hall's clock.
  function alertMinutes(a) {
    if (!a.since) return null;
    const wall = Date.parse(String(a.since).slice(0, 19) + "Z"); // the hall's wall clock, as UTC
    if (isNaN(wall)) return null;
    return Math.max(0, Math.floor((HQ.hallNow().getTime() - wall) / 60000));
  }
  /// The view's alerts (with the stream's changes since); before the daemon computed them, the same derived here.
  function alertList() {
    if (Array.isArray(view.alerts)) {
      if (alertsOfView !== view) {
        alertsOfView = view;
        alertsByKey = new Map(view.alerts.map((a) => [alertKey(a), a]));
        for (const k of alertsByKey.keys()) fadingAlerts.delete(k);
      }
      return [...alertsByKey.values()];
    }
    const out = [];
    const age = ageMinutes();
    for (const w of view.windows)
      if (w.state === "idle" && w.idle_minutes !== null && w.idle_minutes !== undefined && w.idle_minutes + age >= 5)
        out.push({
          kind: "idle_window",
          level: w.idle_minutes + age >= 15 ? "alarm" : "warn",
          message: w.number + "号窗口空闲" + (w.idle_minutes + age) + "分钟，但有群众在等候",
          message_en: "Window " + w.number + " idle for " + (w.idle_minutes + age) + " min while people wait",
          window: w.number,
        });
    return out.concat(deviceAlerts());
  }

  function renderAlerts() {
    const alerts = alertList();
    const order = { alarm: 0, warn: 1 };
    alerts.sort((a, b) => (order[a.level] ?? 2) - (order[b.level] ?? 2) || (a.since_ms || 0) - (b.since_ms || 0));
    const fading = [...fadingAlerts.values()];
    const ul = $("alerts");
    const item = (a, cleared) => {
      const m = alertMinutes(a);
      return el(
        "li",
        {
          class: "alert " + (a.level || "warn") + " kind-" + a.kind + (a.window ? " clickable" : ""),
          "data-kind": a.kind,
          "data-level": a.level,
          "data-key": alertKey(a),
          "data-state": cleared ? "cleared" : "raised",
          onclick: a.window ? () => openPanel(a.window) : null,
        },
        el("span", { class: "lvl" }, a.level === "alarm" ? HQ.t("严重", "ALARM") : HQ.t("注意", "WARN")),
        el("span", { class: "kind" }, kindName(a.kind)),
        el("span", { class: "text" }, HQ.t(a.message, a.message_en)),
        m === null ? null : el("span", { class: "since muted" }, HQ.t("已持续" + m + "分钟", "for " + m + " min"))
      );
    };
    if (!alerts.length && !fading.length) {
      ul.replaceChildren(el("li", { class: "alert none" }, HQ.t("当前没有告警", "No alerts")));
    } else {
      const gone = fading.map((a) => item(a, true));
      ul.replaceChildren(...alerts.map((a) => item(a, false)), ...gone);
      // A cleared alert fades out before it is removed (styles set from script: the CSP allows no inline style).
      for (const li of gone) {
        li.style.transition = "opacity 0.8s";
        void li.offsetWidth;
        li.style.opacity = "0";
      }
    }
    // device summary
    const d = view.devices;
    const box = $("devices");
    if (!d) {
      box.replaceChildren(el("span", { class: "muted" }, HQ.t("未配置设备", "No devices configured")));
      return;
    }
    box.replaceChildren(
      el("span", { class: "muted" }, HQ.t("设备", "Devices")),
      el("span", { class: "dv online", title: HQ.t("在线", "online") }, el("i"), HQ.t("在线 ", "online ") + d.online),
      el("span", { class: "dv offline" + (d.offline ? " has" : ""), title: HQ.t("离线", "offline") }, el("i"), HQ.t("离线 ", "offline ") + d.offline),
      el("span", { class: "dv unknown", title: HQ.t("未知", "unknown") }, el("i"), HQ.t("未知 ", "unknown ") + d.unknown)
    );
  }
  function kindName(k) {
    return (
      {
        long_wait: HQ.t("等候过长", "Long wait"),
        idle_window: HQ.t("窗口空闲", "Idle window"),
        long_pause: HQ.t("暂停过长", "Long pause"),
        early_lunch: HQ.t("提前午休", "Early lunch"),
        device_offline: HQ.t("设备离线", "Device offline"),
      }[k] || k
    );
  }

  function renderKpis() {
    if (!view) return;
    const waiting = view.services.reduce((a, s) => a + s.waiting, 0);
    const age = ageMinutes();
    const longest = view.services.reduce((a, s) => (s.waiting ? Math.max(a, s.longest_wait_minutes + age) : a), 0);
    const staffed = view.windows.filter((w) => w.staff).length;
    const open = view.windows.filter((w) => w.state !== "closed").length;
    $("kpi-issued").textContent = today ? today.issued : "–";
    $("kpi-served").textContent = today ? today.served : "–";
    $("kpi-noshow").textContent = today ? today.no_show : "–";
    $("kpi-waiting").textContent = today && today.waiting !== undefined ? today.waiting : waiting;
    $("kpi-longest").textContent = waiting ? HQ.minutes(longest) : "–";
    $("kpi-staffed").textContent = staffed + " / " + open;
  }

  // ---- charts ---------------------------------------------------------------------
  function chartRange(hours) {
    const nowHour = view ? Number((/T(\d\d)/.exec(view.now) || [0, 12])[1]) : 12;
    const active = hours.filter((h) => h.arrivals || h.called || h.mean_wait_minutes !== null).map((h) => h.hour);
    const lo = Math.min(8, ...active);
    const hi = Math.max(17, nowHour, ...active);
    return [lo, hi];
  }

  function renderCharts() {
    // Charts are drawn once the dashboard shows (a hidden canvas has no size).
    if (typeof Chart === "undefined" || $("dash").classList.contains("hidden")) return;
    const empty = !today || !today.hours;
    document.querySelectorAll(".chart-empty").forEach((e) => {
      e.classList.toggle("hidden", !empty);
      if (empty && todayMissing) e.textContent = HQ.t("今日统计暂不可用", "Today's figures are not available");
    });
    $("chart-day").textContent = today && today.business_day ? today.business_day : "";
    const hours = empty ? [] : today.hours;
    const byHour = new Map(hours.map((h) => [h.hour, h]));
    const [lo, hi] = empty ? [8, 17] : chartRange(hours);
    const labels = [];
    const arrivals = [];
    const called = [];
    const mean = [];
    const max = [];
    for (let h = lo; h <= hi; h++) {
      const r = byHour.get(h) || {};
      labels.push(String(h).padStart(2, "0") + ":00");
      arrivals.push(r.arrivals || 0);
      called.push(r.called || 0);
      mean.push(r.mean_wait_minutes ?? null);
      max.push(r.max_wait_minutes ?? null);
    }
    const css = getComputedStyle(document.body);
    const ink = css.getPropertyValue("--muted").trim() || "#5b6878";
    const grid = css.getPropertyValue("--line").trim() || "#d5dbe3";
    Chart.defaults.font.family = css.getPropertyValue("--font");
    Chart.defaults.color = ink;
    if (!charts) {
      const common = {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        interaction: { mode: "index", intersect: false },
        plugins: { legend: { position: "top", align: "end", labels: { boxWidth: 10, boxHeight: 10, usePointStyle: true, pointStyle: "rectRounded" } } },
        scales: {
          x: { grid: { display: false } },
          y: { beginAtZero: true, grid: { color: grid }, ticks: { precision: 0 } },
        },
      };
      charts = {
        arrivals: new Chart($("chart-arrivals"), {
          type: "bar",
          data: {
            labels,
            datasets: [
              { label: "", data: arrivals, backgroundColor: "#0b5cad", borderRadius: 3 },
              { label: "", data: called, backgroundColor: "#9fb9d6", borderRadius: 3 },
            ],
          },
          options: common,
        }),
        waits: new Chart($("chart-waits"), {
          type: "line",
          data: {
            labels,
            datasets: [
              { label: "", data: mean, borderColor: "#0b5cad", backgroundColor: "#0b5cad", tension: 0.25, spanGaps: true, pointRadius: 3 },
              { label: "", data: max, borderColor: "#c0262d", backgroundColor: "#c0262d", borderDash: [6, 4], tension: 0.25, spanGaps: true, pointRadius: 3 },
            ],
          },
          options: common,
        }),
      };
    }
    const a = charts.arrivals;
    a.data.labels = labels;
    a.data.datasets[0].data = arrivals;
    a.data.datasets[0].label = HQ.t("取号", "Arrivals");
    a.data.datasets[1].data = called;
    a.data.datasets[1].label = HQ.t("叫号", "Called");
    a.update("none");
    const w = charts.waits;
    w.data.labels = labels;
    w.data.datasets[0].data = mean;
    w.data.datasets[0].label = HQ.t("平均等候", "Mean wait");
    w.data.datasets[1].data = max;
    w.data.datasets[1].label = HQ.t("最长等候", "Max wait");
    w.update("none");
  }

  // ---- the window panel ---------------------------------------------------------------
  let editServices = null; // Map service id → weight (checked ones)

  function openPanel(n) {
    if (panelWindow !== n) {
      panelDirty = false;
      editServices = null;
      panelDetail = null;
      showMsg($("wp-msg"), "");
    }
    panelWindow = n;
    $("window-panel").classList.remove("hidden");
    document.querySelectorAll("#plan .window.selected").forEach((t) => t.classList.remove("selected"));
    const t = document.querySelector('#plan .window[data-window="' + n + '"]');
    if (t) t.classList.add("selected");
    renderPanel();
    loadPanelDetail();
  }
  function closePanel() {
    panelWindow = null;
    panelDetail = null;
    editServices = null;
    $("window-panel").classList.add("hidden");
    document.querySelectorAll("#plan .window.selected").forEach((t) => t.classList.remove("selected"));
  }
  async function loadPanelDetail() {
    const n = panelWindow;
    if (n === null) return;
    try {
      const d = await HQ.api("GET", "/api/v1/windows/" + n);
      if (panelWindow !== n) return;
      panelDetail = d;
      renderPanel();
    } catch (e) {
      if (!authFailure(e) && panelWindow === n) {
        panelDetail = null;
      }
    }
  }
  const panelWin = () => view && view.windows.find((w) => w.number === panelWindow);

  function renderPanel() {
    const w = panelWin();
    if (!w) return;
    const services = serviceById();
    $("wp-number").textContent = w.number;
    $("wp-number").className = "wp-number state-" + w.state;
    $("wp-title").textContent = HQ.t(w.name, w.name_en);
    const zoneName = w.zone_name ? HQ.t(w.zone_name, w.zone_name_en) : (zoneList().find((z) => z.id === w.zone) || {}).name || w.zone;
    $("wp-sub").textContent = [floorName(w.floor), zoneName, T(KINDS[w.kind]) || w.kind].filter(Boolean).join(" · ");
    const facts = [];
    const fact = (k, v, cls) => facts.push(el("dt", null, k), el("dd", { class: cls || null }, v));
    fact(
      HQ.t("状态", "State"),
      el(
        "span",
        { class: "pill state-" + w.state },
        T(STATES[w.state]) + (w.state === "paused" && w.paused_reason ? " · " + T(PAUSE_REASONS[w.paused_reason]) : "")
      ),
      null
    );
    fact(HQ.t("自", "Since"), HQ.hhmm(w.since) || "–");
    fact(HQ.t("工作人员", "Staff"), w.staff ? w.staff.name + "（" + w.staff.job_number + "）" : HQ.t("无人签到", "nobody signed in"));
    if (w.current) {
      const s = services.get(w.current.service);
      fact(HQ.t("当前号码", "Current ticket"), w.current.number + "  " + (s ? HQ.t(s.name, s.name_en) : w.current.service), "mono-first");
    }
    if (w.idle_minutes !== null && w.idle_minutes !== undefined && w.state === "idle")
      fact(HQ.t("空闲", "Idle"), HQ.minutes(w.idle_minutes + ageMinutes()) + HQ.t("（有人等候）", " (people waiting)"), "bad");
    if (w.parked && w.parked.length) fact(HQ.t("挂起", "Parked"), w.parked.join("、"));
    const d = panelDetail && panelDetail.number === w.number ? panelDetail : null;
    if (d && d.waiting !== undefined) fact(HQ.t("可办等候", "Waiting for it"), String(d.waiting));
    if (d && d.staff_today)
      fact(
        HQ.t("今日办结", "Served today"),
        d.staff_today.served +
          (d.staff_today.average_service_minutes !== null && d.staff_today.average_service_minutes !== undefined
            ? HQ.t("，平均 ", ", average ") + HQ.minutes(Math.round(d.staff_today.average_service_minutes))
            : "")
      );
    $("wp-facts").replaceChildren(...facts);

    $("wp-open").classList.toggle("hidden", w.state !== "closed");
    $("wp-shut").classList.toggle("hidden", w.state === "closed");

    const next = d ? d.next || d.upcoming || [] : [];
    $("wp-next").replaceChildren(
      ...(next.length
        ? next.slice(0, 6).map((t) => {
            const s = services.get(t.service);
            return el(
              "li",
              null,
              el("span", { class: "mono num" }, t.number),
              el("span", { class: "nowrap" }, s ? HQ.t(s.name, s.name_en) : t.service),
              el("span", { class: "muted why nowrap", title: t.why || "" }, nextNote(t))
            );
          })
        : [el("li", { class: "muted empty" }, d ? HQ.t("没有等候的号", "Nobody waiting") : HQ.t("读取中…", "Loading…"))])
    );
    renderServiceEditor(w);
  }

  /// Why a ticket stands where it does. The API explains it in English
  /// only (`why`); in Chinese, say it from the flags.
  function nextNote(t) {
    if (HQ.lang === "en") return t.why || "";
    const tags = [];
    if (t.directed) tags.push("指定本窗口");
    if (t.appointment_due) tags.push("预约到时");
    if (t.promoted) tags.push("已提前");
    if (t.weight !== undefined && t.weight !== null) tags.push("权重" + t.weight);
    return tags.join(" · ");
  }

  let editorFor = null; // the window the editor's inputs belong to
  function renderServiceEditor(w) {
    const box = $("wp-services");
    // Never redraw the inputs under the manager's hands.
    if (panelDirty && editorFor === w.number && editServices) return;
    editServices = new Map(w.services.map((s) => [s.service, s.weight]));
    editorFor = w.number;
    const rows = view.services.map((s) => {
      const on = editServices.has(s.id);
      const weight = on ? editServices.get(s.id) : "";
      const cb = el("input", { type: "checkbox", checked: on, "data-service": s.id });
      const wt = el("input", {
        type: "number",
        min: 1,
        max: 100,
        step: 1,
        value: weight,
        disabled: !on,
        class: "weight",
        "data-service": s.id,
        "aria-label": HQ.t("权重", "weight"),
      });
      cb.addEventListener("change", () => {
        panelDirty = true;
        dirtyButtons();
        if (cb.checked) {
          editServices.set(s.id, Number(wt.value) || 10);
          wt.disabled = false;
          wt.value = editServices.get(s.id);
        } else {
          editServices.delete(s.id);
          wt.disabled = true;
          wt.value = "";
        }
        row.classList.toggle("on", cb.checked);
      });
      wt.addEventListener("input", () => {
        panelDirty = true;
        dirtyButtons();
        editServices.set(s.id, Number(wt.value));
      });
      const row = el(
        "label",
        { class: "svc-row" + (on ? " on" : ""), title: s.department_name ? HQ.t(s.department_name, s.department_name_en) : s.department },
        cb,
        el("span", { class: "prefix mono" }, s.prefix),
        el("span", { class: "nowrap" }, HQ.t(s.name, s.name_en)),
        wt
      );
      return row;
    });
    box.replaceChildren(...rows);
    dirtyButtons();
  }
  function dirtyButtons() {
    $("wp-save").disabled = !panelDirty;
    $("wp-reset").disabled = !panelDirty;
  }

  async function windowAction(path, body, okText) {
    const n = panelWindow;
    if (n === null) return;
    const buttons = document.querySelectorAll("#window-panel .wp-actions .btn");
    buttons.forEach((b) => (b.disabled = true));
    showMsg($("wp-msg"), "");
    try {
      const r = await HQ.api(path[0], "/api/v1/windows/" + n + path[1], body, { idempotencyKey: HQ.newKey() });
      if (r && r.window && view) {
        const i = view.windows.findIndex((w) => w.number === r.window.number);
        if (i >= 0) view.windows[i] = Object.assign({}, view.windows[i], r.window);
      }
      showMsg($("wp-msg"), okText, "ok");
      return true;
    } catch (e) {
      if (authFailure(e)) return false;
      showMsg($("wp-msg"), e instanceof HQ.ApiError ? e.text() : String(e), "error");
      return false;
    } finally {
      buttons.forEach((b) => (b.disabled = false));
      renderAll();
      refreshHall();
    }
  }

  async function saveServices() {
    const list = [...editServices.entries()].map(([service, weight]) => ({ service, weight: Math.round(Number(weight)) }));
    const bad = list.find((s) => !(s.weight >= 1 && s.weight <= 100));
    if (bad) {
      const s = serviceById().get(bad.service);
      showMsg($("wp-msg"), HQ.t("权重须为1到100之间的整数：", "Weights must be whole numbers from 1 to 100: ") + (s ? HQ.t(s.name, s.name_en) : bad.service));
      return;
    }
    if (!list.length && !confirm(HQ.t("这个窗口将不办理任何业务，确定吗？", "This window will serve no service at all. Continue?"))) return;
    const ok = await windowAction(["PUT", "/services"], { services: list }, HQ.t("窗口业务已保存", "Services saved"));
    if (ok) {
      panelDirty = false;
      editServices = null;
      renderPanel();
    }
  }

  // ---- boot ------------------------------------------------------------------------------
  document.addEventListener("DOMContentLoaded", () => {
    HQ.applyLang();
    HQ.wireLangSwitch();
    HQ.clock($("date"), $("time"));
    HQ.onLang(() => {
      renderAll();
      renderCharts();
    });
    $("login-form").addEventListener("submit", signIn);
    $("change-form").addEventListener("submit", changePassword);
    $("change-cancel").addEventListener("click", () => {
      HQ.setToken(null);
      showLogin("");
    });
    $("sign-out").addEventListener("click", signOut);
    $("wp-close").addEventListener("click", closePanel);
    $("window-panel").addEventListener("click", (e) => {
      if (e.target === $("window-panel")) closePanel();
    });
    document.addEventListener("keydown", (e) => {
      if (e.key === "Escape" && panelWindow !== null) closePanel();
    });
    $("wp-open").addEventListener("click", () => windowAction(["POST", "/open"], null, HQ.t("窗口已开启", "Window opened")));
    $("wp-shut").addEventListener("click", () => windowAction(["POST", "/close"], null, HQ.t("窗口已关闭", "Window closed")));
    $("wp-save").addEventListener("click", saveServices);
    $("wp-reset").addEventListener("click", () => {
      panelDirty = false;
      editServices = null;
      showMsg($("wp-msg"), "");
      renderPanel();
    });
    // Minute counts (idle, longest wait) age between events: re-render from
    // the view in hand, without reading anything.
    setInterval(() => {
      if (view && !$("dash").classList.contains("hidden")) {
        renderPlan();
        renderServices();
        renderKpis();
        renderAlerts(); // the minutes since each alert began
      }
    }, 30000);

    if (HQ.token()) enter();
    else showLogin("");
  });
})();
