//! The station's commands (`station release`, `station poll`, `station kiosk`): their
//! arguments and how they become a client, an output or a kiosk. No logic lives here.

use std::path::PathBuf;

use anyhow::bail;
use clap::Subcommand;

#[derive(Subcommand, Debug)]
pub enum StationCommand {
    /// Redeem a release code and print the documents (or write them to a directory).
    Release {
        code: String,
        #[command(flatten)]
        station: StationArgs,
        /// Keep retrying a failed delivery (printer down, stopped, jammed) this long, e.g. 5m.
        #[arg(long, default_value = "0s", value_parser = humantime::parse_duration)]
        retry_for: std::time::Duration,
    },
    /// Poll the site's pending jobs every interval and print them (PDS mode).
    Poll {
        #[arg(long)]
        site: String,
        #[command(flatten)]
        station: StationArgs,
        #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
        interval: std::time::Duration,
        /// One round, then exit (non-zero on a server error): for cron.
        #[arg(long)]
        once: bool,
    },
    /// Serve the release page patrons use at the station (a browser in kiosk mode shows it).
    Kiosk(KioskArgs),
}

/// How a station reaches its server: the URL, the token, the site's keys, a CA.
#[derive(clap::Args, Debug)]
pub struct ServerArgs {
    /// Base URL of the release API (https://…; http:// only to a loopback address).
    #[arg(long)]
    server: String,
    #[arg(long, env = "PRINTGATE_STATION_TOKEN", hide_env_values = true)]
    token: String,
    /// The site's private key; repeat it during a key rotation (current key first): each
    /// job is opened with the key it names.
    #[arg(long, required = true)]
    key: Vec<PathBuf>,
    /// Trust this CA certificate (PEM) for the server, besides the system's roots.
    #[arg(long)]
    ca: Option<PathBuf>,
}

impl ServerArgs {
    fn client(&self) -> anyhow::Result<crate::station::StationClient> {
        crate::server::install_crypto_provider();
        let keys = self
            .key
            .iter()
            .map(|path| crate::seal::SitePrivateKey::load(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display())))
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(crate::station::StationClient::with_ca(&self.server, &self.token, keys, self.ca.as_deref())?)
    }
}

/// What `station release` and `station poll` need: the server and the output.
#[derive(clap::Args, Debug)]
#[command(group(clap::ArgGroup::new("output").required(true).args(["printer", "out"])))]
pub struct StationArgs {
    #[command(flatten)]
    server: ServerArgs,
    /// Print on this IPP printer (ipp://HOST[:PORT]/PATH or ipps://…).
    #[arg(long)]
    printer: Option<String>,
    /// Write the PDFs to this directory instead of printing.
    #[arg(long)]
    out: Option<PathBuf>,
    /// How long the printer may take to complete one job before it is cancelled and retried.
    #[arg(long, default_value = "10m", value_parser = humantime::parse_duration)]
    job_timeout: std::time::Duration,
}

impl StationArgs {
    pub(super) fn connect(&self) -> anyhow::Result<(crate::station::StationClient, crate::station::Output)> {
        let client = self.server.client()?;
        let output = match (&self.printer, &self.out) {
            (Some(uri), _) => {
                let mut printer = crate::station::ipp::Printer::new(uri)?;
                printer.job_timeout = self.job_timeout;
                crate::station::Output::Printer(printer)
            }
            (None, Some(dir)) => crate::station::Output::Dir(dir.clone()),
            (None, None) => bail!("give --printer or --out"),
        };
        Ok((client, output))
    }
}

/// `station kiosk`: the server, the printers by name, the page's address and manners.
#[derive(clap::Args, Debug)]
pub struct KioskArgs {
    #[command(flatten)]
    server: ServerArgs,
    /// A printer patrons may choose: NAME=ipp://HOST[:PORT]/PATH (or ipps://…); repeat it.
    #[arg(long = "printer", required = true, value_parser = crate::station::kiosk::parse_printer_arg)]
    printers: Vec<(String, String)>,
    /// Where the page is served (for the browser on this machine).
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: std::net::SocketAddr,
    /// Clear the screen after this long without input (at least 15s).
    #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
    idle: std::time::Duration,
    /// Show only the first 5 characters of document names.
    #[arg(long)]
    mask_titles: bool,
    /// Languages offered on screen, the first is the default: en, de.
    #[arg(long, default_value = "en,de")]
    lang: String,
    /// How long a printer may take to complete one job before it is cancelled.
    #[arg(long, default_value = "10m", value_parser = humantime::parse_duration)]
    job_timeout: std::time::Duration,
}

impl KioskArgs {
    pub(super) async fn run(self) -> anyhow::Result<()> {
        let client = self.server.client()?;
        let langs = crate::station::kiosk::i18n::parse_langs(&self.lang).map_err(|e| anyhow::anyhow!("--lang: {e}"))?;
        let settings = crate::station::kiosk::KioskSettings { listen: self.listen, idle: self.idle, mask_titles: self.mask_titles, langs };
        crate::station::kiosk::check_settings(&settings)?;
        let mut printers = Vec::new();
        for (name, uri) in self.printers {
            let mut printer = crate::station::ipp::Printer::new(&uri)?;
            printer.job_timeout = self.job_timeout;
            printers.push((name, printer));
        }
        crate::station::kiosk::check_names(&printers)?;
        let kiosk = crate::station::kiosk::Kiosk::new(client, printers, settings);
        crate::station::kiosk::run(kiosk, stop_on_signal()).await
    }
}

/// A token cancelled by Ctrl-C or SIGTERM.
pub(super) fn stop_on_signal() -> tokio_util::sync::CancellationToken {
    let stop = tokio_util::sync::CancellationToken::new();
    let on_signal = stop.clone();
    tokio::spawn(async move {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = async { if let Some(t) = term.as_mut() { t.recv().await; } else { std::future::pending::<()>().await } } => {}
        }
        on_signal.cancel();
    });
    stop
}
