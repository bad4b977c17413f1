//! Passwords: demo and real configurations, lockout, unknown accounts, the
//! forced change flow, the policy, and the production argon2 setting.

mod accounts_support;

use std::sync::Arc;
use std::time::Instant;

use accounts_support::*;
use hallq::accounts::{
    Accounts, DEMO_PASSWORD, LOCK_MS, MAX_FAILED_ATTEMPTS, PasswordError, Principal, SignInError,
    Weakness,
};
use hallq::journal::accounts::AccountStore;

fn must_change(accounts: &Accounts, token: &str, now_ms: i64) -> Option<bool> {
    match accounts.authenticate(token, now_ms) {
        Some(Principal::Person {
            must_change_password,
            ..
        }) => Some(must_change_password),
        _ => None,
    }
}

#[test]
fn demo_hall_every_account_signs_in_with_demo() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = demo();
    let accounts = open(dir.path(), config.clone(), T0);
    assert!(accounts.is_demo());
    assert_eq!(DEMO_PASSWORD, "demo");
    for staff in &config.file.staff {
        let s = accounts
            .sign_in(&staff.account, "demo", T0)
            .unwrap_or_else(|e| panic!("{}: {e}", staff.account));
        assert!(!s.must_change_password, "{}", staff.account);
        assert_eq!(s.roles, staff.roles);
    }
    for name in ["manager", "supervisor", "w01", "w12"] {
        assert!(config.staff(name).is_some(), "demo account {name}");
    }
}

#[test]
fn demo_password_changed_stays_changed_after_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let accounts = open(dir.path(), demo(), T0);
    accounts
        .change_password("w04", "demo", "Lotus-Pond-42", T0)
        .expect("change");
    drop(accounts);
    let accounts = open(dir.path(), demo(), T0 + 1);
    assert_eq!(
        accounts.sign_in("w04", "demo", T0 + 1),
        Err(SignInError::BadCredentials)
    );
    assert!(accounts.sign_in("w04", "Lotus-Pond-42", T0 + 1).is_ok());
}

#[test]
fn real_configuration_has_no_passwords() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = real();
    let accounts = open(dir.path(), config.clone(), T0);
    assert!(!accounts.is_demo());
    for staff in &config.file.staff {
        for password in ["demo", "", "anything at all"] {
            let refused = accounts.sign_in(&staff.account, password, T0);
            assert!(refused.is_err(), "{} / {password:?}", staff.account);
        }
        assert_eq!(
            accounts.sign_in(&staff.account, "demo", T0),
            Err(SignInError::NoPassword)
        );
    }
    let e = SignInError::NoPassword;
    assert_eq!(e.code(), "no_password");
    assert!(e.zh().contains("管理员") && e.en().contains("administrator"));
}

#[test]
fn demo_passwords_are_wiped_when_a_real_configuration_takes_over() {
    let dir = tempfile::tempdir().expect("tempdir");
    let accounts = open(dir.path(), demo(), T0);
    let s = accounts.sign_in("manager", "demo", T0).expect("sign in");
    accounts
        .change_password("w09", "demo", "Lotus-Pond-42", T0)
        .expect("change");
    drop(accounts);

    let accounts = open(dir.path(), real(), T0 + 1);
    assert_eq!(
        accounts.sign_in("manager", "demo", T0 + 1),
        Err(SignInError::NoPassword)
    );
    assert_eq!(accounts.authenticate(&s.token, T0 + 1), None);
    // A password somebody chose is not a default credential: it stays.
    assert!(accounts.sign_in("w09", "Lotus-Pond-42", T0 + 1).is_ok());
}

