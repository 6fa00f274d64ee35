//! The release-station API: JSON over HTTPS (plain HTTP on loopback only), bearer-token
//! authenticated.
//!
//! Owns the routes of docs/release-api.md (described by docs/openapi.json, served at
//! `/api/v1/openapi.json`), station authentication, brute-force throttling of release codes
//! and the mapping of store outcomes to HTTP statuses. It never decrypts anything: stations
//! receive sealed bytes.

pub mod error;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequestParts, Path, Query, State};
use axum::http::header;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

pub use error::{ApiError, ApiJson};

use crate::net::throttle::{self, Redeemed, Throttle, ThrottleKey};
use crate::store::{JobInfo, ReleaseCode, Store, StoreError, TokenScope};

/// The OpenAPI description of this API (kept in docs/, served as is).
pub const OPENAPI: &str = include_str!("../../docs/openapi.json");

/// Request bodies are a few fields of JSON.
const MAX_BODY_BYTES: usize = 16 * 1024;

#[derive(Clone)]
pub struct ApiState {
    pub store: Store,
    pub throttle: Arc<Throttle>,
    /// Most jobs one poll answer lists.
    pub poll_limit: u32,
}

impl ApiState {
    pub fn new(store: Store, config: &crate::config::ApiConfig) -> Self {
        let limits = throttle::Limits {
            per_subject: config.max_failed_codes,
            per_address: config.max_failed_codes_per_address,
            window: config.failed_code_window,
            lockout: config.lockout,
        };
        Self { store, throttle: Arc::new(Throttle::new("release", limits)), poll_limit: config.poll_limit }
    }
}

/// Builds the router. Serve it with `into_make_service_with_connect_info::<SocketAddr>()`:
/// the release route throttles by source address.
pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/api/v1/openapi.json", get(openapi))
        .route("/metrics", get(metrics))
        .route("/api/v1/release", post(release))
        .route("/api/v1/jobs/{id}/sealed", get(sealed))
        .route("/api/v1/jobs/{id}/ack", post(ack))
        .route("/api/v1/sites/{site}/jobs", get(site_jobs))
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
        // Every answer (JSON, sealed bytes, errors): never MIME-sniffed, never cached.
        .layer(axum::middleware::map_response(|mut response: Response| async move {
            response.headers_mut().insert(header::X_CONTENT_TYPE_OPTIONS, header::HeaderValue::from_static("nosniff"));
            response.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
            response
        }))
}

/// Prometheus metrics (no authentication, like `/healthz`: counts only, no names or codes).
async fn metrics(State(state): State<ApiState>) -> Result<Response, ApiError> {
    let (jobs, outbox) = state.store.pending_counts().await?;
    let text = crate::metrics::render(&[("printgate_jobs_pending", jobs as f64), ("printgate_outbox_pending", outbox as f64)]);
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text).into_response())
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

/// An authenticated station: its token's id, the site the token belongs to and its scope.
pub struct Station {
    pub token_id: String,
    pub site: String,
    pub scope: TokenScope,
}

impl FromRequestParts<ApiState> for Station {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(ApiError::Unauthorized)?;
        match state.store.station_token(token).await {
            Ok(t) => Ok(Station { token_id: t.id, site: t.site, scope: t.scope }),
            Err(StoreError::NotFound) => Err(ApiError::Unauthorized),
            Err(e) => Err(e.into()),
        }
    }
}

/// Job ids are 32 lowercase hex digits; anything else cannot name a job.
fn job_id(id: &str) -> Result<&str, ApiError> {
    if id.len() == 32 && id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) { Ok(id) } else { Err(ApiError::NotFound) }
}

#[derive(Deserialize)]
struct ReleaseRequest {
    code: String,
}

#[derive(serde::Serialize)]
struct JobList {
    /// The site the jobs are sealed for (stations check it against the sealed header).
    site: String,
    jobs: Vec<JobInfo>,
}

