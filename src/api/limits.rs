//! Per-client rate limits for kiosks and sign-ins: a token bucket per
//! (client address, route class), in bounded memory.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::queue::Millis;

/// Most clients tracked; beyond it the table is cleared (limits restart,
/// memory does not grow).
const CLIENTS_MAX: usize = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Bucket {
    Issue,
    SignIn,
}

#[derive(Debug, Clone, Copy)]
pub struct Rate {
    pub per_minute: u32,
    pub burst: u32,
}

struct State {
    tokens: f64,
    at_ms: Millis,
}

pub struct RateLimiter {
    issue: Rate,
    sign_in: Rate,
    table: Mutex<HashMap<(String, Bucket), State>>,
}

impl RateLimiter {
    pub fn new(issue: Rate, sign_in: Rate) -> RateLimiter {
        RateLimiter {
            issue,
            sign_in,
            table: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token; false when the client must wait.
    pub fn allow(&self, client: &str, bucket: Bucket, now_ms: Millis) -> bool {
        let rate = match bucket {
            Bucket::Issue => self.issue,
            Bucket::SignIn => self.sign_in,
        };
        let mut table = self.table.lock().unwrap_or_else(|e| e.into_inner());
        if table.len() >= CLIENTS_MAX && !table.contains_key(&(client.to_string(), bucket)) {
            table.clear();
        }
        let s = table.entry((client.to_string(), bucket)).or_insert(State {
            tokens: f64::from(rate.burst),
            at_ms: now_ms,
        });
        let refill = (now_ms - s.at_ms).max(0) as f64 * f64::from(rate.per_minute) / 60_000.0;
        s.tokens = (s.tokens + refill).min(f64::from(rate.burst));
        s.at_ms = now_ms;
        if s.tokens >= 1.0 {
            s.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_refill() {
        let r = RateLimiter::new(
            Rate {
                per_minute: 60,
                burst: 3,
            },
            Rate {
                per_minute: 10,
                burst: 5,
            },
        );
        assert!((0..3).all(|_| r.allow("a", Bucket::Issue, 0)));
        assert!(!r.allow("a", Bucket::Issue, 0));
        assert!(r.allow("b", Bucket::Issue, 0), "per client");
        assert!(r.allow("a", Bucket::Issue, 1_000), "one token a second");
        assert!(!r.allow("a", Bucket::Issue, 1_000));
    }
}
