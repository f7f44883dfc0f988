//! Bounded RRULE expansion. A rule without COUNT starts near the queried window (DTSTART is moved
//! forward by whole multiples of the rule's interval, so the pattern is unchanged), every
//! occurrence generated counts against a per-event and a per-query budget of iterations and wall
//! time, and rules that repeat every second or minute without an end are refused (they would be
//! busy all the time, which no real calendar means). Whatever the feed, a query does bounded work.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Datelike as _, Months, NaiveDate, NaiveDateTime, TimeZone as _};
use rrule::{Frequency, RRule, RRuleSet, Tz as RTz, Unvalidated, Validated};

/// Occurrences generated per event and query, at most.
pub const EVENT_ITERATIONS: u32 = 20_000;
/// Occurrences generated per query (all events of a feed), at most.
pub const QUERY_ITERATIONS: u32 = 200_000;
/// Wall time one event may take per query.
pub const EVENT_TIME: Duration = Duration::from_millis(250);
/// Wall time one query over a feed may take.
pub const QUERY_TIME: Duration = Duration::from_secs(2);

/// What a query may still spend.
#[derive(Debug)]
pub struct Budget {
    deadline: Instant,
    left: u32,
    /// Set when some expansion stopped early.
    pub exhausted: bool,
}

impl Default for Budget {
    fn default() -> Self {
        Self { deadline: Instant::now() + QUERY_TIME, left: QUERY_ITERATIONS, exhausted: false }
    }
}

/// A rule read against its event's DTSTART, with what its expansions have taught: a rule found
/// costly (it never matched within the `rrule` crate's loop limit, or ran out of its own budget)
/// is not expanded again, and a rule that has expanded in full once is known to be cheap.
#[derive(Debug, Clone)]
pub struct Rule {
    rule: RRule<Validated>,
    costly: Arc<AtomicBool>,
    cheap: Arc<AtomicBool>,
}

/// `UNTIL=20250301` or `UNTIL=20250301T100000` → a UTC form the `rrule` crate accepts.
pub fn fix_until(rule: &str) -> String {
    rule.split(';')
        .map(|part| match part.split_once('=') {
            Some((k, v)) if k.eq_ignore_ascii_case("UNTIL") && !v.ends_with('Z') => {
                if v.len() == 8 {
                    format!("UNTIL={v}T235959Z")
                } else {
                    format!("UNTIL={v}Z")
                }
            }
            _ => part.to_string(),
        })
        .collect::<Vec<_>>()
        .join(";")
}

fn clip(s: &str) -> String {
    s.chars().take(80).collect()
}

impl Rule {
    /// Reads an RRULE value for an event starting at `start`; `Err` says why in words.
    pub fn parse(text: &str, start: DateTime<RTz>) -> Result<Self, String> {
        let bad = |e: &dyn std::fmt::Display| format!("RRULE {:?} is not understood ({e})", clip(text));
        // RRULE values are ASCII; the `rrule` crate slices them by bytes and panics on others.
        if !text.is_ascii() {
            return Err(bad(&"it contains characters that are not ASCII"));
        }
        let rule: RRule<Unvalidated> = text.parse().map_err(|e: rrule::RRuleError| bad(&e))?;
        let rule = match rule.validate(start) {
            Ok(v) => v,
            // UNTIL written as a local or date value where RFC 5545 wants UTC: read it as UTC.
            Err(_) => fix_until(text)
                .parse::<RRule<Unvalidated>>()
                .map_err(|e| bad(&e))?
                .validate(start)
                .map_err(|e| bad(&e))?,
        };
        if matches!(rule.get_freq(), Frequency::Secondly | Frequency::Minutely)
            && rule.get_count().is_none()
            && rule.get_until().is_none()
        {
            return Err(format!(
                "RRULE {:?} repeats every {} without end; such an event is not read as busy time",
                clip(text),
                if rule.get_freq() == Frequency::Secondly { "second" } else { "minute" }
            ));
        }
        Ok(Self { rule, costly: Arc::default(), cheap: Arc::default() })
    }

    /// Found too costly to expand: it yields nothing from now on.
    pub fn is_costly(&self) -> bool {
        self.costly.load(Ordering::Relaxed)
    }

    /// Has expanded in full at least once.
    pub fn is_cheap(&self) -> bool {
        self.cheap.load(Ordering::Relaxed)
    }

