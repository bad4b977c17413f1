//! One 好差评 evaluation joined with its ticket, service, department, window
//! and staff member: the row of the evaluations export, the payload the
//! outbox pushes to the provincial platform, and the unsatisfied follow-up
//! list. Built from the hall as it stands when the rating is folded, so the
//! statistics (a replay of the journal) and the outbox (the owner, at commit)
//! build the same record from the same event.

use chrono::TimeZone;
use serde::Serialize;

use crate::queue::{Hall, Millis, Rating, TicketId, WindowNo};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EvaluationRecord {
    /// The journal row of the `service_rated` event: a stable, unique id
    /// (the outbox sends it as the idempotency key).
    pub id: u64,
    /// Business day of the ticket (hall-local date, `YYYY-MM-DD`).
    pub date: String,
    /// When the rating was given (hall-local RFC 3339).
    pub rated_at: String,
    pub ticket: u64,
    pub number: String,
    pub service: String,
    pub service_name: String,
    pub department: String,
    pub department_name: String,
    pub window: WindowNo,
    pub window_name: String,
    pub staff: String,
    pub staff_name: String,
    /// 工号.
    pub job_number: String,
    /// very_satisfied … very_dissatisfied; `None`: not rated.
    pub rating: Option<Rating>,
    /// 1 非常满意 … 5 非常不满意; `None`: not rated.
    pub rating_code: Option<u16>,
    /// 非常满意 … 非常不满意, or 未评价.
    pub rating_name: String,
}

/// 非常满意, 满意, 基本满意, 不满意, 非常不满意.
pub fn rating_name(rating: Option<Rating>) -> &'static str {
    match rating {
        Some(Rating::VerySatisfied) => "非常满意",
        Some(Rating::Satisfied) => "满意",
        Some(Rating::BasicallySatisfied) => "基本满意",
        Some(Rating::Dissatisfied) => "不满意",
        Some(Rating::VeryDissatisfied) => "非常不满意",
        None => "未评价",
    }
}

/// 差评: 不满意 or 非常不满意 (these go to the follow-up list, 差评整改).
pub fn is_negative(rating: Option<Rating>) -> bool {
    matches!(
        rating,
        Some(Rating::Dissatisfied | Rating::VeryDissatisfied)
    )
}

/// 好评: 非常满意, 满意 or 基本满意.
pub fn is_positive(rating: Option<Rating>) -> bool {
    matches!(
        rating,
        Some(Rating::VerySatisfied | Rating::Satisfied | Rating::BasicallySatisfied)
    )
}

/// The record of a `service_rated` event (journal row `seq`, time `at_ms`),
/// joined through `hall` as it stands when the event is folded (before or
/// after: the ticket's service and day do not change on a rating). Unknown
/// ticket, window or staff leave their names empty; never panics.
pub fn record(
    hall: &Hall,
    seq: u64,
    at_ms: Millis,
    ticket: TicketId,
    window: WindowNo,
    staff: &str,
    rating: Option<Rating>,
) -> EvaluationRecord {
    let config = hall.config();
    let t = hall.ticket(ticket);
    let t = t.as_deref();
    let service_id = t.map(|t| t.service.to_string()).unwrap_or_default();
    let service = config.service(&service_id);
    let department_id = service.map(|s| s.department.clone()).unwrap_or_default();
    let department = config.department(&department_id);
    let w = config.window(window);
    let person = config.staff(staff);
    let local = config.tz.timestamp_millis_opt(at_ms).single();
    EvaluationRecord {
        id: seq,
        date: t
            .map(|t| t.day.to_string())
            .or_else(|| local.map(|l| l.date_naive().to_string()))
            .unwrap_or_default(),
        rated_at: local.map(|l| l.to_rfc3339()).unwrap_or_default(),
        ticket: ticket.0,
        number: t.map(|t| t.number.to_string()).unwrap_or_default(),
        service: service_id,
        service_name: service.map(|s| s.name.clone()).unwrap_or_default(),
        department: department_id,
        department_name: department.map(|d| d.name.clone()).unwrap_or_default(),
        window,
        window_name: w.map(|w| w.name.clone()).unwrap_or_default(),
        staff: staff.to_string(),
        staff_name: person.map(|p| p.name.clone()).unwrap_or_default(),
        job_number: person.map(|p| p.job_number.clone()).unwrap_or_default(),
        rating,
        rating_code: rating.map(Rating::code),
        rating_name: rating_name(rating).to_string(),
    }
}

/// Attributes `rec` to `service` (the service of the visit that was rated)
/// when the ticket's current service differs — after a flow step the ticket
/// already belongs to the next step's service. Renames service and
/// department from the configuration; unknown ids leave names empty.
pub fn set_visit_service(
    config: &crate::config::Config,
    rec: &mut EvaluationRecord,
    service: &str,
) {
    if service.is_empty() || rec.service == service {
        return;
    }
    let s = config.service(service);
    let department = s.map(|s| s.department.clone()).unwrap_or_default();
    rec.service = service.to_string();
    rec.service_name = s.map(|s| s.name.clone()).unwrap_or_default();
    rec.department_name = config
        .department(&department)
        .map(|d| d.name.clone())
        .unwrap_or_default();
    rec.department = department;
}
