//! What a printer says about itself ([`PrinterStatus`]) and what a patron is told about it
//! ([`Condition`], decided by the pure [`condition`]).
//!
//! ## The rule
//!
//! `printer-state-reasons` keywords carry a severity suffix (`-report`, `-warning`, `-error`,
//! none meaning error; RFC 8011 §5.4.12), but printers set it unreliably: `ippeveprinter`
//! suffixes every reason by the printer's state (`media-empty-report` while idle, `-warning`
//! while printing, `-error` when stopped), PAPPL-based printers send none at all. So the
//! suffix is ignored and the keyword itself decides, in this order (the first that applies):
//!
//! 1. no answer, or an answer that makes no sense (`Err(_)`): **Offline**; a printer that
//!    answered "not accepting jobs" to a request (`Err(NotAccepting)`): **NotAccepting**;
//! 2. a reason that stops a patron's job whatever its suffix, most urgent first:
//!    `offline`, `shutdown`, `timed-out` → **Offline**; `media-jam` → **Jammed**; `door-open`,
//!    `cover-open`, `interlock-open` → **DoorOpen**; `media-empty`, `media-needed` →
//!    **OutOfPaper**; `toner-empty`, `marker-supply-empty` → **OutOfToner**. A reason matches
//!    its keyword alone or with a severity suffix (`media-empty`, `media-empty-report`,
//!    `-warning`, `-error`), nothing else (`media-empty-tray-2` is a vendor keyword: unknown);
//! 3. `printer-state` stopped, or a `paused`/`moving-to-paused`/`stopping` reason: **Stopped**;
//! 4. `printer-is-accepting-jobs` false: **NotAccepting**;
//! 5. `printer-state` processing: **Printing**; otherwise **Ready**.
//!
//! Every other reason — `toner-low`, `media-low`, `marker-supply-low`, any `-report` or
//! `-warning`, vendor keywords — is only shown, never blocking: a printer that is idle and
//! accepting jobs with them still prints. Only Ready and Printing are [`Condition::choosable`].
//!
//! Rule 2 errs on the side of "ask staff": a printer with several trays that reports
//! `media-empty` for one of them while printing from another shows OutOfPaper. This module is
//! only about the kiosk's words; [`super::Printer::submit`] refuses only a stopped printer or
//! one not accepting jobs (as before), so poll mode still prints on such a printer.
//!
//! Owns: reading a Get-Printer-Attributes answer into a status and the cached capabilities.
//! Must not touch: the network (mod.rs asks), or any wording in a language (the kiosk maps
//! [`Condition::key`] to words).

use super::IppError;
use super::wire::Answer;

/// `printer-state` (RFC 8011 §5.4.11).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrinterState {
    Idle,
    Processing,
    Stopped,
}

impl PrinterState {
    /// The state for an enum value; a printer that leaves `printer-state` out, or sends a
    /// value not in RFC 8011, counts as idle (the reasons and `accepting` still apply).
    fn from_ipp(value: Option<i32>) -> Self {
        use ipp::model::PrinterState as P;
        match value {
            Some(v) if v == P::Processing as i32 => Self::Processing,
            Some(v) if v == P::Stopped as i32 => Self::Stopped,
            _ => Self::Idle,
        }
    }
}

/// A printer's answer to "how are you?".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrinterStatus {
    pub state: PrinterState,
    /// `printer-state-reasons` without `none`, severity suffixes (`-report`, `-warning`,
    /// `-error`) kept as received.
    pub reasons: Vec<String>,
    /// `printer-is-accepting-jobs` (true when the printer leaves it out).
    pub accepting: bool,
    /// The printer lists `color` in `print-color-mode-supported` (or says `color-supported`).
    pub color_supported: bool,
    /// The printer lists `two-sided-long-edge` in `sides-supported`.
    pub duplex_supported: bool,
    /// `printer-state-message`, as the printer words it (may be empty).
    pub message: String,
}

impl PrinterStatus {
    pub(super) fn from_answer(answer: &Answer, capabilities: &Capabilities) -> Self {
        Self {
            state: PrinterState::from_ipp(answer.int("printer-state")),
            reasons: answer.words("printer-state-reasons").into_iter().filter(|r| r != "none").collect(),
            accepting: answer.bool("printer-is-accepting-jobs").unwrap_or(true),
            color_supported: capabilities.color_supported(),
            duplex_supported: capabilities.duplex_supported(),
            message: answer.words("printer-state-message").join(" "),
        }
    }

    /// Whether a job may be sent: not stopped and accepting jobs. Reasons such as
    /// `media-empty` do not refuse a job here (see the module's rule).
    ///
    /// # Errors
    /// [`IppError::NotAccepting`] naming the state, reasons and message.
    pub fn ready(&self) -> Result<(), IppError> {
        if self.state == PrinterState::Stopped {
            return Err(IppError::NotAccepting(format!("stopped ({})", self.explain())));
        }
        if !self.accepting {
            return Err(IppError::NotAccepting(format!("not accepting jobs ({})", self.explain())));
        }
        Ok(())
    }

