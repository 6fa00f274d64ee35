//! Languages of patron mail: the built-in templates of each (`templates/LANG/`, compiled in),
//! subject lines, names of days and months, durations in words, and the label of the release
//! code line.
//!
//! Why whole templates per language rather than one template filled from a string table: word
//! order, plurals and where a date goes differ between languages, so a translator writes whole
//! sentences. Only the few strings Rust itself assembles (subjects, dates, durations) live here.
//! Refusal reasons that come from conversion errors stay in English (they are error types).
//! Adding a language: a directory under `templates/`, a variant here, and its strings.

use std::time::Duration;

use jiff::civil::Weekday;

/// A built-in reply language: the type and its config names are `config`'s; its words are here.
pub use crate::config::Language;

/// Which short notice (not the main reply) a mail is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    /// CANCEL destroyed the jobs.
    Cancelled,
    /// CANCEL found nothing left to destroy.
    NothingToCancel,
    /// EXTEND moved the expiry.
    Extended,
    /// EXTEND was used before, or the jobs are gone.
    NotExtended,
    /// RESEND found no live jobs (a RESEND that worked sends a whole new reply instead).
    NotResent,
    /// The first line of the answer was no command.
    NotACommand,
    /// The queue's `reminder_before` came: the jobs expire soon.
    Reminder,
    /// The first mail of an address on a queue with `verify_new_senders`: its jobs are held
    /// until the owner of the address answers YES.
    VerifySender,
}

