//! The kiosk's HTTP face, for the browser on the station itself: `GET /` is the current
//! screen, `POST /` one action (`do` = code, print, refresh, cancel, finish, reset, stay, lang)
//! answered by `303` back to `/`. Every POST carries the session's CSRF token; requests for
//! another host name are refused (a web page elsewhere cannot reach this page through DNS
//! rebinding), and every answer carries a strict Content-Security-Policy.
//!
//! `GET /session` shows the station's memory of the session as JSON (what the page shows, no
//! more), for the operator and the tests.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Form, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;

use super::Kiosk;
use super::choice::{Choice, normalize_code};
use super::i18n::Lang;
use super::printing;
use super::session::{Item, ItemState, Notice, Screen};
use crate::station::StationError;

/// Scripts, styles and fetches only from the station itself; nothing else.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self'; \
     form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

pub fn router(kiosk: Arc<Kiosk>) -> Router {
    let hosts = allowed_hosts(kiosk.settings.listen);
    Router::new()
        .route("/", get(page).post(action))
        .route("/kiosk.css", get(|| async { ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], super::pages::STYLESHEET) }))
        .route("/kiosk.js", get(|| async { ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8")], super::pages::SCRIPT) }))
        .route("/session", get(session_json))
        .route("/healthz", get(|| async { "ok\n" }))
        .with_state(kiosk)
        .layer(axum::middleware::from_fn(move |req: Request, next: Next| {
            let ok = host_allowed(req.headers(), &hosts);
            async move {
                if !ok {
                    return (StatusCode::MISDIRECTED_REQUEST, "this page is served for the station's own browser only\n").into_response();
                }
                let mut resp = next.run(req).await;
                crate::net::web::apply(resp.headers_mut(), CONTENT_SECURITY_POLICY);
                resp
            }
        }))
}

/// The Host values the page answers to: the listen address, and `localhost` on its port.
pub fn allowed_hosts(listen: std::net::SocketAddr) -> Vec<String> {
    let port = listen.port();
    let mut hosts = vec![listen.to_string(), format!("localhost:{port}"), format!("127.0.0.1:{port}"), format!("[::1]:{port}")];
    if port == 80 {
        hosts.extend(["localhost".into(), "127.0.0.1".into(), listen.ip().to_string()]);
    }
    hosts
}

fn host_allowed(headers: &HeaderMap, hosts: &[String]) -> bool {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
    if !hosts.iter().any(|h| h.eq_ignore_ascii_case(host)) {
        return false;
    }
    // A browser says where a request comes from; only this page may send one.
    match headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) {
        None | Some("null") => headers.get("sec-fetch-site").is_none_or(|s| s == "same-origin" || s == "none"),
        Some(origin) => origin.strip_prefix("http://").is_some_and(|o| hosts.iter().any(|h| h.eq_ignore_ascii_case(o))),
    }
}

async fn page(State(kiosk): State<Arc<Kiosk>>) -> Html<String> {
    let session = kiosk.session();
    Html(kiosk.pages.render_for(&kiosk, &session))
}

/// The session as the screen shows it: names masked with `--mask-titles`, no job hashes.
async fn session_json(State(kiosk): State<Arc<Kiosk>>) -> Response {
    let mut session = kiosk.session().clone();
    session.mask_names(kiosk.settings.mask_titles);
    axum::Json(session).into_response()
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> &'a str {
    fields.iter().find(|(k, _)| k == name).map_or("", |(_, v)| v.as_str())
}

async fn action(State(kiosk): State<Arc<Kiosk>>, Form(fields): Form<Vec<(String, String)>>) -> Response {
    let generation = {
        let mut session = kiosk.session();
        if !crate::crypto::constant_time_eq(field(&fields, "csrf").as_bytes(), session.csrf.as_bytes()) {
            tracing::info!("kiosk form with a stale or missing CSRF token refused");
            return (StatusCode::FORBIDDEN, Html(kiosk.pages.render_for(&kiosk, &session))).into_response();
        }
        session.last_input = std::time::Instant::now();
        session.generation
    };
    match field(&fields, "do") {
        "stay" => return StatusCode::NO_CONTENT.into_response(),
        "code" => redeem(&kiosk, generation, field(&fields, "code")).await,
        "print" => print(&kiosk, &fields),
        "refresh" => refresh(&kiosk, &fields),
        "lang" => {
            if let Some(lang) = Lang::parse(field(&fields, "lang")).filter(|l| kiosk.settings.langs.contains(l)) {
                kiosk.session().lang = lang;
            }
        }
        "cancel" | "finish" | "reset" => {
            let mut session = kiosk.session();
            if !matches!(session.screen, Screen::Printing { .. }) {
                kiosk.reset(&mut session);
            }
        }
        other => tracing::info!(action = other, "unknown kiosk action ignored"),
    }
    Redirect::to("/").into_response()
}

/// Asks the server for the jobs behind a code (on the start screen only).
async fn redeem(kiosk: &Arc<Kiosk>, generation: u64, typed: &str) {
    if !matches!(kiosk.session().screen, Screen::Start { .. }) {
        return;
    }
    let next = match normalize_code(typed) {
        None => Screen::Start { notice: Some(Notice::MalformedCode) },
        Some(code) => match kiosk.client.redeem(&code).await {
            Ok(release) => {
                let jobs = printing::drop_printed(kiosk, release.jobs).await;
                if jobs.is_empty() {
                    Screen::Start { notice: Some(Notice::AlreadyPrinted) }
                } else {
                    Screen::Documents { site: release.site, choice: Choice::all(&jobs), jobs, avoid: None, notice: None }
                }
            }
            Err(e) => Screen::Start { notice: Some(redeem_notice(&e)) },
        },
    };
    let mut session = kiosk.session();
    if session.generation == generation && matches!(session.screen, Screen::Start { .. }) {
        session.go(next);
    }
}

/// What the patron is told when a code does not list documents.
pub fn redeem_notice(error: &StationError) -> Notice {
    match error {
        StationError::UnknownCode => Notice::WrongCode,
        StationError::ExpiredCode => Notice::ExpiredCode,
        StationError::AlreadyPrinted => Notice::AlreadyPrinted,
        StationError::LockedOut { retry_after_secs } => Notice::LockedOut { minutes: retry_after_secs.div_ceil(60).max(1) },
        other => {
            tracing::warn!(error = %other, "cannot redeem a code");
            Notice::ServerDown
        }
    }
}

/// The documents screen again with the patron's ticks kept and the printers' states fresh.
fn refresh(kiosk: &Kiosk, fields: &[(String, String)]) {
    let mut session = kiosk.session();
    if let Screen::Documents { choice, notice, .. } = &mut session.screen {
        *choice = Choice::from_form(fields);
        *notice = None;
    }
}

/// Starts printing the chosen jobs on the chosen printer, if both are valid.
fn print(kiosk: &Arc<Kiosk>, fields: &[(String, String)]) {
    let choosable = kiosk.choosable();
    let mut session = kiosk.session();
    let Screen::Documents { site, jobs, notice, choice, .. } = &mut session.screen else { return };
    let chosen = Choice::from_form(fields);
    *choice = chosen.clone();
    let (picked, others): (Vec<_>, Vec<_>) = jobs.iter().cloned().partition(|j| chosen.copies_of(&j.id).is_some());
    if picked.is_empty() {
        *notice = Some(Notice::NothingChosen);
        return;
    }
    let Some(printer) = chosen.printer.filter(|p| choosable.get(*p).copied().unwrap_or(false)) else {
        *notice = Some(Notice::PrinterNotReady);
        return;
    };
    let items = picked
        .into_iter()
        .map(|job| {
            let copies = chosen.copies_of(&job.id).unwrap_or(job.copies).clamp(1, job.copies.max(1));
            Item { job, copies, state: ItemState::Waiting }
        })
        .collect();
    let screen = Screen::Printing { site: site.clone(), printer, items, choice: chosen, others };
    session.go(screen);
    tokio::spawn(printing::run(kiosk.clone(), session.generation));
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn only_this_pages_own_requests_are_served() {
        let hosts = allowed_hosts("127.0.0.1:8080".parse().unwrap());
        let req = |host: &str, origin: Option<&str>, site: Option<&str>| {
            let mut h = HeaderMap::new();
            h.insert(header::HOST, HeaderValue::from_str(host).unwrap());
            if let Some(o) = origin {
                h.insert(header::ORIGIN, HeaderValue::from_str(o).unwrap());
            }
            if let Some(s) = site {
                h.insert("sec-fetch-site", HeaderValue::from_str(s).unwrap());
            }
            host_allowed(&h, &hosts)
        };
        assert!(req("127.0.0.1:8080", None, None));
        assert!(req("localhost:8080", Some("http://localhost:8080"), Some("same-origin")));
        assert!(req("127.0.0.1:8080", None, Some("none")));
        assert!(!req("evil.example:8080", None, None), "DNS rebinding");
        assert!(!req("127.0.0.1:8080", Some("http://evil.example"), Some("cross-site")));
        assert!(!req("127.0.0.1:8080", None, Some("cross-site")));
        assert!(!req("127.0.0.1:9090", None, None));
    }

    #[test]
    fn each_refusal_has_its_own_words() {
        assert_eq!(redeem_notice(&StationError::UnknownCode), Notice::WrongCode);
        assert_eq!(redeem_notice(&StationError::ExpiredCode), Notice::ExpiredCode);
        assert_eq!(redeem_notice(&StationError::AlreadyPrinted), Notice::AlreadyPrinted);
        assert_eq!(redeem_notice(&StationError::LockedOut { retry_after_secs: 61 }), Notice::LockedOut { minutes: 2 });
        assert_eq!(redeem_notice(&StationError::LockedOut { retry_after_secs: 0 }), Notice::LockedOut { minutes: 1 });
        let down = StationError::Server { status: 503, message: String::new() };
        assert_eq!(redeem_notice(&down), Notice::ServerDown);
    }
}