    /// The reasons and the printer's message, for errors and logs.
    pub fn explain(&self) -> String {
        let reasons = if self.reasons.is_empty() { "no reason given".to_owned() } else { self.reasons.join(", ") };
        if self.message.is_empty() { reasons } else { format!("{reasons}; printer says: {}", self.message) }
    }
}

/// What the printer can do, asked once per [`super::Printer`] and kept.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Capabilities {
    /// `print-color-mode-supported`.
    pub color_modes: Vec<String>,
    /// `sides-supported`.
    pub sides: Vec<String>,
    /// `color-supported` (IPP/1.1 printers without `print-color-mode`).
    pub color: bool,
}

impl Capabilities {
    pub(super) fn from_answer(answer: &Answer) -> Self {
        Self {
            color_modes: answer.words("print-color-mode-supported"),
            sides: answer.words("sides-supported"),
            color: answer.bool("color-supported").unwrap_or(false),
        }
    }

    fn color_supported(&self) -> bool {
        self.color || self.color_modes.iter().any(|m| m == "color")
    }

    fn duplex_supported(&self) -> bool {
        self.sides.iter().any(|s| s == "two-sided-long-edge")
    }
}

/// What a patron is told about a printer, as a stable key (the kiosk words it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Condition {
    Ready,
    Printing,
    OutOfPaper,
    Jammed,
    DoorOpen,
    OutOfToner,
    Stopped,
    NotAccepting,
    Offline,
}

impl Condition {
    /// `ready`, `printing`, `out_of_paper`, `jammed`, `door_open`, `out_of_toner`, `stopped`,
    /// `not_accepting` or `offline`.
    pub fn key(&self) -> &'static str {
        match self {
            Self::Ready => "ready",
            Self::Printing => "printing",
            Self::OutOfPaper => "out_of_paper",
            Self::Jammed => "jammed",
            Self::DoorOpen => "door_open",
            Self::OutOfToner => "out_of_toner",
            Self::Stopped => "stopped",
            Self::NotAccepting => "not_accepting",
            Self::Offline => "offline",
        }
    }

    /// Whether a patron may send jobs to the printer now: Ready and Printing only.
    pub fn choosable(&self) -> bool {
        matches!(self, Self::Ready | Self::Printing)
    }
}

/// Reasons that stop a job whatever their suffix, most urgent first (rule 2 of the module).
const BLOCKING: &[(&str, Condition)] = &[
    ("offline", Condition::Offline),
    ("shutdown", Condition::Offline),
    ("timed-out", Condition::Offline),
    ("media-jam", Condition::Jammed),
    ("door-open", Condition::DoorOpen),
    ("cover-open", Condition::DoorOpen),
    ("interlock-open", Condition::DoorOpen),
    ("media-empty", Condition::OutOfPaper),
    ("media-needed", Condition::OutOfPaper),
    ("toner-empty", Condition::OutOfToner),
    ("marker-supply-empty", Condition::OutOfToner),
];

/// Reasons that mean the printer stopped or is stopping (rule 3).
const STOPPING: &[&str] = &["paused", "moving-to-paused", "stopping"];

/// `reason` is `keyword`, bare or with a severity suffix.
fn is(reason: &str, keyword: &str) -> bool {
    reason.strip_prefix(keyword).is_some_and(|rest| ["", "-report", "-warning", "-error"].contains(&rest))
}

