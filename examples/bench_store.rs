//! Benchmark of the sealed shared store: seal + store and fetch + open of one print job, for
//! 100 KB and 10 MB PDFs, on each back end (SQLite + local blobs, PostgreSQL + local blobs,
//! PostgreSQL + S3), each beside a reference measured in the same run:
//!
//! - store reference: seal alone, then the same sealed bytes written raw (local: a new file,
//!   write + fsync; S3: one plain HTTP PUT to the same server, no SDK);
//! - fetch reference: the raw bytes read back (local: read the file; S3: one plain HTTP GET),
//!   then open alone.
//!
//! The printgate path is the library's: `seal` + `Store::record` (blob put, SHA-256, SQL
//! transaction); `Store::release` + `Store::job` + `Blobs::get` + the station's SHA-256 check +
//! `open`. Every step is timed on its own, so the summary shows where the time goes; the store's
//! blob API (object_store) is also timed alone. One client, one job per message, sequential:
//! latency and single-stream throughput, not concurrency. The reference, printgate and blob-API
//! operations of one cell are interleaved (one of each per iteration, rotating order), so a
//! burst of background load hits all of them alike; ops/s is iterations / summed latency.
//!
//! Run by `scripts/bench/store`, which starts the S3 test server (moto), creates a fresh
//! PostgreSQL database and bucket, and passes them here:
//!
//!   bench_store --dir DIR [--postgres URL] [--s3 s3://BUCKET/PREFIX --s3-endpoint URL]
//!
//! The `AWS_*` variables of the store's S3 client must be set for `--s3` (the script does).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::Parser;
use printgate::config::StoreConfig;
use printgate::seal::{self, Expect, SitePrivateKey, SitePublicKey};
use printgate::store::{NewJob, NewMessage, Recorded, ReleaseCode, Store};

const SITE: &str = "main";
const KB: usize = 1024;
const MB: usize = 1024 * 1024;

#[derive(Parser)]
#[command(about = "Benchmark of the sealed shared store (see scripts/bench/store)")]
struct Args {
    /// Working directory: SQLite files, local blobs, the reference files.
    #[arg(long)]
    dir: PathBuf,
    /// A fresh PostgreSQL database (postgres://...); without it the PostgreSQL back ends are skipped.
    #[arg(long)]
    postgres: Option<String>,
    /// The blob URL of a fresh bucket (s3://BUCKET/PREFIX); needs --postgres and --s3-endpoint.
    #[arg(long)]
    s3: Option<String>,
    /// The S3 server (http://127.0.0.1:PORT), for the plain HTTP reference.
    #[arg(long)]
    s3_endpoint: Option<String>,
    /// The S3 server's pid, for the CPU table.
    #[arg(long)]
    s3_pid: Option<u32>,
    /// Measured iterations for the 100 KB jobs.
    #[arg(long, default_value_t = 50)]
    small_n: usize,
    /// Measured iterations for the 10 MB jobs.
    #[arg(long, default_value_t = 10)]
    large_n: usize,
    /// Warm-up iterations (not measured) before each series: 100 KB jobs.
    #[arg(long, default_value_t = 3)]
    small_warmup: usize,
    /// Warm-up iterations before each series: 10 MB jobs.
    #[arg(long, default_value_t = 1)]
    large_warmup: usize,
    /// The command line for the docs rows.
    #[arg(long, default_value = "scripts/bench/store")]
    command: String,
    /// The machine description for the docs rows.
    #[arg(long, default_value = "")]
    machine: String,
}

// --- measuring --------------------------------------------------------------------------------

/// Nearest-rank percentile, as scripts/bench/benchlib.py.
fn percentile(values: &[f64], p: f64) -> f64 {
    let mut s = values.to_vec();
    s.sort_by(f64::total_cmp);
    let k = ((p / 100.0 * s.len() as f64 + 0.5).round() as i64 - 1).clamp(0, s.len() as i64 - 1);
    s[k as usize]
}

/// Per-step latencies (seconds) of one series. The series of one cell run interleaved, one
/// operation of each per iteration, so its throughput is iterations over the summed latencies.
#[derive(Default)]
struct Series {
    steps: BTreeMap<&'static str, Vec<f64>>,
    order: Vec<&'static str>,
    total: Vec<f64>,
}

