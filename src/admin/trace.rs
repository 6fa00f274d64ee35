//! The message trace, `/trace`. Searches by sender, Message-ID, queue, day, time since or
//! refusal category (the dashboard's drill-down; filtered in memory: [`search_of`]) are a GET
//! form (nothing secret; the URL can be bookmarked). A search by release code is a POST form that
//! carries the session's CSRF token, and its answer is rendered from the POST: a code never
//! travels in a URL, so it stays out of the browser's history, of proxy and access logs and of
//! any `Referer`. A GET that brings a `code=` looks nothing up (`400`) and never repeats the code.
//! `/trace/{id}` shows one message (each search result links to it): each stage as a verdict and
//! a sentence ([`super::explain`]), the raw facts folded away below. Times are shown in the
//! message's queue's time zone, the day searched in the console's ([`super::zones`]), and the
//! replies' deliveries in words ([`reply_words`]).

use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use minijinja::{Value, context};
use serde::Deserialize;

use super::AdminState;
use super::auth::Admin;
use super::pages::{render, unavailable};
use super::reasons::{self, Category};
use super::{errors, explain, zones};
use crate::config::SpamEngine;
use crate::store::admin::{ReplyAttempts, TraceFilter};
use crate::store::{ReleaseCode, StoreError};

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
    /// From this time on (`2026-11-25T14:00` in the console's zone): the dashboard's links.
    #[serde(default)]
    since: String,
    /// A refusal category's slug ([`Category::as_str`]): the dashboard's drill-down.
    #[serde(default)]
    category: String,
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

/// With a refusal category, the newest this many traces are read and filtered in memory (the
/// category is decided from a trace's texts by [`reasons::category`], not stored in a column),
/// and the newest [`TRACE_LIMIT`] of the category shown.
const CATEGORY_SCAN_LIMIT: i64 = 20_000;

/// The store filter and the refusal category of a GET search; `Err` says in words what is wrong.
fn search_of(q: &TraceQuery, zone: &jiff::tz::TimeZone) -> Result<(TraceFilter, Option<Category>), String> {
    let mut filter = TraceFilter {
        sender: q.sender.trim().to_owned(),
        message_id: q.message_id.trim().to_owned(),
        queue: q.queue.trim().to_owned(),
        limit: TRACE_LIMIT,
        ..TraceFilter::default()
    };
    if !q.date.trim().is_empty() {
        let (since, until) = zones::day(&q.date, zone).ok_or("The date must look like 2026-11-25.")?;
        (filter.since, filter.until) = (Some(since), Some(until));
    }
    if !q.since.trim().is_empty() {
        let since = zones::parse_local(&q.since, zone).ok_or("The time since must look like 2026-11-25T14:00.")?;
        filter.since = Some(filter.since.map_or(since, |s| s.max(since)));
    }
    let category = match q.category.trim() {
        "" => None,
        slug => Some(Category::parse(slug).ok_or("Choose a refusal reason from the list.")?),
    };
    if category.is_some() {
        filter.limit = CATEGORY_SCAN_LIMIT;
    }
    Ok((filter, category))
}

