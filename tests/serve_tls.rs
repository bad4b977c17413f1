//! HTTPS: with `[server] tls_cert/tls_key` the daemon serves TLS (rustls),
//! and plain HTTP on that port gets no answer.

mod common;

use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use common::daemon::{DAEMON_WAIT, Daemon, Log, serve_cmd};

/// Starts `hallq serve` and returns it with the address it printed.
fn spawn(config: &std::path::Path, data: &std::path::Path) -> (Daemon, String) {
    let mut cmd = serve_cmd(data);
    cmd.arg("--config").arg(config);
    let d = Daemon::start(cmd, Log::Null, DAEMON_WAIT);
    let url = d.url.clone();
    (d, url)
}

#[test]
fn serves_https_with_the_configured_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    std::fs::write(dir.path().join("hall.crt"), cert.cert.pem()).unwrap();
    std::fs::write(
        dir.path().join("hall.key"),
        cert.signing_key.serialize_pem(),
    )
    .unwrap();
    // Relative paths are taken from the configuration file's directory.
    let config = format!(
        "{}\n[server]\ntls_cert = \"hall.crt\"\ntls_key = \"hall.key\"\n",
        hallq::config::DEMO_HALL_TOML
    );
    let config_path = dir.path().join("hall.toml");
    std::fs::write(&config_path, config).unwrap();
    let (_server, url) = spawn(&config_path, &dir.path().join("data"));
    let addr = url
        .strip_prefix("https://")
        .unwrap_or_else(|| panic!("not https: {url}"))
        .to_string();

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        // A client that trusts only this hall's certificate.
        let mut roots = rustls::RootCertStore::empty();
        roots.add(cert.cert.der().clone()).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let client = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        let connector = tokio_rustls::TlsConnector::from(Arc::new(client));
        let tcp = tokio::net::TcpStream::connect(&addr).await.unwrap();
        let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
        let mut tls = connector.connect(name, tcp).await.expect("TLS handshake");
        tls.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut response = String::new();
        tls.read_to_string(&mut response).await.ok();
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
        assert!(response.contains("\"status\":\"ok\""), "{response}");

        // Plain HTTP to the TLS port gets no HTTP answer.
        let mut plain = tokio::net::TcpStream::connect(&addr).await.unwrap();
        plain
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut buf = Vec::new();
        let _ = tokio::time::timeout(
            std::time::Duration::from_secs(3),
            plain.read_to_end(&mut buf),
        )
        .await;
        assert!(
            !String::from_utf8_lossy(&buf).starts_with("HTTP/1.1 200"),
            "plain HTTP was answered"
        );
    });
}

#[test]
fn a_missing_certificate_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "{}\n[server]\ntls_cert = \"nope.crt\"\ntls_key = \"nope.key\"\n",
        hallq::config::DEMO_HALL_TOML
    );
    let config_path = dir.path().join("hall.toml");
    std::fs::write(&config_path, config).unwrap();
    let out = serve_cmd(&dir.path().join("data"))
        .arg("--config")
        .arg(&config_path)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("nope.crt"), "{err}");
}
