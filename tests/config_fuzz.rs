//! No input makes configuration parsing panic: arbitrary text, and
//! arbitrary edits of the demo hall (which mostly stay TOML and reach the
//! semantic checks).

use hallq::config::{Config, DEMO_HALL_TOML, locate};
use proptest::prelude::*;

fn check(text: &str) {
    match Config::from_toml_str("fuzz.toml", text) {
        Ok(_) => {}
        Err(errors) => {
            assert!(!errors.0.is_empty());
            let _ = errors.to_string();
        }
    }
    for path in [
        "hall.timezone",
        "service[3].prefix",
        "window[0].services[2].weight",
        "calendar.session[1].to",
        "x[",
        "a..b",
    ] {
        let _ = locate::line_of(text, path);
    }
}

/// Replaces bytes `at..at+len` of `base` (moved to char boundaries) with `with`.
fn splice(base: &str, at: usize, len: usize, with: &str) -> String {
    let mut start = at % (base.len() + 1);
    while !base.is_char_boundary(start) {
        start -= 1;
    }
    let mut end = (start + len).min(base.len());
    while !base.is_char_boundary(end) {
        end += 1;
    }
    format!("{}{}{}", &base[..start], with, &base[end..])
}

/// Values and fragments that are likely to reach interesting checks.
fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("0".to_string()),
        Just("-1".to_string()),
        Just("4294967296".to_string()),
        Just("\"\"".to_string()),
        Just("\"24:00\"".to_string()),
        Just("\"00:00\"".to_string()),
        Just("[]".to_string()),
        Just("{}".to_string()),
        Just("\n[[window]]\n".to_string()),
        Just("\n[[service]]\n".to_string()),
        Just("\n[[calendar.session]]\ndays=[\"mon\"]\nfrom=\"23:00\"\nto=\"01:00\"\n".to_string()),
        Just("\nnext_step = \"estate-search\"\n".to_string()),
        Just("estate-search".to_string()),
        Just("\"".to_string()),
        Just("[".to_string()),
        Just("=".to_string()),
        Just("\u{FEFF}".to_string()),
        Just("中".to_string()),
        "[ -~]{0,12}",
        any::<String>(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(text in any::<String>()) {
        check(&text);
    }

    #[test]
    fn arbitrary_tomlish_text_never_panics(text in "[\\[\\]a-z0-9 =\"{},.:\n#-]{0,200}") {
        check(&text);
    }

    #[test]
    fn mutated_demo_hall_never_panics(edits in proptest::collection::vec((any::<usize>(), 0usize..40, fragment()), 1..4)) {
        let mut text = DEMO_HALL_TOML.to_string();
        for (at, len, with) in edits {
            text = splice(&text, at, len, &with);
        }
        check(&text);
    }

    #[test]
    fn value_edits_of_the_demo_hall_never_panic(line in 0usize..2000, with in fragment()) {
        // Replace the value on one `key = value` line.
        let lines: Vec<&str> = DEMO_HALL_TOML.lines().collect();
        let i = line % lines.len();
        let mut out: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
        if let Some((key, _)) = lines[i].split_once(" = ") {
            out[i] = format!("{key} = {with}");
        }
        check(&out.join("\n"));
    }
}
