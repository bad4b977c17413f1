//! Load through the owner task, for the kill test (tests/daemon_kill.rs):
//! `owner_load DATA_DIR SUBMITTERS`. Opens (or reopens) the demo hall in
//! DATA_DIR, signs in one staff member per window, and runs SUBMITTERS
//! threads that issue, call, start and finish tickets forever. After every
//! acknowledged command it prints `ack <first_seq> <n_events>` (flushed), so
//! a test that SIGKILLs it knows exactly what was acknowledged.

use std::io::Write;
use std::sync::Arc;
use std::sync::Mutex;

use hallq::config::Config;
use hallq::daemon::clock::SystemClock;
use hallq::daemon::{JOURNAL_FILE, SubmitError, start};
use hallq::queue::{Actor, Command, IssueSource, Outcome};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let dir = std::path::PathBuf::from(args.get(1).expect("usage: owner_load DATA_DIR SUBMITTERS"));
    let submitters: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(4);
    std::fs::create_dir_all(&dir)?;
    let config = Arc::new(Config::demo());
    let owner = start(config.clone(), &dir.join(JOURNAL_FILE), SystemClock)?;
    let handle = owner.handle;
    let out = Arc::new(Mutex::new(std::io::stdout()));
    let windows: Vec<(u32, String, String)> = config
        .windows()
        .iter()
        .filter_map(|w| {
            let service = w.services.first()?.service.clone();
            let staff = config
                .file
                .staff
                .get(config.windows().iter().position(|x| x.number == w.number)?)?
                .account
                .clone();
            Some((w.number, staff, service))
        })
        .take(submitters)
        .collect();
    let mut threads = Vec::new();
    for (window, staff, service) in windows {
        let handle = handle.clone();
        let out = out.clone();
        threads.push(std::thread::spawn(move || {
            let me = Actor::Staff(staff);
            let ack = |r: Result<hallq::daemon::Applied, SubmitError>| {
                if let Ok(a) = r
                    && !a.events.is_empty()
                {
                    let mut o = out.lock().unwrap_or_else(|e| e.into_inner());
                    let _ = writeln!(o, "ack {} {}", a.first_seq, a.events.len());
                    let _ = o.flush();
                }
            };
            ack(handle.submit_blocking(me.clone(), "load", Command::SignIn { window }));
            loop {
                let issue = Command::Issue {
                    service: service.clone(),
                    priority: None,
                    person: None,
                    source: IssueSource::Kiosk,
                    cases: 1,
                };
                ack(handle.submit_blocking(Actor::Kiosk("k1".into()), "load", issue));
                for command in [
                    Command::CallNext { window },
                    Command::Start { window },
                    Command::Finish {
                        window,
                        outcome: Outcome::Done,
                        reason: None,
                    },
                ] {
                    ack(handle.submit_blocking(me.clone(), "load", command));
                }
            }
        }));
    }
    for t in threads {
        let _ = t.join();
    }
    Ok(())
}
