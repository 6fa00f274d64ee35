//! Who may open which console page: [`allowed`] is the one decision, taken from the role of the
//! logged-in account and the page a request is routed to ([`Page::of`], by path prefix). The
//! [`super::auth::Admin`] extractor applies it to every handler that needs a login, before the
//! handler runs, so a refused POST changes nothing (its CSRF token and form are never read). The
//! menu shows an account only the pages it may open ([`nav_allowed`]).
//!
//! Owns no state and touches neither the store nor the templates' content; the refusal page is
//! `templates/admin/denied.html`.

use axum::http::StatusCode;
use axum::response::Response;
use minijinja::context;

pub use crate::store::accounts::Role;

/// A console page, as far as access is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    /// Login form, health check, stylesheet: no login needed.
    Public,
    Dashboard,
    /// The message trace (search and single messages).
    Trace,
    /// The pending jobs and their cancel button.
    Jobs,
    /// The staff desk: a patron's messages, cancel, extend, a new code.
    Desk,
    /// A sender's pages today (and their reset) and the confirmed senders (revoke).
    Senders,
    Logout,
    Queues,
    /// Spam-threshold tuning.
    Tuning,
    /// Release-station tokens (no console page yet: the CLI manages them).
    Tokens,
    Audit,
    Accounts,
    /// Anything not listed: for admins only, so a new page is closed to staff until it is
    /// listed here as a staff page.
    Other,
}

/// Path prefixes (a whole segment: `/queues` is `/queues` and `/queues/...`, not `/queuesx`)
/// and their page. `/` alone is the dashboard.
///
const PREFIXES: &[(&str, Page)] = &[
    ("/login", Page::Public),
    ("/healthz", Page::Public),
    (super::headers::STYLESHEET_PATH, Page::Public),
    ("/logout", Page::Logout),
    ("/trace", Page::Trace),
    ("/jobs", Page::Jobs),
    ("/desk", Page::Desk),
    ("/senders", Page::Senders),
    ("/queues", Page::Queues),
    ("/tuning", Page::Tuning),
    ("/tokens", Page::Tokens),
    ("/stations", Page::Tokens),
    ("/audit", Page::Audit),
    ("/accounts", Page::Accounts),
];

impl Page {
    /// The page of a route (axum's matched path, e.g. `/queues/{name}`) or request path.
    pub fn of(path: &str) -> Self {
        if path == "/" {
            return Self::Dashboard;
        }
        PREFIXES
            .iter()
            .find(|(prefix, _)| path.strip_prefix(prefix).is_some_and(|rest| rest.is_empty() || rest.starts_with('/')))
            .map_or(Self::Other, |(_, page)| *page)
    }
}

/// Whether an account with `role` may open (GET) or use (POST) `page`.
pub fn allowed(role: Role, page: Page) -> bool {
    match role {
        Role::Admin => true,
        Role::Staff => {
            matches!(page, Page::Public | Page::Dashboard | Page::Desk | Page::Senders | Page::Trace | Page::Jobs | Page::Logout)
        }
    }
}

/// The menu's links (path of each entry of `templates/admin/base.html`).
const NAV: &[&str] = &["/", "/desk", "/senders", "/queues", "/tuning", "/trace", "/jobs", "/audit", "/accounts"];

/// The menu entries `role` may open: the template shows a link only if its path is listed.
pub fn nav_allowed(role: Role) -> Vec<&'static str> {
    NAV.iter().copied().filter(|path| allowed(role, Page::of(path))).collect()
}

/// The role and its menu entries for the templates (`role`, `may_open`); nothing without a login.
pub(super) fn nav_context(role: Option<Role>) -> minijinja::Value {
    context! { role => role.map(Role::as_str), may_open => role.map(nav_allowed).unwrap_or_default() }
}

/// The answer to a staff account asking for an admin page: `403` with a page in words.
pub(super) fn denied(state: &super::AdminState, admin: &super::auth::Admin) -> Response {
    super::pages::render(
        state,
        "denied.html",
        Some(admin),
        StatusCode::FORBIDDEN,
        context! { title => "Not available to your account", sentence => "This page is for administrators." },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staff_open_the_desk_pages_and_admins_every_page() {
        use Page::*;
        // (path, its page, whether staff may open it); admins may open every one.
        for (path, page, staff) in [
            ("/", Dashboard, true),
            ("/trace", Trace, true),
            ("/trace/{id}", Trace, true),
            ("/jobs", Jobs, true),
            ("/jobs/{id}/cancel", Jobs, true),
            ("/logout", Logout, true),
            ("/login", Public, true),
            ("/healthz", Public, true),
            ("/console.css", Public, true),
            ("/queues", Queues, false),
            ("/queues/{name}", Queues, false),
            ("/queues/{name}/reset", Queues, false),
            ("/tuning", Tuning, false),
            ("/tokens", Tokens, false),
            ("/stations/{id}/revoke", Tokens, false),
            ("/audit", Audit, false),
            ("/audit/export", Audit, false),
            ("/accounts", Accounts, false),
            ("/accounts/{name}/disable", Accounts, false),
            // Not a prefix of a whole segment, or not listed: admins only.
            ("/queuesx", Other, false),
            ("/tracer", Other, false),
            ("/jobsx/1", Other, false),
            ("//queues", Other, false),
            ("/desk", Desk, true),
            ("/desk/jobs/{id}/cancel", Desk, true),
            ("/desk/messages/{id}/resend", Desk, true),
            ("/deskx", Other, false),
            ("/senders", Senders, true),
            ("/senders/reset", Senders, true),
            ("", Other, false),
        ] {
            assert_eq!(Page::of(path), page, "{path:?}");
            assert_eq!(allowed(Role::Staff, page), staff, "staff on {path:?}");
            assert!(allowed(Role::Admin, page), "admin on {path:?}");
        }
    }

    #[test]
    fn the_menu_shows_staff_only_their_pages() {
        assert_eq!(nav_allowed(Role::Staff), ["/", "/desk", "/senders", "/trace", "/jobs"]);
        assert_eq!(nav_allowed(Role::Admin), NAV);
    }
}
