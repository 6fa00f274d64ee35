//! Process-wide metrics in the Prometheus text format (version 0.0.4), served at `/metrics` on
//! the release API listener. A small registry of labelled counters, gauges and histograms kept
//! under one mutex each (updates are a map lookup; nothing here is on a per-byte path). Gauges
//! that mirror the store (pending jobs, unsent replies) are read at scrape time.
//!
//! Every metric is declared in [`METRICS`] with its type and help text; updating an undeclared
//! name is a programming error caught by the unit test that renders them all.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::{Mutex, OnceLock};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
}

/// `(name, kind, help)` of every metric printgate exports.
pub const METRICS: &[(&str, Kind, &str)] = &[
    ("printgate_smtp_sessions_total", Kind::Counter, "SMTP sessions accepted"),
    ("printgate_smtp_sessions_active", Kind::Gauge, "SMTP sessions open now"),
    ("printgate_messages_total", Kind::Counter, "Messages that reached the end of DATA, by SMTP outcome"),
    ("printgate_scanner_seconds", Kind::Histogram, "Time of one scanner call for one message, by scanner"),
    ("printgate_scanner_errors_total", Kind::Counter, "Scanner calls that failed (daemon down, timeout), by scanner"),
    ("printgate_conversion_seconds", Kind::Histogram, "Time to convert one document to print-ready PDF, by result"),
    (
        "printgate_converter_processes_total",
        Kind::Counter,
        "One-shot converter processes started (qpdf, pdftoppm, heif-convert), by program",
    ),
    ("printgate_pdf_checks_total", Kind::Counter, "PDFs read in process and printed as sent (in_process) or rewritten by qpdf (qpdf)"),
    ("printgate_documents_total", Kind::Counter, "Documents the pipeline finished, by outcome"),
    ("printgate_pages_stored_total", Kind::Counter, "Pages of the print jobs stored"),
    ("printgate_replies_total", Kind::Counter, "Reply delivery attempts to the relay, by result"),
    ("printgate_release_requests_total", Kind::Counter, "Release-code redemptions, by result"),
    ("printgate_jobs_acknowledged_total", Kind::Counter, "Station acknowledgements, by status"),
    ("printgate_jobs_pending", Kind::Gauge, "Print jobs stored and not yet released or expired"),
    ("printgate_outbox_pending", Kind::Gauge, "Replies not yet accepted by the relay"),
    (
        "printgate_sender_refusals_total",
        Kind::Counter,
        "Mails or documents refused by the queue's sender policy, by cause (deny_list, not_allowed, cap, unverified_expired)",
    ),
    ("printgate_mailbox_errors_total", Kind::Counter, "Failed connections or passes of an IMAP mailbox ([[mailbox]]), by mailbox"),
    (
        "printgate_mailbox_state",
        Kind::Gauge,
        "1 for the state each IMAP mailbox is in (connecting, reading, waiting, backoff), 0 for the others",
    ),
    ("printgate_mailbox_messages_total", Kind::Counter, "Messages read from an IMAP mailbox and decided, by mailbox and outcome"),
];

/// Histogram bucket bounds in seconds.
const BUCKETS: &[f64] = &[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];

