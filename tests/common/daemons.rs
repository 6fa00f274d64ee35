//! Daemons a test owns and may kill: a private clamd + spamd (+ the S3 test server) started by
//! `scripts/lib.sh`, and a private PostgreSQL cluster. The shared ones `scripts/test` starts
//! serve every test at once and must never be stopped by one.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn lib_sh() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/lib.sh")
}

fn bash(script: &str) -> bool {
    Command::new("bash").arg("-c").arg(script).status().unwrap().success()
}

/// A private clamd + spamd pair, and with `with_s3` the S3 test server (moto), in their own run
/// directory.
pub struct PrivateDaemons {
    dir: tempfile::TempDir,
}

impl PrivateDaemons {
    pub fn start() -> Self {
        Self::start_with_s3(false)
    }

    pub fn start_with_s3(with_s3: bool) -> Self {
        let dir = tempfile::Builder::new().prefix("pgd").tempdir_in("/tmp").unwrap();
        let s3 = u8::from(with_s3);
        let started =
            bash(&format!("source {} && PG_WITH_RSPAMD=0 PG_WITH_S3={s3} pg_start_daemons {}", lib_sh().display(), dir.path().display()));
        assert!(started, "private daemons did not start");
        Self { dir }
    }

    pub fn env(&self, name: &str) -> String {
        let env = std::fs::read_to_string(self.dir.path().join("env")).unwrap();
        let line = env.lines().find(|l| l.contains(&format!("{name}="))).unwrap_or_else(|| panic!("{name} not in {env}"));
        line.split('\'').nth(1).unwrap().to_owned()
    }

    fn pid(&self, daemon: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(format!("{daemon}.pid"))).unwrap().trim().to_owned()
    }

    /// SIGKILL to `clamd`, `spamd` or `s3`.
    pub fn kill(&self, daemon: &str) {
        Command::new("kill").args(["-KILL", &self.pid(daemon)]).status().unwrap();
    }

    /// SIGSTOP (`freeze`) or SIGCONT (`thaw`): the daemon keeps its sockets but stops answering.
    /// The S3 test server keeps objects in memory only, so an outage of the S3 store is a
    /// freeze, not a restart that would lose what printgate already stored.
    pub fn freeze(&self, daemon: &str) {
        Command::new("kill").args(["-STOP", &self.pid(daemon)]).status().unwrap();
    }

    pub fn thaw(&self, daemon: &str) {
        Command::new("kill").args(["-CONT", &self.pid(daemon)]).status().unwrap();
    }

    fn port_of(&self, name: &str) -> String {
        self.env(name).rsplit(':').next().unwrap().to_owned()
    }

    /// Restarts both scanners on their old addresses.
    pub fn restart(&self) {
        self.restart_only(&["clamd", "spamd"]);
    }

    /// Stops (if still alive) and restarts the named scanners (`clamd`, `spamd`) on their old
    /// addresses. On a loaded machine clamd's start-up has been seen to fail once (an empty
    /// error log, exit status non-zero after loading): that is the harness, not printgate, so
    /// this tries three times.
    pub fn restart_only(&self, daemons: &[&str]) {
        let d = self.dir.path().display();
        let mut script = format!("source {} && ", lib_sh().display());
        for daemon in daemons {
            let (port, check) = match *daemon {
                "clamd" => (self.port_of("PRINTGATE_TEST_CLAMD_TCP"), "clamd"),
                "spamd" => (self.port_of("PRINTGATE_TEST_SPAMD"), "spamd"),
                other => panic!("cannot restart {other}"),
            };
            script.push_str(&format!(
                "if pid=$(pg__live_pid {d}/{check}.pid {check}); then pg__kill_wait $pid; fi; pg__start_{check} {d} {port} && "
            ));
        }
        script.push_str("true");
        let restarted = (0..3).any(|attempt| {
            if attempt > 0 {
                eprintln!("restarting {daemons:?} again (attempt {})", attempt + 1);
                std::thread::sleep(Duration::from_secs(1));
            }
            bash(&script)
        });
        assert!(restarted, "private daemons {daemons:?} did not restart");
    }
}

