//! `GET /metrics`: the Prometheus text exposition (0.0.4) parsed line by
//! line by a small parser here (HELP/TYPE, `name{labels} value`, escapes,
//! one group per family, a TYPE for every sample, cumulative histogram
//! buckets ending in `+Inf` = `_count`), the values following what the hall
//! did, and who may scrape.

mod common;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

use common::*;
use hallq::config::ApiKeyRole;
use hallq::config::model::ApiKeyConfig;
use hallq::queue::TicketId;
use serde_json::json;

/// One sample line.
#[derive(Debug, Clone)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// A parsed exposition.
#[derive(Debug)]
struct Exposition {
    types: HashMap<String, String>,
    samples: Vec<Sample>,
}

fn valid_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn valid_label_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn parse_value(s: &str) -> Option<f64> {
    match s {
        "+Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        "NaN" => Some(f64::NAN),
        _ => s.parse().ok(),
    }
}

/// `{a="x",b="y\"z"}` → labels; returns the rest of the line after `}`.
fn parse_labels(s: &str, line: &str) -> (BTreeMap<String, String>, String) {
    let mut labels = BTreeMap::new();
    let mut chars = s.chars().peekable();
    loop {
        let mut name = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' || c == '}' {
                break;
            }
            name.push(c);
            chars.next();
        }
        match chars.next() {
            Some('}') if name.is_empty() => break,
            Some('=') => {}
            _ => panic!("label without '=': {line}"),
        }
        assert!(valid_label_name(&name), "bad label name {name:?}: {line}");
        assert_eq!(chars.next(), Some('"'), "label value not quoted: {line}");
        let mut value = String::new();
        loop {
            match chars.next() {
                Some('\\') => match chars.next() {
                    Some('\\') => value.push('\\'),
                    Some('"') => value.push('"'),
                    Some('n') => value.push('\n'),
                    other => panic!("bad escape \\{other:?}: {line}"),
                },
                Some('"') => break,
                Some('\n') | None => panic!("unterminated label value: {line}"),
                Some(c) => value.push(c),
            }
        }
        assert!(
            labels.insert(name.clone(), value).is_none(),
            "label {name} twice: {line}"
        );
        match chars.next() {
            Some(',') => {}
            Some('}') => break,
            other => panic!("expected ',' or '}}', got {other:?}: {line}"),
        }
    }
    (labels, chars.collect())
}

/// The family a sample belongs to (a histogram's `_bucket`, `_sum`, `_count`).
fn family_of<'a>(name: &'a str, types: &HashMap<String, String>) -> Option<&'a str> {
    if types.contains_key(name) {
        return Some(name);
    }
    for suffix in ["_bucket", "_sum", "_count"] {
        if let Some(base) = name.strip_suffix(suffix)
            && types.get(base).is_some_and(|t| t == "histogram")
        {
            return Some(base);
        }
    }
    None
}

