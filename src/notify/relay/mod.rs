//! The relay connection for replies ([`Relay`]): `relay.url` (`smtp://` with STARTTLS when the
//! relay offers it, always with `relay.tls = "required"`; `smtps://` implicit TLS), a private
//! CA besides the system's roots (`relay.ca_file`), and a login: AUTH PLAIN or LOGIN with the
//! first line of `relay.password_file`, or XOAUTH2 (Microsoft 365, Google) with the access token
//! `relay.oauth_token_command` prints, run when needed and kept until it expires ([`token`]) or
//! the relay refuses it.
//!
//! The outbox asks for the relay to use before each pass ([`Relay::refresh`]): a changed
//! `[relay]` (a reload), a changed password file or an expired token makes a new connection
//! set-up; otherwise the pooled one is kept ([`pool`]: connections with `TCP_NODELAY`). A login or TLS failure is the relay's set-up, not
//! the mail's fault: the reply is retried ([`super::outbox::classify`]).

mod pool;

use std::sync::Arc;
use std::time::Instant;

use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};

pub use pool::PoolError;

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
    pool: Arc<pool::Pool>,
}

impl Relay {
    /// Sets up the relay of `config` (reads the password file, runs the token command).
    ///
    /// # Errors
    /// [`NotifyError::Relay`] naming what failed: the CA file, the password file, the command.
    pub async fn new(config: &RelayConfig) -> Result<Self, NotifyError> {
        let secret = read_secret(config).await?;
        let pool = Arc::new(pool::Pool::new(connector(config, &secret)?));
        Ok(Self { config: config.clone(), secret, token_refused: false, pool })
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

    /// Sends one message through the relay on a pooled connection.
    ///
    /// # Errors
    /// [`PoolError`]: the relay's answer or what failed on the way.
    pub(super) async fn send(&self, envelope: &lettre::address::Envelope, body: &[u8]) -> Result<(), PoolError> {
        self.pool.send(envelope, body).await
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

/// How to reach the relay of `config` and log in with `secret`.
fn connector(config: &RelayConfig, secret: &Secret) -> Result<pool::Connector, NotifyError> {
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
    let user = config.username.clone().unwrap_or_default();
    let login = match secret {
        Secret::None => None,
        Secret::Password(password) => Some((vec![Mechanism::Plain, Mechanism::Login], Credentials::new(user, password.clone()))),
        Secret::Token(token, _) => Some((vec![Mechanism::Xoauth2], Credentials::new(user, token.clone()))),
    };
    Ok(pool::Connector { host: url.host.clone(), port: url.port, tls, login })
}
