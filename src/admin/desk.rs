//! The staff desk, `/desk`: a patron at the counter says "my code never came" or "I sent the
//! wrong file". Staff look the patron up by their address (or part of it) and a day (a GET form:
//! nothing secret), or by the release code they were sent (a POST form with the CSRF token, as
//! the trace's code search: a code never travels in a URL). Each message found shows what became
//! of it in words ([`fate`]) and its jobs waiting for release; the actions (cancel a job, extend,
//! send a new code) are in [`super::desk_actions`].
//!
//! Reads traces and held messages through the store only; decides nothing about who may open it
//! ([`super::roles`] lists `/desk` as a staff page).

use std::collections::HashMap;

use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use minijinja::{Value, context};
use serde::{Deserialize, Serialize};

use super::auth::Admin;
use super::pages::{render, unavailable};
use super::{AdminState, segment, zones};
use crate::store::admin::TraceFilter;
use crate::store::desk::HeldMessage;
use crate::store::trace::Trace;
use crate::store::{ReleaseCode, SPENT_CODE_KEEP_SECS, SpentReason};

/// Messages listed at most.
const LIMIT: i64 = 30;

/// The GET look-up, and where an action returns to (`message`: one message by its number, used
/// after an action on a message found by its code). `done` names what an action just did.
#[derive(Deserialize, Serialize, Default, Clone)]
pub struct DeskQuery {
    #[serde(default)]
    pub sender: String,
    #[serde(default)]
    pub date: String,
    #[serde(default)]
    pub message: String,
    #[serde(default, skip_serializing)]
    pub done: String,
}

impl DeskQuery {
    /// This look-up as a `/desk?…` path (only the non-empty fields, each percent-encoded), with
    /// `done` when an action just happened. The desk's forms carry it as `back`; an action
    /// parses it back into a [`DeskQuery`] and rebuilds it, so a redirect never leaves `/desk`.
    pub fn path(&self, done: &str) -> String {
        let fields = [("sender", self.sender.as_str()), ("date", &self.date), ("message", &self.message), ("done", done)];
        let query: Vec<String> =
            fields.iter().filter(|(_, v)| !v.trim().is_empty()).map(|(k, v)| format!("{k}={}", segment(v.trim()))).collect();
        if query.is_empty() { "/desk".to_owned() } else { format!("/desk?{}", query.join("&")) }
    }

    /// The look-up an action's `back` field names (anything else is the empty desk).
    pub fn from_back(back: &str) -> Self {
        let query = back.strip_prefix("/desk").unwrap_or_default().trim_start_matches('?');
        let mut q = Self::default();
        for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
            match k.as_ref() {
                "sender" => q.sender = v.into_owned(),
                "date" => q.date = v.into_owned(),
                "message" => q.message = v.into_owned(),
                _ => {}
            }
        }
        q
    }
}

/// What became of a message, as the desk says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// Jobs wait for release (some may have been printed or cancelled already).
    Waiting,
    /// Held until the sender confirms the address (answers YES): nothing releases it yet.
    AwaitingConfirmation,
    /// Every job was printed.
    Printed,
    /// Its retention ended before (all of) it was printed.
    Expired,
    /// Accepted and stored, and gone without being printed or expiring: cancelled by the
    /// patron or at a desk.
    Cancelled,
    /// Gone longer than the store remembers how (30 days).
    Forgotten,
    /// Accepted, but nothing in it could be printed (every document refused).
    NothingPrintable,
    /// Refused at the door; the sender's server told the patron why.
    Refused,
    /// Put off with a temporary error; the sender's server tries again.
    PutOff,
    /// A reply command (CANCEL, EXTEND, RESEND) or other handling without jobs.
    Other,
}

