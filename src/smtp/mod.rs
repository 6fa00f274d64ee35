//! The SMTP front door: listener, session state machine, ESMTP limits and reply codes.
//!
//! Owns the conversation with the sending MTA. It does not parse MIME or call scanners: once
//! a message is received it hands the envelope and bytes to a [`Receiver`] (in production
//! [`crate::inbound::Inbound`]) and turns the returned disposition into a reply
//! ([`reply::SmtpReply`]). The session is generic over its stream so tests drive it in memory.

pub mod data;
pub mod io;
pub mod reply;
pub mod session;

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use crate::inbound::Disposition;
pub use reply::SmtpReply;

/// Default cap on simultaneous sessions: far above a library's traffic, far below what would
/// exhaust memory (each idle session costs a few KiB).
pub const DEFAULT_MAX_CONNECTIONS: usize = 1000;
/// Longest command line accepted (RFC 5321 4.5.3.1.4 says 512; extensions make it longer).
pub const MAX_COMMAND_LINE: usize = 4096;
/// Longest DATA chunk read at once; longer lines are read in pieces of this size.
pub const MAX_DATA_CHUNK: usize = 64 * 1024;
/// Errors tolerated in one session before it is closed (a confused or hostile client).
pub const MAX_ERRORS: usize = 10;

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
}

/// What the session needs from the rest of printgate.
pub trait Receiver: Send + Sync + 'static {
    /// The print queue for a recipient address, or `None` when there is no such queue.
    fn route(&self, address: &str) -> Option<String>;

    /// Screens and (if accepted) durably spools a received message.
    fn receive(&self, envelope: Envelope, message: Vec<u8>) -> impl Future<Output = Disposition> + Send;
}

/// Limits and identity of the SMTP service.
#[derive(Debug, Clone)]
pub struct SmtpSettings {
    pub hostname: String,
    pub max_message_bytes: usize,
    pub max_recipients: usize,
    pub command_timeout: Duration,
    pub max_connections: usize,
}

/// Accepts connections until `shutdown` is cancelled, one task per session.
pub async fn serve<R: Receiver>(
    listener: TcpListener,
    receiver: Arc<R>,
    settings: Arc<SmtpSettings>,
    shutdown: CancellationToken,
) {
    let permits = Arc::new(Semaphore::new(settings.max_connections));
    let sessions = tokio_util::task::TaskTracker::new();
    loop {
        let (stream, peer) = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
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
            sessions.spawn(refuse_busy(stream, settings.hostname.clone()));
            continue;
        };
        let (receiver, settings, shutdown) = (receiver.clone(), settings.clone(), shutdown.clone());
        sessions.spawn(async move {
            run_one(stream, peer, receiver, settings, shutdown).await;
            drop(permit);
        });
    }
    sessions.close();
    sessions.wait().await;
}

async fn run_one<R: Receiver>(
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    receiver: Arc<R>,
    settings: Arc<SmtpSettings>,
    shutdown: CancellationToken,
) {
    let session = session::Session::new(peer.ip(), &settings, &*receiver, shutdown);
    if let Err(e) = session.run(stream).await {
        tracing::debug!(peer = %peer, error = %e, "smtp session ended with an I/O error");
    }
}

async fn refuse_busy(mut stream: tokio::net::TcpStream, hostname: String) {
    use tokio::io::AsyncWriteExt;
    let reply = SmtpReply::too_busy(&hostname);
    let _ = stream.write_all(&reply.to_wire()).await;
    let _ = stream.shutdown().await;
}
