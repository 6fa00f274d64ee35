//! `printgate backup --out DIR` and `printgate restore --from DIR`: a copy of everything a
//! printgate installation needs to go on releasing its jobs, and putting it into an empty one.
//!
//! A backup directory holds (docs/operations.md#backup-and-restore):
//! - `database.sqlite` (a consistent `VACUUM INTO` copy, taken while the server runs) or
//!   `database.sql` (`pg_dump`, plain SQL, one snapshot);
//! - `blobs/jobs/…`: every sealed job (encrypted to the site keys), copied after the database;
//! - `keys/secret.key`: the store secret (release-code hashes and the outbox are keyed by it:
//!   without it no code releases anything), the sites' public keys and the DKIM key;
//! - `printgate.toml`: the configuration file;
//! - `manifest.json`: what is where, with SHA-256 sums.
//!
//! Not in it: the sites' private keys (they stay at the stations), the spool (mail being
//! processed: let the server finish it first), the relay password file.
//!
//! Restore writes the database, the store secret and the blobs of a backup into the store the
//! target configuration names, which must be empty; then `printgate serve` migrates it if the
//! backup is older. It uses only the store's own interfaces and `pg_dump`/`psql` for PostgreSQL,
//! whose connection goes through libpq's environment (`PGHOST`, `PGPASSWORD`, …), never the
//! command line.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use crate::config::Config;
use crate::store::Store;

const MANIFEST: &str = "manifest.json";
const SQLITE_FILE: &str = "database.sqlite";
const PG_FILE: &str = "database.sql";
const SECRET: &str = "keys/secret.key";

/// What a backup or restore did.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub created_at: i64,
    /// `sqlite` or `postgres`.
    pub database: String,
    pub blobs: usize,
    /// Files of the backup (relative paths) and their SHA-256.
    pub files: Vec<(String, String)>,
}

/// Backs up the installation of `config` (read from `config_path`) into `out`.
///
/// # Errors
/// `out` is not empty; the database, a blob or a file cannot be read or written.
pub async fn backup(config: &Config, config_path: &Path, out: &Path) -> anyhow::Result<Manifest> {
    if out.read_dir().is_ok_and(|mut d| d.next().is_some()) {
        bail!("{} is not empty: a backup goes into a new directory", out.display());
    }
    std::fs::create_dir_all(out.join("keys/sites")).with_context(|| format!("creating {}", out.display()))?;
    private_dir(out)?;
    let store = Store::open(&config.store).await.context("opening the store")?;
    let database = if store.is_sqlite() {
        store.snapshot_sqlite(&out.join(SQLITE_FILE)).await.context("copying the SQLite database")?;
        "sqlite"
    } else {
        pg_tool("pg_dump", &["--no-owner", "--no-privileges", "--file"], &out.join(PG_FILE), &config.store.database_url)?;
        "postgres"
    };
    let mut blobs = 0;
    for key in store.blobs().list_older_than("jobs/", i64::MAX).await.context("listing the sealed jobs")? {
        let bytes = match store.blobs().get(&key).await {
            Ok(b) => b,
            // Printed or expired since the database copy: its row is gone too, or will be.
            Err(crate::store::StoreError::NotFound) => continue,
            Err(e) => return Err(e).context(format!("reading sealed job {key}")),
        };
        write_new(&out.join("blobs").join(&key), &bytes)?;
        blobs += 1;
    }
    copy_private(&config.store.secret_file, &out.join(SECRET))?;
    for site in &config.site {
        copy(&site.public_key, &out.join(format!("keys/sites/{}.pub.pem", site.name)))?;
    }
    if let Some(dkim) = &config.relay.dkim_key {
        copy_private(dkim, &out.join("keys/dkim.pem"))?;
    }
    copy(config_path, &out.join("printgate.toml"))?;
    let manifest = Manifest { format: 1, created_at: crate::store::now(), database: database.into(), blobs, files: sums(out)? };
    std::fs::write(out.join(MANIFEST), serde_json::to_vec_pretty(&manifest)?)?;
    Ok(manifest)
}

/// Restores the backup in `from` into the (empty) store of `config`.
///
/// # Errors
/// The backup is damaged or of another database kind, the target store is not empty, its secret
/// differs, or a write fails.
pub async fn restore(config: &Config, from: &Path) -> anyhow::Result<Manifest> {
    let manifest: Manifest = serde_json::from_slice(&std::fs::read(from.join(MANIFEST)).context("reading the backup's manifest.json")?)
        .context("the backup's manifest.json does not parse")?;
    for (file, sum) in &manifest.files {
        let bytes = std::fs::read(from.join(file)).with_context(|| format!("the backup lacks {file}"))?;
        if crate::crypto::sha256_hex(&bytes) != *sum {
            bail!("{file} in the backup is damaged (its SHA-256 differs from manifest.json); nothing was restored");
        }
    }
    let secret = std::fs::read(from.join(SECRET)).context("reading the backup's store secret")?;
    match std::fs::read(&config.store.secret_file) {
        Ok(existing) if existing != secret => bail!(
            "{} holds another store secret: restore into a new installation (remove the file if it has never served)",
            config.store.secret_file.display()
        ),
        Ok(_) => {}
        Err(_) => {
            if let Some(dir) = config.store.secret_file.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)?;
            }
            crate::crypto::write_private(&config.store.secret_file, &secret).context("writing the store secret")?;
        }
    }
    let sqlite = config.store.database_url.starts_with("sqlite:");
    match (manifest.database.as_str(), sqlite) {
        ("sqlite", true) => restore_sqlite(config, from)?,
        ("postgres", false) => {
            let store = Store::open(&config.store).await.context("opening the target store")?;
            if !store.is_empty().await? {
                bail!("the target database already holds messages: restore into an empty one");
            }
            drop(store);
            // The dump creates its own tables: start from an empty schema.
            pg_psql(&config.store.database_url, "DROP SCHEMA public CASCADE; CREATE SCHEMA public;")?;
            pg_tool("psql", &["-v", "ON_ERROR_STOP=1", "-q", "-f"], &from.join(PG_FILE), &config.store.database_url)?;
        }
        (kind, _) => bail!("the backup holds a {kind} database; the target store is {}", if sqlite { "SQLite" } else { "PostgreSQL" }),
    }
    let store = Store::open(&config.store).await.context("opening the restored store")?;
    let root = from.join("blobs");
    for file in walk(&root)? {
        let key = file.strip_prefix(&root)?.to_string_lossy().replace('\\', "/");
        store.blobs().put(&key, std::fs::read(&file)?).await.with_context(|| format!("writing sealed job {key}"))?;
    }
    Ok(manifest)
}

