//! How much heap a day's tickets hold: `day_memory --config FILE --data DIR`.
//!
//! Replays the journal in DIR (read-only; a running daemon may hold it)
//! under the hall configuration FILE, as the owner does at start, with a
//! counting allocator, and prints the heap the rebuilt state holds: the
//! hall (every ticket of the day, the lines, the windows, the day's tally),
//! the look-ahead's `Hall::live_copy`, and the idempotency cache; each
//! divided by the day's tickets. The owner holds the whole hall; the device
//! hub's replica and the look-ahead hold live copies, so the hall is the
//! part of the daemon's memory that grows with the day's tickets.
//!
//! ```text
//! cargo run --release --example day_memory -- \
//!     --config firmware-config/examples/soak-hall.toml --data /tmp/soak-hour/data
//! ```

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicIsize, Ordering};

use clap::Parser;
use hallq::config::Config;
use hallq::daemon::JOURNAL_FILE;
use hallq::daemon::replay::replay_full;
use hallq::journal::Journal;

/// The system allocator, counting the bytes it holds for the program: each
/// block's usable size plus glibc's 8-byte chunk header (a 5-byte string
/// holds a 32-byte chunk), so small allocations count what they cost; on
/// other systems, the sizes asked for.
struct Counting;

static HELD: AtomicIsize = AtomicIsize::new(0);

fn block_bytes(p: *mut u8, asked: usize) -> isize {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let _ = asked;
        // SAFETY: `p` is a live block from the system allocator (malloc).
        let usable = unsafe { libc::malloc_usable_size(p.cast()) };
        return (usable + std::mem::size_of::<usize>()) as isize;
    }
    #[allow(unreachable_code)]
    {
        let _ = p;
        asked as isize
    }
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            HELD.fetch_add(block_bytes(p, layout.size()), Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        HELD.fetch_sub(block_bytes(ptr, layout.size()), Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) };
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let old = block_bytes(ptr, layout.size());
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            HELD.fetch_add(block_bytes(p, new_size) - old, Ordering::Relaxed);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn held() -> isize {
    HELD.load(Ordering::Relaxed)
}

#[derive(Parser)]
#[command(about = "Heap held by a day's tickets, from a daemon's journal")]
struct Args {
    /// The hall configuration the journal was written under.
    #[arg(long, value_name = "FILE")]
    config: PathBuf,
    /// The daemon's data directory (its journal.sqlite is only read).
    #[arg(long, value_name = "DIR")]
    data: PathBuf,
}

fn mb(bytes: isize) -> f64 {
    bytes as f64 / 1e6
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let config = Arc::new(Config::load(&args.config)?);
    // A copy, so the replay's connection never touches the daemon's file.
    let tmp = tempfile::tempdir()?;
    let path = tmp.path().join(JOURNAL_FILE);
    hallq::journal::JournalReader::open(&args.data.join(JOURNAL_FILE))?.backup_to(&path)?;
    let journal = Journal::open(&path)?;

    let before = held();
    let replayed = replay_full(config, &journal, None)?;
    let after = held();
    let hall = &replayed.hall;
    let tickets = hall.tickets().count();
    let live = hall.tickets().filter(|t| t.status.is_live()).count();

    let cache = {
        let at = held();
        drop(replayed.idempotency);
        at - held()
    };
    let hall_bytes = after - before - cache;
    let copy_bytes = {
        let at = held();
        let copy = hall.live_copy();
        let bytes = held() - at;
        drop(copy);
        bytes
    };
    let per = |b: isize| b as f64 / tickets.max(1) as f64;
    println!("journal rows replayed: {}", replayed.events);
    println!("tickets in the hall: {tickets} ({live} live)");
    println!(
        "hall: {:.2} MB ({:.0} bytes a ticket)",
        mb(hall_bytes),
        per(hall_bytes)
    );
    println!(
        "live copy (look-ahead): {:.3} MB ({:.0} bytes a live ticket)",
        mb(copy_bytes),
        copy_bytes as f64 / live.max(1) as f64
    );
    println!(
        "idempotency cache: {:.2} MB ({:.0} bytes a ticket)",
        mb(cache),
        per(cache)
    );
    Ok(())
}
