//! Password hashing: argon2id in PHC format, with bounded cost and bounded
//! concurrency.
//!
//! Every argon2 computation goes through a [`Gate`] that lets at most a few
//! run at once: one verification with the OWASP setting holds 19 MiB, so a
//! burst of 500 sign-ins must queue rather than allocate 10 GB.

use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use argon2::password_hash::phc::PasswordHash;
use argon2::{Algorithm, Argon2, Params, PasswordHasher, PasswordVerifier, Version};

use super::token::random_bytes;

/// argon2id cost. [`HashCost::OWASP`] is the default and the only setting
/// for production; [`HashCost::INSECURE_FAST_FOR_TESTS`] exists so tests
/// that sign in hundreds of times stay fast.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashCost {
    /// Memory in KiB (argon2 `m`).
    pub memory_kib: u32,
    /// Passes over memory (argon2 `t`).
    pub iterations: u32,
    /// Lanes (argon2 `p`).
    pub parallelism: u32,
}

impl HashCost {
    /// OWASP Password Storage Cheat Sheet, argon2id: m = 19 MiB, t = 2, p = 1
    /// (about 20 ms per hash on this machine in a release build).
    pub const OWASP: HashCost = HashCost {
        memory_kib: 19 * 1024,
        iterations: 2,
        parallelism: 1,
    };

    /// The cheapest argon2id setting (8 KiB, one pass). **Never use it
    /// outside tests**: it offers almost no protection to a stolen file.
    pub const INSECURE_FAST_FOR_TESTS: HashCost = HashCost {
        memory_kib: 8,
        iterations: 1,
        parallelism: 1,
    };
}

impl Default for HashCost {
    fn default() -> Self {
        HashCost::OWASP
    }
}

/// The most a stored hash may ask for before it is refused unverified (a
/// hash edited to ask for 4 GiB must not take the daemon down), and the
/// most a [`HashCost`] may be set to.
pub(crate) const MAX_MEMORY_KIB: u32 = 256 * 1024;
pub(crate) const MAX_ITERATIONS: u32 = 16;
pub(crate) const MAX_PARALLELISM: u32 = 8;

/// Salt length in bytes (the argon2 crate's recommendation).
const SALT_BYTES: usize = 16;

/// How long a caller waits for a free hashing slot before giving up.
const GATE_WAIT_MAX: Duration = Duration::from_secs(10);

/// Why hashing or verifying could not be done (as opposed to "wrong
/// password", which is `Ok(false)`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum HashError {
    #[error("the stored password hash is not a usable argon2id hash: {0}")]
    Unusable(&'static str),
    #[error("argon2 failed: {0}")]
    Argon2(String),
    #[error("the operating system's random number generator failed: {0}")]
    Random(String),
}

/// argon2id with a fixed cost, plus the concurrency gate.
pub(crate) struct Hasher {
    argon2: Argon2<'static>,
    gate: Gate,
}

impl std::fmt::Debug for Hasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hasher")
            .field("params", self.argon2.params())
            .finish_non_exhaustive()
    }
}

impl Hasher {
    pub(crate) fn new(cost: HashCost) -> anyhow::Result<Hasher> {
        if cost.memory_kib > MAX_MEMORY_KIB
            || cost.iterations > MAX_ITERATIONS
            || cost.parallelism > MAX_PARALLELISM
        {
            anyhow::bail!(
                "argon2 cost {cost:?} is above the limit (m ≤ {MAX_MEMORY_KIB} KiB, t ≤ {MAX_ITERATIONS}, p ≤ {MAX_PARALLELISM})"
            );
        }
        let params = Params::new(cost.memory_kib, cost.iterations, cost.parallelism, None)
            .map_err(|e| anyhow::anyhow!("argon2 cost {cost:?} is invalid: {e}"))?;
        let slots = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            .clamp(1, 4);
        Ok(Hasher {
            argon2: Argon2::new(Algorithm::Argon2id, Version::V0x13, params),
            gate: Gate::new(slots),
        })
    }

