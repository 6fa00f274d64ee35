//! The admin console: server-rendered pages (templates/admin/) behind a login, on
//! `[admin] listen` (HTTPS with `tls_cert`/`tls_key`, plain HTTP on loopback only).
//!
//! Owns the console's routes, its authentication ([`auth`]) and the pages ([`pages`]): queue
//! settings ([`queues`], checked by the config file's own rules in [`queue_form`]) applied live
//! on every node, spam-threshold tuning with a what-if over past traffic, the message trace
//! ([`trace`]), pending jobs, a dashboard with charts ([`dashboard`], [`charts`], refusal categories in [`reasons`]), the staff desk ([`desk`], [`desk_actions`]) and the audit trail ([`audit`]). It reads and changes state only
//! through [`crate::store`] and the live configuration. Every answer, whatever route or error
//! made it, carries the security and no-caching headers of [`headers`], and every error answer
//! is a page in words ([`errors`]). Times are shown in the library's time zone ([`zones`]).

pub mod accounts;
pub mod audit;
pub mod auth;
pub mod charts;
pub mod dashboard;
pub mod desk;
pub mod desk_actions;
pub mod errors;
pub mod explain;
pub mod headers;
pub mod login;
pub mod pages;
pub mod queue_form;
pub mod queues;
pub mod reasons;
pub mod roles;
pub mod senders;
pub mod trace;
pub mod zones;

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
    /// Wakes this node's outbox when the desk queues a reply (else it looks within seconds).
    pub outbox_wake: Option<Arc<tokio::sync::Notify>>,
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
        Self { store, live, templates: Arc::new(templates()), throttle: Arc::new(throttle), settings, https, outbox_wake: None }
    }
}

/// The console's templates, embedded (HTML auto-escaping: the names end in `.html`), with the
/// filters `count` (`3|count("page")` is `3 pages`), `size` (`2048|size` is `2 KB`) and
/// `segment` (a value percent-encoded for one segment of a path).
fn templates() -> Environment<'static> {
    let mut env = Environment::new();
    env.add_filter("count", count);
    env.add_filter("size", size);
    env.add_filter("segment", segment);
    for (name, text) in [
        ("base.html", include_str!("../../templates/admin/base.html")),
        ("bar.html", include_str!("../../templates/admin/bar.html")),
        ("chart.html", include_str!("../../templates/admin/chart.html")),
        ("login.html", include_str!("../../templates/admin/login.html")),
        ("error.html", include_str!("../../templates/admin/error.html")),
        ("dashboard.html", include_str!("../../templates/admin/dashboard.html")),
        ("queues.html", include_str!("../../templates/admin/queues.html")),
        ("audit.html", include_str!("../../templates/admin/audit.html")),
        ("tuning.html", include_str!("../../templates/admin/tuning.html")),
        ("trace.html", include_str!("../../templates/admin/trace.html")),
        ("trace_item.html", include_str!("../../templates/admin/trace_item.html")),
        ("trace_detail.html", include_str!("../../templates/admin/trace_detail.html")),
        ("jobs.html", include_str!("../../templates/admin/jobs.html")),
        ("cancel_job.html", include_str!("../../templates/admin/cancel_job.html")),
        ("accounts.html", include_str!("../../templates/admin/accounts.html")),
        ("denied.html", include_str!("../../templates/admin/denied.html")),
        ("desk.html", include_str!("../../templates/admin/desk.html")),
        ("desk_confirm.html", include_str!("../../templates/admin/desk_confirm.html")),
        ("senders.html", include_str!("../../templates/admin/senders.html")),
    ] {
        env.add_template(name, text).unwrap_or_else(|e| panic!("admin template {name}: {e}"));
    }
    env
}

/// `1 page`, `3 pages` (nouns with a plain `s` plural).
pub fn count(n: i64, noun: &str) -> String {
    if n == 1 { format!("1 {noun}") } else { format!("{n} {noun}s") }
}

/// A size in bytes as people read it: `512 bytes`, `2 KB`, `1.5 MB` (powers of 1024).
pub fn size(bytes: i64) -> String {
    const KB: f64 = 1024.0;
    let b = bytes as f64;
    if bytes == 1 {
        "1 byte".to_owned()
    } else if b < KB {
        format!("{bytes} bytes")
    } else if b < KB * KB {
        format!("{} KB", round_size(b / KB))
    } else {
        format!("{} MB", round_size(b / KB / KB))
    }
}

