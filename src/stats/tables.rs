//! The report's views as tables, in the layout a hall sends upward: one
//! sheet per view, Chinese headers (English beside them).

use super::figures::{Figures, Group, Ranked, StatsReport};
use crate::report::{Cell, Column, Table};

/// Every view of the report, in this order: 汇总, 业务统计, 窗口统计,
/// 人员统计, 部门统计, 区域统计, 评价明细, 差评整改, 考勤, 红旗窗口, 服务明星.
pub fn tables(r: &StatsReport, hall_name: &str) -> Vec<Table> {
    let th = &r.wait_thresholds_minutes;
    let title = |view: &str| format!("{hall_name} {} {view}", r.period.label_zh());
    let group_table = |sheet: &str,
                       stem: &str,
                       lead: Vec<Column>,
                       groups: &[Group],
                       lead_cells: &dyn Fn(&Group) -> Vec<Cell>| {
        let mut columns = lead;
        columns.extend(figure_columns(th));
        Table {
            sheet: sheet.to_string(),
            file_stem: stem.to_string(),
            title: title(sheet),
            columns,
            rows: groups
                .iter()
                .map(|g| {
                    let mut row = lead_cells(g);
                    row.extend(figure_cells(&g.figures));
                    row
                })
                .collect(),
        }
    };
    let mut out = Vec::with_capacity(11);

    // 汇总: one row per business day, then the period's total.
    let mut summary_columns = vec![Column::new("日期", "Date")];
    summary_columns.extend(figure_columns(th));
    let mut rows: Vec<Vec<Cell>> = r
        .days
        .iter()
        .map(|d| {
            let mut row = vec![Cell::Text(d.date.to_string())];
            row.extend(figure_cells(&d.figures));
            row
        })
        .collect();
    let mut total = vec![Cell::Text(format!("合计 {}", r.period.label()))];
    total.extend(figure_cells(&r.hall));
    rows.push(total);
    out.push(Table {
        sheet: "汇总".into(),
        file_stem: "summary".into(),
        title: title("汇总"),
        columns: summary_columns,
        rows,
    });

    out.push(group_table(
        "业务统计",
        "services",
        vec![
            Column::new("业务编码", "Service"),
            Column::new("业务名称", "Service name"),
            Column::new("所属部门", "Department"),
            Column::new("退回原因", "Rejection reasons"),
        ],
        &r.services,
        &|g| {
            vec![
                Cell::Text(g.id.clone()),
                Cell::Text(g.name.clone()),
                Cell::Text(g.department.clone()),
                Cell::Text(reasons(&g.figures)),
            ]
        },
    ));
    out.push(group_table(
        "窗口统计",
        "windows",
        vec![
            Column::new("窗口号", "Window"),
            Column::new("窗口名称", "Window name"),
            Column::new("区域", "Zone"),
            Column::new("部门", "Department"),
        ],
        &r.windows,
        &|g| {
            vec![
                g.id.parse::<i64>()
                    .map_or(Cell::Text(g.id.clone()), Cell::Int),
                Cell::Text(g.name.clone()),
                Cell::Text(g.extra.clone()),
                Cell::Text(g.department.clone()),
            ]
        },
    ));
    out.push(group_table(
        "人员统计",
        "staff",
        vec![
            Column::new("账号", "Account"),
            Column::new("姓名", "Name"),
            Column::new("工号", "Job number"),
            Column::new("部门", "Department"),
        ],
        &r.staff,
        &|g| {
            vec![
                Cell::Text(g.id.clone()),
                Cell::Text(g.name.clone()),
                Cell::Text(g.extra.clone()),
                Cell::Text(g.department.clone()),
            ]
        },
    ));
    out.push(group_table(
        "部门统计",
        "departments",
        vec![
            Column::new("部门编码", "Department"),
            Column::new("部门名称", "Department name"),
        ],
        &r.departments,
        &|g| vec![Cell::Text(g.id.clone()), Cell::Text(g.name.clone())],
    ));
    out.push(group_table(
        "区域统计",
        "zones",
        vec![
            Column::new("区域编码", "Zone"),
            Column::new("区域名称", "Zone name"),
        ],
        &r.zones,
        &|g| vec![Cell::Text(g.id.clone()), Cell::Text(g.name.clone())],
    ));

    let eval_columns = || {
        vec![
            Column::new("编号", "Id"),
            Column::new("业务日期", "Business day"),
            Column::new("评价时间", "Rated at"),
            Column::new("号码", "Number"),
            Column::new("业务", "Service"),
            Column::new("部门", "Department"),
            Column::new("窗口", "Window"),
            Column::new("窗口名称", "Window name"),
            Column::new("工作人员", "Staff"),
            Column::new("工号", "Job number"),
            Column::new("评价", "Rating"),
            Column::new("评价代码", "Rating code"),
        ]
    };
    let eval_cells = |e: &super::EvaluationRecord| {
        vec![
            Cell::Int(e.id as i64),
            Cell::Text(e.date.clone()),
            Cell::Text(e.rated_at.clone()),
            Cell::Text(e.number.clone()),
            Cell::Text(e.service_name.clone()),
            Cell::Text(e.department_name.clone()),
            Cell::Int(i64::from(e.window)),
            Cell::Text(e.window_name.clone()),
            Cell::Text(e.staff_name.clone()),
            Cell::Text(e.job_number.clone()),
            Cell::Text(e.rating_name.clone()),
            e.rating_code
                .map_or(Cell::Empty, |c| Cell::Int(i64::from(c))),
        ]
    };
    out.push(Table {
        sheet: "评价明细".into(),
        file_stem: "evaluations".into(),
        title: title("评价明细"),
        columns: eval_columns(),
        rows: r.evaluations.iter().map(eval_cells).collect(),
    });
    let mut fu_columns = eval_columns();
    fu_columns.extend([
        Column::new("评价日期", "Rated on"),
        Column::new("整改期限", "Deadline"),
        Column::new("期限(工作日)", "Working days"),
        Column::new("整改情况", "Follow-up"),
    ]);
    out.push(Table {
        sheet: "差评整改".into(),
        file_stem: "followups".into(),
        title: title("差评整改"),
        columns: fu_columns,
        rows: r
            .followups
            .iter()
            .map(|f| {
                let mut row = eval_cells(&f.evaluation);
                row.extend([
                    Cell::Text(f.rated_on.to_string()),
                    Cell::Text(f.deadline.to_string()),
                    Cell::Int(i64::from(f.followup_days)),
                    Cell::Empty,
                ]);
                row
            })
            .collect(),
    });

    out.push(Table {
        sheet: "考勤".into(),
        file_stem: "attendance".into(),
        title: title("考勤"),
        columns: vec![
            Column::new("日期", "Date"),
            Column::new("账号", "Account"),
            Column::new("姓名", "Name"),
            Column::new("工号", "Job number"),
            Column::new("窗口", "Windows"),
            Column::new("工作时段", "Sessions"),
            Column::new("首次签到", "First sign-in"),
            Column::new("最后签退", "Last sign-out"),
            Column::new("在岗(分钟)", "Present (min)"),
            Column::new("应在岗(分钟)", "Scheduled (min)"),
            Column::new("迟到(分钟)", "Late start (min)"),
            Column::new("早退(分钟)", "Early leave (min)"),
            Column::new("午休超时(分钟)", "Long lunch (min)"),
        ],
        rows: r
            .attendance
            .iter()
            .map(|a| {
                vec![
                    Cell::Text(a.date.to_string()),
                    Cell::Text(a.staff.clone()),
                    Cell::Text(a.staff_name.clone()),
                    Cell::Text(a.job_number.clone()),
                    Cell::Text(
                        a.windows
                            .iter()
                            .map(u32::to_string)
                            .collect::<Vec<_>>()
                            .join(","),
                    ),
                    Cell::Text(a.sessions.join(", ")),
                    Cell::Text(a.first_sign_in.clone()),
                    Cell::Text(a.last_sign_out.clone()),
                    minutes(a.present_in_sessions_ms),
                    minutes(a.scheduled_ms),
                    minutes(a.late_start_ms),
                    minutes(a.early_leave_ms),
                    minutes(a.long_lunch_ms),
                ]
            })
            .collect(),
    });

    let ranking = |sheet: &str, stem: &str, id: Column, list: &[Ranked]| Table {
        sheet: sheet.to_string(),
        file_stem: stem.to_string(),
        title: format!(
            "{} (至少 {} 条评价; 得分 = 好评/办理数 的 95% Wilson 下限)",
            title(sheet),
            r.rankings.min_rated
        ),
        columns: vec![
            Column::new("名次", "Rank"),
            id,
            Column::new("名称", "Name"),
            Column::new("办理数", "Served"),
            Column::new("评价数", "Rated"),
            Column::new("好评数", "Positive"),
            Column::new("差评数", "Negative"),
            Column::new("满意率", "Satisfaction"),
            Column::new("得分", "Score"),
        ],
        rows: list
            .iter()
            .map(|x| {
                vec![
                    Cell::Int(i64::from(x.rank)),
                    Cell::Text(x.id.clone()),
                    Cell::Text(x.name.clone()),
                    Cell::Int(x.served as i64),
                    Cell::Int(x.rated as i64),
                    Cell::Int(x.positive as i64),
                    Cell::Int(x.negative as i64),
                    share(x.satisfaction_rate),
                    Cell::Num(x.score),
                ]
            })
            .collect(),
    };
    out.push(ranking(
        "红旗窗口",
        "red_flag_windows",
        Column::new("窗口号", "Window"),
        &r.rankings.windows,
    ));
    out.push(ranking(
        "服务明星",
        "service_stars",
        Column::new("账号", "Account"),
        &r.rankings.staff,
    ));
    out
}

