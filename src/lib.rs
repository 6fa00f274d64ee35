//! printgate: an email-to-print server.
//!
//! Mail arrives over SMTP ([`smtp`]), is parsed into documents ([`intake`]), screened
//! ([`screen`]) and, once accepted, made durable in the encrypted [`spool`] before the `250`.
//! Pipeline workers ([`pipeline`]) then convert ([`convert`]), seal ([`seal`]) and store
//! ([`store`]) each document and queue the patron's reply ([`notify`]). Release stations fetch
//! sealed jobs through the release API ([`api`]) and open them with [`station`].
//!
//! [`inbound`] is the glue the SMTP session calls once a message has been received: it runs
//! intake and screening and spools what is accepted. [`server`] wires every part together for
//! `printgate serve`.
//!
//! Layering (docs/architecture.md, checked by `tests/architecture.rs`): [`crypto`], [`metrics`]
//! and [`doctype`] at the bottom; [`config`] above them only, parsed once into typed values and
//! importing no stage; [`net`] (TLS, the HTTP listener) and [`smtp`] next; then the stages,
//! [`live`], the glue ([`inbound`], [`pipeline`]) and the services. No import circles.

pub mod admin;
pub mod api;
pub mod backup;
pub mod cli;
pub mod config;
pub mod convert;
pub mod crypto;
pub mod doctype;
pub mod inbound;
pub mod intake;
pub mod live;
pub mod mailbox;
pub mod metrics;
pub mod net;
pub mod notify;
pub mod pipeline;
pub mod screen;
pub mod seal;
pub mod server;
pub mod smtp;
pub mod spool;
pub mod station;
pub mod store;
pub mod web;