#[test]
fn five_failures_lock_for_fifteen_minutes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let accounts = open(dir.path(), demo(), T0);
    for i in 1..MAX_FAILED_ATTEMPTS {
        assert_eq!(
            accounts.sign_in("w01", "wrong", T0 + i64::from(i)),
            Err(SignInError::BadCredentials),
            "attempt {i}"
        );
    }
    let t5 = T0 + 5;
    let until_ms = t5 + 15 * MINUTE_MS;
    assert_eq!(LOCK_MS, 15 * MINUTE_MS);
    assert_eq!(
        accounts.sign_in("w01", "wrong", t5),
        Err(SignInError::Locked { until_ms })
    );
    // The 6th attempt, with the right password, is refused and does not
    // extend the lock; neither do more wrong ones.
    assert_eq!(
        accounts.sign_in("w01", "demo", t5 + 1),
        Err(SignInError::Locked { until_ms })
    );
    assert_eq!(
        accounts.sign_in("w01", "wrong", t5 + 10 * MINUTE_MS),
        Err(SignInError::Locked { until_ms })
    );
    assert_eq!(
        accounts.sign_in("w01", "demo", until_ms - 1),
        Err(SignInError::Locked { until_ms })
    );
    // The lock survives a restart.
    drop(accounts);
    let accounts = open(dir.path(), demo(), until_ms - 1);
    assert_eq!(
        accounts.sign_in("w01", "demo", until_ms - 1),
        Err(SignInError::Locked { until_ms })
    );
    // Other accounts are not affected.
    assert!(accounts.sign_in("w02", "demo", t5).is_ok());
    // After 15 minutes the right password works.
    let s = accounts.sign_in("w01", "demo", until_ms).expect("unlocked");
    assert!(accounts.authenticate(&s.token, until_ms).is_some());
    let e = SignInError::Locked { until_ms };
    assert_eq!(e.code(), "account_locked");
    assert!(e.zh().contains("锁定") && e.en().contains("locked"));
}

#[test]
fn a_success_resets_the_count() {
    let dir = tempfile::tempdir().expect("tempdir");
    let accounts = open(dir.path(), demo(), T0);
    for round in 0..3 {
        for _ in 1..MAX_FAILED_ATTEMPTS {
            assert_eq!(
                accounts.sign_in("w02", "wrong", T0 + round),
                Err(SignInError::BadCredentials)
            );
        }
        assert!(
            accounts.sign_in("w02", "demo", T0 + round).is_ok(),
            "round {round}"
        );
    }
}

#[test]
fn an_administrator_reset_unlocks() {
    let dir = tempfile::tempdir().expect("tempdir");
    let accounts = open(dir.path(), demo(), T0);
    for _ in 0..MAX_FAILED_ATTEMPTS {
        let _ = accounts.sign_in("w03", "wrong", T0);
    }
    assert!(matches!(
        accounts.sign_in("w03", "demo", T0),
        Err(SignInError::Locked { .. })
    ));
    accounts
        .set_password("w03", "Lotus-Pond-42", T0 + 1)
        .expect("reset");
    assert!(accounts.sign_in("w03", "Lotus-Pond-42", T0 + 2).is_ok());
}

#[test]
fn concurrent_wrong_attempts_get_exactly_four_tries_then_lock() {
    let dir = tempfile::tempdir().expect("tempdir");
    let accounts = Arc::new(open(dir.path(), demo(), T0));
    let results: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..16)
            .map(|_| {
                let accounts = accounts.clone();
                scope.spawn(move || accounts.sign_in("w08", "wrong", T0))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    let bad = results
        .iter()
        .filter(|r| **r == Err(SignInError::BadCredentials))
        .count();
    let locked = results
        .iter()
        .filter(|r| matches!(r, Err(SignInError::Locked { .. })))
        .count();
    assert_eq!((bad, locked), (4, 12), "{results:?}");
    assert!(matches!(
        accounts.sign_in("w08", "demo", T0 + 1),
        Err(SignInError::Locked { .. })
    ));
}

#[test]
fn concurrent_attempts_on_an_unknown_name_answer_like_a_known_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let accounts = Arc::new(open(dir.path(), demo(), T0));
    let count = |account: &'static str| {
        let results: Vec<_> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..16)
                .map(|_| {
                    let accounts = accounts.clone();
                    scope.spawn(move || accounts.sign_in(account, "wrong", T0))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("thread"))
                .collect()
        });
        let bad = results
            .iter()
            .filter(|r| **r == Err(SignInError::BadCredentials))
            .count();
        (bad, results.len() - bad)
    };
    assert_eq!(count("w10"), (4, 12));
    assert_eq!(count("nobody"), (4, 12));
}

