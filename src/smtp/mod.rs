//! The SMTP front door: listener, session state machine, ESMTP limits and reply codes.
//!
//! Owns the conversation with the sending MTA. It does not parse MIME or call scanners: once
//! a message is received it hands the envelope and bytes to a [`Receiver`] (in production
//! `inbound::Inbound`, the glue above this module) and answers with the returned [`Outcome`]'s
//! reply ([`reply::SmtpReply`]). The session is generic over its stream so tests drive it in
//! memory.
//!
//! Layering: the door defines its own types ([`Envelope`], [`Route`], [`Outcome`],
//! [`SmtpReply`]) and imports only what lies below it (`config`, `net`, `metrics`); it never
//! names screening, intake, the spool or `inbound` (checked by `tests/architecture.rs`).

pub mod command;
pub mod data;
pub mod io;
pub mod limits;
pub mod reply;
pub mod session;

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::Semaphore;

pub use limits::IpLimits;
use tokio_util::sync::CancellationToken;

pub use reply::{Outcome, SmtpReply};

/// Longest DATA chunk read at once; longer lines are read in pieces of this size.
pub const MAX_DATA_CHUNK: usize = 64 * 1024;

/// One mail transaction, as received.
#[derive(Debug, Clone)]
pub struct Envelope {
    pub client_ip: IpAddr,
    pub helo: String,
    /// `None` for the null reverse-path `<>` (bounces): never replied to.
    pub mail_from: Option<String>,
    pub recipients: Vec<String>,
    /// The print queue all recipients belong to.
    pub queue: String,
    /// Lines that ended in a bare LF and were normalised to CRLF.
    pub bare_lf_lines: usize,
    /// The message arrived over TLS (STARTTLS or implicit).
    pub tls: bool,
    /// Plus-address options of the recipient (`color+duplex@…` gives `["duplex"]`).
    pub options: Vec<String>,
}

/// Where a recipient goes: its print queue and the options in its plus-address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub queue: String,
    pub options: Vec<String>,
}

/// What the session needs from the rest of printgate.
pub trait Receiver: Send + Sync + 'static {
    /// The print queue for a recipient address, or `None` when there is no such queue.
    fn route(&self, address: &str) -> Option<Route>;

    /// Screens and (if accepted) durably spools a received message.
    fn receive(&self, envelope: Envelope, message: Vec<u8>) -> impl Future<Output = Outcome> + Send;
}

/// Limits and identity of the SMTP service (from `[smtp]`, see `docs/config.md`).
#[derive(Clone)]
pub struct SmtpSettings {
    pub hostname: String,
    pub max_message_bytes: usize,
    pub max_recipients: usize,
    pub command_timeout: Duration,
    pub data_timeout: Duration,
    pub session_timeout: Duration,
    pub max_line_length: usize,
    pub max_errors: usize,
    pub max_connections: usize,
    /// STARTTLS (and the implicit-TLS listener) when a certificate is configured.
    pub tls: Option<tokio_rustls::TlsAcceptor>,
}

impl SmtpSettings {
    /// Settings from the `[smtp]` section, with the TLS acceptor already built.
    pub fn from_config(c: &crate::config::SmtpConfig, tls: Option<tokio_rustls::TlsAcceptor>) -> Self {
        Self {
            hostname: c.hostname.clone(),
            max_message_bytes: c.max_message_bytes,
            max_recipients: c.max_recipients,
            command_timeout: c.command_timeout,
            data_timeout: c.data_timeout,
            session_timeout: c.session_timeout,
            max_line_length: c.max_line_length,
            max_errors: c.max_errors,
            max_connections: c.max_connections,
            tls,
        }
    }
}

/// One listening socket: plain SMTP (with STARTTLS) or implicit TLS (port 465 style).
pub struct Listener {
    pub socket: TcpListener,
    pub implicit_tls: bool,
}

/// Accepts connections until `shutdown` is cancelled, one task per session; then waits for
/// the open sessions, which answer `421` at their next command.
pub async fn serve<R: Receiver>(
    listener: Listener,
    receiver: Arc<R>,
    settings: Arc<SmtpSettings>,
    limits: Arc<IpLimits>,
    permits: Arc<Semaphore>,
    shutdown: CancellationToken,
) {
    let sessions = tokio_util::task::TaskTracker::new();
    loop {
        let (stream, peer) = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.socket.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning.
                    tracing::warn!(error = %e, "smtp accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            sessions.spawn(refuse(stream, SmtpReply::too_busy(&settings.hostname)));
            continue;
        };
        let Some(slot) = limits.connect(peer.ip()) else {
            sessions.spawn(refuse(stream, SmtpReply::too_many_from_you(&settings.hostname)));
            continue;
        };
        let (receiver, settings, limits, shutdown) = (receiver.clone(), settings.clone(), limits.clone(), shutdown.clone());
        let implicit_tls = listener.implicit_tls;
        sessions.spawn(async move {
            crate::metrics::inc("printgate_smtp_sessions_total", &[]);
            let _active = crate::metrics::GaugeGuard::new("printgate_smtp_sessions_active");
            run_one(stream, peer, implicit_tls, receiver, settings, limits, shutdown).await;
            drop((permit, slot));
        });
    }
    sessions.close();
    sessions.wait().await;
}

async fn run_one<R: Receiver>(
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    implicit_tls: bool,
    receiver: Arc<R>,
    settings: Arc<SmtpSettings>,
    limits: Arc<IpLimits>,
    shutdown: CancellationToken,
) {
    let session = session::Session::new(peer.ip(), &settings, &*receiver, &limits, shutdown);
    let result = match (implicit_tls, &settings.tls) {
        (true, Some(acceptor)) => match tokio::time::timeout(settings.command_timeout, acceptor.accept(stream)).await {
            Ok(Ok(tls)) => session.run_tls(tls).await,
            Ok(Err(e)) => Err(e),
            Err(_) => Err(std::io::ErrorKind::TimedOut.into()),
        },
        _ => session.run(stream).await,
    };
    if let Err(e) = result {
        tracing::debug!(peer = %peer, error = %e, "smtp session ended with an I/O error");
    }
}

async fn refuse(mut stream: tokio::net::TcpStream, reply: SmtpReply) {
    use tokio::io::AsyncWriteExt;
    let _ = stream.write_all(&reply.to_wire()).await;
    let _ = stream.shutdown().await;
}
