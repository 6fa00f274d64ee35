//! The audit page (`GET /audit`): every event of the audit trail, newest first, a page of
//! [`PAGE_SIZE`] at a time: who (the console account, or the station token and address), when,
//! what, and for a change its values before -> after. Console changes are written where they are
//! made ([`super::pages::audit`]); this module only reads and words them.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::{Value, context};
use serde::Deserialize;

use super::AdminState;
use super::auth::Admin;
use super::pages::{fmt_time, render, unavailable};

/// Events per page.
pub const PAGE_SIZE: i64 = 50;
/// The deepest page asked for (a bound on the store's OFFSET, far beyond a year of events).
const MAX_PAGE: i64 = 100_000;

#[derive(Deserialize)]
pub struct AuditQuery {
    /// Text, so that a bad number shows the first page instead of an extractor error.
    page: Option<String>,
}

pub async fn audit_page(State(state): State<AdminState>, admin: Admin, Query(q): Query<AuditQuery>) -> Response {
    let page = q.page.and_then(|p| p.trim().parse::<i64>().ok()).unwrap_or(1).clamp(1, MAX_PAGE);
    let mut events = match state.store.audit_page((page - 1) * PAGE_SIZE, PAGE_SIZE + 1).await {
        Ok(events) => events,
        Err(e) => return unavailable(&e),
    };
    let older = events.len() as i64 > PAGE_SIZE;
    events.truncate(PAGE_SIZE as usize);
    let events: Vec<Value> = events
        .iter()
        .map(|e| {
            let (summary, changes) = detail_lines(&e.detail);
            context! {
                when => fmt_time(e.at), who => e.station.clone().or_else(|| e.peer.clone()).unwrap_or_default(),
                from => e.station.as_ref().and(e.peer.clone()), action => action(&e.kind), kind => &e.kind, summary, changes,
            }
        })
        .collect();
    let (newer, older) = ((page > 1).then_some(page - 1), older.then_some(page + 1));
    render(&state, "audit.html", Some(&admin), StatusCode::OK, context! { title => "Audit trail", events, page, newer, older })
}

/// The words for an event kind; an unknown kind is shown as it is stored.
fn action(kind: &str) -> String {
    match kind {
        "queue_changed" => "Queue settings saved",
        "queue_reset" => "Queue reset to the config file",
        "job_cancelled" => "Job cancelled",
        "desk_job_cancelled" => "Job cancelled at the staff desk",
        "desk_extended" => "Jobs kept longer at the staff desk",
        "desk_code_resent" => "New release code sent from the staff desk",
        "sender_usage_reset" => "A sender's page count for today set to zero",
        "sender_revoked" => "A confirmed sender revoked",
        "admin_login" => "Logged in to the console",
        "admin_account_locked_out" => "Console account locked out",
        "admin_address_locked_out" => "Console address locked out",
        "station_locked_out" => "Release station locked out",
        "address_locked_out" => "Release station address locked out",
        other => other,
    }
    .to_owned()
}

/// A change's detail (`queue bw: saved: spam_reject_score 10 -> 6.5; max_pages 100 -> 50`) as
/// its summary and one line per changed value; other details as they are.
fn detail_lines(detail: &str) -> (String, Vec<String>) {
    match detail.rsplit_once(": ") {
        Some((summary, list)) if list.contains(" -> ") => (summary.to_owned(), list.split("; ").map(str::to_owned).collect()),
        _ => (detail.to_owned(), Vec::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_are_split_into_lines_and_other_details_kept() {
        let (summary, lines) = detail_lines("queue bw: saved: spam_reject_score 10 -> 6.5; max_pages 100 -> 50");
        assert_eq!(summary, "queue bw: saved");
        assert_eq!(lines, ["spam_reject_score 10 -> 6.5", "max_pages 100 -> 50"]);
        let (summary, lines) = detail_lines("job 0123 of site main cancelled");
        assert_eq!((summary.as_str(), lines.len()), ("job 0123 of site main cancelled", 0));
        assert_eq!(action("queue_reset"), "Queue reset to the config file");
        assert_eq!(action("something_new"), "something_new");
    }
}
