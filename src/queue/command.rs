//! Commands: what people and devices ask the hall to do. A command is
//! decided against the current state and either yields events or a refusal.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::types::{
    AccountActivity, IssueSource, Outcome, PauseReason, Rating, TicketId, WindowNo,
};

/// Most characters in a free-text reason (out-of-order call, rejection, transfer).
pub const REASON_CHARS_MAX: usize = 200;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransferTarget {
    Service(String),
    Window(WindowNo),
}

/// A service a window serves, with its weight in routing.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct WindowService {
    pub service: String,
    pub weight: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum Command {
    // --- the business day (driven by the calendar, or a manager) ---
    /// Starts a business day: numbering restarts, daily caps reset.
    OpenDay {
        date: NaiveDate,
    },
    /// End-of-day sweep: tickets still waiting, called or parked expire.
    EndDay,
    /// Opens a session. `slot` is the calendar's session index of the day;
    /// `None` is a manager opening outside the calendar.
    OpenSession {
        slot: Option<u32>,
    },
    CloseSession,

    // --- tickets ---
    Issue {
        service: String,
        #[serde(default)]
        priority: Option<String>,
        /// Keyed hash of the id number (see `queue::person`), never the number itself.
        #[serde(default)]
        person: Option<String>,
        source: IssueSource,
        /// A batch ticket for an agent bringing several cases.
        #[serde(default = "one")]
        cases: u32,
    },
    CallNext {
        window: WindowNo,
    },
    /// Calls a waiting ticket out of order; a reason is required.
    CallTicket {
        window: WindowNo,
        number: String,
        reason: String,
    },
    Recall {
        window: WindowNo,
    },
    Start {
        window: WindowNo,
    },
    Finish {
        window: WindowNo,
        outcome: Outcome,
        #[serde(default)]
        reason: Option<String>,
    },
    NoShow {
        window: WindowNo,
    },
    Park {
        window: WindowNo,
    },
    Unpark {
        window: WindowNo,
        number: String,
    },
    Transfer {
        window: WindowNo,
        to: TransferTarget,
        #[serde(default)]
        reason: Option<String>,
    },
    Cancel {
        ticket: TicketId,
    },

    // --- windows ---
    SignIn {
        window: WindowNo,
    },
    SignOut {
        window: WindowNo,
    },
    Pause {
        window: WindowNo,
        reason: PauseReason,
    },
    Resume {
        window: WindowNo,
    },
    OpenWindow {
        window: WindowNo,
    },
    CloseWindow {
        window: WindowNo,
    },
    SetWindowServices {
        window: WindowNo,
        services: Vec<WindowService>,
    },

    // --- evaluation (from the window's evaluator; the daemon's device layer sends these) ---
    /// Records the citizen's rating of a finished ticket, or `None` when the
    /// evaluator timed out: *not rated*, never counted as good.
    Rate {
        window: WindowNo,
        ticket: TicketId,
        rating: Option<Rating>,
    },

    // --- audit ---
    /// Records account activity in the journal; changes no hall state.
    RecordAccountActivity {
        account: String,
        activity: AccountActivity,
    },
}

fn one() -> u32 {
    1
}
