//! The dashboard, `/`: messages per hour stacked by outcome (24 hours), refusals by category
//! with a link to their messages, pages stored per day (14 days), jobs waiting per queue and
//! the outbox backlog, and the IMAP mailboxes this node reads (`crate::mailbox::status`). The
//! counting and the chart geometry are [`super::charts`]' and [`super::reasons`]' pure
//! functions; this handler reads the store and names things in words. Every number drawn is
//! also written: each chart is an `img` with a title and a description, followed by its table.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::{Value, context};

use super::auth::Admin;
use super::charts::{self, Outcomes};
use super::pages::{render, unavailable};
use super::reasons::{self, Category};
use super::{AdminState, zones};
use crate::config::Zone;
use crate::store::admin::TraceFilter;
use crate::store::trace::Trace;

/// Days in the pages chart.
const DAYS: i64 = 14;
/// At most this many traces are read for the charts (about two weeks of a busy library).
const TRACE_SCAN_LIMIT: i64 = 200_000;

pub async fn dashboard(State(state): State<AdminState>, admin: Admin) -> Response {
    let now = state.store.now();
    let zone = zones::console_zone(&state.live.load().config);
    let days = charts::last_days(now, zone.time_zone(), DAYS);
    let first_hour = charts::first_hour(now);
    let since = days.first().map_or(first_hour, |d| d.1).min(first_hour);
    let filter = TraceFilter { since: Some(since), limit: TRACE_SCAN_LIMIT, ..TraceFilter::default() };
    let traces = match state.store.search_traces(&filter).await {
        Ok(t) => t,
        Err(e) => return unavailable(&e),
    };
    let (per_queue, backlog) = match (state.store.waiting_jobs_per_queue().await, state.store.outbox_backlog().await) {
        (Ok(q), Ok(b)) => (q, b),
        (Err(e), _) | (_, Err(e)) => return unavailable(&e),
    };
    let recent: Vec<&Trace> = traces.iter().filter(|t| t.received_at >= first_hour).collect();
    let pages: u64 = recent.iter().map(|t| stored_pages(t)).sum();
    let waiting: i64 = per_queue.iter().map(|(_, n)| n).sum();
    let most_waiting = per_queue.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1) as f64;
    let queues: Vec<Value> =
        per_queue.iter().map(|(q, n)| context! { queue => q, count => n, percent => *n as f64 * 100.0 / most_waiting }).collect();
    let ctx = context! {
        title => "Dashboard", zone => zone.name(), pages, waiting, queues, outbox => Value::from(minijinja::value::Serde(backlog)),
        hours => hours_view(&recent, now, &zone), reasons => reasons_view(&recent, first_hour, &zone),
        days => days_view(&traces, &days), mailboxes => Value::from(minijinja::value::Serde(crate::mailbox::status::snapshot())),
    };
    render(&state, "dashboard.html", Some(&admin), StatusCode::OK, ctx)
}

/// The pages of a trace's documents that were stored (ready to print).
fn stored_pages(t: &Trace) -> u64 {
    t.documents.iter().filter(|d| d.outcome == "stored").map(|d| u64::from(d.pages)).sum()
}

/// The hours chart, its description and its table.
fn hours_view(recent: &[&Trace], now: i64, zone: &Zone) -> Value {
    let messages: Vec<(i64, &str)> = recent.iter().map(|t| (t.received_at, t.outcome.as_str())).collect();
    let hours = charts::per_hour(&messages, now);
    let label = |h: i64| zones::hour(h, zone);
    let chart = charts::hours_chart(&hours, &|h| zones::hour(h, zone).rsplit(' ').next().unwrap_or_default().to_owned());
    let mut total = Outcomes::default();
    for (_, c) in &hours {
        (total.accepted, total.refused, total.put_off) =
            (total.accepted + c.accepted, total.refused + c.refused, total.put_off + c.put_off);
    }
    let busiest = hours.iter().rev().max_by_key(|(_, c)| c.total()).filter(|(_, c)| c.total() > 0);
    let (from, to) = (hours.first().map_or(0, |h| h.0), hours.last().map_or(0, |h| h.0));
    let desc = format!(
        "Messages per hour from {} to {} ({}), stacked: {} accepted, {} refused, {} put off in all.{}",
        label(from),
        label(to),
        zone.name(),
        total.accepted,
        total.refused,
        total.put_off,
        busiest.map(|(h, c)| format!(" The busiest hour: {}, {} messages.", label(*h), c.total())).unwrap_or_default()
    );
    let rows: Vec<Value> =
        hours.iter().map(|(h, c)| context! { hour => label(*h), total => c.total(), ..Value::from(minijinja::value::Serde(c)) }).collect();
    context! { chart => Value::from(minijinja::value::Serde(&chart)), desc, rows, total => Value::from(minijinja::value::Serde(total)) }
}

/// Refusals of the last 24 hours by category (every category, in [`Category::ALL`]'s order),
/// each with the link to its messages.
fn reasons_view(recent: &[&Trace], first_hour: i64, zone: &Zone) -> Value {
    let mut counts = [0usize; Category::ALL.len()];
    for c in recent.iter().filter_map(|t| reasons::category(t)) {
        counts[Category::ALL.iter().position(|x| *x == c).unwrap_or(Category::ALL.len() - 1)] += 1;
    }
    let most = counts.iter().copied().max().unwrap_or(0).max(1) as f64;
    let since = zones::local_minute(first_hour, zone);
    let rows: Vec<Value> = Category::ALL
        .iter()
        .zip(counts)
        .map(|(c, n)| {
            let link = format!("/trace?category={}&since={since}", c.as_str());
            context! { slug => c.as_str(), words => c.words(), count => n, link, percent => n as f64 * 100.0 / most }
        })
        .collect();
    context! { rows, total => counts.iter().sum::<usize>() }
}

/// Pages stored per day, by the day their message arrived.
fn days_view(traces: &[Trace], days: &[(jiff::civil::Date, i64, i64)]) -> Value {
    let pages: Vec<(i64, u64)> = traces.iter().map(|t| (t.received_at, stored_pages(t))).filter(|(_, p)| *p > 0).collect();
    let sums = charts::per_day(&pages, days);
    let label = |d: &jiff::civil::Date| d.strftime("%a %-d %b").to_string();
    let values: Vec<Vec<usize>> = sums.iter().map(|n| vec![usize::try_from(*n).unwrap_or(usize::MAX)]).collect();
    let labels: Vec<String> = days.iter().map(|(d, ..)| d.strftime("%-d %b").to_string()).collect();
    let chart = charts::columns(&values, &labels, &["pages"], 3);
    let total: u64 = sums.iter().sum();
    let best = days.iter().zip(&sums).rev().max_by_key(|(_, n)| **n).filter(|(_, n)| **n > 0);
    let desc = format!(
        "Pages stored per day from {} to {}: {total} in all.{}",
        days.first().map(|d| label(&d.0)).unwrap_or_default(),
        days.last().map(|d| label(&d.0)).unwrap_or_default(),
        best.map(|(d, n)| format!(" The most on {}: {n}.", label(&d.0))).unwrap_or_default()
    );
    let rows: Vec<Value> = days.iter().zip(&sums).map(|(d, n)| context! { day => label(&d.0), pages => n }).collect();
    context! { chart => Value::from(minijinja::value::Serde(&chart)), desc, rows, total }
}
