//! The daily page caps in the pipeline: after conversion, before the message is stored, each
//! sealed job asks the store's budget ([`crate::store::budget`]) for its pages × copies (and its
//! colour pages × copies); a job that would go over a cap is dropped and its document's reply line
//! says which cap, how much was left and when the count starts again (local midnight in the
//! queue's time zone). The other documents are stored and printed, in order.

use jiff::Timestamp;
use jiff::tz::TimeZone;

use super::{Pipeline, PipelineError};
use crate::config::{Language, QueueConfig};
use crate::notify::DocumentLine;
use crate::spool::SpoolMeta;
use crate::store::NewJob;
use crate::store::budget::{Ask, Budget, Cap, Charge};

/// The local day of `now` in `zone` (`2026-12-05`) and when the next one starts (Unix seconds).
pub fn local_day(now: i64, zone: &TimeZone) -> (String, i64) {
    let Ok(at) = Timestamp::from_second(now) else { return (String::new(), now + 86_400) };
    let here = at.to_zoned_datetime(zone.clone());
    let day = here.date();
    let next = day.tomorrow().ok().and_then(|d| d.to_zoned_datetime(zone.clone()).ok()).map_or(now + 86_400, |z| z.timestamp().as_second());
    (day.to_string(), next)
}

/// The caps of `queue` for a sender (`guest`: not authenticated) on `day`.
pub fn budget(queue: &QueueConfig, sender: &str, guest: bool, day: String) -> Budget {
    Budget {
        queue: queue.name.clone(),
        sender: sender.to_ascii_lowercase(),
        day,
        sender_pages: queue.daily_pages.map(i64::from),
        guest_pages: queue.guest_daily_pages.filter(|_| guest).map(i64::from),
        color_pages: queue.daily_color_pages.map(i64::from),
        queue_pages: queue.queue_daily_pages.map(i64::from),
    }
}

/// A refused document's reason in the queue's language: the cap, what was left, when it starts
/// again (`resets`, already in that language).
pub fn over_words(cap: Cap, limit: i64, left: i64, resets: &str, language: Language) -> String {
    match language {
        Language::En => {
            let (whose, unit) = match cap {
                Cap::SenderPages => ("your daily limit", "pages"),
                Cap::GuestPages => ("the daily limit for senders the library cannot verify", "pages"),
                Cap::ColorPages => ("your daily limit", "colour pages"),
                Cap::QueuePages => ("this printer's daily limit for everyone", "pages"),
            };
            format!("it would go over {whose} of {limit} {unit}: {left} left today; the count starts again {resets}")
        }
        Language::De => {
            let (whose, unit) = match cap {
                Cap::SenderPages => ("Ihr Tageslimit", "Seiten"),
                Cap::GuestPages => ("das Tageslimit für Absender, die die Bibliothek nicht überprüfen kann,", "Seiten"),
                Cap::ColorPages => ("Ihr Tageslimit", "Farbseiten"),
                Cap::QueuePages => ("das Tageslimit dieses Druckers für alle", "Seiten"),
            };
            format!("es würde {whose} von {limit} {unit} überschreiten: heute noch {left} übrig; die Zählung beginnt wieder am {resets}")
        }
    }
}

