//! The release-station API: JSON over HTTP(S), bearer-token authenticated.
//!
//! Owns the routes of DESIGN.md's release API, station authentication and the mapping of store
//! outcomes to HTTP statuses. It never decrypts anything: stations receive sealed bytes.

use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

use crate::store::{JobInfo, ReleaseCode, Store, StoreError};

#[derive(Clone)]
pub struct ApiState {
    pub store: Store,
}

/// Builds the router (tests call it directly; `serve` binds it).
pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/api/v1/release", post(release))
        .route("/api/v1/jobs/{id}/sealed", get(sealed))
        .route("/api/v1/jobs/{id}/ack", post(ack))
        .with_state(state)
}

/// API errors: a stable machine-readable `code` plus a message. Client errors are not logged
/// as errors; internal ones are logged once with their cause and answered generically.
#[derive(Debug)]
pub enum ApiError {
    Unauthorized,
    NotFound,
    BadRequest(String),
    Internal(String),
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => Self::NotFound,
            other => Self::Internal(other.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, message) = match self {
            Self::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized", "missing or invalid station token".to_owned()),
            Self::NotFound => (StatusCode::NOT_FOUND, "not_found", "no such code or job, or it has expired".to_owned()),
            Self::BadRequest(m) => (StatusCode::BAD_REQUEST, "bad_request", m),
            Self::Internal(cause) => {
                tracing::error!(cause = %cause, "release API internal error");
                (StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error, try again later".to_owned())
            }
        };
        (status, Json(serde_json::json!({ "code": code, "message": message }))).into_response()
    }
}

/// An authenticated station: the site its token belongs to.
pub struct Station {
    pub site: String,
}

impl FromRequestParts<ApiState> for Station {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or(ApiError::Unauthorized)?;
        match state.store.station_site(token.trim()).await {
            Ok(site) => Ok(Station { site }),
            Err(StoreError::NotFound) => Err(ApiError::Unauthorized),
            Err(e) => Err(e.into()),
        }
    }
}

#[derive(Deserialize)]
struct ReleaseRequest {
    code: String,
}

#[derive(serde::Serialize)]
struct ReleaseResponse {
    /// The site the jobs are sealed for (stations check it against the sealed header).
    site: String,
    jobs: Vec<JobInfo>,
}

async fn release(
    State(state): State<ApiState>,
    station: Station,
    Json(req): Json<ReleaseRequest>,
) -> Result<Json<ReleaseResponse>, ApiError> {
    let code = ReleaseCode::parse(&req.code).ok_or(ApiError::NotFound)?;
    let jobs = state.store.release(&code, &station.site).await?;
    tracing::info!(site = %station.site, jobs = jobs.len(), "code redeemed");
    Ok(Json(ReleaseResponse { site: station.site, jobs }))
}

async fn sealed(State(state): State<ApiState>, station: Station, Path(id): Path<String>) -> Result<Response, ApiError> {
    let (_, blob_key) = state.store.job(&id, &station.site).await?;
    let bytes = state.store.blobs().get(&blob_key).await?;
    Ok(([(header::CONTENT_TYPE, "application/vnd.printgate.sealed-job")], bytes).into_response())
}

#[derive(Deserialize)]
struct AckRequest {
    status: String,
}

async fn ack(
    State(state): State<ApiState>,
    station: Station,
    Path(id): Path<String>,
    Json(req): Json<AckRequest>,
) -> Result<Json<serde_json::Value>, ApiError> {
    match req.status.as_str() {
        "printed" => {
            state.store.destroy_job(&id, &station.site).await?;
            tracing::info!(site = %station.site, job = %id, "job printed and destroyed");
            Ok(Json(serde_json::json!({ "status": "destroyed" })))
        }
        "failed" => {
            // The job stays for another attempt.
            state.store.job(&id, &station.site).await?;
            tracing::warn!(site = %station.site, job = %id, "station reported a failed print; job kept");
            Ok(Json(serde_json::json!({ "status": "kept" })))
        }
        other => Err(ApiError::BadRequest(format!("status must be \"printed\" or \"failed\", not {other:?}"))),
    }
}
