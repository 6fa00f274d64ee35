//! `POST /upload`: reads the form as it streams in (never more than the mail size limit: past
//! it, reading stops and the answer is `413` with a page), checks the CSRF token, the fields
//! and the upload limits, builds the message ([`super::message`]) and hands it to
//! [`Inbound::screen_and_spool`](crate::inbound::Inbound::screen_and_spool), the door mail takes. Accepted uploads
//! are sent on to their results page; refusals are answered at once in the patron's words.

use std::net::SocketAddr;

use axum::extract::multipart::{Field, MultipartError, MultipartRejection};
use axum::extract::{ConnectInfo, Multipart, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

use super::WebState;
use super::choices::{self, Problem};
use super::message::{self, Addressing, UploadedFile};
use super::pages::{self, CSRF_COOKIE, Filled, form_page, message_page};
use super::words::Lang;
use crate::inbound::{Arrival, Disposition, Refusal, TempFailure};
use crate::net::throttle::{self, ThrottleKey};

/// Longest text field read (an email address, a queue name, a number).
const MAX_FIELD_BYTES: usize = 1024;

/// The form as read from the request.
#[derive(Debug, Default)]
struct Received {
    csrf: String,
    lang: Option<String>,
    filled: Filled,
    duplex: String,
    files: Vec<UploadedFile>,
    /// More files than `max_files` were sent (the rest were not kept).
    too_many_files: bool,
}

/// Why reading stopped early.
enum ReadError {
    TooLarge,
    Broken,
}

impl From<MultipartError> for ReadError {
    fn from(e: MultipartError) -> Self {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE { Self::TooLarge } else { Self::Broken }
    }
}

pub async fn upload(
    State(state): State<WebState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> Response {
    let max_bytes = state.live.load().config.smtp.max_message_bytes;
    let guess = pages::lang_of(&headers, None);
    let content_length = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok());
    if choices::declared_too_large(content_length, max_bytes) {
        return too_large(&state, guess, max_bytes);
    }
    let Ok(multipart) = multipart else {
        return message_page(&state, guess, StatusCode::BAD_REQUEST, "broken_title", "broken", &[]);
    };
    let form = match read_form(multipart, max_bytes, state.settings.max_files).await {
        Ok(form) => form,
        Err(ReadError::TooLarge) => return too_large(&state, guess, max_bytes),
        Err(ReadError::Broken) => return message_page(&state, guess, StatusCode::BAD_REQUEST, "broken_title", "broken", &[]),
    };
    let lang = pages::lang_of(&headers, form.lang.as_deref());
    let cookie = pages::cookie(&headers, CSRF_COOKIE).unwrap_or_default();
    if form.csrf.is_empty() || !crate::crypto::constant_time_eq(cookie.as_bytes(), form.csrf.as_bytes()) {
        tracing::info!(peer = %peer.ip(), "upload without a valid form token refused");
        return message_page(&state, lang, StatusCode::FORBIDDEN, "expired_title", "expired", &[]);
    }
    submit(&state, lang, &headers, peer, form).await
}

/// The checks after reading, then screening and the answer.
async fn submit(state: &WebState, lang: Lang, headers: &HeaderMap, peer: SocketAddr, mut form: Received) -> Response {
    let config = state.live.load().config.clone();
    let email = form.filled.email.trim().to_owned();
    let checked = check_fields(&config, &form, &email);
    let (queue, choices) = match checked {
        Ok(ok) => ok,
        Err(problem) => {
            let text = state.words[lang.code()].get(problem.word()).cloned();
            let text = text.map(|t| t.replace("{0}", &state.settings.max_files.to_string()));
            return form_page(state, lang, headers, StatusCode::UNPROCESSABLE_ENTITY, text, &form.filled);
        }
    };
    if let Some(refused) = take_upload_slot(state, lang, &email, peer).await {
        return refused;
    }
    let Ok(random) = crate::crypto::random::<16>() else {
        return message_page(state, lang, StatusCode::SERVICE_UNAVAILABLE, "unavailable_title", "unavailable", &[]);
    };
    let results_id = hex::encode(random);
    let spool_id = choices::spool_id(&results_id);
    let subject = choices::subject(choices);
    let addressing = Addressing {
        from: &email,
        to: &queue.address,
        subject: &subject,
        message_id: format!("<web.{spool_id}@{}>", config.smtp.hostname),
    };
    let raw = match message::build(&addressing, std::mem::take(&mut form.files)) {
        Ok(raw) => raw,
        Err(_) => {
            return form_page(state, lang, headers, StatusCode::UNPROCESSABLE_ENTITY, word(state, lang, "problem_email"), &form.filled);
        }
    };
    let arrival = Arrival {
        queue: queue.name.clone(),
        options: Vec::new(),
        client_ip: peer.ip(),
        helo: "web-upload".to_owned(),
        mail_from: Some(email),
        recipients: vec![queue.address.clone()],
        tls: state.https,
        protocol: if state.https { "HTTPS" } else { "HTTP" },
        spf: false,
        authenticate: false,
        trace_before_answer: true,
    };
    match state.inbound.screen_and_spool(&arrival, spool_id, raw).await.disposition {
        Disposition::Accepted { .. } => Redirect::to(&format!("/upload/{results_id}?lang={}", lang.code())).into_response(),
        Disposition::Refused(refusal) => refused(state, lang, &refusal),
        Disposition::TempFail(TempFailure::SenderRateLimited) => rate_limited(state, lang, 3600),
        Disposition::TempFail(_) => message_page(state, lang, StatusCode::SERVICE_UNAVAILABLE, "unavailable_title", "unavailable", &[]),
    }
}

fn word(state: &WebState, lang: Lang, key: &str) -> Option<String> {
    state.words[lang.code()].get(key).cloned()
}

/// The queue and the choices, or the first field that cannot be used.
fn check_fields<'a>(
    config: &'a crate::config::Config,
    form: &Received,
    email: &str,
) -> Result<(&'a crate::config::QueueConfig, choices::Choices), Problem> {
    if !choices::usable_email(email) {
        return Err(Problem::Email);
    }
    let queue = choices::offered(config, &form.filled.queue).ok_or(Problem::Queue)?;
    let choices = choices::parse_choices(&form.filled.copies, &form.duplex, &form.filled.color, queue.color)?;
    if form.too_many_files {
        return Err(Problem::TooManyFiles);
    }
    if form.files.is_empty() {
        return Err(Problem::NoFile);
    }
    Ok((queue, choices))
}

