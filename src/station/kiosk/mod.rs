//! `printgate station kiosk`: the release station patrons touch. The station process serves one
//! web page (for a browser in kiosk mode on the same machine) and talks outbound to the
//! printgate server as `station release` does; the browser talks only to this process.
//!
//! The token and the site's private key never reach the browser. Decrypted PDFs exist only in
//! this process's memory, for the time one document takes to print. One screen, one patron:
//! the process holds a single [`session::Session`], replaced whole after "Done", "Cancel" or
//! `--idle` without input.
//!
//! Owns: the kiosk's routes ([`routes`]), pages ([`pages`]), words ([`i18n`]), decisions
//! ([`choice`]), the patron's session ([`session`]), printer watching and the print run
//! ([`printing`]). Uses the station client and IPP printer of [`crate::station`]; must not
//! touch the server's modules.

pub mod choice;
pub mod i18n;
pub mod pages;
pub mod printing;
pub mod routes;
pub mod session;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use super::StationClient;
use super::ipp::{Condition, Printer};
use i18n::Lang;
use session::Session;

/// The shortest `--idle`: the warning alone takes [`WARN_MAX`] of it.
pub const MIN_IDLE: Duration = Duration::from_secs(15);
/// How long before clearing the screen the patron is warned: WCAG 2.2.1 asks for at least 20 s
/// to answer; shorter idle times warn for half of the time.
pub const WARN_MAX: Duration = Duration::from_secs(20);
/// The page tells the station of the patron's input at most this often (`kiosk.js`), so the
/// station's own idle clock may lag the page's by this much.
pub const ACTIVITY_REPORTED_EVERY: Duration = Duration::from_secs(5);

/// A configured printer: `--printer NAME=ipp://…`.
pub struct KioskPrinter {
    pub name: String,
    pub printer: Printer,
    /// The last state seen (None until the first answer).
    pub condition: RwLock<Option<Condition>>,
}

/// What the kiosk was started with.
pub struct KioskSettings {
    pub listen: SocketAddr,
    pub idle: Duration,
    pub mask_titles: bool,
    /// Offered languages; the first is the default.
    pub langs: Vec<Lang>,
}

impl KioskSettings {
    /// Seconds of warning before an idle screen is cleared.
    pub fn warn(&self) -> Duration {
        WARN_MAX.min(self.idle / 2)
    }
}

pub struct Kiosk {
    pub client: StationClient,
    pub printers: Vec<KioskPrinter>,
    pub settings: KioskSettings,
    pub pages: pages::Pages,
    session: Mutex<Session>,
    generations: std::sync::atomic::AtomicU64,
    /// Jobs printed whose acknowledgement the server has not taken yet: never printed again,
    /// acknowledged again when next seen.
    pub unacked: Mutex<std::collections::HashSet<String>>,
}

impl Kiosk {
    pub fn new(client: StationClient, printers: Vec<(String, Printer)>, settings: KioskSettings) -> Arc<Self> {
        let printers = printers.into_iter().map(|(name, printer)| KioskPrinter { name, printer, condition: RwLock::new(None) }).collect();
        let first = Session::new(0, new_csrf(), settings.langs[0]);
        Arc::new(Self {
            client,
            printers,
            settings,
            pages: pages::Pages::new(),
            session: Mutex::new(first),
            generations: std::sync::atomic::AtomicU64::new(1),
            unacked: Mutex::new(std::collections::HashSet::new()),
        })
    }

    /// The session, locked (never across an `.await`).
    pub fn session(&self) -> MutexGuard<'_, Session> {
        self.session.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Replaces the session with an empty one: a new CSRF token, the default language, the
    /// start screen. Everything of the previous patron is dropped here.
    pub fn reset(&self, session: &mut Session) {
        let generation = self.generations.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        *session = Session::new(generation, new_csrf(), self.settings.langs[0]);
    }

    /// Which printers can be chosen now.
    pub fn choosable(&self) -> Vec<bool> {
        self.printers.iter().map(|p| p.condition.read().ok().and_then(|c| *c).is_some_and(|c| c.choosable())).collect()
    }
}

/// `--printer NAME=URI`: the name patrons see and the printer's IPP URI.
///
/// # Errors
/// A missing `=`, an empty name or a URI that is not `ipp://` or `ipps://`.
pub fn parse_printer_arg(arg: &str) -> Result<(String, String), String> {
    let (name, uri) = arg.split_once('=').ok_or_else(|| format!("{arg:?}: give NAME=ipp://HOST/PATH"))?;
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 40 || name.chars().any(char::is_control) {
        return Err(format!("{arg:?}: the printer's name must be 1 to 40 printable characters"));
    }
    if !(uri.starts_with("ipp://") || uri.starts_with("ipps://")) {
        return Err(format!("{arg:?}: the printer URI must start with ipp:// or ipps://"));
    }
    Ok((name.to_owned(), uri.trim().to_owned()))
}