/// The figure columns shared by the summary and every group view.
pub fn figure_columns(thresholds: &[u32]) -> Vec<Column> {
    let mut c = vec![
        Column::new("取号数", "Issued"),
        Column::new("叫号数", "Called"),
        Column::new("办理数", "Served"),
        Column::new("过号数", "No-show"),
        Column::new("最终过号", "No-show (final)"),
        Column::new("转移数", "Transferred"),
        Column::new("挂起数", "Parked"),
        Column::new("取消数", "Cancelled"),
        Column::new("过期数", "Expired"),
        Column::new("重呼数", "Recalls"),
        Column::new("办结", "Done"),
        Column::new("受理(承诺件)", "Accepted"),
        Column::new("上报", "Reported up"),
        Column::new("退回", "Rejected"),
        Column::new("缺材料", "Incomplete"),
        Column::new("非本辖区", "Wrong jurisdiction"),
        Column::new("等候人次", "Waits"),
        Column::new("平均等候(分钟)", "Wait mean (min)"),
        Column::new("等候中位数(分钟)", "Wait median (min)"),
        Column::new("等候P90(分钟)", "Wait p90 (min)"),
        Column::new("最长等候(分钟)", "Wait max (min)"),
        Column::new("目标时限内占比", "Within target"),
    ];
    for m in thresholds {
        c.push(Column::new(
            &format!("{m}分钟内占比"),
            &format!("Within {m} min"),
        ));
    }
    c.extend([
        Column::new("平均办理(分钟)", "Service mean (min)"),
        Column::new("办理中位数(分钟)", "Service median (min)"),
        Column::new("办理P90(分钟)", "Service p90 (min)"),
        Column::new("最长办理(分钟)", "Service max (min)"),
        Column::new("平均步间(分钟)", "Walk mean (min)"),
        Column::new("步间P90(分钟)", "Walk p90 (min)"),
        Column::new("有人等候时空闲(分钟)", "Idle while waiting (min)"),
        Column::new("暂停-午休(分钟)", "Paused: lunch (min)"),
        Column::new("暂停-休息(分钟)", "Paused: break (min)"),
        Column::new("暂停-缺物料(分钟)", "Paused: supplies (min)"),
        Column::new("暂停-会议(分钟)", "Paused: meeting (min)"),
        Column::new("非常满意", "Very satisfied"),
        Column::new("满意", "Satisfied"),
        Column::new("基本满意", "Basically satisfied"),
        Column::new("不满意", "Dissatisfied"),
        Column::new("非常不满意", "Very dissatisfied"),
        Column::new("未评价", "Not rated"),
        Column::new("参评率", "Rated share"),
        Column::new("满意率", "Satisfaction rate"),
    ]);
    c
}

