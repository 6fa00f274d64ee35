//! Response hygiene shared by every web face (the admin console, the station's kiosk page):
//! a strict Content-Security-Policy chosen by the face, no framing, no MIME sniffing, no
//! referrer, and no copy of any answer kept by the browser (Back after a logout or after the
//! kiosk cleared a patron's screen refetches instead of showing the last page from a cache).
//!
//! Knows nothing of routes, sessions or templates; each face passes its own policy.

use axum::http::{HeaderMap, HeaderName, HeaderValue};

/// The headers every answer of a web face carries besides its policy (names in lower case).
const HEADERS: [(&str, &str); 6] = [
    ("x-frame-options", "DENY"),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
    ("cache-control", "no-store"),
    ("pragma", "no-cache"),
    ("cross-origin-opener-policy", "same-origin"),
];

/// Sets the policy `csp` and [`HEADERS`] on `headers`, replacing what a handler may have set.
pub fn apply(headers: &mut HeaderMap, csp: &'static str) {
    headers.insert(HeaderName::from_static("content-security-policy"), HeaderValue::from_static(csp));
    for (name, value) in HEADERS {
        headers.insert(HeaderName::from_static(name), HeaderValue::from_static(value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::header;

    #[test]
    fn a_handlers_caching_and_framing_are_overridden() {
        let mut headers = HeaderMap::new();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("max-age=3600"));
        apply(&mut headers, "default-src 'none'");
        assert_eq!(headers[header::CACHE_CONTROL], "no-store");
        assert_eq!(headers[header::X_FRAME_OPTIONS], "DENY");
        assert_eq!(headers[header::CONTENT_SECURITY_POLICY], "default-src 'none'");
    }
}
