//! The admin console: server-rendered pages (templates/admin/) behind a login, on
//! `[admin] listen` (HTTPS with `tls_cert`/`tls_key`, plain HTTP on loopback only).
//!
//! Owns the console's routes, its authentication ([`auth`]) and the pages ([`pages`]): queue
//! settings applied live on every node, spam-threshold tuning with a what-if over past traffic,
//! the message trace ([`trace`]), pending jobs and a dashboard. It reads and changes state only
//! through [`crate::store`] and the live configuration. Every answer, whatever route or error
//! made it, carries the security and no-caching headers of [`headers`].

pub mod accounts;
pub mod auth;
pub mod headers;
pub mod login;
pub mod pages;
pub mod roles;
pub mod trace;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use minijinja::Environment;

use crate::live::Shared;
use crate::net::throttle::{Limits, Throttle};
use crate::store::Store;

/// The console's scope in the shared attempt counters.
pub const THROTTLE_SCOPE: &str = "admin";

#[derive(Clone)]
pub struct AdminState {
    pub store: Store,
    pub live: Shared,
    pub templates: Arc<Environment<'static>>,
    /// Login attempts per account and per source address.
    pub throttle: Arc<Throttle>,
    pub settings: crate::config::AdminConfig,
    /// Cookies get `Secure` when the console is served over HTTPS.
    pub https: bool,
}

impl AdminState {
    pub fn new(store: Store, live: Shared, settings: crate::config::AdminConfig) -> Self {
        let throttle = Throttle::new(
            THROTTLE_SCOPE,
            Limits {
                per_subject: settings.max_failed_logins,
                per_address: settings.max_failed_logins_per_address,
                window: settings.login_lockout,
                lockout: settings.login_lockout,
            },
        );
        let https = settings.tls_cert.is_some();
        Self { store, live, templates: Arc::new(templates()), throttle: Arc::new(throttle), settings, https }
    }
}

/// The console's templates, embedded (HTML auto-escaping: the names end in `.html`).
fn templates() -> Environment<'static> {
    let mut env = Environment::new();
    for (name, text) in [
        ("base.html", include_str!("../../templates/admin/base.html")),
        ("bar.html", include_str!("../../templates/admin/bar.html")),
        ("login.html", include_str!("../../templates/admin/login.html")),
        ("dashboard.html", include_str!("../../templates/admin/dashboard.html")),
        ("queues.html", include_str!("../../templates/admin/queues.html")),
        ("tuning.html", include_str!("../../templates/admin/tuning.html")),
        ("trace.html", include_str!("../../templates/admin/trace.html")),
        ("jobs.html", include_str!("../../templates/admin/jobs.html")),
        ("accounts.html", include_str!("../../templates/admin/accounts.html")),
        ("denied.html", include_str!("../../templates/admin/denied.html")),
    ] {
        env.add_template(name, text).unwrap_or_else(|e| panic!("admin template {name}: {e}"));
    }
    env
}

/// The console's routes. Serve with `into_make_service_with_connect_info::<SocketAddr>()`.
///
/// The [`headers::hygiene`] layer wraps the whole router, so its headers reach every answer:
/// pages, redirects, extractor rejections, `404` (fallback) and `405`.
pub fn router(state: AdminState) -> Router {
    Router::new()
        .route("/", get(pages::dashboard))
        .route("/login", get(login::login_form).post(login::login))
        .route("/logout", post(login::logout))
        .route("/queues", get(pages::queues))
        .route("/queues/{name}", post(pages::save_queue))
        .route("/tuning", get(pages::tuning))
        .route("/trace", get(trace::trace).post(trace::trace_by_code))
        .route("/jobs", get(pages::jobs))
        .route("/jobs/{id}/cancel", post(pages::cancel_job))
        .route("/accounts", get(accounts::accounts))
        .route("/accounts/{name}/end-sessions", post(accounts::end_sessions))
        .route("/accounts/{name}/disable", post(accounts::disable))
        .route("/accounts/{name}/enable", post(accounts::enable))
        .route("/accounts/{name}/role", post(accounts::set_role))
        .route("/accounts/{name}/password", post(accounts::reset_password))
        .route("/healthz", get(|| async { "ok\n" }))
        .route(headers::STYLESHEET_PATH, get(headers::stylesheet))
        .with_state(state)
        .layer(axum::middleware::map_response(headers::hygiene))
}

/// Serves the console until `shutdown`.
///
/// # Errors
/// Binding the listener or loading the certificate.
pub async fn serve(state: AdminState, shutdown: tokio_util::sync::CancellationToken) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let settings = state.settings.clone();
    let listener = crate::net::http::bind("admin", settings.listen, settings.tls_cert.as_deref(), settings.tls_key.as_deref()).await?;
    tracing::info!(admin = %settings.listen, https = settings.tls_cert.is_some(), "admin console listening");
    Ok(tokio::spawn(crate::net::http::serve(listener, router(state), shutdown, "admin console")))
}
