//! A counter client of the load tools (`loadgen`, `soak`): signing a staff
//! member in at a window and finding where the window is. Included with
//! `#[path = "support/counter.rs"]`, beside `support/http.rs` as `http`.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, bail};

use crate::http::{Conn, Verb, ok};

pub async fn post_json(
    conn: &mut Conn,
    path: &str,
    body: &str,
) -> anyhow::Result<(u16, serde_json::Value)> {
    let (status, bytes) = conn.send(Verb::Post, path, None, body.as_bytes()).await?;
    Ok((
        status,
        serde_json::from_slice(bytes).unwrap_or(serde_json::Value::Null),
    ))
}

/// Signs a counter in (account, then window) and finds where its window is.
pub async fn prepare_counter(
    addr: SocketAddr,
    account: &str,
    window: u32,
    password: &str,
) -> anyhow::Result<(Conn, Phase)> {
    let mut conn = Conn::open(addr, "none").await?;
    let body = serde_json::json!({ "account": account, "password": password }).to_string();
    let token = loop {
        let (status, v) = post_json(&mut conn, "/api/v1/sessions", &body).await?;
        match status {
            201 => break v["token"].as_str().context("token")?.to_string(),
            429 => tokio::time::sleep(Duration::from_secs(1)).await,
            s => bail!("sign-in of {account}: {s} {v}"),
        }
    };
    conn.set_token(&token);
    let (status, v) =
        post_json(&mut conn, &format!("/api/v1/windows/{window}/sign-in"), "").await?;
    if !ok(status) && v["error"]["code"] != "window_occupied" {
        bail!("{account} signing in at window {window}: {status} {v}");
    }
    let phase = resync(&mut conn, window, account).await?;
    Ok((conn, phase))
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Phase {
    Idle,
    Called,
    Serving,
}

/// Where the window really is (after a refusal, or at start).
pub async fn resync(conn: &mut Conn, window: u32, account: &str) -> anyhow::Result<Phase> {
    let (status, bytes) = conn
        .send(Verb::Get, &format!("/api/v1/windows/{window}"), None, b"")
        .await?;
    let v: serde_json::Value = serde_json::from_slice(bytes).unwrap_or_default();
    if !ok(status) {
        bail!("GET window {window}: {status} {v}");
    }
    if v["staff"]["account"].as_str() != Some(account) {
        bail!(
            "window {window} is staffed by {} (not {account})",
            v["staff"]["account"]
        );
    }
    Ok(match v["current"]["status"].as_str() {
        Some("called") => Phase::Called,
        Some("serving") => Phase::Serving,
        _ => Phase::Idle,
    })
}
