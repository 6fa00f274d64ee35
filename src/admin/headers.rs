//! The console's HTTP hygiene: one response layer over the whole console router (every page,
//! redirect, error, `404` and `405`) that adds a strict Content-Security-Policy, forbids framing
//! and MIME sniffing, sends no referrer and tells the browser to keep no copy of any answer, so
//! that Back after logout refetches (and is sent to the login page) instead of showing the last
//! page from its cache.
//!
//! The pages need nothing but their own stylesheet ([`STYLESHEET_PATH`]): no script, no inline
//! style (the dashboard and tuning bars are inline SVG with `width` attributes), no image.

use axum::http::header;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

/// The console's Content-Security-Policy: nothing but the console's own stylesheet (and its
/// favicon, if a browser asks for one); forms post only to the console; never framed.
pub const CONTENT_SECURITY_POLICY: &str =
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// Where the console serves its stylesheet.
pub const STYLESHEET_PATH: &str = "/console.css";

const STYLESHEET: &str = include_str!("../../templates/admin/console.css");

/// Sets the console's policy and the shared web hygiene headers on `headers`.
pub fn apply(headers: &mut HeaderMap) {
    crate::net::web::apply(headers, CONTENT_SECURITY_POLICY);
}

/// The response layer: `Router::layer(axum::middleware::map_response(headers::hygiene))`.
pub async fn hygiene(mut response: Response) -> Response {
    apply(response.headers_mut());
    response
}

/// `GET /console.css`.
pub async fn stylesheet() -> Response {
    (StatusCode::OK, [(header::CONTENT_TYPE, "text/css; charset=utf-8")], STYLESHEET).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::header::HeaderValue;

    #[test]
    fn the_policy_allows_no_script_no_inline_style_and_no_framing() {
        let directives: Vec<&str> = CONTENT_SECURITY_POLICY.split(';').map(str::trim).collect();
        assert!(directives.contains(&"default-src 'none'"));
        assert!(directives.contains(&"frame-ancestors 'none'"));
        assert!(!CONTENT_SECURITY_POLICY.contains("script-src"), "default-src 'none' covers scripts");
        assert!(!CONTENT_SECURITY_POLICY.contains("unsafe"));
        let mut headers = HeaderMap::new();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("max-age=3600"));
        apply(&mut headers);
        assert_eq!(headers[header::CACHE_CONTROL], "no-store", "a handler's caching is overridden");
        assert_eq!(headers[header::X_FRAME_OPTIONS], "DENY");
    }
}