/// What a patron is told about a printer: the rule in the module documentation.
pub fn condition(status: &Result<PrinterStatus, IppError>) -> Condition {
    let status = match status {
        Ok(s) => s,
        Err(IppError::NotAccepting(_)) => return Condition::NotAccepting,
        Err(_) => return Condition::Offline,
    };
    let blocking = BLOCKING.iter().find(|(keyword, _)| status.reasons.iter().any(|r| is(r, keyword)));
    if let Some((_, c)) = blocking {
        return *c;
    }
    if status.state == PrinterState::Stopped || status.reasons.iter().any(|r| STOPPING.iter().any(|k| is(r, k))) {
        return Condition::Stopped;
    }
    if !status.accepting {
        return Condition::NotAccepting;
    }
    if status.state == PrinterState::Processing { Condition::Printing } else { Condition::Ready }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(state: PrinterState, accepting: bool, reasons: &[&str]) -> Result<PrinterStatus, IppError> {
        Ok(PrinterStatus {
            state,
            reasons: reasons.iter().map(|r| (*r).to_owned()).collect(),
            accepting,
            color_supported: true,
            duplex_supported: true,
            message: String::new(),
        })
    }

    #[test]
    fn conditions_follow_the_documented_rule() {
        use Condition::*;
        use PrinterState::{Idle, Processing, Stopped as Halted};
        let table: &[(PrinterState, bool, &[&str], Condition)] = &[
            (Idle, true, &[], Ready),
            (Processing, true, &[], Printing),
            (Halted, true, &[], Stopped),
            (Idle, false, &[], NotAccepting),
            // Warnings and reports that are not errors do not block.
            (Idle, true, &["toner-low"], Ready),
            (Idle, true, &["toner-low-warning"], Ready),
            (Idle, true, &["toner-low-report", "media-low-report", "marker-supply-low-warning"], Ready),
            (Processing, true, &["media-low-warning", "com.example-fuser-warming-report"], Printing),
            (Idle, true, &["other-warning", "spool-area-full-report", "connecting-to-device"], Ready),
            (Idle, true, &["input-tray-missing-error"], Ready),
            // Out of paper, whatever the suffix (ippeveprinter: -report while idle).
            (Idle, true, &["media-empty"], OutOfPaper),
            (Idle, true, &["media-empty-report"], OutOfPaper),
            (Processing, true, &["media-empty-warning"], OutOfPaper),
            (Halted, true, &["media-empty-error"], OutOfPaper),
            (Processing, true, &["media-needed-warning"], OutOfPaper),
            (Idle, true, &["media-low-report", "toner-low"], Ready),
            // Jams, doors, toner.
            (Halted, true, &["media-jam-error"], Jammed),
            (Halted, true, &["media-jam"], Jammed),
            (Halted, true, &["door-open-error"], DoorOpen),
            (Idle, true, &["cover-open-report"], DoorOpen),
            (Halted, true, &["interlock-open"], DoorOpen),
            (Halted, true, &["toner-empty-error"], OutOfToner),
            (Halted, true, &["marker-supply-empty-error"], OutOfToner),
            (Idle, true, &["marker-supply-low-report", "toner-low-report"], Ready),
            // The most urgent of several wins, in the rule's order.
            (Halted, true, &["toner-empty-error", "media-empty-error", "media-jam-error"], Jammed),
            (Halted, true, &["toner-empty-error", "cover-open-error"], DoorOpen),
            (Halted, true, &["toner-empty-error", "media-needed-error"], OutOfPaper),
            (Halted, true, &["media-jam-error", "offline-report"], Offline),
            // A specific reason beats stopped and not accepting.
            (Halted, false, &["media-empty-error"], OutOfPaper),
            (Idle, false, &["door-open"], DoorOpen),
            // Offline by reason (CUPS: offline-report when the device does not answer).
            (Idle, true, &["offline-report"], Offline),
            (Processing, true, &["offline"], Offline),
            (Idle, true, &["shutdown"], Offline),
            (Processing, true, &["timed-out-warning"], Offline),
            // Stopped by state or by a pausing reason; stopped before not accepting.
            (Halted, true, &["paused"], Stopped),
            (Idle, true, &["paused"], Stopped),
            (Processing, true, &["moving-to-paused-warning"], Stopped),
            (Halted, false, &["other-error"], Stopped),
            (Processing, false, &[], NotAccepting),
            // Keywords that only start like a blocking one are not it.
            (Idle, true, &["media-emptying", "door-opener", "offline-capable", "media-empty-tray-2", "media-jam-cleared"], Ready),
        ];
        for (state, accepting, reasons, want) in table {
            let got = condition(&status(*state, *accepting, reasons));
            assert_eq!(got, *want, "{state:?}, accepting {accepting}, {reasons:?}");
        }
    }

    #[test]
    fn errors_are_offline_except_a_printer_that_said_it_takes_no_jobs() {
        let table = [
            (IppError::Unreachable("connection refused".into()), Condition::Offline),
            (IppError::Malformed("truncated".into()), Condition::Offline),
            (IppError::Refused("HTTP 404".into()), Condition::Offline),
            (IppError::BadUri("x".into()), Condition::Offline),
            (IppError::NotAccepting("Busy (0x0507)".into()), Condition::NotAccepting),
        ];
        for (e, want) in table {
            let text = e.to_string();
            assert_eq!(condition(&Err(e)), want, "{text}");
        }
    }

    #[test]
    fn keys_are_stable_and_only_ready_and_printing_are_choosable() {
        use Condition::*;
        let all = [Ready, Printing, OutOfPaper, Jammed, DoorOpen, OutOfToner, Stopped, NotAccepting, Offline];
        let keys: Vec<&str> = all.iter().map(Condition::key).collect();
        assert_eq!(
            keys,
            ["ready", "printing", "out_of_paper", "jammed", "door_open", "out_of_toner", "stopped", "not_accepting", "offline"]
        );
        let choosable: Vec<Condition> = all.into_iter().filter(Condition::choosable).collect();
        assert_eq!(choosable, [Ready, Printing]);
    }

    #[test]
    fn ready_refuses_only_stopped_or_not_accepting_printers() {
        let ok = |state, accepting, reasons: &[&str]| status(state, accepting, reasons).unwrap().ready();
        assert!(ok(PrinterState::Idle, true, &["media-empty-report"]).is_ok());
        assert!(ok(PrinterState::Processing, true, &[]).is_ok());
        let stopped = ok(PrinterState::Stopped, true, &["media-jam-error"]).unwrap_err();
        assert_eq!(stopped.to_string(), "printer is not taking jobs: stopped (media-jam-error)");
        let mut refusing = status(PrinterState::Idle, false, &[]).unwrap();
        refusing.message = "Rejecting Jobs".into();
        assert_eq!(
            refusing.ready().unwrap_err().to_string(),
            "printer is not taking jobs: not accepting jobs (no reason given; printer says: Rejecting Jobs)"
        );
    }
}
