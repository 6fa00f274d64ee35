//! The dashboard's charts as numbers: counting messages into the last 24 hours and pages into
//! the last 14 days, and the geometry of a column chart (stacked or not) in the units of its
//! SVG `viewBox`, which the template draws as it is. Pure: the clock, the zone and the traces
//! are arguments, so the table tests fix them.

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde::Serialize;

/// The width and height of every chart's `viewBox`; the SVG scales to its box (width 100%).
pub const WIDTH: f64 = 480.0;
pub const HEIGHT: f64 = 220.0;
/// Room for the value labels on the left, half a time label on the right, the time labels below.
const LEFT: f64 = 34.0;
const RIGHT: f64 = 22.0;
const TOP: f64 = 10.0;
const BOTTOM: f64 = 26.0;

/// One hour's (or any period's) messages by outcome, in stacking order from the bottom.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Outcomes {
    pub accepted: usize,
    pub refused: usize,
    pub put_off: usize,
}

impl Outcomes {
    pub fn total(&self) -> usize {
        self.accepted + self.refused + self.put_off
    }

    /// Counts one message of outcome `outcome` (`accepted`, `refused`, else put off).
    pub fn add(&mut self, outcome: &str) {
        match outcome {
            "accepted" => self.accepted += 1,
            "refused" => self.refused += 1,
            _ => self.put_off += 1,
        }
    }

    fn values(&self) -> [usize; 3] {
        [self.accepted, self.refused, self.put_off]
    }
}

/// The start (Unix seconds) of the first of the 24 whole hours that end with the current one.
pub fn first_hour(now: i64) -> i64 {
    now - now.rem_euclid(3600) - 23 * 3600
}

/// The messages `(received_at, outcome)` counted into the 24 hours from [`first_hour`]`(now)`:
/// `(start of the hour, counts)`, oldest first. Messages outside those hours are left out.
pub fn per_hour(messages: &[(i64, &str)], now: i64) -> Vec<(i64, Outcomes)> {
    let first = first_hour(now);
    let mut hours: Vec<(i64, Outcomes)> = (0..24).map(|h| (first + h * 3600, Outcomes::default())).collect();
    for (at, outcome) in messages {
        let slot = (at - first).div_euclid(3600);
        if let Some((_, counts)) = usize::try_from(slot).ok().and_then(|s| hours.get_mut(s)) {
            counts.add(outcome);
        }
    }
    hours
}

/// The last `n` days up to and including today in `zone`: `(date, start, end)` in Unix seconds,
/// each from one local midnight to the next (23 or 25 hours when the clocks change).
pub fn last_days(now: i64, zone: &TimeZone, n: i64) -> Vec<(Date, i64, i64)> {
    let Ok(today) = Timestamp::from_second(now).map(|t| t.to_zoned_datetime(zone.clone()).date()) else { return Vec::new() };
    let start = |d: Date| d.to_zoned_datetime(zone.clone()).map(|z| z.timestamp().as_second()).ok();
    (0..n)
        .rev()
        .filter_map(|back| {
            let day = today.checked_sub(jiff::Span::new().days(back)).ok()?;
            Some((day, start(day)?, start(day.tomorrow().ok()?)?))
        })
        .collect()
}

/// The pages `(stored at, pages)` summed into `days` ([`last_days`]); outside them, left out.
pub fn per_day(pages: &[(i64, u64)], days: &[(Date, i64, i64)]) -> Vec<u64> {
    days.iter().map(|(_, start, end)| pages.iter().filter(|(at, _)| (*start..*end).contains(at)).map(|(_, n)| n).sum()).collect()
}

/// The top of the value axis and its step: the step is 1, 2 or 5 times a power of ten, chosen
/// so that at most 5 steps reach `most`; the top is the first step at or above it (1 at least).
pub fn scale(most: usize) -> (usize, usize) {
    let mut power = 1usize;
    loop {
        for step in [power, 2 * power, 5 * power] {
            let steps = most.div_ceil(step).max(1);
            if steps <= 5 {
                return (steps * step, step);
            }
        }
        power *= 10;
    }
}

