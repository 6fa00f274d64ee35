//! The station's IPP client (`src/station/ipp/`) against real printers: CUPS' `ippeveprinter`
//! (tests/common/printer.rs), ready, powered off, hung, out of paper, recording what each job
//! asked for, and failing every job mid-way. No fake IPP server anywhere.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::printer::{Printer as TestPrinter, PrinterCommand};
use printgate::station::ipp::{Condition, IppError, JobProgress, JobState, PrintOptions, Printer, PrinterState, condition};

fn pdf(name: &str) -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/convert").join(name)).unwrap()
}

fn options(job_name: &str, copies: i32, duplex: bool, color: bool, page_range: Option<(i32, i32)>) -> PrintOptions {
    PrintOptions { job_name: job_name.to_owned(), copies, duplex, color, page_range }
}

fn client(printer: &TestPrinter) -> Printer {
    let mut p = Printer::new(&printer.uri()).unwrap();
    p.poll_every = Duration::from_millis(200);
    p
}

#[tokio::test]
async fn a_ready_printer_is_ready_and_prints_colour_and_both_sides() {
    let tmp = tempfile::tempdir().unwrap();
    let fixture = TestPrinter::start(tmp.path());
    let printer = client(&fixture);
    let status = printer.status().await;
    let s = status.as_ref().unwrap();
    assert_eq!(s.state, PrinterState::Idle);
    assert!(s.accepting);
    assert!(s.reasons.is_empty(), "{:?}", s.reasons);
    assert!(s.color_supported && s.duplex_supported, "{s:?}");
    assert_eq!(s.message, "Idle.");
    assert_eq!(condition(&status), Condition::Ready);
    assert!(condition(&status).choosable());
    // Asked again (capabilities now from the cache): the same answer.
    assert_eq!(printer.status().await.unwrap(), *s);
}

#[tokio::test]
async fn a_powered_off_or_hung_printer_is_offline_within_seconds() {
    let tmp = tempfile::tempdir().unwrap();
    let mut fixture = TestPrinter::start(tmp.path());
    let printer = client(&fixture);
    assert_eq!(condition(&printer.status().await), Condition::Ready);

    // Hung: the kernel still accepts the connection, nothing answers.
    fixture.freeze();
    let started = Instant::now();
    let hung = printer.status().await;
    let took = started.elapsed();
    fixture.thaw();
    assert!(matches!(hung, Err(IppError::Unreachable(_))), "{hung:?}");
    assert!(took >= Duration::from_secs(2) && took < Duration::from_secs(5), "a hung printer took {took:?}");
    assert_eq!(condition(&hung), Condition::Offline);
    assert!(hung.unwrap_err().to_string().contains("no answer"), "the error says what happened");
    assert_eq!(condition(&printer.status().await), Condition::Ready, "thawed, it answers again");

    // Off: nothing listens.
    fixture.power_off();
    let started = Instant::now();
    let off = printer.status().await;
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    assert!(matches!(off, Err(IppError::Unreachable(_))), "{off:?}");
    assert_eq!(condition(&off), Condition::Offline);
    assert!(!condition(&off).choosable());
    let refused = printer.print(&pdf("simple.pdf"), &options("a.pdf", 1, false, false, None)).await;
    assert!(matches!(refused, Err(IppError::Unreachable(_))), "{refused:?}");
}