/// `GET /trace`: the search form and, with filters, what they find.
pub async fn trace(State(state): State<AdminState>, admin: Admin, Query(q): Query<TraceQuery>) -> Response {
    if !q.code.trim().is_empty() {
        tracing::warn!(user = %admin.user, "a release code in a /trace URL was not looked up");
        let error = "Release codes are not looked up from a URL (it would keep the code in the browser history): use the release code form. Nothing was searched.";
        return trace_page(&state, &admin, &q, StatusCode::BAD_REQUEST, Some(error.into()), Vec::new(), false).await;
    }
    let searched = [&q.sender, &q.message_id, &q.queue, &q.date, &q.since, &q.category].iter().any(|f| !f.trim().is_empty());
    let zone = zones::console_zone(&state.live.load().config);
    let (filter, category) = match search_of(&q, zone.time_zone()) {
        Ok(found) => found,
        Err(error) => return trace_page(&state, &admin, &q, StatusCode::BAD_REQUEST, Some(error), Vec::new(), searched).await,
    };
    match state.store.search_traces(&filter).await {
        Ok(mut traces) => {
            if let Some(c) = category {
                traces.retain(|t| reasons::category(t) == Some(c));
                traces.truncate(TRACE_LIMIT as usize);
            }
            trace_page(&state, &admin, &q, StatusCode::OK, None, traces, searched).await
        }
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

/// `GET /trace/{id}`: one message's trace.
pub async fn trace_detail(State(state): State<AdminState>, admin: Admin, Path(id): Path<String>) -> Response {
    let trace = match state.store.trace(&id).await {
        Ok(t) => t,
        Err(StoreError::NotFound) => {
            return errors::page(
                &state,
                StatusCode::NOT_FOUND,
                "Message not found",
                "There is no trace of a message with this number: it may have been cleaned up after the trace retention, or the link is wrong.",
            );
        }
        Err(e) => return unavailable(&e),
    };
    let replies = state.store.reply_attempts(&trace.id).await.unwrap_or_default();
    let stages = in_words(&state, &trace, &replies);
    let shown = shown(&state, trace).await;
    render(
        &state,
        "trace_detail.html",
        Some(&admin),
        StatusCode::OK,
        context! { title => "Message trace: one message", t => shown, stages },
    )
}

/// The trace's stages in words ([`explain`]) against the queue's settings now, as the template
/// shows them.
fn in_words(state: &AdminState, t: &crate::store::trace::Trace, replies: &[ReplyAttempts]) -> Vec<Value> {
    let live = state.live.load();
    let config = &live.config;
    let zone = zones::queue_zone(config, &t.queue);
    let spam_filter = match config.scan.spam_engine {
        SpamEngine::Spamassassin => crate::screen::SPAMASSASSIN,
        SpamEngine::Rspamd => crate::screen::RSPAMD,
    };
    let setting = explain::Setting { queue: config.queue_named(&t.queue), spam_filter, zone: &zone };
    explain::stages(t, &setting, replies)
        .into_iter()
        .map(|s| context! { name => s.name, verdict => s.verdict.word(), marker => s.verdict.marker(), sentence => s.sentence })
        .collect()
}

/// A trace as the templates show it: times in its queue's zone, outcome and replies in words.
async fn shown(state: &AdminState, t: crate::store::trace::Trace) -> Value {
    let zone = zones::queue_zone(&state.live.load().config, &t.queue);
    let replies: Vec<String> =
        state.store.reply_attempts(&t.id).await.unwrap_or_default().iter().map(|r| reply_words(r, &|s| zones::when(s, &zone))).collect();
    context! {
        received => zones::when(t.received_at, &zone), replies, outcome_words => outcome_words(&t.outcome),
        ..Value::from(minijinja::value::Serde(&t))
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
    let mut list = Vec::new();
    for t in traces {
        list.push(shown(state, t).await);
    }
    let zone = zones::console_zone(&state.live.load().config).name().to_owned();
    let f = context! { sender => &q.sender, message_id => &q.message_id, queue => &q.queue, date => &q.date, since => &q.since, category => &q.category };
    let categories: Vec<Value> = Category::ALL.iter().map(|c| context! { slug => c.as_str(), words => c.words() }).collect();
    render(
        state,
        "trace.html",
        Some(admin),
        status,
        context! { title => "Message trace", f, categories, traces => list, searched, error, limit => TRACE_LIMIT, zone },
    )
}

/// A message's outcome in words (`tempfail` is a temporary refusal: the sender's server retries).
pub fn outcome_words(outcome: &str) -> String {
    match outcome {
        "tempfail" => "put off (the sending server was asked to try again later)".into(),
        other => other.to_owned(),
    }
}

/// `first`, `second`, … `tenth`, then `11th`.
pub(super) fn ordinal(n: i64) -> String {
    const WORDS: [&str; 10] = ["first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth"];
    match usize::try_from(n) {
        Ok(i @ 1..=10) => WORDS[i - 1].to_owned(),
        _ => match n % 10 {
            1 if n % 100 != 11 => format!("{n}st"),
            2 if n % 100 != 12 => format!("{n}nd"),
            3 if n % 100 != 13 => format!("{n}rd"),
            _ => format!("{n}th"),
        },
    }
}

fn attempts(n: i64) -> String {
    if n == 1 { "1 attempt".to_owned() } else { format!("{n} attempts") }
}

/// A reply's delivery in words. `attempts` counts the tries that did not deliver (a refusal
/// for good is one of them); `when` writes a time.
pub fn reply_words(r: &ReplyAttempts, when: &dyn Fn(i64) -> String) -> String {
    let failed = r.attempts.max(0);
    if let Some(at) = r.sent_at {
        let earlier =
            if failed == 0 { String::new() } else { format!(", after {} that failed (the last: {})", attempts(failed), r.last_error) };
        return format!("Delivered to the mail relay at the {} attempt, {}{earlier}.", ordinal(failed + 1), when(at));
    }
    if let Some(at) = r.refused_at {
        return format!(
            "Refused for good by the mail relay at the {} attempt, {}; it is not tried again. The relay said: {}",
            ordinal(failed.max(1)),
            when(at),
            r.last_error
        );
    }
    if failed == 0 {
        return "Waiting to be sent; not tried yet.".to_owned();
    }
    format!("Not delivered yet: {} failed, and it will be tried again. The last error: {}", attempts(failed), r.last_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replys_delivery_reads_as_a_sentence() {
        let reply = |attempts, sent_at, refused_at, last_error: &str| ReplyAttempts {
            attempts,
            last_error: last_error.to_owned(),
            created_at: 0,
            sent_at,
            refused_at,
        };
        let when = |s: i64| format!("at {s}");
        for (r, expected) in [
            (reply(0, Some(5), None, ""), "Delivered to the mail relay at the first attempt, at 5."),
            (
                reply(2, Some(9), None, "421 busy"),
                "Delivered to the mail relay at the third attempt, at 9, after 2 attempts that failed (the last: 421 busy).",
            ),
            (
                reply(1, Some(9), None, "timed out"),
                "Delivered to the mail relay at the second attempt, at 9, after 1 attempt that failed (the last: timed out).",
            ),
            (
                reply(1, None, Some(7), "550 no such user"),
                "Refused for good by the mail relay at the first attempt, at 7; it is not tried again. The relay said: 550 no such user",
            ),
            (reply(0, None, None, ""), "Waiting to be sent; not tried yet."),
            (
                reply(3, None, None, "connection refused"),
                "Not delivered yet: 3 attempts failed, and it will be tried again. The last error: connection refused",
            ),
        ] {
            let words = reply_words(&r, &when);
            assert_eq!(words, expected);
            assert!(!words.contains("(s)") && !words.contains(" 0 "), "{words}");
        }
        for (n, word) in [(1, "first"), (3, "third"), (10, "tenth"), (11, "11th"), (12, "12th"), (21, "21st"), (22, "22nd"), (113, "113th")]
        {
            assert_eq!(ordinal(n), word);
        }
        assert_eq!(outcome_words("tempfail"), "put off (the sending server was asked to try again later)");
        assert_eq!(outcome_words("refused"), "refused");
    }
}
