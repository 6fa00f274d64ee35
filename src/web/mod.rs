//! The patrons' web upload form (`[web]`, docs/upload.md): a server-rendered page where a
//! patron picks a queue, gives an email address and uploads files, and a results page that
//! follows the message through the pipeline.
//!
//! Owns the form's routes, its CSRF cookie, its upload rate limits (counted in the store
//! through [`crate::net::throttle`]) and its pages ([`pages`], words in [`words`], decisions in
//! [`choices`]). An upload becomes an ordinary MIME message ([`message`]) and goes through
//! [`crate::inbound::Inbound::screen_and_spool`], the same intake, screening and spool as mail; this
//! module must not screen, convert or store documents itself, and never shows a release code
//! (it goes by email only). Listener and response hygiene come from [`crate::net`].

pub mod choices;
pub mod message;
pub mod pages;
pub mod results;
pub mod upload;
pub mod words;

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use minijinja::Environment;

use crate::inbound::Inbound;
use crate::live::Shared;
use crate::net::throttle::{Limits, Throttle};
use crate::store::Store;

/// The form's scope in the shared attempt counters.
pub const THROTTLE_SCOPE: &str = "upload";

/// The form's Content-Security-Policy: its own stylesheet and script, nothing from elsewhere;
/// forms post only here; never framed. `connect-src 'self'` lets the progress script send the
/// upload by `XMLHttpRequest` (under `default-src 'none'` alone Chromium blocks it).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; script-src 'self'; connect-src 'self'; img-src 'self'; \
     form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

const STYLESHEET: &str = include_str!("../../templates/upload/upload.css");
const SCRIPT: &str = include_str!("../../templates/upload/upload.js");

#[derive(Clone)]
pub struct WebState {
    pub live: Shared,
    pub store: Store,
    pub inbound: Arc<Inbound>,
    pub templates: Arc<Environment<'static>>,
    pub words: Arc<BTreeMap<&'static str, words::Words>>,
    /// Uploads per email address (the "subject") and per client address.
    pub throttle: Arc<Throttle>,
    pub settings: crate::config::WebConfig,
    /// Served over HTTPS: the cookie gets `Secure`, the message's trace says HTTPS.
    pub https: bool,
}

impl WebState {
    pub fn new(live: Shared, store: Store, inbound: Arc<Inbound>, settings: crate::config::WebConfig) -> Self {
        let throttle = Throttle::new(
            THROTTLE_SCOPE,
            Limits {
                per_subject: settings.max_uploads_per_address,
                per_address: settings.max_uploads_per_ip,
                window: settings.upload_window,
                lockout: settings.upload_window,
            },
        );
        let https = settings.tls_cert.is_some();
        Self {
            live,
            store,
            inbound,
            templates: Arc::new(templates()),
            words: Arc::new(words::words()),
            throttle: Arc::new(throttle),
            settings,
            https,
        }
    }
}

/// The pages, embedded (HTML auto-escaping: the names end in `.html`).
fn templates() -> Environment<'static> {
    let mut env = Environment::new();
    for (name, text) in [
        ("base.html", include_str!("../../templates/upload/base.html")),
        ("form.html", include_str!("../../templates/upload/form.html")),
        ("results.html", include_str!("../../templates/upload/results.html")),
        ("message.html", include_str!("../../templates/upload/message.html")),
    ] {
        env.add_template(name, text).unwrap_or_else(|e| panic!("upload template {name}: {e}"));
    }
    env
}

/// The form's routes. Serve with `into_make_service_with_connect_info::<SocketAddr>()`.
pub fn router(state: WebState) -> Router {
    // Reading stops past the mail size limit; the handler answers 413 with a page.
    let limit = usize::try_from(choices::body_limit(state.live.load().config.smtp.max_message_bytes)).unwrap_or(usize::MAX);
    Router::new()
        .route("/", get(pages::form))
        .route("/upload", get(pages::form).post(upload::upload).layer(DefaultBodyLimit::max(limit)))
        .route("/upload/{id}", get(results::results))
        .route("/upload.css", get(|| async { asset("text/css; charset=utf-8", STYLESHEET) }))
        .route("/upload.js", get(|| async { asset("text/javascript; charset=utf-8", SCRIPT) }))
        .route("/healthz", get(|| async { "ok\n" }))
        .fallback(pages::not_found)
        .with_state(state)
        .layer(axum::middleware::map_response(hygiene))
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (StatusCode::OK, [(header::CONTENT_TYPE, content_type)], body).into_response()
}

/// Every answer, whatever made it, carries the policy and the shared hygiene headers.
async fn hygiene(mut response: Response) -> Response {
    apply(response.headers_mut());
    response
}

pub fn apply(headers: &mut HeaderMap) {
    crate::net::web::apply(headers, CONTENT_SECURITY_POLICY);
}

/// Serves the form until `shutdown`.
///
/// # Errors
/// Binding the listener or loading the certificate.
pub async fn serve(state: WebState, shutdown: tokio_util::sync::CancellationToken) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let settings = state.settings.clone();
    let listener = crate::net::http::bind("web", settings.listen, settings.tls_cert.as_deref(), settings.tls_key.as_deref()).await?;
    tracing::info!(web = %axum::serve::Listener::local_addr(&listener)?, https = state.https, "web upload form listening");
    Ok(tokio::spawn(crate::net::http::serve(listener, router(state), shutdown, "web upload form")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_is_the_documented_one() {
        let mut headers = HeaderMap::new();
        apply(&mut headers);
        assert_eq!(
            headers[header::CONTENT_SECURITY_POLICY],
            "default-src 'none'; style-src 'self'; script-src 'self'; connect-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
        );
        assert_eq!(headers[header::X_FRAME_OPTIONS], "DENY");
        assert_eq!(headers[header::CACHE_CONTROL], "no-store");
        assert!(!CONTENT_SECURITY_POLICY.contains("unsafe"));
    }

    #[test]
    fn the_templates_compile() {
        let env = templates();
        for name in ["form.html", "results.html", "message.html"] {
            assert!(env.get_template(name).is_ok(), "{name}");
        }
    }
}