#[tokio::test]
async fn each_job_arrives_with_the_colour_sides_copies_and_pages_asked_for() {
    let tmp = tempfile::tempdir().unwrap();
    let fixture = TestPrinter::start_with(tmp.path(), "Recording Printer", PrinterCommand::Record);
    let printer = client(&fixture);
    let first = pdf("simple.pdf");
    let second = pdf("ten-pages.pdf");
    let a = printer.print(&first, &options("thesis chapter 1.pdf", 2, true, false, None)).await.unwrap();
    let b = printer.print(&second, &options("poster.pdf", 1, false, true, Some((2, 4)))).await.unwrap();
    assert_ne!(a, b);

    let jobs = fixture.job_attributes();
    assert_eq!(jobs.len(), 2, "{jobs:?}");
    let want = [
        [
            ("IPP_PRINT_COLOR_MODE", "monochrome"),
            ("IPP_SIDES", "two-sided-long-edge"),
            ("IPP_COPIES", "2"),
            ("IPP_JOB_NAME", "thesis chapter 1.pdf"),
        ],
        [("IPP_PRINT_COLOR_MODE", "color"), ("IPP_SIDES", "one-sided"), ("IPP_COPIES", "1"), ("IPP_JOB_NAME", "poster.pdf")],
    ];
    for (job, want) in jobs.iter().zip(want) {
        for (name, value) in want {
            assert_eq!(job.get(name).map(String::as_str), Some(value), "{name} in {job:?}");
        }
        assert_eq!(job.get("IPP_JOB_ORIGINATING_USER_NAME").map(String::as_str), Some("printgate"));
        assert_eq!(job.get("IPP_DOCUMENT_FORMAT_SUPPLIED").map(String::as_str), Some("application/pdf"));
    }
    assert_eq!(jobs[0].get("IPP_PAGE_RANGES"), None, "all pages: no page-ranges sent");
    assert_eq!(jobs[1].get("IPP_PAGE_RANGES").map(String::as_str), Some("2-4"));
    // The documents arrive byte for byte.
    let printed: Vec<Vec<u8>> = fixture.printed().iter().map(|p| std::fs::read(p).unwrap()).collect();
    assert_eq!(printed.len(), 2);
    assert!(printed.contains(&first) && printed.contains(&second));
    assert_eq!(printer.job_progress(b).await.unwrap().state, JobState::Completed);
}

#[tokio::test]
async fn a_printer_failing_mid_job_fails_the_print_and_the_wait_sees_it_coming() {
    let tmp = tempfile::tempdir().unwrap();
    let fixture = TestPrinter::start_with(tmp.path(), "Failing Printer", PrinterCommand::Fail);
    let printer = client(&fixture);
    let document = pdf("ten-pages.pdf");
    let opts = options("report.pdf", 1, false, true, None);

    let failed = printer.print(&document, &opts).await.unwrap_err();
    let text = failed.to_string();
    assert!(matches!(failed, IppError::JobFailed { state: "was aborted", .. }), "{text}");
    assert!(text.contains("aborted-by-system") && text.contains("paper path failure after page 1"), "{text}");

    let job = printer.submit(&document, &opts).await.unwrap();
    let mut seen: Vec<JobProgress> = Vec::new();
    let failed = printer.wait_with(job, |p| seen.push(p.clone())).await;
    assert!(matches!(failed, Err(IppError::JobFailed { job_id, .. }) if job_id == job), "{failed:?}");
    let states: Vec<JobState> = seen.iter().map(|p| p.state).collect();
    assert!(states.contains(&JobState::Processing), "{seen:?}");
    assert_eq!(states.last(), Some(&JobState::Aborted), "{seen:?}");
    assert!(seen.windows(2).all(|w| w[0] != w[1]), "only changes are reported: {seen:?}");
    // The page done before the failure is counted (the command reports it a moment after it
    // started, so an earlier progress may still say 0).
    let printing: Vec<&JobProgress> = seen.iter().filter(|p| p.state == JobState::Processing).collect();
    assert!(printing.iter().any(|p| p.impressions_completed == Some(1)), "{seen:?}");
    assert!(printing.iter().all(|p| p.reasons.contains(&"job-printing".to_owned())), "{seen:?}");
    assert_eq!(seen.last().unwrap().impressions_completed, Some(1), "{seen:?}");
    // A failing job is the job's problem, not the printer's: it stays ready.
    assert_eq!(condition(&printer.status().await), Condition::Ready);
}

