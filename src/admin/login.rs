//! Logging in and out of the console. A login attempt takes a slot of its account's and its
//! address's attempt limits before the password is looked at ([`crate::net::throttle`]), so N
//! passwords sent at once check at most the limit; an unknown name is counted and locked out
//! exactly like a real one, and both get the same answers; so does a disabled account, even
//! with its right password. A lock-out of an account ends its sessions.

use std::net::SocketAddr;
use std::sync::OnceLock;

use axum::extract::{ConnectInfo, Form, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use minijinja::context;
use serde::Deserialize;

use super::AdminState;
use super::auth::{self, Admin, LOGIN_CSRF_COOKIE, SESSION_COOKIE};
use super::pages::{CsrfForm, audit, render, see_other, unavailable};
use crate::net::throttle::{Refusal, ThrottleKey};

pub async fn login_form(State(state): State<AdminState>) -> Response {
    login_page(&state, StatusCode::OK, None)
}

fn login_page(state: &AdminState, status: StatusCode, error: Option<String>) -> Response {
    let Ok(login_csrf) = auth::token() else { return (StatusCode::SERVICE_UNAVAILABLE, "no randomness\n").into_response() };
    let mut response = render(state, "login.html", None, status, context! { title => "Log in", error, login_csrf => login_csrf.clone() });
    if let Ok(v) = HeaderValue::from_str(&auth::set_cookie(LOGIN_CSRF_COOKIE, &login_csrf, 3600, state.https)) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    user: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
}

/// A hash to verify against when the account does not exist, so that an unknown name takes as
/// long as a wrong password.
fn dummy_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| auth::hash_password("printgate-no-such-account").unwrap_or_default())
}

/// The one answer to a name or address with no attempt left, whether the account exists or not.
fn too_many(state: &AdminState, wait: u64) -> Response {
    let minutes = wait.div_ceil(60);
    // One second: every slot is held by attempts being checked right now (not a lock-out).
    let text = if wait <= 1 {
        "Too many logins for this name or from your address at once; try again in a moment.".to_owned()
    } else {
        format!(
            "Too many failed logins for this name or from your address; try again in {minutes} minute{}, or ask another admin.",
            if minutes == 1 { "" } else { "s" }
        )
    };
    let mut r = login_page(state, StatusCode::TOO_MANY_REQUESTS, Some(text));
    r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(wait));
    r
}

pub async fn login(
    State(state): State<AdminState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let cookie_csrf = auth::cookie(&headers, LOGIN_CSRF_COOKIE).unwrap_or("");
    if form.csrf.is_empty() || !crate::crypto::constant_time_eq(cookie_csrf.as_bytes(), form.csrf.as_bytes()) {
        tracing::warn!(peer = %peer.ip(), "admin login without a valid CSRF token refused");
        return (StatusCode::FORBIDDEN, "invalid or missing CSRF token; reload the login page\n").into_response();
    }
    let keys = [ThrottleKey::Account(form.user.clone()), ThrottleKey::Address(peer.ip())];
    let attempt = match state.throttle.admit(&state.store, &keys).await {
        Ok(attempt) => attempt,
        Err(Refusal::LockedOut { retry_after }) => return too_many(&state, retry_after),
        Err(Refusal::Store(e)) => return unavailable(&e),
    };
    let account = match state.store.admin_user(&form.user).await {
        Ok(a) => Some(a),
        Err(crate::store::StoreError::NotFound) => None,
        Err(e) => {
            state.throttle.succeeded(&state.store, attempt).await;
            return unavailable(&e);
        }
    };
    let hash = account.as_ref().map_or_else(|| dummy_hash().to_owned(), |a| a.password_hash.clone());
    let password = form.password.clone();
    // A disabled account gets the answer of a wrong password (and counts as one): nothing
    // tells a guesser that the name exists or that the password was right.
    let enabled = account.as_ref().is_some_and(|a| !a.disabled);
    let good = tokio::task::spawn_blocking(move || auth::verify_password(&password, &hash)).await.unwrap_or(false) && enabled;
    if !good {
        tracing::warn!(peer = %peer.ip(), "admin login failed");
        for locked in state.throttle.failed(&state.store, attempt).await {
            locked_out(&state, &form.user, account.is_some(), &locked.key, locked.failures).await;
        }
        return login_page(&state, StatusCode::UNAUTHORIZED, Some("Wrong name or password.".into()));
    }
    state.throttle.succeeded(&state.store, attempt).await;
    start_session(&state, &form.user, peer).await
}

/// A lock-out began: audited; an account's lock-out also ends every session of that account
/// (someone may be guessing because they hold a stolen session, or the owner is locked out
/// and must not stay logged in elsewhere).
async fn locked_out(state: &AdminState, user: &str, exists: bool, key: &ThrottleKey, failures: u32) {
    // A name that is no account is not written down: people type their password there.
    let who = if exists { user } else { "(unknown name)" };
    match key {
        ThrottleKey::Address(_) => {
            audit(state, who, "admin_address_locked_out", &format!("{key}: {failures} failed logins; locked out")).await
        }
        _ => {
            audit(state, who, "admin_account_locked_out", &format!("account {who}: {failures} failed logins; locked")).await;
            if exists && let Err(e) = state.store.end_admin_sessions(user).await {
                tracing::error!(error = %e, "cannot end the sessions of a locked-out account");
            }
        }
    }
}

async fn start_session(state: &AdminState, user: &str, peer: SocketAddr) -> Response {
    let (Ok(session), Ok(csrf)) = (auth::token(), auth::token()) else {
        return (StatusCode::SERVICE_UNAVAILABLE, "no randomness\n").into_response();
    };
    let lifetime = state.settings.session_lifetime.as_secs();
    let expires = state.store.now() + lifetime as i64;
    if let Err(e) = state.store.create_admin_session(&crate::crypto::sha256_hex(session.as_bytes()), user, &csrf, expires).await {
        return unavailable(&e);
    }
    if let Err(e) = state.store.note_console_login(user).await {
        tracing::warn!(error = %e, "cannot note the login time of a console account");
    }
    audit(state, user, "admin_login", &format!("{user} logged in from {}", peer.ip())).await;
    let mut r = see_other("/");
    if let Ok(v) = HeaderValue::from_str(&auth::set_cookie(SESSION_COOKIE, &session, lifetime, state.https)) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

pub async fn logout(State(state): State<AdminState>, admin: Admin, Form(form): Form<CsrfForm>) -> Response {
    if let Err(r) = admin.check_csrf(&form.csrf) {
        return r.into_response();
    }
    if let Err(e) = state.store.delete_admin_session(&admin.session_hash).await {
        return unavailable(&e);
    }
    let mut r = see_other("/login");
    if let Ok(v) = HeaderValue::from_str(&auth::set_cookie(SESSION_COOKIE, "", 0, state.https)) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}