/// Checks the kiosk's settings before anything starts.
///
/// # Errors
/// An `--idle` shorter than [`MIN_IDLE`] or a listen address other than loopback.
pub fn check_settings(settings: &KioskSettings) -> anyhow::Result<()> {
    if settings.idle < MIN_IDLE {
        anyhow::bail!(
            "--idle {}s is too short: at least {}s (the warning alone takes up to {}s)",
            settings.idle.as_secs(),
            MIN_IDLE.as_secs(),
            WARN_MAX.as_secs()
        );
    }
    if !settings.listen.ip().is_loopback() {
        anyhow::bail!(
            "--listen {}: the kiosk page is for the browser on this machine; use a loopback address such as 127.0.0.1:8080",
            settings.listen
        );
    }
    Ok(())
}

/// Printer names must differ (patrons choose by name).
///
/// # Errors
/// Naming the repeated name.
pub fn check_names(printers: &[(String, Printer)]) -> anyhow::Result<()> {
    for (i, (name, _)) in printers.iter().enumerate() {
        if printers[..i].iter().any(|(n, _)| n.eq_ignore_ascii_case(name)) {
            anyhow::bail!("--printer {name:?} is given twice");
        }
    }
    Ok(())
}

fn new_csrf() -> String {
    crate::crypto::random::<16>().map(hex::encode).unwrap_or_else(|_| uuid::Uuid::new_v4().simple().to_string())
}

/// Serves the kiosk page on `kiosk.settings.listen` until `stop`, watching the printers and
/// clearing idle screens meanwhile.
///
/// # Errors
/// Binding the address.
pub async fn run(kiosk: Arc<Kiosk>, stop: CancellationToken) -> anyhow::Result<()> {
    let listener = crate::net::http::bind("--listen", kiosk.settings.listen, None, None).await?;
    tracing::info!(listen = %kiosk.settings.listen, printers = kiosk.printers.len(), "kiosk page served");
    tokio::spawn(printing::watch_printers(kiosk.clone(), stop.clone()));
    tokio::spawn(clear_idle(kiosk.clone(), stop.clone()));
    crate::net::http::serve(listener, routes::router(kiosk), stop, "kiosk").await;
    Ok(())
}

/// Clears the screen after `--idle` without input, whether or not the browser is still there
/// (its own timer warns first and normally clears it a moment earlier).
async fn clear_idle(kiosk: Arc<Kiosk>, stop: CancellationToken) {
    // The browser clears at exactly `idle` after the last input; the station hears of input up
    // to ACTIVITY_REPORTED_EVERY late and follows 2 s after that, so the two do not race (a
    // patron answering the warning in its last seconds keeps the session), and clears on its
    // own if the browser is gone.
    let grace = ACTIVITY_REPORTED_EVERY + Duration::from_secs(2);
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(Duration::from_millis(500)) => {}
        }
        let mut session = kiosk.session();
        if session.expired(kiosk.settings.idle + grace, Instant::now()) {
            tracing::info!(screen = session.screen.name(), "screen cleared (idle)");
            kiosk.reset(&mut session);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printer_arguments_name_an_ipp_printer() {
        assert_eq!(parse_printer_arg("Lobby=ipp://10.0.0.5/ipp/print"), Ok(("Lobby".into(), "ipp://10.0.0.5/ipp/print".into())));
        assert_eq!(parse_printer_arg("Upstairs colour=ipps://p.lan:8631/ipp").map(|p| p.0), Ok("Upstairs colour".into()));
        for bad in ["ipp://x/y", "=ipp://x/y", "Lobby=http://x/", "Lobby=", " =ipp://x"] {
            assert!(parse_printer_arg(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn idle_must_leave_room_for_the_warning_and_the_page_stays_local() {
        let s = |idle: u64, listen: &str| KioskSettings {
            listen: listen.parse().unwrap(),
            idle: Duration::from_secs(idle),
            mask_titles: false,
            langs: vec![Lang::En],
        };
        assert!(check_settings(&s(60, "127.0.0.1:8080")).is_ok());
        assert!(check_settings(&s(15, "[::1]:8080")).is_ok());
        assert!(check_settings(&s(14, "127.0.0.1:8080")).is_err());
        assert!(check_settings(&s(60, "0.0.0.0:8080")).is_err());
        assert_eq!(s(60, "127.0.0.1:1").warn(), Duration::from_secs(20));
        assert_eq!(s(24, "127.0.0.1:1").warn(), Duration::from_secs(12));
    }
}