#[test]
fn unknown_accounts_look_like_wrong_passwords() {
    let dir = tempfile::tempdir().expect("tempdir");
    let accounts = open(dir.path(), demo(), T0);
    let long = "x".repeat(65);
    let huge = "x".repeat(1 << 20);
    for name in ["nobody", "W01", "w01 ", "", long.as_str(), huge.as_str()] {
        assert_eq!(
            accounts.sign_in(name, "demo", T0),
            Err(SignInError::BadCredentials),
            "{:?}",
            &name[..name.len().min(10)]
        );
    }
    // An unknown name also "locks" after five attempts, as a known one
    // would, so the lock does not reveal which names exist.
    for _ in 2..MAX_FAILED_ATTEMPTS {
        assert_eq!(
            accounts.sign_in("nobody", "x", T0),
            Err(SignInError::BadCredentials)
        );
    }
    assert_eq!(
        accounts.sign_in("nobody", "x", T0),
        Err(SignInError::Locked {
            until_ms: T0 + LOCK_MS
        })
    );
    assert_eq!(
        accounts.sign_in("nobody", "x", T0 + LOCK_MS - 1),
        Err(SignInError::Locked {
            until_ms: T0 + LOCK_MS
        })
    );
    assert_eq!(
        accounts.sign_in("nobody", "x", T0 + LOCK_MS),
        Err(SignInError::BadCredentials)
    );
    let e = SignInError::BadCredentials;
    assert_eq!(e.code(), "bad_credentials");
    assert!(!e.zh().is_empty() && !e.en().is_empty());
}

#[test]
fn passwords_longer_than_128_characters_are_refused_before_hashing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let accounts = open(dir.path(), demo(), T0);
    let ten_mb = "p".repeat(10 << 20);
    let started = Instant::now();
    assert_eq!(
        accounts.sign_in("w01", &ten_mb, T0),
        Err(SignInError::BadCredentials)
    );
    assert_eq!(
        accounts.set_password("w01", &ten_mb, T0),
        Err(PasswordError::TooLong)
    );
    assert_eq!(
        accounts.change_password("w01", "demo", &"密".repeat(129), T0),
        Err(PasswordError::TooLong)
    );
    assert!(started.elapsed().as_secs() < 5);
    // Not counted as failed attempts (they cannot be right).
    assert!(accounts.sign_in("w01", "demo", T0).is_ok());
    // 128 characters is fine.
    let max = "密码".repeat(64);
    accounts.set_password("w01", &max, T0).expect("128 chars");
    assert!(accounts.sign_in("w01", &max, T0).is_ok());
    assert_eq!(PasswordError::TooLong.code(), "password_too_long");
}

