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
    tokio::time::sleep(Duration::from_millis(1000)).await; // chart animations
    b.screenshot("manager-1920x1080").await;
    b.switch_to_english().await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    b.screenshot("manager-1920x1080-en").await;
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