/// Counts the upload against its address's and its client's limits (atomically in the store,
/// on every node): `None` when it may go on, else the `429` (or `503`) page.
async fn take_upload_slot(state: &WebState, lang: Lang, email: &str, peer: SocketAddr) -> Option<Response> {
    let keys = [ThrottleKey::Account(email.to_ascii_lowercase()), ThrottleKey::Address(peer.ip())];
    match state.throttle.admit(&state.store, &keys).await {
        // Every upload uses up its slot: "failed" is the throttle's word for one that counts.
        Ok(attempt) => {
            let started = state.throttle.failed(&state.store, attempt).await;
            if !started.is_empty() {
                tracing::info!(peer = %peer.ip(), "upload limit reached");
            }
            None
        }
        Err(throttle::Refusal::LockedOut { retry_after }) => Some(rate_limited(state, lang, retry_after)),
        Err(throttle::Refusal::Store(e)) => {
            tracing::error!(error = %e, "cannot count an upload; refusing it for now");
            Some(message_page(state, lang, StatusCode::SERVICE_UNAVAILABLE, "unavailable_title", "unavailable", &[]))
        }
    }
}

fn rate_limited(state: &WebState, lang: Lang, retry_after: u64) -> Response {
    let minutes = retry_after.div_ceil(60).max(1);
    let mut r = message_page(state, lang, StatusCode::TOO_MANY_REQUESTS, "rate_title", "rate", &[minutes.to_string()]);
    r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
    r
}

fn too_large(state: &WebState, lang: Lang, max_bytes: usize) -> Response {
    let limit = pages::size_words(max_bytes, lang);
    let mut r = message_page(state, lang, StatusCode::PAYLOAD_TOO_LARGE, "too_large_title", "too_large", &[limit]);
    // The rest of the body is not read: the connection ends with this answer.
    r.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    r
}

/// A refusal in the patron's words (with the scanner's or the file policy's detail).
fn refused(state: &WebState, lang: Lang, refusal: &Refusal) -> Response {
    let (key, detail) = match refusal {
        Refusal::Virus { signature } => ("refused_virus", signature.clone()),
        Refusal::NothingPrintable { found } => ("refused_nothing", found.clone()),
        Refusal::Spam { .. } => ("refused_spam", String::new()),
        Refusal::Malformed { reason } => ("refused_malformed", reason.clone()),
        Refusal::TooLargeForScanner => ("refused_too_large_scan", String::new()),
        Refusal::SenderDenied | Refusal::SenderNotAllowed | Refusal::SenderFailing { .. } | Refusal::SenderUnauthenticated { .. } => {
            ("refused_sender", String::new())
        }
    };
    message_page(state, lang, StatusCode::UNPROCESSABLE_ENTITY, "refused_title", key, &[detail])
}

/// Reads the fields as they arrive. Files are kept (at most `max_bytes` together, at most
/// `max_files` of them); text fields are cut at [`MAX_FIELD_BYTES`].
async fn read_form(mut multipart: Multipart, max_bytes: usize, max_files: usize) -> Result<Received, ReadError> {
    let mut form = Received::default();
    let mut total = 0usize;
    while let Some(mut field) = multipart.next_field().await? {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "file" {
            let file_name = field.file_name().unwrap_or_default().to_owned();
            let declared_type = field.content_type().unwrap_or("application/octet-stream").to_owned();
            let bytes = read_limited(&mut field, max_bytes, &mut total).await?.ok_or(ReadError::TooLarge)?;
            // A file input left empty still sends a part, with no name and no bytes.
            if file_name.is_empty() && bytes.is_empty() {
                continue;
            }
            if form.files.len() == max_files {
                form.too_many_files = true;
                continue;
            }
            form.files.push(UploadedFile { name: file_name, declared_type, bytes });
            continue;
        }
        let mut used = 0usize;
        let value = read_limited(&mut field, MAX_FIELD_BYTES, &mut used).await?.unwrap_or_default();
        let value = String::from_utf8_lossy(&value).into_owned();
        match name.as_str() {
            "csrf" => form.csrf = value,
            "lang" => form.lang = Some(value),
            "email" => form.filled.email = value,
            "queue" => form.filled.queue = value,
            "copies" => form.filled.copies = value,
            "duplex" => {
                form.filled.duplex = !value.is_empty();
                form.duplex = value;
            }
            "color" => form.filled.color = value,
            _ => {}
        }
    }
    Ok(form)
}

/// The field's bytes, counting them into `total`; `None` once `total` passes `limit` (reading
/// stops there).
async fn read_limited(field: &mut Field<'_>, limit: usize, total: &mut usize) -> Result<Option<Vec<u8>>, ReadError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await? {
        *total += chunk.len();
        if *total > limit {
            return Ok(None);
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(Some(bytes))
}