/// Copies the snapshot into place: the target database file must not hold anything yet.
fn restore_sqlite(config: &Config, from: &Path) -> anyhow::Result<()> {
    let path = PathBuf::from(config.store.database_url.trim_start_matches("sqlite://").trim_start_matches("sqlite:"));
    let path = PathBuf::from(path.to_string_lossy().split('?').next().unwrap_or_default());
    if std::fs::metadata(&path).is_ok_and(|m| m.len() > 0) {
        bail!("{} exists: restore into an empty store (stop the server and move the file away first)", path.display());
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::copy(from.join(SQLITE_FILE), &path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// libpq's `PG*` variables for the database URL `url` (so that the password never shows in
/// `ps`), and its query options (`sslmode=…`) as `PGSSLMODE` and the like.
fn pg_env(url: &str) -> anyhow::Result<Vec<(String, String)>> {
    let u = url::Url::parse(url).context("store.database_url is not a URL")?;
    let decode = |s: &str| percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned();
    let mut env = vec![("PGDATABASE".to_owned(), decode(u.path().trim_start_matches('/')))];
    if let Some(host) = u.host_str() {
        env.push(("PGHOST".into(), host.trim_start_matches('[').trim_end_matches(']').to_owned()));
    }
    if let Some(port) = u.port() {
        env.push(("PGPORT".into(), port.to_string()));
    }
    if !u.username().is_empty() {
        env.push(("PGUSER".into(), decode(u.username())));
    }
    if let Some(password) = u.password() {
        env.push(("PGPASSWORD".into(), decode(password)));
    }
    for (k, v) in u.query_pairs() {
        env.push((format!("PG{}", k.to_ascii_uppercase()), v.into_owned()));
    }
    Ok(env)
}

/// Runs `tool ARGS FILE` with the database's connection in libpq's variables ([`pg_env`]).
fn pg_tool(tool: &str, args: &[&str], file: &Path, url: &str) -> anyhow::Result<()> {
    let out = std::process::Command::new(tool)
        .args(args)
        .arg(file)
        .envs(pg_env(url)?)
        .output()
        .with_context(|| format!("running {tool} (package postgresql-client)"))?;
    if !out.status.success() {
        bail!("{tool} failed: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(())
}

fn pg_psql(url: &str, sql: &str) -> anyhow::Result<()> {
    let out = std::process::Command::new("psql").args(["-v", "ON_ERROR_STOP=1", "-q", "-c", sql]).envs(pg_env(url)?).output()?;
    if !out.status.success() {
        bail!("psql failed: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(())
}

fn private_dir(out: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(out, std::fs::Permissions::from_mode(0o700)).with_context(|| format!("making {} private", out.display()))
}

fn write_new(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
}

fn copy(from: &Path, to: &Path) -> anyhow::Result<()> {
    let bytes = std::fs::read(from).with_context(|| format!("reading {}", from.display()))?;
    write_new(to, &bytes)
}

fn copy_private(from: &Path, to: &Path) -> anyhow::Result<()> {
    let bytes = std::fs::read(from).with_context(|| format!("reading {}", from.display()))?;
    crate::crypto::write_private(to, &bytes).with_context(|| format!("writing {}", to.display()))
}

/// Every file under `root` (none when it does not exist).
fn walk(root: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries {
            let path = entry?.path();
            if path.is_dir() { dirs.push(path) } else { files.push(path) }
        }
    }
    files.sort();
    Ok(files)
}

/// `(relative path, SHA-256)` of every file under `out`.
fn sums(out: &Path) -> anyhow::Result<Vec<(String, String)>> {
    walk(out)?
        .into_iter()
        .map(|f| Ok((f.strip_prefix(out)?.to_string_lossy().into_owned(), crate::crypto::sha256_hex(&std::fs::read(&f)?))))
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_database_url_becomes_libpqs_variables() {
        let env = super::pg_env("postgres://print%40gate:p%2Fw+x@db.example:5433/print%20db?sslmode=require").unwrap();
        let get = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("PGDATABASE"), Some("print db"));
        assert_eq!(get("PGHOST"), Some("db.example"));
        assert_eq!(get("PGPORT"), Some("5433"));
        assert_eq!(get("PGUSER"), Some("print@gate"));
        assert_eq!(get("PGPASSWORD"), Some("p/w+x"));
        assert_eq!(get("PGSSLMODE"), Some("require"));
        let local = super::pg_env("postgres://postgres@127.0.0.1/test").unwrap();
        assert!(!local.iter().any(|(k, _)| k == "PGPASSWORD" || k == "PGPORT"), "{local:?}");
    }
}