impl Language {
    /// The text part's machine-readable code line starts with this label, followed by the
    /// code in groups of four (`Release code: 4821 0937`). Stable per language.
    pub fn code_label(self) -> &'static str {
        match self {
            Self::En => "Release code: ",
            Self::De => "Freigabecode: ",
        }
    }

    /// The built-in template `name` (`reply.txt`, `reply.html` or `notice.txt`).
    pub(crate) fn builtin(self, name: &str) -> Option<&'static str> {
        Some(match (self, name) {
            (Self::En, "reply.txt") => include_str!("../../templates/en/reply.txt.j2"),
            (Self::En, "reply.html") => include_str!("../../templates/en/reply.html.j2"),
            (Self::En, "notice.txt") => include_str!("../../templates/en/notice.txt.j2"),
            (Self::De, "reply.txt") => include_str!("../../templates/de/reply.txt.j2"),
            (Self::De, "reply.html") => include_str!("../../templates/de/reply.html.j2"),
            (Self::De, "notice.txt") => include_str!("../../templates/de/notice.txt.j2"),
            _ => return None,
        })
    }

    /// `Ready to print: 2 documents, code 4821 0937`.
    pub fn ready_subject(self, printable: usize, code: &str) -> String {
        match self {
            Self::En => format!("Ready to print: {printable} document{}, code {code}", if printable == 1 { "" } else { "s" }),
            Self::De => format!("Bereit zum Drucken: {printable} Dokument{}, Code {code}", if printable == 1 { "" } else { "e" }),
        }
    }

    pub fn failed_subject(self) -> &'static str {
        match self {
            Self::En => "Could not print your documents",
            Self::De => "Ihre Dokumente konnten nicht gedruckt werden",
        }
    }

    pub fn notice_subject(self, kind: NoticeKind) -> &'static str {
        use NoticeKind as K;
        match (self, kind) {
            (Self::En, K::Cancelled) => "Cancelled: your documents were deleted",
            (Self::En, K::NothingToCancel) => "Nothing to cancel",
            (Self::En, K::Extended) => "Extended: your documents are kept longer",
            (Self::En, K::NotExtended) => "Not extended",
            (Self::En, K::NotResent) => "No new code: nothing is waiting to print",
            (Self::En, K::NotACommand) => "Your reply was not understood",
            (Self::En, K::Reminder) => "Reminder: your documents will be deleted soon",
            (Self::En, K::VerifySender) => "Please confirm: did you send these documents to print?",
            (Self::De, K::Cancelled) => "Storniert: Ihre Dokumente wurden gelöscht",
            (Self::De, K::NothingToCancel) => "Nichts zu stornieren",
            (Self::De, K::Extended) => "Verlängert: Ihre Dokumente werden länger aufbewahrt",
            (Self::De, K::NotExtended) => "Nicht verlängert",
            (Self::De, K::NotResent) => "Kein neuer Code: es wartet nichts auf den Druck",
            (Self::De, K::NotACommand) => "Ihre Antwort wurde nicht verstanden",
            (Self::De, K::Reminder) => "Erinnerung: Ihre Dokumente werden bald gelöscht",
            (Self::De, K::VerifySender) => "Bitte bestätigen: Haben Sie diese Dokumente zum Drucken gesendet?",
        }
    }

    fn weekday(self, day: Weekday) -> &'static str {
        let index = match day {
            Weekday::Monday => 0,
            Weekday::Tuesday => 1,
            Weekday::Wednesday => 2,
            Weekday::Thursday => 3,
            Weekday::Friday => 4,
            Weekday::Saturday => 5,
            Weekday::Sunday => 6,
        };
        match self {
            Self::En => ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"][index],
            Self::De => ["Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"][index],
        }
    }

    fn month(self, month: i8) -> &'static str {
        let index = usize::try_from(month.clamp(1, 12) - 1).unwrap_or(0);
        match self {
            Self::En => {
                ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"]
                    [index]
            }
            Self::De => {
                ["Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober", "November", "Dezember"]
                    [index]
            }
        }
    }

    /// A moment as a patron reads it, with the zone's abbreviation:
    /// `Friday 27 November 2026, 14:05 CET`, `Freitag, 27. November 2026, 14:05 Uhr (CET)`.
    pub fn datetime(self, at: &jiff::ZonedDateTime) -> String {
        let zone = at.strftime("%Z").to_string();
        let (day, month, year) = (at.day(), self.month(at.month()), at.year());
        let (hour, minute) = (at.hour(), at.minute());
        match self {
            Self::En => format!("{} {day} {month} {year}, {hour:02}:{minute:02} {zone}", self.weekday(at.weekday())),
            Self::De => format!("{}, {day}. {month} {year}, {hour:02}:{minute:02} Uhr ({zone})", self.weekday(at.weekday())),
        }
    }

    /// A duration in words, in whole days when it is some, else hours, else minutes:
    /// `24 hours`, `3 days`, `90 minutes`.
    pub fn duration(self, d: Duration) -> String {
        let secs = d.as_secs();
        let (n, unit) = if secs >= 2 * 86400 && secs.is_multiple_of(86400) {
            (secs / 86400, 0)
        } else if secs.is_multiple_of(3600) && secs > 0 {
            (secs / 3600, 1)
        } else {
            (secs.div_ceil(60), 2)
        };
        let one = n == 1;
        let word = match (self, unit) {
            (Self::En, 0) => {
                if one {
                    "day"
                } else {
                    "days"
                }
            }
            (Self::En, 1) => {
                if one {
                    "hour"
                } else {
                    "hours"
                }
            }
            (Self::En, _) => {
                if one {
                    "minute"
                } else {
                    "minutes"
                }
            }
            (Self::De, 0) => {
                if one {
                    "Tag"
                } else {
                    "Tage"
                }
            }
            (Self::De, 1) => {
                if one {
                    "Stunde"
                } else {
                    "Stunden"
                }
            }
            (Self::De, _) => {
                if one {
                    "Minute"
                } else {
                    "Minuten"
                }
            }
        };
        format!("{n} {word}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_durations() {
        assert_eq!(Language::parse("de"), Some(Language::De));
        assert_eq!(Language::parse("fr"), None);
        assert_eq!(Language::En.duration(Duration::from_secs(86400)), "24 hours");
        assert_eq!(Language::De.duration(Duration::from_secs(3 * 86400)), "3 Tage");
        assert_eq!(Language::En.duration(Duration::from_secs(90 * 60)), "90 minutes");
        assert_eq!(Language::De.ready_subject(2, "1234 5678"), "Bereit zum Drucken: 2 Dokumente, Code 1234 5678");
        for lang in Language::ALL {
            for name in ["reply.txt", "reply.html", "notice.txt"] {
                assert!(lang.builtin(name).is_some(), "{lang:?} lacks {name}");
            }
        }
    }
}
