//! The form page and the pages in words (errors, refusals, limits), each in the patron's
//! language, and the form's CSRF cookie.
//!
//! CSRF: the form is unauthenticated, so there is no session to tie a token to. The form page
//! sets a random token in a short-lived `HttpOnly; SameSite=Strict` cookie and the same token in
//! a hidden field; an upload counts only when both match (a double submit: another site can
//! neither read the cookie nor set it).

use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use minijinja::{Value, context};
use serde::Deserialize;

use super::WebState;
use super::choices::{self, OfferedQueue};
use super::words::{self, Lang};

/// The CSRF cookie's name.
pub const CSRF_COOKIE: &str = "printgate_upload_csrf";
/// How long a form page may be left open before its upload is refused (then it is reloaded).
const CSRF_MAX_AGE_SECS: u64 = 4 * 3600;

/// What the file inputs offer to pick: everything the converters read (docs/conversion.md);
/// the queue's own file policy still decides, after the upload, by content.
pub const ACCEPT: &str = ".pdf,.txt,.rtf,.html,.htm,.doc,.docx,.odt,.xls,.xlsx,.ods,.ppt,.pptx,.odp,\
     .jpg,.jpeg,.png,.gif,.bmp,.tif,.tiff,.webp,.heic,.heif,.avif,application/pdf,image/*";

#[derive(Debug, Default, Deserialize)]
pub struct LangQuery {
    pub lang: Option<String>,
}

/// The patron's language for this request.
pub fn lang_of(headers: &HeaderMap, explicit: Option<&str>) -> Lang {
    let accept = headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok());
    words::negotiate(explicit, accept)
}

/// The values the form shows again after a problem.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Filled {
    pub email: String,
    pub queue: String,
    pub copies: String,
    pub duplex: bool,
    pub color: String,
}

/// `GET /` and `GET /upload`.
pub async fn form(State(state): State<WebState>, headers: HeaderMap, Query(q): Query<LangQuery>) -> Response {
    let lang = lang_of(&headers, q.lang.as_deref());
    form_page(&state, lang, &headers, StatusCode::OK, None, &Filled::default())
}

/// The form, with `problem` (a message in words) above it when set.
pub fn form_page(
    state: &WebState,
    lang: Lang,
    headers: &HeaderMap,
    status: StatusCode,
    problem: Option<String>,
    filled: &Filled,
) -> Response {
    let token = match cookie(headers, CSRF_COOKIE).filter(|t| choices::is_results_id(t)) {
        Some(t) => t.to_owned(),
        None => match crate::crypto::random::<16>() {
            Ok(bytes) => hex::encode(bytes),
            Err(_) => return message_page(state, lang, StatusCode::SERVICE_UNAVAILABLE, "unavailable_title", "unavailable", &[]),
        },
    };
    let config = state.live.load().config.clone();
    let queues: Vec<OfferedQueue> = choices::offered_queues(&config);
    let any_color = queues.iter().any(|q| q.color);
    let ctx = context! {
        queues => Value::from(minijinja::value::Serde(&queues)),
        any_color,
        csrf => token.clone(),
        problem,
        filled => Value::from(minijinja::value::Serde(filled)),
        accept => ACCEPT,
        max_size => size_words(config.smtp.max_message_bytes, lang),
        max_bytes => config.smtp.max_message_bytes,
        max_files => state.settings.max_files,
        max_copies => crate::intake::options::MAX_COPIES,
    };
    let mut response = render(state, lang, "form.html", status, "form_title", ctx);
    let secure = if state.https { "; Secure" } else { "" };
    let cookie = format!("{CSRF_COOKIE}={token}; Path=/; Max-Age={CSRF_MAX_AGE_SECS}; HttpOnly; SameSite=Strict{secure}");
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}

/// A page in words: a title and a message (keys of the language's words, `{0}`, `{1}` … in the
/// message replaced by `args`), with a way back to the form.
pub fn message_page(state: &WebState, lang: Lang, status: StatusCode, title: &str, message: &str, args: &[String]) -> Response {
    let words = &state.words[lang.code()];
    let mut text = words.get(message).cloned().unwrap_or_default();
    for (i, arg) in args.iter().enumerate() {
        text = text.replace(&format!("{{{i}}}"), arg);
    }
    render(state, lang, "message.html", status, title, context! { message => text })
}

/// Renders `template` in `lang` with the words, the language switch and `ctx`.
pub fn render(state: &WebState, lang: Lang, template: &str, status: StatusCode, title: &str, ctx: Value) -> Response {
    let words = &state.words[lang.code()];
    let others: Vec<Value> =
        Lang::ALL.into_iter().filter(|l| *l != lang).map(|l| context! { code => l.code(), name => l.native_name() }).collect();
    let base = context! {
        lang => lang.code(),
        w => Value::from(minijinja::value::Serde(words)),
        title => words.get(title).cloned().unwrap_or_default(),
        others,
    };
    let html = state.templates.get_template(template).and_then(|t| t.render(context! { ..base, ..ctx }));
    match html {
        Ok(html) => (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, template, "upload page failed to render");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error\n").into_response()
        }
    }
}

/// Unknown paths.
pub async fn not_found(State(state): State<WebState>, headers: HeaderMap) -> Response {
    let lang = lang_of(&headers, None);
    message_page(&state, lang, StatusCode::NOT_FOUND, "not_found_title", "not_found", &[])
}

/// The value of cookie `name`, if sent.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A size limit as patrons read it: `25 MB` (`25 MB` in German too, with a decimal comma).
pub fn size_words(bytes: usize, lang: Lang) -> String {
    let mb = bytes as f64 / (1024.0 * 1024.0);
    let text = if mb >= 10.0 || (mb - mb.round()).abs() < 0.05 { format!("{mb:.0}") } else { format!("{mb:.1}") };
    match lang {
        Lang::En => format!("{text} MB"),
        Lang::De => format!("{} MB", text.replace('.', ",")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_megabytes() {
        for (bytes, lang, want) in [
            (25 * 1024 * 1024, Lang::En, "25 MB"),
            (10 * 1024 * 1024, Lang::De, "10 MB"),
            (1536 * 1024, Lang::En, "1.5 MB"),
            (1536 * 1024, Lang::De, "1,5 MB"),
        ] {
            assert_eq!(size_words(bytes, lang), want);
        }
    }

    #[test]
    fn cookies_are_found_by_name() {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_static("a=1; printgate_upload_csrf=abc; b=2"));
        assert_eq!(cookie(&headers, CSRF_COOKIE), Some("abc"));
        assert_eq!(cookie(&headers, "c"), None);
    }
}