    /// Occurrence starts in `[from, to)` of the series starting at `start`, within `budget`.
    pub fn between(
        &self,
        start: DateTime<RTz>,
        from: DateTime<RTz>,
        to: DateTime<RTz>,
        budget: &mut Budget,
    ) -> Vec<DateTime<RTz>> {
        let mut out = Vec::new();
        if self.is_costly() || to <= from || self.rule.get_until().is_some_and(|u| *u < from) {
            return out;
        }
        // A rule that never yields is checked here, before it starts: one call into the `rrule`
        // iterator is bounded by that crate's own loop limit.
        if budget.left == 0 || Instant::now() >= budget.deadline {
            budget.exhausted = true;
            return out;
        }
        let (anchor, rule) = if self.rule.get_count().is_none() {
            (skip_ahead(&self.rule, start, from), self.rule.clone())
        } else {
            match skip_counted(&self.rule, start, from) {
                Counted::Ended => {
                    self.cheap.store(true, Ordering::Relaxed);
                    return out;
                }
                Counted::From(anchor, rule) => (anchor, *rule),
                Counted::Walk => (start, self.rule.clone()),
            }
        };
        let set = RRuleSet::new(anchor).rrule(rule).limit();
        let (event_deadline, mut event_left) = (Instant::now() + EVENT_TIME, EVENT_ITERATIONS);
        for d in &set {
            if d >= to {
                self.cheap.store(true, Ordering::Relaxed);
                return out;
            }
            if event_left == 0 || budget.left == 0 {
                budget.exhausted = true;
                if event_left == 0 {
                    self.costly.store(true, Ordering::Relaxed);
                }
                return out;
            }
            event_left -= 1;
            budget.left -= 1;
            if event_left % 256 == 0 {
                let now = Instant::now();
                if now >= event_deadline || now >= budget.deadline {
                    budget.exhausted = true;
                    if now >= event_deadline {
                        self.costly.store(true, Ordering::Relaxed);
                    }
                    return out;
                }
            }
            if d >= from {
                out.push(d);
            }
        }
        // The series ended before `to`: its COUNT or UNTIL, or else the `rrule` crate gave up
        // after its loop limit (a rule that never matches), which it would do again every time.
        let explained = self.rule.get_count().is_some() || self.rule.get_until().is_some_and(|u| *u < to);
        if explained {
            self.cheap.store(true, Ordering::Relaxed);
        } else {
            self.costly.store(true, Ordering::Relaxed);
        }
        out
    }
}

/// Where a rule with COUNT may start iterating.
enum Counted {
    /// Its last occurrence is before `from`.
    Ended,
    /// The same series from this DTSTART, with COUNT less the occurrences skipped.
    From(DateTime<RTz>, Box<RRule<Validated>>),
    /// It cannot be skipped ahead by arithmetic: walk it from DTSTART.
    Walk,
}

/// A rule with COUNT moved forward like [`skip_ahead`], when its occurrences can be counted by
/// arithmetic: no BY* parts but those implied by DTSTART (so exactly one occurrence per
/// interval), DAILY or WEEKLY, MONTHLY on a day every month has, YEARLY other than 29 February,
/// HOURLY in UTC. DTSTART moves by whole intervals, one interval short of `from`, to the same
/// local time, and COUNT drops by the intervals skipped.
fn skip_counted(rule: &RRule<Validated>, start: DateTime<RTz>, from: DateTime<RTz>) -> Counted {
    let Some(count) = rule.get_count() else { return Counted::Walk };
    let (freq, interval) = (rule.get_freq(), rule.get_interval().max(1));
    let plain = |count: u32, at: DateTime<RTz>| {
        RRule::new(freq).interval(interval).count(count).week_start(rule.get_week_start()).validate(at).ok()
    };
    if plain(count, start).as_ref() != Some(rule) {
        return Counted::Walk;
    }
    let tz = start.timezone();
    let (a, b) = (start.naive_local(), from.with_timezone(&tz).naive_local());
    if b <= a {
        return Counted::Walk;
    }
    let periods = match freq {
        Frequency::Daily => (b.date() - a.date()).num_days(),
        Frequency::Weekly => (b.date() - a.date()).num_days() / 7,
        Frequency::Monthly if a.day() <= 28 => {
            i64::from(b.year() - a.year()) * 12 + i64::from(b.month()) - i64::from(a.month())
        }
        Frequency::Yearly if !(a.month() == 2 && a.day() == 29) => i64::from(b.year() - a.year()),
        Frequency::Hourly if tz.name() == "UTC" => (b - a).num_hours(),
        _ => return Counted::Walk,
    };
    let k = periods / i64::from(interval) - 1;
    if k <= 0 {
        return Counted::Walk;
    }
    if k >= i64::from(count) {
        // The last occurrence is at least one interval before `from`.
        return Counted::Ended;
    }
    let moved = || -> Option<(DateTime<RTz>, RRule<Validated>)> {
        let steps = u32::try_from(k).ok()?.checked_mul(u32::from(interval))?;
        let t = match freq {
            Frequency::Daily => a.checked_add_days(chrono::Days::new(u64::from(steps)))?,
            Frequency::Weekly => a.checked_add_days(chrono::Days::new(u64::from(steps) * 7))?,
            Frequency::Monthly => a.checked_add_months(Months::new(steps))?,
            Frequency::Yearly => a.checked_add_months(Months::new(steps.checked_mul(12)?))?,
            _ => a.checked_add_signed(chrono::Duration::try_hours(i64::from(steps))?)?,
        };
        // A local time in a DST gap or overlap: walk instead.
        let at = tz.from_local_datetime(&t).single()?;
        let rule = plain(count - u32::try_from(k).ok()?, at)?;
        (at > start && at <= from).then_some((at, rule))
    };
    match moved() {
        Some((at, rule)) => Counted::From(at, Box::new(rule)),
        None => Counted::Walk,
    }
}

