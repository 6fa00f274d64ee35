//! The queue settings page (`/queues`): each queue's settings as a form of labelled fields, what
//! differs from the config file, saving ([`save_queue`]) and resetting to the file
//! ([`reset_queue`]).
//!
//! A save is decided by [`super::queue_form::check`] with the config file's own queue rules: a
//! bad value re-renders the page (`400`) with the message at its field and every typed value as
//! typed, and nothing is stored or applied. A good one is stored in the shared store (only the
//! fields that differ from the file), audited with before -> after, and applied on this node at
//! once (the others follow within their polling interval, `crate::live`). This module renders
//! and decides nothing else; the rules are `crate::config`'s.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use minijinja::{Value, context};
use serde::Deserialize;

use super::AdminState;
use super::auth::Admin;
use super::pages::{CsrfForm, audit, fmt_time, render, see_other, unavailable};
use super::queue_form::{self, GENERAL, Problems};
use crate::config::overrides::{changes, field_text};
use crate::config::rules::{MAX_PAGES_LIMIT, SPAM_SCORE_MAX, VERIFIED_DAYS_MAX};
use crate::config::{Config, FieldChange, QueueConfig, QueueOverride};
use crate::live::Live;

#[derive(Deserialize, Default)]
pub struct Notice {
    saved: Option<String>,
    reset: Option<String>,
}

pub async fn queues(State(state): State<AdminState>, admin: Admin, Query(notice): Query<Notice>) -> Response {
    let notice = match (notice.saved, notice.reset) {
        (Some(q), _) => Some(format!("Queue {q} saved; every node applies it within seconds.")),
        (None, Some(q)) => Some(format!("Queue {q} reset to the config file; every node applies the file's values within seconds.")),
        _ => None,
    };
    queues_page(&state, &admin, StatusCode::OK, None, notice)
}

/// A form that was refused: its queue, the values as typed and the problems by field.
struct Refused<'a> {
    queue: &'a str,
    typed: &'a HashMap<String, String>,
    problems: &'a Problems,
}

fn queues_page(state: &AdminState, admin: &Admin, status: StatusCode, refused: Option<Refused<'_>>, notice: Option<String>) -> Response {
    let live = state.live.load();
    let not_applied = live.file_config.apply_overrides(&live.overrides).1;
    let queues: Vec<Value> = live
        .config
        .queue
        .iter()
        .zip(&live.file_config.queue)
        .map(|(q, file)| {
            let refused = refused.as_ref().filter(|r| r.queue == q.name);
            let stored = live.overrides.iter().find(|o| o.queue == q.name);
            let problem = not_applied
                .iter()
                .find(|r| r.queue == q.name)
                .map(|r| r.issues.iter().map(|i| i.problem.clone()).collect::<Vec<_>>().join("; "));
            queue_view(&live, q, file, refused, stored, problem)
        })
        .collect();
    render(state, "queues.html", Some(admin), status, context! { title => "Queues", queues, notice })
}

