//! Mailbox intake (`[[mailbox]]`, docs/mailbox.md): printgate reads an existing IMAP mailbox
//! (Microsoft 365, Google Workspace, Dovecot) for sites that cannot point MX at it, and feeds
//! each message through the same intake, screening and spool as SMTP mail
//! ([`crate::inbound::Inbound::screen_and_spool`]). "Accepted" means spooled; only then is the
//! message moved to `processed_folder`. Refused mail goes to `refused_folder` and its patron is
//! told by reply ([`refusal`]). [`round`] says what a crash at each step leaves.
//!
//! Each mailbox runs as its own task: one that fails (a wrong password, a server down, a TLS
//! error) logs a line naming the mailbox and the cause, counts in
//! `printgate_mailbox_errors_total{mailbox}`, shows its state in `printgate_mailbox_state`, and
//! shows on the console's dashboard ([`status`]), and tries again after an exponential back-off
//! ([`decide::backoff`]); a `SIGHUP` reload cuts the
//! wait short, and the password file is read again at every login. The others and SMTP go on.
//!
//! Glue, like `inbound` and `pipeline`: it uses the stages and `inbound`, and no service.

pub mod client;
pub mod decide;
mod refusal;
pub mod round;
pub mod status;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::config::MailboxConfig;
use crate::inbound::Inbound;
use crate::live::Shared;
use crate::store::Store;
use client::{ImapSession, MailboxError, TokenCache, timely};

/// What the mailbox tasks share with the rest of the server.
pub struct Deps {
    pub live: Shared,
    pub inbound: Arc<Inbound>,
    pub store: Store,
    pub outbox_wake: Arc<Notify>,
}

/// Runs one task per configured mailbox until `shutdown`. Mailboxes added or removed by a
/// reload take effect at the next start; a reload's changes to an existing one (password file,
/// folders, `idle`, `poll_interval`) at its next connection.
pub async fn run(deps: Arc<Deps>, shutdown: CancellationToken) {
    let mailboxes = deps.live.load().config.mailbox.clone();
    let tasks = tokio_util::task::TaskTracker::new();
    for (index, mailbox) in mailboxes.iter().enumerate() {
        tasks.spawn(watch(deps.clone(), index, mailbox.label(), shutdown.clone()));
    }
    tasks.close();
    tasks.wait().await;
}

/// A mailbox's state as a gauge: 1 for the state it is in, 0 for the others.
struct State {
    label: String,
    now: Option<&'static str>,
}

impl State {
    fn set(&mut self, state: &'static str) {
        if self.now == Some(state) {
            return;
        }
        status::set_state(&self.label, state);
        if let Some(old) = self.now.replace(state) {
            crate::metrics::add("printgate_mailbox_state", &[("mailbox", self.label.as_str()), ("state", old)], -1.0);
        }
        crate::metrics::add("printgate_mailbox_state", &[("mailbox", self.label.as_str()), ("state", state)], 1.0);
    }
}

/// One mailbox's life: connect, read, wait; on failure back off and try again.
async fn watch(deps: Arc<Deps>, index: usize, label: String, shutdown: CancellationToken) {
    let mut state = State { label: label.clone(), now: None };
    let mut tokens = TokenCache::default();
    let mut failures: u32 = 0;
    loop {
        let Some(config) = deps.live.load().config.mailbox.iter().find(|m| m.label() == label).cloned() else {
            tracing::warn!(mailbox = %label, "mailbox no longer configured; it is read again after a restart");
            return;
        };
        state.set("connecting");
        let reload = deps.live.load().file_config.clone();
        let error = tokio::select! {
            () = shutdown.cancelled() => return,
            error = serve(&deps, &config, index, &mut tokens, &mut state, &mut failures) => error,
        };
        failures = failures.saturating_add(1);
        let wait = decide::backoff(failures);
        crate::metrics::inc("printgate_mailbox_errors_total", &[("mailbox", label.as_str())]);
        tracing::error!(mailbox = %label, error = %error, failures, retry_in = ?wait, "mailbox cannot be read; trying again later");
        status::set_failures(&label, failures, Some(&error.to_string()));
        state.set("backoff");
        wait_or_reload(&deps.live, &reload, wait, &shutdown).await;
        if shutdown.is_cancelled() {
            return;
        }
    }
}

