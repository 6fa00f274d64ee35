//! The accounts page, `/accounts` (admins only: [`super::roles`]): every console account with its
//! role, state, last login and open sessions, and the actions on it — end its sessions, disable
//! or enable it, change its role, reset its password. Each action is a POST with the session's
//! CSRF token, written to the audit trail, and redirects back (303). A change that would leave no
//! enabled admin is refused ([`crate::store::accounts::keeps_an_admin`], checked in the store's
//! transaction). Disabling an account or resetting its password ends its sessions.
//!
//! Accounts are created by the CLI (`admin-user add NAME [--role admin|staff]`), not here.

use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use minijinja::{Value, context};
use serde::Deserialize;

use super::AdminState;
use super::auth::{self, Admin, MIN_PASSWORD_CHARS};
use super::pages::{CsrfForm, audit, fmt_time, render, see_other, unavailable};
use crate::store::StoreError;
use crate::store::accounts::{AccountChange, ChangeRefused, Role};

/// What the redirect after an action tells the page to say.
#[derive(Deserialize, Default)]
pub struct Done {
    #[serde(default)]
    done: String,
    #[serde(default)]
    name: String,
}

/// The sentence for a finished action, only for the actions this page makes.
pub fn notice(done: &str, name: &str) -> Option<String> {
    let what = match done {
        "sessions" => "every session ended",
        "disabled" => "disabled; its sessions ended",
        "enabled" => "enabled",
        "role" => "role changed",
        "password" => "password reset; its sessions ended",
        _ => return None,
    };
    Some(format!("Account {name}: {what}."))
}

/// Why a new password typed twice is not taken, if it is not.
pub fn password_problem(password: &str, confirm: &str) -> Option<String> {
    if password != confirm {
        Some("The two passwords differ; type the same new password in both fields.".into())
    } else if password.chars().count() < MIN_PASSWORD_CHARS {
        Some(format!("The new password must have at least {MIN_PASSWORD_CHARS} characters."))
    } else {
        None
    }
}

pub async fn accounts(State(state): State<AdminState>, admin: Admin, Query(done): Query<Done>) -> Response {
    page(&state, &admin, StatusCode::OK, None, Some(done)).await
}

async fn page(state: &AdminState, admin: &Admin, status: StatusCode, error: Option<String>, done: Option<Done>) -> Response {
    let accounts = match state.store.console_accounts().await {
        Ok(a) => a,
        Err(e) => return unavailable(&e),
    };
    // A notice names only an account that exists (the query string is anyone's to write).
    let notice = done.filter(|d| accounts.iter().any(|a| a.name == d.name)).and_then(|d| notice(&d.done, &d.name));
    let accounts: Vec<Value> = accounts
        .iter()
        .map(|a| {
            let sessions: Vec<Value> =
                a.sessions.iter().map(|s| context! { created => fmt_time(s.created_at), expires => fmt_time(s.expires_at) }).collect();
            context! {
                name => &a.name, role => a.role.as_str(), disabled => a.disabled, you => a.name == admin.user,
                created => fmt_time(a.created_at), last_login => a.last_login_at.map(fmt_time), sessions,
            }
        })
        .collect();
    let ctx = context! { title => "Accounts", accounts, error, notice, min_password => MIN_PASSWORD_CHARS };
    render(state, "accounts.html", Some(admin), status, ctx)
}

fn no_such_account() -> Response {
    (StatusCode::NOT_FOUND, "no such account\n").into_response()
}

fn done(kind: &str, name: &str) -> Response {
    let name: String = name
        .bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b"-._~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect();
    see_other(&format!("/accounts?done={kind}&name={name}"))
}

pub async fn end_sessions(State(state): State<AdminState>, admin: Admin, Path(name): Path<String>, Form(form): Form<CsrfForm>) -> Response {
    if let Err(r) = admin.check_csrf(&form.csrf) {
        return r.into_response();
    }
    match state.store.admin_user(&name).await {
        Ok(_) => {}
        Err(StoreError::NotFound) => return no_such_account(),
        Err(e) => return unavailable(&e),
    }
    let ended = match state.store.end_admin_sessions(&name).await {
        Ok(n) => n,
        Err(e) => return unavailable(&e),
    };
    audit(&state, &admin.user, "account_sessions_ended", &format!("account {name}: {ended} session(s) ended by {}", admin.user)).await;
    done("sessions", &name)
}

pub async fn disable(State(state): State<AdminState>, admin: Admin, Path(name): Path<String>, Form(form): Form<CsrfForm>) -> Response {
    if let Err(r) = admin.check_csrf(&form.csrf) {
        return r.into_response();
    }
    change(&state, &admin, &name, AccountChange::Disable).await
}

pub async fn enable(State(state): State<AdminState>, admin: Admin, Path(name): Path<String>, Form(form): Form<CsrfForm>) -> Response {
    if let Err(r) = admin.check_csrf(&form.csrf) {
        return r.into_response();
    }
    change(&state, &admin, &name, AccountChange::Enable).await
}