/// Label, hint and kind of each field, in form order.
fn field_specs() -> [(&'static str, &'static str, String, &'static str); 16] {
    [
        ("address", "Print address", "Patrons mail their documents here, e.g. bw@print.example.org.".into(), "text"),
        ("site", "Release site", "The stations of this site release the queue's jobs.".into(), "select"),
        (
            "spam_tag_score",
            "Spam tag score",
            format!("Mail scoring this or more is marked as spam. Above 0, below the reject score, at most {SPAM_SCORE_MAX}."),
            "decimal",
        ),
        (
            "spam_reject_score",
            "Spam reject score",
            format!("Mail scoring this or more is refused. Above the tag score, at most {SPAM_SCORE_MAX}."),
            "decimal",
        ),
        ("max_pages", "Most pages per document", format!("A whole number from 1 to {MAX_PAGES_LIMIT}."), "numeric"),
        ("retention", "Keep unreleased jobs for", "From 1 hour to 90 days, e.g. 72h, 3d or 1h 30m.".into(), "text"),
        ("color", "Prints in colour", String::new(), "checkbox"),
        (
            "allowed_types",
            "Allowed document types",
            "Separated by commas: the groups pdf, images, office, text, or single types such as docx or png.".into(),
            "text",
        ),
        (
            "allow_senders",
            "Only these senders may print",
            "Separated by commas: addresses (name@example.org), domains (@example.org) or a domain with its subdomains (@*.example.org). Empty: everyone.".into(),
            "text",
        ),
        ("deny_senders", "These senders may never print", "As above; wins over the list of who may print.".into(), "text"),
        ("verify_new_senders", "Ask new senders to confirm their address (answer YES) before anything prints", String::new(), "checkbox"),
        ("verified_sender_days", "A confirmed sender stays confirmed for (days)", format!("A whole number from 1 to {VERIFIED_DAYS_MAX}."), "numeric"),
        ("daily_pages", "Pages per sender per day", "Counted with copies; the count starts again at midnight in the queue's time zone. Empty: no cap.".into(), "numeric"),
        ("daily_color_pages", "Colour pages per sender per day", "Empty: no cap.".into(), "numeric"),
        ("guest_daily_pages", "Pages per day for senders who cannot be verified", "For mail without DMARC pass or aligned SPF or DKIM. Empty: no cap.".into(), "numeric"),
        ("queue_daily_pages", "Pages per day for the whole queue", "All senders together. Empty: no cap.".into(), "numeric"),
    ]
}

fn queue_view(
    live: &Live,
    q: &QueueConfig,
    file: &QueueConfig,
    refused: Option<&Refused<'_>>,
    stored: Option<&QueueOverride>,
    not_applied: Option<String>,
) -> Value {
    let form_id = format!("queue-{}", q.name);
    let differs = changes(file, q);
    let fields: Vec<Value> = field_specs()
        .into_iter()
        .map(|(name, label, hint, kind)| {
            let id = format!("{form_id}-{name}");
            let typed = refused.and_then(|r| r.typed.get(name));
            let value = typed.cloned().unwrap_or_else(|| field_text(q, name));
            let now = if name == "verify_new_senders" { q.verify_new_senders } else { q.color };
            let checked = refused.map_or(now, |r| r.typed.get(name).is_some_and(|v| !v.is_empty()));
            let mut options: Vec<String> = live.config.site.iter().map(|s| s.name.clone()).collect();
            if kind == "select" && !options.contains(&value) {
                options.push(value.clone());
            }
            let error = refused.and_then(|r| r.problems.get(name)).cloned();
            let file_value = differs.iter().find(|c: &&FieldChange| c.field == name).map(|c| c.before.clone());
            let parts = [(!hint.is_empty(), "hint"), (error.is_some(), "error"), (file_value.is_some(), "differs")];
            let describedby: Vec<String> = parts.iter().filter(|(on, _)| *on).map(|(_, part)| format!("{id}-{part}")).collect();
            let describedby = describedby.join(" ");
            context! { name, id, label, hint, kind, value, checked, options, error, file_value, describedby }
        })
        .collect();
    let summary: Vec<Value> = refused
        .map(|r| {
            let label = |f: &str| field_specs().iter().find(|(n, ..)| *n == f).map_or("Queue", |(_, l, ..)| *l);
            let anchor = |f: &str| (f != GENERAL).then(|| format!("{form_id}-{f}"));
            r.problems.iter().map(|(f, p)| context! { label => label(f), anchor => anchor(f), problem => p }).collect()
        })
        .unwrap_or_default();
    let path = format!("/queues/{}", path_segment(&q.name));
    context! {
        name => &q.name, path, form_id, address => &q.address, site => &q.site, fields, summary,
        overridden => stored.is_some(), differs => !differs.is_empty(), not_applied,
        updated_by => stored.map(|o| o.updated_by.clone()), updated_at => stored.map(|o| fmt_time(o.updated_at)),
    }
}

/// `name` as one segment of a URL path: unreserved characters as they are, others `%XX`.
pub(super) fn path_segment(name: &str) -> String {
    name.bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b"-._~".contains(&b) { char::from(b).to_string() } else { format!("%{b:02X}") })
        .collect()
}