impl Series {
    fn add(&mut self, step: &'static str, secs: f64) {
        if !self.steps.contains_key(step) {
            self.order.push(step);
        }
        self.steps.entry(step).or_default().push(secs);
    }
    fn n(&self) -> usize {
        self.total.len()
    }
    fn ops(&self) -> f64 {
        self.n() as f64 / self.total.iter().sum::<f64>()
    }
    fn p50(&self) -> f64 {
        percentile(&self.total, 50.0)
    }
    fn p95(&self) -> f64 {
        percentile(&self.total, 95.0)
    }
    fn step_p50(&self, step: &str) -> f64 {
        self.steps.get(step).map_or(f64::NAN, |v| percentile(v, 50.0))
    }
    /// "seal 21.3 + put 40.1 (object_store) + …": p50 of each step, in ms.
    fn breakdown(&self) -> String {
        self.order.iter().map(|s| format!("{s} {}", ms(self.step_p50(s)))).collect::<Vec<_>>().join(", ")
    }
}

/// Times one iteration's steps.
struct Iter {
    start: Instant,
    last: Instant,
    steps: Vec<(&'static str, f64)>,
}

impl Iter {
    fn new() -> Self {
        let now = Instant::now();
        Self { start: now, last: now, steps: Vec::new() }
    }
    fn lap(&mut self, step: &'static str) {
        let now = Instant::now();
        self.steps.push((step, (now - self.last).as_secs_f64()));
        self.last = now;
    }
    /// Records the iteration unless it is a warm-up one.
    fn finish(self, series: &mut Series, measured: bool) {
        if measured {
            for (step, secs) in self.steps {
                series.add(step, secs);
            }
            series.total.push((self.last - self.start).as_secs_f64());
        }
    }
}

fn ms(secs: f64) -> String {
    let v = secs * 1000.0;
    if v < 10.0 {
        format!("{v:.2} ms")
    } else if v < 100.0 {
        format!("{v:.1} ms")
    } else {
        format!("{v:.0} ms")
    }
}

fn mbps(series: &Series, bytes: usize) -> f64 {
    series.ops() * bytes as f64 / 1e6
}

fn ops_fmt(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

// --- CPU accounting: was the machine otherwise quiet? -----------------------------------------

fn clk_tck() -> f64 {
    // SAFETY: sysconf has no preconditions.
    (unsafe { libc::sysconf(libc::_SC_CLK_TCK) }) as f64
}

/// utime + stime (+ reaped children) of one process in seconds; 0 when it is gone.
fn proc_cpu(pid: u32) -> f64 {
    let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { return 0.0 };
    let Some((_, rest)) = text.rsplit_once(')') else { return 0.0 };
    let f: Vec<u64> = rest.split_whitespace().skip(11).take(4).filter_map(|v| v.parse().ok()).collect();
    f.iter().sum::<u64>() as f64 / clk_tck()
}

/// Busy CPU seconds of the whole machine.
fn machine_busy() -> f64 {
    let text = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let v: Vec<u64> = text.lines().next().unwrap_or("").split_whitespace().skip(1).filter_map(|v| v.parse().ok()).collect();
    let get = |i: usize| v.get(i).copied().unwrap_or(0);
    (get(0) + get(1) + get(2) + get(5) + get(6) + get(7)) as f64 / clk_tck()
}

struct CpuSnap {
    wall: Instant,
    busy: f64,
    groups: BTreeMap<&'static str, f64>,
}

/// CPU seconds per group over one phase. Groups: this process ("bench"), the PostgreSQL
/// backends serving the bench database ("postgres"), the S3 server ("s3"), the rest ("other").
struct CpuMeter {
    s3_pid: Option<u32>,
    pg_pids: Vec<u32>,
    phases: Vec<(String, f64, BTreeMap<&'static str, f64>)>,
}

impl CpuMeter {
    fn snap(&self) -> CpuSnap {
        let mut groups = BTreeMap::new();
        groups.insert("bench", proc_cpu(std::process::id()));
        groups.insert("postgres", self.pg_pids.iter().map(|p| proc_cpu(*p)).sum());
        groups.insert("s3", self.s3_pid.map_or(0.0, proc_cpu));
        CpuSnap { wall: Instant::now(), busy: machine_busy(), groups }
    }
    fn phase(&mut self, name: String, a: &CpuSnap) {
        let b = self.snap();
        let wall = (b.wall - a.wall).as_secs_f64();
        let mut d: BTreeMap<&'static str, f64> = b.groups.iter().map(|(k, v)| (*k, v - a.groups[k])).collect();
        let ours: f64 = d.values().sum();
        d.insert("other", (b.busy - a.busy - ours).max(0.0));
        self.phases.push((name, wall, d));
    }
    /// The most cores "other" used in any phase.
    fn busy_other(&self) -> f64 {
        self.phases.iter().filter(|(_, w, _)| *w > 0.0).map(|(_, w, d)| d["other"] / w).fold(0.0, f64::max)
    }
    /// Cores "other" used on average over all phases.
    fn mean_other(&self) -> f64 {
        let wall: f64 = self.phases.iter().map(|(_, w, _)| w).sum();
        if wall > 0.0 { self.phases.iter().map(|(_, _, d)| d["other"]).sum::<f64>() / wall } else { 0.0 }
    }
    fn print(&self) {
        let groups = ["bench", "postgres", "s3", "other"];
        let w = self.phases.iter().map(|(n, _, _)| n.len()).max().unwrap_or(5);
        println!(
            "CPU seconds per phase ({} cores; 'other' = processes not serving this bench, including the kernel's I/O threads writing back this bench's files)",
            num_cpus()
        );
        println!("{:<w$}  {:>6}  {}", "phase", "wall", groups.map(|g| format!("{g:>9}")).join("  "));
        for (name, wall, d) in &self.phases {
            println!("{name:<w$}  {wall:>6.1}  {}", groups.map(|g| format!("{:>9.2}", d.get(g).unwrap_or(&0.0))).join("  "));
        }
    }
}

fn num_cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

// --- the test documents -----------------------------------------------------------------------

/// A valid small PDF followed by an object with a random binary stream, `size` bytes in all:
/// incompressible like the images and deflated streams of real print jobs, so zstd in `seal`
/// does its full work and gains nothing.
fn pdf_of_size(size: usize) -> Vec<u8> {
    let mut pdf = printgate::convert::sample::sample_pdf("printgate store benchmark", 1);
    let head = b"\n99 0 obj\n<< /Length 0000000000 >>\nstream\n";
    let tail = b"\nendstream\nendobj\n%%EOF\n";
    let n = size.saturating_sub(pdf.len() + head.len() + tail.len());
    pdf.extend_from_slice(&head[..]);
    let mut random = vec![0u8; n];
    aws_lc_rs::rand::fill(&mut random).expect("random bytes");
    pdf.extend_from_slice(&random);
    pdf.extend_from_slice(tail);
    pdf
}

fn job_id(tag: &str, i: usize) -> [u8; 16] {
    let d = printgate::crypto::sha256(format!("bench_store\0{tag}\0{i}").as_bytes());
    d[..16].try_into().unwrap()
}

// --- back ends and references -----------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Sqlite,
    Postgres,
    PostgresS3,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Self::Sqlite => "SQLite + local blobs",
            Self::Postgres => "PostgreSQL + local blobs",
            Self::PostgresS3 => "PostgreSQL + S3 (moto)",
        }
    }
    fn short(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "pg",
            Self::PostgresS3 => "pg-s3",
        }
    }
    fn s3(self) -> bool {
        self == Self::PostgresS3
    }
}