/// The cells for [`figure_columns`], in the same order.
pub fn figure_cells(f: &Figures) -> Vec<Cell> {
    let n = |x: u64| Cell::Int(x as i64);
    let o = &f.outcomes;
    let rt = &f.ratings;
    let mut c = vec![
        n(f.issued),
        n(f.called),
        n(f.served),
        n(f.no_show),
        n(f.no_show_final),
        n(f.transferred),
        n(f.parked),
        n(f.cancelled),
        n(f.expired),
        n(f.recalls),
        n(o.done),
        n(o.accepted),
        n(o.reported_up),
        n(o.rejected),
        n(o.incomplete),
        n(o.wrong_jurisdiction),
        n(f.wait.count),
        opt_minutes(f.wait.mean_ms),
        opt_minutes(f.wait.median_ms.map(|x| x as f64)),
        opt_minutes(f.wait.p90_ms.map(|x| x as f64)),
        opt_minutes(f.wait.max_ms.map(|x| x as f64)),
        share(f.wait.within_target_share),
    ];
    c.extend(f.wait.within.iter().map(|w| share(w.share)));
    c.extend([
        opt_minutes(f.service.mean_ms),
        opt_minutes(f.service.median_ms.map(|x| x as f64)),
        opt_minutes(f.service.p90_ms.map(|x| x as f64)),
        opt_minutes(f.service.max_ms.map(|x| x as f64)),
        opt_minutes(f.walk.mean_ms),
        opt_minutes(f.walk.p90_ms.map(|x| x as f64)),
        minutes(f.idle_while_waiting_ms),
        minutes(f.paused_ms.lunch),
        minutes(f.paused_ms.break_),
        minutes(f.paused_ms.out_of_supplies),
        minutes(f.paused_ms.meeting),
        n(rt.very_satisfied),
        n(rt.satisfied),
        n(rt.basically_satisfied),
        n(rt.dissatisfied),
        n(rt.very_dissatisfied),
        n(rt.not_rated),
        share(rt.rated_share),
        share(rt.satisfaction_rate),
    ]);
    c
}

fn minutes(ms: i64) -> Cell {
    Cell::Minutes(ms as f64 / 60_000.0)
}

fn opt_minutes(ms: Option<f64>) -> Cell {
    ms.map_or(Cell::Empty, |x| Cell::Minutes(x / 60_000.0))
}

fn share(x: Option<f64>) -> Cell {
    x.map_or(Cell::Empty, Cell::Percent)
}

/// `证件过期:2; 材料不全:1` (most frequent first).
fn reasons(f: &Figures) -> String {
    let mut v: Vec<(&String, &u64)> = f.outcomes.rejected_by_reason.iter().collect();
    v.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    v.iter()
        .map(|(r, k)| {
            let r = if r.is_empty() { "(未填)" } else { r.as_str() };
            format!("{r}:{k}")
        })
        .collect::<Vec<_>>()
        .join("; ")
}
