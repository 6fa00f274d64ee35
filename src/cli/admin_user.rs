//! `printgate admin-user`: console accounts from the command line — create one with a role,
//! set a password, list the accounts. Passwords come from standard input, never arguments
//! (those show in `ps`). No logic lives here: hashing is `crate::admin::auth`, storing
//! `crate::store`.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Subcommand;

use crate::config::Config;
use crate::store::accounts::Role;

#[derive(Subcommand, Debug)]
pub enum AdminUserCommand {
    /// Create an account; the password is the first line of standard input (at least 12 characters).
    Add {
        name: String,
        /// `admin`: every console page; `staff`: the dashboard, the message trace and the jobs.
        #[arg(long, value_parser = ["admin", "staff"], default_value = "admin")]
        role: String,
        #[arg(long, default_value = "config/printgate.toml")]
        config: PathBuf,
    },
    /// Set a new password (first line of standard input), lift a lock-out and end every session
    /// of the account.
    SetPassword {
        name: String,
        #[arg(long, default_value = "config/printgate.toml")]
        config: PathBuf,
    },
    /// List the accounts: name, role, enabled or disabled, open sessions, last login.
    List {
        #[arg(long, default_value = "config/printgate.toml")]
        config: PathBuf,
    },
}

/// Runs an `admin-user` command; `load` reads the config file.
///
/// # Errors
/// A bad name or role, a weak password, a taken name, or the store.
pub async fn run(command: AdminUserCommand, load: fn(&Path) -> anyhow::Result<Config>) -> anyhow::Result<()> {
    match command {
        AdminUserCommand::List { config } => list(&crate::store::Store::open(&load(&config)?.store).await?).await,
        AdminUserCommand::Add { name, role, config } => {
            let role = Role::parse(&role).map_err(anyhow::Error::msg)?;
            let hash = password_hash(&name)?;
            let store = crate::store::Store::open(&load(&config)?.store).await?;
            if !store.create_console_account(&name, &hash, role).await? {
                bail!("an account named {name:?} exists already; use `admin-user set-password`");
            }
            println!("{} account {name} created", role.as_str());
            Ok(())
        }
        AdminUserCommand::SetPassword { name, config } => {
            let hash = password_hash(&name)?;
            let store = crate::store::Store::open(&load(&config)?.store).await?;
            store.set_admin_password(&name, &hash).await.map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
            // A new password lifts the account's lock-out (not its address's).
            let key =
                crate::net::throttle::store_key(crate::admin::THROTTLE_SCOPE, &crate::net::throttle::ThrottleKey::Account(name.clone()));
            store.clear_attempts(&key).await?;
            println!("password of {name} set; its console sessions are ended");
            Ok(())
        }
    }
}

/// Checks the account name, reads the password from the first line of standard input and
/// hashes it.
fn password_hash(name: &str) -> anyhow::Result<String> {
    if name.is_empty() || name.len() > 64 || !name.chars().all(|c| c.is_ascii_alphanumeric() || "._-@".contains(c)) {
        bail!("account name {name:?} must be 1-64 letters, digits, '.', '_', '-' or '@'");
    }
    let mut password = String::new();
    std::io::stdin().read_line(&mut password).context("reading the password from standard input")?;
    Ok(crate::admin::auth::hash_password(password.trim_end_matches(['\n', '\r']))?)
}

/// One tab-separated line per account: name, role, `enabled`/`disabled`, open sessions, last
/// login (`never` when not known).
async fn list(store: &crate::store::Store) -> anyhow::Result<()> {
    for a in store.console_accounts().await? {
        let last_login = a.last_login_at.map_or_else(|| "never".to_owned(), crate::admin::pages::fmt_time);
        let state = if a.disabled { "disabled" } else { "enabled" };
        println!("{}\t{}\t{state}\t{} session(s)\t{last_login}", a.name, a.role.as_str(), a.sessions.len());
    }
    Ok(())
}
