//! Scanner addresses (`HOST:PORT` or `unix:/path`) and the stream that connects to them.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpStream, UnixStream};

/// Where a daemon listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    Tcp(String),
    Unix(std::path::PathBuf),
}

impl Endpoint {
    /// Parses `HOST:PORT` or `unix:/path`.
    ///
    /// # Errors
    /// A message saying what form is expected.
    pub fn parse(text: &str) -> Result<Self, String> {
        if let Some(path) = text.strip_prefix("unix:") {
            if path.is_empty() {
                return Err("unix: needs a socket path".into());
            }
            return Ok(Self::Unix(path.into()));
        }
        match text.rsplit_once(':') {
            Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => Ok(Self::Tcp(text.to_owned())),
            _ => Err(format!("{text:?} is neither HOST:PORT nor unix:/path")),
        }
    }

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

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Tcp(a) => f.write_str(a),
            Self::Unix(p) => write!(f, "unix:{}", p.display()),
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_forms_and_explains_bad_ones() {
        assert_eq!(Endpoint::parse("unix:/run/clamd.sock").unwrap(), Endpoint::Unix("/run/clamd.sock".into()));
        assert_eq!(Endpoint::parse("127.0.0.1:3310").unwrap(), Endpoint::Tcp("127.0.0.1:3310".into()));
        assert!(Endpoint::parse("localhost").unwrap_err().contains("HOST:PORT"));
        assert!(Endpoint::parse("unix:").is_err());
        assert!(Endpoint::parse("host:99999").is_err());
    }
}
