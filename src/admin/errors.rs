//! The console's error pages. Whatever made an error answer — an unknown address (`404`), a
//! method a route does not take (`405`), a query string or form axum cannot read (`400`,
//! `415`, `422`), a refused POST (`403`) or a store that is down (`503`) — the person sees a page
//! in the console's style with a heading, a sentence in words and a link back to the dashboard,
//! under the answer's own status code. [`friendly`] is a response layer that turns every error
//! answer that is not HTML yet into such a page (the words are chosen by [`words`] from the
//! status and the plain text the answer carried); handlers that know better call [`page`].
//!
//! It changes only how an error reads, never whether a request is an error: the status code and
//! the other headers (`Allow`, `Retry-After`) stay as they were. The security headers are added
//! by the [`super::headers`] layer outside this one.

use axum::body::{Body, to_bytes};
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use minijinja::context;

use super::AdminState;
use super::pages::render;

/// The most of an error's plain-text body read to choose the words (axum's rejections and the
/// handlers' texts are one line).
const BODY_LIMIT: usize = 16 * 1024;

/// A heading and a sentence for an error answer with `status` whose plain-text body was `body`.
pub fn words(status: StatusCode, body: &str) -> (&'static str, String) {
    let body = body.trim();
    match status.as_u16() {
        400 => ("This address has a mistake in it", bad_query(body)),
        403 if body.contains("CSRF") => (
            "This form is out of date",
            "The console did not take this form: it was not sent from a page of your current session (perhaps from before you last logged in). Reload the page and send the form again.".into(),
        ),
        403 => ("You are not logged in", "Log in and try again.".into()),
        404 => (
            "Page not found",
            "There is nothing at this address: the page, queue or job it names does not exist, or no longer does.".into(),
        ),
        405 => (
            "This page cannot be opened this way",
            "This address is for a form that the console's pages send, not for opening in the browser (or the other way round). Open the page from the menu instead.".into(),
        ),
        413 => ("This form is too large", "The console takes forms up to a few kilobytes. Send a shorter one.".into()),
        415 | 422 => ("This form could not be read", "Reload the page and send the form again from there.".into()),
        503 => (
            "The console cannot reach its store",
            "The database or blob store is not answering just now. Try again in a minute; if it goes on, the server's log says why.".into(),
        ),
        s if s >= 500 => (
            "Something went wrong on the server",
            "The console could not make this page. The server's log says what went wrong.".into(),
        ),
        _ => ("This request was refused", format!("The console answered {status}.")),
    }
}

/// The sentence for a `400`: which value of the address could not be read, when axum's
/// rejection names it (`Failed to deserialize query string: days: invalid digit found in
/// string`).
fn bad_query(body: &str) -> String {
    let field = body
        .strip_prefix("Failed to deserialize query string: ")
        .and_then(|rest| rest.split_once(": "))
        .map(|(field, _)| field)
        .filter(|f| !f.is_empty() && f.len() <= 40 && f.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
    match field {
        Some(field) => format!(
            "The value of “{field}” in this page's address is not one the console can read (a number where a number belongs, for instance). Check the link, or open the page from the menu."
        ),
        None => "Part of this page's address is not one the console can read. Check the link, or open the page from the menu.".into(),
    }
}

/// An error page with `status`, a heading and a sentence.
pub fn page(state: &AdminState, status: StatusCode, heading: &str, sentence: &str) -> Response {
    render(state, "error.html", None, status, context! { title => heading, sentence, status => status.as_u16() })
}

/// The response layer: `Router::layer(axum::middleware::map_response_with_state(state, errors::friendly))`.
pub async fn friendly(State(state): State<AdminState>, response: Response) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) || is_html(&response) {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let text = to_bytes(body, BODY_LIMIT).await.map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default();
    let (heading, sentence) = words(status, &text);
    let friendly = page(&state, status, heading, &sentence);
    if !is_html(&friendly) {
        // The error page itself failed (logged by `render`): the original answer, as it was.
        return (parts, Body::from(text)).into_response();
    }
    let (new_parts, new_body) = friendly.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    for (name, value) in &new_parts.headers {
        parts.headers.insert(name, value.clone());
    }
    Response::from_parts(parts, new_body)
}

fn is_html(response: &Response) -> bool {
    response.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("text/html"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_gets_a_heading_and_a_sentence_in_words() {
        for (status, body, heading, part) in [
            (400, "Failed to deserialize query string: days: invalid digit found in string", "mistake", "“days”"),
            (400, "Failed to deserialize query string: expected `,` or `}`", "mistake", "Part of this page's address"),
            (400, "Failed to deserialize query string: <script>: x", "mistake", "Part of this page's address"),
            (403, "invalid or missing CSRF token; reload the page and try again", "out of date", "Reload the page"),
            (403, "not logged in", "not logged in", "Log in"),
            (404, "", "Page not found", "does not exist"),
            (404, "no such job", "Page not found", "job"),
            (405, "", "cannot be opened", "Open the page from the menu"),
            (413, "", "too large", "shorter"),
            (415, "Form requests must have `Content-Type: application/x-www-form-urlencoded`", "could not be read", "Reload"),
            (422, "Failed to deserialize form body", "could not be read", "Reload"),
            (500, "template error", "went wrong", "log"),
            (503, "the store is unavailable; try again later", "cannot reach its store", "Try again"),
        ] {
            let (h, s) = words(StatusCode::from_u16(status).unwrap(), body);
            assert!(h.contains(heading), "{status} {body:?}: {h}");
            assert!(s.contains(part), "{status} {body:?}: {s}");
            for machine in ["deserialize", "CSRF", "(s)", "Content-Type", "`"] {
                assert!(!s.contains(machine) && !h.contains(machine), "{status}: {machine:?} in {h} / {s}");
            }
        }
    }
}