impl Drop for PrivateDaemons {
    fn drop(&mut self) {
        // A frozen S3 server would ignore the TERM that stops it.
        if let Ok(pid) = std::fs::read_to_string(self.dir.path().join("s3.pid")) {
            let _ = Command::new("kill").args(["-CONT", pid.trim()]).status();
        }
        let _ = bash(&format!("source {} && pg_stop_daemons {}", lib_sh().display(), self.dir.path().display()));
    }
}

/// A private PostgreSQL cluster (initdb in a temporary directory, run as `postgres`) on its own
/// port, so a test can crash it (`pg_ctl stop -m immediate`) without touching the machine's.
pub struct PrivatePostgres {
    dir: tempfile::TempDir,
    bin: PathBuf,
    pub port: u16,
}

impl PrivatePostgres {
    pub fn start() -> Self {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .expect("PostgreSQL server binaries in /usr/lib/postgresql")
            .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
            .filter(|b| b.join("initdb").exists())
            .max()
            .expect("initdb under /usr/lib/postgresql/*/bin");
        let dir = tempfile::Builder::new().prefix("pgpg").tempdir_in("/tmp").unwrap();
        Command::new("chown").args(["-R", "postgres:postgres"]).arg(dir.path()).status().unwrap();
        let data = dir.path().join("data");
        let out = as_postgres(&bin.join("initdb")).args(["-A", "trust", "-U", "postgres", "--no-sync", "-D"]).arg(&data).output().unwrap();
        assert!(out.status.success(), "initdb: {}", String::from_utf8_lossy(&out.stderr));
        let pg = Self { dir, bin, port: super::free_port() };
        pg.start_server();
        let out = Command::new("psql")
            .args(["-h", "127.0.0.1", "-p", &pg.port.to_string(), "-U", "postgres", "-d", "postgres", "-Atc", "CREATE DATABASE printgate"])
            .output()
            .unwrap();
        assert!(out.status.success(), "createdb: {}", String::from_utf8_lossy(&out.stderr));
        pg
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/printgate", self.port)
    }

    fn pg_ctl(&self) -> Command {
        let mut cmd = as_postgres(&self.bin.join("pg_ctl"));
        cmd.arg("-D").arg(self.dir.path().join("data"));
        cmd
    }

    /// Starts the server and waits until it accepts connections.
    pub fn start_server(&self) {
        let options = format!("-p {} -c listen_addresses=127.0.0.1 -k {}", self.port, self.dir.path().display());
        let out = self
            .pg_ctl()
            .args(["-w", "-t", "60", "-l"])
            .arg(self.dir.path().join("log"))
            .args(["-o", &options, "start"])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(out.status.success(), "pg_ctl start: {}{}", String::from_utf8_lossy(&out.stderr), self.log());
    }

    /// Stops the server the way a crash or power cut would: no checkpoint, recovery at start.
    pub fn crash(&self) {
        let out = self.pg_ctl().args(["-m", "immediate", "stop"]).output().unwrap();
        assert!(out.status.success(), "pg_ctl stop: {}", String::from_utf8_lossy(&out.stderr));
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default()
    }

    /// Rows of a query (columns joined with `|`), read with psql.
    pub fn sql(&self, query: &str) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let out = Command::new("psql")
                .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", "postgres", "-d", "printgate"])
                .args(["-v", "ON_ERROR_STOP=1", "-AtF|", "-c", query])
                .output()
                .unwrap();
            if out.status.success() {
                return String::from_utf8_lossy(&out.stdout).lines().map(str::to_owned).collect();
            }
            assert!(Instant::now() < deadline, "psql {query}: {}", String::from_utf8_lossy(&out.stderr));
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let _ = self.pg_ctl().args(["-m", "immediate", "stop"]).output();
    }
}

fn as_postgres(program: &Path) -> Command {
    let mut cmd = Command::new("runuser");
    cmd.args(["-u", "postgres", "--"]).arg(program);
    cmd
}
