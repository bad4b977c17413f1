//! Sessions: sign-in and sign-out, expiry, revocation, the per-account cap,
//! persistence across restarts, changes made by another process, accounts
//! that leave the configuration.

mod accounts_support;

use std::collections::HashSet;

use accounts_support::*;
use base64::Engine as _;
use hallq::accounts::{MAX_SESSIONS_PER_ACCOUNT, Principal, SignInError, TOKEN_CHARS};
use hallq::config::Role;

fn person(p: Option<Principal>) -> (String, Vec<Role>, bool) {
    match p {
        Some(Principal::Person {
            account,
            roles,
            must_change_password,
            ..
        }) => (account, roles, must_change_password),
        other => panic!("expected a person, got {other:?}"),
    }
}

#[test]
fn sign_in_authenticate_sign_out() {
    let dir = tempfile::tempdir().expect("tempdir");
    let accounts = open(dir.path(), demo(), T0);
    let s = accounts.sign_in("w03", "demo", T0).expect("sign in");
    assert_eq!(s.account, "w03");
    assert_eq!(s.roles, vec![Role::Staff, Role::WindowHead]);
    assert!(!s.must_change_password);
    assert_eq!(s.expires_ms, T0 + 12 * HOUR_MS);

    let (account, roles, must_change) = person(accounts.authenticate(&s.token, T0 + 1));
    assert_eq!(account, "w03");
    assert_eq!(roles, s.roles);
    assert!(!must_change);

    assert!(accounts.sign_out(&s.token));
    assert_eq!(accounts.authenticate(&s.token, T0 + 2), None);
    assert!(!accounts.sign_out(&s.token), "already signed out");
    assert!(!accounts.sign_out("not a token"));
}

#[test]
fn end_session_by_principal() {
    let dir = tempfile::tempdir().expect("tempdir");
    let accounts = open(dir.path(), demo(), T0);
    let s = accounts.sign_in("w01", "demo", T0).expect("sign in");
    let Some(Principal::Person { session, .. }) = accounts.authenticate(&s.token, T0) else {
        panic!("not a person");
    };
    assert!(accounts.end_session(&session));
    assert_eq!(accounts.authenticate(&s.token, T0), None);
    assert!(!accounts.end_session(&session));
}

#[test]
fn token_works_until_expiry_then_not() {
    let dir = tempfile::tempdir().expect("tempdir");
    let accounts = open(dir.path(), demo(), T0);
    let s = accounts.sign_in("manager", "demo", T0).expect("sign in");
    assert!(accounts.authenticate(&s.token, s.expires_ms - 1).is_some());
    assert_eq!(accounts.authenticate(&s.token, s.expires_ms), None);
    assert_eq!(
        accounts.authenticate(&s.token, s.expires_ms + HOUR_MS),
        None
    );
    // Expired sessions are pruned by a later sign-in and stay dead.
    let later = accounts
        .sign_in("manager", "demo", s.expires_ms + HOUR_MS)
        .expect("sign in again");
    assert_eq!(
        accounts.authenticate(&s.token, s.expires_ms + HOUR_MS),
        None
    );
    assert!(
        accounts
            .authenticate(&later.token, s.expires_ms + HOUR_MS)
            .is_some()
    );
}

#[test]
fn revoke_all_ends_every_session_of_one_account() {
    let dir = tempfile::tempdir().expect("tempdir");
    let accounts = open(dir.path(), demo(), T0);
    let a: Vec<_> = (0..3)
        .map(|i| accounts.sign_in("w05", "demo", T0 + i).expect("sign in"))
        .collect();
    let other = accounts.sign_in("w06", "demo", T0).expect("sign in");
    assert_eq!(accounts.revoke_all("w05"), 3);
    for s in &a {
        assert_eq!(accounts.authenticate(&s.token, T0 + 10), None);
    }
    assert!(accounts.authenticate(&other.token, T0 + 10).is_some());
    assert_eq!(accounts.revoke_all("w05"), 0);
    // Revoked stays revoked after a restart.
    drop(accounts);
    let accounts = open(dir.path(), demo(), T0 + 20);
    for s in &a {
        assert_eq!(accounts.authenticate(&s.token, T0 + 20), None);
    }
    assert!(accounts.authenticate(&other.token, T0 + 20).is_some());
}

#[test]
fn sessions_survive_reopening_the_store() {
    let dir = tempfile::tempdir().expect("tempdir");
    let accounts = open(dir.path(), demo(), T0);
    let s = accounts.sign_in("w02", "demo", T0).expect("sign in");
    let gone = accounts.sign_in("w02", "demo", T0 + 1).expect("sign in");
    assert!(accounts.sign_out(&gone.token));
    drop(accounts);

    let accounts = open(dir.path(), demo(), T0 + HOUR_MS);
    let (account, _, _) = person(accounts.authenticate(&s.token, T0 + HOUR_MS));
    assert_eq!(account, "w02");
    assert_eq!(accounts.authenticate(&gone.token, T0 + HOUR_MS), None);
    // Reopened after expiry: gone.
    drop(accounts);
    let accounts = open(dir.path(), demo(), s.expires_ms + 1);
    assert_eq!(accounts.authenticate(&s.token, s.expires_ms + 1), None);
}