/// The raw blob path the reference uses: a local file with fsync, or plain HTTP to the S3 server.
enum Raw {
    Local(PathBuf),
    S3 { http: reqwest::Client, base: String },
}

impl Raw {
    fn label(&self) -> &'static str {
        match self {
            Self::Local(_) => "file write+fsync / file read (page cache)",
            Self::S3 { .. } => "unsigned HTTP PUT / GET to the same S3 server (reqwest, keep-alive)",
        }
    }
    async fn put(&self, key: &str, bytes: &[u8]) {
        match self {
            Self::Local(dir) => {
                let mut f = std::fs::File::create(dir.join(key)).expect("create reference file");
                f.write_all(bytes).expect("write reference file");
                f.sync_all().expect("fsync reference file");
            }
            Self::S3 { http, base } => {
                // Unsigned: moto takes anonymous requests, and a public-read object can be read
                // back without signing either (the store's client signs, SigV4 over the payload).
                let resp =
                    http.put(format!("{base}/{key}")).header("x-amz-acl", "public-read").body(bytes.to_vec()).send().await.expect("S3 PUT");
                assert!(resp.status().is_success(), "S3 PUT {key}: {}", resp.status());
            }
        }
    }
    async fn get(&self, key: &str) -> Vec<u8> {
        match self {
            Self::Local(dir) => std::fs::read(dir.join(key)).expect("read reference file"),
            Self::S3 { http, base } => {
                let resp = http.get(format!("{base}/{key}")).send().await.expect("S3 GET");
                assert!(resp.status().is_success(), "S3 GET {key}: {}", resp.status());
                resp.bytes().await.expect("S3 GET body").to_vec()
            }
        }
    }
    async fn delete(&self, key: &str) {
        match self {
            Self::Local(dir) => {
                let _ = std::fs::remove_file(dir.join(key));
            }
            Self::S3 { http, base } => {
                let _ = http.delete(format!("{base}/{key}")).send().await;
            }
        }
    }
}

