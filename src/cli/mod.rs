//! Command-line interface: argument parsing and dispatch to the library. No logic lives here.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};

use crate::config::Config;

mod admin_user;
mod station;
pub use admin_user::AdminUserCommand;
use station::stop_on_signal;
pub use station::{KioskArgs, ServerArgs, StationArgs, StationCommand};

#[derive(Parser, Debug)]
#[command(name = "printgate", version, about = "Email-to-print server")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the SMTP server, pipeline, release API and janitor.
    Serve {
        #[arg(long, default_value = "config/printgate.toml")]
        config: PathBuf,
    },
    /// Validate the configuration and print the effective values.
    CheckConfig {
        #[arg(long, default_value = "config/printgate.toml")]
        config: PathBuf,
    },
    /// Generate a site key pair: NAME.pub.pem (server config) and NAME.key.pem (station).
    Keygen {
        #[arg(long)]
        site: String,
        #[arg(long)]
        out: PathBuf,
    },
    /// Release-station client.
    Station {
        #[command(subcommand)]
        command: StationCommand,
    },
    /// Convert files as the pipeline would and print one JSON line per file (pages, colour,
    /// time or the refusal); for diagnosing a document and for benchmarks.
    Convert {
        /// Take the [convert] section from this config (else the defaults).
        #[arg(long)]
        config: Option<PathBuf>,
        #[arg(long, value_parser = ["a4", "letter"], default_value = "a4")]
        paper: String,
        #[arg(long, default_value_t = 1000)]
        max_pages: u32,
        /// LibreOffice workers (overrides the config).
        #[arg(long)]
        workers: Option<usize>,
        /// Documents converted at once (default: the number of workers).
        #[arg(long)]
        parallel: Option<usize>,
        /// Write each PDF here as NAME.pdf.
        #[arg(long)]
        out: Option<PathBuf>,
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Manage release-station tokens.
    StationToken {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Manage admin console accounts (a password is read from standard input).
    AdminUser {
        #[command(subcommand)]
        command: AdminUserCommand,
    },
    /// Copy the database, sealed jobs, store secret, public and DKIM keys and the config file
    /// into a new directory (the server may keep running).
    Backup {
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value = "config/printgate.toml")]
        config: PathBuf,
    },
    /// Put a backup into the empty store of this configuration (the server stopped).
    Restore {
        #[arg(long)]
        from: PathBuf,
        #[arg(long, default_value = "config/printgate.toml")]
        config: PathBuf,
    },
}

#[derive(Subcommand, Debug)]
pub enum TokenCommand {
    /// Create a token for a site; it is printed once and stored only as a hash.
    Create {
        #[arg(long)]
        site: String,
        /// `release`: redeem codes only; `poll`: also list every pending job of the site.
        #[arg(long, value_parser = ["release", "poll"], default_value = "release")]
        scope: String,
        #[arg(long, default_value = "config/printgate.toml")]
        config: PathBuf,
    },
    /// List tokens (id, site, scope, created, last use, state; never the tokens).
    List {
        #[arg(long, default_value = "config/printgate.toml")]
        config: PathBuf,
    },
    /// Revoke a token by its id.
    Revoke {
        id: String,
        #[arg(long, default_value = "config/printgate.toml")]
        config: PathBuf,
    },
}