/// One drawn piece of a column: a value of one series (`class`: its pattern in console.css).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Segment {
    pub class: &'static str,
    pub value: usize,
    pub y: f64,
    pub height: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Column {
    pub x: f64,
    pub width: f64,
    pub segments: Vec<Segment>,
    /// Shown under the column (not under every one: they would not fit on a phone).
    pub label: Option<String>,
}

/// A value axis line with its number.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Tick {
    pub y: f64,
    pub value: usize,
}

/// A column chart in `viewBox` units, ready to draw.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Chart {
    pub width: f64,
    pub height: f64,
    pub left: f64,
    pub right: f64,
    pub base: f64,
    pub columns: Vec<Column>,
    pub ticks: Vec<Tick>,
}

/// Lays out columns of stacked `values` (each column's values from the bottom up, one per
/// entry of `classes`), labelling every `label_every`-th column counted back from the last
/// (the newest is always labelled). Heights are in proportion to [`scale`]'s top; a value of
/// zero draws nothing.
pub fn columns(values: &[Vec<usize>], labels: &[String], classes: &[&'static str], label_every: usize) -> Chart {
    let most = values.iter().map(|v| v.iter().sum::<usize>()).max().unwrap_or(0);
    let (top, step) = scale(most);
    let (base, plot) = (HEIGHT - BOTTOM, HEIGHT - BOTTOM - TOP);
    let per_unit = plot / top as f64;
    let pitch = (WIDTH - LEFT - RIGHT) / values.len().max(1) as f64;
    let round = |v: f64| (v * 100.0).round() / 100.0;
    let columns = values
        .iter()
        .enumerate()
        .map(|(i, stack)| {
            let mut y = base;
            let segments = stack
                .iter()
                .zip(classes)
                .filter(|(v, _)| **v > 0)
                .map(|(v, class)| {
                    let height = *v as f64 * per_unit;
                    y -= height;
                    Segment { class, value: *v, y: round(y), height: round(height) }
                })
                .collect();
            let newest_first = values.len() - 1 - i;
            let label = newest_first.is_multiple_of(label_every.max(1)).then(|| labels.get(i).cloned().unwrap_or_default());
            Column { x: round(LEFT + i as f64 * pitch + pitch * 0.1), width: round(pitch * 0.8), segments, label }
        })
        .collect();
    let ticks = (0..=top / step).map(|k| Tick { y: round(base - (k * step) as f64 * per_unit), value: k * step }).collect();
    Chart { width: WIDTH, height: HEIGHT, left: LEFT, right: WIDTH - RIGHT, base, columns, ticks }
}

/// The hours chart: [`per_hour`]'s counts stacked accepted, refused, put off.
pub fn hours_chart(hours: &[(i64, Outcomes)], label: &dyn Fn(i64) -> String) -> Chart {
    let values: Vec<Vec<usize>> = hours.iter().map(|(_, c)| c.values().to_vec()).collect();
    let labels: Vec<String> = hours.iter().map(|(h, _)| label(*h)).collect();
    columns(&values, &labels, &["accepted", "refused", "put-off"], 4)
}

#[cfg(test)]
mod tests {
    use super::*;

    // 2026-11-25 14:05:00 UTC, a Wednesday.
    const NOW: i64 = 1_795_615_500;

    #[test]
    fn messages_fall_into_the_24_hours_ending_with_the_current_one() {
        let hour = 3600;
        let first = NOW - 5 * 60 - 23 * hour;
        assert_eq!(first_hour(NOW), first);
        let messages = [
            (NOW, "accepted"),
            (NOW - 60, "refused"),
            (first, "tempfail"),
            (first - 1, "accepted"),         // the hour before: left out
            (first + 24 * hour, "accepted"), // the next hour: left out
            (first + 2 * hour + 59, "accepted"),
        ];
        let hours = per_hour(&messages, NOW);
        assert_eq!(hours.len(), 24);
        assert_eq!(hours[0], (first, Outcomes { accepted: 0, refused: 0, put_off: 1 }));
        assert_eq!(hours[2].1, Outcomes { accepted: 1, refused: 0, put_off: 0 });
        assert_eq!(hours[23], (NOW - 5 * 60, Outcomes { accepted: 1, refused: 1, put_off: 0 }));
        assert_eq!(hours.iter().map(|(_, c)| c.total()).sum::<usize>(), 4);
    }

    #[test]
    fn days_run_from_local_midnight_and_pages_fall_into_them() {
        let berlin = TimeZone::get("Europe/Berlin").unwrap();
        let days = last_days(NOW, &berlin, 14);
        assert_eq!(days.len(), 14);
        assert_eq!(days[13].0.to_string(), "2026-11-25");
        assert_eq!(days[0].0.to_string(), "2026-11-12");
        // Berlin's midnight is 23:00 UTC in winter.
        assert_eq!(days[13].1, NOW - 15 * 3600 - 5 * 60, "2026-11-24 23:00 UTC");
        let pages = [(days[13].1, 3), (days[13].1 - 1, 5), (NOW, 2), (days[0].1 - 1, 100), (days[0].1, 7)];
        let sums = per_day(&pages, &days);
        assert_eq!((sums[13], sums[12], sums[0]), (5, 5, 7));
        assert_eq!(sums.iter().sum::<u64>(), 17, "the page before the first day is left out");
        // The day the clocks go back has 25 hours.
        let autumn = last_days(1_792_929_600, &berlin, 1); // 2026-10-25 12:00 UTC
        assert_eq!((autumn[0].0.to_string(), autumn[0].2 - autumn[0].1), ("2026-10-25".to_owned(), 25 * 3600));
    }

    #[test]
    fn the_value_axis_takes_at_most_five_round_steps() {
        for (most, expected) in [
            (0, (1, 1)),
            (1, (1, 1)),
            (3, (3, 1)),
            (5, (5, 1)),
            (7, (8, 2)),
            (9, (10, 2)),
            (23, (25, 5)),
            (41, (50, 10)),
            (1234, (1500, 500)),
        ] {
            assert_eq!(scale(most), expected, "{most}");
        }
    }

    #[test]
    fn columns_stack_from_the_base_in_proportion() {
        let chart = columns(&[vec![2, 1, 0], vec![0, 0, 0], vec![1, 0, 3]], &["a".into(), "b".into(), "c".into()], &["x", "y", "z"], 2);
        let plot = HEIGHT - BOTTOM - TOP;
        assert_eq!(chart.ticks.first().map(|t| (t.y, t.value)), Some((chart.base, 0)));
        assert_eq!(chart.ticks.last().map(|t| (t.y, t.value)), Some((TOP, 4)), "4 is the top: {:?}", chart.ticks);
        let first = &chart.columns[0].segments;
        assert_eq!(first.iter().map(|s| (s.class, s.value)).collect::<Vec<_>>(), [("x", 2), ("y", 1)]);
        assert_eq!(first[0].y + first[0].height, chart.base, "the first sits on the base");
        assert_eq!(first[1].y + first[1].height, first[0].y, "the second on the first");
        assert!((first[0].height - plot / 2.0).abs() < 0.01 && (first[1].height - plot / 4.0).abs() < 0.01);
        assert!(chart.columns[1].segments.is_empty(), "nothing drawn for zero");
        let labels: Vec<Option<&str>> = chart.columns.iter().map(|c| c.label.as_deref()).collect();
        assert_eq!(labels, [Some("a"), None, Some("c")], "every second from the newest");
        let last = chart.columns.last().unwrap();
        assert!(last.x + last.width <= chart.right && chart.columns[0].x >= chart.left, "inside the plot");
    }
}
