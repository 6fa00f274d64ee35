//! The message trace, `/trace`. Searches by sender, Message-ID, queue or day are a GET form
//! (nothing secret; the URL can be bookmarked). A search by release code is a POST form that
//! carries the session's CSRF token, and its answer is rendered from the POST: a code never
//! travels in a URL, so it stays out of the browser's history, of proxy and access logs and of
//! any `Referer`. A GET that brings a `code=` looks nothing up (`400`) and never repeats the code.

use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use minijinja::{Value, context};
use serde::Deserialize;

use super::AdminState;
use super::auth::Admin;
use super::pages::{fmt_time, render, unavailable};
use crate::store::ReleaseCode;
use crate::store::admin::TraceFilter;

/// The GET search's filters.
#[derive(Deserialize, Default)]
pub struct TraceQuery {
    #[serde(default)]
    sender: String,
    #[serde(default)]
    message_id: String,
    #[serde(default)]
    queue: String,
    #[serde(default)]
    date: String,
    /// Only to notice a code in a URL (an old bookmark, a hand-made link): never looked up.
    #[serde(default)]
    code: String,
}

/// The POST look-up by release code.
#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    code: String,
}

const TRACE_LIMIT: i64 = 50;

/// `GET /trace`: the search form and, with filters, what they find.
pub async fn trace(State(state): State<AdminState>, admin: Admin, Query(q): Query<TraceQuery>) -> Response {
    if !q.code.trim().is_empty() {
        tracing::warn!(user = %admin.user, "a release code in a /trace URL was not looked up");
        let error = "Release codes are not looked up from a URL (it would keep the code in the browser history): use the release code form. Nothing was searched.";
        return trace_page(&state, &admin, &q, StatusCode::BAD_REQUEST, Some(error.into()), Vec::new(), false).await;
    }
    let searched = !(q.sender.is_empty() && q.message_id.is_empty() && q.queue.is_empty() && q.date.is_empty());
    let mut filter = TraceFilter {
        sender: q.sender.trim().to_owned(),
        message_id: q.message_id.trim().to_owned(),
        queue: q.queue.trim().to_owned(),
        limit: TRACE_LIMIT,
        ..TraceFilter::default()
    };
    if !q.date.trim().is_empty() {
        match q.date.trim().parse::<jiff::civil::Date>().ok().and_then(|d| d.in_tz("UTC").ok()) {
            Some(day) => {
                filter.since = Some(day.timestamp().as_second());
                filter.until = Some(day.timestamp().as_second() + 86_400);
            }
            None => {
                return trace_page(
                    &state,
                    &admin,
                    &q,
                    StatusCode::BAD_REQUEST,
                    Some("The date must look like 2026-11-25.".into()),
                    Vec::new(),
                    searched,
                )
                .await;
            }
        }
    }
    match state.store.search_traces(&filter).await {
        Ok(traces) => trace_page(&state, &admin, &q, StatusCode::OK, None, traces, searched).await,
        Err(e) => unavailable(&e),
    }
}

/// `POST /trace`: the look-up by release code (hashed before the look-up, never stored, logged
/// or shown back).
pub async fn trace_by_code(State(state): State<AdminState>, admin: Admin, Form(form): Form<CodeForm>) -> Response {
    if let Err(r) = admin.check_csrf(&form.csrf) {
        return r.into_response();
    }
    let q = TraceQuery::default();
    let Some(code) = ReleaseCode::parse(&form.code) else {
        return trace_page(
            &state,
            &admin,
            &q,
            StatusCode::BAD_REQUEST,
            Some("A release code is 4 to 18 digits.".into()),
            Vec::new(),
            false,
        )
        .await;
    };
    let filter = TraceFilter { code_hash: Some(state.store.code_hash_of(&code)), limit: TRACE_LIMIT, ..TraceFilter::default() };
    match state.store.search_traces(&filter).await {
        Ok(traces) => trace_page(&state, &admin, &q, StatusCode::OK, None, traces, true).await,
        Err(e) => unavailable(&e),
    }
}

async fn trace_page(
    state: &AdminState,
    admin: &Admin,
    q: &TraceQuery,
    status: StatusCode,
    error: Option<String>,
    traces: Vec<crate::store::trace::Trace>,
    searched: bool,
) -> Response {
    let mut shown = Vec::new();
    for t in traces {
        let replies = state.store.reply_attempts(&t.id).await.unwrap_or_default();
        shown.push(context! {
            received => fmt_time(t.received_at), replies => Value::from(minijinja::value::Serde(&replies)), ..Value::from(minijinja::value::Serde(&t))
        });
    }
    let f = context! { sender => &q.sender, message_id => &q.message_id, queue => &q.queue, date => &q.date };
    render(
        state,
        "trace.html",
        Some(admin),
        status,
        context! { title => "Message trace", f, traces => shown, searched, error, limit => TRACE_LIMIT },
    )
}