#[test]
fn tokens_are_256_bit_and_distinct() {
    let dir = tempfile::tempdir().expect("tempdir");
    let accounts = open(dir.path(), demo(), T0);
    let mut seen = HashSet::new();
    for i in 0..200 {
        let account = format!("w{:02}", i % 30 + 1);
        let s = accounts.sign_in(&account, "demo", T0 + i).expect("sign in");
        assert_eq!(s.token.len(), TOKEN_CHARS);
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(&s.token)
            .expect("base64url without padding");
        assert_eq!(raw.len(), 32, "256 bits");
        assert!(seen.insert(s.token), "token repeated");
    }
}

#[test]
fn malformed_tokens_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let accounts = open(dir.path(), demo(), T0);
    let s = accounts.sign_in("w01", "demo", T0).expect("sign in");
    let mut flipped = s.token.clone().into_bytes();
    flipped[0] = if flipped[0] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(flipped).expect("ascii");
    let long = "A".repeat(10_000);
    for bad in [
        "",
        "Bearer",
        &s.token[..42],
        &format!("{}A", s.token),
        &format!("{}=", &s.token[..42]),
        &flipped,
        &long,
        "demo-kiosk",
    ] {
        assert_eq!(accounts.authenticate(bad, T0), None, "{bad:?}");
    }
    // A session token is not a machine key.
    assert_eq!(accounts.authenticate_key(&s.token), None);
}

#[test]
fn at_most_twenty_sessions_per_account_oldest_revoked() {
    let dir = tempfile::tempdir().expect("tempdir");
    let accounts = open(dir.path(), demo(), T0);
    let tokens: Vec<String> = (0..MAX_SESSIONS_PER_ACCOUNT as i64 + 5)
        .map(|i| {
            accounts
                .sign_in("w07", "demo", T0 + i)
                .expect("sign in")
                .token
        })
        .collect();
    let now = T0 + 100;
    for (i, t) in tokens.iter().enumerate() {
        assert_eq!(
            accounts.authenticate(t, now).is_some(),
            i >= 5,
            "session {i} of {}",
            tokens.len()
        );
    }
    // Still twenty after a restart.
    drop(accounts);
    let accounts = open(dir.path(), demo(), now);
    let live = tokens
        .iter()
        .filter(|t| accounts.authenticate(t, now).is_some())
        .count();
    assert_eq!(live, MAX_SESSIONS_PER_ACCOUNT);
}

#[test]
fn accounts_that_leave_the_configuration_cannot_sign_in() {
    let dir = tempfile::tempdir().expect("tempdir");
    let accounts = open(dir.path(), demo(), T0);
    let s = accounts.sign_in("supervisor", "demo", T0).expect("sign in");
    drop(accounts);

    // Demo hall without the supervisor: refused like an unknown account, and
    // the old session is dead.
    let accounts = open(dir.path(), real_without_supervisor(), T0 + 1);
    assert_eq!(
        accounts.sign_in("supervisor", "demo", T0 + 1),
        Err(SignInError::BadCredentials)
    );
    assert_eq!(accounts.authenticate(&s.token, T0 + 1), None);
    assert_eq!(
        accounts.set_password("supervisor", "Lotus-Pond-42", T0 + 1),
        Err(hallq::accounts::PasswordError::UnknownAccount)
    );
    drop(accounts);

    // Back in the configuration: the row was kept, the session was not.
    let accounts = open(dir.path(), demo(), T0 + 2);
    assert_eq!(accounts.authenticate(&s.token, T0 + 2), None);
    assert!(accounts.sign_in("supervisor", "demo", T0 + 2).is_ok());
}

#[test]
fn changes_by_another_process_are_noticed() {
    // The daemon and `hallq passwd` open the same file.
    let dir = tempfile::tempdir().expect("tempdir");
    let daemon = open(dir.path(), real(), T0);
    let cli = open(dir.path(), real(), T0);
    assert_eq!(
        daemon.sign_in("w01", "whatever-pass", T0),
        Err(SignInError::NoPassword)
    );
    cli.set_password("w01", "Lotus-Pond-42", T0).expect("set");
    // Sign-in reads the store: the new password works at once.
    let s = daemon.sign_in("w01", "Lotus-Pond-42", T0).expect("sign in");
    assert!(daemon.authenticate(&s.token, T0 + 1).is_some());
    // The CLI resets the password again: the daemon's session ends within
    // a second (authenticate checks the store's data_version).
    cli.set_password("w01", "Another-Pass-7", T0 + 2)
        .expect("reset");
    assert_eq!(daemon.authenticate(&s.token, T0 + 1_500), None);
    // A session made elsewhere is accepted after the next check.
    let t = cli
        .sign_in("w01", "Another-Pass-7", T0 + 3)
        .expect("sign in");
    assert!(daemon.authenticate(&t.token, T0 + 3_000).is_some());
}
