//! The learned activity model: for each hour of the week, the share of recent weeks in which the
//! user was active then (from proxied turns), so a habit such as stepping away at Tuesday lunch
//! predicts when an idle spell will end.

use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan, Zoned};

pub const HOURS: usize = 168;

/// The share of recent weeks in which the user was active, per hour of the week.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ActivityModel {
    /// Monday 00:00 first; each value in 0..=1.
    pub rate: Vec<f32>,
    pub weeks: u32,
    /// Not in the JSON: a model read back from it (the API client's) counts hours in UTC.
    #[serde(skip, default = "utc")]
    tz: TimeZone,
}

fn utc() -> TimeZone {
    TimeZone::UTC
}

fn hour_of_week(z: &Zoned) -> usize {
    z.weekday().to_monday_zero_offset() as usize * 24 + z.hour() as usize
}

impl ActivityModel {
    /// Builds the model from activity instants in the `weeks` weeks before `now`.
    pub fn learn(events: &[Timestamp], now: &Zoned, weeks: u32, tz: TimeZone) -> Self {
        let weeks = weeks.max(1);
        let since = now.timestamp().checked_sub((weeks as i64 * 168).hours()).unwrap_or(Timestamp::MIN);
        let mut seen = vec![std::collections::HashSet::new(); HOURS];
        let mut first: Option<Timestamp> = None;
        for t in events.iter().filter(|t| **t >= since && **t <= now.timestamp()) {
            let z = t.to_zoned(tz.clone());
            let week = t.duration_since(since).as_secs() / (7 * 86_400);
            seen[hour_of_week(&z)].insert(week);
            first = Some(first.map_or(*t, |f| f.min(*t)));
        }
        // Only weeks the history covers count: a user of three days isn't "away" the rest of the week.
        let observed = first
            .map(|f| (now.timestamp().duration_since(f).as_secs() / (7 * 86_400)) as u32 + 1)
            .unwrap_or(0)
            .clamp(0, weeks);
        let rate = seen.iter().map(|w| if observed == 0 { 0.0 } else { w.len() as f32 / observed as f32 }).collect();
        Self { rate, weeks: observed, tz }
    }

    /// The share of observed weeks the user was active in `at`'s hour of the week.
    pub fn rate_at(&self, at: &Zoned) -> f32 {
        self.rate[hour_of_week(&at.with_time_zone(self.tz.clone()))]
    }

    /// When the user is likely back: the start of the first coming hour they are usually active
    /// in (rate ≥ `threshold`), within a week; `None` when the history says nothing.
    pub fn likely_back(&self, now: &Zoned, threshold: f32) -> Option<Timestamp> {
        if self.weeks == 0 {
            return None;
        }
        let z = now.with_time_zone(self.tz.clone());
        let next_hour = z.round(jiff::ZonedRound::new().smallest(jiff::Unit::Hour).mode(jiff::RoundMode::Ceil)).ok()?;
        (0..HOURS as i64)
            .filter_map(|i| next_hour.checked_add(i.hours()).ok())
            .find(|h| self.rate[hour_of_week(h)] >= threshold)
            .map(|h| h.timestamp())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Zoned {
        s.parse::<jiff::civil::DateTime>().unwrap().to_zoned(TimeZone::get("Europe/Berlin").unwrap()).unwrap()
    }

    #[test]
    fn a_weekly_lunch_habit_predicts_the_return() {
        // Four weeks of work on Tuesdays 09:00-12:00 and 14:00-17:00, nothing at lunch.
        let mut events = Vec::new();
        for week in 0..4 {
            for hour in [9, 10, 11, 14, 15, 16] {
                let day = at("2026-10-27T00:00")
                    .checked_add((week * 7).days())
                    .unwrap()
                    .checked_add((hour as i64).hours())
                    .unwrap();
                events.push(day.timestamp());
            }
        }
        let now = at("2026-11-17T12:10");
        let m = ActivityModel::learn(&events, &now, 4, TimeZone::get("Europe/Berlin").unwrap());
        assert_eq!(m.weeks, 4);
        assert_eq!(m.rate[24 + 9], 1.0);
        assert_eq!(m.rate[24 + 12], 0.0);
        assert_eq!(m.likely_back(&now, 0.5).unwrap(), at("2026-11-17T14:00").timestamp());
        assert!(ActivityModel::learn(&[], &now, 4, TimeZone::UTC).likely_back(&now, 0.5).is_none());
    }
}
