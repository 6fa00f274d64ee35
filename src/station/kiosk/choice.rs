//! The kiosk's decisions, as pure functions: what a typed or scanned code is, how a document
//! name is shown, and what a patron's choices on the documents screen may change about a job.
//!
//! The patron may only make a job cheaper: colour -> greyscale, one-sided -> two-sided, fewer
//! copies. [`print_options`] enforces that whatever the form says (a forged or stale form can
//! never print more copies, colour a mono job or one-sided a two-sided one).

use crate::station::ipp::PrintOptions;
use crate::station::{JobListing, parse_range};

/// The longest code the release API takes (digits).
pub const MAX_CODE_DIGITS: usize = 18;
/// The shortest.
pub const MIN_CODE_DIGITS: usize = 4;
/// Characters of a document name shown with `--mask-titles`.
pub const MASKED_CHARS: usize = 5;

/// The digits of a code as typed or scanned (spaces, dashes and tabs ignored, as the API does),
/// or `None` when it holds anything else or has too few or too many digits.
pub fn normalize_code(typed: &str) -> Option<String> {
    let digits: String = typed.chars().filter(|c| !matches!(c, ' ' | '-' | '\t' | '\u{a0}')).collect();
    let ok = (MIN_CODE_DIGITS..=MAX_CODE_DIGITS).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit());
    ok.then_some(digits)
}

