//! The LibreOffice worker pool.
//!
//! Owns long-running headless LibreOffice processes. Each worker is a small Python bridge
//! (`lo_bridge.py`, embedded in the binary and written next to the profiles) that starts its own
//! `soffice` with its own fresh profile (macros disabled, links never updated), connects over a
//! private UNO pipe and converts one document at a time on request. Workers run in their own
//! network namespace when the host allows (`unshare`), so a document cannot reach the network
//! even through a converter bug.
//!
//! Faults: a document that runs past the time limit gets its worker killed (the whole process
//! group) and a replacement started; a worker that dies is replaced; a worker is recycled after
//! `recycle_after` documents. A worker that cannot start at all is infrastructure trouble
//! ([`ConvertError::Unavailable`]): the message stays spooled and is retried.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout};
use tokio::sync::Semaphore;

use super::ConvertError;
use crate::config::ConvertConfig;

const BRIDGE: &str = include_str!("lo_bridge.py");
/// A fresh profile plus soffice start: seconds on a busy two-core machine.
const START_TIMEOUT: Duration = Duration::from_secs(120);

/// How workers are cut off from the network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Isolation {
    /// `unshare --net` (running as root).
    NetNamespace,
    /// `unshare --user --map-root-user --net` (unprivileged user namespaces).
    UserAndNetNamespace,
    /// Not isolated (disabled in the config, or the host forbids namespaces).
    None,
}

impl Isolation {
    fn prefix(&self) -> &'static [&'static str] {
        match self {
            Self::NetNamespace => &["unshare", "--net"],
            Self::UserAndNetNamespace => &["unshare", "--user", "--map-root-user", "--net"],
            Self::None => &[],
        }
    }

    /// The strongest isolation that works on this host.
    fn detect(wanted: bool) -> Self {
        if !wanted {
            return Self::None;
        }
        for candidate in [Self::NetNamespace, Self::UserAndNetNamespace] {
            let prefix = candidate.prefix();
            let ok = std::process::Command::new(prefix[0])
                .args(&prefix[1..])
                .arg("true")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if ok {
                return candidate;
            }
        }
        tracing::warn!("LibreOffice workers run without network isolation: this host allows no network namespaces");
        Self::None
    }
}

/// The pool. Cheap to share behind an `Arc`.
pub struct OfficePool {
    size: usize,
    soffice: PathBuf,
    python: PathBuf,
    profiles: PathBuf,
    bridge: PathBuf,
    timeout: Duration,
    recycle_after: u32,
    isolation: Isolation,
    idle: Mutex<Vec<Worker>>,
    permits: Semaphore,
    next_id: AtomicU64,
    restarts: AtomicU64,
}

impl OfficePool {
    /// Prepares the pool (profile directory, bridge script, isolation probe); starts nothing.
    ///
    /// # Errors
    /// When the profile directory cannot be prepared.
    pub fn new(config: &ConvertConfig) -> std::io::Result<Arc<Self>> {
        let profiles = std::path::absolute(&config.profile_dir)?;
        std::fs::create_dir_all(&profiles)?;
        super::scratch::remove_stale(&profiles, "worker-");
        let bridge = profiles.join("lo_bridge.py");
        std::fs::write(&bridge, BRIDGE)?;
        Ok(Arc::new(Self {
            size: config.office_workers,
            soffice: config.soffice.clone(),
            python: config.uno_python.clone(),
            profiles,
            bridge,
            timeout: config.office_timeout,
            recycle_after: config.office_recycle_after.max(1),
            isolation: Isolation::detect(config.isolate_network),
            idle: Mutex::new(Vec::new()),
            permits: Semaphore::new(config.office_workers),
            next_id: AtomicU64::new(0),
            restarts: AtomicU64::new(0),
        }))
    }

    pub fn isolation(&self) -> &Isolation {
        &self.isolation
    }

    /// Workers killed or found dead and replaced so far (time-outs, crashes).
    pub fn restarts(&self) -> u64 {
        self.restarts.load(Ordering::Relaxed)
    }

    /// Main process ids of the idle workers' soffice (for tests and diagnostics).
    pub fn idle_office_pids(&self) -> Vec<u32> {
        self.idle.lock().map(|idle| idle.iter().map(|w| w.office_pid).collect()).unwrap_or_default()
    }

    /// Starts every worker now (in the background of the caller's choosing).
    pub async fn prestart(self: &Arc<Self>) {
        let starts = (0..self.size).map(|_| {
            let pool = self.clone();
            async move {
                let Ok(_permit) = pool.permits.acquire().await else { return };
                match pool.spawn().await {
                    Ok(worker) => pool.put_back(worker),
                    Err(e) => tracing::error!(error = %e, "a LibreOffice worker cannot start"),
                }
            }
        });
        futures::future::join_all(starts).await;
    }

