//! Sleep hours: a window per weekday (`"23:00-07:00"`, wrapping midnight, or `"off"`), in the
//! user's time zone, DST-correct (times that don't exist or happen twice resolve like a clock).

use jiff::civil::{Date, Time, Weekday};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan, Zoned};

/// One weekday's sleep: from `start` that evening (or morning) to `end`, wrapping midnight when
/// `end` is not after `start`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start: Time,
    pub end: Time,
}

/// Why a sleep spec can't be used.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("{0:?} is not a sleep window: write \"HH:MM-HH:MM\" (e.g. \"23:00-07:00\") or \"off\"")]
pub struct BadWindow(pub String);

impl Window {
    pub fn parse(s: &str) -> Result<Option<Self>, BadWindow> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("off") {
            return Ok(None);
        }
        let bad = || BadWindow(s.to_string());
        let (a, b) = s.split_once('-').ok_or_else(bad)?;
        let t = |x: &str| Time::strptime("%H:%M", x.trim()).map_err(|_| bad());
        let (start, end) = (t(a)?, t(b)?);
        if start == end {
            return Err(bad());
        }
        Ok(Some(Self { start, end }))
    }
}

/// Sleep windows for each weekday: a weekday's window is the one that *starts* on that day, so
/// `sat = "01:00-09:00"` is the late night from Friday into Saturday morning.
#[derive(Debug, Clone, PartialEq)]
pub struct SleepHours {
    /// Monday first.
    pub days: [Option<Window>; 7],
    pub tz: TimeZone,
}

fn index(d: Weekday) -> usize {
    d.to_monday_zero_offset() as usize
}

impl SleepHours {
    /// The same window every day.
    pub fn every_day(w: Option<Window>, tz: TimeZone) -> Self {
        Self { days: [w; 7], tz }
    }

    /// The sleep interval that starts on `date`, as instants.
    fn interval(&self, date: Date) -> Option<(Timestamp, Timestamp)> {
        let w = self.days[index(date.weekday())]?;
        let end_date = if w.end > w.start { date } else { date.tomorrow().ok()? };
        let start = date.to_datetime(w.start).to_zoned(self.tz.clone()).ok()?;
        let end = end_date.to_datetime(w.end).to_zoned(self.tz.clone()).ok()?;
        Some((start.timestamp(), end.timestamp()))
    }

    /// If `now` is within sleep hours, when they end.
    pub fn asleep_until(&self, now: &Zoned) -> Option<Timestamp> {
        let today = now.with_time_zone(self.tz.clone()).date();
        let t = now.timestamp();
        // Last night's window may still be running; then tonight's (or this morning's).
        [today.yesterday().ok(), Some(today)]
            .into_iter()
            .flatten()
            .filter_map(|d| self.interval(d))
            .find(|(s, e)| *s <= t && t < *e)
            .map(|(_, e)| e)
    }

    /// The next time sleep hours begin after `now` (within a week).
    pub fn next_start(&self, now: &Zoned) -> Option<Timestamp> {
        let today = now.with_time_zone(self.tz.clone()).date();
        (0..8)
            .filter_map(|i| today.checked_add(i.days()).ok())
            .filter_map(|d| self.interval(d))
            .map(|(s, _)| s)
            .find(|s| *s > now.timestamp())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str, tz: &str) -> Zoned {
        s.parse::<jiff::civil::DateTime>().unwrap().to_zoned(TimeZone::get(tz).unwrap()).unwrap()
    }

    #[test]
    fn windows_wrap_midnight_and_differ_per_weekday() {
        let tz = TimeZone::get("Asia/Shanghai").unwrap();
        let mut s = SleepHours::every_day(Window::parse("23:00-07:00").unwrap(), tz);
        s.days[index(Weekday::Saturday)] = Window::parse("01:00-09:00").unwrap();
        // Friday 23:30 → asleep until Saturday 07:00.
        let end = s.asleep_until(&at("2026-03-13T23:30", "Asia/Shanghai")).unwrap();
        assert_eq!(end, at("2026-03-14T07:00", "Asia/Shanghai").timestamp());
        // Saturday 00:30: Friday's window still runs; Saturday's own starts at 01:00.
        assert!(s.asleep_until(&at("2026-03-14T06:59", "Asia/Shanghai")).is_some());
        // Saturday 08:00: only Saturday's late window (01:00-09:00) covers it.
        assert_eq!(
            s.asleep_until(&at("2026-03-14T08:00", "Asia/Shanghai")).unwrap(),
            at("2026-03-14T09:00", "Asia/Shanghai").timestamp()
        );
        assert!(s.asleep_until(&at("2026-03-14T12:00", "Asia/Shanghai")).is_none());
        // Saturday's window began at 01:00 that morning; the next to begin is Sunday's at 23:00.
        assert_eq!(
            s.next_start(&at("2026-03-14T12:00", "Asia/Shanghai")).unwrap(),
            at("2026-03-15T23:00", "Asia/Shanghai").timestamp()
        );
        assert_eq!(Window::parse("off").unwrap(), None);
        assert!(
            Window::parse("25:00-07:00").is_err()
                && Window::parse("7-8").is_err()
                && Window::parse("07:00-07:00").is_err()
        );
    }

    #[test]
    fn daylight_saving_changes_keep_wall_clock_times() {
        // New York springs forward on 2026-03-08 at 02:00: the night is an hour shorter.
        let tz = TimeZone::get("America/New_York").unwrap();
        let s = SleepHours::every_day(Window::parse("23:00-07:00").unwrap(), tz);
        let start = at("2026-03-07T23:30", "America/New_York");
        let end = s.asleep_until(&start).unwrap();
        assert_eq!(end, at("2026-03-08T07:00", "America/New_York").timestamp());
        assert_eq!(end.duration_since(start.timestamp()).as_secs(), 6 * 3600 + 1800, "7h30 of clock, 6h30 of time");
        // And falls back on 2026-11-01: an hour longer.
        let start = at("2026-10-31T23:30", "America/New_York");
        assert_eq!(s.asleep_until(&start).unwrap().duration_since(start.timestamp()).as_secs(), 8 * 3600 + 1800);
    }
}
