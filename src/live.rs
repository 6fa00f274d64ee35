//! The reloadable part of the running configuration: queues, thresholds, sites and their keys,
//! scanner addresses. `SIGHUP` re-reads the config file; if it is valid, every node part that
//! reads [`Shared`] sees the new values from its next message on, without a restart. Listeners,
//! the store, the spool and the relay are fixed at start (a change to them is logged as needing
//! a restart).

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use arc_swap::ArcSwap;

use crate::config::{AuthResolver, Config, ConfigError, ConfigIssue};
use crate::notify::QueueReplies;
use crate::screen::Scanners;
use crate::screen::auth::SenderAuth;
use crate::seal::SitePublicKey;
use crate::smtp::limits::SenderLimits;

/// One consistent snapshot of what may change at run time.
#[derive(Clone)]
pub struct Live {
    /// The effective configuration: the file with the console's queue settings applied.
    pub config: Arc<Config>,
    /// The configuration as read from the file.
    pub file_config: Arc<Config>,
    /// The console's queue settings (from the shared store), kept across file reloads.
    pub overrides: Arc<Vec<crate::config::QueueOverride>>,
    pub site_keys: HashMap<String, SitePublicKey>,
    pub scanners: Scanners,
    pub auth: Arc<SenderAuth>,
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
        let sender_limits =
            Arc::new(SenderLimits::new(config.smtp.max_messages_per_sender_per_hour, config.smtp.max_messages_per_domain_per_hour));
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
        let config = Arc::new(config);
        Ok(Self {
            file_config: config.clone(),
            config,
            overrides: Arc::new(Vec::new()),
            site_keys,
            scanners,
            auth: Arc::new(auth),
            sender_limits,
            dkim,
            replies,
        })
    }

    /// This snapshot with the console's queue settings `overrides` applied on top of the file.
    pub fn with_overrides(&self, overrides: Vec<crate::config::QueueOverride>) -> Self {
        let mut live = self.clone();
        live.config = Arc::new(self.file_config.with_overrides(&overrides));
        live.overrides = Arc::new(overrides);
        live
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

/// Loads the config file at `path` together with the check `config` cannot make itself: each
/// queue's own reply templates must compile and keep the reply's contract (`notify`). Every
/// problem is reported at once, under its key.
///
/// # Errors
/// Every problem found, as [`Config::load`].
pub fn load_config(path: &Path) -> Result<Config, ConfigError> {
    Config::load_with(path, &reply_template_issues)
}

fn reply_template_issues(config: &Config) -> Vec<ConfigIssue> {
    let issues = config.queue.iter().enumerate().flat_map(|(i, q)| {
        let problems = QueueReplies::load(q).err().unwrap_or_default();
        problems.into_iter().map(move |(key, problem)| ConfigIssue { key: format!("queue[{i}].{key}"), problem })
    });
    issues.collect()
}

/// Re-reads `path` and swaps it in when valid. Returns what changed that needs a restart.
///
/// # Errors
/// Every problem with the new file; the running configuration is then kept.
pub fn reload(shared: &Shared, path: &Path) -> Result<Vec<&'static str>, String> {
    let config = load_config(path).map_err(|e| e.to_string())?;
    let old = shared.load();
    let needs_restart = fixed_changes(&old.config, &config);
    let limits_same = old.config.smtp.max_messages_per_sender_per_hour == config.smtp.max_messages_per_sender_per_hour
        && old.config.smtp.max_messages_per_domain_per_hour == config.smtp.max_messages_per_domain_per_hour;
    let mut live = Live::build(config)?;
    if limits_same {
        live.sender_limits = old.sender_limits.clone();
    }
    // rcu: the console's settings may change while the file is read; keep the newest.
    shared.rcu(|current| Arc::new(live.with_overrides(current.overrides.as_ref().clone())));
    warn_refused(&shared.load());
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
    let labels = |c: &Config| c.mailbox.iter().map(crate::config::MailboxConfig::label).collect::<Vec<_>>();
    if labels(old) != labels(new) {
        changed.push("mailbox (a mailbox added, removed, or its url or username changed)");
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
    // The web form's listener and limits are read at start; its queues follow the reload.
    let web_fixed = |w: &Option<crate::config::WebConfig>| {
        w.as_ref().map(|w| {
            (w.listen, w.tls_cert.clone(), w.tls_key.clone(), w.max_uploads_per_address, w.max_uploads_per_ip, w.upload_window, w.max_files)
        })
    };
    if web_fixed(&old.web) != web_fixed(&new.web) {
        changed.push("web");
    }
    changed
}

/// Keeps every node's queues in line with the settings changed in the admin console: reads them
/// from the store every `every` (a handful of rows) and swaps in a new snapshot when they
/// changed: saved, changed twice within one second, or reset to the file's values (deleted).
pub async fn follow_queue_settings(
    shared: Shared,
    store: crate::store::Store,
    every: std::time::Duration,
    stop: tokio_util::sync::CancellationToken,
) {
    let mut seen: Option<Vec<crate::config::QueueOverride>> = None;
    loop {
        match store.queue_overrides().await {
            Ok(overrides) if seen.as_ref() != Some(&overrides) => {
                if seen.is_some() || !overrides.is_empty() {
                    tracing::info!(queues = overrides.len(), "queue settings from the admin console applied");
                }
                shared.rcu(|current| Arc::new(current.with_overrides(overrides.clone())));
                warn_refused(&shared.load());
                seen = Some(overrides);
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "cannot read the queue settings; will retry"),
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(every) => {}
        }
    }
}

/// Logs each console setting the snapshot leaves out because its queue would break a rule.
fn warn_refused(live: &Live) {
    for refused in live.file_config.apply_overrides(&live.overrides).1 {
        let problems: Vec<String> = refused.issues.iter().map(ToString::to_string).collect();
        tracing::warn!(queue = %refused.queue, "the admin console's settings for this queue are not applied (the file's values are): {}", problems.join("; "));
    }
}
