//! The console's pages (the dashboard is [`super::dashboard`], the queue settings [`super::queues`], the audit trail
//! [`super::audit`]). Each GET renders a template; each POST checks the session's CSRF token
//! first, changes state through the store, writes an audit event and redirects (303).

use std::collections::HashMap;

use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use minijinja::{Value, context};
use serde::Deserialize;

use super::auth::Admin;
use super::{AdminState, errors, zones};
use crate::store::StoreError;
use crate::store::admin::TraceFilter;

/// Renders `name` with `ctx`, plus the logged-in user, CSRF token, the template's name (the
/// menu marks the page it is on), the role and the menu entries the role may open (`may_open`:
/// [`super::roles::nav_allowed`]).
pub(super) fn render(state: &AdminState, name: &str, admin: Option<&Admin>, status: StatusCode, ctx: Value) -> Response {
    let base = context! { user => admin.map(|a| a.user.clone()), csrf => admin.map(|a| a.csrf.clone()), page => name };
    let merged = context! { ..base, ..super::roles::nav_context(admin.map(|a| a.role)), ..ctx };
    match state.templates.get_template(name).and_then(|t| t.render(merged)) {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(template = name, error = %e, "admin template failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "template error\n").into_response()
        }
    }
}

pub(super) fn unavailable(e: &StoreError) -> Response {
    tracing::error!(error = %e, "admin console: store unavailable");
    (StatusCode::SERVICE_UNAVAILABLE, "the store is unavailable; try again later\n").into_response()
}

/// `2026-11-25 14:05 UTC`.
pub fn fmt_time(secs: i64) -> String {
    jiff::Timestamp::from_second(secs).map(|t| t.strftime("%Y-%m-%d %H:%M UTC").to_string()).unwrap_or_else(|_| secs.to_string())
}

pub(super) fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

pub(super) async fn audit(state: &AdminState, admin: &str, kind: &str, detail: &str) {
    tracing::info!(user = admin, kind, "{detail}");
    if let Err(e) = state.store.audit(kind, Some(admin), None, detail).await {
        tracing::error!(error = %e, "cannot write the admin audit event");
    }
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    pub(super) csrf: String,
}

// ---- threshold tuning --------------------------------------------------------------------

#[derive(Deserialize)]
pub struct TuningQuery {
    queue: Option<String>,
    days: Option<u32>,
    tag: Option<String>,
    reject: Option<String>,
    /// `confirm=1`: show the proposed lines as a change to confirm (the form that applies
    /// them posts to the queue's own form, `/queues/{name}`, with the same validation).
    #[serde(default)]
    confirm: Option<String>,
}

fn class(score: f64, tag: f64, reject: f64) -> &'static str {
    if score >= reject {
        "refused"
    } else if score >= tag {
        "tagged"
    } else {
        "pass"
    }
}

/// Histogram bins of one spam point from -10 to 30 (with open ends), only the used range.
const BIN_MIN: i64 = -10;
const BIN_MAX: i64 = 30;