#[derive(Deserialize)]
pub struct RoleForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    role: String,
}

pub async fn set_role(State(state): State<AdminState>, admin: Admin, Path(name): Path<String>, Form(form): Form<RoleForm>) -> Response {
    if let Err(r) = admin.check_csrf(&form.csrf) {
        return r.into_response();
    }
    let Ok(role) = Role::parse(&form.role) else {
        return page(&state, &admin, StatusCode::BAD_REQUEST, Some("Choose the role admin or staff.".into()), None).await;
    };
    change(&state, &admin, &name, AccountChange::SetRole(role)).await
}

/// Disable, enable or change the role of `name` (the CSRF token is checked by the caller).
async fn change(state: &AdminState, admin: &Admin, name: &str, change: AccountChange) -> Response {
    match state.store.change_console_account(name, change).await {
        Ok(()) => {}
        Err(ChangeRefused::NotFound) => return no_such_account(),
        Err(ChangeRefused::LastAdmin) => {
            let why = format!(
                "{name} not changed: it is the last enabled admin account, and the console must keep one. Make another account an admin first."
            );
            return page(state, admin, StatusCode::CONFLICT, Some(why), None).await;
        }
        Err(ChangeRefused::Store(e)) => return unavailable(&e),
    }
    let (kind, event, detail) = match change {
        AccountChange::Disable => ("disabled", "account_disabled", "disabled; its sessions ended".to_owned()),
        AccountChange::Enable => ("enabled", "account_enabled", "enabled".to_owned()),
        AccountChange::SetRole(role) => ("role", "account_role_changed", format!("role set to {}", role.as_str())),
    };
    audit(state, &admin.user, event, &format!("account {name}: {detail} by {}", admin.user)).await;
    done(kind, name)
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: String,
}

pub async fn reset_password(
    State(state): State<AdminState>,
    admin: Admin,
    Path(name): Path<String>,
    Form(form): Form<PasswordForm>,
) -> Response {
    if let Err(r) = admin.check_csrf(&form.csrf) {
        return r.into_response();
    }
    if let Some(problem) = password_problem(&form.password, &form.confirm) {
        return page(&state, &admin, StatusCode::BAD_REQUEST, Some(format!("Password of {name} not reset: {problem}")), None).await;
    }
    let password = form.password;
    let hash = match tokio::task::spawn_blocking(move || auth::hash_password(&password)).await {
        Ok(Ok(hash)) => hash,
        Ok(Err(e)) => {
            return page(&state, &admin, StatusCode::BAD_REQUEST, Some(format!("Password of {name} not reset: {e}.")), None).await;
        }
        Err(e) => {
            tracing::error!(error = %e, "password hashing task failed");
            return (StatusCode::INTERNAL_SERVER_ERROR, "the password could not be hashed\n").into_response();
        }
    };
    match state.store.set_admin_password(&name, &hash).await {
        Ok(()) => {}
        Err(StoreError::NotFound) => return no_such_account(),
        Err(e) => return unavailable(&e),
    }
    // As `admin-user set-password`: a new password lifts the account's lock-out.
    let key = crate::net::throttle::store_key(super::THROTTLE_SCOPE, &crate::net::throttle::ThrottleKey::Account(name.clone()));
    if let Err(e) = state.store.clear_attempts(&key).await {
        tracing::warn!(error = %e, "cannot lift the lock-out of an account whose password was reset");
    }
    audit(&state, &admin.user, "account_password_reset", &format!("account {name}: password reset by {}; its sessions ended", admin.user))
        .await;
    done("password", &name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_password_must_be_typed_twice_alike_and_long_enough() {
        for (password, confirm, problem) in [
            ("a long new passphrase", "a long new passphrase", None),
            ("twelve chars", "twelve chars", None),
            ("a long new passphrase", "a long new passphrasE", Some("differ")),
            ("a long new passphrase", "", Some("differ")),
            ("eleven char", "eleven char", Some("at least 12")),
            ("", "", Some("at least 12")),
            ("ääääääääääää", "ääääääääääää", None),
        ] {
            let got = password_problem(password, confirm);
            match problem {
                None => assert_eq!(got, None, "{password:?}"),
                Some(words) => assert!(got.as_deref().is_some_and(|g| g.contains(words)), "{password:?}: {got:?}"),
            }
        }
    }

    #[test]
    fn notices_only_for_the_pages_own_actions() {
        assert_eq!(notice("disabled", "sam").as_deref(), Some("Account sam: disabled; its sessions ended."));
        assert_eq!(notice("password", "sam").as_deref(), Some("Account sam: password reset; its sessions ended."));
        assert_eq!(notice("you were hacked", "sam"), None);
        assert_eq!(notice("", "sam"), None);
    }
}
