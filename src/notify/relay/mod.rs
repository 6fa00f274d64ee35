//! The relay connection for replies ([`Relay`]): `relay.url` (`smtp://` with STARTTLS when the
//! relay offers it, always with `relay.tls = "required"`; `smtps://` implicit TLS), a private
//! CA besides the system's roots (`relay.ca_file`), and a login: AUTH PLAIN or LOGIN with the
//! first line of `relay.password_file`, or XOAUTH2 (Microsoft 365, Google) with the access token
//! `relay.oauth_token_command` prints, run when needed and kept until it expires ([`token`]) or
//! the relay refuses it.
//!
//! The outbox asks for the relay to use before each pass ([`Relay::refresh`]): a changed
//! `[relay]` (a reload), a changed password file or an expired token makes a new connection
//! set-up; otherwise the pooled one is kept. A login or TLS failure is the relay's set-up, not
//! the mail's fault: the reply is retried ([`super::outbox::classify`]).

use std::time::{Duration, Instant};

use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, Tokio1Executor};

use super::NotifyError;
use crate::config::{RelayConfig, RelayTls};

/// The token command, shared with the IMAP mailboxes (`crate::net::oauth_token`).
pub use crate::net::oauth_token as token;

/// The secret a login uses, as it was read.
#[derive(Clone, PartialEq, Eq)]
enum Secret {
    None,
    Password(String),
    /// An access token, usable until the instant.
    Token(String, Instant),
}

/// The relay as configured, with its connection pool.
#[derive(Clone)]
pub struct Relay {
    config: RelayConfig,
    secret: Secret,
    /// Set when the relay refused the token: the next pass runs the command again.
    token_refused: bool,
    transport: AsyncSmtpTransport<Tokio1Executor>,
}

impl Relay {
    /// Sets up the relay of `config` (reads the password file, runs the token command).
    ///
    /// # Errors
    /// [`NotifyError::Relay`] naming what failed: the CA file, the password file, the command.
    pub async fn new(config: &RelayConfig) -> Result<Self, NotifyError> {
        let secret = read_secret(config).await?;
        let transport = transport(config, &secret)?;
        Ok(Self { config: config.clone(), secret, token_refused: false, transport })
    }

    /// This relay, or a new set-up when `config`, the password file or the token changed.
    ///
    /// # Errors
    /// [`NotifyError::Relay`]; the caller keeps the relay it had.
    pub async fn refresh(&self, config: &RelayConfig) -> Result<Option<Self>, NotifyError> {
        let expired = matches!(&self.secret, Secret::Token(_, until) if Instant::now() >= *until);
        if *config == self.config && !expired && !self.token_refused {
            // Same settings: only a changed password file makes a new set-up.
            if config.password_file.is_none() || read_secret(config).await? == self.secret {
                return Ok(None);
            }
        }
        Self::new(config).await.map(Some)
    }

    /// The pooled transport.
    pub(super) fn transport(&self) -> &AsyncSmtpTransport<Tokio1Executor> {
        &self.transport
    }

    /// Notes that the relay refused the login: a token is fetched again before the next pass.
    pub(super) fn login_refused(&mut self) {
        self.token_refused = matches!(self.secret, Secret::Token(..));
    }
}

/// Reads the password file or runs the token command.
async fn read_secret(config: &RelayConfig) -> Result<Secret, NotifyError> {
    if let Some(path) = &config.password_file {
        let text = tokio::fs::read_to_string(path)
            .await
            .map_err(|e| NotifyError::Relay(format!("cannot read relay.password_file {}: {e}", path.display())))?;
        return Ok(Secret::Password(text.lines().next().unwrap_or_default().to_owned()));
    }
    if let Some(command) = &config.oauth_token_command {
        let (token, lifetime) = token::fetch(command, "relay.oauth_token_command").await.map_err(NotifyError::Relay)?;
        return Ok(Secret::Token(token, Instant::now() + lifetime));
    }
    Ok(Secret::None)
}

/// A transport for `config` logging in with `secret`.
fn transport(config: &RelayConfig, secret: &Secret) -> Result<AsyncSmtpTransport<Tokio1Executor>, NotifyError> {
    let url = &config.url;
    let mut params = TlsParameters::builder(url.host.clone());
    if let Some(ca) = &config.ca_file {
        let pem = std::fs::read(ca).map_err(|e| NotifyError::Relay(format!("cannot read relay.ca_file {}: {e}", ca.display())))?;
        let cert = Certificate::from_pem(&pem).map_err(|e| NotifyError::Relay(format!("relay.ca_file {}: {e}", ca.display())))?;
        params = params.add_root_certificate(cert);
    }
    let params = params.build_rustls().map_err(|e| NotifyError::Relay(format!("TLS set-up for the relay: {e}")))?;
    let tls = match (url.implicit_tls, config.tls) {
        (true, _) => Tls::Wrapper(params),
        (false, RelayTls::Required) => Tls::Required(params),
        (false, RelayTls::Opportunistic) => Tls::Opportunistic(params),
    };
    let mut builder =
        AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&url.host).port(url.port).tls(tls).timeout(Some(Duration::from_secs(30)));
    let user = config.username.clone().unwrap_or_default();
    match secret {
        Secret::None => {}
        Secret::Password(password) => {
            builder =
                builder.credentials(Credentials::new(user, password.clone())).authentication(vec![Mechanism::Plain, Mechanism::Login]);
        }
        Secret::Token(token, _) => {
            builder = builder.credentials(Credentials::new(user, token.clone())).authentication(vec![Mechanism::Xoauth2]);
        }
    }
    Ok(builder.build())
}