pub async fn tuning(State(state): State<AdminState>, admin: Admin, Query(q): Query<TuningQuery>) -> Response {
    let live = state.live.load_full();
    let queue_names: Vec<String> = live.config.queue.iter().map(|q| q.name.clone()).collect();
    let found = match &q.queue {
        Some(name) => live.config.queue.iter().find(|c| &c.name == name),
        None => live.config.queue.first(),
    };
    let Some(queue) = found else {
        return errors::page(
            &state,
            StatusCode::NOT_FOUND,
            "Queue not found",
            "There is no queue of this name. Choose one from the Threshold tuning page.",
        );
    };
    let days = q.days.unwrap_or(7).clamp(1, 365);
    let parse = |v: &Option<String>, default: f64| {
        v.as_deref().and_then(|s| s.trim().parse::<f64>().ok()).filter(|v| v.is_finite()).unwrap_or(default)
    };
    let (tag, reject) = (parse(&q.tag, queue.spam_tag_score), parse(&q.reject, queue.spam_reject_score));
    let since = state.store.now() - i64::from(days) * 86_400;
    let scores = match state.store.spam_scores(&queue.name, since).await {
        Ok(s) => s,
        Err(e) => return unavailable(&e),
    };
    let count = |t: f64, r: f64| {
        let mut c: HashMap<&str, usize> = HashMap::new();
        for (s, _) in &scores {
            *c.entry(class(*s, t, r)).or_default() += 1;
        }
        context! { pass => c.get("pass").copied().unwrap_or(0), tagged => c.get("tagged").copied().unwrap_or(0), refused => c.get("refused").copied().unwrap_or(0) }
    };
    let now = count(queue.spam_tag_score, queue.spam_reject_score);
    let whatif = count(tag, reject);
    let bin_of = |s: f64| (s.floor() as i64).clamp(BIN_MIN, BIN_MAX);
    let mut counts: HashMap<i64, usize> = HashMap::new();
    for (s, _) in &scores {
        *counts.entry(bin_of(*s)).or_default() += 1;
    }
    let lines = [tag, reject, queue.spam_tag_score, queue.spam_reject_score].map(bin_of);
    let lo = scores.iter().map(|(s, _)| bin_of(*s)).chain(lines).min().unwrap_or(0).min(0);
    let hi = scores.iter().map(|(s, _)| bin_of(*s)).chain(lines).max().unwrap_or(0);
    let most = counts.values().copied().max().unwrap_or(1).max(1);
    let bins: Vec<Value> = (lo..=hi)
        .map(|b| {
            let label = match b {
                BIN_MIN => format!("< {}", BIN_MIN + 1),
                BIN_MAX => format!("≥ {BIN_MAX}"),
                _ => format!("{b} to {}", b + 1),
            };
            let within = |line: f64| bin_of(line) == b;
            context! {
                label, count => counts.get(&b).copied().unwrap_or(0),
                tag_line => within(queue.spam_tag_score), reject_line => within(queue.spam_reject_score),
                new_tag_line => within(tag) && tag != queue.spam_tag_score, new_reject_line => within(reject) && reject != queue.spam_reject_score,
                refused => (b as f64) >= reject, tagged => (b as f64) >= tag,
            }
        })
        .collect();
    // Messages whose outcome the proposed lines change: those between old and new lines.
    let (lo_line, hi_line) = (
        tag.min(queue.spam_tag_score).min(reject.min(queue.spam_reject_score)),
        tag.max(queue.spam_tag_score).max(reject.max(queue.spam_reject_score)),
    );
    let filter = TraceFilter {
        queue: queue.name.clone(),
        since: Some(since),
        score_min: Some(lo_line),
        score_max: Some(hi_line),
        limit: 500,
        ..TraceFilter::default()
    };
    let changes: Vec<Value> = match state.store.search_traces(&filter).await {
        Ok(traces) => traces
            .into_iter()
            .filter_map(|t| {
                let s = t.spam_score?;
                let (before, after) = (class(s, queue.spam_tag_score, queue.spam_reject_score), class(s, tag, reject));
                (before != after).then(|| context! { received => zones::when(t.received_at, &queue.timezone), from => t.header_from, message_id => t.message_id, score => s, now => before, would => after })
            })
            .take(20)
            .collect(),
        Err(e) => return unavailable(&e),
    };
    let scale = 100.0 / most as f64;
    render(
        &state,
        "tuning.html",
        Some(&admin),
        StatusCode::OK,
        context! {
            title => "Threshold tuning", queue => queue.name.clone(), queue_names, days, tag, reject,
            current_tag => queue.spam_tag_score, current_reject => queue.spam_reject_score,
            total => scores.len(), now, whatif, bins, changes, scale,
            differs => tag != queue.spam_tag_score || reject != queue.spam_reject_score,
            confirm => q.confirm.is_some_and(|c| c == "1"), color => queue.color,
            queue_path => super::queues::path_segment(&queue.name),
        },
    )
}

// ---- jobs --------------------------------------------------------------------------------

pub async fn jobs(State(state): State<AdminState>, admin: Admin) -> Response {
    match state.store.pending_jobs(1000).await {
        Ok(jobs) => {
            let config = state.live.load().config.clone();
            let jobs: Vec<Value> = jobs
                .iter()
                .map(|j| {
                    let zone = zones::queue_zone(&config, &j.queue);
                    let (created, expires) = (zones::when(j.created_at, &zone), zones::when(j.expires_at, &zone));
                    context! { created, expires, ..Value::from(minijinja::value::Serde(j)) }
                })
                .collect();
            render(&state, "jobs.html", Some(&admin), StatusCode::OK, context! { title => "Jobs waiting for release", jobs })
        }
        Err(e) => unavailable(&e),
    }
}

/// The cancel form of the jobs page: the first POST asks (a page naming the job), the second,
/// with `confirm=yes`, destroys the job (row and sealed blob) and audits it.
#[derive(Deserialize)]
pub struct CancelForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    confirm: String,
}

pub async fn cancel_job(State(state): State<AdminState>, admin: Admin, Path(id): Path<String>, Form(form): Form<CancelForm>) -> Response {
    if let Err(r) = admin.check_csrf(&form.csrf) {
        return r.into_response();
    }
    let gone = || {
        let why = "There is no job with this number waiting: it may have been printed, cancelled or expired meanwhile.";
        errors::page(&state, StatusCode::NOT_FOUND, "Job not found", why)
    };
    if form.confirm != "yes" {
        let job = match state.store.pending_jobs(100_000).await {
            Ok(jobs) => jobs.into_iter().find(|j| j.id == id),
            Err(e) => return unavailable(&e),
        };
        let Some(job) = job else { return gone() };
        let zone = zones::queue_zone(&state.live.load().config, &job.queue);
        let (created, expires) = (zones::when(job.created_at, &zone), zones::when(job.expires_at, &zone));
        let ctx =
            context! { title => format!("Cancel {}?", job.filename), job => Value::from(minijinja::value::Serde(&job)), created, expires };
        return render(&state, "cancel_job.html", Some(&admin), StatusCode::OK, ctx);
    }
    let site = match state.store.job_site(&id).await {
        Ok(s) => s,
        Err(StoreError::NotFound) => return gone(),
        Err(e) => return unavailable(&e),
    };
    match state.store.cancel_job(&id, &site).await {
        Ok(()) | Err(StoreError::NotFound) => {}
        Err(e) => return unavailable(&e),
    }
    audit(&state, &admin.user, "job_cancelled", &format!("job {id} of site {site} cancelled")).await;
    see_other("/jobs")
}