/// A DTSTART for iterating the same series from near `from`: `start` moved forward by whole
/// multiples of the interval (days, weeks, months, years: to the start of that day, month or
/// year, so no occurrence at or after `from` is lost; hours and smaller: by exact multiples), one
/// interval short of `from`. The rule's BY* defaults were taken from the real DTSTART when it was
/// validated, so the pattern does not change. Rules with COUNT are never moved.
fn skip_ahead(rule: &RRule<Validated>, start: DateTime<RTz>, from: DateTime<RTz>) -> DateTime<RTz> {
    let tz = start.timezone();
    let (a, b) = (start.naive_local(), from.with_timezone(&tz).naive_local());
    if b <= a {
        return start;
    }
    let interval = i64::from(rule.get_interval().max(1));
    let periods = match rule.get_freq() {
        Frequency::Yearly => i64::from(b.year() - a.year()),
        Frequency::Monthly => i64::from(b.year() - a.year()) * 12 + i64::from(b.month()) - i64::from(a.month()),
        Frequency::Weekly => (b.date() - a.date()).num_days() / 7,
        Frequency::Daily => (b.date() - a.date()).num_days(),
        Frequency::Hourly => (b - a).num_hours(),
        Frequency::Minutely => (b - a).num_minutes(),
        Frequency::Secondly => (b - a).num_seconds(),
    };
    let k = periods / interval - 1;
    if k <= 0 {
        return start;
    }
    let steps = k * interval;
    let day_start = |d: NaiveDate| -> Option<DateTime<RTz>> {
        let midnight = d.and_hms_opt(0, 0, 0)?;
        tz.from_local_datetime(&midnight)
            .earliest()
            .or_else(|| tz.from_local_datetime(&(midnight + chrono::Duration::hours(1))).earliest())
    };
    let moved = || -> Option<DateTime<RTz>> {
        let n = u32::try_from(steps).ok();
        match rule.get_freq() {
            Frequency::Yearly => {
                day_start(a.date().with_day(1)?.with_month(1)?.checked_add_months(Months::new(n?.checked_mul(12)?))?)
            }
            Frequency::Monthly => day_start(a.date().with_day(1)?.checked_add_months(Months::new(n?))?),
            Frequency::Weekly => {
                day_start(a.date().checked_add_days(chrono::Days::new(u64::try_from(steps).ok()?.checked_mul(7)?))?)
            }
            Frequency::Daily => day_start(a.date().checked_add_days(chrono::Days::new(u64::try_from(steps).ok()?))?),
            Frequency::Hourly | Frequency::Minutely | Frequency::Secondly => {
                let unit = match rule.get_freq() {
                    Frequency::Hourly => 3600,
                    Frequency::Minutely => 60,
                    _ => 1,
                };
                // A local time in a DST gap does not exist: step back one interval at a time.
                (0..4).find_map(|back| {
                    let secs = (steps - back * interval).checked_mul(unit)?;
                    if secs <= 0 {
                        return None;
                    }
                    let t: NaiveDateTime = a.checked_add_signed(chrono::Duration::try_seconds(secs)?)?;
                    tz.from_local_datetime(&t).earliest()
                })
            }
        }
    };
    match moved() {
        Some(m) if m > start && m <= from => m,
        _ => start,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<RTz> {
        RTz::UTC.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap()
    }

    fn walked(start: DateTime<RTz>, rule: &Rule, from: DateTime<RTz>, to: DateTime<RTz>) -> Vec<DateTime<RTz>> {
        let set = RRuleSet::new(start).rrule(rule.rule.clone());
        (&set).into_iter().skip_while(|d| *d < from).take_while(|d| *d < to).collect()
    }

    #[test]
    fn until_in_local_form_is_read_as_utc() {
        assert_eq!(fix_until("FREQ=DAILY;UNTIL=20250301"), "FREQ=DAILY;UNTIL=20250301T235959Z");
        assert_eq!(
            fix_until("FREQ=DAILY;UNTIL=20250301T100000;BYDAY=MO"),
            "FREQ=DAILY;UNTIL=20250301T100000Z;BYDAY=MO"
        );
    }

    #[test]
    fn a_rule_from_1970_is_expanded_from_near_the_window_with_the_same_dates() {
        let berlin: RTz = chrono_tz::Europe::Berlin.into();
        let start = berlin.with_ymd_and_hms(1970, 1, 6, 9, 30, 0).unwrap();
        let (from, to) = (utc(2026, 10, 19, 0, 0, 0), utc(2026, 11, 16, 0, 0, 0));
        let cases = [
            ("FREQ=DAILY", 28),
            ("FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,TH", 4),
            ("FREQ=MONTHLY;BYDAY=2TU", 1),
            ("FREQ=MONTHLY", 1),
            ("FREQ=YEARLY;BYMONTH=11;BYMONTHDAY=6", 1),
            ("FREQ=YEARLY", 0),
            ("FREQ=DAILY;UNTIL=20261101T000000Z", 13),
        ];
        for (text, n) in cases {
            let rule = Rule::parse(text, start).unwrap();
            let t = Instant::now();
            let mut budget = Budget::default();
            let got = rule.between(start, from, to, &mut budget);
            assert!(!budget.exhausted, "{text}");
            assert!(t.elapsed() < Duration::from_millis(500), "{text} took {:?}", t.elapsed());
            // The same series walked from DTSTART without the skip gives the same dates.
            assert_eq!(got, walked(start, &rule, from, to), "{text}");
            assert_eq!(got.len(), n, "{text}: {got:?}");
        }
        // Hours: moved by exact multiples of the interval, across the DST change.
        let late = berlin.with_ymd_and_hms(2026, 3, 2, 9, 30, 0).unwrap();
        let rule = Rule::parse("FREQ=HOURLY;INTERVAL=7", late).unwrap();
        let got = rule.between(late, from, to, &mut Budget::default());
        assert_eq!(got, walked(late, &rule, from, to));
        assert!(got.len() >= 95, "{}", got.len());
        // Interval alignment survives the skip: every other Tuesday from 1970-01-06.
        let rule = Rule::parse("FREQ=WEEKLY;INTERVAL=2", start).unwrap();
        for d in rule.between(start, from, to, &mut Budget::default()) {
            assert_eq!((d.date_naive() - start.date_naive()).num_days() % 14, 0, "{d}");
        }
    }

    #[test]
    fn rules_with_characters_outside_ascii_are_refused_not_a_panic() {
        let start = utc(2026, 3, 8, 1, 30, 0);
        for text in
            ["FREQ=WEEKLY;BYDAY=\u{fffd}", "FREQ=HOURLY;INTERVAL=7;BYDAY=1\u{e9}", "FREQ=DAILY;BYDAY=MO,\u{1F600}"]
        {
            let e = Rule::parse(text, start).unwrap_err();
            assert!(e.contains("not ASCII"), "{e}");
        }
    }

    #[test]
    fn secondly_and_minutely_rules_without_end_are_refused() {
        let start = utc(1970, 1, 1, 0, 0, 0);
        for text in ["FREQ=SECONDLY", "FREQ=MINUTELY;INTERVAL=1"] {
            let e = Rule::parse(text, start).unwrap_err();
            assert!(e.contains("without end"), "{e}");
        }
        // With an end they are expanded from near the window, within the budget, quickly.
        let rule = Rule::parse("FREQ=SECONDLY;UNTIL=20300101T000000Z", start).unwrap();
        let t = Instant::now();
        let mut budget = Budget::default();
        let got = rule.between(start, utc(2026, 10, 19, 0, 0, 0), utc(2026, 11, 16, 0, 0, 0), &mut budget);
        assert!(budget.exhausted);
        assert!(!got.is_empty() && got.len() <= EVENT_ITERATIONS as usize);
        assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    }

    #[test]
    fn a_huge_count_stops_at_the_budget() {
        let start = utc(1970, 1, 1, 0, 0, 0);
        let rule = Rule::parse("FREQ=SECONDLY;COUNT=4000000000", start).unwrap();
        let t = Instant::now();
        let mut budget = Budget::default();
        let got = rule.between(start, utc(2026, 10, 19, 0, 0, 0), utc(2026, 11, 16, 0, 0, 0), &mut budget);
        assert!(got.is_empty() && budget.exhausted);
        assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
        // Found costly once, it costs nothing the next time.
        assert!(rule.is_costly());
        let t = Instant::now();
        let mut budget = Budget::default();
        assert!(rule.between(start, utc(2026, 10, 19, 0, 0, 0), utc(2026, 11, 16, 0, 0, 0), &mut budget).is_empty());
        assert!(t.elapsed() < Duration::from_millis(50) && !budget.exhausted);
    }

    #[test]
    fn a_rule_with_a_huge_count_from_1970_is_skipped_ahead_with_the_same_dates() {
        let berlin: RTz = chrono_tz::Europe::Berlin.into();
        let start = berlin.with_ymd_and_hms(1970, 1, 6, 9, 30, 0).unwrap();
        let (from, to) = (utc(2026, 10, 19, 0, 0, 0), utc(2026, 11, 16, 0, 0, 0));
        let cases = [
            ("FREQ=DAILY;COUNT=1000000000", 28),
            ("FREQ=WEEKLY;COUNT=1000000000", 4),
            ("FREQ=WEEKLY;INTERVAL=2;BYDAY=TU;COUNT=1000000000", 2),
            ("FREQ=MONTHLY;COUNT=1000000000", 1),
            ("FREQ=YEARLY;BYMONTH=1;COUNT=1000000000", 0),
            // Ends inside the window: 1970-01-06 + 20745 days = 2026-10-24.
            ("FREQ=DAILY;COUNT=20746", 6),
            ("FREQ=DAILY;COUNT=3", 0),
        ];
        for (text, n) in cases {
            let rule = Rule::parse(text, start).unwrap();
            let mut budget = Budget::default();
            let got = rule.between(start, from, to, &mut budget);
            assert!(!budget.exhausted && !rule.is_costly(), "{text}");
            assert_eq!(got.len(), n, "{text}: {got:?}");
            if n > 0 && n < 28 {
                assert_eq!(got, walked(start, &rule, from, to), "{text}");
            }
        }
        // The count is kept exactly: the last occurrence of a daily COUNT=20746 is 2026-10-24.
        let rule = Rule::parse("FREQ=DAILY;COUNT=20746", start).unwrap();
        let got = rule.between(start, from, to, &mut Budget::default());
        assert_eq!(got.last().unwrap().date_naive(), NaiveDate::from_ymd_opt(2026, 10, 24).unwrap());
        // Hours in UTC, with the same dates as walking.
        let start = utc(2025, 1, 1, 0, 30, 0);
        let rule = Rule::parse("FREQ=HOURLY;INTERVAL=5;COUNT=4000", start).unwrap();
        let got = rule.between(start, from, to, &mut Budget::default());
        assert_eq!(got, walked(start, &rule, from, to));
        assert!(!got.is_empty());
    }

    #[test]
    fn a_rule_that_never_matches_is_found_costly_once() {
        let start = utc(1970, 1, 1, 9, 0, 0);
        let rule = Rule::parse("FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30", start).unwrap();
        let (from, to) = (utc(2026, 10, 19, 0, 0, 0), utc(2026, 11, 16, 0, 0, 0));
        assert!(rule.between(start, from, to, &mut Budget::default()).is_empty());
        assert!(rule.is_costly() && !rule.is_cheap());
        let daily = Rule::parse("FREQ=DAILY", start).unwrap();
        assert_eq!(daily.between(start, from, to, &mut Budget::default()).len(), 28);
        assert!(daily.is_cheap() && !daily.is_costly());
    }
}
