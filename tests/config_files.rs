//! The shipped hall files validate, and the demo hall stays a realistic
//! county hall (so nobody can shrink it by accident).

use std::collections::{BTreeSet, HashMap};

use hallq::config::{Config, DEMO_HALL_TOML, DepartmentKind, MatterClass, Role, WindowKind};

fn load(relative: &str) -> Config {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    Config::load(&path).unwrap_or_else(|e| panic!("{relative} is invalid:\n{e}"))
}

#[test]
fn the_embedded_demo_hall_is_the_file_and_is_valid() {
    let from_disk = load("firmware-config/demo-hall.toml");
    let embedded = Config::demo();
    assert_eq!(embedded.source_sha256, from_disk.source_sha256);
    assert_eq!(embedded.file, from_disk.file);
    assert!(!DEMO_HALL_TOML.is_empty());
}

#[test]
fn the_county_hall_example_is_valid() {
    let c = load("firmware-config/examples/county-hall.toml");
    let cal = &c.file.calendar;
    assert_eq!(cal.issue_cutoff_minutes, 30);
    assert!(cal.extended_service);
    assert!(cal.holidays.iter().any(|h| h.name == "国庆节"));
    assert!(!cal.makeup_workdays.is_empty());
    assert!(cal.closures.iter().all(|cl| !cl.notice.is_empty()));
    assert!(!cal.closures.is_empty());
}

#[test]
fn demo_hall_has_zones_on_two_floors() {
    let c = Config::demo();
    assert!(c.file.zones.len() >= 3);
    let floors: BTreeSet<i32> = c.file.zones.iter().map(|z| z.floor).collect();
    assert!(floors.len() >= 2, "{floors:?}");
    assert!(c.file.hall.name.contains("县政务服务中心"));
}

#[test]
fn demo_hall_has_government_bank_utility_and_intermediary_departments() {
    let c = Config::demo();
    let d = &c.file.departments;
    assert!(d.len() >= 10, "{}", d.len());
    for kind in [
        DepartmentKind::Bank,
        DepartmentKind::Utility,
        DepartmentKind::Intermediary,
    ] {
        assert!(d.iter().any(|x| x.kind == kind), "no {kind:?} department");
    }
    assert!(
        d.iter()
            .filter(|x| x.kind == DepartmentKind::Government)
            .count()
            >= 7
    );
    for name in [
        "不动产登记中心",
        "税务局",
        "公安局",
        "人力资源和社会保障局",
        "医疗保障局",
        "市场监督管理局",
        "公积金",
        "车管",
        "婚姻登记",
    ] {
        assert!(
            d.iter().any(|x| x.name.contains(name)),
            "no department named like {name}"
        );
    }
}

#[test]
fn demo_hall_has_every_kind_of_window() {
    let c = Config::demo();
    let w = c.windows();
    assert!(w.len() >= 12, "{}", w.len());
    assert!(w.iter().all(|x| x.open), "demo windows are open");
    let count = |kind: WindowKind| w.iter().filter(|x| x.kind == kind).count();
    assert!(count(WindowKind::Comprehensive) >= 3);
    for kind in [
        WindowKind::Fee,
        WindowKind::Pickup,
        WindowKind::Consultation,
        WindowKind::Complaint,
        WindowKind::Fallback,
    ] {
        assert!(count(kind) >= 1, "no {kind:?} window");
    }
    // Comprehensive windows serve many services, with distinct weights.
    for x in w.iter().filter(|x| x.kind == WindowKind::Comprehensive) {
        assert!(x.services.len() >= 4, "window {}", x.number);
        let weights: BTreeSet<u32> = x.services.iter().map(|s| s.weight).collect();
        assert!(
            weights.len() >= 2,
            "window {} has no preference among its services",
            x.number
        );
    }
    // A bank window.
    assert!(w.iter().any(|x| {
        x.department
            .as_deref()
            .and_then(|d| c.department(d))
            .is_some_and(|d| d.kind == DepartmentKind::Bank)
    }));
}

#[test]
fn demo_hall_has_the_four_step_real_estate_flow_across_floors() {
    let c = Config::demo();
    let head = c
        .services()
        .iter()
        .find(|s| s.name == "不动产查档")
        .expect("不动产查档");
    let mut names = vec![head.name.clone()];
    let mut floors = BTreeSet::new();
    let mut cur = head;
    loop {
        for w in c
            .windows()
            .iter()
            .filter(|w| w.services.iter().any(|s| s.service == cur.id))
        {
            floors.insert(c.zone(&w.zone).unwrap().floor);
        }
        let Some(next) = cur.next_step.as_deref() else {
            break;
        };
        cur = c.service(next).unwrap();
        names.push(cur.name.clone());
    }
    assert_eq!(names.len(), 4, "{names:?}");
    for (name, step) in names.iter().zip(["查档", "审核", "缴费", "领证"]) {
        assert!(name.contains(step), "{names:?}");
    }
    assert!(floors.len() >= 2, "the flow should span floors: {floors:?}");
}

#[test]
fn demo_hall_services_have_caps_and_mixed_matter_classes() {
    let c = Config::demo();
    let s = c.services();
    assert!(s.iter().filter(|x| x.daily_cap.is_some()).count() >= 2);
    assert!(s.iter().any(
        |x| x.per_person_daily_cap.is_some() && x.issue_windows.iter().any(|w| w.cap.is_some())
    ));
    let classes: BTreeSet<String> = s.iter().map(|x| format!("{:?}", x.matter_class)).collect();
    assert!(classes.len() >= 4, "{classes:?}");
    assert!(
        s.iter()
            .any(|x| x.matter_class == MatterClass::Commitment && x.promised_days > 0)
    );
    assert!(s.iter().any(|x| x.prefix == "A") && s.iter().any(|x| x.prefix == "B"));
}

#[test]
fn demo_hall_staffs_every_window_and_has_a_manager_and_a_supervisor() {
    let c = Config::demo();
    let staff = &c.file.staff;
    let window_staff = staff
        .iter()
        .filter(|s| s.roles.contains(&Role::Staff))
        .count();
    assert!(
        window_staff >= c.windows().len(),
        "{window_staff} window staff for {} windows",
        c.windows().len()
    );
    assert!(staff.iter().any(|s| s.roles.contains(&Role::Manager)));
    assert!(staff.iter().any(|s| s.roles.contains(&Role::Supervisor)));
    assert!(
        staff
            .iter()
            .all(|s| !s.job_number.is_empty() && !s.name.is_ascii())
    );
}

#[test]
fn demo_hall_priorities_and_round_the_clock_calendar() {
    let c = Config::demo();
    let ranks: HashMap<&str, u32> = c
        .file
        .priority
        .iter()
        .map(|p| (p.name.as_str(), p.rank))
        .collect();
    assert_eq!(ranks.get("老弱病残孕"), Some(&1));
    assert_eq!(ranks.get("绿色通道"), Some(&2));
    let cal = &c.file.calendar;
    assert_eq!(cal.issue_cutoff_minutes, 0);
    let all_day: BTreeSet<String> = cal
        .sessions
        .iter()
        .filter(|s| s.from.minutes() == 0 && s.to.minutes() == 24 * 60)
        .flat_map(|s| s.days.iter().map(|d| format!("{d:?}")))
        .collect();
    assert_eq!(
        all_day.len(),
        7,
        "open 00:00–24:00 on every day: {all_day:?}"
    );
}