#[derive(Default, Clone)]
struct Histogram {
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

type Key = (&'static str, String);

#[derive(Default)]
struct Registry {
    values: Mutex<BTreeMap<Key, f64>>,
    histograms: Mutex<BTreeMap<Key, Histogram>>,
}

fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(Registry::default)
}

fn label_text(labels: &[(&str, &str)]) -> String {
    labels
        .iter()
        .map(|(k, v)| {
            let v = v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n");
            format!("{k}=\"{v}\"")
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Adds `delta` to a counter or gauge.
pub fn add(name: &'static str, labels: &[(&str, &str)], delta: f64) {
    let mut values = registry().values.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    *values.entry((name, label_text(labels))).or_default() += delta;
}

/// Adds one to a counter.
pub fn inc(name: &'static str, labels: &[(&str, &str)]) {
    add(name, labels, 1.0);
}

/// Records one observation (seconds) in a histogram.
pub fn observe(name: &'static str, labels: &[(&str, &str)], seconds: f64) {
    let mut hs = registry().histograms.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let h = hs.entry((name, label_text(labels))).or_insert_with(|| Histogram { counts: vec![0; BUCKETS.len()], ..Histogram::default() });
    for (i, bound) in BUCKETS.iter().enumerate() {
        if seconds <= *bound {
            h.counts[i] += 1;
        }
    }
    h.sum += seconds;
    h.count += 1;
}

/// Times a future into a histogram.
pub async fn timed<T>(name: &'static str, labels: &[(&str, &str)], f: impl std::future::Future<Output = T>) -> T {
    let start = std::time::Instant::now();
    let out = f.await;
    observe(name, labels, start.elapsed().as_secs_f64());
    out
}

/// Decrements a gauge when dropped (e.g. open sessions).
pub struct GaugeGuard(&'static str);

impl GaugeGuard {
    pub fn new(name: &'static str) -> Self {
        add(name, &[], 1.0);
        Self(name)
    }
}

impl Drop for GaugeGuard {
    fn drop(&mut self) {
        add(self.0, &[], -1.0);
    }
}

fn fmt_value(v: f64) -> String {
    if v.is_finite() && v.fract() == 0.0 && v.abs() < 1e15 { format!("{}", v as i64) } else { format!("{v}") }
}

/// Renders every declared metric; `scraped` holds values read at scrape time (gauges).
pub fn render(scraped: &[(&'static str, f64)]) -> String {
    let values = registry().values.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
    let hs = registry().histograms.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
    let mut out = String::new();
    for (name, kind, help) in METRICS {
        let kind_word = match kind {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        };
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind_word}");
        if let Some((_, v)) = scraped.iter().find(|(n, _)| n == name) {
            let _ = writeln!(out, "{name} {}", fmt_value(*v));
            continue;
        }
        match kind {
            Kind::Histogram => {
                for ((_, labels), h) in hs.iter().filter(|((n, _), _)| n == name) {
                    let sep = if labels.is_empty() { "" } else { "," };
                    for (bound, count) in BUCKETS.iter().zip(&h.counts) {
                        let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"{bound}\"}} {count}");
                    }
                    let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {}", h.count);
                    let braces = if labels.is_empty() { String::new() } else { format!("{{{labels}}}") };
                    let _ = writeln!(out, "{name}_sum{braces} {}", h.sum);
                    let _ = writeln!(out, "{name}_count{braces} {}", h.count);
                }
            }
            _ => {
                let mut any = false;
                for ((_, labels), v) in values.iter().filter(|((n, _), _)| n == name) {
                    any = true;
                    let braces = if labels.is_empty() { String::new() } else { format!("{{{labels}}}") };
                    let _ = writeln!(out, "{name}{braces} {}", fmt_value(*v));
                }
                if !any && *kind == Kind::Gauge {
                    let _ = writeln!(out, "{name} 0");
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_histograms_and_escaped_labels_render() {
        inc("printgate_messages_total", &[("outcome", "refused")]);
        inc("printgate_messages_total", &[("outcome", "refused")]);
        add("printgate_release_requests_total", &[("result", "a\"b\\c\nd")], 1.0);
        observe("printgate_scanner_seconds", &[("scanner", "clamav")], 0.02);
        let text = render(&[("printgate_jobs_pending", 7.0)]);
        assert!(text.contains("printgate_messages_total{outcome=\"refused\"} 2\n"), "{text}");
        assert!(text.contains("result=\"a\\\"b\\\\c\\nd\""), "{text}");
        assert!(text.contains("printgate_scanner_seconds_bucket{scanner=\"clamav\",le=\"0.01\"} 0\n"), "{text}");
        assert!(text.contains("printgate_scanner_seconds_bucket{scanner=\"clamav\",le=\"0.025\"} 1\n"), "{text}");
        assert!(text.contains("printgate_scanner_seconds_count{scanner=\"clamav\"} 1\n"), "{text}");
        assert!(text.contains("printgate_jobs_pending 7\n"), "{text}");
        for (name, _, _) in METRICS {
            assert!(text.contains(&format!("# TYPE {name} ")), "{name} missing");
        }
    }
}
