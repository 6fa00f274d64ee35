//! Connections to the relay, kept open between replies, made with `TCP_NODELAY`.
//!
//! lettre's own pool connects with Nagle's algorithm on, and lettre writes the end of `DATA`
//! (`\r\n.\r\n`) separately from the body: Nagle holds those five bytes until the relay
//! acknowledges the body, and the relay's delayed ACK waits 40 ms. Every reply cost 40 ms of
//! waiting, and a pass of eight replies at once at best 200 replies a second (lettre fixed it
//! upstream in pull request 1159, not released as of 0.11.23). Here printgate opens the TCP
//! connection itself, with `TCP_NODELAY`, and hands it to lettre's connection API, which speaks
//! SMTP, STARTTLS and AUTH as before. Implicit TLS (`smtps://`) keeps lettre's own connect.
//!
//! An idle connection is checked with `NOOP` before it is used again (as lettre's pool does); a
//! connection that failed in any way is closed, never reused.

use std::time::{Duration, Instant};

use lettre::address::Envelope;
use lettre::transport::smtp::Error;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, Tls};
use lettre::transport::smtp::extension::ClientId;

/// Connections kept open at most, and for how long without use.
const MAX_IDLE: usize = 16;
const IDLE_FOR: Duration = Duration::from_secs(60);
/// Time to open the TCP connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// How to reach and log in to the relay.
pub struct Connector {
    pub host: String,
    pub port: u16,
    pub tls: Tls,
    pub login: Option<(Vec<Mechanism>, Credentials)>,
}

/// Open connections to one relay.
pub struct Pool {
    connector: Connector,
    hello: ClientId,
    idle: std::sync::Mutex<Vec<(AsyncSmtpConnection, Instant)>>,
}

impl Pool {
    pub fn new(connector: Connector) -> Self {
        Self { connector, hello: ClientId::default(), idle: std::sync::Mutex::new(Vec::new()) }
    }

    /// Sends one message on an open connection or a new one.
    ///
    /// # Errors
    /// lettre's [`Error`]: the relay's answer, or what failed on the way.
    pub async fn send(&self, envelope: &Envelope, body: &[u8]) -> Result<(), PoolError> {
        let mut conn = self.take().await?;
        let sent = conn.send(envelope, body).await;
        self.give_back(conn).await;
        sent.map(|_| ()).map_err(PoolError::Smtp)
    }

    /// An idle connection that still answers `NOOP`, or a new one.
    async fn take(&self) -> Result<AsyncSmtpConnection, PoolError> {
        loop {
            let idle = self.idle.lock().unwrap_or_else(std::sync::PoisonError::into_inner).pop();
            let Some((mut conn, since)) = idle else { break };
            if since.elapsed() < IDLE_FOR && conn.test_connected().await {
                return Ok(conn);
            }
            conn.abort().await;
        }
        self.connect().await
    }

    async fn give_back(&self, mut conn: AsyncSmtpConnection) {
        if !conn.has_broken() {
            let mut idle = self.idle.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if idle.len() < MAX_IDLE {
                idle.push((conn, Instant::now()));
                return;
            }
        }
        conn.abort().await;
    }

    /// A new connection, encrypted as `relay.url` and `relay.tls` say, logged in.
    async fn connect(&self) -> Result<AsyncSmtpConnection, PoolError> {
        let c = &self.connector;
        let mut conn = match &c.tls {
            Tls::Wrapper(params) => {
                AsyncSmtpConnection::connect_tokio1(
                    (c.host.as_str(), c.port),
                    Some(CONNECT_TIMEOUT),
                    &self.hello,
                    Some(params.clone()),
                    None,
                )
                .await?
            }
            _ => {
                let stream = tokio::time::timeout(CONNECT_TIMEOUT, tokio::net::TcpStream::connect((c.host.as_str(), c.port)))
                    .await
                    .map_err(|_| PoolError::Connect(std::io::Error::new(std::io::ErrorKind::TimedOut, "connection timed out")))?
                    .map_err(PoolError::Connect)?;
                stream.set_nodelay(true).map_err(PoolError::Connect)?;
                AsyncSmtpConnection::connect_with_transport(Box::new(stream), &self.hello).await?
            }
        };
        match &c.tls {
            Tls::Opportunistic(params) if conn.can_starttls() => conn.starttls(params.clone(), &self.hello).await?,
            Tls::Required(params) => conn.starttls(params.clone(), &self.hello).await?,
            _ => {}
        }
        if let Some((mechanisms, credentials)) = &c.login {
            conn.auth(mechanisms, credentials).await?;
        }
        Ok(conn)
    }
}

/// Why a reply did not reach the relay.
#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    /// The TCP connection could not be opened (infrastructure: tried again later).
    #[error("cannot connect to the relay: {0}")]
    Connect(std::io::Error),
    /// What lettre reports: the relay's answer, TLS, the login, the connection breaking.
    #[error(transparent)]
    Smtp(#[from] Error),
}
