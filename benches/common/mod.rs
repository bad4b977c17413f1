//! A synthetic hall for benchmarks: N windows, M services, 24/7 calendar,
//! large uncapped series, written as TOML so it goes through validation.

use std::fmt::Write;

/// Two-letter prefixes AA, AB, … for service i.
pub fn prefix(i: usize) -> String {
    let a = (b'A' + (i / 26) as u8) as char;
    let b = (b'A' + (i % 26) as u8) as char;
    format!("{a}{b}")
}

/// `services_per_window` consecutive services per window (wrapping), weights 1–3.
pub fn synthetic_hall(windows: usize, services: usize, services_per_window: usize) -> String {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "[hall]\nname = \"基准测试大厅\"\ntimezone = \"Asia/Shanghai\"\n"
    );
    let _ = writeln!(t, "[[zone]]\nid = \"z1\"\nname = \"一楼\"\nfloor = 1\n");
    let _ = writeln!(t, "[[department]]\nid = \"d1\"\nname = \"综合\"\n");
    for s in 0..services {
        let _ = writeln!(
            t,
            "[[service]]\nid = \"s{s}\"\nname = \"业务{s}\"\ndepartment = \"d1\"\nprefix = \"{}\"\nseries = {{ start = 1, end = 99999, wrap = true }}\nmatter_class = \"immediate\"\nexpected_minutes = 10\n",
            prefix(s)
        );
    }
    for w in 0..windows {
        let _ = writeln!(
            t,
            "[[window]]\nnumber = {}\nname = \"{}号窗\"\nkind = \"comprehensive\"\nzone = \"z1\"",
            w + 1,
            w + 1
        );
        for k in 0..services_per_window {
            let _ = writeln!(
                t,
                "[[window.services]]\nservice = \"s{}\"\nweight = {}",
                (w + k) % services,
                1 + (w + k) % 3
            );
        }
        let _ = writeln!(t);
    }
    for w in 0..windows {
        let _ = writeln!(
            t,
            "[[staff]]\naccount = \"staff{w}\"\njob_number = \"{:05}\"\nname = \"职员{w}\"\n",
            w + 1
        );
    }
    let _ = writeln!(
        t,
        "[[priority]]\nid = \"green\"\nname = \"绿色通道\"\nrank = 2\n"
    );
    let _ = writeln!(
        t,
        "[[priority]]\nid = \"elder\"\nname = \"老弱病残孕\"\nrank = 1\n"
    );
    let _ = writeln!(
        t,
        "[calendar]\nissue_cutoff_minutes = 0\n[[calendar.session]]\ndays = [\"mon\",\"tue\",\"wed\",\"thu\",\"fri\",\"sat\",\"sun\"]\nfrom = \"00:00\"\nto = \"24:00\""
    );
    t
}