    /// Converts `input` to PDF at `output` with a free worker.
    ///
    /// # Errors
    /// [`ConvertError::Timeout`], [`ConvertError::OfficeFailed`], [`ConvertError::OfficeCrashed`]
    /// for the document; [`ConvertError::Unavailable`] when no worker can start.
    pub async fn convert(self: &Arc<Self>, input: &Path, output: &Path, filter: Option<(&str, &str)>) -> Result<(), ConvertError> {
        if self.size == 0 {
            return Err(ConvertError::Unavailable("no LibreOffice workers are configured (convert.office_workers = 0)".into()));
        }
        let _permit = self.permits.acquire().await.map_err(|_| ConvertError::Unavailable("the LibreOffice pool is shut down".into()))?;
        let popped = self.idle.lock().ok().and_then(|mut idle| idle.pop());
        let mut worker = match popped {
            Some(w) => w,
            None => self.spawn().await?,
        };
        let (filter, options) = filter.unwrap_or_default();
        let request = serde_json::json!({ "in": input, "out": output, "filter": filter, "options": options });
        // A worker that dies is retried once on a fresh one: a worker killed from outside (the
        // OOM killer, an operator, a crash while idle) must not cost a patron the document. A
        // document that kills a second, fresh worker is the cause and is refused.
        let mut fresh = false;
        loop {
            match tokio::time::timeout(self.timeout, worker.request(&request)).await {
                Ok(Ok(Reply { ok: true, .. })) => {
                    worker.documents += 1;
                    if worker.documents < self.recycle_after {
                        self.put_back(worker);
                    } else {
                        tracing::info!(worker = worker.id, documents = worker.documents, "recycling a LibreOffice worker");
                        drop(worker);
                        self.replace_in_background();
                    }
                    return Ok(());
                }
                Ok(Ok(Reply { error, .. })) => {
                    self.put_back(worker);
                    return Err(ConvertError::OfficeFailed(error.unwrap_or_else(|| "no reason given".into())));
                }
                Ok(Err(e)) => {
                    tracing::warn!(worker = worker.id, error = %e, retry = !fresh, "a LibreOffice worker died while converting; replacing it");
                    self.restarts.fetch_add(1, Ordering::Relaxed);
                    drop(worker);
                    if fresh {
                        self.replace_in_background();
                        return Err(ConvertError::OfficeCrashed);
                    }
                    fresh = true;
                    worker = self.spawn().await?;
                }
                Err(_) => {
                    tracing::warn!(worker = worker.id, limit = ?self.timeout, "a document ran past the conversion time limit; killing its LibreOffice worker");
                    self.restarts.fetch_add(1, Ordering::Relaxed);
                    drop(worker);
                    self.replace_in_background();
                    return Err(ConvertError::Timeout(self.timeout));
                }
            }
        }
    }

    /// Returns a healthy worker to the idle list (never more than the pool size).
    fn put_back(&self, worker: Worker) {
        if let Ok(mut idle) = self.idle.lock()
            && idle.len() < self.size
        {
            idle.push(worker);
        }
    }

    /// Starts a replacement worker without making the current caller wait for it.
    fn replace_in_background(self: &Arc<Self>) {
        let pool = self.clone();
        tokio::spawn(async move {
            let Ok(_permit) = pool.permits.acquire().await else { return };
            match pool.spawn().await {
                Ok(worker) => pool.put_back(worker),
                Err(e) => tracing::error!(error = %e, "a replacement LibreOffice worker cannot start"),
            }
        });
    }