/// Parses and checks every line; panics naming the line that breaks the format.
fn parse(text: &str) -> Exposition {
    assert!(text.ends_with('\n'), "the exposition ends with a line feed");
    let mut types: HashMap<String, String> = HashMap::new();
    let mut helps: HashSet<String> = HashSet::new();
    let mut samples = Vec::new();
    let mut seen_series = HashSet::new();
    // Families already left: each family must be one group of lines.
    let mut done: HashSet<String> = HashSet::new();
    let mut current: Option<String> = None;
    let mut enter = |family: &str, line: &str, done: &mut HashSet<String>| {
        if current.as_deref() != Some(family) {
            assert!(
                !done.contains(family),
                "family {family} is split in two groups: {line}"
            );
            if let Some(c) = current.take() {
                done.insert(c);
            }
            current = Some(family.to_string());
        }
    };
    for line in text.lines() {
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, _help) = rest.split_once(' ').unwrap_or((rest, ""));
            assert!(valid_name(name), "bad name in HELP: {line}");
            assert!(helps.insert(name.to_string()), "HELP twice: {line}");
            enter(name, line, &mut done);
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("TYPE name kind");
            assert!(valid_name(name), "bad name in TYPE: {line}");
            assert!(
                ["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind),
                "bad type: {line}"
            );
            assert!(
                types.insert(name.to_string(), kind.to_string()).is_none(),
                "TYPE twice: {line}"
            );
            enter(name, line, &mut done);
            continue;
        }
        if line.starts_with('#') {
            continue; // a comment
        }
        let name_end = line.find(['{', ' ']).unwrap_or(line.len());
        let name = &line[..name_end];
        assert!(valid_name(name), "bad metric name: {line}");
        let (labels, rest) = if line[name_end..].starts_with('{') {
            parse_labels(&line[name_end + 1..], line)
        } else {
            (BTreeMap::new(), line[name_end..].to_string())
        };
        let rest = rest
            .strip_prefix(' ')
            .unwrap_or_else(|| panic!("no space before the value: {line}"));
        let mut parts = rest.split(' ');
        let value = parts
            .next()
            .and_then(parse_value)
            .unwrap_or_else(|| panic!("bad value: {line}"));
        if let Some(ts) = parts.next() {
            assert!(ts.parse::<i64>().is_ok(), "bad timestamp: {line}");
        }
        assert!(parts.next().is_none(), "trailing text: {line}");
        let family = family_of(name, &types)
            .unwrap_or_else(|| panic!("a sample without a TYPE before it: {line}"))
            .to_string();
        enter(&family, line, &mut done);
        assert!(
            seen_series.insert(format!("{name}{labels:?}")),
            "the same series twice: {line}"
        );
        if types[&family] == "counter" {
            assert!(value >= 0.0, "a negative counter: {line}");
        }
        samples.push(Sample {
            name: name.to_string(),
            labels,
            value,
        });
    }
    let x = Exposition { types, samples };
    check_histograms(&x);
    x
}

/// Buckets cumulative, `+Inf` last and equal to `_count`, `_sum` present.
fn check_histograms(x: &Exposition) {
    for (family, kind) in &x.types {
        if kind != "histogram" {
            continue;
        }
        let mut series: BTreeMap<BTreeMap<String, String>, Vec<(f64, f64)>> = BTreeMap::new();
        for s in x
            .samples
            .iter()
            .filter(|s| s.name == format!("{family}_bucket"))
        {
            let mut labels = s.labels.clone();
            let le = labels.remove("le").expect("a bucket has le");
            let le = parse_value(&le).expect("le is a number");
            series.entry(labels).or_default().push((le, s.value));
        }
        for (labels, buckets) in series {
            let bounds: Vec<f64> = buckets.iter().map(|b| b.0).collect();
            assert!(
                bounds.windows(2).all(|w| w[0] < w[1]),
                "{family}{labels:?}: le not increasing: {bounds:?}"
            );
            assert_eq!(
                bounds.last().copied(),
                Some(f64::INFINITY),
                "{family}{labels:?}: the last bucket is +Inf"
            );
            assert!(
                buckets.windows(2).all(|w| w[0].1 <= w[1].1),
                "{family}{labels:?}: buckets not cumulative: {buckets:?}"
            );
            let count = x
                .get(&format!("{family}_count"), &as_pairs(&labels))
                .unwrap_or_else(|| panic!("{family}{labels:?}: no _count"));
            assert_eq!(
                buckets.last().unwrap().1,
                count,
                "{family}{labels:?}: +Inf = _count"
            );
            assert!(
                x.get(&format!("{family}_sum"), &as_pairs(&labels))
                    .is_some(),
                "{family}{labels:?}: no _sum"
            );
        }
    }
}