struct Keys {
    public: SitePublicKey,
    private: SitePrivateKey,
}

/// What one (back end, size) cell measured.
struct Cell {
    kind: Kind,
    size: usize,
    ref_store: Series,
    ref_fetch: Series,
    pg_store: Series,
    pg_fetch: Series,
    blobs_put: Series,
    blobs_get: Series,
    /// object_store LocalFileSystem with fsync on (local back ends only).
    durable_put: Series,
    destroy: Series,
    raw_label: &'static str,
}

struct Bench<'a> {
    args: &'a Args,
    keys: Keys,
    cpu: CpuMeter,
}

impl Bench<'_> {
    /// One (back end, size) cell. Per iteration, one operation of each path, in an order that
    /// rotates (so that, e.g., the writeback of one path's unsynced blob does not always land
    /// on the same other path): reference (seal + raw put), printgate (seal + record), the
    /// store's blob API alone (put of an already sealed job). Then the same for fetching, then
    /// printgate's jobs are destroyed (as a station's acknowledgement does).
    async fn cell(&mut self, kind: Kind, store: &Store, raw: &Raw, size: usize) -> Cell {
        let pdf = pdf_of_size(size);
        let tag = format!("{}-{}", kind.short(), size_label(size).replace(' ', ""));
        let name = format!("{} {}", kind.short(), size_label(size));
        let (n, warm) = if size >= MB { (self.args.large_n, self.args.large_warmup) } else { (self.args.small_n, self.args.small_warmup) };
        let presealed = seal::seal(&pdf, job_id(&tag, usize::MAX), SITE, &self.keys.public).expect("seal");
        let now = printgate::store::now();
        let mut c = Cell {
            kind,
            size,
            ref_store: Series::default(),
            ref_fetch: Series::default(),
            pg_store: Series::default(),
            pg_fetch: Series::default(),
            blobs_put: Series::default(),
            blobs_get: Series::default(),
            durable_put: Series::default(),
            destroy: Series::default(),
            raw_label: raw.label(),
        };
        let mut codes: Vec<ReleaseCode> = Vec::new();
        // Local back ends: also object_store's LocalFileSystem with fsync on, beside the store's
        // (which does not fsync): what a durable local blob put would cost.
        let durable = match raw {
            Raw::Local(dir) => {
                let d = dir.join("durable");
                std::fs::create_dir_all(&d).expect("create the durable blob directory");
                Some(object_store::local::LocalFileSystem::new_with_prefix(&d).expect("LocalFileSystem").with_fsync(true))
            }
            Raw::S3 { .. } => None,
        };
        let paths = if durable.is_some() { 4 } else { 3 };

        let snap = self.cpu.snap();
        for i in 0..n + warm {
            let measured = i >= warm;
            for path in 0..paths {
                match (path + i) % paths {
                    0 => {
                        let mut it = Iter::new();
                        let sealed = seal::seal(&pdf, job_id(&format!("ref-{tag}"), i), SITE, &self.keys.public).expect("seal");
                        it.lap("seal");
                        raw.put(&format!("ref-{tag}-{i}"), &sealed).await;
                        it.lap("raw put");
                        it.finish(&mut c.ref_store, measured);
                    }
                    1 => {
                        let id = job_id(&tag, i);
                        let message = NewMessage {
                            id: format!("bench-{tag}-{i}"),
                            queue: "bw".into(),
                            site: SITE.into(),
                            created_at: now,
                            expires_at: now + 72 * 3600,
                            held: false,
                        };
                        let mut it = Iter::new();
                        let sealed = seal::seal(&pdf, id, SITE, &self.keys.public).expect("seal");
                        it.lap("seal");
                        let job = NewJob {
                            id: hex::encode(id),
                            seq: 0,
                            filename: "bench.pdf".into(),
                            pages: 1,
                            color: false,
                            color_pages: 0,
                            copies: 1,
                            duplex: false,
                            page_range: String::new(),
                            sealed,
                        };
                        let code = match store.record(&message, vec![job], None, |_| None).await.expect("record") {
                            Recorded::New(code) => code,
                            Recorded::AlreadyStored => panic!("message {} stored twice", message.id),
                        };
                        it.lap("record");
                        it.finish(&mut c.pg_store, measured);
                        codes.push(code);
                    }
                    2 => {
                        let bytes = presealed.clone();
                        let mut it = Iter::new();
                        store.blobs().put(&format!("bench/{tag}-{i}"), bytes).await.expect("blob put");
                        it.lap("put");
                        it.finish(&mut c.blobs_put, measured);
                    }
                    _ => {
                        use object_store::ObjectStoreExt;
                        let fs = durable.as_ref().expect("local back end");
                        let payload = object_store::PutPayload::from(presealed.clone());
                        let mut it = Iter::new();
                        fs.put(&object_store::path::Path::from(format!("jobs/{tag}-{i}")), payload).await.expect("durable put");
                        it.lap("put");
                        it.finish(&mut c.durable_put, measured);
                    }
                }
            }
        }
        self.cpu.phase(format!("{name}: store (ref + printgate + blob API)"), &snap);

        let snap = self.cpu.snap();
        for (i, code) in codes.iter().enumerate() {
            let measured = i >= warm;
            for path in 0..3 {
                match (path + i) % 3 {
                    0 => {
                        let mut it = Iter::new();
                        let sealed = raw.get(&format!("ref-{tag}-{i}")).await;
                        it.lap("raw get");
                        let opened =
                            seal::open(&sealed, &self.keys.private, Expect { job_id: job_id(&format!("ref-{tag}"), i), site: SITE })
                                .expect("open");
                        it.lap("open");
                        assert!(opened == pdf, "the reference job did not round-trip");
                        it.finish(&mut c.ref_fetch, measured);
                    }
                    1 => {
                        let mut it = Iter::new();
                        let jobs = store.release(code, SITE).await.expect("release");
                        assert_eq!(jobs.len(), 1);
                        it.lap("release");
                        let (info, blob_key) = store.job(&jobs[0].id, SITE).await.expect("job");
                        it.lap("job");
                        let sealed = store.blobs().get(&blob_key).await.expect("blob get");
                        it.lap("blob get");
                        assert_eq!(printgate::crypto::sha256_hex(&sealed), info.sha256, "the station's hash check");
                        it.lap("sha256");
                        let opened = seal::open(&sealed, &self.keys.private, Expect { job_id: job_id(&tag, i), site: SITE }).expect("open");
                        it.lap("open");
                        assert!(opened == pdf, "the stored job did not round-trip");
                        it.finish(&mut c.pg_fetch, measured);
                    }
                    _ => {
                        let mut it = Iter::new();
                        let back = store.blobs().get(&format!("bench/{tag}-{i}")).await.expect("blob get");
                        it.lap("get");
                        assert_eq!(back.len(), presealed.len());
                        it.finish(&mut c.blobs_get, measured);
                    }
                }
            }
        }
        self.cpu.phase(format!("{name}: fetch (ref + printgate + blob API)"), &snap);

        let snap = self.cpu.snap();
        for i in 0..codes.len() {
            let mut it = Iter::new();
            store.destroy_job(&hex::encode(job_id(&tag, i)), SITE).await.expect("destroy_job");
            it.lap("destroy");
            it.finish(&mut c.destroy, i >= warm);
            raw.delete(&format!("ref-{tag}-{i}")).await;
            if let Raw::Local(dir) = raw {
                let _ = std::fs::remove_file(dir.join("durable").join("jobs").join(format!("{tag}-{i}")));
            }
            store.blobs().delete(&format!("bench/{tag}-{i}")).await.expect("blob delete");
        }
        self.cpu.phase(format!("{name}: destroy + clean-up"), &snap);
        c
    }
}