    /// Waits for a hashing slot; `None` after [`GATE_WAIT_MAX`].
    pub(crate) fn enter(&self) -> Option<GatePass<'_>> {
        self.gate.enter(GATE_WAIT_MAX)
    }

    /// A new PHC string for `password` with a fresh random salt.
    pub(crate) fn hash(&self, password: &str) -> Result<String, HashError> {
        let salt: [u8; SALT_BYTES] = random_bytes().map_err(HashError::Random)?;
        let hash = self
            .argon2
            .hash_password_with_salt(password.as_bytes(), &salt)
            .map_err(|e| HashError::Argon2(e.to_string()))?;
        Ok(hash.to_string())
    }

    /// Whether `password` matches the PHC string `phc`. The cost recorded in
    /// `phc` is used (so a hash made with another cost still verifies),
    /// after checking it is argon2id and within the limits above.
    pub(crate) fn verify(&self, password: &str, phc: &str) -> Result<bool, HashError> {
        let parsed = PasswordHash::new(phc).map_err(|_| HashError::Unusable("not a PHC string"))?;
        if parsed.algorithm.as_str() != "argon2id" {
            return Err(HashError::Unusable("not argon2id"));
        }
        let params =
            Params::try_from(&parsed).map_err(|_| HashError::Unusable("unreadable parameters"))?;
        if params.m_cost() > MAX_MEMORY_KIB
            || params.t_cost() > MAX_ITERATIONS
            || params.p_cost() > MAX_PARALLELISM
        {
            return Err(HashError::Unusable("parameters above the limit"));
        }
        match self.argon2.verify_password(password.as_bytes(), &parsed) {
            Ok(()) => Ok(true),
            Err(argon2::password_hash::Error::PasswordInvalid) => Ok(false),
            Err(e) => Err(HashError::Argon2(e.to_string())),
        }
    }
}

/// A counting semaphore for blocking threads.
#[derive(Debug)]
struct Gate {
    running: Mutex<usize>,
    freed: Condvar,
    slots: usize,
}

/// A held slot of the [`Gate`]; released on drop.
#[derive(Debug)]
pub(crate) struct GatePass<'a> {
    gate: &'a Gate,
}

impl Gate {
    fn new(slots: usize) -> Gate {
        Gate {
            running: Mutex::new(0),
            freed: Condvar::new(),
            slots,
        }
    }

    fn lock(&self) -> MutexGuard<'_, usize> {
        // The counter is consistent whatever panicked while holding it.
        self.running.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn enter(&self, wait_max: Duration) -> Option<GatePass<'_>> {
        let started = Instant::now();
        let mut running = self.lock();
        while *running >= self.slots {
            let left = wait_max.saturating_sub(started.elapsed());
            if left.is_zero() {
                return None;
            }
            running = match self.freed.wait_timeout(running, left) {
                Ok((guard, _)) => guard,
                Err(e) => e.into_inner().0,
            };
        }
        *running += 1;
        Some(GatePass { gate: self })
    }
}

impl Drop for GatePass<'_> {
    fn drop(&mut self) {
        let mut running = self.gate.lock();
        *running = running.saturating_sub(1);
        drop(running);
        self.gate.freed.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_refuse() {
        let h = Hasher::new(HashCost::INSECURE_FAST_FOR_TESTS).expect("hasher");
        let phc = h.hash("correct horse").expect("hash");
        assert!(phc.starts_with("$argon2id$v=19$m=8,t=1,p=1$"), "{phc}");
        assert_eq!(h.verify("correct horse", &phc), Ok(true));
        assert_eq!(h.verify("wrong horse", &phc), Ok(false));
        // Two hashes of one password differ (fresh salt).
        assert_ne!(phc, h.hash("correct horse").expect("hash"));
        // A hash with another cost verifies with its own cost.
        let other = Hasher::new(HashCost {
            memory_kib: 16,
            iterations: 2,
            parallelism: 1,
        })
        .expect("hasher");
        assert_eq!(h.verify("x", &other.hash("x").expect("hash")), Ok(true));

        assert!(matches!(
            h.verify("x", "garbage"),
            Err(HashError::Unusable(_))
        ));
        let argon2i = phc.replacen("argon2id", "argon2i", 1);
        assert!(matches!(
            h.verify("x", &argon2i),
            Err(HashError::Unusable(_))
        ));
        let huge = phc.replacen("m=8,", "m=4194304,", 1);
        assert!(matches!(h.verify("x", &huge), Err(HashError::Unusable(_))));
    }

    #[test]
    fn refuses_costs_above_the_limit() {
        assert!(
            Hasher::new(HashCost {
                memory_kib: MAX_MEMORY_KIB + 1,
                ..HashCost::OWASP
            })
            .is_err()
        );
        assert!(
            Hasher::new(HashCost {
                memory_kib: 1,
                ..HashCost::OWASP
            })
            .is_err()
        );
        assert_eq!(HashCost::default(), HashCost::OWASP);
    }

    #[test]
    fn gate_bounds_concurrency() {
        let gate = Gate::new(2);
        let a = gate.enter(Duration::from_millis(1)).expect("a");
        let _b = gate.enter(Duration::from_millis(1)).expect("b");
        assert!(gate.enter(Duration::from_millis(20)).is_none());
        drop(a);
        assert!(gate.enter(Duration::from_millis(1)).is_some());
    }
}
