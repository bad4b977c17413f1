//! What differs between two configurations, in words, and which of it a
//! running daemon can take without a restart (`daemon/reload.rs`).
//!
//! Both files are compared as their serde form, table by table. Lists of
//! tables with an identity (`[[service]]` by `id`, `[[window]]` by
//! `number`, `[[staff]]` by `account`, …) are matched by it, so a renamed
//! service reads `service "tax" name: "税务" → "税务登记"`, not as a list
//! that shifted. Other lists are compared item by item.
//!
//! **Restart-only** are the parts read once at start: the hall's time zone;
//! `[server]` TLS files, session length and rate limits; `[[staff]]` and
//! `[[api_key]]` (the account store's roles and keys are built at start);
//! `[[bus]]` and `[[device]]` (one task per port); `[backup]`;
//! `[evaluation_push]` (and the hall's name while it derives the push's
//! hall code). Everything else — services, windows, zones, departments,
//! priorities, routing, the calendar, notices, statistics, alerts,
//! `[server] public_url`, names — is live: the hall is rebuilt under it.

use serde_json::Value;

use super::Config;

/// One difference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// In words: `service "tax" target_wait_minutes: 30 → 20`.
    pub text: String,
    /// Why this needs a restart; `None` when a reload can apply it.
    pub restart: Option<&'static str>,
}

/// Every difference from `old` to `new`, in the file's section order.
pub fn diff(old: &Config, new: &Config) -> Vec<Change> {
    let (Ok(Value::Object(a)), Ok(Value::Object(b))) = (
        serde_json::to_value(&old.file),
        serde_json::to_value(&new.file),
    ) else {
        // Cannot happen (plain serde types); say so rather than claim no change.
        return vec![Change {
            text: "the configuration could not be compared".into(),
            restart: Some("it could not be compared with the running one"),
        }];
    };
    let mut out = Vec::new();
    let mut keys: Vec<&String> = SECTIONS
        .iter()
        .filter_map(|s| a.keys().chain(b.keys()).find(|k| k.as_str() == *s))
        .collect();
    for k in a.keys().chain(b.keys()) {
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    let null = Value::Null;
    for k in keys {
        let (x, y) = (a.get(k).unwrap_or(&null), b.get(k).unwrap_or(&null));
        walk(k, k, x, y, &mut out);
    }
    // The push's hall code is derived from the hall's name when not given.
    let derived_code = |c: &Config| {
        c.file
            .evaluation_push
            .as_ref()
            .is_some_and(|p| p.hall_code.is_none())
    };
    if old.file.hall.name != new.file.hall.name && (derived_code(old) || derived_code(new)) {
        for c in out.iter_mut().filter(|c| c.text.starts_with("hall name:")) {
            c.restart = Some(
                "the 好差评 push derives its hall code from the hall's name at start \
                 ([evaluation_push] hall_code is not set)",
            );
        }
    }
    out
}

/// Top-level tables in the order of the file format (`model::HallConfig`).
const SECTIONS: &[&str] = &[
    "hall",
    "zone",
    "department",
    "service",
    "window",
    "staff",
    "priority",
    "routing",
    "calendar",
    "api_key",
    "server",
    "bus",
    "device",
    "notice",
    "stats",
    "evaluation_push",
    "alerts",
    "backup",
];

/// (schema path prefix, why it needs a restart).
const RESTART_ONLY: &[(&str, &str)] = &[
    (
        "hall.timezone",
        "the hall's time zone is fixed at start (every time in the journal is read in it)",
    ),
    (
        "server.tls_cert",
        "the HTTPS certificate is loaded when the listener starts",
    ),
    (
        "server.tls_key",
        "the HTTPS key is loaded when the listener starts",
    ),
    (
        "server.session_hours",
        "the account store takes the session length at start",
    ),
    (
        "server.issues_per_minute",
        "the rate limiter is built at start",
    ),
    (
        "server.sign_ins_per_minute",
        "the rate limiter is built at start",
    ),
    (
        "staff",
        "accounts and their roles are loaded into the account store at start",
    ),
    ("api_key", "machine keys are loaded at start"),
    ("bus", "each bus's port is opened by its own task at start"),
    ("device", "devices are wired to their bus tasks at start"),
    ("backup", "the backup schedule is set at start"),
    (
        "evaluation_push",
        "the 好差评 push reads its URL, token and CA files at start",
    ),
];

/// The identity of an item of these lists of tables.
fn identity(schema: &str) -> Option<&'static str> {
    Some(match schema {
        "zone" | "department" | "service" | "priority" | "api_key" => "id",
        "window" => "number",
        "staff" => "account",
        "bus" => "name",
        _ => return None,
    })
}

/// Values not to print: personal data of staff, key hashes.
fn redacted(schema: &str) -> bool {
    schema.starts_with("staff") || schema.starts_with("api_key")
}

fn restart_reason(schema: &str) -> Option<&'static str> {
    RESTART_ONLY
        .iter()
        .find(|(p, _)| {
            schema == *p
                || schema
                    .strip_prefix(p)
                    .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
        })
        .map(|(_, why)| *why)
}

