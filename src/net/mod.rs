//! Network pieces shared by the listeners (`smtp`, `api`, `admin`): TLS loading ([`tls`]) and
//! the HTTP listener set-up ([`http`]).
//!
//! Lies below every service that listens, so each of them may use it without importing another
//! service. It knows nothing of SMTP conversations, routes, tokens or replies, and imports no
//! stage and no service (checked by `tests/architecture.rs`).

pub mod http;
pub mod tls;
