// The counter caller (窗口叫号): staff sign in, take a window, then call,
// serve and finish tickets with big buttons or the F-keys. Live from the
// event stream; every POST carries an Idempotency-Key.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const el = (...a) => HQ.el(...a);

  const S = {
    account: sessionStorage.getItem("hallq.account") || "",
    window: null, // number of the window taken
    detail: null, // GET /api/v1/windows/{n}
    windows: [], // GET /api/v1/windows
    services: new Map(), // id → {name, name_en, …}
    serviceList: [],
    busy: false,
    stream: null,
    msg: null,
    msgTimer: null,
  };

  const STATE = {
    idle: ["空闲，可以叫号", "Idle: ready to call"],
    calling: ["已叫号，等候群众到窗", "Called: waiting for the citizen"],
    serving: ["办理中", "Serving"],
    paused: ["暂停服务", "Paused"],
    closed: ["窗口已关闭", "Window closed"],
    unstaffed: ["无人登录", "Nobody signed in"],
  };
  const PAUSE = {
    lunch: ["午休", "lunch"],
    meeting: ["会议", "meeting"],
    break: ["休息", "break"],
    out_of_supplies: ["缺材料/耗材", "out of supplies"],
    other: ["其他", "other"],
  };
  const OUTCOME = {
    done: ["办结", "done"],
    accepted: ["受理", "accepted"],
    reported_up: ["上报", "reported up"],
    rejected: ["不予受理", "rejected"],
    incomplete: ["材料不全", "incomplete papers"],
    wrong_jurisdiction: ["非本窗口事项", "not this window's matter"],
  };
  const KEYS = {
    F1: "act-call-next",
    F2: "act-recall",
    F3: "act-no-show",
    F4: "act-start",
    F5: "act-finish",
    F6: "act-transfer",
    F7: "act-park",
    F8: "act-pause",
    F9: "act-resume",
    F10: "act-rate",
  };

  // ---- messages ----------------------------------------------------------
  /// Shows a message (kind: ok | error | info) in both languages; kept for a language switch.
  function say(kind, zh, en) {
    S.msg = { kind, zh, en };
    renderMessage();
    clearTimeout(S.msgTimer);
    if (kind === "ok") S.msgTimer = setTimeout(() => say("info", "", ""), 8000);
  }
  function sayError(e) {
    if (e instanceof HQ.ApiError) say("error", e.message_zh, e.message_en);
    else say("error", "出错了：" + e, "Error: " + e);
  }
  function renderMessage() {
    const m = S.msg || { kind: "info", zh: "", en: "" };
    const box = $("message");
    box.className = "msg " + m.kind + (m.zh ? "" : " empty");
    box.textContent = HQ.t(m.zh, m.en);
  }

  function show(screen) {
    ["screen-sign-in", "screen-window", "screen-counter"].forEach((id) =>
      $(id).classList.toggle("hidden", id !== screen)
    );
    document.body.dataset.screen = screen;
  }

  // ---- sign-in -----------------------------------------------------------
  async function signIn(ev) {
    ev.preventDefault();
    const account = $("account").value.trim();
    const password = $("password").value;
    if (!account || !password) {
      say("error", "请输入账号和密码", "Enter your account and password");
      return;
    }
    $("sign-in").disabled = true;
    try {
      HQ.setToken(null);
      const r = await HQ.api("POST", "/api/v1/sessions", { account, password }, { idempotencyKey: HQ.newKey() });
      HQ.setToken(r.token);
      S.account = account;
      sessionStorage.setItem("hallq.account", account);
      $("password").value = "";
      if (r.must_change_password) {
        $("sign-in-form").classList.add("hidden");
        $("password-form").classList.remove("hidden");
        $("old-password").value = password;
        $("new-password").focus();
        say(
          "error",
          "您须先修改密码才能使用窗口（首次登录或密码已被管理员重置）。",
          "You must change your password before using a window (first sign-in, or it was reset)."
        );
        return;
      }
      say("ok", "登录成功，请选择窗口", "Signed in: choose your window");
      await showWindowPick();
    } catch (e) {
      sayError(e);
    } finally {
      $("sign-in").disabled = false;
    }
  }

  async function changePassword(ev) {
    ev.preventDefault();
    const oldPw = $("old-password").value;
    const pw = $("new-password").value;
    if (pw !== $("new-password-2").value) {
      say("error", "两次输入的新密码不一致", "The two new passwords differ");
      return;
    }
    $("change-password").disabled = true;
    try {
      await HQ.api("POST", "/api/v1/sessions/password", { old_password: oldPw, new_password: pw }, { idempotencyKey: HQ.newKey() });
      ["old-password", "new-password", "new-password-2"].forEach((id) => ($(id).value = ""));
      $("password-form").classList.add("hidden");
      $("sign-in-form").classList.remove("hidden");
      say("ok", "密码已修改，请选择窗口", "Password changed: choose your window");
      await showWindowPick();
    } catch (e) {
      sayError(e);
    } finally {
      $("change-password").disabled = false;
    }
  }

  function backToSignIn() {
    if (S.stream) S.stream.close();
    S.stream = null;
    S.window = null;
    S.detail = null;
    sessionStorage.removeItem("hallq.counter.window");
    HQ.setToken(null);
    $("password-form").classList.add("hidden");
    $("sign-in-form").classList.remove("hidden");
    $("window-title").textContent = "";
    $("who").textContent = "";
    $("link").classList.remove("up");
    show("screen-sign-in");
    if (S.account) $("account").value = S.account;
    ($("account").value ? $("password") : $("account")).focus();
  }

  async function logOut() {
    try {
      await HQ.api("DELETE", "/api/v1/sessions");
    } catch (e) {
      // the token may have expired already: signed out either way
    }
    backToSignIn();
  }

  /// A 401 means the token is gone (expired, or the password changed elsewhere).
  function expired(e) {
    if (e instanceof HQ.ApiError && e.status === 401) {
      backToSignIn();
      say("error", "登录已失效，请重新登录", "Your sign-in has expired; sign in again");
      return true;
    }
    return false;
  }

  // ---- the window ----------------------------------------------------------
  function accountWindow() {
    const m = /^[a-z]*0*(\d+)$/i.exec(S.account || "");
    return m ? Number(m[1]) : null;
  }
  const mine = (w) => w && w.staff && S.account && w.staff.account.toLowerCase() === S.account.toLowerCase();
  const wname = (w) => HQ.t(w.name, w.name_en);

  async function loadWindows() {
    try {
      const r = await HQ.api("GET", "/api/v1/windows");
      S.windows = (r && r.windows) || [];
    } catch (e) {
      if (expired(e)) throw e;
      // Older daemon without the list: offer the account's own window.
      const n = accountWindow();
      S.windows = [];
      if (n) {
        try {
          S.windows = [await HQ.api("GET", "/api/v1/windows/" + n)];
        } catch (e2) {
          if (expired(e2)) throw e2;
        }
      }
    }
  }

  async function loadServices() {
    try {
      const r = await HQ.api("GET", "/api/v1/services");
      S.serviceList = (r && r.services) || [];
      S.serviceList.forEach((s) => S.services.set(s.id, s));
    } catch (e) {
      // names fall back to ids; transfer offers the window's own services
    }
  }
  const serviceName = (id) => {
    const s = S.services.get(id);
    return s ? HQ.t(s.name, s.name_en) : id || "";
  };
  function learnService(t) {
    if (t && t.service && t.service_name && !S.services.has(t.service))
      S.services.set(t.service, { id: t.service, name: t.service_name, name_en: t.service_name_en });
  }

  async function showWindowPick() {
    show("screen-window");
    $("signed-in-as").textContent = HQ.t("已登录账号：", "Signed in as: ") + S.account;
    try {
      await loadWindows();
    } catch (e) {
      return;
    }
    fillWindowSelect();
    $("window-select").focus();
  }

  function fillWindowSelect() {
    const sel = $("window-select");
    const keep = sel.value;
    sel.textContent = "";
    const own = accountWindow();
    let preferred = null;
    S.windows.forEach((w) => {
      const taken = w.staff && !mine(w);
      let note = "";
      if (mine(w)) note = HQ.t("（您已在此登录）", " (you are signed in here)");
      else if (w.state === "closed") note = HQ.t("（已关闭）", " (closed)");
      else if (taken) note = HQ.t("（" + w.staff.name + "已登录）", " (" + w.staff.name + " signed in)");
      const o = el("option", { value: w.number, disabled: w.state === "closed" || taken }, HQ.t(w.number + "号窗口 " + w.name, "Window " + w.number + " " + w.name_en) + note);
      sel.append(o);
      if (mine(w)) preferred = w.number;
    });
    if (!S.windows.length) sel.append(el("option", { value: "" }, HQ.t("没有可用的窗口", "No window available")));
    if (preferred === null && own && S.windows.some((w) => w.number === own && !(w.staff && !mine(w)) && w.state !== "closed")) preferred = own;
    if (keep && S.windows.some((w) => String(w.number) === keep)) sel.value = keep;
    else if (preferred !== null) sel.value = String(preferred);
    else {
      const free = S.windows.find((w) => !w.staff && w.state !== "closed");
      if (free) sel.value = String(free.number);
    }
  }

  async function takeWindow(ev) {
    ev.preventDefault();
    const n = Number($("window-select").value);
    if (!n) return;
    $("take-window").disabled = true;
    try {
      await HQ.api("POST", "/api/v1/windows/" + n + "/sign-in", null, { idempotencyKey: HQ.newKey() });
      say("ok", "已在" + n + "号窗口登录", "Signed in at window " + n);
      await enterCounter(n);
    } catch (e) {
      if (expired(e)) return;
      if (e.code === "window_occupied") {
        // Already ours (a reload, another tab): just continue.
        try {
          const d = await HQ.api("GET", "/api/v1/windows/" + n);
          if (mine(d)) {
            say("ok", "您已在" + n + "号窗口登录，继续服务", "Already signed in at window " + n + ": carrying on");
            await enterCounter(n);
            return;
          }
        } catch (e2) {
          // show the first refusal
        }
      }
      sayError(e);
      if (e.code === "already_signed_in_elsewhere") {
        await loadWindows().catch(() => {});
        fillWindowSelect();
      }
    } finally {
      $("take-window").disabled = false;
    }
  }

  async function enterCounter(n) {
    S.window = n;
    sessionStorage.setItem("hallq.counter.window", String(n));
    show("screen-counter");
    if (!S.serviceList.length) await loadServices();
    if (!S.windows.length) await loadWindows().catch(() => {});
    await refresh();
    startStream();
  }

  function startStream() {
    if (S.stream) S.stream.close();
    S.stream = HQ.stream("/api/v1/events", {
      onState: (up) => {
        $("link").classList.toggle("up", up);
        if (up) refreshSoon(); // caught up after a gap
      },
      onAuth: (status) => {
        if (status === 401) {
          backToSignIn();
          say("error", "登录已失效，请重新登录", "Your sign-in has expired; sign in again");
        }
      },
      onEvent: (name, data) => {
        if (name === "device" || !S.window) return;
        const ev = (data && data.event) || {};
        const about = [ev.window, ev.from_window, ev.to_window].filter((w) => w !== undefined && w !== null);
        const ticketEvent = /^ticket_/.test(name);
        if (about.length && !about.includes(S.window) && !ticketEvent) return;
        if (name === "service_started" && !about.includes(S.window)) return;
        refreshSoon();
        if (/^window_|^staff_/.test(name) && !S.windows.length) loadWindows().catch(() => {});
      },
    });
  }

  async function refresh() {
    if (!S.window) return;
    let d;
    try {
      d = await HQ.api("GET", "/api/v1/windows/" + S.window);
    } catch (e) {
      if (!expired(e)) sayError(e);
      return;
    }
    if (!S.window) return;
    S.detail = d;
    if (!mine(d)) {
      const n = S.window;
      if (S.stream) S.stream.close();
      S.stream = null;
      S.window = null;
      sessionStorage.removeItem("hallq.counter.window");
      $("link").classList.remove("up");
      await showWindowPick();
      say("error", "您已不在" + n + "号窗口登录（已签退或窗口已关闭），请重新选择窗口", "You are no longer signed in at window " + n + " (signed out, or the window closed); choose a window");
      return;
    }
    render();
  }
  const refreshSoon = HQ.coalesce(refresh, 250);

  // ---- rendering -------------------------------------------------------------
  function render() {
    const d = S.detail;
    if (!d) return;
    $("window-title").textContent = HQ.t(" · " + d.number + "号窗口 " + d.name, " · Window " + d.number + " " + d.name_en);
    $("who").textContent = d.staff ? d.staff.name + " " + d.staff.job_number : S.account;

    const cur = d.current;
    $("current-number").textContent = cur ? cur.number : HQ.t("无", "none");
    $("current-number").classList.toggle("none", !cur);
    const nextUp = (d.next || [])[0];
    $("current-service").textContent = cur
      ? serviceName(cur.service)
      : nextUp && d.state === "idle"
      ? HQ.t("下一位 " + nextUp.number + "，按 F1 叫号", "Next: " + nextUp.number + " (press F1)")
      : "";
    let st = HQ.t(...(STATE[d.state] || [d.state, d.state]));
    if (d.state === "paused" && d.paused_reason) {
      const r = PAUSE[d.paused_reason] || [d.paused_reason, d.paused_reason];
      st += HQ.t("（" + r[0] + "）", " (" + r[1] + ")");
    }
    $("state").textContent = st;
    $("state").className = "state s-" + d.state;
    $("state-since").textContent = d.since ? HQ.t("自 ", "since ") + HQ.hhmm(d.since) : "";

    $("waiting").textContent = d.waiting === undefined ? "—" : d.waiting;

    // What call-next takes, and why.
    const next = d.next || [];
    $("why").textContent = next.length && next[0].why ? HQ.t("下一位 ", "Next ") + next[0].number + HQ.t("：", ": ") + next[0].why : "";
    const ul = $("upcoming");
    ul.textContent = "";
    (d.upcoming || []).forEach((u, i) => {
      const tags = [];
      if (u.promoted) tags.push(el("span", { class: "tag prio" }, HQ.t("优先", "priority")));
      if (u.directed) tags.push(el("span", { class: "tag dir" }, HQ.t("指定本窗口", "for this window")));
      ul.append(el("li", { class: i === 0 ? "first" : "" }, el("span", { class: "num" }, u.number), el("span", { class: "svc nowrap" }, serviceName(u.service)), tags));
    });
    if (!ul.children.length) ul.append(el("li", { class: "empty muted" }, HQ.t("暂无等候", "Nobody waiting")));

    const pk = $("parked");
    pk.textContent = "";
    (d.parked || []).forEach((num) =>
      pk.append(
        el("button", { type: "button", class: "chip", "data-ticket": num, title: HQ.t("取回 " + num, "Take back " + num), onclick: () => unpark(num) }, num)
      )
    );
    if (!pk.children.length) pk.append(el("span", { class: "muted" }, HQ.t("无", "none")));

    const t = d.staff_today;
    const today = $("today");
    today.textContent = "";
    today.append(el("h2", null, HQ.t("今日本人", "Today (you)")));
    if (t) {
      const avg = t.average_service_minutes;
      const a = avg === null || avg === undefined ? "—" : String(Math.round(avg * 10) / 10);
      today.append(
        el("div", { class: "stat" }, el("span", null, HQ.t("已办", "Served")), el("strong", null, String(t.served)), HQ.lang === "en" ? null : el("span", null, "件")),
        el("div", { class: "stat" }, el("span", null, HQ.t("平均", "Average")), el("strong", null, a), el("span", null, HQ.t("分钟/件", "min each")))
      );
    } else today.append(el("div", { class: "muted" }, "—"));

    updateButtons();
  }

  function updateButtons() {
    const d = S.detail;
    const st = d ? d.state : "unstaffed";
    const cur = d && d.current;
    const called = cur && cur.status === "called";
    const serving = cur && cur.status === "serving";
    const paused = st === "paused";
    const open = st !== "closed" && st !== "unstaffed";
    const en = {
      "act-call-next": open && !cur && !paused,
      "act-recall": called,
      "act-no-show": called,
      "act-start": called,
      "act-finish": serving,
      "act-transfer": !!cur,
      "act-park": !!cur,
      "act-pause": open && !cur && !paused,
      "act-resume": paused,
      "act-rate": open && !paused && !serving,
      "act-sign-out": !cur,
    };
    for (const [id, on] of Object.entries(en)) $(id).disabled = S.busy || !on;
    $("outcome").disabled = S.busy || !serving;
    $("finish-reason").disabled = S.busy || !serving;
    $("pause-reason").disabled = S.busy || !en["act-pause"];
    const canUnpark = open && !cur && !paused && !S.busy;
    document.querySelectorAll("#parked .chip").forEach((b) => (b.disabled = !canUnpark));
  }

  // ---- actions ---------------------------------------------------------------
  /// POSTs a window action once (one Idempotency-Key per press; presses while
  /// one is under way are ignored) and reports the outcome.
  async function act(path, body, okText) {
    if (S.busy || !S.window) return null;
    S.busy = true;
    updateButtons();
    const key = HQ.newKey();
    try {
      const r = await HQ.api("POST", "/api/v1/windows/" + S.window + "/" + path, body, { idempotencyKey: key });
      if (r && r.ticket) learnService(r.ticket);
      if (r && r.window && S.detail) S.detail = Object.assign({}, S.detail, r.window);
      const [zh, en] = okText(r || {});
      say("ok", zh, en);
      return r || {};
    } catch (e) {
      if (!expired(e)) sayError(e);
      return null;
    } finally {
      S.busy = false;
      render();
      refreshSoon();
    }
  }
  const num = (r) => (r.ticket && r.ticket.number) || (S.detail && S.detail.current && S.detail.current.number) || "";

  function callNext() {
    act("call-next", null, (r) =>
      r.ticket ? ["已叫号 " + r.ticket.number, "Called " + r.ticket.number] : ["暂无等候的号", "Nobody is waiting"]
    );
  }
  function recall() {
    act("recall", null, (r) =>
      r.ticket && r.ticket.status === "no_show"
        ? ["重呼次数已满，" + r.ticket.number + " 已记为过号", "Recall limit reached: " + r.ticket.number + " marked no-show"]
        : ["已重呼 " + num(r), "Recalled " + num(r)]
    );
  }
  function noShow() {
    act("no-show", null, (r) => ["已过号 " + num(r), num(r) + " marked no-show"]);
  }
  function start() {
    act("start", null, (r) => ["开始办理 " + num(r), "Serving " + num(r)]);
  }
  async function finish() {
    const outcome = $("outcome").value;
    const reason = $("finish-reason").value.trim();
    if (outcome === "rejected" && !reason) {
      $("finish-reason").classList.remove("hidden");
      $("finish-reason").focus();
      say("error", "不予受理须填写原因", "Rejecting needs a reason");
      return;
    }
    const body = { outcome };
    if (reason) body.reason = reason;
    const o = OUTCOME[outcome] || [outcome, outcome];
    const r = await act("finish", body, (r) => ["已办结 " + num(r) + "（" + o[0] + "）", "Finished " + num(r) + " (" + o[1] + ")"]);
    if (r) {
      $("finish-reason").value = "";
      $("outcome").value = "done";
      onOutcome();
    }
  }
  function park() {
    act("park", null, (r) => ["已挂起 " + num(r), "Parked " + num(r)]);
  }
  function pause() {
    const reason = $("pause-reason").value;
    const p = PAUSE[reason] || [reason, reason];
    act("pause", { reason }, () => ["已暂停服务（" + p[0] + "）", "Paused (" + p[1] + ")"]);
  }
  function resume() {
    act("resume", null, () => ["已恢复服务", "Service resumed"]);
  }
  function rate() {
    act("request-evaluation", null, () => ["已请群众评价", "The citizen was asked to rate the service"]);
  }
  function unpark(number) {
    act("unpark", { ticket: number }, (r) => ["已取回 " + number, "Took back " + number]);
  }
  async function signOut() {
    const n = S.window;
    const r = await act("sign-out", null, () => ["已在" + n + "号窗口签退", "Signed out of window " + n]);
    if (!r) return;
    const m = S.msg;
    await logOut();
    S.msg = m;
    renderMessage();
  }

  // ---- transfer ------------------------------------------------------------------
  async function openTransfer() {
    const d = S.detail;
    if (!d || !d.current) return;
    $("transfer-number").textContent = d.current.number;
    await loadWindows().catch(() => {});
    const sel = $("transfer-service");
    sel.textContent = "";
    sel.append(el("option", { value: "" }, HQ.t("— 请选择业务 —", "— choose a service —")));
    const list = S.serviceList.length ? S.serviceList : (d.services || []).map((s) => ({ id: s.service }));
    list.forEach((s) => sel.append(el("option", { value: s.id }, serviceName(s.id))));
    $("transfer-reason").value = "";
    fillTransferWindows();
    $("transfer-dialog").showModal();
    sel.focus();
  }
  function fillTransferWindows() {
    const svc = $("transfer-service").value;
    const sel = $("transfer-window");
    sel.textContent = "";
    sel.append(el("option", { value: "" }, HQ.t("不指定（按业务排队）", "any (the service's line)")));
    S.windows
      .filter((w) => w.number !== S.window && w.state !== "closed")
      .filter((w) => !svc || (w.services || []).some((s) => s.service === svc))
      .forEach((w) => {
        const staffed = w.staff ? "" : HQ.t("（无人）", " (unstaffed)");
        sel.append(el("option", { value: w.number }, HQ.t(w.number + "号窗口 " + w.name, "Window " + w.number + " " + w.name_en) + staffed));
      });
  }
  async function doTransfer() {
    const service = $("transfer-service").value;
    const win = $("transfer-window").value;
    const reason = $("transfer-reason").value.trim();
    if (!service && !win) {
      say("error", "请选择转到的业务或窗口", "Choose a service or a window to transfer to");
      return;
    }
    const body = win ? { window: Number(win) } : { service };
    if (reason) body.reason = reason;
    $("transfer-dialog").close();
    const to = win ? HQ.t(win + "号窗口", "window " + win) : serviceName(service);
    await act("transfer", body, (r) => ["已将 " + num(r) + " 转到" + to, "Transferred " + num(r) + " to " + to]);
  }

  function onOutcome() {
    const rej = $("outcome").value === "rejected";
    $("finish-reason").classList.toggle("hidden", !rej);
    if (rej) $("finish-reason").focus();
  }

  // ---- wiring ------------------------------------------------------------------------
  function wire() {
    $("sign-in-form").addEventListener("submit", signIn);
    $("password-form").addEventListener("submit", changePassword);
    $("cancel-password").addEventListener("click", logOut);
    $("window-form").addEventListener("submit", takeWindow);
    $("log-out").addEventListener("click", logOut);
    $("act-call-next").addEventListener("click", callNext);
    $("act-recall").addEventListener("click", recall);
    $("act-no-show").addEventListener("click", noShow);
    $("act-start").addEventListener("click", start);
    $("act-finish").addEventListener("click", finish);
    $("act-transfer").addEventListener("click", openTransfer);
    $("act-park").addEventListener("click", park);
    $("act-pause").addEventListener("click", pause);
    $("act-resume").addEventListener("click", resume);
    $("act-rate").addEventListener("click", rate);
    $("act-sign-out").addEventListener("click", signOut);
    $("outcome").addEventListener("change", onOutcome);
    $("transfer-service").addEventListener("change", fillTransferWindows);
    $("transfer-go").addEventListener("click", doTransfer);
    $("transfer-cancel").addEventListener("click", () => $("transfer-dialog").close());
    document.addEventListener("keydown", (e) => {
      const id = KEYS[e.key];
      if (!id || document.body.dataset.screen !== "screen-counter") return;
      e.preventDefault(); // F1 help, F5 reload …
      if ($("transfer-dialog").open || e.repeat) return;
      const b = $(id);
      if (!b.disabled) b.click();
    });
    // Chromium opens its help page on F1 unless this is cancelled too.
    window.addEventListener("help", (e) => e.preventDefault());
    HQ.onLang(() => {
      renderMessage();
      render();
      if (document.body.dataset.screen === "screen-window") {
        fillWindowSelect();
        $("signed-in-as").textContent = HQ.t("已登录账号：", "Signed in as: ") + S.account;
      }
    });
  }

  async function init() {
    HQ.applyLang();
    HQ.wireLangSwitch();
    HQ.clock($("date"), $("time"));
    wire();
    renderMessage();
    if (!HQ.token()) {
      backToSignIn();
      return;
    }
    // A reload: carry on where we were.
    const n = Number(sessionStorage.getItem("hallq.counter.window"));
    if (n) {
      try {
        const d = await HQ.api("GET", "/api/v1/windows/" + n);
        if (mine(d)) {
          await enterCounter(n);
          return;
        }
      } catch (e) {
        if (expired(e)) return;
      }
    }
    await showWindowPick();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
