//! The API's errors: every failure is JSON `{"code", "message"}` with a stable `code`, including
//! the ones axum's extractors and routing produce (bad JSON, wrong content type, unknown path,
//! wrong method), so a station has one format to handle.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::store::{SpentReason, StoreError};

/// Seconds a station is asked to wait after an infrastructure failure.
const RETRY_AFTER_UNAVAILABLE: u64 = 30;

#[derive(Debug)]
pub enum ApiError {
    /// Missing, unknown or revoked token.
    Unauthorized,
    /// A valid token asking for another site's resources.
    Forbidden,
    /// A valid token whose scope does not allow the route (a `release` token polling).
    Scope {
        has: &'static str,
        needs: &'static str,
    },
    /// Unknown or other-site code; unknown, expired or other-site job.
    NotFound,
    /// A release code that was right once: its message expired, or everything behind it was
    /// printed.
    Gone(SpentReason),
    /// No such API path.
    NoRoute,
    BadRequest(String),
    UnsupportedMediaType,
    PayloadTooLarge,
    MethodNotAllowed,
    /// Too many wrong codes: wait this many seconds.
    LockedOut {
        retry_after: u64,
    },
    /// The database or blob store failed: the station should retry (cause logged here only).
    Unavailable(String),
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => Self::NotFound,
            other => Self::Unavailable(other.to_string()),
        }
    }
}

impl ApiError {
    fn parts(self) -> (StatusCode, &'static str, String, Option<u64>) {
        match self {
            Self::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized", "missing or invalid station token".into(), None),
            Self::Forbidden => (StatusCode::FORBIDDEN, "forbidden", "this station's token belongs to another site".into(), None),
            Self::Scope { has, needs } => (
                StatusCode::FORBIDDEN,
                "insufficient_scope",
                format!("this station's token has scope {has}; listing the site's jobs needs a token with scope {needs}"),
                None,
            ),
            Self::NotFound => (StatusCode::NOT_FOUND, "not_found", "no such code or job, or it has expired".into(), None),
            Self::Gone(reason) => (StatusCode::GONE, reason.as_str(), gone_message(reason).into(), None),
            Self::NoRoute => (StatusCode::NOT_FOUND, "not_found", "no such API path".into(), None),
            Self::BadRequest(m) => (StatusCode::BAD_REQUEST, "bad_request", m, None),
            Self::UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "the body must be JSON with Content-Type: application/json".into(),
                None,
            ),
            Self::PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", "the request body is too large".into(), None),
            Self::MethodNotAllowed => {
                (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "this path does not take that method".into(), None)
            }
            Self::LockedOut { retry_after } => (
                StatusCode::TOO_MANY_REQUESTS,
                "locked_out",
                format!("too many wrong release codes; try again in {retry_after} seconds"),
                Some(retry_after),
            ),
            Self::Unavailable(cause) => {
                tracing::error!(cause = %cause, "release API: store unavailable");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "the job store is unavailable; try again later".into(),
                    Some(RETRY_AFTER_UNAVAILABLE),
                )
            }
        }
    }
}

/// What a station shows a patron for a spent code.
fn gone_message(reason: SpentReason) -> &'static str {
    match reason {
        SpentReason::Expired => "this release code has expired; its documents were deleted",
        SpentReason::Printed => "every document behind this release code has already been printed",
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, message, retry_after) = self.parts();
        let mut response = (status, axum::Json(serde_json::json!({ "code": code, "message": message }))).into_response();
        if let Some(secs) = retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// `Json<T>` whose rejections are [`ApiError`]s.
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    axum::Json<T>: FromRequest<S, Rejection = JsonRejection>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(JsonRejection::MissingJsonContentType(_)) => Err(ApiError::UnsupportedMediaType),
            Err(JsonRejection::BytesRejection(r)) if r.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(ApiError::PayloadTooLarge),
            Err(JsonRejection::JsonDataError(e)) => Err(ApiError::BadRequest(e.body_text())),
            Err(other) => Err(ApiError::BadRequest(other.body_text())),
        }
    }
}

/// Unknown paths.
pub async fn not_found() -> ApiError {
    ApiError::NoRoute
}

/// Known paths, wrong method.
pub async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}