const SHOWN_CHARS_MAX: usize = 80;

fn show(v: &Value) -> String {
    let s = match v {
        Value::Null => "(none)".to_string(),
        other => other.to_string(),
    };
    if s.chars().count() > SHOWN_CHARS_MAX {
        let cut: String = s.chars().take(SHOWN_CHARS_MAX).collect();
        format!("{cut}…")
    } else {
        s
    }
}

fn push(out: &mut Vec<Change>, schema: &str, text: String) {
    out.push(Change {
        text,
        restart: restart_reason(schema),
    });
}

/// `path` is for people (`service "tax" name`), `schema` for the rules (`service.name`).
fn walk(path: &str, schema: &str, old: &Value, new: &Value, out: &mut Vec<Change>) {
    if old == new {
        return;
    }
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            let mut keys: Vec<&String> = a.keys().collect();
            keys.extend(b.keys().filter(|k| !a.contains_key(*k)));
            let null = Value::Null;
            for k in keys {
                let (x, y) = (a.get(k).unwrap_or(&null), b.get(k).unwrap_or(&null));
                walk(&format!("{path} {k}"), &format!("{schema}.{k}"), x, y, out);
            }
        }
        (Value::Array(a), Value::Array(b)) => match identity(schema) {
            Some(id) => keyed(path, schema, id, a, b, out),
            None => {
                for i in 0..a.len().max(b.len()) {
                    let item = format!("{path}[{}]", i + 1);
                    let schema_item = format!("{schema}[]");
                    match (a.get(i), b.get(i)) {
                        (Some(x), Some(y)) => walk(&item, &schema_item, x, y, out),
                        (None, Some(y)) => {
                            push(out, &schema_item, format!("{item} added: {}", show(y)))
                        }
                        (Some(_), None) => push(out, &schema_item, format!("{item} removed")),
                        (None, None) => {}
                    }
                }
            }
        },
        _ if redacted(schema) => push(out, schema, format!("{path} changed")),
        _ => push(
            out,
            schema,
            format!("{path}: {} → {}", show(old), show(new)),
        ),
    }
}

/// Lists of tables matched by their identity field.
fn keyed(path: &str, schema: &str, id: &str, a: &[Value], b: &[Value], out: &mut Vec<Change>) {
    let key = |v: &Value| v.get(id).map(show).unwrap_or_default();
    let name = |v: &Value| {
        v.get("name")
            .and_then(Value::as_str)
            .filter(|_| !redacted(schema))
            .map(|n| format!(" ({n})"))
            .unwrap_or_default()
    };
    for x in a {
        let k = key(x);
        match b.iter().find(|y| key(y) == k) {
            Some(y) => walk(&format!("{path} {k}"), schema, x, y, out),
            None => push(out, schema, format!("{path} {k}{} removed", name(x))),
        }
    }
    for y in b {
        let k = key(y);
        if !a.iter().any(|x| key(x) == k) {
            push(out, schema, format!("{path} {k}{} added", name(y)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DEMO_HALL_TOML;

    fn demo_with(edit: impl Fn(&str) -> String) -> Config {
        Config::from_toml_str("t.toml", &edit(DEMO_HALL_TOML)).expect("valid")
    }

    #[test]
    fn the_same_file_has_no_changes() {
        let a = demo_with(|s| s.to_string());
        assert!(diff(&a, &a).is_empty());
    }

    #[test]
    fn a_renamed_service_and_a_new_target_are_live_changes_named_by_id() {
        let a = demo_with(|s| s.to_string());
        let mut b = a.clone();
        b.file.services[0].name = "改名".into();
        b.file.services[0].target_wait_minutes += 5;
        let id = &a.file.services[0].id;
        let d = diff(&a, &b);
        assert_eq!(d.len(), 2, "{d:?}");
        assert!(d.iter().all(|c| c.restart.is_none()), "{d:?}");
        assert!(
            d.iter()
                .any(|c| c.text.starts_with(&format!("service \"{id}\" name: "))
                    && c.text.ends_with("→ \"改名\"")),
            "{d:?}"
        );
    }

    #[test]
    fn wiring_time_zone_and_staff_need_a_restart() {
        let a = demo_with(|s| s.to_string());
        let mut b = a.clone();
        b.file.hall.timezone = "Asia/Urumqi".into();
        b.file.buses[0].baud = 19200;
        b.file.staff[0].name = "某某".into();
        b.file.server.public_url = Some("https://hall.example.gov.cn".into());
        let d = diff(&a, &b);
        let restart: Vec<_> = d.iter().filter(|c| c.restart.is_some()).collect();
        assert_eq!(restart.len(), 3, "{d:?}");
        assert!(
            d.iter()
                .any(|c| c.text.contains("public_url") && c.restart.is_none())
        );
        // Staff names are personal data: said changed, not shown.
        assert!(
            d.iter()
                .any(|c| c.text.starts_with("staff ") && !c.text.contains("某某"))
        );
    }
}
