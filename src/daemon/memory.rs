//! Keeping the daemon's resident memory near its live data.
//!
//! glibc's allocator gives each thread that allocates its own arena (up to
//! eight per core) and keeps freed memory in each of them at its own high
//! mark. The daemon's work is allocation churn on many threads (the async
//! workers, the blocking pool, the owner): the soak (BENCHMARKS.md) found
//! ~20 MB of live heap held in ~160 MB of resident arenas. So, on glibc:
//! at most [`ARENAS`] arenas, and every [`TRIM_EVERY`] the free memory at
//! the top and inside each arena is given back (`malloc_trim`, which takes
//! a few milliseconds off every thread's path but the caller's).
//!
//! And every block of [`MMAP_FROM`] or more is a mapping of its own, given
//! back whole when freed. glibc's default raises that threshold to the
//! largest block freed so far (up to 32 MiB): after a sign-in's password
//! hash or the day's growing tables (ended tickets, idempotency keys)
//! have been freed once, their successors come from the heap, and the hole
//! each leaves is filled by small long-lived blocks that keep its pages.
//! Elsewhere (musl, other systems) this does nothing.

use std::time::Duration;

/// The most glibc arenas (the main heap and one more).
pub const ARENAS: i32 = 2;
/// Blocks of this size or more are mapped on their own (glibc's initial
/// threshold, held fixed).
pub const MMAP_FROM: i32 = 128 * 1024;
/// How often free memory is returned to the system.
pub const TRIM_EVERY: Duration = Duration::from_secs(30);

/// Limits the allocator's arenas and fixes its mapping threshold; call
/// first thing, before other threads start.
pub fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets tunables of the allocator; M_ARENA_MAX
    // takes effect for arenas created after the call, M_MMAP_THRESHOLD for
    // blocks allocated after it.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, ARENAS);
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_FROM);
    }
}

/// Returns the allocator's free memory to the system; true when some was.
pub fn trim() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: malloc_trim walks the allocator's own free lists under its locks.
        return unsafe { libc::malloc_trim(0) } == 1;
    }
    #[allow(unreachable_code)]
    false
}

/// The daemon's trimming task: [`trim`] every [`TRIM_EVERY`], on the
/// blocking pool (it may take a few milliseconds).
pub fn start_trimming() -> tokio::task::JoinHandle<()> {
    tokio::spawn(async {
        let mut every = tokio::time::interval(TRIM_EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        every.tick().await;
        loop {
            every.tick().await;
            let _ = tokio::task::spawn_blocking(trim).await;
        }
    })
}