/// Runs a parsed command.
///
/// # Errors
/// Whatever the command reports; `main` prints it and exits non-zero.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve { config: path } => crate::server::serve(load(&path)?, &path).await,
        Command::CheckConfig { config } => {
            let cfg = load(&config)?;
            print!("{}", cfg.summary());
            warn_poll_tokens(&cfg).await;
            println!("configuration OK: {}", config.display());
            Ok(())
        }
        Command::Keygen { site, out } => keygen(&site, &out),
        Command::Station { command: StationCommand::Release { code, station, retry_for } } => {
            let (client, output) = station.connect()?;
            let delivered = crate::station::release(&client, &code, &output, retry_for).await?;
            for place in &delivered {
                println!("{place}");
            }
            eprintln!("released {} document(s)", delivered.len());
            Ok(())
        }
        Command::Station { command: StationCommand::Poll { site, station, interval, once } } => {
            let (client, output) = station.connect()?;
            let stop = stop_on_signal();
            let mut poller = crate::station::poll::Poller::new(&client, &site, &output, interval);
            poller.report = |place| println!("{place}");
            let result = poller.run(once, &stop).await;
            let s = &poller.stats;
            eprintln!(
                "polled {} time(s): {} delivered, {} failed attempt(s), {} server error(s)",
                s.rounds, s.delivered, s.failed_attempts, s.server_errors
            );
            Ok(result?)
        }
        Command::Station { command: StationCommand::Kiosk(kiosk) } => kiosk.run().await,
        Command::StationToken { command } => tokens(command).await,
        Command::AdminUser { command } => admin_user::run(command, load).await,
        Command::Backup { out, config } => {
            let m = crate::backup::backup(&load(&config)?, &config, &out).await?;
            println!("backup of a {} store with {} sealed job(s) in {}", m.database, m.blobs, out.display());
            Ok(())
        }
        Command::Restore { from, config } => {
            let m = crate::backup::restore(&load(&config)?, &from).await?;
            println!("restored a {} store with {} sealed job(s) from {}", m.database, m.blobs, from.display());
            Ok(())
        }
        Command::Convert { config, paper, max_pages, workers, parallel, out, files } => {
            let mut settings = match config {
                Some(path) => load(&path)?.convert,
                None => crate::config::ConvertConfig::default(),
            };
            if let Some(n) = workers {
                settings.office_workers = n;
            }
            let paper = if paper == "letter" { crate::config::Paper::Letter } else { crate::config::Paper::A4 };
            let batch = crate::convert::batch::Batch { paper, max_pages, parallel, out };
            let failed = crate::convert::batch::run(&settings, &batch, &files).await?;
            if failed > 0 {
                bail!("{failed} of {} documents could not be converted", files.len());
            }
            Ok(())
        }
    }
}

/// `check-config`'s warning about poll-scoped tokens, read from the store without migrating it;
/// a store that cannot be read is noted, not an error of the configuration.
async fn warn_poll_tokens(config: &Config) {
    match crate::store::inspect_poll_tokens(&config.store).await {
        Ok(count) => {
            if let Some(warning) = crate::store::poll_tokens_warning(count.unwrap_or(0)) {
                eprintln!("warning: {warning}");
            }
        }
        Err(e) => eprintln!("note: station tokens not checked: {e}"),
    }
}

fn load(path: &std::path::Path) -> anyhow::Result<Config> {
    crate::live::load_config(path).map_err(|e| anyhow::anyhow!("{e}"))
}

fn keygen(site: &str, out: &std::path::Path) -> anyhow::Result<()> {
    if site.is_empty() || !site.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        bail!("site name {site:?} must be letters, digits, '-' or '_'");
    }
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let (private_pem, public_pem) = crate::seal::keys::generate_pem(crate::seal::keys::KEYGEN_SIZE).map_err(anyhow::Error::msg)?;
    let private_path = out.join(format!("{site}.key.pem"));
    let public_path = out.join(format!("{site}.pub.pem"));
    if public_path.exists() || private_path.exists() {
        bail!("a key for site {site:?} already exists in {}; remove it first to replace it", out.display());
    }
    crate::crypto::write_private(&private_path, private_pem.as_bytes())
        .with_context(|| format!("writing {} (it must not exist yet)", private_path.display()))?;
    if public_path.exists() {
        bail!("{} already exists; remove it first to replace the site key", public_path.display());
    }
    std::fs::write(&public_path, public_pem).with_context(|| format!("writing {}", public_path.display()))?;
    println!("{}", public_path.display());
    println!("{}", private_path.display());
    Ok(())
}

async fn tokens(command: TokenCommand) -> anyhow::Result<()> {
    let config_path = match &command {
        TokenCommand::Create { config, .. } | TokenCommand::List { config } | TokenCommand::Revoke { config, .. } => config.clone(),
    };
    let config = load(&config_path)?;
    let store = crate::store::Store::open(&config.store).await?;
    match command {
        TokenCommand::Create { site, scope, .. } => {
            if !config.site.iter().any(|s| s.name == site) {
                bail!("no [[site]] named {site:?} in {}", config_path.display());
            }
            let scope = crate::store::TokenScope::parse(&scope).map_err(anyhow::Error::msg)?;
            println!("{}", store.create_station_token(&site, scope).await?);
        }
        TokenCommand::List { .. } => {
            for t in store.list_station_tokens().await? {
                let last_used = t.last_used_at.map_or_else(|| "never".to_owned(), |at| at.to_string());
                let state = if t.revoked { "revoked" } else { "active" };
                println!("{}\t{}\t{}\t{}\t{last_used}\t{state}", t.id, t.site, t.scope, t.created_at);
            }
        }
        TokenCommand::Revoke { id, .. } => {
            if !store.revoke_station_token(&id).await? {
                bail!("no active token with id {id}");
            }
            println!("revoked {id}");
        }
    }
    Ok(())
}
