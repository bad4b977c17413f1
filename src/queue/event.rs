//! Events: what happened. They are the journal's content; the state is a
//! fold of them (`Hall::evolve`). An event carries everything evolve needs,
//! so replay never re-runs a decision. The time of an event is the journal
//! row's `at_ms`, and who caused it is the row's actor.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::command::WindowService;
use super::routing::QueueKey;
use super::types::{
    AccountActivity, CallRule, IssueSource, Outcome, PauseReason, Rating, TicketId, WindowNo,
};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// The daemon started with this configuration (recorded when it
    /// changes), or a reload applied it (`daemon/reload.rs`).
    ConfigApplied {
        sha256: String,
        source: String,
        /// What a reload changed, in words (`service "tax" name: "…" → "…"`);
        /// empty at start-up, and in journals written before reloads existed.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        changes: Vec<String>,
    },
    DayOpened {
        date: NaiveDate,
    },
    DayEnded {
        date: NaiveDate,
        /// Tickets swept to `expired` (waiting, called or parked at the sweep).
        expired: Vec<TicketId>,
        /// Staff signed out by the sweep.
        signed_out: Vec<WindowNo>,
    },
    SessionOpened {
        slot: Option<u32>,
        /// When the calendar ends this session (issuing stops `issue_cutoff_minutes` before).
        ends_ms: Option<i64>,
    },
    SessionClosed {
        slot: Option<u32>,
    },

    TicketIssued {
        ticket: TicketId,
        number: String,
        service: String,
        /// The series cycle (0 unless the series wrapped today).
        cycle: u32,
        serial: u32,
        priority: Option<String>,
        rank: u32,
        person: Option<String>,
        source: IssueSource,
        cases: u32,
        /// The issue-window slot it counts against, if the service has slots.
        slot: Option<u32>,
        key: QueueKey,
    },
    TicketCalled {
        ticket: TicketId,
        window: WindowNo,
        staff: String,
        rule: CallRule,
        reason: Option<String>,
    },
    TicketRecalled {
        ticket: TicketId,
        window: WindowNo,
        recall: u32,
    },
    ServiceStarted {
        ticket: TicketId,
        window: WindowNo,
        staff: String,
    },
    TicketFinished {
        ticket: TicketId,
        window: WindowNo,
        staff: String,
        outcome: Outcome,
        reason: Option<String>,
        /// The flow goes on: the ticket waits again, for this service, keeping its number and arrival.
        next_step: Option<String>,
    },
    TicketNoShow {
        ticket: TicketId,
        window: WindowNo,
        staff: String,
        /// Back in line at this position, or `None` when the no-show is final.
        requeue: Option<QueueKey>,
    },
    TicketParked {
        ticket: TicketId,
        window: WindowNo,
        staff: String,
    },
    TicketUnparked {
        ticket: TicketId,
        window: WindowNo,
        staff: String,
    },
    TicketTransferred {
        ticket: TicketId,
        from_window: WindowNo,
        staff: String,
        to_service: String,
        to_window: Option<WindowNo>,
        reason: Option<String>,
    },
    TicketCancelled {
        ticket: TicketId,
    },

    StaffSignedIn {
        window: WindowNo,
        staff: String,
    },
    StaffSignedOut {
        window: WindowNo,
        staff: String,
    },
    WindowPaused {
        window: WindowNo,
        reason: PauseReason,
    },
    WindowResumed {
        window: WindowNo,
    },
    WindowOpened {
        window: WindowNo,
    },
    WindowClosed {
        window: WindowNo,
        /// Parked and directed tickets handed back to their service's line.
        returned: Vec<TicketId>,
    },
    WindowServicesChanged {
        window: WindowNo,
        services: Vec<WindowService>,
    },
    AccountActivity {
        account: String,
        activity: AccountActivity,
    },
    /// The citizen rated the service (`None`: not rated within the evaluator's timeout).
    ServiceRated {
        ticket: TicketId,
        window: WindowNo,
        staff: String,
        rating: Option<Rating>,
    },
}

impl Event {
    /// The ticket this event is about, if it is about one ticket.
    pub fn ticket(&self) -> Option<super::types::TicketId> {
        match self {
            Event::TicketIssued { ticket, .. }
            | Event::TicketCalled { ticket, .. }
            | Event::TicketRecalled { ticket, .. }
            | Event::ServiceStarted { ticket, .. }
            | Event::TicketFinished { ticket, .. }
            | Event::TicketNoShow { ticket, .. }
            | Event::TicketParked { ticket, .. }
            | Event::TicketUnparked { ticket, .. }
            | Event::TicketTransferred { ticket, .. }
            | Event::TicketCancelled { ticket }
            | Event::ServiceRated { ticket, .. } => Some(*ticket),
            _ => None,
        }
    }

    /// The same event without personal data (the person hash), for screens.
    pub fn redacted(&self) -> Event {
        match self {
            Event::TicketIssued {
                person: Some(_), ..
            } => {
                let mut e = self.clone();
                if let Event::TicketIssued { person, .. } = &mut e {
                    *person = None;
                }
                e
            }
            _ => self.clone(),
        }
    }

    /// The snake_case name, as stored in the journal's `kind` column.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::ConfigApplied { .. } => "config_applied",
            Event::DayOpened { .. } => "day_opened",
            Event::DayEnded { .. } => "day_ended",
            Event::SessionOpened { .. } => "session_opened",
            Event::SessionClosed { .. } => "session_closed",
            Event::TicketIssued { .. } => "ticket_issued",
            Event::TicketCalled { .. } => "ticket_called",
            Event::TicketRecalled { .. } => "ticket_recalled",
            Event::ServiceStarted { .. } => "service_started",
            Event::TicketFinished { .. } => "ticket_finished",
            Event::TicketNoShow { .. } => "ticket_no_show",
            Event::TicketParked { .. } => "ticket_parked",
            Event::TicketUnparked { .. } => "ticket_unparked",
            Event::TicketTransferred { .. } => "ticket_transferred",
            Event::TicketCancelled { .. } => "ticket_cancelled",
            Event::StaffSignedIn { .. } => "staff_signed_in",
            Event::StaffSignedOut { .. } => "staff_signed_out",
            Event::WindowPaused { .. } => "window_paused",
            Event::WindowResumed { .. } => "window_resumed",
            Event::WindowOpened { .. } => "window_opened",
            Event::WindowClosed { .. } => "window_closed",
            Event::WindowServicesChanged { .. } => "window_services_changed",
            Event::AccountActivity { .. } => "account_activity",
            Event::ServiceRated { .. } => "service_rated",
        }
    }
}
