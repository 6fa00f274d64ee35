//! `printgate serve`: wires configuration, store, spool, scanners and every listener together,
//! runs until SIGTERM/SIGINT, then drains.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::sync::{Notify, mpsc};
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::crypto::Secret;
use crate::inbound::Inbound;
use crate::live::{Live, Shared};
use crate::notify::outbox;
use crate::pipeline::{self, Pipeline};
use crate::smtp::{self, SmtpSettings};
use crate::spool::Spool;
use crate::store::Store;

/// How often the janitor purges expired jobs.
const JANITOR_EVERY: Duration = Duration::from_secs(60);

/// Installs the process-wide rustls provider (aws-lc-rs; never mix with ring).
pub fn install_crypto_provider() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

/// Runs the server until a shutdown signal.
///
/// # Errors
/// Start-up failures (a port in use, an unreachable database, a bad key file), each named.
pub async fn serve(config: Config, path: &std::path::Path) -> anyhow::Result<()> {
    install_crypto_provider();
    let live = Live::build(config).map_err(anyhow::Error::msg)?.shared();
    let shutdown = CancellationToken::new();
    // Handlers first: a SIGTERM that arrives once the ports listen must drain, not kill.
    let signals = Signals::install()?;
    let running = start(live.clone(), shutdown.clone()).await?;
    wait_for_signal(signals, &live, path).await;
    tracing::info!("shutdown requested; draining");
    shutdown.cancel();
    running.wait().await;
    tracing::info!("stopped");
    Ok(())
}

/// Opens everything and spawns the services; used by `serve` and by tests.
///
/// # Errors
/// As [`serve`].
pub async fn start(live: Shared, shutdown: CancellationToken) -> anyhow::Result<tokio_util::task::TaskTracker> {
    let config = live.load().config.clone();
    let store = Store::open(&config.store).await.context("opening the store")?;
    if let Some(warning) = crate::store::poll_tokens_warning(store.count_poll_tokens().await?) {
        tracing::warn!("{warning}");
    }
    let node_key = Secret::load_or_create(&config.spool.key_file).context("loading the node key")?;
    let spool = Spool::open(&config.spool.dir, &node_key).context("opening the spool")?;
    let relay = crate::notify::relay::Relay::new(&config.relay).await?;

    let tls = match (&config.smtp.tls_cert, &config.smtp.tls_key) {
        (Some(cert), Some(key)) => Some(crate::net::tls::acceptor(cert, key)?),
        _ => None,
    };
    let smtp_listener =
        TcpListener::bind(config.smtp.listen).await.with_context(|| format!("binding smtp.listen {}", config.smtp.listen))?;
    let tls_listener = match config.smtp.tls_listen {
        Some(addr) => Some(TcpListener::bind(addr).await.with_context(|| format!("binding smtp.tls_listen {addr}"))?),
        None => None,
    };
    let api_listener =
        crate::net::http::bind("api", config.api.listen, config.api.tls_cert.as_deref(), config.api.tls_key.as_deref()).await?;
    tracing::info!(
        smtp = %smtp_listener.local_addr()?,
        smtps = ?tls_listener.as_ref().and_then(|l| l.local_addr().ok()),
        starttls = tls.is_some(),
        api = %axum::serve::Listener::local_addr(&api_listener)?,
        api_tls = config.api.tls_cert.is_some(),
        "printgate listening"
    );

    let (work_tx, work_rx) = mpsc::unbounded_channel();
    let outbox_wake = Arc::new(Notify::new());
    let tasks = tokio_util::task::TaskTracker::new();

    let inbound = Arc::new(Inbound::new(live.clone(), spool.clone(), store.clone(), work_tx.clone()));
    let settings = Arc::new(SmtpSettings::from_config(&config.smtp, tls));
    let limits = smtp::IpLimits::new(config.smtp.max_connections_per_ip, config.smtp.max_messages_per_ip_per_minute);
    let permits = Arc::new(tokio::sync::Semaphore::new(config.smtp.max_connections));
    let plain = smtp::Listener { socket: smtp_listener, implicit_tls: false };
    tasks.spawn(smtp::serve(plain, inbound.clone(), settings.clone(), limits.clone(), permits.clone(), shutdown.clone()));
    if let Some(socket) = tls_listener {
        let implicit = smtp::Listener { socket, implicit_tls: true };
        tasks.spawn(smtp::serve(implicit, inbound.clone(), settings, limits, permits, shutdown.clone()));
    }
    // The upload form hands its messages to the same intake, screening and spool as mail.
    if let Some(web) = &config.web {
        let state = crate::web::WebState::new(live.clone(), store.clone(), inbound.clone(), web.clone());
        let form = crate::web::serve(state, shutdown.clone()).await?;
        tasks.spawn(async move {
            let _ = form.await;
        });
    }

    if !config.mailbox.is_empty() {
        let deps =
            crate::mailbox::Deps { live: live.clone(), inbound: inbound.clone(), store: store.clone(), outbox_wake: outbox_wake.clone() };
        tasks.spawn(crate::mailbox::run(Arc::new(deps), shutdown.clone()));
    }
    let converter =
        crate::convert::Converter::new(&config.convert).map_err(|e| anyhow::anyhow!("conversion scratch or profile directory: {e}"))?;
    if config.convert.office_prestart {
        let converter = converter.clone();
        tasks.spawn(async move { converter.start().await });
    }
    let pipeline = Arc::new(Pipeline { live: live.clone(), spool, store: store.clone(), outbox_wake: outbox_wake.clone(), converter });
    tasks.spawn(pipeline::run(pipeline, work_tx, work_rx, config.pipeline.workers, shutdown.clone()));
    let relay_settings: outbox::RelaySettings = {
        let live = live.clone();
        Arc::new(move || live.load().config.relay.clone())
    };
    tasks.spawn(outbox::run(store.clone(), relay, relay_settings, outbox_wake.clone(), shutdown.clone()));
    let retention = Retention { traces: config.store.trace_retention, audit: config.store.audit_retention };
    tasks.spawn(janitor(store.clone(), live.clone(), outbox_wake.clone(), retention, shutdown.clone()));

    let app = crate::api::router(crate::api::ApiState::new(store.clone(), &config.api));
    tasks.spawn(crate::net::http::serve(api_listener, app, shutdown.clone(), "release API"));
    // Queue settings changed in any node's admin console reach this node within seconds.
    tasks.spawn(crate::live::follow_queue_settings(live.clone(), store.clone(), QUEUE_SETTINGS_EVERY, shutdown.clone()));
    if let Some(admin) = &config.admin {
        let mut state = crate::admin::AdminState::new(store.clone(), live.clone(), admin.clone());
        state.outbox_wake = Some(outbox_wake.clone());
        let console = crate::admin::serve(state, shutdown.clone()).await?;
        tasks.spawn(async move {
            let _ = console.await;
        });
    }
    tasks.close();
    Ok(tasks)
}

