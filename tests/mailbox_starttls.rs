//! `imap://` to a host that is not loopback means STARTTLS, and it must succeed
//! (`src/mailbox/client.rs`). The URL parser makes every `imap://` to 127.0.0.1 plain (for
//! tests), so this test builds the STARTTLS set-up itself and opens the connection with
//! printgate's own client against two private Dovecots (`common::dovecot`): one without TLS,
//! one with a self-signed certificate. Its own test binary, since it sets `SSL_CERT_FILE`
//! for the whole process.

mod common;

use std::path::Path;
use std::time::Duration;

use common::dovecot::Dovecot;
use printgate::config::{ImapSecurity, MailboxConfig, MailboxUrl};
use printgate::mailbox::client::{self, MailboxError, TokenCache};

fn starttls_to(port: u16, password_file: &Path) -> MailboxConfig {
    MailboxConfig {
        url: MailboxUrl { host: "127.0.0.1".into(), port, folder: "INBOX".into(), security: ImapSecurity::StartTls },
        username: "print".into(),
        password_file: Some(password_file.to_owned()),
        oauth_token_command: None,
        queue: "bw".into(),
        processed_folder: "Processed".into(),
        refused_folder: "Refused".into(),
        idle: true,
        poll_interval: Duration::from_secs(60),
    }
}

#[tokio::test]
async fn starttls_must_succeed_and_checks_the_certificate() {
    printgate::server::install_crypto_provider();
    let work = tempfile::tempdir().unwrap();
    let password = work.path().join("password");
    std::fs::write(&password, "secret\n").unwrap();
    let plain = Dovecot::start("print", "secret");
    let tls = Dovecot::start_tls("print", "secret");

    // A server without STARTTLS (or a stripped one): nothing is sent in the clear.
    let err = client::open(&starttls_to(plain.port, &password), &mut TokenCache::default(), 0).await.unwrap_err();
    assert!(matches!(err, MailboxError::StartTls(_)), "{err}");
    assert!(err.to_string().contains("refused STARTTLS"), "{err}");
    assert!(!plain.log().contains("Login: user=<print>"), "no login in the clear:\n{}", plain.log());

    // STARTTLS offered, certificate not trusted by the system: refused in words.
    let err = client::open(&starttls_to(tls.port, &password), &mut TokenCache::default(), 0).await.unwrap_err();
    assert!(matches!(err, MailboxError::Tls(_)), "{err}");

    // Trusted (rustls-native-certs reads SSL_CERT_FILE): logged in over TLS.
    // SAFETY: this test binary runs this one test; no other thread reads the environment now.
    unsafe { std::env::set_var("SSL_CERT_FILE", tls.cert()) };
    let mut session = client::open(&starttls_to(tls.port, &password), &mut TokenCache::default(), 0).await.unwrap();
    session.select("INBOX").await.unwrap();
    let log = tls.log();
    assert!(log.contains("Login: user=<print>") && log.contains("TLS"), "{log}");
}
