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
use crate::notify::QueueReplies;
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
    /// The replies' DKIM signer (`[relay] dkim_key`), reloaded with the configuration.
    pub dkim: Option<Arc<crate::notify::Dkim>>,
    /// Each queue's reply language, time zone and templates, by queue name.
    pub replies: HashMap<String, Arc<QueueReplies>>,
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
        let dkim = crate::notify::Dkim::from_config(&config.relay)?.map(Arc::new);
        let replies = config
            .queue
            .iter()
            .map(|q| {
                let replies = QueueReplies::load(q).map_err(|problems| {
                    problems.iter().map(|(key, p)| format!("queue {}: {key}: {p}", q.name)).collect::<Vec<_>>().join("; ")
                })?;
                Ok((q.name.clone(), Arc::new(replies)))
            })
            .collect::<Result<HashMap<_, _>, String>>()?;
        Ok(Self { config: Arc::new(config), site_keys, scanners, auth, sender_limits, dkim, replies })
    }

    /// The reply settings of the queue named `queue` (built-in English in UTC for a queue that
    /// is no longer configured).
    pub fn replies_for(&self, queue: &str) -> Arc<QueueReplies> {
        self.replies.get(queue).cloned().unwrap_or_else(|| Arc::new(QueueReplies::builtin(crate::notify::Language::En)))
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
    let limits_same = old.config.smtp.max_messages_per_sender_per_hour == config.smtp.max_messages_per_sender_per_hour
        && old.config.smtp.max_messages_per_domain_per_hour == config.smtp.max_messages_per_domain_per_hour;
    let mut live = Live::build(config)?;
    if limits_same {
        live.sender_limits = old.sender_limits.clone();
    }
    shared.store(Arc::new(live));
    Ok(needs_restart)
}

/// Settings that are only read at start.
fn fixed_changes(old: &Config, new: &Config) -> Vec<&'static str> {
    let mut changed = Vec::new();
    // Sender rate limits are the one [smtp] part read per message.
    let mut smtp = new.smtp.clone();
    smtp.max_messages_per_sender_per_hour = old.smtp.max_messages_per_sender_per_hour;
    smtp.max_messages_per_domain_per_hour = old.smtp.max_messages_per_domain_per_hour;
    if old.smtp != smtp {
        changed.push("smtp (listeners, TLS, hostname, session limits)");
    }
    if old.store != new.store {
        changed.push("store");
    }
    if old.spool.dir != new.spool.dir || old.spool.key_file != new.spool.key_file {
        changed.push("spool");
    }
    if old.pipeline.workers != new.pipeline.workers {
        changed.push("pipeline.workers");
    }
    if old.relay.url != new.relay.url {
        changed.push("relay.url");
    }
    if old.api.listen != new.api.listen {
        changed.push("api.listen");
    }
    if old.api.tls_cert != new.api.tls_cert
        || old.api.tls_key != new.api.tls_key
        || old.api.max_failed_codes != new.api.max_failed_codes
        || old.api.max_failed_codes_per_address != new.api.max_failed_codes_per_address
        || old.api.failed_code_window != new.api.failed_code_window
        || old.api.lockout != new.api.lockout
        || old.api.poll_limit != new.api.poll_limit
    {
        changed.push("api");
    }
    changed
}