/// How often each node looks for queue settings changed in the admin console.
const QUEUE_SETTINGS_EVERY: Duration = Duration::from_secs(2);

/// Orphan blobs are looked for this often (a listing of the whole blob store).
const ORPHANS_EVERY: u32 = 60;

/// How long the janitor keeps traces and audit events (attempt counters go when their window
/// or lock-out ends).
#[derive(Clone, Copy)]
struct Retention {
    traces: Duration,
    audit: Duration,
}

async fn janitor(store: Store, live: Shared, outbox_wake: Arc<Notify>, retention: Retention, shutdown: CancellationToken) {
    let mut round: u32 = 0;
    loop {
        if round.is_multiple_of(ORPHANS_EVERY) {
            match store.collect_orphans(store.now()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(blobs = n, "orphaned job blobs removed"),
                Err(e) => tracing::warn!(error = %e, "orphan collection failed; will retry"),
            }
        }
        round = round.wrapping_add(1);
        if let Err(e) = store.purge_traces(store.now() - retention.traces.as_secs() as i64).await {
            tracing::warn!(error = %e, "trace purge failed; will retry");
        }
        if let Err(e) = store.purge_audit_events(store.now() - retention.audit.as_secs() as i64).await {
            tracing::warn!(error = %e, "audit event purge failed; will retry");
        }
        if let Err(e) = store.purge_throttle(store.now()).await {
            tracing::warn!(error = %e, "purge of attempt counters failed; will retry");
        }
        // Page counts of days that are over in every time zone (two UTC days back), and page
        // charges of a week ago (a message is processed again only after a crash, at once).
        let (day, _) = crate::pipeline::local_day(store.now() - 2 * 86_400, &jiff::tz::TimeZone::UTC);
        if let Err(e) = store.purge_page_usage(&day, store.now() - 7 * 86_400).await {
            tracing::warn!(error = %e, "purge of daily page counts failed; will retry");
        }
        match crate::pipeline::reminder::queue_due(&store, &live.load_full()).await {
            Ok(0) => {}
            Ok(n) => {
                tracing::info!(reminders = n, "expiry reminders queued");
                outbox_wake.notify_one();
            }
            Err(e) => tracing::warn!(error = %e, "expiry reminders failed; will retry"),
        }
        match store.purge_expired(store.now()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(jobs = n, "expired jobs destroyed"),
            Err(e) => tracing::warn!(error = %e, "expiry purge failed; will retry"),
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(JANITOR_EVERY) => {}
        }
    }
}

/// Waits for SIGTERM or SIGINT; reloads the configuration on every SIGHUP meanwhile.
/// SIGTERM, SIGINT and SIGHUP, caught from the moment they are installed.
struct Signals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
}

impl Signals {
    fn install() -> anyhow::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Self {
            term: signal(SignalKind::terminate()).context("installing the SIGTERM handler")?,
            int: signal(SignalKind::interrupt()).context("installing the SIGINT handler")?,
            hup: signal(SignalKind::hangup()).context("installing the SIGHUP handler")?,
        })
    }
}

async fn wait_for_signal(signals: Signals, live: &Shared, path: &std::path::Path) {
    let Signals { mut term, mut int, mut hup } = signals;
    loop {
        tokio::select! {
            _ = int.recv() => return,
            _ = term.recv() => return,
            _ = hup.recv() => match crate::live::reload(live, path) {
                Ok(restart) if restart.is_empty() => tracing::info!(config = %path.display(), "configuration reloaded"),
                Ok(restart) => tracing::warn!(config = %path.display(), needs_restart = ?restart, "configuration reloaded; some changes take effect only after a restart"),
                Err(e) => tracing::error!(config = %path.display(), error = %e, "configuration reload failed; keeping the running configuration"),
            },
        }
    }
}
