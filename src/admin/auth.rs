//! Admin authentication: argon2id password hashes, sessions in the store (the cookie holds 256
//! random bits; the store keeps their SHA-256), a CSRF token per session checked on every POST,
//! and login throttling per account (in the store, so every node agrees) and per source address
//! (in memory, like the release API's). The logged-in account carries its role; the [`Admin`]
//! extractor refuses a page the role may not open ([`super::roles::allowed`]) before the
//! handler runs.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::extract::{FromRequestParts, MatchedPath};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

use super::AdminState;
use super::roles::{self, Page, Role};
use crate::crypto;
use crate::store::StoreError;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "printgate_session";
/// The login form's CSRF cookie (double submit: the form carries the same value).
pub const LOGIN_CSRF_COOKIE: &str = "printgate_login_csrf";

/// Shortest password `admin-user add` accepts.
pub const MIN_PASSWORD_CHARS: usize = 12;

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("the password must have at least {MIN_PASSWORD_CHARS} characters")]
    WeakPassword,
    #[error("password hashing failed: {0}")]
    Hash(String),
}

/// An argon2id hash (PHC string) with a fresh salt.
///
/// # Errors
/// [`AuthError`].
pub fn hash_password(password: &str) -> Result<String, AuthError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(AuthError::WeakPassword);
    }
    let salt_bytes = crypto::random::<16>().map_err(|e| AuthError::Hash(e.to_string()))?;
    let salt = SaltString::encode_b64(&salt_bytes).map_err(|e| AuthError::Hash(e.to_string()))?;
    argon2::Argon2::default().hash_password(password.as_bytes(), &salt).map(|h| h.to_string()).map_err(|e| AuthError::Hash(e.to_string()))
}

/// Checks a password against a stored hash (constant time inside argon2).
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| argon2::Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
}

/// A fresh random token (session id or CSRF token), 64 hex digits.
///
/// # Errors
/// When the system's random source fails.
pub fn token() -> Result<String, crate::crypto::CryptoError> {
    Ok(hex::encode(crypto::random::<32>()?))
}

/// The value of cookie `name` in the request.
pub fn cookie<'a>(headers: &'a axum::http::HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Strict, Secure over HTTPS.
pub fn set_cookie(name: &str, value: &str, max_age: u64, secure: bool) -> String {
    format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{}", if secure { "; Secure" } else { "" })
}

/// A logged-in console account (an admin or staff: [`Admin::role`]) allowed on the page it asked for.
pub struct Admin {
    pub user: String,
    pub csrf: String,
    pub session_hash: String,
    pub role: Role,
}

/// Not logged in: pages redirect to the login form; POSTs are refused. Logged in, but the
/// page is not for the account's role: `Denied` (a `403` page in words).
pub enum NotLoggedIn {
    Redirect,
    Forbidden,
    Denied(Box<Response>),
    Unavailable(String),
}

impl IntoResponse for NotLoggedIn {
    fn into_response(self) -> Response {
        match self {
            Self::Redirect => Redirect::to("/login").into_response(),
            Self::Forbidden => (StatusCode::FORBIDDEN, "not logged in\n").into_response(),
            Self::Denied(page) => *page,
            Self::Unavailable(cause) => {
                tracing::error!(cause = %cause, "admin console: store unavailable");
                (StatusCode::SERVICE_UNAVAILABLE, "the store is unavailable; try again later\n").into_response()
            }
        }
    }
}

impl FromRequestParts<AdminState> for Admin {
    type Rejection = NotLoggedIn;

    async fn from_request_parts(parts: &mut Parts, state: &AdminState) -> Result<Self, Self::Rejection> {
        let not_logged_in = if parts.method == axum::http::Method::GET { NotLoggedIn::Redirect } else { NotLoggedIn::Forbidden };
        let Some(id) = cookie(&parts.headers, SESSION_COOKIE) else { return Err(not_logged_in) };
        let session_hash = crypto::sha256_hex(id.as_bytes());
        let admin = match state.store.console_session(&session_hash).await {
            Ok(s) => Admin { user: s.user, csrf: s.csrf, session_hash, role: s.role },
            Err(StoreError::NotFound) => return Err(not_logged_in),
            Err(e) => return Err(NotLoggedIn::Unavailable(e.to_string())),
        };
        // The route the router chose (`/queues/{name}`), not the raw path.
        let path = parts.extensions.get::<MatchedPath>().map_or_else(|| parts.uri.path(), MatchedPath::as_str);
        if !roles::allowed(admin.role, Page::of(path)) {
            tracing::warn!(user = %admin.user, role = admin.role.as_str(), path, method = %parts.method, "console page refused to this role");
            return Err(NotLoggedIn::Denied(Box::new(roles::denied(state, &admin))));
        }
        Ok(admin)
    }
}

impl Admin {
    /// Every state-changing request must carry the session's CSRF token.
    ///
    /// # Errors
    /// A 403 response naming the problem.
    pub fn check_csrf(&self, submitted: &str) -> Result<(), CsrfRefused> {
        if !submitted.is_empty() && crypto::constant_time_eq(submitted.as_bytes(), self.csrf.as_bytes()) {
            Ok(())
        } else {
            tracing::warn!(user = %self.user, "admin POST without a valid CSRF token refused");
            Err(CsrfRefused)
        }
    }
}

/// A POST without the session's CSRF token: `403`.
#[derive(Debug)]
pub struct CsrfRefused;

impl IntoResponse for CsrfRefused {
    fn into_response(self) -> Response {
        (StatusCode::FORBIDDEN, "invalid or missing CSRF token; reload the page and try again\n").into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_only_their_password_and_weak_ones_are_refused() {
        let hash = hash_password("correct horse battery").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &hash));
        assert!(!verify_password("correct horse batterY", &hash));
        assert!(!verify_password("correct horse battery", "not a hash"));
        assert!(matches!(hash_password("short"), Err(AuthError::WeakPassword)));
        assert_ne!(hash, hash_password("correct horse battery").unwrap(), "salts differ");
    }
}
