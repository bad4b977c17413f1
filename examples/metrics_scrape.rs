//! `metrics_scrape`: what a `GET /metrics` costs on the demo hall holding
//! about 1,000 tickets (a busy day's worth), end to end over loopback HTTP:
//! the owner-thread pass over tickets and windows, the journal file sizes,
//! the text written and sent.
//!
//! ```text
//! cargo run --release --example metrics_scrape -- --tickets 1000 --scrapes 200
//! ```
//!
//! It starts the owner and the router in-process (the embedded demo hall,
//! a fresh data directory, a `metrics` API key), issues the tickets
//! round-robin over the services, serves a quarter of them (called,
//! started, finished at 10 windows) so every ticket state appears, then
//! scrapes `--scrapes` times one after another and prints the median, p90
//! and max, and the body's size and line count.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hallq::accounts::{Accounts, HashCost};
use hallq::api::{AppState, router};
use hallq::config::model::ApiKeyConfig;
use hallq::config::{ApiKeyRole, Config};
use hallq::daemon::clock::{Clock, SystemClock};
use hallq::daemon::{ACCOUNTS_FILE, JOURNAL_FILE};
use hallq::queue::{Actor, Command, IssueSource, Outcome, WindowNo};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map_or(default, |v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{name} takes a number, not {v:?}"))
        })
}

async fn get(addr: SocketAddr, path: &str, token: &str) -> (u16, Vec<u8>) {
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    );
    s.write_all(req.as_bytes()).await.expect("write");
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.expect("read");
    let head_end = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a head");
    let status: u16 = std::str::from_utf8(&buf[9..12])
        .ok()
        .and_then(|s| s.parse().ok())
        .expect("a status");
    (status, buf[head_end + 4..].to_vec())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let tickets = arg("--tickets", 1000);
    let scrapes = arg("--scrapes", 200).max(1);
    let dir = tempfile::tempdir()?;
    let mut config = Config::demo();
    config.file.server.issues_per_minute = 1_000_000;
    let (key, sha256) = hallq::accounts::new_api_key();
    config.file.api_keys.push(ApiKeyConfig {
        id: "prometheus".into(),
        role: ApiKeyRole::Metrics,
        sha256,
    });
    let config = Arc::new(config);
    let accounts = Arc::new(Accounts::open_with_cost(
        &dir.path().join(ACCOUNTS_FILE),
        config.clone(),
        SystemClock.now_ms(),
        HashCost::INSECURE_FAST_FOR_TESTS,
    )?);
    let journal = dir.path().join(JOURNAL_FILE);
    let owner = hallq::daemon::start(config.clone(), &journal, SystemClock)?;
    let hall = owner.handle.clone();
    for _ in 0..500 {
        hall.tick();
        if hall
            .query(|h, _| h.day().is_some() && h.state().session.is_some())
            .await?
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let services: Vec<String> = config.services().iter().map(|s| s.id.clone()).collect();
    let mut issued = 0;
    for i in 0..tickets {
        let command = Command::Issue {
            service: services[i % services.len()].clone(),
            priority: None,
            person: None,
            source: IssueSource::Kiosk,
            cases: 1,
        };
        if hall
            .submit(Actor::Kiosk("demo-kiosk".into()), "bench", command)
            .await
            .is_ok()
        {
            issued += 1;
        }
    }
    // Serve some at ten windows, so finished, serving and called tickets exist.
    let windows: Vec<WindowNo> = config.windows().iter().map(|w| w.number).take(10).collect();
    let mut served = 0;
    for (i, &w) in windows.iter().enumerate() {
        let staff = format!("w{:02}", i + 1);
        let actor = Actor::Staff(staff.clone());
        let sign_in = Command::SignIn { window: w };
        if hall.submit(actor.clone(), "bench", sign_in).await.is_err() {
            continue;
        }
        for _ in 0..tickets / 40 {
            let ok = hall
                .submit(actor.clone(), "bench", Command::CallNext { window: w })
                .await
                .is_ok_and(|a| !a.events.is_empty());
            if !ok {
                break;
            }
            let _ = hall
                .submit(actor.clone(), "bench", Command::Start { window: w })
                .await;
            let finished = hall
                .submit(
                    actor.clone(),
                    "bench",
                    Command::Finish {
                        window: w,
                        outcome: Outcome::Done,
                        reason: None,
                    },
                )
                .await;
            served += usize::from(finished.is_ok());
        }
        let _ = hall
            .submit(actor.clone(), "bench", Command::CallNext { window: w })
            .await;
    }
    let state = AppState::new(
        hall.clone(),
        accounts,
        config.clone(),
        journal.clone(),
        vec![7u8; 32],
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let (status, body) = get(addr, "/metrics", &key).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let mut times = Vec::with_capacity(scrapes);
    let mut size = 0;
    for _ in 0..scrapes {
        let t = Instant::now();
        let (status, body) = get(addr, "/metrics", &key).await;
        times.push(t.elapsed());
        assert_eq!(status, 200);
        size = body.len();
    }
    times.sort();
    let pct = |p: f64| times[((p * times.len() as f64).ceil() as usize).clamp(1, times.len()) - 1];
    let lines = String::from_utf8_lossy(&body).lines().count();
    println!(
        "demo hall, {issued} tickets issued, {served} served; {scrapes} scrapes: \
         median {:.2} ms, p90 {:.2} ms, max {:.2} ms; body {size} bytes, {lines} lines",
        pct(0.5).as_secs_f64() * 1e3,
        pct(0.9).as_secs_f64() * 1e3,
        pct(1.0).as_secs_f64() * 1e3,
    );
    Ok(())
}