/// `value` percent-encoded but for the unreserved characters (RFC 3986), for a path segment.
pub fn segment(value: &str) -> String {
    value
        .bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b"-._~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

/// One decimal below 10, none above: `1.5`, `12`.
fn round_size(v: f64) -> String {
    if v < 9.95 { format!("{:.1}", v).trim_end_matches(".0").to_owned() } else { format!("{v:.0}") }
}

/// The console's routes. Serve with `into_make_service_with_connect_info::<SocketAddr>()`.
///
/// The [`headers::hygiene`] layer wraps the whole router, so its headers reach every answer:
/// pages, redirects, extractor rejections, `404` (fallback) and `405`. Inside it, the
/// [`errors::friendly`] layer makes every error answer that is not a page yet one in words.
pub fn router(state: AdminState) -> Router {
    Router::new()
        .route("/", get(dashboard::dashboard))
        .route("/login", get(login::login_form).post(login::login))
        .route("/logout", post(login::logout))
        .route("/queues", get(queues::queues))
        .route("/queues/{name}", post(queues::save_queue))
        .route("/queues/{name}/reset", post(queues::reset_queue))
        .route("/audit", get(audit::audit_page))
        .route("/tuning", get(pages::tuning))
        .route("/trace", get(trace::trace).post(trace::trace_by_code))
        .route("/trace/{id}", get(trace::trace_detail))
        .route("/jobs", get(pages::jobs))
        .route("/jobs/{id}/cancel", post(pages::cancel_job))
        .route("/desk", get(desk::desk).post(desk::desk_by_code))
        .route("/desk/jobs/{id}/cancel", post(desk_actions::cancel))
        .route("/desk/messages/{id}/extend", post(desk_actions::extend))
        .route("/desk/messages/{id}/resend", post(desk_actions::resend))
        .route("/senders", get(senders::senders))
        .route("/senders/reset", post(senders::reset))
        .route("/senders/revoke", post(senders::revoke))
        .route("/accounts", get(accounts::accounts))
        .route("/accounts/{name}/end-sessions", post(accounts::end_sessions))
        .route("/accounts/{name}/disable", post(accounts::disable))
        .route("/accounts/{name}/enable", post(accounts::enable))
        .route("/accounts/{name}/role", post(accounts::set_role))
        .route("/accounts/{name}/password", post(accounts::reset_password))
        .route("/healthz", get(|| async { "ok\n" }))
        .route(headers::STYLESHEET_PATH, get(headers::stylesheet))
        .with_state(state.clone())
        .layer(axum::middleware::map_response_with_state(state, errors::friendly))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_sizes_read_as_words() {
        for (n, expected) in [(0, "0 pages"), (1, "1 page"), (2, "2 pages")] {
            assert_eq!(count(n, "page"), expected);
        }
        for (bytes, expected) in [
            (0, "0 bytes"),
            (1, "1 byte"),
            (512, "512 bytes"),
            (2048, "2 KB"),
            (1536, "1.5 KB"),
            (20_000, "20 KB"),
            (1_572_864, "1.5 MB"),
            (10_485_760, "10 MB"),
        ] {
            assert_eq!(size(bytes), expected);
        }
    }

    #[test]
    fn every_template_renders_with_the_filters() {
        let env = templates();
        let html = env
            .get_template("error.html")
            .unwrap()
            .render(minijinja::context! { title => "Page not found", sentence => "x", status => 404 })
            .unwrap();
        assert!(html.contains("<html lang=\"en\">") && html.contains("<title>Page not found · printgate</title>"), "{html}");
        assert!(html.contains("<main id=\"main\"") && html.contains("href=\"/\""), "{html}");
        assert!(!html.contains("<nav"), "no menu without a session");
        let t = minijinja::context! {
            id => "a b", received => "2026-11-25 15:05 CET", client_ip => "192.0.2.1", helo => "mx", tls => true, size => 2048, queue => "bw",
            mail_from => "", header_from => "p@example.com", message_id => "<m@x>", auth => "spf=pass", grade => "A", virus => "",
            spam_score => 1.5, spam_rules => "", outcome => "accepted", outcome_words => "accepted", reply => "250 ok",
            documents => vec![minijinja::context! { name => "a.pdf", type => "pdf", bytes => 1536, outcome => "stored", pages => 2 }],
            replies => vec!["Delivered."],
        };
        let page = minijinja::context! { title => "Message trace", user => "u", csrf => "c", page => "trace.html", may_open => vec!["/", "/trace", "/jobs"], f => minijinja::context! {}, traces => vec![t.clone()], searched => true, limit => 50, zone => "UTC" };
        let html = env.get_template("trace.html").unwrap().render(page).unwrap();
        for expected in [
            "1 message found",
            "href=\"/trace/a%20b\"",
            "a.pdf (pdf, 1.5 KB): stored, 2 pages",
            "2 KB",
            "aria-current=\"page\">Message trace",
        ] {
            assert!(html.contains(expected), "{expected:?} not in {html}");
        }
        let html = env
            .get_template("trace_detail.html")
            .unwrap()
            .render(minijinja::context! {
                title => "t", user => "u", page => "trace_detail.html", may_open => vec!["/trace"], t,
                stages => vec![minijinja::context! { name => "Virus scan", verdict => "refused", marker => "✗", sentence => "Found <X>." }],
            })
            .unwrap();
        assert!(html.contains("<section class=\"trace\">") && html.contains("aria-current=\"page\">Message trace"), "{html}");
        for expected in [
            "<li class=\"stage stage-refused\"><strong class=\"stage-name\">Virus scan</strong> <span class=\"verdict\"><span class=\"sign\" aria-hidden=\"true\">✗</span> refused</span>",
            "<span class=\"sentence\">Found &lt;X&gt;.</span>",
            "<details class=\"raw\">",
        ] {
            assert!(html.contains(expected), "{expected:?} not in {html}");
        }
        let raw = &html[html.find("<details").unwrap()..];
        assert!(raw.contains("a.pdf (pdf, 1.5 KB): stored, 2 pages") && raw.contains("spf=pass"), "the raw facts are folded away: {raw}");
    }
}