#[test]
fn forced_change_flow() {
    let dir = tempfile::tempdir().expect("tempdir");
    let accounts = open(dir.path(), real(), T0);
    assert_eq!(
        accounts.sign_in("w01", "Temp-Pass-2024", T0),
        Err(SignInError::NoPassword)
    );
    // The administrator sets a first password.
    accounts
        .set_password("w01", "Temp-Pass-2024", T0)
        .expect("set");
    let a = accounts
        .sign_in("w01", "Temp-Pass-2024", T0 + 1)
        .expect("a");
    let b = accounts
        .sign_in("w01", "Temp-Pass-2024", T0 + 2)
        .expect("b");
    let c = accounts
        .sign_in("w01", "Temp-Pass-2024", T0 + 3)
        .expect("c");
    assert!(a.must_change_password);
    assert_eq!(must_change(&accounts, &a.token, T0 + 4), Some(true));

    // The person changes it with session a: a stays (no longer forced),
    // every other session of the account ends.
    let Some(Principal::Person { session, .. }) = accounts.authenticate(&a.token, T0 + 5) else {
        panic!("a is a person");
    };
    accounts
        .change_password_keeping(
            "w01",
            "Temp-Pass-2024",
            "Lotus-Pond-42",
            Some(&session),
            T0 + 5,
        )
        .expect("change");
    assert_eq!(must_change(&accounts, &a.token, T0 + 6), Some(false));
    assert_eq!(accounts.authenticate(&b.token, T0 + 6), None);
    assert_eq!(accounts.authenticate(&c.token, T0 + 6), None);
    assert_eq!(
        accounts.sign_in("w01", "Temp-Pass-2024", T0 + 7),
        Err(SignInError::BadCredentials)
    );
    let d = accounts.sign_in("w01", "Lotus-Pond-42", T0 + 8).expect("d");
    assert!(!d.must_change_password);

    // The plain change_password ends every session, the caller's too.
    accounts
        .change_password("w01", "Lotus-Pond-42", "Willow-Bridge-9", T0 + 9)
        .expect("change");
    assert_eq!(accounts.authenticate(&a.token, T0 + 10), None);
    assert_eq!(accounts.authenticate(&d.token, T0 + 10), None);

    // An administrator's reset ends every session and forces a change again.
    let e = accounts
        .sign_in("w01", "Willow-Bridge-9", T0 + 11)
        .expect("e");
    accounts
        .set_password("w01", "Temp-Pass-2025", T0 + 12)
        .expect("reset");
    assert_eq!(accounts.authenticate(&e.token, T0 + 13), None);
    assert!(
        accounts
            .sign_in("w01", "Temp-Pass-2025", T0 + 14)
            .expect("f")
            .must_change_password
    );
    // The forced flag survives a restart.
    drop(accounts);
    let accounts = open(dir.path(), real(), T0 + 15);
    let g = accounts
        .sign_in("w01", "Temp-Pass-2025", T0 + 15)
        .expect("g");
    assert!(g.must_change_password);
    assert_eq!(must_change(&accounts, &g.token, T0 + 15), Some(true));
}

#[test]
fn a_session_of_another_account_is_not_kept() {
    let dir = tempfile::tempdir().expect("tempdir");
    let accounts = open(dir.path(), demo(), T0);
    let mine = accounts.sign_in("w01", "demo", T0).expect("w01");
    let theirs = accounts.sign_in("w02", "demo", T0).expect("w02");
    let Some(Principal::Person { session, .. }) = accounts.authenticate(&theirs.token, T0) else {
        panic!("person");
    };
    accounts
        .change_password_keeping("w01", "demo", "Lotus-Pond-42", Some(&session), T0)
        .expect("change");
    assert_eq!(accounts.authenticate(&mine.token, T0), None);
    assert!(accounts.authenticate(&theirs.token, T0).is_some());
}

#[test]
fn wrong_current_password_counts_toward_the_lock() {
    let dir = tempfile::tempdir().expect("tempdir");
    let accounts = open(dir.path(), demo(), T0);
    for _ in 1..MAX_FAILED_ATTEMPTS {
        assert_eq!(
            accounts.change_password("w06", "wrong", "Lotus-Pond-42", T0),
            Err(PasswordError::WrongPassword)
        );
    }
    assert_eq!(
        accounts.change_password("w06", "wrong", "Lotus-Pond-42", T0),
        Err(PasswordError::Locked {
            until_ms: T0 + LOCK_MS
        })
    );
    assert_eq!(
        accounts.change_password("w06", "demo", "Lotus-Pond-42", T0 + 1),
        Err(PasswordError::Locked {
            until_ms: T0 + LOCK_MS
        })
    );
    assert!(matches!(
        accounts.sign_in("w06", "demo", T0 + 1),
        Err(SignInError::Locked { .. })
    ));
    assert_eq!(PasswordError::WrongPassword.code(), "wrong_password");
}

