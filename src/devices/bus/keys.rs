//! What a keypad key does: the same command as the counter page's button,
//! for the staff member signed in at the keypad's window.
//!
//! Pure: reads the hall, returns the command (the owner decides it, so
//! every rule of the core applies to keys exactly as to the HTTP API).

use crate::devices::keypad::KeypadKey;
use crate::queue::command::Command;
use crate::queue::state::Hall;
use crate::queue::types::{Actor, Outcome, PauseReason, WindowNo};

/// What pressing a key at a window means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyAction {
    /// Submit this command as this staff member.
    Submit { actor: Actor, command: Command },
    /// Light the evaluator's 请评价 again for the ticket just finished.
    PromptEvaluation,
    /// Nobody is signed in at the window: refused; the keypad shows its
    /// profile's `no_staff` text.
    NobodySignedIn,
    /// Refused before reaching the core; the text is shown on the keypad.
    Refused(&'static str),
}

/// The 下一步 key on a ticket whose matter has no next step.
pub const NO_NEXT_STEP: &str = "无下一步";

/// The action of `key` at `window`.
///
/// - 下一步/转办 (code 8) finishes the ticket as done when its service has a
///   next step in a flow (the ticket then waits for that step, keeping its
///   number); a transfer to another service needs the counter page, where
///   the target is chosen, so on other tickets the key is refused.
/// - 暂停 pauses for a short break; other reasons are chosen on the page.
pub fn action(hall: &Hall, window: WindowNo, key: KeypadKey) -> KeyAction {
    let Some(staff) = hall.window(window).and_then(|w| w.staff.clone()) else {
        return KeyAction::NobodySignedIn;
    };
    let command = match key {
        KeypadKey::CallNext => Command::CallNext { window },
        KeypadKey::Recall => Command::Recall { window },
        KeypadKey::NoShow => Command::NoShow { window },
        KeypadKey::Start => Command::Start { window },
        KeypadKey::Finish => Command::Finish {
            window,
            outcome: Outcome::Done,
            reason: None,
        },
        KeypadKey::Pause => Command::Pause {
            window,
            reason: PauseReason::Break,
        },
        KeypadKey::Resume => Command::Resume { window },
        KeypadKey::Park => Command::Park { window },
        KeypadKey::RequestEvaluation => return KeyAction::PromptEvaluation,
        KeypadKey::Transfer => {
            let has_next = hall
                .window(window)
                .and_then(|w| w.current)
                .and_then(|t| hall.ticket(t))
                .and_then(|t| hall.config().service(&t.service))
                .is_some_and(|s| s.next_step.is_some());
            if !has_next {
                return KeyAction::Refused(NO_NEXT_STEP);
            }
            Command::Finish {
                window,
                outcome: Outcome::Done,
                reason: None,
            }
        }
    };
    KeyAction::Submit {
        actor: Actor::Staff(staff),
        command,
    }
}
