//! Small value types of the hall: ids, outcomes, reasons, who acts.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Milliseconds since the Unix epoch (UTC). The core never reads a clock:
/// every `now_ms` is passed in.
pub type Millis = i64;

pub const MINUTE_MS: Millis = 60_000;

/// A ticket's identity across days (the printed number repeats daily; this does not).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TicketId(pub u64);

impl fmt::Display for TicketId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A window's number, as on the counter and in the announcement.
pub type WindowNo = u32;

/// Who asked for a command. The API and the keypads authenticate; the core
/// only checks domain rules (e.g. "the staff member signed in at that window").
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Actor {
    Staff(String),
    Manager(String),
    Kiosk(String),
    /// The daemon itself: calendar, day roll-over, start-up.
    System,
}

impl Actor {
    /// `staff:w01`, `manager:boss`, `kiosk:k1`, `system` (the journal's actor column).
    pub fn label(&self) -> String {
        // On every command's path: concatenation, not format!.
        let (kind, id) = match self {
            Actor::Staff(a) => ("staff:", a.as_str()),
            Actor::Manager(a) => ("manager:", a.as_str()),
            Actor::Kiosk(k) => ("kiosk:", k.as_str()),
            Actor::System => return "system".to_string(),
        };
        let mut label = String::with_capacity(kind.len() + id.len());
        label.push_str(kind);
        label.push_str(id);
        label
    }

    pub fn account(&self) -> Option<&str> {
        match self {
            Actor::Staff(a) | Actor::Manager(a) => Some(a),
            _ => None,
        }
    }
}

/// 办结结果.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Done,
    /// 承诺件 accepted, result pending.
    Accepted,
    ReportedUp,
    /// Needs a reason.
    Rejected,
    /// 缺材料.
    Incomplete,
    WrongJurisdiction,
}

/// 暂停服务 reasons.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PauseReason {
    Lunch,
    Break,
    OutOfSupplies,
    Meeting,
}

/// How a ticket came to be.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum IssueSource {
    Kiosk,
    /// Registered by staff at a window (窗口登记).
    Staff,
    /// Checked in for an appointment; `due_ms` is the slot start.
    Appointment {
        code: String,
        due_ms: Millis,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketStatus {
    Waiting,
    Called,
    Serving,
    Parked,
    /// Finished its last step (the outcome says how).
    Finished,
    NoShow,
    Cancelled,
    Expired,
}

impl TicketStatus {
    pub fn is_live(self) -> bool {
        matches!(
            self,
            TicketStatus::Waiting
                | TicketStatus::Called
                | TicketStatus::Serving
                | TicketStatus::Parked
        )
    }
}

/// What a window is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum WindowActivity {
    /// Open, nobody signed in.
    Unstaffed,
    /// Staffed, no ticket.
    Idle,
    Calling {
        ticket: TicketId,
    },
    Serving {
        ticket: TicketId,
    },
    Paused {
        reason: PauseReason,
    },
    Closed,
}

/// Account activity recorded for the supervisor (security audit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountActivity {
    SignedIn,
    SignInFailed,
    /// Too many failed sign-ins: locked for a while.
    Locked,
    SignedOut,
    PasswordChanged,
    /// An administrator set a new password (the owner must change it).
    PasswordReset,
}

/// The rule that decided a call, kept in the event so a complaint can be answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallRule {
    /// Chosen by routing (see the explanation for the ranking).
    Routed,
    /// Called by number out of order, with a reason.
    OutOfOrder,
    /// Taken back from the window's parked tickets.
    Unparked,
}

/// The five levels of 好差评 a citizen gives on the evaluator (评价器).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rating {
    VerySatisfied,
    Satisfied,
    BasicallySatisfied,
    Dissatisfied,
    VeryDissatisfied,
}

impl Rating {
    pub const ALL: [Rating; 5] = [
        Rating::VerySatisfied,
        Rating::Satisfied,
        Rating::BasicallySatisfied,
        Rating::Dissatisfied,
        Rating::VeryDissatisfied,
    ];

    /// 1 非常满意 … 5 非常不满意.
    pub fn code(self) -> u16 {
        match self {
            Rating::VerySatisfied => 1,
            Rating::Satisfied => 2,
            Rating::BasicallySatisfied => 3,
            Rating::Dissatisfied => 4,
            Rating::VeryDissatisfied => 5,
        }
    }

    pub fn from_code(code: u16) -> Option<Rating> {
        Rating::ALL.into_iter().find(|r| r.code() == code)
    }

    pub fn zh(self) -> &'static str {
        match self {
            Rating::VerySatisfied => "非常满意",
            Rating::Satisfied => "满意",
            Rating::BasicallySatisfied => "基本满意",
            Rating::Dissatisfied => "不满意",
            Rating::VeryDissatisfied => "非常不满意",
        }
    }
}