#[tokio::test]
async fn a_job_past_its_deadline_is_cancelled_at_the_printer() {
    let tmp = tempfile::tempdir().unwrap();
    let fixture = TestPrinter::start_with(tmp.path(), "Slow Printer", PrinterCommand::Fail);
    let mut printer = client(&fixture);
    printer.job_timeout = Duration::from_millis(300);
    let late = printer.print(&pdf("simple.pdf"), &options("late.pdf", 1, false, false, None)).await.unwrap_err();
    let IppError::Timeout { job_id, .. } = late else { panic!("{late:?}") };
    assert!(late.to_string().contains("cancelled"), "{late}");
    // The printer was told: the job ends canceled, not aborted by the failing command.
    let deadline = Instant::now() + Duration::from_secs(10);
    let end = loop {
        let p = printer.job_progress(job_id).await.unwrap();
        if p.state.is_final() || Instant::now() > deadline {
            break p;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(end.state, JobState::Canceled, "{end:?}");
}

#[tokio::test]
async fn a_printer_lost_mid_job_ends_the_wait_after_the_grace_period() {
    let tmp = tempfile::tempdir().unwrap();
    let mut fixture = TestPrinter::start_with(tmp.path(), "Dying Printer", PrinterCommand::Fail);
    let mut printer = client(&fixture);
    printer.unreachable_grace = Duration::from_secs(2);
    let job = printer.submit(&pdf("simple.pdf"), &options("lost.pdf", 1, false, false, None)).await.unwrap();
    fixture.power_off();
    let started = Instant::now();
    let lost = printer.wait_with(job, |_| {}).await.unwrap_err();
    let took = started.elapsed();
    assert!(matches!(lost, IppError::Unreachable(_)), "{lost:?}");
    assert!(took >= Duration::from_secs(2) && took < Duration::from_secs(6), "{took:?}");
    assert!(lost.to_string().contains(&format!("while job {job} was")), "{lost}");
}

#[tokio::test]
async fn a_printer_out_of_paper_is_shown_so_but_still_takes_jobs() {
    let tmp = tempfile::tempdir().unwrap();
    let fixture = TestPrinter::start_with(tmp.path(), "Paper Eater", PrinterCommand::RunsOutOfPaper);
    let printer = client(&fixture);
    assert_eq!(condition(&printer.status().await), Condition::Ready);
    printer.print(&pdf("simple.pdf"), &options("last sheet.pdf", 1, false, false, None)).await.unwrap();
    let status = printer.status().await;
    let s = status.as_ref().unwrap();
    // ippeveprinter suffixes the reason by its state: idle, so -report.
    assert_eq!(s.reasons, vec!["media-empty-report".to_owned()]);
    assert_eq!(condition(&status), Condition::OutOfPaper);
    assert!(!condition(&status).choosable());
    // submit refuses only stopped printers or those not accepting jobs (a printer with another
    // tray may still print): the job goes in.
    assert!(printer.ready().await.is_ok());
}

/// A printer busy with one job answers the next Print-Job `server-error-busy`; the client asks
/// again until the printer takes it, so two patrons' jobs in a row both print.
#[tokio::test]
async fn a_job_sent_while_the_printer_is_busy_waits_for_it_instead_of_failing() {
    let tmp = tempfile::tempdir().unwrap();
    let fixture = TestPrinter::start_with(tmp.path(), "Slow Printer", PrinterCommand::Slow);
    let printer = client(&fixture);
    let document = pdf("simple.pdf");
    let first = printer.submit(&document, &options("first", 1, false, false, None)).await.unwrap();
    let started = Instant::now();
    let second = printer.submit(&document, &options("second", 1, false, false, None)).await;
    let second = second.unwrap_or_else(|e| panic!("the second job failed while the first printed: {e}"));
    assert_ne!(first, second);
    assert!(started.elapsed() >= Duration::from_millis(500), "the printer was not busy: {:?}", started.elapsed());
    for job in [first, second] {
        assert_eq!(printer.wait_with(job, |_| {}).await.unwrap(), job);
    }
    assert_eq!(fixture.printed().len(), 2);
}