#[test]
fn policy_refusals_each_explained() {
    let dir = tempfile::tempdir().expect("tempdir");
    let accounts = open(dir.path(), demo(), T0);
    let cases: &[(&str, Weakness)] = &[
        ("demo", Weakness::TooShort),
        ("short7!", Weakness::TooShort),
        ("W01", Weakness::TooShort),
        ("password", Weakness::TooCommon),
        ("Password", Weakness::TooCommon),
        ("12345678", Weakness::TooCommon),
        ("demo1234", Weakness::TooCommon),
        ("88888888", Weakness::TooCommon),
        ("woaini1314", Weakness::TooCommon),
        ("aaaaaaaaaa", Weakness::TooSimple),
        ("abcdefghij", Weakness::TooSimple),
        ("98765432", Weakness::TooSimple),
        ("tab\tinside", Weakness::ControlCharacter),
    ];
    for (password, weakness) in cases {
        for result in [
            accounts.set_password("w01", password, T0),
            accounts.change_password("w01", "demo", password, T0),
        ] {
            assert_eq!(
                result,
                Err(PasswordError::TooWeak(*weakness)),
                "{password:?}"
            );
        }
    }
    // Equal to the account name (a long one, so the length rule passes).
    assert_eq!(
        accounts.set_password("supervisor", "SUPERVISOR", T0),
        Err(PasswordError::TooWeak(Weakness::SameAsAccount))
    );
    // Not the old one.
    accounts
        .change_password("w01", "demo", "Lotus-Pond-42", T0)
        .expect("change");
    assert_eq!(
        accounts.change_password("w01", "Lotus-Pond-42", "Lotus-Pond-42", T0),
        Err(PasswordError::TooWeak(Weakness::SameAsOld))
    );
    // Policy refusals are not failed attempts.
    assert!(accounts.sign_in("w01", "Lotus-Pond-42", T0).is_ok());
    // Every refusal has a code and a message in both languages.
    for w in [
        Weakness::TooShort,
        Weakness::SameAsAccount,
        Weakness::TooCommon,
        Weakness::TooSimple,
        Weakness::ControlCharacter,
        Weakness::SameAsOld,
    ] {
        let e = PasswordError::TooWeak(w);
        assert_eq!(e.code(), "password_too_weak");
        assert!(!w.code().is_empty());
        assert!(
            e.zh()
                .chars()
                .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
            "{w:?}"
        );
        assert!(e.en().is_ascii() || e.en().contains('…'), "{w:?}");
    }
    // Unknown accounts cannot be given a password.
    assert_eq!(
        accounts.set_password("nobody", "Lotus-Pond-42", T0),
        Err(PasswordError::UnknownAccount)
    );
    assert_eq!(
        accounts.change_password("nobody", "x", "Lotus-Pond-42", T0),
        Err(PasswordError::UnknownAccount)
    );
}

#[test]
fn change_needs_a_password_to_change() {
    let dir = tempfile::tempdir().expect("tempdir");
    let accounts = open(dir.path(), real(), T0);
    assert_eq!(
        accounts.change_password("w01", "anything", "Lotus-Pond-42", T0),
        Err(PasswordError::NoPassword)
    );
}

/// The production setting: OWASP argon2id (m = 19 MiB, t = 2, p = 1), in PHC
/// format; an unknown account costs about as much as a known one.
#[test]
fn default_argon2_parameters_work() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = store_path(dir.path());
    let accounts = Accounts::open(&path, real(), T0).expect("open");
    accounts
        .set_password("w01", "Lotus-Pond-42", T0)
        .expect("set");
    let stored = AccountStore::open(&path)
        .expect("store")
        .account("w01")
        .expect("read")
        .expect("row")
        .password_hash
        .expect("hash");
    assert!(
        stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{stored}"
    );
    let s = accounts
        .sign_in("w01", "Lotus-Pond-42", T0)
        .expect("sign in");
    assert!(s.must_change_password);

    let started = Instant::now();
    assert_eq!(
        accounts.sign_in("w01", "wrong-password", T0),
        Err(SignInError::BadCredentials)
    );
    let known = started.elapsed();
    let started = Instant::now();
    assert_eq!(
        accounts.sign_in("nobody", "wrong-password", T0),
        Err(SignInError::BadCredentials)
    );
    let unknown = started.elapsed();
    assert!(
        unknown * 2 > known && known * 2 > unknown,
        "known {known:?} vs unknown {unknown:?}"
    );
}