/// `queue bw: spam_reject_score 10 -> 6.5; max_pages 100 -> 50`.
fn change_detail(queue: &str, what: &str, changed: &[FieldChange]) -> String {
    if changed.is_empty() {
        return format!("queue {queue}: {what}; no value in effect changed");
    }
    let list: Vec<String> = changed.iter().map(|c| format!("{} {} -> {}", c.field, c.before, c.after)).collect();
    format!("queue {queue}: {what}: {}", list.join("; "))
}

/// The file's queue named `name` and its index.
fn file_queue<'a>(file: &'a Config, name: &str) -> Option<(usize, &'a QueueConfig)> {
    file.queue.iter().enumerate().find(|(_, q)| q.name == name)
}

pub async fn save_queue(
    State(state): State<AdminState>,
    admin: Admin,
    Path(name): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if let Err(r) = admin.check_csrf(form.get("csrf").map_or("", String::as_str)) {
        return r.into_response();
    }
    let live = state.live.load_full();
    let Some((index, file)) = file_queue(&live.file_config, &name) else {
        return (StatusCode::NOT_FOUND, "no such queue\n").into_response();
    };
    let wanted = match queue_form::check(&live.file_config, &live.overrides, index, &form) {
        Ok(wanted) => wanted,
        Err(problems) => {
            let refused = Refused { queue: &name, typed: &form, problems: &problems };
            return queues_page(&state, &admin, StatusCode::BAD_REQUEST, Some(refused), None);
        }
    };
    let change = QueueOverride::between(file, &wanted, &admin.user, state.store.now());
    let stored = live.overrides.iter().find(|o| o.queue == name);
    if stored.map_or(change.is_empty(), |s| s.same_settings(&change)) {
        return see_other(&format!("/queues?saved={name}"));
    }
    let written = if change.is_empty() {
        state.store.delete_queue_override(&name).await.map(drop)
    } else {
        state.store.set_queue_override(&change).await
    };
    if let Err(e) = written {
        return unavailable(&e);
    }
    let detail = change_detail(&name, "saved", &changes(&live.config.queue[index], &wanted));
    audit(&state, &admin.user, "queue_changed", &detail).await;
    // This node at once; the others within their polling interval.
    state.live.rcu(|current| {
        let mut mine: Vec<QueueOverride> = current.overrides.iter().filter(|o| o.queue != name).cloned().collect();
        if !change.is_empty() {
            mine.push(change.clone());
        }
        Arc::new(current.with_overrides(mine))
    });
    see_other(&format!("/queues?saved={name}"))
}

/// `POST /queues/{name}/reset`: removes the queue's console settings, so that the file's values
/// apply again on every node.
pub async fn reset_queue(State(state): State<AdminState>, admin: Admin, Path(name): Path<String>, Form(form): Form<CsrfForm>) -> Response {
    if let Err(r) = admin.check_csrf(&form.csrf) {
        return r.into_response();
    }
    let live = state.live.load_full();
    let Some((index, file)) = file_queue(&live.file_config, &name) else {
        return (StatusCode::NOT_FOUND, "no such queue\n").into_response();
    };
    match state.store.delete_queue_override(&name).await {
        Ok(true) => {
            let detail = change_detail(&name, "reset to the config file", &changes(&live.config.queue[index], file));
            audit(&state, &admin.user, "queue_reset", &detail).await;
        }
        Ok(false) => {}
        Err(e) => return unavailable(&e),
    }
    state.live.rcu(|current| Arc::new(current.with_overrides(current.overrides.iter().filter(|o| o.queue != name).cloned().collect())));
    see_other(&format!("/queues?reset={name}"))
}