/// What became of a traced message: its trace's outcome and stored documents, whether the store
/// still holds it (with live jobs), how its code ended if it is gone, and its age.
pub fn fate(t: &Trace, held: Option<&HeldMessage>, spent: Option<SpentReason>, now: i64) -> Fate {
    match t.outcome.as_str() {
        "refused" => return Fate::Refused,
        "tempfail" => return Fate::PutOff,
        "accepted" => {}
        _ => return Fate::Other,
    }
    if let Some(m) = held.filter(|m| !m.jobs.is_empty()) {
        return if m.held { Fate::AwaitingConfirmation } else { Fate::Waiting };
    }
    match spent {
        Some(SpentReason::Printed) => Fate::Printed,
        Some(SpentReason::Expired) => Fate::Expired,
        None if !t.documents.iter().any(|d| d.outcome == "stored") => Fate::NothingPrintable,
        None if held.is_some() => Fate::Expired, // held, no live job: past its expiry, not purged yet
        None if now - t.received_at > SPENT_CODE_KEEP_SECS => Fate::Forgotten,
        None => Fate::Cancelled,
    }
}

impl Fate {
    pub fn words(self) -> &'static str {
        match self {
            Self::Waiting => "Waiting to be printed",
            Self::AwaitingConfirmation => "Waiting for the sender to confirm the address (answer YES to the question mailed to them)",
            Self::Printed => "Printed",
            Self::Expired => "Expired before it was printed",
            Self::Cancelled => "Cancelled (by the patron's reply or at a desk)",
            Self::Forgotten => "No longer held (printed, cancelled or expired more than 30 days ago)",
            Self::NothingPrintable => "Received, but nothing in it could be printed",
            Self::Refused => "Refused when it arrived",
            Self::PutOff => "Put off: the sending server was asked to try again later",
            Self::Other => "Handled without print jobs",
        }
    }
}

/// What an action just did, in words (the `done` of the query).
fn done_words(done: &str) -> Option<&'static str> {
    Some(match done {
        "cancelled" => "The job was cancelled: it can no longer be printed.",
        "extended" => "The jobs are kept longer.",
        "not-extended" => "Nothing was extended: the jobs were extended once before, or are gone.",
        "resent" => "A new release code is on its way to the patron; the old code no longer works.",
        "not-resent" => "No new code was sent: nothing of this message waits to be printed any more.",
        "no-address" => {
            "No new code was sent: no reply may go to this sender (the queue's reply policy), and a new code would only stop the old one."
        }
        _ => return None,
    })
}

/// The refusal's words: the SMTP reply without its codes (`550 5.7.1 Spam` is `Spam`).
pub(super) fn reason_words(reply: &str) -> String {
    let mut words = reply.trim();
    for _ in 0..2 {
        if let Some((first, rest)) = words.split_once(' ')
            && first.bytes().all(|b| b.is_ascii_digit() || b == b'.' || b == b'-')
        {
            words = rest.trim_start();
        }
    }
    words.to_owned()
}

/// `POST /desk` (code look-up) form.
#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    code: String,
}

/// `GET /desk`: the look-up forms and, with a search, the patron's messages.
pub async fn desk(State(state): State<AdminState>, admin: Admin, Query(q): Query<DeskQuery>) -> Response {
    let mut filter = TraceFilter { sender: q.sender.trim().to_owned(), limit: LIMIT, ..TraceFilter::default() };
    if !q.date.trim().is_empty() {
        let zone = zones::console_zone(&state.live.load().config);
        let Some((since, until)) = zones::day(&q.date, zone.time_zone()) else {
            return page(&state, &admin, &q, StatusCode::BAD_REQUEST, Some("The day must look like 2026-11-25."), None).await;
        };
        (filter.since, filter.until) = (Some(since), Some(until));
    }
    let traces = if !q.message.trim().is_empty() {
        match state.store.trace(q.message.trim()).await {
            Ok(t) => Some(vec![t]),
            Err(crate::store::StoreError::NotFound) => Some(Vec::new()),
            Err(e) => return unavailable(&e),
        }
    } else if filter.sender.is_empty() && filter.since.is_none() {
        None
    } else if filter.sender.len() < 3 && filter.since.is_none() {
        let error = "Type at least 3 characters of the address, or choose a day.";
        return page(&state, &admin, &q, StatusCode::BAD_REQUEST, Some(error), None).await;
    } else {
        match state.store.search_traces(&filter).await {
            Ok(t) => Some(t),
            Err(e) => return unavailable(&e),
        }
    };
    page(&state, &admin, &q, StatusCode::OK, None, traces).await
}

