//! The HTTP listener shared by the release API and the admin console: plain HTTP (loopback only,
//! enforced by the config) or HTTPS with rustls. TLS handshakes run in their own tasks with a
//! time limit, so a slow or silent client never holds up the accept loop.
//!
//! Owns binding, the TLS handshake and serving an axum router; routes, auth and limits belong
//! to the services that use it (`api`, `admin`).

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;

use super::tls::TlsError;

/// A TLS handshake must finish within this time.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// A connection, plain or TLS.
pub trait Conn: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Conn for T {}

pub struct HttpListener {
    local: SocketAddr,
    inner: Inner,
}

enum Inner {
    Plain(TcpListener),
    Tls { ready: mpsc::Receiver<(Box<dyn Conn>, SocketAddr)>, accept_loop: tokio::task::JoinHandle<()> },
}

impl Drop for HttpListener {
    fn drop(&mut self) {
        if let Inner::Tls { accept_loop, .. } = &self.inner {
            accept_loop.abort();
        }
    }
}

/// A rustls acceptor for HTTPS (ALPN `http/1.1`).
///
/// # Errors
/// [`TlsError`] naming the file and what is wrong with it.
pub fn https_acceptor(cert: &Path, key: &Path) -> Result<TlsAcceptor, TlsError> {
    super::tls::server_config(cert, key).map(|mut config| {
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        TlsAcceptor::from(Arc::new(config))
    })
}

impl HttpListener {
    /// Plain HTTP.
    ///
    /// # Errors
    /// When the socket has no local address.
    pub fn plain(socket: TcpListener) -> std::io::Result<Self> {
        Ok(Self { local: socket.local_addr()?, inner: Inner::Plain(socket) })
    }

    /// HTTPS: connections are handed to axum once their handshake is done.
    ///
    /// # Errors
    /// When the socket has no local address.
    pub fn tls(socket: TcpListener, acceptor: TlsAcceptor) -> std::io::Result<Self> {
        let local = socket.local_addr()?;
        let (tx, ready) = mpsc::channel(64);
        let accept_loop = tokio::spawn(async move {
            loop {
                let (tcp, peer) = match TcpListener::accept(&socket).await {
                    Ok(pair) => pair,
                    Err(e) => {
                        tracing::warn!(error = %e, "release API accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = tcp.set_nodelay(true);
                let acceptor = acceptor.clone();
                let tx = tx.clone();
                tokio::spawn(async move {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                        Ok(Ok(tls)) => {
                            let _ = tx.send((Box::new(tls) as Box<dyn Conn>, peer)).await;
                        }
                        Ok(Err(e)) => tracing::debug!(%peer, error = %e, "release API TLS handshake failed"),
                        Err(_) => tracing::debug!(%peer, "release API TLS handshake timed out"),
                    }
                });
            }
        });
        Ok(Self { local, inner: Inner::Tls { ready, accept_loop } })
    }
}

impl axum::serve::Listener for HttpListener {
    type Io = Box<dyn Conn>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match &mut self.inner {
            Inner::Plain(socket) => loop {
                match TcpListener::accept(socket).await {
                    Ok((tcp, peer)) => {
                        let _ = tcp.set_nodelay(true);
                        return (Box::new(tcp), peer);
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "release API accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            },
            Inner::Tls { ready, .. } => match ready.recv().await {
                Some(conn) => conn,
                // The accept loop never ends on its own; if it did, stop serving new clients.
                None => std::future::pending().await,
            },
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}

/// Binds `addr` for an HTTP listener: HTTPS when `cert` and `key` are given, else plain HTTP
/// (the config allows that on loopback only). `section` names the config key in errors.
///
/// # Errors
/// Binding the address or loading the certificate, naming `SECTION.listen` or the file.
pub async fn bind(section: &str, addr: SocketAddr, cert: Option<&Path>, key: Option<&Path>) -> anyhow::Result<HttpListener> {
    use anyhow::Context;
    let socket = TcpListener::bind(addr).await.with_context(|| format!("binding {section}.listen {addr}"))?;
    Ok(match (cert, key) {
        (Some(cert), Some(key)) => HttpListener::tls(socket, https_acceptor(cert, key)?)?,
        _ => HttpListener::plain(socket)?,
    })
}

/// Serves `app` on `listener` (with each client's address as `ConnectInfo<SocketAddr>`) until
/// `shutdown`, then lets open requests finish. `what` names the listener in the error log.
pub async fn serve(listener: HttpListener, app: axum::Router, shutdown: tokio_util::sync::CancellationToken, what: &'static str) {
    use axum::serve::ListenerExt;
    let served = axum::serve(listener.tap_io(|_| {}), app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await;
    if let Err(e) = served {
        tracing::error!(error = %e, "{what} stopped");
    }
}
