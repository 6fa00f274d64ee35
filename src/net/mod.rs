//! Network pieces shared by the listeners (`smtp`, `api`, `admin`) and the outgoing clients
//! (the relay, the IMAP mailboxes): TLS loading and the TLS client set-up ([`tls`]), the HTTP
//! listener set-up ([`http`]), the OAuth2 token command of XOAUTH2 logins ([`oauth_token`]), the
//! web faces' response hygiene ([`web`]) and brute-force throttling of codes and logins
//! ([`throttle`]).
//!
//! Lies below every service that listens, so each of them may use it without importing another
//! service. It knows nothing of SMTP conversations, routes, tokens or replies; it imports no
//! stage and no service, only the store the throttle counts in (checked by
//! `tests/architecture.rs`).

pub mod http;
pub mod oauth_token;
pub mod throttle;
pub mod tls;
pub mod web;
