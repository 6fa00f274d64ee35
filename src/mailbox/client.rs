//! The IMAP connection of one mailbox: TCP, TLS (`imaps://` from the first byte, `imap://`
//! with STARTTLS that must succeed, plain only to loopback), and the login: LOGIN with the first
//! line of `password_file`, or AUTHENTICATE XOAUTH2 with the token `oauth_token_command` prints
//! (kept until it expires, [`crate::net::oauth_token`]). The protocol itself is async-imap's.

use std::time::{Duration, Instant};

use async_imap::{Authenticator, Client, Session};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use crate::config::{ImapSecurity, MailboxConfig};

/// The longest a connection, a login or one command may take.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

/// A connection of any kind (plain or TLS) behind one type.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send + std::fmt::Debug {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + std::fmt::Debug> Io for T {}

pub type ImapSession = Session<Box<dyn Io>>;

/// Why a mailbox cannot be read: each says what to check.
#[derive(Debug, thiserror::Error)]
pub enum MailboxError {
    #[error("cannot connect to {addr}: {reason}")]
    Connect { addr: String, reason: String },
    #[error("TLS with the IMAP server failed (check the server's certificate and name): {0}")]
    Tls(String),
    #[error("the IMAP server refused STARTTLS, which imap:// to a host that is not loopback needs: {0}")]
    StartTls(String),
    #[error("cannot read the secret: {0}")]
    Secret(String),
    #[error("the IMAP server refused the login (check username and password_file or oauth_token_command): {0}")]
    Login(String),
    #[error("the folder {folder:?} cannot be used: {reason}")]
    Folder { folder: String, reason: String },
    #[error("the IMAP server did not answer within {0:?}")]
    Timeout(Duration),
    #[error("IMAP: {0}")]
    Imap(#[from] async_imap::error::Error),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// `future`, or [`MailboxError::Timeout`] after [`COMMAND_TIMEOUT`].
pub async fn timely<T, E: Into<MailboxError>>(future: impl Future<Output = Result<T, E>>) -> Result<T, MailboxError> {
    limit(COMMAND_TIMEOUT, future).await
}

/// `future`, or [`MailboxError::Timeout`] after `after`.
pub async fn limit<T, E: Into<MailboxError>>(after: Duration, future: impl Future<Output = Result<T, E>>) -> Result<T, MailboxError> {
    tokio::time::timeout(after, future).await.map_err(|_| MailboxError::Timeout(after))?.map_err(Into::into)
}

/// An OAuth2 access token and when to fetch a new one.
#[derive(Default)]
pub struct TokenCache {
    token: Option<(String, Instant)>,
}

impl TokenCache {
    /// Forgets the token (the server refused it): the command runs again at the next login.
    pub fn refused(&mut self) {
        self.token = None;
    }

    async fn get(&mut self, command: &str, key: &str) -> Result<String, MailboxError> {
        if let Some((token, until)) = &self.token
            && Instant::now() < *until
        {
            return Ok(token.clone());
        }
        let (token, lifetime) = crate::net::oauth_token::fetch(command, key).await.map_err(MailboxError::Secret)?;
        self.token = Some((token.clone(), Instant::now() + lifetime));
        Ok(token)
    }
}

/// XOAUTH2's one message (`user=…^Aauth=Bearer …^A^A`). A server that refuses the token sends a
/// challenge with its error; the answer to that is empty, and the server then says NO.
struct XOauth2 {
    first: String,
    sent: bool,
}

impl Authenticator for &mut XOauth2 {
    type Response = String;
    fn process(&mut self, _challenge: &[u8]) -> String {
        if std::mem::replace(&mut self.sent, true) { String::new() } else { self.first.clone() }
    }
}

/// Connects and logs in to `config`'s server.
///
/// # Errors
/// [`MailboxError`] naming the step that failed.
pub async fn open(config: &MailboxConfig, tokens: &mut TokenCache, index: usize) -> Result<ImapSession, MailboxError> {
    let client = limit(COMMAND_TIMEOUT, connect(config)).await?;
    if let Some(path) = &config.password_file {
        let text = tokio::fs::read_to_string(path)
            .await
            .map_err(|e| MailboxError::Secret(format!("mailbox[{index}].password_file {}: {e}", path.display())))?;
        let password = text.lines().next().unwrap_or_default().to_owned();
        return limit(COMMAND_TIMEOUT, async { client.login(&config.username, &password).await.map_err(|(e, _)| login_error(e)) }).await;
    }
    let command = config.oauth_token_command.as_deref().unwrap_or_default();
    let token = tokens.get(command, &format!("mailbox[{index}].oauth_token_command")).await?;
    let mut auth = XOauth2 { first: format!("user={}\x01auth=Bearer {token}\x01\x01", config.username), sent: false };
    let result = limit(COMMAND_TIMEOUT, async { client.authenticate("XOAUTH2", &mut auth).await.map_err(|(e, _)| login_error(e)) }).await;
    if matches!(result, Err(MailboxError::Login(_))) {
        tokens.refused();
    }
    result
}

fn login_error(e: async_imap::error::Error) -> MailboxError {
    match e {
        async_imap::error::Error::No(text) | async_imap::error::Error::Bad(text) => MailboxError::Login(server_words(&text)),
        other => MailboxError::Imap(other),
    }
}

/// The server's own words in async-imap's text of a NO or BAD (`code: None, info:
/// Some("[AUTHENTICATIONFAILED] Authentication failed.")`), else the text as it is.
pub fn server_words(text: &str) -> String {
    let Some((_, info)) = text.split_once("info: Some(\"") else { return text.to_owned() };
    info.strip_suffix("\")").unwrap_or(info).replace("\\\"", "\"")
}

/// TCP, then TLS as the URL says, then the server's greeting.
async fn connect(config: &MailboxConfig) -> Result<Client<Box<dyn Io>>, MailboxError> {
    let url = &config.url;
    let addr = format!("{}:{}", url.host, url.port);
    let tcp = TcpStream::connect((url.host.as_str(), url.port))
        .await
        .map_err(|e| MailboxError::Connect { addr: addr.clone(), reason: e.to_string() })?;
    let stream: Box<dyn Io> = match url.security {
        ImapSecurity::Plain => Box::new(tcp),
        ImapSecurity::Implicit => Box::new(tls(tcp, &url.host).await?),
        ImapSecurity::StartTls => {
            let mut client = Client::new(tcp);
            greeting(&mut client).await?;
            client.run_command_and_check_ok("STARTTLS", None).await.map_err(|e| MailboxError::StartTls(e.to_string()))?;
            let tls = tls(client.into_inner(), &url.host).await?;
            // RFC 3501 6.2.1: no greeting after STARTTLS.
            return Ok(Client::new(Box::new(tls) as Box<dyn Io>));
        }
    };
    let mut client = Client::new(stream);
    greeting(&mut client).await?;
    Ok(client)
}

async fn greeting<T: AsyncRead + AsyncWrite + Unpin + Send + std::fmt::Debug>(client: &mut Client<T>) -> Result<(), MailboxError> {
    match client.read_response().await {
        Ok(Some(_)) => Ok(()),
        Ok(None) => Err(MailboxError::Imap(async_imap::error::Error::ConnectionLost)),
        Err(e) => Err(MailboxError::Imap(e.into())),
    }
}

async fn tls(tcp: TcpStream, host: &str) -> Result<tokio_rustls::client::TlsStream<TcpStream>, MailboxError> {
    let connector = crate::net::tls::client_connector().map_err(|e| MailboxError::Tls(e.to_string()))?;
    let name = rustls_pki_types::ServerName::try_from(host.to_owned()).map_err(|e| MailboxError::Tls(format!("{host:?}: {e}")))?;
    connector.connect(name, tcp).await.map_err(|e| MailboxError::Tls(e.to_string()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_refusal_is_logged_in_the_servers_words() {
        // (async-imap's text, what the log says)
        for (text, words) in [
            ("code: None, info: Some(\"[AUTHENTICATIONFAILED] Authentication failed.\")", "[AUTHENTICATIONFAILED] Authentication failed."),
            ("code: Some(AuthenticationFailed), info: Some(\"say \\\"no\\\"\")", "say \"no\""),
            ("LOGIN failed.", "LOGIN failed."),
            ("code: None, info: None", "code: None, info: None"),
        ] {
            assert_eq!(super::server_words(text), words, "{text}");
        }
    }
}