/// A code shown in groups of four digits: `4821 0937`.
pub fn group_code(digits: &str) -> String {
    let mut out = String::with_capacity(digits.len() + digits.len() / 4);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && i % 4 == 0 {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

/// A document name as the screen shows it: whole, or (masked) its first [`MASKED_CHARS`]
/// characters followed by an ellipsis, so the next person in the queue cannot read it.
pub fn shown_name(name: &str, masked: bool) -> String {
    if !masked || name.chars().count() <= MASKED_CHARS {
        return name.to_owned();
    }
    let mut shown: String = name.chars().take(MASKED_CHARS).collect();
    shown.push('…');
    shown
}

/// What the patron chose on the documents screen.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct Choice {
    /// Chosen jobs (ids), each with the copies asked for.
    pub jobs: Vec<(String, i64)>,
    pub greyscale: bool,
    pub two_sided: bool,
    /// Index into the configured printers.
    pub printer: Option<usize>,
}

impl Choice {
    /// Reads the documents form: `job` (repeated, a chosen job's id), `copies-<id>`,
    /// `greyscale`, `two_sided`, `printer`. Unknown fields are ignored; a copies field that is
    /// not a number counts as the job's own copies (checked again in [`print_options`]).
    pub fn from_form(fields: &[(String, String)]) -> Self {
        let value = |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
        let jobs = fields
            .iter()
            .filter(|(k, _)| k == "job")
            .map(|(_, id)| (id.clone(), value(&format!("copies-{id}")).and_then(|c| c.trim().parse().ok()).unwrap_or(i64::MAX)))
            .collect();
        Self {
            jobs,
            greyscale: value("greyscale").is_some(),
            two_sided: value("two_sided").is_some(),
            printer: value("printer").and_then(|p| p.parse().ok()),
        }
    }

    /// The copies chosen for `job`, if it was chosen.
    pub fn copies_of(&self, job: &str) -> Option<i64> {
        self.jobs.iter().find(|(id, _)| id == job).map(|(_, c)| *c)
    }

    /// The choice every screen starts with: all jobs, their own copies, no downgrade.
    pub fn all(jobs: &[JobListing]) -> Self {
        Self { jobs: jobs.iter().map(|j| (j.id.clone(), j.copies)).collect(), ..Self::default() }
    }
}

/// The IPP options for `job` under `choice`: downgrades only. Copies are clamped to
/// `1..=job.copies`; colour only if the job is colour and greyscale was not asked for;
/// two-sided if the job is, or if the patron asked for it.
pub fn print_options(job: &JobListing, choice: &Choice, job_name: String) -> PrintOptions {
    let asked = choice.copies_of(&job.id).unwrap_or(job.copies);
    PrintOptions {
        job_name,
        copies: i32::try_from(asked.clamp(1, job.copies.max(1))).unwrap_or(1),
        duplex: job.duplex || choice.two_sided,
        color: job.color && !choice.greyscale,
        page_range: parse_range(&job.page_range),
    }
}

/// The printer to preselect: the first that can be chosen, preferring any but `avoid` (the
/// printer that just failed).
pub fn preselect(choosable: &[bool], avoid: Option<usize>) -> Option<usize> {
    let first = |skip: Option<usize>| choosable.iter().enumerate().find(|(i, ok)| **ok && Some(*i) != skip).map(|(i, _)| i);
    first(avoid).or_else(|| first(None))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(id: &str, color: bool, duplex: bool, copies: i64) -> JobListing {
        JobListing {
            id: id.into(),
            filename: "f.pdf".into(),
            pages: 3,
            color,
            copies,
            bytes: 1,
            sha256: String::new(),
            duplex,
            page_range: String::new(),
            color_pages: 0,
        }
    }

    #[test]
    fn codes_typed_scanned_or_grouped_are_the_same_code() {
        for (typed, want) in [
            ("48210937", Some("48210937")),
            ("4821 0937", Some("48210937")),
            ("4821-0937", Some("48210937")),
            (" 4821\t0937 ", Some("48210937")),
            ("123", None),
            ("1234", Some("1234")),
            ("1234567890123456789", None),
            ("4821 093x", None),
            ("４８２１", None),
            ("", None),
        ] {
            assert_eq!(normalize_code(typed).as_deref(), want, "{typed:?}");
        }
        assert_eq!(group_code("48210937"), "4821 0937");
        assert_eq!(group_code("482109371"), "4821 0937 1");
        assert_eq!(group_code("482"), "482");
    }

    #[test]
    fn masked_names_keep_five_characters() {
        assert_eq!(shown_name("Bewerbung-Müller.pdf", true), "Bewer…");
        assert_eq!(shown_name("Übung.pdf", true), "Übung…");
        assert_eq!(shown_name("a.pdf", true), "a.pdf");
        assert_eq!(shown_name("Bewerbung-Müller.pdf", false), "Bewerbung-Müller.pdf");
    }

    #[test]
    fn choices_only_ever_make_a_job_cheaper() {
        let form = |pairs: &[(&str, &str)]| Choice::from_form(&pairs.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect::<Vec<_>>());
        // (job colour, duplex, copies), form, want (copies, duplex, colour)
        type Case = ((bool, bool, i64), Choice, (i32, bool, bool));
        let cases: &[Case] = &[
            ((true, false, 2), form(&[("job", "a")]), (2, false, true)),
            ((true, false, 2), form(&[("job", "a"), ("greyscale", "on"), ("two_sided", "on")]), (2, true, false)),
            ((true, false, 3), form(&[("job", "a"), ("copies-a", "1")]), (1, false, true)),
            // never more copies, never fewer than one, garbage is the job's own
            ((false, false, 2), form(&[("job", "a"), ("copies-a", "9")]), (2, false, false)),
            ((false, false, 2), form(&[("job", "a"), ("copies-a", "0")]), (1, false, false)),
            ((false, false, 2), form(&[("job", "a"), ("copies-a", "-4")]), (1, false, false)),
            ((false, false, 2), form(&[("job", "a"), ("copies-a", "two")]), (2, false, false)),
            // never colour for a mono job, never one-sided for a two-sided one
            ((false, true, 1), form(&[("job", "a")]), (1, true, false)),
            ((false, true, 1), form(&[("job", "a"), ("color", "on")]), (1, true, false)),
        ];
        for ((color, duplex, copies), choice, want) in cases {
            let o = print_options(&job("a", *color, *duplex, *copies), choice, "n".into());
            assert_eq!((o.copies, o.duplex, o.color), *want, "{choice:?}");
        }
    }

    #[test]
    fn the_form_lists_chosen_jobs_and_the_printer() {
        let fields: Vec<(String, String)> = [("job", "a"), ("copies-a", "1"), ("job", "c"), ("printer", "1"), ("copies-b", "2")]
            .map(|(k, v)| (k.into(), v.into()))
            .to_vec();
        let c = Choice::from_form(&fields);
        assert_eq!(c.jobs, vec![("a".into(), 1), ("c".into(), i64::MAX)]);
        assert_eq!(c.printer, Some(1));
        assert!(!c.greyscale && !c.two_sided);
        assert_eq!(c.copies_of("b"), None);
        assert_eq!(Choice::all(&[job("x", true, false, 3)]).jobs, vec![("x".into(), 3)]);
    }

    #[test]
    fn the_first_ready_printer_is_preselected_avoiding_the_one_that_failed() {
        assert_eq!(preselect(&[false, true, true], None), Some(1));
        assert_eq!(preselect(&[true, true], Some(0)), Some(1));
        assert_eq!(preselect(&[true, false], Some(0)), Some(0));
        assert_eq!(preselect(&[false, false], None), None);
        assert_eq!(preselect(&[], None), None);
    }
}
