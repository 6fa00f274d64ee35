//! The stream that connects to a scanner address ([`Endpoint`], `HOST:PORT` or `unix:/path`,
//! parsed by `config` at load).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpStream, UnixStream};

pub use crate::config::Endpoint;

impl Endpoint {
    /// Connects within `timeout`.
    ///
    /// # Errors
    /// Connection errors, or `TimedOut`.
    pub async fn connect(&self, timeout: Duration) -> io::Result<ScanStream> {
        let fut = async {
            Ok(match self {
                Self::Tcp(addr) => {
                    let s = TcpStream::connect(addr).await?;
                    s.set_nodelay(true)?;
                    ScanStream::Tcp(s)
                }
                Self::Unix(path) => ScanStream::Unix(UnixStream::connect(path).await?),
            })
        };
        tokio::time::timeout(timeout, fut).await.map_err(|_| io::ErrorKind::TimedOut)?
    }
}

/// A connection to a scanner daemon over TCP or a unix socket.
pub enum ScanStream {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl AsyncRead for ScanStream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Tcp(s) => Pin::new(s).poll_read(cx, buf),
            Self::Unix(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for ScanStream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Tcp(s) => Pin::new(s).poll_write(cx, buf),
            Self::Unix(s) => Pin::new(s).poll_write(cx, buf),
        }
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Tcp(s) => Pin::new(s).poll_flush(cx),
            Self::Unix(s) => Pin::new(s).poll_flush(cx),
        }
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Tcp(s) => Pin::new(s).poll_shutdown(cx),
            Self::Unix(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}
