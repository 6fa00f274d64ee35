//! Printers and the print run: every printer's state is asked for every
//! [`WATCH_EVERY`] (so the documents screen shows it live and the print button knows what can
//! be chosen); a print run sends the chosen jobs one after another to one printer and follows
//! each job's state there.
//!
//! A job is acknowledged as printed (and so destroyed on the server) only once its printer
//! reported it completed. A job that fails is reported as failed (the server keeps it), the run
//! stops, and the patron is offered the unprinted jobs again with another printer preselected.
//! A decrypted PDF lives in this task's memory for the time its job is sent, no longer.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::Kiosk;
use super::choice::{print_options, shown_name};
use super::session::{ItemState, Screen};
use crate::station::ipp::{self, IppError, JobState};
use crate::station::{JobListing, StationError};

/// How often each printer's state is asked for.
pub const WATCH_EVERY: Duration = Duration::from_secs(2);

/// Keeps every printer's state fresh until `stop`.
pub async fn watch_printers(kiosk: Arc<Kiosk>, stop: CancellationToken) {
    loop {
        let states = futures::future::join_all(kiosk.printers.iter().map(|p| p.printer.status())).await;
        for (p, status) in kiosk.printers.iter().zip(states) {
            let condition = ipp::condition(&status);
            if let Ok(mut c) = p.condition.write() {
                if *c != Some(condition) {
                    tracing::info!(printer = %p.name, state = condition.key(), "printer state");
                }
                *c = Some(condition);
            }
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(WATCH_EVERY) => {}
        }
    }
}

/// What one step of the run needs, copied out of the session (the lock is not held while
/// printing).
struct Step {
    job: JobListing,
    site: String,
    printer: usize,
    options: ipp::PrintOptions,
}

/// Prints the session's chosen jobs (the session is on the printing screen of `generation`).
pub async fn run(kiosk: Arc<Kiosk>, generation: u64) {
    let mut index = 0;
    while let Some(step) = next_step(&kiosk, generation, index) {
        let outcome = print_one(&kiosk, generation, index, &step).await;
        let mut session = kiosk.session();
        if session.generation != generation {
            return;
        }
        match outcome {
            Ok(()) => set_state(&mut session.screen, index, ItemState::Printed),
            Err(condition) => {
                set_state(&mut session.screen, index, ItemState::Failed);
                let name = kiosk.printers[step.printer].name.clone();
                session.fail_printing(index, &name, condition, kiosk.settings.mask_titles);
                return;
            }
        }
        index += 1;
    }
    let mut session = kiosk.session();
    if session.generation == generation {
        session.finish_printing();
    }
}

fn next_step(kiosk: &Kiosk, generation: u64, index: usize) -> Option<Step> {
    let session = kiosk.session();
    if session.generation != generation {
        return None;
    }
    let Screen::Printing { site, printer, items, choice, .. } = &session.screen else { return None };
    let item = items.get(index)?;
    let name = shown_name(&item.job.filename, kiosk.settings.mask_titles);
    let options = print_options(&item.job, choice, crate::intake::sanitize_name(&name));
    Some(Step { job: item.job.clone(), site: site.clone(), printer: *printer, options })
}

fn set_state(screen: &mut Screen, index: usize, state: ItemState) {
    if let Screen::Printing { items, .. } = screen
        && let Some(item) = items.get_mut(index)
    {
        item.state = state;
    }
}

fn update(kiosk: &Kiosk, generation: u64, index: usize, state: ItemState) {
    let mut session = kiosk.session();
    if session.generation == generation {
        set_state(&mut session.screen, index, state);
    }
}

/// Sends one job and follows it to the end. `Err` carries the words key of why it failed.
async fn print_one(kiosk: &Kiosk, generation: u64, index: usize, step: &Step) -> Result<(), &'static str> {
    update(kiosk, generation, index, ItemState::Sending);
    let pdf = match kiosk.client.fetch(&step.job, &step.site).await {
        Ok(pdf) => pdf,
        Err(e) => {
            tracing::warn!(job = %step.job.id, error = %e, "cannot fetch the job; it stays on the server");
            return Err("server");
        }
    };
    let printer = &kiosk.printers[step.printer].printer;
    let result = match printer.submit(&pdf, &step.options).await {
        Ok(ipp_job) => {
            drop(pdf);
            update(kiosk, generation, index, ItemState::Queued);
            printer
                .wait_with(ipp_job, |p| {
                    let state = if p.state == JobState::Processing { ItemState::Printing } else { ItemState::Queued };
                    update(kiosk, generation, index, state);
                })
                .await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => {
            acknowledge(kiosk, &step.job.id).await;
            Ok(())
        }
        Err(e) => {
            let reason = e.to_string();
            tracing::warn!(job = %step.job.id, printer = %kiosk.printers[step.printer].name, error = %reason, "print failed; the job stays on the server");
            if let Err(ack) = kiosk.client.ack_failed(&step.job.id, &reason).await {
                tracing::warn!(job = %step.job.id, error = %ack, "cannot report the failure to the server");
            }
            Err(failure_key(&e, printer.status().await))
        }
    }
}

/// The words key for a failed job: the printer's state when that explains it (jammed, out of
/// paper, offline…), else that the printer gave the job up.
fn failure_key(error: &IppError, status_now: Result<ipp::PrinterStatus, IppError>) -> &'static str {
    let condition = ipp::condition(&status_now);
    if !condition.choosable() {
        return condition.key();
    }
    match error {
        IppError::Unreachable(_) => "offline",
        _ => "job_aborted",
    }
}

/// Acknowledges a printed job, a few times if the server does not answer; after that the job
/// is remembered so it is never printed again by this kiosk and acknowledged when next seen.
async fn acknowledge(kiosk: &Kiosk, job: &str) {
    for attempt in 0..3u64 {
        match kiosk.client.ack(job, true).await {
            Ok(()) => return,
            Err(StationError::Server { status: 404, .. }) => return,
            Err(e) => {
                tracing::warn!(job, attempt, error = %e, "cannot acknowledge a printed job yet");
                tokio::time::sleep(Duration::from_millis(500 * (attempt + 1))).await;
            }
        }
    }
    if let Ok(mut unacked) = kiosk.unacked.lock() {
        unacked.insert(job.to_owned());
    }
}

/// Acknowledges the remembered jobs among `jobs` and leaves them out: they were printed.
pub async fn drop_printed(kiosk: &Kiosk, jobs: Vec<JobListing>) -> Vec<JobListing> {
    let remembered: Vec<String> = kiosk.unacked.lock().map(|u| u.iter().cloned().collect()).unwrap_or_default();
    let mut kept = Vec::with_capacity(jobs.len());
    for job in jobs {
        if remembered.contains(&job.id) {
            if kiosk.client.ack(&job.id, true).await.is_ok()
                && let Ok(mut u) = kiosk.unacked.lock()
            {
                u.remove(&job.id);
            }
        } else {
            kept.push(job);
        }
    }
    kept
}