async fn release(
    State(state): State<ApiState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    station: Station,
    ApiJson(req): ApiJson<ReleaseRequest>,
) -> Result<Json<JobList>, ApiError> {
    // The code is looked up inside the store step that counts the attempt: with many requests
    // at once, at most the limit are checked.
    let keys = [ThrottleKey::Station(station.token_id.clone()), ThrottleKey::Address(peer.ip())];
    let code = ReleaseCode::parse(&req.code);
    let redeemed = state.throttle.redeem(&state.store, &keys, code.as_ref(), &station.site).await.map_err(|refusal| match refusal {
        throttle::Refusal::LockedOut { retry_after } => {
            crate::metrics::inc("printgate_release_requests_total", &[("result", "locked_out")]);
            ApiError::LockedOut { retry_after }
        }
        throttle::Refusal::Store(e) => e.into(),
    })?;
    match redeemed {
        Redeemed::Jobs(jobs) => {
            crate::metrics::inc("printgate_release_requests_total", &[("result", "redeemed")]);
            tracing::info!(site = %station.site, station = %station.token_id, jobs = jobs.len(), "code redeemed");
            Ok(Json(JobList { site: station.site, jobs }))
        }
        // Right once, nothing to release now: not counted as a guess (docs/release-api.md).
        Redeemed::Spent(reason) => {
            crate::metrics::inc("printgate_release_requests_total", &[("result", reason.as_str())]);
            tracing::info!(site = %station.site, station = %station.token_id, reason = reason.as_str(), "spent release code");
            Err(ApiError::Gone(reason))
        }
        Redeemed::Wrong(lockouts) => {
            crate::metrics::inc("printgate_release_requests_total", &[("result", "wrong_code")]);
            wrong_code(&state, &station, peer, lockouts).await;
            Err(ApiError::NotFound)
        }
    }
}

/// Logs a wrong code; a lock-out that started with it goes to the audit trail. The code itself
/// is never logged (a near miss would help an attacker reading logs).
async fn wrong_code(state: &ApiState, station: &Station, peer: SocketAddr, lockouts: Vec<throttle::LockedOut>) {
    tracing::warn!(site = %station.site, station = %station.token_id, peer = %peer.ip(), "wrong release code");
    for locked in lockouts {
        let kind = match &locked.key {
            ThrottleKey::Station(_) | ThrottleKey::Account(_) => "station_locked_out",
            ThrottleKey::Address(_) => "address_locked_out",
        };
        let detail = format!("{}: {} wrong release codes; locked out", locked.key, locked.failures);
        tracing::warn!(kind, station = %station.token_id, peer = %peer.ip(), "{detail}");
        let ip = peer.ip().to_string();
        if let Err(e) = state.store.audit(kind, Some(&station.token_id), Some(&ip), &detail).await {
            tracing::error!(error = %e, "cannot write the audit event of a lock-out");
        }
    }
}

async fn sealed(State(state): State<ApiState>, station: Station, Path(id): Path<String>) -> Result<Response, ApiError> {
    let (_, blob_key) = state.store.job(job_id(&id)?, &station.site).await?;
    let bytes = state.store.blobs().get(&blob_key).await?;
    Ok(([(header::CONTENT_TYPE, "application/vnd.printgate.sealed-job")], bytes).into_response())
}

#[derive(Deserialize)]
struct AckRequest {
    status: String,
    /// Why printing failed (for `failed`; shown to admins).
    #[serde(default)]
    reason: Option<String>,
}

async fn ack(
    State(state): State<ApiState>,
    station: Station,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<AckRequest>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let id = job_id(&id)?;
    match req.status.as_str() {
        "printed" => {
            state.store.destroy_job(id, &station.site).await?;
            crate::metrics::inc("printgate_jobs_acknowledged_total", &[("status", "printed")]);
            tracing::info!(site = %station.site, job = %id, "job printed and destroyed");
            Ok(Json(serde_json::json!({ "status": "destroyed" })))
        }
        "failed" => {
            let reason = req.reason.as_deref().unwrap_or("no reason given");
            let failures = state.store.record_print_failure(id, &station.site, reason).await?;
            crate::metrics::inc("printgate_jobs_acknowledged_total", &[("status", "failed")]);
            tracing::warn!(site = %station.site, job = %id, failures, "station reported a failed print; job kept");
            Ok(Json(serde_json::json!({ "status": "kept", "failures": failures })))
        }
        other => Err(ApiError::BadRequest(format!("status must be \"printed\" or \"failed\", not {other:?}"))),
    }
}

#[derive(Deserialize)]
struct PollQuery {
    limit: Option<u32>,
}

async fn site_jobs(
    State(state): State<ApiState>,
    station: Station,
    Path(site): Path<String>,
    query: Result<Query<PollQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<JobList>, ApiError> {
    if site != station.site {
        return Err(ApiError::Forbidden);
    }
    if station.scope != TokenScope::Poll {
        return Err(ApiError::Scope { has: station.scope.as_str(), needs: TokenScope::Poll.as_str() });
    }
    let Query(query) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    // `limit=0` asks for no job and gets none (an empty list), like SQL's `LIMIT 0`.
    let limit = query.limit.unwrap_or(state.poll_limit).min(state.poll_limit);
    let jobs = state.store.site_jobs(&site, i64::from(limit)).await?;
    Ok(Json(JobList { site, jobs }))
}