fn size_label(size: usize) -> String {
    if size >= MB { format!("{} MB", size / MB) } else { format!("{} KB", size / KB) }
}

/// PostgreSQL backends of the bench database (the store's pool), for the CPU table.
async fn pg_backends(url: &str) -> (Vec<u32>, String) {
    use sqlx::{Connection, Row};
    let Ok(mut conn) = sqlx::PgConnection::connect(url).await else { return (Vec::new(), "?".into()) };
    let pids = sqlx::query("SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")
        .fetch_all(&mut conn)
        .await
        .map(|rows| rows.iter().filter_map(|r| r.try_get::<i32, _>(0).ok()).map(|p| p as u32).collect())
        .unwrap_or_default();
    let mut settings = Vec::new();
    for (name, sql) in
        [("fsync", "SHOW fsync"), ("synchronous_commit", "SHOW synchronous_commit"), ("shared_buffers", "SHOW shared_buffers")]
    {
        let v: String = sqlx::query_scalar(sql).fetch_one(&mut conn).await.unwrap_or_else(|_| "?".into());
        settings.push(format!("{name}={v}"));
    }
    let _ = conn.close().await;
    (pids, settings.join(", "))
}

async fn open_store(kind: Kind, args: &Args) -> (Store, Raw) {
    let dir = args.dir.join(kind.short());
    std::fs::create_dir_all(dir.join("ref")).expect("create the work directory");
    let local_blobs = format!("file://{}", dir.join("blobs").display());
    let (database_url, blob_url) = match kind {
        Kind::Sqlite => (format!("sqlite://{}", dir.join("store.db").display()), local_blobs),
        Kind::Postgres => (args.postgres.clone().expect("--postgres"), local_blobs),
        Kind::PostgresS3 => (args.postgres.clone().expect("--postgres"), args.s3.clone().expect("--s3")),
    };
    let config = StoreConfig {
        database_url,
        blob_url: blob_url.clone(),
        secret_file: dir.join("secret.key"),
        code_digits: 8,
        trace_retention: Duration::from_secs(30 * 86400),
        audit_retention: Duration::from_secs(365 * 86400),
    };
    let store = Store::open(&config).await.unwrap_or_else(|e| panic!("open the {} store: {e}", kind.label()));
    let raw = if kind.s3() {
        let endpoint = args.s3_endpoint.clone().expect("--s3-endpoint").trim_end_matches('/').to_owned();
        let bucket = blob_url.trim_start_matches("s3://").split('/').next().unwrap_or_default().to_owned();
        Raw::S3 { http: reqwest::Client::new(), base: format!("{endpoint}/{bucket}/bench-ref") }
    } else {
        Raw::Local(dir.join("ref"))
    };
    (store, raw)
}