impl Pipeline {
    /// Drops the jobs over a cap and words their lines (see the module docs). `lines` holds one
    /// line per document; the k-th `ok` line is the k-th job's.
    pub(super) async fn apply_caps(
        &self,
        meta: &SpoolMeta,
        queue: &QueueConfig,
        sender: &str,
        jobs: &mut Vec<NewJob>,
        lines: &mut [DocumentLine],
    ) -> Result<(), PipelineError> {
        let zone = queue.timezone.time_zone();
        let (day, next) = local_day(self.store.now(), zone);
        let budget = budget(queue, sender, meta.sender_grade != "authenticated", day);
        let asks: Vec<Ask> =
            jobs.iter().map(|j| Ask { pages: j.pages * j.copies.max(1), color_pages: j.color_pages * j.copies.max(1) }).collect();
        let charges = self.store.charge_pages(&meta.id, &budget, &asks).await?;
        let live = self.live.load();
        let replies = live.replies_for(&queue.name);
        let resets = crate::notify::when::format(next, &replies.zone, replies.language);
        let mut ok_lines = lines.iter_mut().filter(|l| l.ok);
        let mut kept = Vec::with_capacity(jobs.len());
        for (job, charge) in jobs.drain(..).zip(charges) {
            let line = ok_lines.next();
            match (charge, line) {
                (Charge::Over { cap, limit, left }, Some(line)) => {
                    crate::metrics::inc("printgate_sender_refusals_total", &[("cause", "cap")]);
                    tracing::info!(spool_id = %meta.id, seq = job.seq, ?cap, "document over a daily page cap");
                    *line = DocumentLine {
                        name: line.name.clone(),
                        reason: over_words(cap, limit, left, &resets, replies.language),
                        ..Default::default()
                    };
                }
                _ => kept.push(job),
            }
        }
        *jobs = kept;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_is_the_queues_local_day_and_ends_at_its_midnight() {
        let berlin = TimeZone::get("Europe/Berlin").unwrap();
        let ts = |s: &str| s.parse::<Timestamp>().unwrap().as_second();
        // (moment, zone, local day, next local midnight)
        for (now, zone, day, next) in [
            ("2026-12-05T12:00:00Z", TimeZone::UTC, "2026-12-05", "2026-12-06T00:00:00Z"),
            ("2026-12-05T23:30:00Z", berlin.clone(), "2026-12-06", "2026-12-06T23:00:00Z"),
            ("2026-12-05T22:59:59Z", berlin.clone(), "2026-12-05", "2026-12-05T23:00:00Z"),
            // The night summer time starts, the day is 23 hours long.
            ("2026-03-29T10:00:00Z", berlin.clone(), "2026-03-29", "2026-03-29T22:00:00Z"),
        ] {
            assert_eq!(local_day(ts(now), &zone), (day.to_owned(), ts(next)), "{now}");
        }
    }

    #[test]
    fn caps_apply_as_configured_and_the_guest_cap_only_to_guests() {
        let queue =
            QueueConfig { daily_pages: Some(10), guest_daily_pages: Some(3), queue_daily_pages: Some(500), ..QueueConfig::sample() };
        let b = budget(&queue, "P@Example.org", true, "2026-12-05".into());
        assert_eq!(
            (b.sender.as_str(), b.sender_pages, b.guest_pages, b.color_pages, b.queue_pages),
            ("p@example.org", Some(10), Some(3), None, Some(500))
        );
        assert_eq!(budget(&queue, "p@example.org", false, String::new()).guest_pages, None);
    }

    #[test]
    fn a_refusal_says_the_cap_what_is_left_and_when_it_resets() {
        let words = over_words(Cap::SenderPages, 10, 4, "Sunday 6 December 2026, 00:00 CET", Language::En);
        let expected =
            "it would go over your daily limit of 10 pages: 4 left today; the count starts again Sunday 6 December 2026, 00:00 CET";
        assert_eq!(words, expected);
        assert!(over_words(Cap::ColorPages, 5, 0, "x", Language::En).contains("of 5 colour pages: 0 left"));
        assert!(over_words(Cap::GuestPages, 3, 1, "x", Language::En).contains("senders the library cannot verify"));
        assert!(over_words(Cap::QueuePages, 100, 0, "x", Language::En).contains("this printer's daily limit for everyone"));
        let de = over_words(Cap::SenderPages, 10, 4, "Sonntag, 6. Dezember 2026, 00:00 Uhr (CET)", Language::De);
        let expected = "es würde Ihr Tageslimit von 10 Seiten überschreiten: heute noch 4 übrig; die Zählung beginnt wieder am Sonntag, 6. Dezember 2026, 00:00 Uhr (CET)";
        assert_eq!(de, expected);
        assert!(over_words(Cap::ColorPages, 5, 0, "x", Language::De).contains("von 5 Farbseiten"));
    }
}
