//! The counter (`/counter`), the kiosk (`/kiosk`) and the citizen's phone
//! page (`/t/{id}?k=…`) in real headless Chromium against the real `hallq`
//! binary. Screenshots land in `target/screenshots/`.

mod browser;

use std::time::Duration;

use browser::{Browser, Daemon, js_str};

const S: fn(u64) -> Duration = Duration::from_secs;

/// One browser at a time: the CI machine has two cores.
static ONE_BROWSER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn text_is(selector: &str, text: &str) -> String {
    format!(
        "document.querySelector({}).textContent.trim() === {}",
        js_str(selector),
        js_str(text)
    )
}

fn enabled(selector: &str) -> String {
    format!(
        "(() => {{ const e = document.querySelector({}); return e && !e.disabled && e.getClientRects().length > 0; }})()",
        js_str(selector)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counter_signs_in_takes_a_window_and_serves_a_ticket() {
    let _one = ONE_BROWSER.lock().await;
    let hall = Daemon::start().await;
    let api = hall.api();
    let b = Browser::open(&hall.base(), 1366, 768).await;
    b.goto("/counter").await;

    // A refused sign-in says why.
    b.fill("#account", "w01").await;
    b.fill("#password", "wrong-password").await;
    b.click("#sign-in").await;
    b.wait_for(
        "document.querySelector('#message').textContent.trim().length > 0",
        S(5),
    )
    .await;
    let refused = b.text("#message").await;
    eprintln!("refused sign-in: {refused}");
    b.screenshot("counter-sign-in-refused").await;

    b.fill("#password", "demo").await;
    b.click("#sign-in").await;
    b.wait_css("#window-select option[value=\"1\"]", S(10))
        .await;
    b.click("#window-select option[value=\"1\"]").await;
    b.click("#take-window").await;
    b.wait_for(&enabled("#act-call-next"), S(10)).await;
    b.wait_css("#link.up", S(10)).await;
    let w = api.window(1).await;
    assert_eq!(
        w["staff"]["account"], "w01",
        "window 1 after #take-window: {w}"
    );

    // Nobody waiting: call-next says so.
    let before = b.text("#message").await;
    b.click("#act-call-next").await;
    b.wait_for(
        &format!(
            "(() => {{ const t = document.querySelector('#message').textContent.trim(); return t.length > 0 && t !== {}; }})()",
            js_str(&before)
        ),
        S(5),
    )
    .await;
    eprintln!(
        "call-next with nobody waiting: {}",
        b.text("#message").await
    );
    b.wait_for(&enabled("#act-call-next"), S(5)).await;

    // Call, start, finish done.
    let today_before = b.text("#today").await;
    let n1 = api.issue_number("tax").await;
    b.click("#act-call-next").await;
    b.wait_for(&text_is("#current-number", &n1), S(5)).await;
    assert_eq!(api.window(1).await["current"]["number"], n1.as_str());
    b.wait_for(&enabled("#act-start"), S(5)).await;
    b.click("#act-start").await;
    b.wait_for(&enabled("#act-finish"), S(5)).await;
    b.click("#outcome option[value=\"done\"]").await;
    b.screenshot("counter-1366x768-serving").await;
    b.click("#act-finish").await;
    b.wait_for(
        "/(^|[^0-9.])1([^0-9.]|$)/.test(document.querySelector('#today').textContent)",
        S(5),
    )
    .await;
    let today = b.text("#today").await;
    assert_ne!(today, today_before, "#today did not change after finishing");
    eprintln!("#today: {today}");
    let w = api.window(1).await;
    assert!(w["current"].is_null(), "window 1 after finish: {w}");
    assert_eq!(w["staff_today"]["served"], 1, "staff_today: {w}");

    // F1 calls the next ticket.
    let n2 = api.issue_number("tax").await;
    b.wait_for(&enabled("#act-call-next"), S(5)).await;
    b.press(fantoccini::key::Key::F1.into()).await;
    b.wait_for(&text_is("#current-number", &n2), S(5)).await;
    assert_eq!(api.window(1).await["current"]["number"], n2.as_str());
    tokio::time::sleep(Duration::from_millis(300)).await;
    b.screenshot("counter-1366x768").await;

    b.switch_to_english().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    b.screenshot("counter-1366x768-en").await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kiosk_issues_a_ticket_and_the_phone_page_follows_it() {
    let _one = ONE_BROWSER.lock().await;
    let hall = Daemon::start().await;
    let api = hall.api();
    let b = Browser::open(&hall.base(), 1080, 1920).await;
    b.goto("/kiosk#key=demo-kiosk").await;
    b.wait_css(".service[data-service=\"tax\"]", S(10)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    b.screenshot("kiosk-1080x1920").await;
    b.switch_to_english().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    b.screenshot("kiosk-1080x1920-en").await;
    b.switch_to_chinese().await;

    b.click(".service[data-service=\"tax\"]").await;
    b.wait_for(
        "/^[A-Z]+\\d+$/.test(document.querySelector('#ticket-number').textContent.trim())",
        S(5),
    )
    .await;
    let number = b.text("#ticket-number").await;
    b.wait_for(
        "(() => { const i = document.querySelector('#ticket-qr'); return i && i.complete && i.naturalWidth > 0; })()",
        S(5),
    )
    .await;
    let hall_view = api.hall().await;
    let tax = hall_view["services"]
        .as_array()
        .expect("services")
        .iter()
        .find(|s| s["id"] == "tax")
        .expect("tax service");
    assert_eq!(
        tax["waiting"], 1,
        "one tax ticket waiting after the kiosk: {tax}"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    b.screenshot("kiosk-1080x1920-ticket").await;

    // The status link (what the QR code encodes) answers without a credential.
    let qr = b
        .js("return document.querySelector('#ticket-qr').getAttribute('src')")
        .await;
    let qr = qr.as_str().expect("#ticket-qr src").to_string();
    let (id, mac) = parse_qr_src(&qr).unwrap_or_else(|| panic!("unexpected QR address {qr}"));
    let status = format!("/t/{id}?k={mac}");
    let r = api.get(&status, None).await;
    assert_eq!(r.status, 200, "GET {status}");
    let r = api
        .get(&format!("/api/v1/public/tickets/{id}?k={mac}"), None)
        .await;
    assert_eq!(r.status, 200, "public ticket view: {}", r.text());
    assert_eq!(r.json()["number"], number.as_str());
    let r = api
        .get(&format!("/api/v1/public/tickets/{id}?k=0{mac}"), None)
        .await;
    assert!(r.status >= 400, "a wrong MAC is refused: {}", r.status);

    // The phone page: the number, then the call with its window.
    b.set_viewport(360, 740).await;
    b.goto(&status).await;
    b.wait_for(&text_is("#number", &number), S(10)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    b.screenshot("phone-360x740-waiting").await;
    let w1 = api.staff_window("w01", 1).await;
    assert_eq!(api.call_next(&w1, 1).await, number);
    b.wait_for(
        "(() => { const e = document.querySelector('#called'); return e && e.getClientRects().length > 0 && /1/.test(e.textContent); })()",
        S(5),
    )
    .await;
    eprintln!("phone #called: {}", b.text("#called").await);
    tokio::time::sleep(Duration::from_millis(300)).await;
    b.screenshot("phone-360x740-called").await;
    b.switch_to_english().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    b.screenshot("phone-360x740-called-en").await;
    b.close().await;
}

/// `/api/v1/public/tickets/{id}/qr.svg?k=MAC` → (id, MAC).
fn parse_qr_src(src: &str) -> Option<(String, String)> {
    let rest = src.split("/api/v1/public/tickets/").nth(1)?;
    let (id, rest) = rest.split_once('/')?;
    let mac = rest.split("k=").nth(1)?.split('&').next()?;
    Some((id.to_string(), mac.to_string()))
}