/// The SQLite settings a connection to the store's database gets (sqlx's defaults for the URL,
/// as the store's pool; the store sets WAL and busy_timeout).
async fn sqlite_settings(dir: &Path) -> String {
    use sqlx::Connection;
    let url = format!("sqlite://{}", dir.join("sqlite").join("store.db").display());
    let Ok(mut conn) = sqlx::SqliteConnection::connect(&url).await else { return "?".into() };
    let journal: String = sqlx::query_scalar("PRAGMA journal_mode").fetch_one(&mut conn).await.unwrap_or_else(|_| "?".into());
    let sync = match sqlx::query_scalar::<_, i64>("PRAGMA synchronous").fetch_one(&mut conn).await {
        Ok(0) => "OFF".to_owned(),
        Ok(1) => "NORMAL".to_owned(),
        Ok(2) => "FULL".to_owned(),
        Ok(n) => n.to_string(),
        Err(_) => "?".to_owned(),
    };
    let out = [format!("journal_mode={journal}"), format!("synchronous={sync} (sqlx's default for the URL)")];
    let _ = conn.close().await;
    out.join(", ")
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let t_start = Instant::now();
    let (private_pem, public_pem) = seal::keys::generate_pem(seal::keys::KEYGEN_SIZE).expect("generate the site key pair");
    let keys = Keys {
        public: SitePublicKey::from_pem(&public_pem).expect("public key"),
        private: SitePrivateKey::from_pem(&private_pem).expect("private key"),
    };
    let mut kinds = vec![Kind::Sqlite];
    if args.postgres.is_some() {
        kinds.push(Kind::Postgres);
        if args.s3.is_some() {
            kinds.push(Kind::PostgresS3);
        }
    }
    let load_start = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let mut bench = Bench { args: &args, keys, cpu: CpuMeter { s3_pid: args.s3_pid, pg_pids: Vec::new(), phases: Vec::new() } };
    let mut cells = Vec::new();
    let mut pg_settings = String::new();
    for kind in &kinds {
        let (store, raw) = open_store(*kind, &args).await;
        for size in [100 * KB, 10 * MB] {
            if *kind == Kind::Sqlite {
                bench.cpu.pg_pids.clear();
            } else {
                // A store query first so that the pool has its connection(s) to find.
                let _ = store.message_exists("warm-up").await;
                let (pids, settings) = pg_backends(args.postgres.as_deref().unwrap_or_default()).await;
                bench.cpu.pg_pids = pids;
                pg_settings = settings;
            }
            eprintln!("[bench_store] {} {} ...", kind.label(), size_label(size));
            cells.push(bench.cell(*kind, &store, &raw, size).await);
        }
    }
    let load_end = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let sqlite = sqlite_settings(&args.dir).await;
    report(
        &args,
        &cells,
        &bench.cpu,
        &sqlite,
        &pg_settings,
        load_start.split(' ').next().unwrap_or("?"),
        load_end.split(' ').next().unwrap_or("?"),
        t_start.elapsed(),
    );
}

