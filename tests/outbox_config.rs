//! `[evaluation_push]`: accepted as documented, defaults filled in, and every
//! mistake reported with its field and line; unknown keys refused.

use hallq::config::validate::check_push_url;
use hallq::config::{Config, ConfigError, DEMO_HALL_TOML};

fn with(section: &str) -> String {
    format!("{DEMO_HALL_TOML}\n[evaluation_push]\n{section}\n")
}

fn errors(section: &str) -> Vec<ConfigError> {
    Config::from_toml_str("hall.toml", &with(section))
        .expect_err("refused")
        .0
}

/// The one error naming `field`, with a line number inside the section.
fn error_on(section: &str, field: &str) -> ConfigError {
    let errors = errors(section);
    let e = errors
        .iter()
        .find(|e| e.field == field)
        .unwrap_or_else(|| panic!("no error on {field}: {errors:?}"))
        .clone();
    let section_line = with(section)
        .lines()
        .position(|l| l == "[evaluation_push]")
        .expect("section")
        + 1;
    let line = e.line.unwrap_or_else(|| panic!("no line: {e:?}"));
    assert!(
        line > section_line,
        "{e:?} is not inside the section (line {section_line})"
    );
    e
}

#[test]
fn absent_means_no_push() {
    let c = Config::from_toml_str("hall.toml", DEMO_HALL_TOML).expect("demo");
    assert!(c.file.evaluation_push.is_none());
}

#[test]
fn a_full_section_is_accepted_with_defaults() {
    let c = Config::from_toml_str(
        "hall.toml",
        &with("url = \"https://hcp.example.gov.cn:8443/api/v1/evaluations?app=hallq\""),
    )
    .expect("accepted");
    let p = c.file.evaluation_push.expect("section");
    assert_eq!(p.timeout_seconds, 10);
    assert_eq!(p.token_file, None);
    assert_eq!(p.ca_file, None);
    assert_eq!(p.hall_code, None);

    let c = Config::from_toml_str(
        "hall.toml",
        &with(
            "url = \"http://10.1.2.3/hcp\"\ntoken_file = \"push.token\"\ntimeout_seconds = 30\n\
             ca_file = \"/etc/hallq/gov-ca.pem\"\nhall_code = \"341122-zwfw\"",
        ),
    )
    .expect("accepted");
    let p = c.file.evaluation_push.expect("section");
    assert_eq!(p.token_file.as_deref(), Some("push.token"));
    assert_eq!(p.timeout_seconds, 30);
    assert_eq!(p.hall_code.as_deref(), Some("341122-zwfw"));
}

#[test]
fn mistakes_are_named_with_their_line() {
    let e = error_on("url = \"ftp://hcp.example.gov.cn\"", "evaluation_push.url");
    assert!(e.message.contains("https://"), "{e:?}");
    let e = error_on(
        "url = \"https://user:secret@hcp.example.gov.cn/x\"",
        "evaluation_push.url",
    );
    assert!(e.message.contains("token_file"), "{e:?}");
    let e = error_on(
        "url = \"https://hcp.example.gov.cn\"\ntimeout_seconds = 0",
        "evaluation_push.timeout_seconds",
    );
    assert!(e.message.contains("1–300"), "{e:?}");
    error_on(
        "url = \"https://hcp.example.gov.cn\"\ntimeout_seconds = 301",
        "evaluation_push.timeout_seconds",
    );
    let e = error_on(
        "url = \"https://hcp.example.gov.cn\"\nhall_code = \"安和县\"",
        "evaluation_push.hall_code",
    );
    assert!(e.message.contains("Idempotency-Key"), "{e:?}");
    error_on(
        "url = \"https://hcp.example.gov.cn\"\ntoken_file = \" \"",
        "evaluation_push.token_file",
    );
}

#[test]
fn unknown_keys_and_a_missing_url_are_refused() {
    let unknown = errors("url = \"https://hcp.example.gov.cn\"\ntoken = \"abc\"");
    assert!(
        unknown
            .iter()
            .any(|e| e.message.contains("token") && e.line.is_some()),
        "{unknown:?}"
    );
    let missing = errors("timeout_seconds = 5");
    assert!(
        missing.iter().any(|e| e.message.contains("url")),
        "{missing:?}"
    );
}

#[test]
fn push_urls() {
    for ok in [
        "https://hcp.example.gov.cn",
        "https://hcp.example.gov.cn/",
        "https://hcp.example.gov.cn/api/evaluations",
        "https://hcp.example.gov.cn:8443/a/b?app=1&x=%20",
        "http://10.0.0.5:8080/hcp",
        "http://[fd00::5]:8080/hcp",
        "http://localhost:9/x",
    ] {
        assert_eq!(check_push_url(ok), Ok(()), "{ok}");
    }
    for bad in [
        "",
        "hcp.example.gov.cn/api",
        "ftp://hcp.example.gov.cn",
        "https://",
        "https:///api",
        "https://user@hcp.example.gov.cn",
        "https://hcp.example.gov.cn/a#frag",
        "https://hcp.example.gov.cn:0/a",
        "https://hcp.example.gov.cn:70000",
        "https://hcp example.gov.cn",
        "https://hcp.example.gov.cn/评价",
        "https://hcp.example.gov.cn/a b",
    ] {
        assert!(check_push_url(bad).is_err(), "{bad}");
    }
    let long = format!("https://hcp.example.gov.cn/{}", "a".repeat(3000));
    assert!(check_push_url(&long).is_err());
}