fn as_pairs(labels: &BTreeMap<String, String>) -> Vec<(&str, &str)> {
    labels
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

impl Exposition {
    /// The sample with exactly these labels.
    fn get(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        self.samples
            .iter()
            .find(|s| {
                s.name == name
                    && s.labels.len() == labels.len()
                    && labels
                        .iter()
                        .all(|(k, v)| s.labels.get(*k).is_some_and(|x| x == v))
            })
            .map(|s| s.value)
    }

    /// Like `get`, 0 when absent (a counter not yet seen).
    fn or0(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.get(name, labels).unwrap_or(0.0)
    }

    #[track_caller]
    fn must(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.get(name, labels)
            .unwrap_or_else(|| panic!("no sample {name}{labels:?}"))
    }

    fn all(&self, name: &str) -> impl Iterator<Item = &Sample> {
        self.samples.iter().filter(move |s| s.name == name)
    }
}

/// A metrics key added to the demo hall: (config, key).
fn config_with_metrics_key() -> (hallq::config::Config, String) {
    let mut c = demo_config();
    let (key, sha256) = hallq::accounts::new_api_key();
    c.file.api_keys.push(ApiKeyConfig {
        id: "prometheus".into(),
        role: ApiKeyRole::Metrics,
        sha256,
    });
    (c, key)
}

async fn scrape(s: &TestServer, token: &str) -> Exposition {
    let r = s.get("/metrics", Some(token)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    parse(&r.text())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_follow_an_issued_and_served_ticket() {
    let (config, key) = config_with_metrics_key();
    let s = start(config).await;
    let tax = [("service", "tax")];
    let issue_route = [
        ("route", "/api/v1/tickets"),
        ("method", "POST"),
        ("code", "201"),
    ];
    let before = scrape(&s, &key).await;
    let issued0 = before.must("hallq_tickets_issued_today", &tax);
    let served0 = before.must("hallq_tickets_served_today", &tax);
    let finished0 = before.must(
        "hallq_tickets",
        &[("service", "tax"), ("state", "finished")],
    );
    let posts0 = before.or0("hallq_http_requests_total", &issue_route);
    let commits0 = before.must("hallq_journal_commit_seconds_count", &[]);

    let t = s.issue("tax").await;
    let number = t["number"].as_str().unwrap().to_string();
    let waiting = scrape(&s, &key).await;
    assert_eq!(
        waiting.must("hallq_tickets_issued_today", &tax),
        issued0 + 1.0
    );
    assert_eq!(
        waiting.must("hallq_tickets", &[("service", "tax"), ("state", "waiting")]),
        1.0
    );
    assert!(waiting.must("hallq_longest_wait_seconds", &tax) >= 0.0);

    let tok = s.token("w01");
    s.act(1, "sign-in", &tok, None).await;
    let called = s.act(1, "call-next", &tok, None).await;
    assert_eq!(called["ticket"]["number"], number.as_str());
    s.act(1, "start", &tok, None).await;
    s.act(1, "finish", &tok, Some(json!({"outcome": "done"})))
        .await;

    let after = scrape(&s, &key).await;
    assert_eq!(
        after.must("hallq_tickets_issued_today", &tax),
        issued0 + 1.0
    );
    assert_eq!(
        after.must("hallq_tickets_served_today", &tax),
        served0 + 1.0
    );
    assert_eq!(
        after.must(
            "hallq_tickets",
            &[("service", "tax"), ("state", "finished")]
        ),
        finished0 + 1.0
    );
    assert_eq!(
        after.must("hallq_tickets", &[("service", "tax"), ("state", "waiting")]),
        0.0
    );
    assert_eq!(after.must("hallq_longest_wait_seconds", &tax), 0.0);
    assert!(after.must("hallq_day_visits_served", &[]) >= 1.0);
    assert_eq!(
        after.must("hallq_http_requests_total", &issue_route),
        posts0 + 1.0
    );
    assert_eq!(
        after.must(
            "hallq_http_requests_total",
            &[
                ("route", "/api/v1/windows/{n}/call-next"),
                ("method", "POST"),
                ("code", "200")
            ]
        ),
        1.0
    );
    assert!(
        after.must(
            "hallq_http_request_duration_seconds_count",
            &[("route", "/api/v1/windows/{n}/finish"), ("method", "POST")]
        ) >= 1.0
    );
    // Routes are templates, never raw paths.
    for sample in after.all("hallq_http_requests_total") {
        let route = &sample.labels["route"];
        assert!(
            !route.contains("/windows/1/"),
            "a raw path as a label: {route}"
        );
    }
    // Window 1 is staffed and idle again; every window is counted once.
    assert!(after.must("hallq_windows", &[("activity", "idle")]) >= 1.0);
    let windows: f64 = after.all("hallq_windows").map(|s| s.value).sum();
    assert_eq!(windows as usize, s.config.windows().len());
    // The journal: four commits at least (issue, sign-in, call, start, finish), its seq and size.
    assert!(after.must("hallq_journal_commit_seconds_count", &[]) >= commits0 + 4.0);
    assert_eq!(
        after.must("hallq_journal_last_seq", &[]),
        s.seq().await as f64
    );
    assert!(after.must("hallq_journal_bytes", &[("file", "main")]) > 0.0);
    assert_eq!(after.must("hallq_journal_writable", &[]), 1.0);
    assert_eq!(after.must("hallq_business_day_open", &[]), 1.0);
    assert_eq!(after.types["hallq_journal_commit_seconds"], "histogram");
    assert_eq!(after.types["hallq_http_requests_total"], "counter");
    // No personal data: no account, no ticket number anywhere in the text.
    let text = s.get("/metrics", Some(&key)).await.text();
    assert!(!text.contains("w01"), "an account in the metrics");
    assert!(!text.contains(&number), "a ticket number in the metrics");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sse_client_gauge_follows_open_streams() {
    let (config, key) = config_with_metrics_key();
    let s = start(config).await;
    let events = [("stream", "events")];
    let public = [("stream", "public")];
    assert_eq!(
        scrape(&s, &key).await.must("hallq_sse_clients", &events),
        0.0
    );

    let stream = SseStream::open(s.addr, "", Some(DISPLAY), None).await;
    assert_eq!(stream.status, 200);
    let open = scrape(&s, &key).await;
    assert_eq!(open.must("hallq_sse_clients", &events), 1.0);
    assert_eq!(open.must("hallq_sse_clients", &public), 0.0);

    // A phone following its ticket.
    let t = s.issue("tax").await;
    let id = t["id"].as_u64().unwrap();
    let ticket = s
        .query(move |h| h.ticket(TicketId(id)).map(std::borrow::Cow::into_owned))
        .await
        .unwrap();
    let k = hallq::api::public::status_mac(&[7u8; 32], &ticket);
    let phone = SseStream::open_req(
        s.addr,
        Req::new("GET", &format!("/api/v1/public/tickets/{id}/events?k={k}"))
            .header("Accept", "text/event-stream"),
    )
    .await;
    assert_eq!(phone.status, 200);
    assert_eq!(
        scrape(&s, &key).await.must("hallq_sse_clients", &public),
        1.0
    );

    // The clients leave: the server notices when it next writes to them
    // (the next event, or the 15 s keep-alive); an event comes at once here.
    drop(stream);
    drop(phone);
    let tok = s.token("w01");
    s.act(1, "sign-in", &tok, None).await;
    s.act(1, "call-next", &tok, None).await;
    let deadline = Instant::now() + REQUEST_TIMEOUT + Duration::from_secs(20);
    loop {
        let x = scrape(&s, &key).await;
        let (e, p) = (
            x.must("hallq_sse_clients", &events),
            x.must("hallq_sse_clients", &public),
        );
        if e == 0.0 && p == 0.0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "streams still counted after their clients left: events {e}, public {p}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_managers_admins_and_metrics_keys_may_scrape() {
    let (config, key) = config_with_metrics_key();
    let s = start(config).await;
    let r = s.get("/metrics", None).await;
    r.assert_error(401, "unauthorized");
    let r = s.get("/metrics", Some("not-a-key")).await;
    r.assert_error(401, "unauthorized");
    for who in [KIOSK, DISPLAY] {
        s.get("/metrics", Some(who))
            .await
            .assert_error(403, "forbidden");
    }
    for account in ["w01", "supervisor"] {
        let tok = s.token(account);
        s.get("/metrics", Some(&tok))
            .await
            .assert_error(403, "forbidden");
    }
    for account in ["manager", "admin"] {
        let tok = s.token(account);
        scrape(&s, &tok).await;
    }
    scrape(&s, &key).await;
    // The metrics key opens nothing else.
    for path in [
        "/api/v1/hall",
        "/api/v1/windows",
        "/api/v1/journal",
        "/api/v1/alerts",
    ] {
        s.get(path, Some(&key)).await.assert_error(403, "forbidden");
    }
    let r = s
        .post("/api/v1/tickets", Some(&key), json!({"service": "tax"}))
        .await;
    r.assert_error(403, "forbidden");
    let stream = SseStream::open(s.addr, "", Some(&key), None).await;
    assert_eq!(stream.status, 403);
    // Refused scrapes are counted too, under the route's template.
    let x = scrape(&s, &key).await;
    let refused = x.must(
        "hallq_http_requests_total",
        &[("route", "/metrics"), ("method", "GET"), ("code", "403")],
    );
    assert_eq!(refused, 4.0);
    assert_eq!(
        x.must(
            "hallq_http_requests_total",
            &[("route", "/metrics"), ("method", "GET"), ("code", "401")]
        ),
        2.0
    );
    let unmatched = x.or0(
        "hallq_http_requests_total",
        &[("route", "unmatched"), ("method", "GET"), ("code", "404")],
    );
    s.get("/no/such/page/42", None).await;
    let y = scrape(&s, &key).await;
    assert_eq!(
        y.must(
            "hallq_http_requests_total",
            &[("route", "unmatched"), ("method", "GET"), ("code", "404")]
        ),
        unmatched + 1.0
    );
}

/// The scrape's cost with ~1,000 tickets in the demo hall (printed, not
/// asserted: figures go in BENCHMARKS.md from a release build, see
/// `examples/metrics_scrape.rs`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scrape_over_a_thousand_tickets_parses() {
    let (config, key) = config_with_metrics_key();
    let s = start(config).await;
    let services: Vec<String> = s.config.services().iter().map(|x| x.id.clone()).collect();
    let mut issued = 0;
    for i in 0..1000 {
        let service = &services[i % services.len()];
        let r = s
            .submit(
                hallq::queue::Actor::Kiosk("demo-kiosk".into()),
                hallq::queue::Command::Issue {
                    service: service.clone(),
                    priority: None,
                    person: None,
                    source: hallq::queue::IssueSource::Kiosk,
                    cases: 1,
                },
            )
            .await;
        if r.is_ok() {
            issued += 1;
        }
    }
    assert!(issued >= 900, "only {issued} of 1000 tickets issued");
    let mut times = Vec::new();
    let mut last = None;
    for _ in 0..15 {
        let t = Instant::now();
        let x = scrape(&s, &key).await;
        times.push(t.elapsed());
        last = Some(x);
    }
    times.sort();
    let x = last.unwrap();
    let waiting: f64 = x
        .all("hallq_tickets")
        .filter(|s| s.labels["state"] == "waiting")
        .map(|s| s.value)
        .sum();
    assert_eq!(waiting as usize, issued);
    let today: f64 = x.all("hallq_tickets_issued_today").map(|s| s.value).sum();
    assert_eq!(today as usize, issued);
    eprintln!(
        "scrape with {issued} tickets ({} lines): median {:?} (debug build, incl. HTTP and parsing)",
        x.samples.len(),
        times[times.len() / 2]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_real_daemon_shows_its_devices_and_alerts() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = daemon::serve_cmd(dir.path());
    cmd.arg("--quiet-sim");
    let d = start_daemon(cmd, daemon::Log::Null, Duration::from_secs(60)).await;
    let addr = d.addr;
    let r = send(
        addr,
        Req::new("POST", "/api/v1/sessions")
            .json(&json!({"account": "manager", "password": "demo"})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let tok = r.json()["token"].as_str().unwrap().to_string();
    // The simulated devices come online within moments of the start.
    let deadline = Instant::now() + Duration::from_secs(60);
    let x = loop {
        let r = send(addr, Req::new("GET", "/metrics").auth(Some(&tok))).await;
        assert_eq!(r.status, 200, "{}", r.text());
        let x = parse(&r.text());
        if x.must("hallq_devices", &[("link", "online")]) > 0.0 {
            break x;
        }
        assert!(Instant::now() < deadline, "no device came online");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let devices = x.all("hallq_device_up").count();
    let by_link: f64 = x.all("hallq_devices").map(|s| s.value).sum();
    assert!(devices > 0);
    assert_eq!(
        by_link as usize, devices,
        "every device counted once by link"
    );
    let up = x
        .all("hallq_device_up")
        .find(|s| s.value == 1.0)
        .expect("a device up");
    let bus = up.labels["bus"].clone();
    assert!(x.must("hallq_bus_requests_total", &[("bus", &bus)]) > 0.0);
    for kind in [
        "timeout",
        "bad_crc",
        "garbage",
        "bad_reply",
        "port_error",
        "exception",
    ] {
        x.must("hallq_bus_errors_total", &[("bus", &bus), ("kind", kind)]);
    }
    for kind in [
        "long_wait",
        "idle_window",
        "long_pause",
        "early_lunch",
        "device_offline",
    ] {
        x.must("hallq_alerts_active", &[("kind", kind)]);
        x.must("hallq_alerts_raised_total", &[("kind", kind)]);
    }
    assert_eq!(x.types["hallq_device_up"], "gauge");
    assert!(x.must("hallq_process_resident_memory_bytes", &[]) > 0.0);
}

/// The checker itself: each broken exposition is refused, a good one passes.
#[test]
fn the_parser_refuses_broken_expositions() {
    let good = "# HELP hallq_x a help\n# TYPE hallq_x gauge\nhallq_x{a=\"q\\\"\\\\\\n\"} 1\n\
                # TYPE hallq_h histogram\nhallq_h_bucket{le=\"1\"} 1\nhallq_h_bucket{le=\"+Inf\"} 2\n\
                hallq_h_sum 3.5\nhallq_h_count 2\n";
    let x = parse(good);
    assert_eq!(x.must("hallq_x", &[("a", "q\"\\\n")]), 1.0);
    let broken = [
        // no TYPE
        "hallq_y 1\n",
        // TYPE after the sample
        "hallq_y 1\n# TYPE hallq_y gauge\n",
        // a family in two groups
        "# TYPE hallq_a gauge\nhallq_a 1\n# TYPE hallq_b gauge\nhallq_b 1\nhallq_a{x=\"1\"} 2\n",
        // a bad escape
        "# TYPE hallq_a gauge\nhallq_a{x=\"\\t\"} 1\n",
        // an unquoted label value
        "# TYPE hallq_a gauge\nhallq_a{x=1} 1\n",
        // not a number
        "# TYPE hallq_a gauge\nhallq_a one\n",
        // the same series twice
        "# TYPE hallq_a gauge\nhallq_a 1\nhallq_a 2\n",
        // buckets not cumulative
        "# TYPE hallq_h histogram\nhallq_h_bucket{le=\"1\"} 3\nhallq_h_bucket{le=\"+Inf\"} 2\nhallq_h_sum 1\nhallq_h_count 2\n",
        // +Inf differs from _count
        "# TYPE hallq_h histogram\nhallq_h_bucket{le=\"+Inf\"} 2\nhallq_h_sum 1\nhallq_h_count 3\n",
        // no +Inf bucket
        "# TYPE hallq_h histogram\nhallq_h_bucket{le=\"1\"} 2\nhallq_h_sum 1\nhallq_h_count 2\n",
        // a negative counter
        "# TYPE hallq_c counter\nhallq_c -1\n",
        // no final line feed
        "# TYPE hallq_a gauge\nhallq_a 1",
    ];
    for text in broken {
        let refused = std::panic::catch_unwind(|| parse(text)).is_err();
        assert!(refused, "the parser accepted: {text:?}");
    }
}
