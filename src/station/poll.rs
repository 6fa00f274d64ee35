//! Poll mode (the seed's PDS mode): every interval, list the site's pending jobs and deliver
//! each, oldest first. A job whose delivery failed is reported (`failed`, kept on the server)
//! and tried again after a back-off of its own; when the printer itself is down the round stops
//! (the other jobs would fail the same way). A job printed but not yet acknowledged (the server
//! was unreachable at that moment) is remembered and only acknowledged on the next round, never
//! printed twice by this process.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::{Output, StationClient, StationError, backoff};

/// The longest wait between attempts at one failing job.
const MAX_JOB_BACKOFF: Duration = Duration::from_secs(1800);

/// What one poll process did (printed when it stops).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PollStats {
    pub rounds: u64,
    pub delivered: u64,
    pub failed_attempts: u64,
    pub server_errors: u64,
}

struct Pending {
    failures: u32,
    next_try: Instant,
}

pub struct Poller<'a> {
    pub client: &'a StationClient,
    pub site: &'a str,
    pub output: &'a Output,
    pub interval: Duration,
    /// Jobs that failed, with when to try them again.
    pending: HashMap<String, Pending>,
    /// Delivered, not yet acknowledged.
    unacked: HashSet<String>,
    pub stats: PollStats,
    /// Told where each delivered job went (the CLI prints it).
    pub report: fn(&str),
}

impl<'a> Poller<'a> {
    pub fn new(client: &'a StationClient, site: &'a str, output: &'a Output, interval: Duration) -> Self {
        Self {
            client,
            site,
            output,
            interval,
            pending: HashMap::new(),
            unacked: HashSet::new(),
            stats: PollStats::default(),
            report: |_| {},
        }
    }

    /// Polls until `stop` is cancelled (or after one round with `once`).
    ///
    /// # Errors
    /// With `once`, the round's first error (so a cron job notices); otherwise errors are
    /// logged and retried, and this only returns `Ok` when stopped.
    pub async fn run(&mut self, once: bool, stop: &CancellationToken) -> Result<(), StationError> {
        let mut server_failures = 0u32;
        loop {
            let wait = match self.round().await {
                Ok(()) => {
                    server_failures = 0;
                    self.interval
                }
                Err(e) if once => return Err(e),
                Err(e) => {
                    server_failures += 1;
                    self.stats.server_errors += 1;
                    let wait = backoff(server_failures, self.interval);
                    tracing::warn!(error = %e, retry_in_secs = wait.as_secs(), "poll failed; will retry");
                    wait
                }
            };
            if once {
                return Ok(());
            }
            tokio::select! {
                () = stop.cancelled() => return Ok(()),
                () = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// One round: list, deliver what is due, ack.
    ///
    /// # Errors
    /// Server errors (listing, fetching, acking); printer failures are handled per job.
    pub async fn round(&mut self) -> Result<(), StationError> {
        self.stats.rounds += 1;
        let listing = self.client.site_jobs(self.site).await?;
        let live: HashSet<&str> = listing.jobs.iter().map(|j| j.id.as_str()).collect();
        self.pending.retain(|id, _| live.contains(id.as_str()));
        self.unacked.retain(|id| live.contains(id.as_str()));
        let now = Instant::now();
        for job in &listing.jobs {
            if self.unacked.contains(&job.id) {
                self.client.ack(&job.id, true).await?;
                self.unacked.remove(&job.id);
                continue;
            }
            if self.pending.get(&job.id).is_some_and(|p| p.next_try > now) {
                continue;
            }
            let pdf = self.client.fetch(job, &listing.site).await?;
            match self.output.deliver(job, &pdf).await {
                Ok(place) => {
                    self.stats.delivered += 1;
                    self.pending.remove(&job.id);
                    self.unacked.insert(job.id.clone());
                    tracing::info!(job = %job.id, pages = job.pages, to = %place, "delivered");
                    (self.report)(&place);
                    self.client.ack(&job.id, true).await?;
                    self.unacked.remove(&job.id);
                }
                Err(e) => {
                    self.stats.failed_attempts += 1;
                    let entry = self.pending.entry(job.id.clone()).or_insert(Pending { failures: 0, next_try: now });
                    entry.failures += 1;
                    // A printer that is down is asked again soon; a job that fails on a working
                    // printer backs off further each time.
                    let max = if e.printer_unavailable() { self.interval.max(Duration::from_secs(60)) } else { MAX_JOB_BACKOFF };
                    let wait = backoff(entry.failures, max);
                    entry.next_try = Instant::now() + wait;
                    let reason = e.to_string();
                    tracing::warn!(job = %job.id, failures = entry.failures, retry_in_secs = wait.as_secs(), error = %reason, "delivery failed; job kept");
                    self.client.ack_failed(&job.id, &reason).await?;
                    if e.printer_unavailable() {
                        break;
                    }
                }
            }
        }
        Ok(())
    }
}
