//! Refusals: a stable code for programs and a message in Chinese and English
//! for people. A refused command changes nothing.

use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    /// Stable, snake_case (e.g. `daily_cap_reached`); part of the API contract.
    pub code: &'static str,
    pub zh: String,
    pub en: String,
}

impl Refusal {
    pub fn new(code: &'static str, zh: impl Into<String>, en: impl Into<String>) -> Refusal {
        Refusal {
            code,
            zh: zh.into(),
            en: en.into(),
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} ({})", self.code, self.en, self.zh)
    }
}

impl std::error::Error for Refusal {}

/// Constructors for every refusal, so codes and wording live in one place.
pub mod refuse {
    use super::Refusal;
    use crate::queue::types::{TicketId, WindowNo};

    pub fn unknown_service(id: &str) -> Refusal {
        Refusal::new(
            "unknown_service",
            format!("没有业务“{id}”"),
            format!("there is no service \"{id}\""),
        )
    }
    pub fn unknown_window(n: WindowNo) -> Refusal {
        Refusal::new(
            "unknown_window",
            format!("没有{n}号窗口"),
            format!("there is no window {n}"),
        )
    }
    pub fn unknown_staff(a: &str) -> Refusal {
        Refusal::new(
            "unknown_staff",
            format!("没有账号“{a}”"),
            format!("there is no staff account \"{a}\""),
        )
    }
    pub fn unknown_priority(p: &str) -> Refusal {
        Refusal::new(
            "unknown_priority",
            format!("没有优先类别“{p}”"),
            format!("there is no priority class \"{p}\""),
        )
    }
    pub fn unknown_ticket(t: &str) -> Refusal {
        Refusal::new(
            "unknown_ticket",
            format!("今天没有号票{t}"),
            format!("there is no ticket {t} today"),
        )
    }
    pub fn no_business_day() -> Refusal {
        Refusal::new(
            "no_business_day",
            "业务日尚未开始",
            "the business day has not been opened",
        )
    }
    pub fn hall_closed() -> Refusal {
        Refusal::new(
            "hall_closed",
            "大厅当前不在服务时间，暂停取号",
            "the hall is outside its service hours; no tickets are issued now",
        )
    }
    pub fn issue_cutoff(minutes: u32) -> Refusal {
        Refusal::new(
            "issue_cutoff",
            format!("本时段结束前{minutes}分钟停止取号"),
            format!("tickets stop {minutes} minutes before the session ends"),
        )
    }
    pub fn outside_issue_hours(service: &str) -> Refusal {
        Refusal::new(
            "outside_issue_hours",
            format!("业务“{service}”当前不在取号时段"),
            format!("service \"{service}\" is not issuing tickets at this time"),
        )
    }
    pub fn daily_cap_reached(service: &str, cap: u32) -> Refusal {
        Refusal::new(
            "daily_cap_reached",
            format!("业务“{service}”今日{cap}个号已取完"),
            format!("all {cap} tickets of \"{service}\" for today have been issued"),
        )
    }
    pub fn slot_cap_reached(service: &str, cap: u32) -> Refusal {
        Refusal::new(
            "slot_cap_reached",
            format!("业务“{service}”本时段{cap}个号已取完"),
            format!("all {cap} tickets of \"{service}\" for this time slot have been issued"),
        )
    }
    pub fn person_cap_reached(service: &str, cap: u32) -> Refusal {
        Refusal::new(
            "person_cap_reached",
            format!("每人每天限取业务“{service}”{cap}个号"),
            format!("one person may take {cap} tickets of \"{service}\" a day"),
        )
    }
    pub fn series_exhausted(prefix: &str) -> Refusal {
        Refusal::new(
            "series_exhausted",
            format!("{prefix}字头号码今日已用完"),
            format!("the {prefix} number series is used up for today"),
        )
    }
    pub fn bad_cases(max: u32) -> Refusal {
        Refusal::new(
            "bad_cases",
            format!("件数须为1到{max}"),
            format!("cases must be from 1 to {max}"),
        )
    }
    pub fn appointment_used(code: &str) -> Refusal {
        Refusal::new(
            "appointment_already_checked_in",
            format!("预约号{code}今天已签到"),
            format!("appointment {code} has already been checked in today"),
        )
    }
    pub fn bad_appointment(why: &str) -> Refusal {
        Refusal::new(
            "bad_appointment",
            format!("预约信息有误：{why}"),
            format!("the appointment is not valid: {why}"),
        )
    }
    pub fn not_signed_in_here(window: WindowNo) -> Refusal {
        Refusal::new(
            "not_signed_in",
            format!("您没有在{window}号窗口登录"),
            format!("you are not signed in at window {window}"),
        )
    }
    pub fn window_occupied(window: WindowNo, by: &str) -> Refusal {
        Refusal::new(
            "window_occupied",
            format!("{window}号窗口已由{by}登录"),
            format!("window {window} is already signed in by {by}"),
        )
    }
    pub fn staff_elsewhere(window: WindowNo) -> Refusal {
        Refusal::new(
            "already_signed_in_elsewhere",
            format!("您已在{window}号窗口登录，请先退出"),
            format!("you are signed in at window {window}; sign out there first"),
        )
    }
    pub fn window_closed(window: WindowNo) -> Refusal {
        Refusal::new(
            "window_closed",
            format!("{window}号窗口已关闭"),
            format!("window {window} is closed"),
        )
    }
    pub fn window_open_already(window: WindowNo) -> Refusal {
        Refusal::new(
            "window_already_open",
            format!("{window}号窗口已开放"),
            format!("window {window} is already open"),
        )
    }
    pub fn window_paused(window: WindowNo) -> Refusal {
        Refusal::new(
            "window_paused",
            format!("{window}号窗口暂停服务中，请先恢复"),
            format!("window {window} is paused; resume first"),
        )
    }
    pub fn window_not_paused(window: WindowNo) -> Refusal {
        Refusal::new(
            "window_not_paused",
            format!("{window}号窗口未暂停"),
            format!("window {window} is not paused"),
        )
    }
    pub fn ticket_in_progress(window: WindowNo, number: &str) -> Refusal {
        Refusal::new(
            "ticket_in_progress",
            format!("{window}号窗口正在处理{number}，请先办结、过号或挂起"),
            format!(
                "window {window} is still handling {number}; finish, mark no-show or park it first"
            ),
        )
    }
    pub fn no_current_ticket(window: WindowNo) -> Refusal {
        Refusal::new(
            "no_current_ticket",
            format!("{window}号窗口当前没有号票"),
            format!("window {window} has no current ticket"),
        )
    }
    pub fn not_called(number: &str) -> Refusal {
        Refusal::new(
            "ticket_not_called",
            format!("{number}尚未叫到或已开始办理"),
            format!("{number} is not in the called state"),
        )
    }
    pub fn devices_only() -> Refusal {
        Refusal::new(
            "devices_only",
            "只有窗口设备可以执行此操作",
            "only the window's devices may do this",
        )
    }
    pub fn not_awaiting_rating(window: WindowNo) -> Refusal {
        Refusal::new(
            "not_awaiting_rating",
            format!("{window}号窗口没有待评价的业务"),
            format!("window {window} has no finished ticket awaiting a rating"),
        )
    }
    pub fn not_serving(number: &str) -> Refusal {
        Refusal::new(
            "ticket_not_serving",
            format!("{number}尚未开始办理"),
            format!("{number} is not being served"),
        )
    }
    pub fn not_waiting(number: &str) -> Refusal {
        Refusal::new(
            "ticket_not_waiting",
            format!("{number}不在等候中"),
            format!("{number} is not waiting"),
        )
    }
    pub fn not_parked_here(number: &str, window: WindowNo) -> Refusal {
        Refusal::new(
            "ticket_not_parked_here",
            format!("{number}没有挂起在{window}号窗口"),
            format!("{number} is not parked at window {window}"),
        )
    }
    pub fn not_served_here(number: &str, window: WindowNo) -> Refusal {
        Refusal::new(
            "service_not_served_here",
            format!("{window}号窗口不办理{number}的业务"),
            format!("window {window} does not serve the service of {number}"),
        )
    }
    pub fn reason_required() -> Refusal {
        Refusal::new("reason_required", "请填写原因", "a reason is required")
    }
    pub fn reason_too_long(max: usize) -> Refusal {
        Refusal::new(
            "reason_too_long",
            format!("原因不得超过{max}个字"),
            format!("the reason may be at most {max} characters"),
        )
    }
    pub fn cannot_cancel(number: &str) -> Refusal {
        Refusal::new(
            "cannot_cancel",
            format!("{number}已在办理或已结束，不能取消"),
            format!("{number} is being served or has ended; it cannot be cancelled"),
        )
    }
    pub fn transfer_target() -> Refusal {
        Refusal::new(
            "bad_transfer",
            "请指定转移到的业务或窗口（二选一）",
            "name either a service or a window to transfer to",
        )
    }
    pub fn transfer_to_same(window: WindowNo) -> Refusal {
        Refusal::new(
            "bad_transfer",
            format!("不能转移到本窗口（{window}号）"),
            format!("cannot transfer to the same window ({window})"),
        )
    }
    pub fn session_open_already() -> Refusal {
        Refusal::new(
            "session_already_open",
            "服务时段已开始",
            "a session is already open",
        )
    }
    pub fn session_not_open() -> Refusal {
        Refusal::new(
            "session_not_open",
            "当前没有进行中的服务时段",
            "no session is open",
        )
    }
    pub fn day_open_already(date: &str) -> Refusal {
        Refusal::new(
            "day_already_open",
            format!("业务日{date}已开始"),
            format!("business day {date} is already open"),
        )
    }
    pub fn day_not_today(date: &str, today: &str) -> Refusal {
        Refusal::new(
            "day_not_today",
            format!("只能开始今天（{today}）的业务日，不能开始{date}"),
            format!("only today's business day ({today}) can be opened, not {date}"),
        )
    }
    pub fn no_window_role(account: &str) -> Refusal {
        Refusal::new(
            "no_window_role",
            format!("账号“{account}”不是窗口工作人员，不能登录窗口"),
            format!("account \"{account}\" has no window role and cannot sign in at a window"),
        )
    }
    pub fn day_in_past(date: &str) -> Refusal {
        Refusal::new(
            "day_not_after_current",
            format!("业务日{date}早于当前业务日"),
            format!("business day {date} is not after the current one"),
        )
    }
    pub fn ticket_id_unknown(id: TicketId) -> Refusal {
        Refusal::new(
            "unknown_ticket",
            format!("没有号票#{id}"),
            format!("there is no ticket #{id}"),
        )
    }
    pub fn too_many_live_tickets(max: usize) -> Refusal {
        Refusal::new(
            "hall_full",
            format!("大厅同时在办号票已达上限{max}"),
            format!("the hall already holds the maximum of {max} live tickets"),
        )
    }
    pub fn bad_weight() -> Refusal {
        Refusal::new(
            "bad_weight",
            "权重须为1到100",
            "a weight must be from 1 to 100",
        )
    }
    pub fn duplicate_service(id: &str) -> Refusal {
        Refusal::new(
            "duplicate_service",
            format!("业务“{id}”重复"),
            format!("service \"{id}\" is listed twice"),
        )
    }
    /// An `Idempotency-Key` sent again with a different request (the owner's
    /// check, not the core's; listed here with every other code).
    pub fn idempotency_key_reused() -> Refusal {
        Refusal::new(
            "idempotency_key_reused",
            "该请求标识（Idempotency-Key）已用于另一个请求，本次未执行；请为新请求换用新的标识",
            "this Idempotency-Key was already used for a different request, so this one was not applied; send a new key with each new request",
        )
    }
}