/// Sleeps `wait`, or less when the configuration is reloaded (`SIGHUP`) meanwhile.
async fn wait_or_reload(live: &Shared, seen: &Arc<crate::config::Config>, wait: Duration, shutdown: &CancellationToken) {
    let until = tokio::time::Instant::now() + wait;
    while tokio::time::Instant::now() < until {
        if !Arc::ptr_eq(&live.load().file_config, seen) {
            return;
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(Duration::from_millis(500).min(until - tokio::time::Instant::now())) => {}
        }
    }
}

/// Connects, logs in and reads the mailbox until something fails; returns that failure.
async fn serve(
    deps: &Deps,
    config: &MailboxConfig,
    index: usize,
    tokens: &mut TokenCache,
    state: &mut State,
    failures: &mut u32,
) -> MailboxError {
    let session = match client::open(config, tokens, index).await {
        Ok(session) => session,
        Err(e) => return e,
    };
    // A failed session is dropped, which closes the connection.
    match read_forever(deps, config, session, state, failures).await {
        Ok(never) => match never {},
        Err(e) => e,
    }
}

/// Prepares the folders, then reads and waits, reads and waits.
async fn read_forever(
    deps: &Deps,
    config: &MailboxConfig,
    mut session: ImapSession,
    state: &mut State,
    failures: &mut u32,
) -> Result<std::convert::Infallible, MailboxError> {
    let capabilities = timely(session.capabilities()).await?;
    let move_by = decide::move_by(|c| capabilities.has_str(c));
    let idle = config.idle && capabilities.has_str("IDLE");
    for folder in [&config.processed_folder, &config.refused_folder] {
        create_folder(&mut session, folder).await?;
    }
    let selected = timely(session.select(&config.url.folder))
        .await
        .map_err(|e| MailboxError::Folder { folder: config.url.folder.clone(), reason: e.to_string() })?;
    let uidvalidity = selected
        .uid_validity
        .ok_or_else(|| MailboxError::Folder { folder: config.url.folder.clone(), reason: "the server gives no UIDVALIDITY".into() })?;
    let label = config.label();
    tracing::info!(mailbox = %label, uidvalidity, idle, move_by = ?move_by, "mailbox connected");
    let pass = round::Pass { deps, config, label: &label, uidvalidity, move_by };
    loop {
        state.set("reading");
        let (moved, news) = pass.run(&mut session).await?;
        if *failures > 0 {
            *failures = 0;
            status::set_failures(&label, 0, None);
        }
        if moved > 0 {
            tracing::debug!(mailbox = %label, moved, "mailbox pass done");
        }
        if news {
            continue;
        }
        state.set("waiting");
        if idle {
            session = wait_idle(session, config.poll_interval).await?;
        } else {
            tokio::time::sleep(config.poll_interval).await;
            timely(session.noop()).await?;
        }
    }
}

/// Creates `folder` unless it is there.
async fn create_folder(session: &mut ImapSession, folder: &str) -> Result<(), MailboxError> {
    use futures::TryStreamExt;
    let found: Vec<_> = timely(async { session.list(None, Some(folder)).await?.try_collect::<Vec<_>>().await }).await?;
    if found.iter().any(|n| n.name() == folder) {
        return Ok(());
    }
    timely(session.create(folder)).await.map_err(|e| MailboxError::Folder { folder: folder.to_owned(), reason: e.to_string() })
}

/// IDLE until the server reports news or `longest` passes (IDLE owns the session meanwhile).
async fn wait_idle(session: ImapSession, longest: Duration) -> Result<ImapSession, MailboxError> {
    let mut handle = session.idle();
    timely(handle.init()).await?;
    let (wait, _stop) = handle.wait_with_timeout(longest);
    wait.await?;
    timely(handle.done()).await
}
