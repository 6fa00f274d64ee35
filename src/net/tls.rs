//! TLS for every listener (SMTP, release API, admin console): certificate and key loading
//! from PEM files into a rustls server configuration or acceptor (TLS 1.2 and 1.3).
//!
//! Owns only the loading; what runs over the connection is the listener's business.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("certificate file {path}: {reason}")]
    Cert { path: String, reason: String },
    #[error("key file {path}: {reason}")]
    Key { path: String, reason: String },
    #[error("TLS configuration: {0}")]
    Config(#[from] rustls::Error),
}

/// Builds an acceptor from PEM files (the certificate file may hold the whole chain).
///
/// # Errors
/// [`TlsError`] naming the file and what is wrong with it.
pub fn acceptor(cert: &Path, key: &Path) -> Result<TlsAcceptor, TlsError> {
    server_config(cert, key).map(|config| TlsAcceptor::from(Arc::new(config)))
}

/// A rustls server configuration from PEM files (shared with the HTTPS listeners).
///
/// # Errors
/// [`TlsError`] naming the file and what is wrong with it.
pub fn server_config(cert: &Path, key: &Path) -> Result<rustls::ServerConfig, TlsError> {
    let cert_err = |reason: String| TlsError::Cert { path: cert.display().to_string(), reason };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| cert_err(e.to_string()))?
        .collect::<Result<_, _>>()
        .map_err(|e| cert_err(e.to_string()))?;
    if certs.is_empty() {
        return Err(cert_err("no CERTIFICATE block".into()));
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| TlsError::Key { path: key.display().to_string(), reason: e.to_string() })?;
    Ok(rustls::ServerConfig::builder().with_no_client_auth().with_single_cert(certs, key)?)
}

/// A TLS client set-up that checks server certificates against the system's trust store (the
/// platform verifier lettre and reqwest use too), for outgoing connections such as IMAP.
///
/// # Errors
/// [`TlsError::Config`] when the trust store cannot be loaded.
pub fn client_connector() -> Result<tokio_rustls::TlsConnector, TlsError> {
    use rustls_platform_verifier::ConfigVerifierExt;
    let config = rustls::ClientConfig::with_platform_verifier()?;
    Ok(tokio_rustls::TlsConnector::from(Arc::new(config)))
}
