//! The time zone the console shows a time in, and how it writes it. A time that belongs to a
//! queue (a message's arrival, a job's expiry) is shown in that queue's `timezone`, the zone
//! its patrons are told their expiry times in; a time that belongs to no queue (the dashboard's
//! hours, the day of a trace search) in the console's zone: the queues' zone when they all have
//! the same one, else UTC. Every time carries its zone's abbreviation (`CET`, `CEST`, `UTC`).
//!
//! Pure functions of the configuration; nothing here reads the clock or the store.

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;

use crate::config::{Config, Zone};

/// The console's zone: the queues' `timezone` if every queue has the same one, else UTC.
pub fn console_zone(config: &Config) -> Zone {
    common_zone(config.queue.iter().map(|q| &q.timezone))
}

/// The one zone all of `zones` name; UTC when they differ or there are none.
fn common_zone<'a>(zones: impl IntoIterator<Item = &'a Zone>) -> Zone {
    let mut zones = zones.into_iter();
    match zones.next() {
        Some(first) if zones.all(|z| z.name() == first.name()) => first.clone(),
        _ => Zone::utc(),
    }
}

/// The zone of queue `name` (the console's zone for a queue no longer configured).
pub fn queue_zone(config: &Config, name: &str) -> Zone {
    config.queue.iter().find(|q| q.name == name).map_or_else(|| console_zone(config), |q| q.timezone.clone())
}

fn zoned(secs: i64, zone: &Zone) -> Option<jiff::ZonedDateTime> {
    Timestamp::from_second(secs).ok().map(|t| t.to_zoned_datetime(zone.time_zone().clone()))
}

/// `2026-11-25 15:05 CET`.
pub fn when(secs: i64, zone: &Zone) -> String {
    zoned(secs, zone).map_or_else(|| secs.to_string(), |z| z.strftime("%Y-%m-%d %H:%M %Z").to_string())
}

/// The start of an hour for a chart's row: `Wed 15:00`.
pub fn hour(secs: i64, zone: &Zone) -> String {
    zoned(secs, zone).map_or_else(|| secs.to_string(), |z| z.strftime("%a %H:%M").to_string())
}

/// The abbreviation of `zone` at `secs` (`CET` in winter, `CEST` in summer).
pub fn abbreviation(secs: i64, zone: &Zone) -> String {
    zoned(secs, zone).map_or_else(|| zone.name().to_owned(), |z| z.strftime("%Z").to_string())
}

/// The Unix seconds `[start, end)` of day `date` (`2026-11-25`) in `zone`: from one local
/// midnight to the next, 23 or 25 hours on the days the clocks change. `None` when `date` is
/// not a date.
pub fn day(date: &str, zone: &TimeZone) -> Option<(i64, i64)> {
    let day: Date = date.trim().parse().ok()?;
    let start = day.to_zoned_datetime(zone.clone()).ok()?;
    let end = day.tomorrow().ok()?.to_zoned_datetime(zone.clone()).ok()?;
    Some((start.timestamp().as_second(), end.timestamp().as_second()))
}

/// A time as a `datetime-local` field holds it, in `zone`: `2026-11-25T15:05` (the trace
/// search's "since", which the dashboard's links fill in).
pub fn local_minute(secs: i64, zone: &Zone) -> String {
    zoned(secs, zone).map_or_else(|| secs.to_string(), |z| z.strftime("%Y-%m-%dT%H:%M").to_string())
}

/// The Unix seconds of `text` (`2026-11-25T15:05`, or with a space, or with seconds) read as a
/// time in `zone`; `None` when it is no time. A time the clocks skip counts from the hour after.
pub fn parse_local(text: &str, zone: &TimeZone) -> Option<i64> {
    let time: jiff::civil::DateTime = text.trim().parse().ok()?;
    time.to_zoned_datetime(zone.clone()).ok().map(|z| z.timestamp().as_second())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_console_zone_is_the_queues_zone_when_they_agree_else_utc() {
        for (zones, expected) in [
            (&["Europe/Berlin"][..], "Europe/Berlin"),
            (&["Europe/Berlin", "Europe/Berlin"][..], "Europe/Berlin"),
            (&["Europe/Berlin", "America/New_York"][..], "UTC"),
            (&[][..], "UTC"),
        ] {
            let zones: Vec<Zone> = zones.iter().map(|z| Zone::parse(z).unwrap()).collect();
            assert_eq!(common_zone(&zones).name(), expected, "{zones:?}");
        }
    }

    #[test]
    fn times_are_written_in_the_zone_with_its_abbreviation() {
        let berlin = Zone::parse("Europe/Berlin").unwrap();
        // 2026-11-25 14:05 UTC and 2026-07-01 12:00 UTC.
        let (winter, summer) = (1_795_615_500, 1_782_907_200);
        for (secs, zone, expected) in [
            (winter, Zone::utc(), "2026-11-25 14:05 UTC"),
            (winter, berlin.clone(), "2026-11-25 15:05 CET"),
            (summer, berlin.clone(), "2026-07-01 14:00 CEST"),
        ] {
            assert_eq!(when(secs, &zone), expected);
        }
        assert_eq!(hour(winter - 300, &berlin), "Wed 15:00");
        assert_eq!(abbreviation(summer, &berlin), "CEST");
    }

    #[test]
    fn a_day_runs_from_local_midnight_to_local_midnight() {
        let berlin = Zone::parse("Europe/Berlin").unwrap();
        let (start, end) = day("2026-11-25", berlin.time_zone()).unwrap();
        assert_eq!(when(start, &Zone::utc()), "2026-11-24 23:00 UTC");
        assert_eq!(end - start, 86_400);
        let (start, end) = day("2026-03-29", berlin.time_zone()).unwrap();
        assert_eq!(end - start, 23 * 3600, "the clocks go forward");
        for bad in ["", "25.11.2026", "2026-13-01", "yesterday"] {
            assert_eq!(day(bad, &TimeZone::UTC), None, "{bad:?}");
        }
    }

    #[test]
    fn a_local_time_reads_back_as_it_was_written() {
        let berlin = Zone::parse("Europe/Berlin").unwrap();
        let winter = 1_795_615_500; // 2026-11-25 14:05 UTC
        assert_eq!(local_minute(winter, &berlin), "2026-11-25T15:05");
        for text in ["2026-11-25T15:05", "2026-11-25 15:05", " 2026-11-25T15:05:00 "] {
            assert_eq!(parse_local(text, berlin.time_zone()), Some(winter), "{text:?}");
        }
        for bad in ["", "yesterday", "2026-11-25T25:00", "15:05"] {
            assert_eq!(parse_local(bad, berlin.time_zone()), None, "{bad:?}");
        }
    }
}
