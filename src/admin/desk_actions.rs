//! The staff desk's actions on a patron's message: cancel one job, keep the jobs longer, send a
//! new release code. Each is a POST with the session's CSRF token; cancel and a new code ask
//! first (a page saying what will happen; nothing changes until it is confirmed), because
//! neither can be undone. Each action is audited under the staff account and returns to the
//! look-up it came from (`back`, rebuilt by [`DeskQuery`] so it never leaves `/desk`).
//!
//! The rules are the patron's own reply commands' ([`crate::store::commands`],
//! [`crate::pipeline::send_new_code`]): extending works once per message, and a new code goes
//! only to the address the message's reply went to, never to one typed at the desk.

use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use minijinja::context;
use serde::Deserialize;

use super::auth::Admin;
use super::desk::DeskQuery;
use super::pages::{audit, render, see_other, unavailable};
use super::{AdminState, errors};
use crate::store::desk::HeldMessage;
use crate::store::{Resent, StoreError};

/// An action's form: the CSRF token, `confirm=yes` on the second step, and where to return.
#[derive(Deserialize)]
pub struct ActionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    confirm: String,
    #[serde(default)]
    back: String,
}

fn gone(state: &AdminState) -> Response {
    let why = "Nothing of this message waits for release any more: it may have been printed, cancelled or expired meanwhile.";
    errors::page(state, StatusCode::NOT_FOUND, "Nothing waiting", why)
}

/// The "are you sure?" page of an action.
struct Confirm<'a> {
    title: String,
    sentence: String,
    facts: Vec<(&'static str, String)>,
    action: String,
    yes: String,
    back: &'a DeskQuery,
}

fn confirm_page(state: &AdminState, admin: &Admin, c: Confirm<'_>) -> Response {
    let facts: Vec<_> = c.facts.iter().map(|(k, v)| context! { name => *k, value => v }).collect();
    let ctx = context! {
        title => c.title, sentence => c.sentence, facts, action => c.action, yes => c.yes,
        back => c.back.path(""),
    };
    render(state, "desk_confirm.html", Some(admin), StatusCode::OK, ctx)
}

/// The held message with this id, or the page saying it is gone.
async fn held(state: &AdminState, id: &str) -> Result<HeldMessage, Response> {
    match state.store.held_message(id).await {
        Ok(Some(m)) if !m.jobs.is_empty() => Ok(m),
        Ok(_) => Err(gone(state)),
        Err(e) => Err(unavailable(&e)),
    }
}

/// `POST /desk/jobs/{id}/cancel`: asks, then destroys the job (row and sealed blob).
pub async fn cancel(State(state): State<AdminState>, admin: Admin, Path(id): Path<String>, Form(form): Form<ActionForm>) -> Response {
    if let Err(r) = admin.check_csrf(&form.csrf) {
        return r.into_response();
    }
    let back = DeskQuery::from_back(&form.back);
    let message = match state.store.job_message(&id).await {
        Ok(m) => m,
        Err(StoreError::NotFound) => return gone(&state),
        Err(e) => return unavailable(&e),
    };
    let message = match held(&state, &message).await {
        Ok(m) => m,
        Err(r) => return r,
    };
    let Some(job) = message.jobs.iter().find(|j| j.id == id) else { return gone(&state) };
    if form.confirm != "yes" {
        let zone = super::zones::queue_zone(&state.live.load().config, &message.queue);
        let sentence = "Cancelling destroys the job: the patron's release code will no longer print it, and it cannot be brought back. The patron is not told; their other documents stay.";
        return confirm_page(
            &state,
            &admin,
            Confirm {
                title: format!("Cancel {}?", job.filename),
                sentence: sentence.into(),
                facts: vec![
                    ("document", job.filename.clone()),
                    ("pages", job.pages.to_string()),
                    ("expires", super::zones::when(job.expires_at, &zone)),
                ],
                action: format!("/desk/jobs/{}/cancel", super::segment(&id)),
                yes: format!("Yes, cancel {}", job.filename),
                back: &back,
            },
        );
    }
    match state.store.cancel_job(&id, &message.site).await {
        Ok(()) | Err(StoreError::NotFound) => {}
        Err(e) => return unavailable(&e),
    }
    audit(&state, &admin.user, "desk_job_cancelled", &format!("job {id} of message {} cancelled at the desk", message.id)).await;
    see_other(&back.path("cancelled"))
}

