//! Where the owner task gets `now`. The core never reads a clock; the
//! daemon does, here, and never lets time run backwards within a process.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::queue::Millis;

pub trait Clock: Send + 'static {
    fn now_ms(&self) -> Millis;
}

/// The system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> Millis {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as Millis)
    }
}

/// A clock that never goes backwards: if the wall clock steps back (NTP,
/// a wrong RTC after a power cut), events keep the last time seen.
pub struct Monotonic<C: Clock> {
    inner: C,
    last_ms: Millis,
}

impl<C: Clock> Monotonic<C> {
    pub fn new(inner: C, floor_ms: Millis) -> Monotonic<C> {
        Monotonic {
            inner,
            last_ms: floor_ms,
        }
    }

    pub fn now_ms(&mut self) -> Millis {
        self.last_ms = self.last_ms.max(self.inner.now_ms());
        self.last_ms
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicI64, Ordering};

    struct Manual(Arc<AtomicI64>);
    impl Clock for Manual {
        fn now_ms(&self) -> Millis {
            self.0.load(Ordering::SeqCst)
        }
    }

    #[test]
    fn never_goes_backwards() {
        let t = Arc::new(AtomicI64::new(1_000));
        let mut c = Monotonic::new(Manual(t.clone()), 500);
        assert_eq!(c.now_ms(), 1_000);
        t.store(900, Ordering::SeqCst);
        assert_eq!(c.now_ms(), 1_000);
        t.store(2_000, Ordering::SeqCst);
        assert_eq!(c.now_ms(), 2_000);
    }
}
