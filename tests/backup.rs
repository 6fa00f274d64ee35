//! `printgate backup` and `printgate restore` against real servers ([5/8] acceptance 3): a server
//! with a job is backed up while it runs (on SQLite, and on PostgreSQL with `pg_dump`), the
//! backup is restored into a new, empty installation, and there the patron's code releases the
//! very same PDF the first server released. A damaged backup, or a target that is not empty,
//! is refused with nothing changed.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::{BIN, PgDatabase, Relay, Scanners, Server};

fn cli(args: &[&str]) -> (bool, String) {
    let out = Command::new(BIN).args(args).output().unwrap();
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

/// A server whose store is `database` (`None`: its own SQLite file).
fn server(relay: &Relay, database: Option<&str>) -> Server {
    let database = database.map(str::to_owned);
    Server::start_custom(&Scanners::real(), relay.port, "", "", &move |config, dir| match &database {
        Some(url) => {
            let sqlite = format!("database_url = \"sqlite://{}/data/printgate.db\"", dir.display());
            assert!(config.contains(&sqlite));
            config.replace(&sqlite, &format!("database_url = \"{url}\""))
        }
        None => config,
    })
}

/// The PDFs a release of `code` through `server` writes, by name.
fn release(server: &Server, code: &str, key: &Path, out: &Path) -> Vec<(String, Vec<u8>)> {
    let result = common::station_release(server, &server.station_token(), code, &[key], out);
    assert!(result.status.success(), "release failed: {}", String::from_utf8_lossy(&result.stderr));
    let mut files: Vec<PathBuf> = std::fs::read_dir(out).unwrap().flatten().map(|e| e.path()).collect();
    files.sort();
    files.iter().map(|f| (f.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(f).unwrap())).collect()
}

/// Mail, back up while running, release on the first server; restore into a second, empty one
/// (`database_b`), release there: the same PDFs.
fn backup_and_restore(database_a: Option<&str>, database_b: Option<&str>) {
    let work = tempfile::tempdir().unwrap();
    let relay = Relay::start(&work.path().join("relay"));
    let a = server(&relay, database_a);
    let t =
        a.swaks("patron@example.com", "please print", &[&common::console::fixture("simple.pdf"), &common::console::fixture("colour.pdf")]);
    assert!(t.contains("250 2.0.0 Ok: queued as"), "{t}");
    let code = common::release_code(&relay.wait_for(1, Duration::from_secs(90))[0]);

    let backup = work.path().join("backup");
    let (ok, said) = cli(&["backup", "--out", backup.to_str().unwrap(), "--config", a.config.to_str().unwrap()]);
    assert!(ok, "{said}");
    assert!(said.contains("2 sealed job(s)"), "{said}");
    let (ok, said) = cli(&["backup", "--out", backup.to_str().unwrap(), "--config", a.config.to_str().unwrap()]);
    assert!(!ok && said.contains("is not empty"), "a second backup into the same directory: {said}");
    assert!(!backup.join("keys").join("main.key.pem").exists() && backup.join("keys/secret.key").exists());
    let released_a = release(&a, &code, &a.key_path(), &work.path().join("out-a"));
    assert_eq!(released_a.len(), 2);

    // A new installation: started once (as after install), stopped, its store emptied.
    let mut b = server(&relay, database_b);
    assert!(b.terminate().success());
    for entry in std::fs::read_dir(b.data_dir()).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() { std::fs::remove_dir_all(&path).unwrap() } else { std::fs::remove_file(&path).unwrap() }
    }
    // A damaged backup is refused, nothing restored.
    let blob = std::fs::read_dir(backup.join("blobs/jobs")).unwrap().flatten().next().unwrap().path();
    let original = std::fs::read(&blob).unwrap();
    std::fs::write(&blob, b"damaged").unwrap();
    let (ok, said) = cli(&["restore", "--from", backup.to_str().unwrap(), "--config", b.config.to_str().unwrap()]);
    assert!(!ok && said.contains("is damaged"), "{said}");
    std::fs::write(&blob, original).unwrap();

    let (ok, said) = cli(&["restore", "--from", backup.to_str().unwrap(), "--config", b.config.to_str().unwrap()]);
    assert!(ok, "{said}");
    let (ok, said) = cli(&["restore", "--from", backup.to_str().unwrap(), "--config", b.config.to_str().unwrap()]);
    assert!(!ok, "restoring over a store that holds data: {said}");
    b.spawn();
    let released_b = release(&b, &code, &a.key_path(), &work.path().join("out-b"));
    assert_eq!(released_b, released_a, "the restored code releases other PDFs");
}

#[test]
fn a_sqlite_installation_is_restored_and_its_codes_release_the_same_pdfs() {
    backup_and_restore(None, None);
}

#[test]
fn a_postgresql_installation_is_restored_and_its_codes_release_the_same_pdfs() {
    let (db_a, db_b) = (PgDatabase::create(), PgDatabase::create());
    backup_and_restore(Some(&db_a.url), Some(&db_b.url));
}
