//! What must never be stored, and the machine keys.

mod accounts_support;

use accounts_support::*;
use base64::Engine as _;
use hallq::accounts::{Principal, new_api_key};
use hallq::config::ApiKeyRole;
use sha2::{Digest, Sha256};

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// Every byte of the store: the database, its WAL and shared memory.
fn store_bytes(dir: &std::path::Path) -> Vec<u8> {
    let mut all = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read dir") {
        let path = entry.expect("entry").path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with("accounts.sqlite") {
            all.extend(std::fs::read(&path).expect("read"));
        }
    }
    assert!(!all.is_empty());
    all
}

#[test]
fn the_store_never_holds_a_token_or_a_password() {
    let dir = tempfile::tempdir().expect("tempdir");
    let passwords = ["Temp-Pass-2024", "Lotus-Pond-42", "Willow-Bridge-9"];
    let mut tokens = Vec::new();
    {
        let accounts = open(dir.path(), real(), T0);
        accounts.set_password("w01", passwords[0], T0).expect("set");
        tokens.push(accounts.sign_in("w01", passwords[0], T0).expect("a").token);
        accounts
            .change_password("w01", passwords[0], passwords[1], T0 + 1)
            .expect("change");
        tokens.push(
            accounts
                .sign_in("w01", passwords[1], T0 + 2)
                .expect("b")
                .token,
        );
        tokens.push(
            accounts
                .sign_in("w01", passwords[1], T0 + 3)
                .expect("c")
                .token,
        );
        assert!(accounts.sign_out(&tokens[2]));
        let _ = accounts.sign_in("w01", passwords[2], T0 + 4);
        // Checked while the daemon would still be running (WAL not
        // checkpointed) ...
        let bytes = store_bytes(dir.path());
        check(&bytes, &passwords, &tokens);
    }
    // ... and after it stopped.
    check(&store_bytes(dir.path()), &passwords, &tokens);

    fn check(bytes: &[u8], passwords: &[&str], tokens: &[String]) {
        for p in passwords {
            assert!(!contains(bytes, p.as_bytes()), "password {p} in the store");
        }
        for t in tokens {
            assert!(!contains(bytes, t.as_bytes()), "token in the store");
            let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(t)
                .expect("b64");
            assert!(!contains(bytes, &raw), "token bytes in the store");
        }
        // What is stored is the token's SHA-256 (a live session's, at least).
        let hash: [u8; 32] = Sha256::digest(tokens[1].as_bytes()).into();
        assert!(contains(bytes, &hash), "the token hash is the key");
    }
}

#[test]
fn machine_keys_of_the_demo_hall() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = demo();
    // The configured hashes are SHA-256 of the documented keys.
    for (key, id) in [
        ("demo-kiosk", "demo-kiosk"),
        ("demo-display", "demo-display"),
    ] {
        let configured = config
            .file
            .api_keys
            .iter()
            .find(|k| k.id == id)
            .expect("configured");
        assert_eq!(
            configured.sha256,
            hex::encode(Sha256::digest(key.as_bytes()))
        );
    }
    let accounts = open(dir.path(), config, T0);
    assert_eq!(
        accounts.authenticate_key("demo-kiosk"),
        Some(Principal::Machine {
            key_id: "demo-kiosk".to_owned(),
            role: ApiKeyRole::Kiosk
        })
    );
    assert_eq!(
        accounts.authenticate_key("demo-display"),
        Some(Principal::Machine {
            key_id: "demo-display".to_owned(),
            role: ApiKeyRole::Display
        })
    );
    let huge = "k".repeat(1 << 20);
    for wrong in [
        "",
        "demo-kiosk ",
        "Demo-kiosk",
        "demo-kios",
        "49d6cc27f1e3b72fb829ac8ec864fc2045e8684b5bfb2b46b0a922330c84d6ea",
        "demo",
        &huge,
    ] {
        assert_eq!(accounts.authenticate_key(wrong), None, "{:.20}", wrong);
    }
    // A key is not a session token, nor a person.
    assert_eq!(accounts.authenticate("demo-kiosk", T0), None);
    let machine = accounts.authenticate_key("demo-kiosk").expect("kiosk");
    assert_eq!(machine.account(), None);
    assert!(!machine.has_role(hallq::config::Role::Staff));
}

#[test]
fn keygen_keys_are_256_bit_and_hashed_as_configured() {
    let (key, sha256_hex) = new_api_key();
    let (key2, _) = new_api_key();
    assert_ne!(key, key2);
    assert_eq!(
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(&key)
            .expect("b64")
            .len(),
        32
    );
    assert_eq!(sha256_hex, hex::encode(Sha256::digest(key.as_bytes())));
    assert!(
        sha256_hex
            .chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
    );
}

#[test]
fn debug_output_never_shows_a_token() {
    let dir = tempfile::tempdir().expect("tempdir");
    let accounts = open(dir.path(), demo(), T0);
    let s = accounts.sign_in("w01", "demo", T0).expect("sign in");
    let principal = accounts.authenticate(&s.token, T0).expect("person");
    let hash_hex = hex::encode(Sha256::digest(s.token.as_bytes()));
    for text in [
        format!("{s:?}"),
        format!("{principal:?}"),
        format!("{accounts:?}"),
    ] {
        assert!(!text.contains(&s.token), "{text}");
        assert!(!text.contains(&hash_hex), "{text}");
    }
}