/// `POST /desk`: the look-up by release code (hashed before the look-up; never shown back).
pub async fn desk_by_code(State(state): State<AdminState>, admin: Admin, Form(form): Form<CodeForm>) -> Response {
    if let Err(r) = admin.check_csrf(&form.csrf) {
        return r.into_response();
    }
    let q = DeskQuery::default();
    let Some(code) = ReleaseCode::parse(&form.code) else {
        return page(&state, &admin, &q, StatusCode::BAD_REQUEST, Some("A release code is 4 to 18 digits."), None).await;
    };
    let filter = TraceFilter { code_hash: Some(state.store.code_hash_of(&code)), limit: LIMIT, ..TraceFilter::default() };
    match state.store.search_traces(&filter).await {
        Ok(traces) => page(&state, &admin, &q, StatusCode::OK, None, Some(traces)).await,
        Err(e) => unavailable(&e),
    }
}

async fn page(
    state: &AdminState,
    admin: &Admin,
    q: &DeskQuery,
    status: StatusCode,
    error: Option<&str>,
    traces: Option<Vec<Trace>>,
) -> Response {
    let searched = traces.is_some();
    let traces = traces.unwrap_or_default();
    let ids: Vec<String> = traces.iter().map(|t| t.id.clone()).collect();
    let (held, spent) = match (state.store.held_messages(&ids).await, state.store.spent_by_trace(&ids).await) {
        (Ok(h), Ok(s)) => (h, s),
        (Err(e), _) | (_, Err(e)) => return unavailable(&e),
    };
    let messages: Vec<Value> = traces.iter().map(|t| shown(state, q, t, &held, &spent)).collect();
    let zone = zones::console_zone(&state.live.load().config).name().to_owned();
    let ctx = context! {
        title => "Staff desk", f => q.clone().into_value(), searched, messages, error, zone,
        done => done_words(&q.done), limit => LIMIT,
    };
    render(state, "desk.html", Some(admin), status, ctx)
}

impl DeskQuery {
    fn into_value(self) -> Value {
        context! { sender => self.sender, date => self.date, message => self.message }
    }
}

/// One message as the desk template shows it.
fn shown(state: &AdminState, q: &DeskQuery, t: &Trace, held: &HashMap<String, HeldMessage>, spent: &HashMap<String, SpentReason>) -> Value {
    let live = state.live.load();
    let zone = zones::queue_zone(&live.config, &t.queue);
    let message = held.get(&t.id);
    let fate = fate(t, message, spent.get(&t.id).copied(), state.store.now());
    let extension = live.config.queue_named(&t.queue).map(|queue| crate::config::Language::En.duration(queue.extension));
    // Actions on a message found by its code come back to that one message, not to the code.
    let back =
        if q.sender.is_empty() && q.date.is_empty() { DeskQuery { message: t.id.clone(), ..DeskQuery::default() } } else { q.clone() };
    let jobs: Vec<Value> = message
        .map(|m| {
            m.jobs
                .iter()
                .map(|j| context! { expires => zones::when(j.expires_at, &zone), ..Value::from(minijinja::value::Serde(j)) })
                .collect()
        })
        .unwrap_or_default();
    context! {
        id => t.id.clone(), received => zones::when(t.received_at, &zone), from => if t.header_from.is_empty() { t.mail_from.clone() } else { t.header_from.clone() },
        queue => t.queue.clone(), fate => fate.words(), waiting => fate == Fate::Waiting, confirming => fate == Fate::AwaitingConfirmation, refused => matches!(fate, Fate::Refused | Fate::PutOff),
        reason => reason_words(&t.reply), jobs, extension,
        extended => message.is_some_and(|m| m.extended), expires => message.map(|m| zones::when(m.expires_at, &zone)),
        reply_to => message.and_then(|m| m.reply_rcpt.clone()),
        documents => t.documents.iter().map(|d| context! { name => d.name.clone(), outcome => d.outcome.clone(), pages => d.pages }).collect::<Vec<_>>(),
        back => back.path(""),
    }
}

#[cfg(test)]
#[path = "desk_tests.rs"]
mod tests;
