// The dashboard's statistics view: a period's figures from GET /api/v1/stats
// (computed from the journal), rankings, 好差评 and downloads of the report
// files. Shown instead of the live hall by the 统计报表 button. It re-reads
// when a period is picked, or when the event stream (manager.js forwards it
// as a `hallq:event`) says the hall changed — coalesced, never on a timer.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const el = HQ.el;

  const KINDS = ["day", "week", "month", "quarter"];
  let kind = "day";
  let value = null; // null: the period containing today (the server decides)
  let report = null; // the last StatsReport shown
  let dirty = false; // the hall changed while the view was hidden
  let loading = false;

  // ---- formatting (the page test formats the API's numbers the same way) ----
  const int = (n) => (n === undefined || n === null ? "–" : String(n));
  const minutes = (ms) => (ms === undefined || ms === null ? "–" : (ms / 60000).toFixed(1));
  const pct = (x) => (x === undefined || x === null ? "–" : (x * 100).toFixed(1) + "%");
  const name = (g) => HQ.t(g.name || g.id, g.name_en || g.name || g.id);
  const mean = (d) => (d ? d.mean_ms : null);

  // ---- periods -------------------------------------------------------------
  const pad = (n) => String(n).padStart(2, "0");
  const parseDate = (s) => {
    const [y, m, d] = s.split("-").map(Number);
    return new Date(Date.UTC(y, m - 1, d));
  };
  const addDays = (date, n) => new Date(date.getTime() + n * 86400000);
  const iso = (d) => d.getUTCFullYear() + "-" + pad(d.getUTCMonth() + 1) + "-" + pad(d.getUTCDate());
  function isoWeek(d) {
    // The Thursday of this ISO week decides its year.
    const day = (d.getUTCDay() + 6) % 7; // Monday 0
    const thu = addDays(d, 3 - day);
    const jan1 = new Date(Date.UTC(thu.getUTCFullYear(), 0, 1));
    const week = 1 + Math.floor((thu - jan1) / 86400000 / 7);
    return thu.getUTCFullYear() + "-W" + pad(week);
  }
  /// The value naming the period of `k` that contains `date`.
  function valueOf(k, date) {
    if (k === "week") return isoWeek(date);
    if (k === "month") return date.getUTCFullYear() + "-" + pad(date.getUTCMonth() + 1);
    if (k === "quarter") return date.getUTCFullYear() + "-Q" + (Math.floor(date.getUTCMonth() / 3) + 1);
    return iso(date);
  }
  function inputType(k) {
    return { day: "date", week: "week", month: "month", quarter: "text" }[k];
  }
  function periodName(p) {
    if (!p) return "";
    const range = p.first === p.last ? p.first : p.first + " – " + p.last;
    return range;
  }

  // ---- loading ---------------------------------------------------------------
  function query() {
    let q = "?period=" + encodeURIComponent(kind);
    if (value) q += "&value=" + encodeURIComponent(value);
    return q;
  }

  function showMsg(text) {
    const box = $("stats-msg");
    box.classList.toggle("hidden", !text);
    box.className = "msg error" + (text ? "" : " hidden");
    box.textContent = text || "";
  }

  async function load() {
    if (loading) {
      dirty = true;
      return;
    }
    loading = true;
    dirty = false;
    $("stats-state").textContent = HQ.t("计算中…", "computing…");
    try {
      const r = await HQ.api("GET", "/api/v1/stats" + query());
      report = r;
      showMsg("");
      render();
    } catch (e) {
      if (e instanceof HQ.ApiError && e.status === 403 && e.code === "forbidden") {
        showMsg(HQ.t("统计报表需要管理员、督查或系统管理员账号。", "Statistics need a manager, supervisor or admin account."));
      } else {
        showMsg(e instanceof HQ.ApiError ? e.text() : String(e));
      }
      $("stats-state").textContent = "";
    } finally {
      loading = false;
    }
    if (dirty && visible()) refresh();
  }
  const refresh = HQ.coalesce(load, 3000);

  const visible = () => document.body.classList.contains("stats-view");

  // ---- rendering ---------------------------------------------------------------
  function render() {
    if (!report) return;
    const p = report.period;
    kind = p.kind;
    for (const b of $("stats-kinds").querySelectorAll("button"))
      b.classList.toggle("on", b.dataset.kind === kind);
    const input = $("stats-value");
    if (input.type !== inputType(kind)) input.type = inputType(kind);
    if (document.activeElement !== input) input.value = p.label;
    $("stats-range").textContent = periodName(p);
    $("stats-state").textContent = HQ.t("截至流水号 ", "as of journal row ") + report.journal_last_seq;
    $("stats").dataset.seq = String(report.journal_last_seq);
    $("stats").dataset.period = p.label;
    renderKpis();
    renderTable("stats-services", report.services, serviceColumns());
    renderTable("stats-windows", report.windows, windowColumns());
    renderTable("stats-staff", report.staff, staffColumns());
    renderTable("stats-departments", report.departments, departmentColumns());
    renderRankings();
    renderRatings();
    renderFollowups();
    renderDownloads();
  }

  function kpi(k, v, zh, en) {
    return el("div", { class: "kpi", "data-k": k }, el("span", { class: "v" }, v), el("span", { class: "k" }, HQ.t(zh, en)));
  }

  function renderKpis() {
    const h = report.hall;
    $("stats-kpis").replaceChildren(
      kpi("issued", int(h.issued), "取号", "Issued"),
      kpi("served", int(h.served), "办结", "Served"),
      kpi("no_show", int(h.no_show), "过号", "No-shows"),
      kpi("transferred", int(h.transferred), "转移", "Transferred"),
      kpi("wait_mean", minutes(h.wait.mean_ms), "平均等候(分)", "Mean wait (min)"),
      kpi("wait_p90", minutes(h.wait.p90_ms), "P90等候(分)", "P90 wait (min)"),
      kpi("within_target", pct(h.wait.within_target_share), "目标内叫号", "Called within target"),
      kpi("service_mean", minutes(h.service.mean_ms), "平均办理(分)", "Mean service (min)"),
      kpi("satisfaction", pct(h.ratings.satisfaction_rate), "满意率", "Satisfaction"),
      kpi("rated_share", pct(h.ratings.rated_share), "参评率", "Rated share")
    );
  }

  // A column: key (data-k), zh, en, value(group) → text, numeric?
  const col = (k, zh, en, f, num = true) => ({ k, zh, en, f, num });
  function serviceColumns() {
    return [
      col("name", "业务", "Service", name, false),
      col("issued", "取号", "Issued", (g) => int(g.figures.issued)),
      col("called", "叫号", "Called", (g) => int(g.figures.called)),
      col("served", "办结", "Served", (g) => int(g.figures.served)),
      col("no_show", "过号", "No-show", (g) => int(g.figures.no_show)),
      col("transferred", "转移", "Transf.", (g) => int(g.figures.transferred)),
      col("wait_mean", "平均等候", "Mean wait", (g) => minutes(mean(g.figures.wait))),
      col("wait_p90", "P90等候", "P90 wait", (g) => minutes(g.figures.wait.p90_ms)),
      col("within_target", "目标内", "In target", (g) => pct(g.figures.wait.within_target_share)),
      col("service_mean", "平均办理", "Mean service", (g) => minutes(mean(g.figures.service))),
      col("satisfaction", "满意率", "Satisfaction", (g) => pct(g.figures.ratings.satisfaction_rate)),
    ];
  }
  function windowColumns() {
    return [
      col("id", "窗口", "Window", (g) => g.id),
      col("name", "名称", "Name", name, false),
      col("called", "叫号", "Called", (g) => int(g.figures.called)),
      col("served", "办结", "Served", (g) => int(g.figures.served)),
      col("no_show", "过号", "No-show", (g) => int(g.figures.no_show)),
      col("wait_mean", "平均等候", "Mean wait", (g) => minutes(mean(g.figures.wait))),
      col("service_mean", "平均办理", "Mean service", (g) => minutes(mean(g.figures.service))),
      col("idle", "有人等时空闲", "Idle w/ queue", (g) => minutes(g.figures.idle_while_waiting_ms)),
      col("paused", "暂停", "Paused", (g) => minutes(pausedTotal(g.figures.paused_ms))),
      col("satisfaction", "满意率", "Satisfaction", (g) => pct(g.figures.ratings.satisfaction_rate)),
    ];
  }
  function staffColumns() {
    return [
      col("name", "姓名", "Name", name, false),
      col("job", "工号", "Job no.", (g) => g.extra || "", false),
      col("called", "叫号", "Called", (g) => int(g.figures.called)),
      col("served", "办结", "Served", (g) => int(g.figures.served)),
      col("service_mean", "平均办理", "Mean service", (g) => minutes(mean(g.figures.service))),
      col("rated", "评价", "Rated", (g) => int(g.figures.ratings.rated)),
      col("negative", "差评", "Negative", (g) => int(g.figures.ratings.negative)),
      col("satisfaction", "满意率", "Satisfaction", (g) => pct(g.figures.ratings.satisfaction_rate)),
    ];
  }
  function departmentColumns() {
    return [
      col("name", "部门", "Department", name, false),
      col("issued", "取号", "Issued", (g) => int(g.figures.issued)),
      col("served", "办结", "Served", (g) => int(g.figures.served)),
      col("wait_mean", "平均等候", "Mean wait", (g) => minutes(mean(g.figures.wait))),
      col("satisfaction", "满意率", "Satisfaction", (g) => pct(g.figures.ratings.satisfaction_rate)),
    ];
  }
  function pausedTotal(p) {
    if (!p) return 0;
    return Object.values(p).reduce((a, x) => a + (typeof x === "number" ? x : 0), 0);
  }

  function renderTable(id, groups, cols) {
    const table = $(id);
    const head = el("thead", null, el("tr", null, cols.map((c) => el("th", { class: c.num ? "num" : "" }, HQ.t(c.zh, c.en)))));
    const list = groups || [];
    const rows = list.length
      ? list.map((g) =>
          el(
            "tr",
            { "data-id": g.id },
            cols.map((c) => el("td", { class: c.num ? "num" : "nowrap", "data-k": c.k }, c.f(g)))
          )
        )
      : [el("tr", { class: "empty" }, el("td", { colspan: cols.length, class: "muted" }, HQ.t("本期无数据", "No data for this period")))];
    table.replaceChildren(head, el("tbody", null, rows));
  }

  function renderRankings() {
    const r = report.rankings || { windows: [], staff: [] };
    $("rank-note").textContent = r.min_rated ? HQ.t("至少" + r.min_rated + "条评价方可上榜", "at least " + r.min_rated + " ratings to rank") : "";
    const item = (x) =>
      el(
        "li",
        { "data-id": x.id },
        el("span", { class: "rk" }, String(x.rank)),
        el("span", { class: "rn nowrap" }, x.name || x.id),
        el("span", { class: "rs", "data-k": "satisfaction" }, pct(x.satisfaction_rate)),
        el("span", { class: "rv muted" }, HQ.t("办结", "served") + " " + x.served + " · " + HQ.t("评价", "rated") + " " + x.rated)
      );
    const fill = (id, list) => {
      const top = (list || []).slice(0, 10);
      $(id).replaceChildren(...(top.length ? top.map(item) : [el("li", { class: "empty muted" }, HQ.t("暂无上榜", "Nobody ranked yet"))]));
    };
    fill("rank-windows", r.windows);
    fill("rank-staff", r.staff);
  }

  const LEVELS = [
    ["very_satisfied", "非常满意", "Very satisfied"],
    ["satisfied", "满意", "Satisfied"],
    ["basically_satisfied", "基本满意", "Basically satisfied"],
    ["dissatisfied", "不满意", "Dissatisfied"],
    ["very_dissatisfied", "非常不满意", "Very dissatisfied"],
    ["not_rated", "未评价", "Not rated"],
  ];
  function renderRatings() {
    const r = report.hall.ratings;
    $("sat-rate").textContent = HQ.t("满意率 ", "satisfaction ") + pct(r.satisfaction_rate);
    const max = Math.max(1, ...LEVELS.map(([k]) => r[k] || 0));
    $("stats-ratings").replaceChildren(
      ...LEVELS.map(([k, zh, en]) =>
        el(
          "div",
          { class: "rating " + k, "data-k": k },
          el("span", { class: "rl" }, HQ.t(zh, en)),
          el("span", { class: "bar" }, el("i", { style: "width:" + (100 * (r[k] || 0)) / max + "%" })),
          el("span", { class: "rc num" }, int(r[k] || 0))
        )
      )
    );
  }

  function renderFollowups() {
    const list = report.followups || [];
    const today = iso(HQ.hallNow());
    $("stats-followups").replaceChildren(
      ...(list.length
        ? list.slice(0, 50).map((f) => {
            const e = f.evaluation;
            const late = f.deadline < today;
            return el(
              "li",
              { class: late ? "late" : "", "data-id": String(e.id) },
              el("span", { class: "fn" }, e.number),
              el("span", { class: "nowrap" }, [e.service_name, e.window ? e.window + HQ.t("号窗口", "") : "", e.staff_name].filter(Boolean).join(" · ")),
              el("span", { class: "fr" }, e.rating_name),
              el("span", { class: "fd" }, HQ.t("整改期限 ", "due ") + f.deadline)
            );
          })
        : [el("li", { class: "empty muted" }, HQ.t("本期无差评", "No negative ratings this period"))])
    );
  }

  function renderDownloads() {
    const box = $("stats-downloads");
    const files = [{ file: "report.xlsx", label: "XLSX", title: HQ.t("全部报表（每表一页）", "The whole report, one sheet per view") }];
    for (const f of report.files || [])
      files.push({ file: f.stem + ".csv", label: "CSV · " + HQ.t(f.sheet, f.stem), title: f.stem + ".csv" });
    box.replaceChildren(
      ...files.map((f) =>
        el("button", { type: "button", class: "btn secondary dl", "data-file": f.file, title: f.title, onclick: () => download(f.file) }, f.label)
      )
    );
  }

  /// Downloads a report file: fetched with the bearer token (a plain link cannot send it).
  async function download(file) {
    const p = report ? report.period : null;
    const q = p ? "?period=" + p.kind + "&value=" + encodeURIComponent(p.label) : query();
    try {
      const res = await fetch("/api/v1/stats/" + file + q, {
        headers: { Authorization: "Bearer " + HQ.credential() },
        cache: "no-store",
      });
      if (!res.ok) {
        let msg = HQ.t("下载失败（", "Download failed (") + res.status + ")";
        try {
          const j = await res.json();
          if (j && j.error) msg = HQ.t(j.error.message, j.error.message_en);
        } catch (e) {
          // not JSON
        }
        showMsg(msg);
        return;
      }
      const disposition = res.headers.get("Content-Disposition") || "";
      const m = /filename="([^"]+)"/.exec(disposition);
      const blob = await res.blob();
      const url = URL.createObjectURL(blob);
      const a = el("a", { href: url, download: m ? m[1] : file });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    } catch (e) {
      showMsg(HQ.t("无法连接服务器，请稍后再试", "Cannot reach the server; try again shortly"));
    }
  }

  // ---- the view ---------------------------------------------------------------
  const signedIn = () => !$("dash").classList.contains("hidden");

  function setView(on) {
    document.body.classList.toggle("stats-view", on);
    $("stats").classList.toggle("hidden", !on);
    const b = $("stats-toggle");
    b.dataset.zh = on ? "实时大厅" : "统计报表";
    b.dataset.en = on ? "Live hall" : "Statistics";
    b.textContent = HQ.t(b.dataset.zh, b.dataset.en);
    b.classList.toggle("on", on);
    if (on && (!report || dirty)) load();
  }

  function step(dir) {
    if (!report) return;
    const p = report.period;
    const date = dir < 0 ? addDays(parseDate(p.first), -1) : addDays(parseDate(p.last), 1);
    value = valueOf(kind, date);
    load();
  }

  document.addEventListener("DOMContentLoaded", () => {
    // The toggle shows only while the dashboard is signed in; signing out leaves the view.
    const sync = () => {
      const on = signedIn();
      $("stats-toggle").classList.toggle("hidden", !on);
      if (!on && visible()) setView(false);
      if (!on) report = null;
    };
    new MutationObserver(sync).observe($("dash"), { attributes: true, attributeFilter: ["class"] });
    sync();
    $("stats-toggle").addEventListener("click", () => setView(!visible()));
    for (const b of $("stats-kinds").querySelectorAll("button"))
      b.addEventListener("click", () => {
        if (!KINDS.includes(b.dataset.kind)) return;
        kind = b.dataset.kind;
        value = null;
        $("stats-value").type = inputType(kind);
        load();
      });
    $("stats-value").addEventListener("change", (e) => {
      const v = e.target.value.trim();
      value = v || null;
      load();
    });
    $("stats-prev").addEventListener("click", () => step(-1));
    $("stats-next").addEventListener("click", () => step(1));
    $("stats-current").addEventListener("click", () => {
      value = null;
      load();
    });
    document.addEventListener("hallq:event", (e) => {
      if (e.detail && e.detail.name === "device") return;
      // A period that ended before today cannot change: no re-read (each
      // read folds the whole journal on the server).
      if (report && report.period.last < iso(HQ.hallNow())) return;
      if (visible()) refresh();
      else dirty = true;
    });
    HQ.onLang(render);
  });
})();
