//! The admin console and metrics endpoint.
//!
//! Owns the admin web UI, its authentication and `/metrics`. It reads and changes state only
//! through [`crate::store`]. The console is built in a later stage (issue [9/10]); until then
//! `[admin]` is parsed and validated but no admin listener is started.
