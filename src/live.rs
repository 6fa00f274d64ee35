//! The reloadable part of the running configuration: queues, thresholds, sites and their keys,
//! scanner addresses. `SIGHUP` re-reads the config file; if it is valid, every node part that
//! reads [`Shared`] sees the new values from its next message on, without a restart. Listeners,
//! the store, the spool and the relay are fixed at start (a change to them is logged as needing
//! a restart).

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use arc_swap::ArcSwap;

use crate::config::{AuthResolver, Config};
use crate::screen::Scanners;
use crate::screen::auth::SenderAuth;
use crate::smtp::limits::SenderLimits;
use crate::seal::SitePublicKey;

/// One consistent snapshot of what may change at run time.
pub struct Live {
    pub config: Arc<Config>,
    pub site_keys: HashMap<String, SitePublicKey>,
    pub scanners: Scanners,
    pub auth: SenderAuth,
    /// Per-sender and per-domain message counters (hourly windows). Kept across reloads.
    pub sender_limits: Arc<SenderLimits>,
}

/// Shared by the SMTP side and the pipeline; `load()` per message.
pub type Shared = Arc<ArcSwap<Live>>;

impl Live {
    /// Builds a snapshot: loads every site key and the scanner clients.
    ///
    /// # Errors
    /// A message naming the site key or scanner address that failed.
    pub fn build(config: Config) -> Result<Self, String> {
        let site_keys = config
            .site
            .iter()
            .map(|s| Ok((s.name.clone(), SitePublicKey::load(&s.public_key)?)))
            .collect::<Result<HashMap<_, _>, String>>()?;
        let scanners = Scanners::from_config(&config.scan)?;
        let auth = match config.auth.resolver {
            AuthResolver::System => SenderAuth::system().map_err(|e| format!("auth.resolver: {e}"))?,
            AuthResolver::Static => SenderAuth::with_records(&config.auth.records).map_err(|e| format!("auth.records: {e}"))?,
            AuthResolver::Off => SenderAuth::disabled(),
        };
        let sender_limits = Arc::new(SenderLimits::new(
            config.smtp.max_messages_per_sender_per_hour,
            config.smtp.max_messages_per_domain_per_hour,
        ));
        Ok(Self { config: Arc::new(config), site_keys, scanners, auth, sender_limits })
    }

    pub fn shared(self) -> Shared {
        Arc::new(ArcSwap::from_pointee(self))
    }
}

/// Re-reads `path` and swaps it in when valid. Returns what changed that needs a restart.
///
/// # Errors
/// Every problem with the new file; the running configuration is then kept.
pub fn reload(shared: &Shared, path: &Path) -> Result<Vec<&'static str>, String> {
    let config = Config::load(path).map_err(|e| e.to_string())?;
    let old = shared.load();
    let needs_restart = fixed_changes(&old.config, &config);
    let mut live = Live::build(config)?;
    live.sender_limits = old.sender_limits.clone();
    shared.store(Arc::new(live));
    Ok(needs_restart)
}

/// Settings that are only read at start.
fn fixed_changes(old: &Config, new: &Config) -> Vec<&'static str> {
    let mut changed = Vec::new();
    if old.smtp.listen != new.smtp.listen || old.smtp.tls_listen != new.smtp.tls_listen {
        changed.push("smtp.listen");
    }
    if old.smtp.tls_cert != new.smtp.tls_cert || old.smtp.tls_key != new.smtp.tls_key {
        changed.push("smtp.tls_cert");
    }
    if old.store.database_url != new.store.database_url || old.store.blob_url != new.store.blob_url {
        changed.push("store");
    }
    if old.spool.dir != new.spool.dir {
        changed.push("spool.dir");
    }
    if old.relay.url != new.relay.url {
        changed.push("relay.url");
    }
    if old.api.listen != new.api.listen {
        changed.push("api.listen");
    }
    changed
}
