//! Times in patron mail, in the queue's time zone (an IANA name such as `Europe/Berlin`).
//!
//! Uses jiff with the time zone database compiled into the binary (`tzdb-bundle-always`), so a
//! container without `/usr/share/zoneinfo` formats the same as a full host, and a node never
//! differs from another because its system tzdata is older.

use jiff::tz::TimeZone;

use super::lang::Language;

/// The zone `name` names.
///
/// # Errors
/// A message naming the zone when the database does not know it.
pub fn zone(name: &str) -> Result<TimeZone, String> {
    crate::config::Zone::parse(name).map(|z| z.time_zone().clone())
}

/// A Unix time as a patron reads it in `zone` (`Friday 27 November 2026, 14:05 CET`).
pub fn format(unix: i64, zone: &TimeZone, language: Language) -> String {
    match jiff::Timestamp::from_second(unix) {
        Ok(t) => language.datetime(&t.to_zoned_datetime(zone.clone())),
        Err(_) => unix.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-11-27 13:05 UTC is winter time in Berlin (CET, +1); 2026-07-03 12:05 UTC summer
    /// time (CEST, +2): the same zone, both sides of daylight saving.
    #[test]
    fn berlin_in_winter_and_summer() {
        let berlin = zone("Europe/Berlin").unwrap();
        assert_eq!(format(1_795_784_700, &berlin, Language::En), "Friday 27 November 2026, 14:05 CET");
        assert_eq!(format(1_783_080_300, &berlin, Language::En), "Friday 3 July 2026, 14:05 CEST");
        assert_eq!(format(1_795_784_700, &berlin, Language::De), "Freitag, 27. November 2026, 14:05 Uhr (CET)");
        assert_eq!(format(1_795_784_700, &zone("UTC").unwrap(), Language::En), "Friday 27 November 2026, 13:05 UTC");
    }

    /// The night the clocks go back (2026-10-25, 03:00 CEST -> 02:00 CET): 00:30 and 01:30 UTC
    /// are both 02:30 local, told apart by the abbreviation.
    #[test]
    fn the_repeated_hour_keeps_its_abbreviation() {
        let berlin = zone("Europe/Berlin").unwrap();
        assert_eq!(format(1_792_888_200, &berlin, Language::En), "Sunday 25 October 2026, 02:30 CEST");
        assert_eq!(format(1_792_891_800, &berlin, Language::En), "Sunday 25 October 2026, 02:30 CET");
    }

    #[test]
    fn unknown_zones_are_named() {
        let e = zone("Europe/Atlantis").unwrap_err();
        assert!(e.contains("Europe/Atlantis"), "{e}");
    }
}
