//! `GET /upload/{id}`: what became of an upload, read from its message trace (the pipeline
//! writes each document's pages or refusal there, the same words as the reply). The page
//! reloads itself (`<meta http-equiv=refresh>`, no script) until every document is done.
//!
//! The id is 128 random bits, known only to the browser that uploaded; the trace is found by a
//! hash of it ([`super::choices::spool_id`]). The page never shows a release code: that goes
//! by email to the address given, through the normal reply.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use minijinja::context;

use super::WebState;
use super::choices;
use super::pages::{self, LangQuery, message_page, render};
use crate::store::StoreError;
use crate::store::trace::TraceDocument;

/// Seconds between reloads while documents are being converted.
const REFRESH_SECS: u32 = 2;

/// One document as the page shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Line {
    pub name: String,
    /// `working`, `ready` or `refused`.
    pub state: &'static str,
    pub pages: u32,
    pub reason: String,
}

/// The page's lines from the trace's documents, and whether all are done. Images that mail
/// would skip (inline, signatures) are not listed: an upload has none of its own.
pub fn lines(documents: &[TraceDocument]) -> (Vec<Line>, bool) {
    let lines: Vec<Line> = documents
        .iter()
        .filter(|d| !d.outcome.starts_with("skipped"))
        .map(|d| {
            let (state, reason) = match d.outcome.as_str() {
                "stored" => ("ready", String::new()),
                "printable" => ("working", String::new()),
                other => ("refused", other.strip_prefix("refused: ").unwrap_or(other).to_owned()),
            };
            Line { name: d.name.clone(), state, pages: d.pages, reason }
        })
        .collect();
    let done = lines.iter().all(|l| l.state != "working");
    (lines, done)
}

pub async fn results(State(state): State<WebState>, headers: HeaderMap, Path(id): Path<String>, Query(q): Query<LangQuery>) -> Response {
    let lang = pages::lang_of(&headers, q.lang.as_deref());
    if !choices::is_results_id(&id) {
        return message_page(&state, lang, StatusCode::NOT_FOUND, "not_found_title", "not_found", &[]);
    }
    let spool_id = choices::spool_id(&id);
    let trace = match state.store.trace(&spool_id).await {
        Ok(t) => t,
        Err(StoreError::NotFound) => return message_page(&state, lang, StatusCode::NOT_FOUND, "not_found_title", "not_found", &[]),
        Err(e) => {
            tracing::error!(error = %e, "cannot read an upload's trace");
            return message_page(&state, lang, StatusCode::SERVICE_UNAVAILABLE, "unavailable_title", "unavailable", &[]);
        }
    };
    let (lines, done) = lines(&trace.documents);
    let any_ready = lines.iter().any(|l| l.state == "ready");
    // A first upload from an address the queue has not verified (`verify_new_senders`) is held:
    // the mail asks for a YES first, and the code follows it.
    let held = done && any_ready && matches!(state.store.held_message(&spool_id).await, Ok(Some(m)) if m.held);
    let refresh = if done { None } else { Some(REFRESH_SECS) };
    let lines = minijinja::Value::from(minijinja::value::Serde(&lines));
    let ctx = context! { lines, done, any_ready, held, refresh, self_url => format!("/upload/{id}?lang={}", lang.code()) };
    render(&state, lang, "results.html", StatusCode::OK, "results_title", ctx)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(name: &str, outcome: &str, pages: u32) -> TraceDocument {
        TraceDocument { name: name.into(), kind: "PDF".into(), bytes: 10, outcome: outcome.into(), pages }
    }

    #[test]
    fn the_page_is_done_when_no_document_waits() {
        for (docs, want_states, want_done) in [
            (vec![doc("a.pdf", "printable", 0)], vec!["working"], false),
            (vec![doc("a.pdf", "stored", 3), doc("b.exe", "refused: programs cannot be printed", 0)], vec!["ready", "refused"], true),
            (vec![doc("a.pdf", "stored", 3), doc("b.docx", "printable", 0)], vec!["ready", "working"], false),
            (vec![doc("logo.png", "skipped: inline image", 0), doc("a.pdf", "stored", 1)], vec!["ready"], true),
            (vec![], vec![], true),
        ] {
            let (lines, done) = lines(&docs);
            assert_eq!(lines.iter().map(|l| l.state).collect::<Vec<_>>(), want_states);
            assert_eq!(done, want_done);
        }
        let (lines, _) = lines(&[doc("b.exe", "refused: programs cannot be printed", 0)]);
        assert_eq!(lines[0].reason, "programs cannot be printed");
    }
}
