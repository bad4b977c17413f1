//! The manager dashboard (`/manager`) and the demo hall's device simulator
//! (`/sim`) in real headless Chromium against the real `hallq` binary.
//! Screenshots land in `target/screenshots/`.

mod browser;

use std::time::Duration;

use browser::{Browser, Daemon, js_str};

const S: fn(u64) -> Duration = Duration::from_secs;

/// One browser at a time: the CI machine has two cores.
static ONE_BROWSER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The canvas has a Chart.js chart and is not blank.
fn chart_drawn(id: &str) -> String {
    format!(
        "(() => {{
            const c = document.getElementById({id});
            if (!c || !c.width || !c.height) return false;
            if (!(window.Chart && Chart.getChart(c))) return false;
            const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            let ink = 0;
            for (let i = 3; i < d.length; i += 4) if (d[i] > 0) ink++;
            return ink > 500;
        }})()",
        id = js_str(id)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manager_dashboard_shows_the_plan_and_todays_charts() {
    let _one = ONE_BROWSER.lock().await;
    let hall = Daemon::start().await;
    let api = hall.api();
    // Some of today: arrivals, two calls (waits), one served.
    let w1 = api.staff_window("w01", 1).await;
    let w2 = api.staff_window("w02", 2).await;
    for s in ["tax", "tax", "medical", "social-insurance"] {
        api.issue(s).await;
    }
    api.call_next(&w1, 1).await;
    api.serve_current(&w1, 1).await;
    api.call_next(&w1, 1).await;
    api.call_next(&w2, 2).await;

    let b = Browser::open(&hall.base(), 1920, 1080).await;
    b.goto("/manager").await;
    b.fill("#account", "manager").await;
    b.fill("#password", "demo").await;
    b.click("#sign-in").await;
    b.wait_for(
        "document.querySelectorAll('#plan .window').length > 0",
        S(10),
    )
    .await;
    b.wait_css("#link.up", S(10)).await;
    let tiles = b.count("#plan .window").await;
    assert_eq!(
        tiles, 30,
        "#plan has {tiles} .window tiles, the demo hall has 30 windows"
    );
    for n in [1, 18, 21, 32] {
        b.wait_css(&format!("#plan .window[data-window=\"{n}\"]"), S(2))
            .await;
    }
    b.wait_for(&chart_drawn("chart-arrivals"), S(10)).await;
    b.wait_for(&chart_drawn("chart-waits"), S(10)).await;

    // Live: a call at window 3 shows on its tile without a reload.
    let w3 = api.staff_window("w03", 3).await;
    api.issue("invoice").await; // served at window 3, not at 1 or 2
    let called = api.call_next(&w3, 3).await;
    b.wait_for(
        &format!(
            "document.querySelector('#plan .window[data-window=\"3\"]').textContent.includes({})",
            js_str(&called)
        ),
        S(5),
    )
    .await;

    // A live alert: window 4 goes to lunch long before the session ends (the
    // demo's session ends at midnight), so 提前午休 comes on the stream; it
    // goes when the window resumes. (Not in the last quarter hour of the day,
    // when such a lunch is not early.)
    let now = api.hall().await["now"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let early = now.get(11..16).is_some_and(|hhmm| hhmm < "23:44");
    let w4 = api.staff_window("w04", 4).await;
    let lunch = "#alerts li[data-key=\"early_lunch:4\"]";
    if early {
        let body = serde_json::json!({"reason": "lunch"});
        api.post_ok("/api/v1/windows/4/pause", Some(&w4), Some(&body))
            .await;
        b.wait_css(&format!("{lunch}[data-state=\"raised\"]"), S(5))
            .await;
        b.wait_for(
            &format!(
                "document.querySelector({}).textContent.includes('提前午休')",
                js_str(lunch)
            ),
            S(2),
        )
        .await;
    } else {
        eprintln!("hall time {now}: a lunch now is not early; the alert is not checked");
    }

    tokio::time::sleep(Duration::from_millis(1000)).await; // chart animations
    b.screenshot("manager-1920x1080").await;
    b.switch_to_english().await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    b.screenshot("manager-1920x1080-en").await;
    if early {
        b.wait_for(
            &format!(
                "document.querySelector({}).textContent.includes('Early lunch')",
                js_str(lunch)
            ),
            S(2),
        )
        .await;
        api.post_ok("/api/v1/windows/4/resume", Some(&w4), None)
            .await;
        b.wait_for(&format!("!document.querySelector({})", js_str(lunch)), S(5))
            .await;
    }
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sim_page_lists_the_devices_and_its_keypads_call() {
    let _one = ONE_BROWSER.lock().await;
    let hall = Daemon::start().await;
    let api = hall.api();
    let b = Browser::open(&hall.base(), 1920, 1080).await;
    b.goto("/sim#key=demo-display").await;
    b.wait_for("document.querySelectorAll('.device').length > 50", S(15))
        .await;
    let devices = b.count(".device").await;
    eprintln!("{devices} simulated devices listed");

    api.staff_window("w01", 1).await;
    let number = api.issue_number("tax").await;
    let key = ".key[data-window=\"1\"][data-key=\"call_next\"]";
    b.click(key).await;
    let deadline = std::time::Instant::now() + S(5);
    loop {
        let w = api.window(1).await;
        if w["current"]["number"] == number.as_str() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the sim keypad did not call {number} at window 1: {w}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // What window 1's devices show changes to the called number.
    b.wait_for(
        &format!(
            "[...document.querySelectorAll('.device')].some((d) => d.textContent.includes({}))",
            js_str(&number)
        ),
        S(5),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    b.screenshot("sim-1920x1080").await;
    b.close().await;
}

/// The statistics view's figures, read from the page: (journal seq, KPIs by
/// key, and the `served` cell of service tax, window 1 and staff w01).
async fn page_figures(b: &browser::Browser) -> serde_json::Value {
    b.js("const s = document.getElementById('stats');
        const k = {};
        for (const e of document.querySelectorAll('#stats-kpis .kpi')) k[e.dataset.k] = e.querySelector('.v').textContent;
        const cell = (t, id, key) => { const c = document.querySelector('#' + t + ' tr[data-id=\"' + id + '\"] td[data-k=\"' + key + '\"]'); return c ? c.textContent : null; };
        return { seq: Number(s.dataset.seq || -1), kpis: k,
                 tax: cell('stats-services', 'tax', 'served'),
                 w1: cell('stats-windows', '1', 'served'),
                 w01: cell('stats-staff', 'w01', 'served'),
                 sat: document.getElementById('sat-rate').textContent };")
        .await
}

/// The page shows what `GET /api/v1/stats` says (integers exactly, minutes
/// and shares to the shown precision); `None` when it matches, else why not.
fn mismatch(page: &serde_json::Value, api: &serde_json::Value) -> Option<String> {
    use serde_json::Value;
    if page["seq"] != api["journal_last_seq"] {
        return Some(format!(
            "page seq {} vs API {}",
            page["seq"], api["journal_last_seq"]
        ));
    }
    let h = &api["hall"];
    let ints = [
        ("issued", &h["issued"]),
        ("served", &h["served"]),
        ("no_show", &h["no_show"]),
        ("transferred", &h["transferred"]),
    ];
    for (k, v) in ints {
        if page["kpis"][k].as_str() != Some(v.to_string().as_str()) {
            return Some(format!("kpi {k}: page {} vs API {v}", page["kpis"][k]));
        }
    }
    let close = |shown: &Value, want: Option<f64>, scale: f64| -> bool {
        match (shown.as_str(), want) {
            (Some("–"), None) => true,
            (Some(s), Some(x)) => s
                .trim_end_matches('%')
                .parse::<f64>()
                .is_ok_and(|p| (p - x * scale).abs() <= 0.05 + 1e-9),
            _ => false,
        }
    };
    let minute = |v: &Value| v.as_f64().map(|ms| ms / 60_000.0);
    let checks = [
        ("wait_mean", minute(&h["wait"]["mean_ms"]), 1.0),
        ("wait_p90", minute(&h["wait"]["p90_ms"]), 1.0),
        ("service_mean", minute(&h["service"]["mean_ms"]), 1.0),
        (
            "within_target",
            h["wait"]["within_target_share"].as_f64(),
            100.0,
        ),
        (
            "satisfaction",
            h["ratings"]["satisfaction_rate"].as_f64(),
            100.0,
        ),
    ];
    for (k, want, scale) in checks {
        if !close(&page["kpis"][k], want, scale) {
            return Some(format!("kpi {k}: page {} vs API {want:?}", page["kpis"][k]));
        }
    }
    let served = |list: &str, id: &str| {
        api[list]
            .as_array()
            .and_then(|l| l.iter().find(|g| g["id"] == id))
            .map(|g| g["figures"]["served"].to_string())
    };
    for (cell, list, id) in [
        ("tax", "services", "tax"),
        ("w1", "windows", "1"),
        ("w01", "staff", "w01"),
    ] {
        if page[cell].as_str().map(String::from) != served(list, id) {
            return Some(format!(
                "{list} {id} served: page {} vs API {:?}",
                page[cell],
                served(list, id)
            ));
        }
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manager_statistics_show_the_figures_of_the_api() {
    let _one = ONE_BROWSER.lock().await;
    let hall = Daemon::start().await;
    let api = hall.api();
    let w1 = api.staff_window("w01", 1).await;
    for _ in 0..3 {
        api.issue("tax").await;
    }
    api.call_next(&w1, 1).await;
    api.serve_current(&w1, 1).await;
    api.call_next(&w1, 1).await;
    api.serve_current(&w1, 1).await;
    let manager = api.sign_in("manager").await;

    let b = Browser::open(&hall.base(), 1920, 1080).await;
    b.goto("/manager").await;
    b.fill("#account", "manager").await;
    b.fill("#password", "demo").await;
    b.click("#sign-in").await;
    b.wait_css("#link.up", S(10)).await;
    b.click("#stats-toggle").await;
    b.wait_for(
        "document.querySelector('#stats-kpis .kpi[data-k=\"served\"]')",
        S(15),
    )
    .await;
    assert!(
        b.check("getComputedStyle(document.getElementById('dash')).display === 'none'")
            .await,
        "the live hall gives way to the statistics"
    );

    // The page matches the API (re-read until both stand at the same journal row).
    let agree = |want_served: u64| {
        let b = &b;
        let api = &api;
        let manager = &manager;
        async move {
            let deadline = std::time::Instant::now() + S(15);
            loop {
                let stats = api.get("/api/v1/stats?period=day", Some(manager)).await;
                assert_eq!(stats.status, 200, "{}", stats.text());
                let stats = stats.json();
                let page = page_figures(b).await;
                let why = match mismatch(&page, &stats) {
                    None if stats["hall"]["served"] == want_served => return stats,
                    None => format!("served {} (want {want_served})", stats["hall"]["served"]),
                    Some(why) => why,
                };
                if std::time::Instant::now() > deadline {
                    b.fail(&format!(
                        "the statistics panel does not match the API: {why}\npage: {page}"
                    ))
                    .await;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    };
    let stats = agree(2).await;
    assert!(stats["hall"]["issued"].as_u64().unwrap() >= 3);
    assert!(
        b.count("#stats-downloads button[data-file=\"report.xlsx\"]")
            .await
            == 1
    );
    assert!(
        b.count("#stats-downloads button[data-file=\"services.csv\"]")
            .await
            == 1
    );

    // Live: one more served ticket shows without a reload (the event stream).
    api.call_next(&w1, 1).await;
    api.serve_current(&w1, 1).await;
    agree(3).await;

    // Another period: the month holds at least today's figures.
    b.click("#stats-kinds button[data-kind=\"month\"]").await;
    b.wait_for(
        "document.getElementById('stats').dataset.period.length === 7",
        S(10),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    b.screenshot("manager-stats-1920x1080").await;
    b.switch_to_english().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    b.screenshot("manager-stats-1920x1080-en").await;
    b.close().await;
}