#[allow(clippy::too_many_arguments)]
fn report(args: &Args, cells: &[Cell], cpu: &CpuMeter, sqlite: &str, pg_settings: &str, load_start: &str, load_end: &str, took: Duration) {
    let date = std::process::Command::new("date")
        .arg("+%F")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    println!();
    println!(
        "run:     {:.0} s; iterations: 100 KB {} (+{} warm-up), 10 MB {} (+{} warm-up) per series; one client, one job per message; the series of a cell interleaved per iteration; ops/s = iterations / summed latency",
        took.as_secs_f64(),
        args.small_n,
        args.small_warmup,
        args.large_n,
        args.large_warmup
    );
    println!("machine: {}; load average {load_start} at start, {load_end} at end", args.machine);
    println!(
        "stores:  SQLite {sqlite}; PostgreSQL {pg_settings}; local blobs: object_store LocalFileSystem (no fsync); MB/s = 10^6 bytes of PDF per second"
    );
    println!("PDFs:    100 KB = {} B, 10 MB = {} B, random stream (incompressible; zstd gains nothing)", 100 * KB, 10 * MB);
    println!();
    for c in cells {
        let size = size_label(c.size);
        println!("== {} — {size} (raw blob reference: {}) ==", c.kind.label(), c.raw_label);
        let mut rows = vec![
            ("printgate store: seal + record", &c.pg_store),
            (if c.kind.s3() { "reference store: seal + plain HTTP PUT" } else { "reference store: seal + file write+fsync" }, &c.ref_store),
            ("printgate fetch: release + job + blob get + sha256 + open", &c.pg_fetch),
            (if c.kind.s3() { "reference fetch: plain HTTP GET + open" } else { "reference fetch: file read + open" }, &c.ref_fetch),
            ("store's blob API alone: put (object_store)", &c.blobs_put),
            ("store's blob API alone: get (object_store)", &c.blobs_get),
            ("destroy_job (job lookup, blob delete, 2 SQL deletes)", &c.destroy),
        ];
        if c.durable_put.n() > 0 {
            rows.insert(6, ("object_store put with fsync on (a durable local put)", &c.durable_put));
        }
        let w = rows.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
        println!("{:<w$}  {:>8}  {:>8}  {:>9}  {:>9}  p50 per step", "series", "ops/s", "MB/s", "p50", "p95");
        for (name, s) in rows {
            let mb = if name.starts_with("destroy") { "-".to_owned() } else { format!("{:.1}", mbps(s, c.size)) };
            println!("{name:<w$}  {:>8}  {mb:>8}  {:>9}  {:>9}  {}", ops_fmt(s.ops()), ms(s.p50()), ms(s.p95()), s.breakdown());
        }
        println!(
            "ratio printgate / reference: store {:.2} (ops/s), fetch {:.2} (ops/s); p50 store {:.2}x, fetch {:.2}x the reference's",
            c.pg_store.ops() / c.ref_store.ops(),
            c.pg_fetch.ops() / c.ref_fetch.ops(),
            c.pg_store.p50() / c.ref_store.p50(),
            c.pg_fetch.p50() / c.ref_fetch.p50()
        );
        let record = c.pg_store.step_p50("record");
        let put = c.blobs_put.p50();
        println!(
            "where the time goes (p50): store = seal {} + record {} (of which blob put alone ~{}, the rest SHA-256 + SQL ~{}); fetch = SQL {} + blob get {} + sha256 {} + open {}",
            ms(c.pg_store.step_p50("seal")),
            ms(record),
            ms(put),
            ms((record - put).max(0.0)),
            ms(c.pg_fetch.step_p50("release") + c.pg_fetch.step_p50("job")),
            ms(c.pg_fetch.step_p50("blob get")),
            ms(c.pg_fetch.step_p50("sha256")),
            ms(c.pg_fetch.step_p50("open")),
        );
        if c.durable_put.n() > 0 {
            println!(
                "local blobs are not fsynced by the store: its put p50 {} vs {} with object_store's fsync on (file + directory) vs {} raw write+fsync (file only)",
                ms(put),
                ms(c.durable_put.p50()),
                ms(c.ref_store.step_p50("raw put")),
            );
        }
        println!();
    }
    cpu.print();
    let (busy, mean) = (cpu.busy_other(), cpu.mean_other());
    println!("other processes: up to {busy:.2} cores in a phase, {mean:.2} cores on average over the run");
    let busy_note = if busy > 0.25 {
        println!(
            "WARNING: other processes used up to {busy:.1} cores during a phase: the figures are disturbed; re-run on a quiet machine"
        );
        format!("; busy: other processes used up to {busy:.1} cores during a phase ({mean:.1} on average)")
    } else {
        String::new()
    };
    println!();
    println!("RESULT: OK");
    println!();
    println!("rows for docs/benchmarks.md:");
    let machine = format!("{}{busy_note}", args.machine);
    let cmd = &args.command;
    for c in cells {
        let size = size_label(c.size);
        let (ref_put, ref_get) = if c.kind.s3() { ("plain HTTP PUT", "plain HTTP GET") } else { ("file write+fsync", "file read") };
        println!(
            "| {date} | store: seal + record, {} job, {}, 1 client, {} iterations | `{cmd}` | {} ops/s, {:.1} MB/s, p50 {} (seal {}, record {}; store's blob put alone {}) | {} ops/s, {:.1} MB/s, p50 {} seal + {ref_put} (seal {}, {ref_put} {}) | {:.2} | {machine} |",
            size,
            c.kind.label(),
            c.pg_store.n(),
            ops_fmt(c.pg_store.ops()),
            mbps(&c.pg_store, c.size),
            ms(c.pg_store.p50()),
            ms(c.pg_store.step_p50("seal")),
            ms(c.pg_store.step_p50("record")),
            ms(c.blobs_put.p50()),
            ops_fmt(c.ref_store.ops()),
            mbps(&c.ref_store, c.size),
            ms(c.ref_store.p50()),
            ms(c.ref_store.step_p50("seal")),
            ms(c.ref_store.step_p50("raw put")),
            c.pg_store.ops() / c.ref_store.ops(),
        );
        println!(
            "| {date} | store: release + job + blob get + sha256 + open, {} job, {}, same run | `{cmd}` | {} ops/s, {:.1} MB/s, p50 {} (SQL {}, blob get {}, sha256 {}, open {}) | {} ops/s, {:.1} MB/s, p50 {} {ref_get} + open ({ref_get} {}, open {}) | {:.2} | {machine} |",
            size,
            c.kind.label(),
            ops_fmt(c.pg_fetch.ops()),
            mbps(&c.pg_fetch, c.size),
            ms(c.pg_fetch.p50()),
            ms(c.pg_fetch.step_p50("release") + c.pg_fetch.step_p50("job")),
            ms(c.pg_fetch.step_p50("blob get")),
            ms(c.pg_fetch.step_p50("sha256")),
            ms(c.pg_fetch.step_p50("open")),
            ops_fmt(c.ref_fetch.ops()),
            mbps(&c.ref_fetch, c.size),
            ms(c.ref_fetch.p50()),
            ms(c.ref_fetch.step_p50("raw get")),
            ms(c.ref_fetch.step_p50("open")),
            c.pg_fetch.ops() / c.ref_fetch.ops(),
        );
    }
}
