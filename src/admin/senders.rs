//! The senders page, `/senders`: one sender's use of a queue's daily page caps today (and a
//! reset of it), whether the sender confirmed the address (`verify_new_senders`), and the
//! queue's confirmed senders with a revoke each. The lists and caps themselves are queue
//! settings ([`super::queues`]). Staff and admins: a patron at the desk asks for more pages.
//!
//! Reads and changes only through the store; every POST carries the CSRF token and is audited.

use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use minijinja::{Value, context};
use serde::Deserialize;

use super::auth::Admin;
use super::pages::{audit, render, see_other, unavailable};
use super::{AdminState, segment, zones};
use crate::config::QueueConfig;

/// Confirmed senders listed at most.
const LIMIT: i64 = 100;

#[derive(Deserialize, Default)]
pub struct SendersQuery {
    #[serde(default)]
    queue: String,
    #[serde(default)]
    sender: String,
    #[serde(default)]
    done: String,
}

#[derive(Deserialize)]
pub struct SenderForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    queue: String,
    #[serde(default)]
    sender: String,
}

fn done_words(done: &str) -> Option<&'static str> {
    Some(match done {
        "reset" => "Today's count of this sender was set back to zero.",
        "revoked" => "The sender is no longer confirmed: their next mail asks again.",
        "nothing" => "Nothing to change.",
        _ => return None,
    })
}

/// `/senders?queue=Q&sender=S&done=D`.
fn path(queue: &str, sender: &str, done: &str) -> String {
    format!("/senders?queue={}&sender={}&done={done}", segment(queue), segment(sender))
}

/// `GET /senders`.
pub async fn senders(State(state): State<AdminState>, admin: Admin, Query(q): Query<SendersQuery>) -> Response {
    let live = state.live.load();
    let queues: Vec<String> = live.config.queue.iter().map(|q| q.name.clone()).collect();
    let Some(queue) = live.config.queue_named(&q.queue).or_else(|| live.config.queue.first()) else {
        return render(&state, "senders.html", Some(&admin), StatusCode::OK, context! { title => "Senders", queues });
    };
    let sender = q.sender.trim().to_ascii_lowercase();
    let now = state.store.now();
    let (day, _) = crate::pipeline::local_day(now, queue.timezone.time_zone());
    let lookup = if sender.is_empty() { None } else { Some(lookup(&state, queue, &sender, &day, now).await) };
    let lookup = match lookup.transpose() {
        Ok(l) => l,
        Err(e) => return unavailable(&e),
    };
    let verified = match state.store.verified_senders(&queue.name, LIMIT).await {
        Ok(v) => v,
        Err(e) => return unavailable(&e),
    };
    let zone = zones::queue_zone(&live.config, &queue.name);
    let verified: Vec<Value> = verified.into_iter().map(|(address, at)| context! { address, at => zones::when(at, &zone) }).collect();
    let ctx = context! {
        title => "Senders", queues, queue => queue.name.clone(), sender, day, lookup, verified,
        verifies => queue.verify_new_senders, done => done_words(&q.done), zone => zone.name(),
    };
    render(&state, "senders.html", Some(&admin), StatusCode::OK, ctx)
}

/// One sender on a queue: today's pages against the caps, and the confirmation.
async fn lookup(state: &AdminState, queue: &QueueConfig, sender: &str, day: &str, now: i64) -> Result<Value, crate::store::StoreError> {
    let (pages, color_pages) = state.store.sender_usage(&queue.name, sender, day).await?;
    let since = now - i64::from(queue.verified_sender_days) * 86_400;
    let confirmed = state.store.sender_verified(&queue.name, sender, since).await?;
    Ok(context! {
        pages, color_pages, confirmed,
        daily_pages => queue.daily_pages, daily_color_pages => queue.daily_color_pages, guest_daily_pages => queue.guest_daily_pages,
    })
}

/// `POST /senders/reset`: today's count of a sender back to zero.
pub async fn reset(State(state): State<AdminState>, admin: Admin, Form(form): Form<SenderForm>) -> Response {
    if let Err(r) = admin.check_csrf(&form.csrf) {
        return r.into_response();
    }
    let live = state.live.load();
    let Some(queue) = live.config.queue_named(&form.queue) else { return see_other("/senders") };
    let sender = form.sender.trim().to_ascii_lowercase();
    let (day, _) = crate::pipeline::local_day(state.store.now(), queue.timezone.time_zone());
    match state.store.reset_sender_usage(&queue.name, &sender, &day).await {
        Ok(true) => {
            audit(&state, &admin.user, "sender_usage_reset", &format!("queue {}: today's page count of a sender set to zero", queue.name))
                .await;
            see_other(&path(&queue.name, &sender, "reset"))
        }
        Ok(false) => see_other(&path(&queue.name, &sender, "nothing")),
        Err(e) => unavailable(&e),
    }
}

/// `POST /senders/revoke`: a confirmed sender is asked again next time.
pub async fn revoke(State(state): State<AdminState>, admin: Admin, Form(form): Form<SenderForm>) -> Response {
    if let Err(r) = admin.check_csrf(&form.csrf) {
        return r.into_response();
    }
    let live = state.live.load();
    let Some(queue) = live.config.queue_named(&form.queue) else { return see_other("/senders") };
    let sender = form.sender.trim().to_ascii_lowercase();
    match state.store.revoke_sender(&queue.name, &sender).await {
        Ok(true) => {
            audit(&state, &admin.user, "sender_revoked", &format!("queue {}: a confirmed sender revoked", queue.name)).await;
            see_other(&path(&queue.name, &sender, "revoked"))
        }
        Ok(false) => see_other(&path(&queue.name, &sender, "nothing")),
        Err(e) => unavailable(&e),
    }
}
