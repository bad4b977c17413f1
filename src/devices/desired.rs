//! What each display should show, derived from the hall (DESIGN.md §4
//! invariant 4: "devices are reconciled, not commanded").
//!
//! Pure: the reconciler calls these after each committed batch and hands
//! the result to the device's profile (`WindowIndicatorProfile::content`,
//! `TextBoardProfile::content`), which renders the texts and the register
//! image; the bus writes what differs.
//!
//! - [`indicator_for`]: a window's [`WindowShows`] from its activity.
//! - [`RecentCalls`]: the latest calls per zone, fed with the committed
//!   `TicketCalled` / `TicketRecalled` events; [`board_for`] reads a zone's
//!   board from it, newest first.

use std::collections::{BTreeMap, VecDeque};

use crate::devices::board::{BoardCall, LINES_MAX};
use crate::devices::indicator::WindowShows;
use crate::queue::event::Event;
use crate::queue::state::Hall;
use crate::queue::types::{WindowActivity, WindowNo};

/// What the indicator of `window` should show.
///
/// | hall | shows |
/// |---|---|
/// | no business day open, or the day ended; unknown window | `Off` (dark) |
/// | window closed | `Closed` |
/// | a ticket called | `Calling { ticket: "A012" }` (line 2 `请到N号窗口`) |
/// | a ticket being served | `Serving { ticket, staff, job_number }` |
/// | paused (any reason) | `Paused { staff, job_number }` (暂停服务) |
/// | staffed, no ticket | `Idle` (欢迎光临) |
/// | open, nobody signed in | `Idle` (欢迎光临) |
///
/// The staff name and job number come from the configuration; an account
/// missing from it shows the account name and no job number. A current
/// ticket the hall no longer knows shows `Idle` rather than a stale number.
pub fn indicator_for(hall: &Hall, window: WindowNo) -> WindowShows {
    let state = hall.state();
    if state.day.is_none() || state.day_ended {
        return WindowShows::Off;
    }
    let Some(activity) = hall.activity(window) else {
        return WindowShows::Off;
    };
    let number = |id| hall.ticket(id).map(|t| t.number.to_string());
    match activity {
        WindowActivity::Closed => WindowShows::Closed,
        WindowActivity::Unstaffed | WindowActivity::Idle => WindowShows::Idle,
        WindowActivity::Calling { ticket } => match number(ticket) {
            Some(ticket) => WindowShows::Calling { ticket },
            None => WindowShows::Idle,
        },
        WindowActivity::Serving { ticket } => match number(ticket) {
            Some(ticket) => {
                let (staff, job_number) = staff_of(hall, window);
                WindowShows::Serving {
                    ticket,
                    staff,
                    job_number,
                }
            }
            None => WindowShows::Idle,
        },
        WindowActivity::Paused { .. } => {
            let (staff, job_number) = staff_of(hall, window);
            WindowShows::Paused { staff, job_number }
        }
    }
}

/// The name and job number of the person signed in at `window` ("" when
/// nobody is).
fn staff_of(hall: &Hall, window: WindowNo) -> (String, String) {
    let Some(account) = hall.window(window).and_then(|w| w.staff.as_deref()) else {
        return (String::new(), String::new());
    };
    match hall.config().staff(account) {
        Some(s) => (s.name.clone(), s.job_number.clone()),
        None => (account.to_string(), String::new()),
    }
}

/// Calls remembered per zone by default: a board has at most
/// [`LINES_MAX`] lines.
pub const RECENT_PER_ZONE_DEFAULT: usize = LINES_MAX as usize;

/// The latest calls of each zone, newest first, at most `per_zone` each.
///
/// Rules: a call or recall puts the ticket at the top of its window's zone
/// and removes any older line of the same ticket number (from every zone:
/// a ticket is awaited at one window at a time, so after a transfer the
/// board never sends the citizen back to the old window). Opening or
/// ending the business day clears everything. Events naming an unknown
/// ticket or window are skipped. Zones are bounded by the configuration,
/// so the whole buffer is bounded by `zones × per_zone`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecentCalls {
    per_zone: usize,
    zones: BTreeMap<String, VecDeque<BoardCall>>,
}

impl Default for RecentCalls {
    fn default() -> Self {
        RecentCalls::new(RECENT_PER_ZONE_DEFAULT)
    }
}

impl RecentCalls {
    /// Remembers `per_zone` calls per zone (1 ..= [`LINES_MAX`]).
    pub fn new(per_zone: usize) -> RecentCalls {
        RecentCalls {
            per_zone: per_zone.clamp(1, LINES_MAX as usize),
            zones: BTreeMap::new(),
        }
    }

    pub fn per_zone(&self) -> usize {
        self.per_zone
    }

    /// Takes in one committed event. `hall` is the state with that event
    /// applied (the ticket's number and the window's zone are read there).
    /// True when some zone's calls changed.
    pub fn observe(&mut self, hall: &Hall, event: &Event) -> bool {
        match event {
            Event::DayOpened { .. } | Event::DayEnded { .. } => {
                let changed = !self.zones.is_empty();
                self.zones.clear();
                changed
            }
            Event::TicketCalled { ticket, window, .. }
            | Event::TicketRecalled { ticket, window, .. } => {
                let Some(number) = hall.ticket(*ticket).map(|t| t.number.to_string()) else {
                    return false;
                };
                let Some(zone) = hall.config().window(*window).map(|w| w.zone.clone()) else {
                    return false;
                };
                self.record(&zone, BoardCall::new(number, *window));
                true
            }
            _ => false,
        }
    }

    /// Puts `call` at the top of `zone` (the rules of [`RecentCalls`]).
    pub fn record(&mut self, zone: &str, call: BoardCall) {
        for calls in self.zones.values_mut() {
            calls.retain(|c| c.ticket != call.ticket);
        }
        self.zones.retain(|_, calls| !calls.is_empty());
        let calls = self.zones.entry(zone.to_string()).or_default();
        calls.push_front(call);
        calls.truncate(self.per_zone);
    }

    /// The calls of `zone`, newest first.
    pub fn zone(&self, zone: &str) -> impl Iterator<Item = &BoardCall> {
        self.zones.get(zone).into_iter().flatten()
    }

    pub fn clear(&mut self) {
        self.zones.clear();
    }
}

/// What the board of `zone` should show: its latest `limit` calls, newest
/// first (empty before the first call: the profile's `empty` text shows).
pub fn board_for(recent: &RecentCalls, zone: &str, limit: usize) -> Vec<BoardCall> {
    recent.zone(zone).take(limit).cloned().collect()
}
