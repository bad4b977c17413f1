// The LCD above a counter (/window/{n}): the window, who works there, and
// the ticket it calls or serves. Fed by the event stream: a call shows at
// once from the message, and any event about this window re-reads
// /api/v1/windows/{n} (coalesced). Never polls.
"use strict";

(function () {
  const N = parseInt((location.pathname.match(/\/window\/(\d+)/) || [])[1], 10);
  const $ = (id) => document.getElementById(id);
  const el = HQ.el;
  /// Like HQ.t, but an empty English text stays empty.
  const T = (zh, en) => (HQ.lang === "en" ? en : zh);

  let hall = null; // GET /api/v1/hall, once (names, departments, the hall's clock)
  let win = null; // GET /api/v1/windows/{n}
  let lastSeq = 0;
  let shown = ""; // state|number now on screen, to flash only on a change

  const PAUSE = {
    lunch: ["午间休息，请稍候", "Lunch break, back soon"],
    meeting: ["工作人员会议中，请稍候", "In a meeting, back soon"],
    out_of_supplies: ["正在补充物料，请稍候", "Restocking, back soon"],
    break: ["工作人员暂时离开，请稍候", "Back in a moment"],
    other: ["请稍候", "Please wait"],
  };

  function showMessage(zh, en) {
    const m = $("message");
    if (!zh) return m.classList.add("hidden");
    m.textContent = HQ.t(zh, en);
    m.classList.remove("hidden");
  }

  function departmentName() {
    if (!win) return "";
    const deps = (hall && hall.departments) || [];
    let id = win.department;
    if (!id && hall) {
      // no department given: the one every service of this window belongs to
      const ids = new Set(
        (win.services || [])
          .map((s) => (hall.services || []).find((x) => x.id === s.service))
          .filter(Boolean)
          .map((s) => s.department)
      );
      if (ids.size === 1) id = [...ids][0];
    }
    const d = deps.find((d) => d.id === id);
    if (d) return HQ.t(d.name, d.name_en);
    const s = hall && (hall.services || []).find((x) => x.department === id && x.department_name);
    return s ? HQ.t(s.department_name, s.department_name_en) : "";
  }

  function serviceName(id) {
    const s = hall && (hall.services || []).find((x) => x.id === id);
    return s ? HQ.t(s.name, s.name_en) : "";
  }

  function render(opts) {
    const board = $("board");
    $("window-number").textContent = String(N);
    $("no-word").textContent = T("", "Window ");
    $("no-suffix").textContent = T("号窗口", "");
    if (!win) return;
    $("window-name").textContent = HQ.t(win.name, win.name_en);
    document.title = HQ.t(N + "号窗口", "Window " + N) + " · " + HQ.t(win.name, win.name_en);
    $("department").textContent = departmentName();
    $("staff").replaceChildren(
      ...(win.staff
        ? [
            el("span", { class: "staff-name", text: win.staff.name || win.staff.account }),
            win.staff.job_number ? " " : null,
            win.staff.job_number ? el("span", { class: "staff-no", text: T("工号 ", "Staff No. ") + win.staff.job_number }) : null,
          ]
        : [])
    );
    $("staff").classList.toggle("hidden", !win.staff);

    const cur = $("current");
    const label = $("stage-label");
    const hint = $("stage-hint");
    const state = win.state;
    const number = win.current && win.current.number;
    board.dataset.state = state;
    let key = state;
    if ((state === "calling" || state === "serving") && number) {
      key += "|" + number;
      if (state === "calling") {
        label.textContent = T("正在呼叫", "Now calling");
        cur.replaceChildren(
          el("span", { class: "cpre", text: T("请", "") }),
          el("span", { class: "cnum", text: number }),
          el("span", { class: "cpost", text: T("号", "") })
        );
        hint.textContent = T("请到本窗口办理", "Please come to this window");
      } else {
        label.textContent = T("正在办理", "Now serving");
        cur.replaceChildren(el("span", { class: "cnum", text: number }));
        hint.textContent = serviceName(win.current.service);
      }
    } else if (!["paused", "closed", "unstaffed"].includes(state)) {
      label.textContent = "";
      cur.replaceChildren(el("span", { class: "cword", text: T("欢迎光临", "Welcome") }));
      hint.textContent = T("请留意叫号，听到叫号后前来办理", "Please wait until your number is called");
    } else {
      label.textContent = "";
      cur.replaceChildren(el("span", { class: "cword", text: T("暂停服务", "Paused") }));
      if (state === "paused") {
        const r = PAUSE[win.paused_reason] || PAUSE.other;
        hint.textContent = HQ.t(r[0], r[1]);
      } else hint.textContent = T("本窗口暂停办理业务，请到其他窗口", "This window is not serving now; please go to another window");
    }
    const changed = key !== shown;
    shown = key;
    if (state === "calling" && (changed || (opts && opts.flash))) flash(cur);
    if (state !== "calling") cur.classList.remove("flash");
    fit();
  }

  function flash(node) {
    node.classList.remove("flash");
    void node.offsetWidth;
    node.classList.add("flash");
  }

  /// The ticket number (and the window number) as large as their box
  /// allows, never cut off.
  function fit() {
    shrink($("current"), $("current").parentElement, 0.96, true);
    shrink($("window-number"), $("window-number").closest(".ident"), 0.92, false, $("window-number").parentElement);
  }
  function shrink(node, box, share, checkHeight, measured) {
    const m = measured || node;
    node.style.fontSize = "";
    let size = parseFloat(getComputedStyle(node).fontSize);
    const min = size * 0.3;
    const pad = parseFloat(getComputedStyle(box).paddingLeft) + parseFloat(getComputedStyle(box).paddingRight);
    const room = (box.clientWidth - pad) * share;
    while (size > min && (m.scrollWidth > room || (checkHeight && node.scrollHeight > node.clientHeight + 1))) {
      size *= 0.94;
      node.style.fontSize = size + "px";
    }
  }

  // ---- data --------------------------------------------------------------
  async function loadHall() {
    try {
      hall = await HQ.api("GET", "/api/v1/hall");
      return hall.seq;
    } catch (e) {
      return null; // not allowed or not there: the window alone will do
    }
  }
  async function loadWindow() {
    win = await HQ.api("GET", "/api/v1/windows/" + N);
    showMessage(null);
    render();
  }
  const refresh = HQ.coalesce(async () => {
    try {
      await loadWindow();
    } catch (e) {
      /* next event or reconnect tries again */
    }
  }, 250);

  function concerns(data) {
    const ev = data.event || {};
    if (ev.window === N || ev.from_window === N || ev.to_window === N) return true;
    if (Array.isArray(ev.signed_out) && ev.signed_out.includes(N)) return true;
    const tid = data.ticket ? data.ticket.id : ev.ticket;
    if (win && win.current && tid !== undefined && tid === win.current.id) return true;
    return ["day_opened", "day_ended", "session_opened", "session_closed", "config_applied"].includes(data.kind);
  }

  function onEvent(name, data, id) {
    if (name === "device" || !data) return;
    const seq = Number(data.seq !== undefined ? data.seq : id);
    if (Number.isFinite(seq)) {
      if (seq <= lastSeq) return;
      lastSeq = seq;
    }
    if (!concerns(data)) return;
    const ev = data.event || {};
    const kind = data.kind || name;
    if ((kind === "ticket_called" || kind === "ticket_recalled") && ev.window === N && win) {
      const number = data.ticket && data.ticket.number;
      if (number) {
        // show the call now; the refetch below confirms the rest
        win.state = "calling";
        win.current = { id: data.ticket.id, number, status: "called", service: data.ticket.service };
        render({ flash: true });
      }
    }
    refresh();
  }

  let everUp = false;
  function onState(up) {
    $("link").classList.toggle("up", up);
    if (up) {
      if (everUp) refresh();
      everUp = true;
    }
  }

  // ---- clock: the hall's time (HQ learns it from every API answer) -------
  function clock() {
    const pad = (x) => String(x).padStart(2, "0");
    function tick() {
      const t = HQ.hallNow();
      $("clock").textContent = pad(t.getUTCHours()) + ":" + pad(t.getUTCMinutes());
    }
    tick();
    setInterval(tick, 1000);
    HQ.onHallTime(tick);
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
    HQ.onLang(() => render());
    render();
    clock();
    if (!Number.isFinite(N)) {
      showMessage("地址有误：应为 /window/窗口号", "Wrong address: use /window/NUMBER");
      return;
    }
    const seq = await loadHall();
    let delay = 1000;
    for (;;) {
      try {
        await loadWindow();
        break;
      } catch (e) {
        if (e.status === 404) showMessage("没有" + N + "号窗口", "There is no window " + N);
        else if (e.status === 401 || e.status === 403)
          showMessage("本屏幕未授权：请在地址末尾加上 #key=显示屏密钥", "This screen has no valid key: add #key=DISPLAY-KEY");
        else showMessage("正在连接服务器…", "Connecting to the server…");
        await HQ.sleep(delay);
        delay = Math.min(delay * 2, 10000);
      }
    }
    if (seq !== null && seq !== undefined) lastSeq = Number(seq) || 0;
    HQ.stream("/api/v1/events", {
      after: seq === null ? undefined : seq,
      onEvent,
      onState,
      onAuth: () => showMessage("本屏幕未授权：请检查显示屏密钥", "This screen's key was refused: check the display key"),
    });
    if (document.fonts && document.fonts.ready) document.fonts.ready.then(fit);
    let t = null;
    window.addEventListener("resize", () => {
      clearTimeout(t);
      t = setTimeout(fit, 150);
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