    async fn spawn(&self) -> Result<Worker, ConvertError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let name = format!("worker-{}-{id}", std::process::id());
        let profile = self.profiles.join(&name);
        let unavailable = |what: &str, e: &dyn std::fmt::Display| ConvertError::Unavailable(format!("LibreOffice worker: {what}: {e}"));
        if profile.exists() {
            std::fs::remove_dir_all(&profile).map_err(|e| unavailable("cannot clear its profile", &e))?;
        }
        std::fs::create_dir_all(profile.join("tmp")).map_err(|e| unavailable("cannot create its profile", &e))?;
        let prefix = self.isolation.prefix();
        let mut cmd = match prefix.split_first() {
            Some((program, args)) => {
                let mut c = tokio::process::Command::new(program);
                c.args(args).arg(&self.python);
                c
            }
            None => tokio::process::Command::new(&self.python),
        };
        cmd.arg(&self.bridge)
            .arg(&self.soffice)
            .arg(&profile)
            .arg(format!("printgate-{name}"))
            // soffice's own temporary files go inside the profile, which is removed with the worker.
            .env("TMPDIR", profile.join("tmp"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        let mut child = cmd.spawn().map_err(|e| unavailable(&format!("cannot run {}", self.python.display()), &e))?;
        let pgid = child.id().and_then(|p| i32::try_from(p).ok()).unwrap_or(0);
        let (Some(stdin), Some(stdout), Some(stderr)) = (child.stdin.take(), child.stdout.take(), child.stderr.take()) else {
            return Err(ConvertError::Unavailable("LibreOffice worker: no pipes".into()));
        };
        tokio::spawn(log_stderr(id, stderr));
        let mut worker = Worker { id, child, pgid, stdin, stdout: BufReader::new(stdout).lines(), documents: 0, office_pid: 0, profile };
        let ready = tokio::time::timeout(START_TIMEOUT, worker.stdout.next_line()).await;
        let line = match ready {
            Ok(Ok(Some(line))) => line,
            Ok(Ok(None)) => {
                let status = worker.child.wait().await.map(|s| s.to_string()).unwrap_or_default();
                return Err(ConvertError::Unavailable(format!(
                    "LibreOffice worker exited during start-up ({status}); is LibreOffice installed (soffice = {})?",
                    self.soffice.display()
                )));
            }
            Ok(Err(e)) => return Err(unavailable("start-up failed", &e)),
            Err(_) => return Err(ConvertError::Unavailable(format!("LibreOffice worker did not start within {START_TIMEOUT:?}"))),
        };
        let hello: serde_json::Value = serde_json::from_str(&line).map_err(|e| unavailable("unexpected start-up line", &e))?;
        worker.office_pid = hello.get("pid").and_then(serde_json::Value::as_u64).and_then(|p| u32::try_from(p).ok()).unwrap_or(0);
        if !worker.warm_up().await {
            // A worker that cannot convert one line of text (or answered out of turn) is not
            // given real documents.
            return Err(ConvertError::Unavailable("LibreOffice worker failed its warm-up conversion".into()));
        }
        tracing::info!(worker = id, isolation = ?self.isolation, "LibreOffice worker ready");
        Ok(worker)
    }
}

async fn log_stderr(id: u64, stderr: tokio::process::ChildStderr) {
    let mut lines = BufReader::new(stderr).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        tracing::warn!(worker = id, message = %line.chars().take(300).collect::<String>(), "LibreOffice worker");
    }
}

#[derive(Debug, serde::Deserialize)]
struct Reply {
    ok: bool,
    #[serde(default)]
    error: Option<String>,
}

struct Worker {
    id: u64,
    child: Child,
    pgid: i32,
    stdin: ChildStdin,
    stdout: Lines<BufReader<ChildStdout>>,
    documents: u32,
    office_pid: u32,
    profile: PathBuf,
}

impl Worker {
    /// Converts a one-line text once: LibreOffice's first document loads the Writer and PDF
    /// export code (~300 ms more than later ones), which no patron should wait for.
    async fn warm_up(&mut self) -> bool {
        let (input, output) = (self.profile.join("tmp/warm-up.txt"), self.profile.join("tmp/warm-up.pdf"));
        if std::fs::write(&input, "printgate\n").is_err() {
            return false;
        }
        let request = serde_json::json!({ "in": input, "out": output, "filter": "Text (encoded)", "options": "UTF8,LF,,," });
        let ok = match tokio::time::timeout(START_TIMEOUT, self.request(&request)).await {
            Ok(Ok(Reply { ok: true, .. })) => true,
            other => {
                tracing::warn!(worker = self.id, outcome = ?other.map(|r| r.map(|r| r.error)), "LibreOffice worker warm-up failed");
                false
            }
        };
        let _ = (std::fs::remove_file(input), std::fs::remove_file(output));
        ok
    }

    async fn request(&mut self, request: &serde_json::Value) -> std::io::Result<Reply> {
        let mut line = request.to_string();
        line.push('\n');
        self.stdin.write_all(line.as_bytes()).await?;
        self.stdin.flush().await?;
        let reply =
            self.stdout.next_line().await?.ok_or_else(|| std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "the worker exited"))?;
        serde_json::from_str(&reply).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
    }
}

impl Drop for Worker {
    /// Kills the bridge and its soffice (one process group) and removes the profile.
    fn drop(&mut self) {
        if self.pgid > 0 {
            // SAFETY: signalling our own child's process group.
            unsafe { libc::kill(-self.pgid, libc::SIGKILL) };
        }
        let _ = self.child.start_kill();
        let _ = self.child.try_wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}