/// A held message (waiting for its sender's YES) cannot be extended or get a new code: its
/// code would release nothing until the sender confirms.
fn confirming(state: &AdminState, message: &HeldMessage) -> Option<Response> {
    message.held.then(|| {
        let why = "This message waits for its sender to confirm the address (answer YES to the question mailed to them); until then nothing releases it.";
        errors::page(state, StatusCode::CONFLICT, "Waiting for the sender", why)
    })
}

/// `POST /desk/messages/{id}/extend`: keeps the message's jobs longer by the queue's
/// `extension`, once per message (as the patron's EXTEND).
pub async fn extend(State(state): State<AdminState>, admin: Admin, Path(id): Path<String>, Form(form): Form<ActionForm>) -> Response {
    if let Err(r) = admin.check_csrf(&form.csrf) {
        return r.into_response();
    }
    let back = DeskQuery::from_back(&form.back);
    let message = match held(&state, &id).await {
        Ok(m) => m,
        Err(r) => return r,
    };
    if let Some(r) = confirming(&state, &message) {
        return r;
    }
    let extension = state.live.load().config.queue_named(&message.queue).map(|q| q.extension);
    let Some(extension) = extension else { return see_other(&back.path("not-extended")) };
    match state.store.extend_message(&id, extension.as_secs() as i64).await {
        Ok(Some(until)) => {
            audit(&state, &admin.user, "desk_extended", &format!("message {id} kept until {}", super::pages::fmt_time(until))).await;
            see_other(&back.path("extended"))
        }
        Ok(None) => see_other(&back.path("not-extended")),
        Err(e) => unavailable(&e),
    }
}

/// `POST /desk/messages/{id}/resend`: asks, then gives the message a new release code and sends
/// it by reply to the address its first reply went to; the old code stops working.
pub async fn resend(State(state): State<AdminState>, admin: Admin, Path(id): Path<String>, Form(form): Form<ActionForm>) -> Response {
    if let Err(r) = admin.check_csrf(&form.csrf) {
        return r.into_response();
    }
    let back = DeskQuery::from_back(&form.back);
    let message = match held(&state, &id).await {
        Ok(m) => m,
        Err(r) => return r,
    };
    if let Some(r) = confirming(&state, &message) {
        return r;
    }
    let live = state.live.load_full();
    let (Some(to), Some(queue)) = (message.reply_rcpt.clone(), live.config.queue_named(&message.queue)) else {
        return see_other(&back.path("no-address"));
    };
    if form.confirm != "yes" {
        let sentence = format!(
            "A new release code goes by email to {to}, the address the first reply went to. The code the patron has now stops working at once."
        );
        let documents = message.jobs.iter().map(|j| j.filename.as_str()).collect::<Vec<_>>().join(", ");
        return confirm_page(
            &state,
            &admin,
            Confirm {
                title: "Send a new release code?".into(),
                sentence,
                facts: vec![("to", to.clone()), ("documents waiting", documents)],
                action: format!("/desk/messages/{}/resend", super::segment(&id)),
                yes: "Yes, send a new code".into(),
                back: &back,
            },
        );
    }
    let answered = state.store.trace(&id).await.ok().map(|t| t.message_id);
    let unique = uuid::Uuid::new_v4().simple().to_string();
    let (reply_id, reply_message_id) = (format!("{id}-desk-{unique}"), format!("{unique}.desk@{}", live.config.smtp.hostname));
    let new_code = crate::pipeline::NewCode {
        live: &live,
        queue,
        message_id: &id,
        to: &to,
        reply_id: &reply_id,
        reply_message_id: &reply_message_id,
        in_reply_to: answered.as_deref(),
    };
    match crate::pipeline::send_new_code(&state.store, &new_code).await {
        Ok(Resent::New(_)) => {
            if let Some(wake) = &state.outbox_wake {
                wake.notify_one();
            }
            audit(&state, &admin.user, "desk_code_resent", &format!("new release code for message {id} sent to the patron")).await;
            see_other(&back.path("resent"))
        }
        Ok(Resent::NotLive | Resent::AlreadyDone) => see_other(&back.path("not-resent")),
        Ok(Resent::NotRendered) => errors::page(
            &state,
            StatusCode::INTERNAL_SERVER_ERROR,
            "No code sent",
            "The reply could not be written; nothing changed. The server log says why.",
        ),
        Err(e) => unavailable(&e),
    }
}
