//! The scheduling decision, a pure function of the clock, the signals, the configuration and the
//! activity model: is the user away long enough for learning work, why, and until when.

use jiff::{Timestamp, ToSpan, Zoned};
use serde::{Deserialize, Serialize};

use super::activity::ActivityModel;
use super::sleep::SleepHours;

/// Why the window is open or closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// Within the user's sleep hours.
    Asleep,
    /// Idle long enough, and not expected back soon.
    Away,
    /// The user is active.
    Active,
    /// Away, but expected back before the shortest useful window.
    TooShort,
    /// In a calendar meeting.
    Meeting,
    /// Input in the last minute: the user is at the keyboard, whatever else holds.
    Present,
    /// Running on battery.
    OnBattery,
    /// The user paused learning.
    Paused,
}

impl Reason {
    /// The reason's wire form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Asleep => "asleep",
            Self::Away => "away",
            Self::Active => "active",
            Self::TooShort => "too_short",
            Self::Meeting => "meeting",
            Self::Present => "present",
            Self::OnBattery => "on_battery",
            Self::Paused => "paused",
        }
    }
}

/// The decision at one instant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct Decision {
    pub open: bool,
    pub reason: Reason,
    /// In words, for the UI and the CLI.
    pub explanation: String,
    /// While open: when the window is expected to end (ms since the epoch in JSON).
    #[serde(serialize_with = "as_ms", deserialize_with = "from_ms")]
    #[cfg_attr(test, ts(type = "number | null"))]
    pub until: Option<Timestamp>,
    /// While closed: when the next window is expected to open (ms since the epoch in JSON).
    #[serde(serialize_with = "as_ms", deserialize_with = "from_ms")]
    #[cfg_attr(test, ts(type = "number | null"))]
    pub next: Option<Timestamp>,
}

/// Instants as milliseconds since the epoch, like every time in the admin API.
pub fn as_ms<S: serde::Serializer>(t: &Option<Timestamp>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_some(&t.as_millisecond()),
        None => s.serialize_none(),
    }
}

/// Reads what [`as_ms`] writes; a number outside jiff's range is an error, not a panic.
pub fn from_ms<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Timestamp>, D::Error> {
    match Option::<i64>::deserialize(d)? {
        Some(ms) => Timestamp::from_millisecond(ms).map(Some).map_err(serde::de::Error::custom),
        None => Ok(None),
    }
}

/// The inputs besides the clock.
pub struct Inputs<'a> {
    pub idle_secs: u64,
    /// Busy calendar time, merged, sorted, as ms since the epoch.
    pub meetings: &'a [(i64, i64)],
    pub on_battery: Option<bool>,
    pub locked: Option<bool>,
    pub paused: bool,
    pub sleep: &'a SleepHours,
    pub activity: &'a ActivityModel,
    pub idle_minutes: u64,
    pub min_window_minutes: u64,
}

fn hhmm(t: Timestamp, now: &Zoned) -> String {
    t.to_zoned(now.time_zone().clone()).strftime("%a %H:%M").to_string()
}

/// Input this recent means the user is at the machine: no window, even in sleep hours or a meeting.
pub const PRESENT_SECS: u64 = 60;

fn closed(reason: Reason, explanation: String, next: Option<Timestamp>) -> Decision {
    Decision { open: false, reason, explanation, until: None, next }
}

fn ms(t: i64) -> Option<Timestamp> {
    Timestamp::from_millisecond(t).ok()
}

pub fn decide(now: &Zoned, i: &Inputs) -> Decision {
    let min = (i.min_window_minutes as i64).minutes();
    let long_enough = |end: Timestamp| now.timestamp().checked_add(min).is_ok_and(|m| end >= m);
    let now_ms = now.timestamp().as_millisecond();
    let min_ms = i.min_window_minutes as i64 * 60_000;
    // The next meeting long enough to be a window.
    let next_meeting = i.meetings.iter().find(|(s, e)| *s > now_ms && e - s >= min_ms).and_then(|(s, _)| ms(*s));
    let earliest = |a: Option<Timestamp>, b: Option<Timestamp>| match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    if i.paused {
        return closed(Reason::Paused, "learning is paused".into(), None);
    }
    if i.on_battery == Some(true) {
        return closed(Reason::OnBattery, "on battery: learning waits for mains power".into(), None);
    }
    let locked = i.locked == Some(true);
    if i.idle_secs < PRESENT_SECS && !locked {
        let next =
            earliest(earliest(i.sleep.next_start(now), next_meeting), ms(now_ms + i.idle_minutes as i64 * 60_000));
        return closed(Reason::Present, format!("the user is at the machine (input {} s ago)", i.idle_secs), next);
    }
    if let Some((_, end)) = i.meetings.iter().find(|(s, e)| *s <= now_ms && now_ms < *e) {
        let end = ms(*end).unwrap_or(now.timestamp());
        // Sleep hours right after the meeting extend the window.
        let end = match i.sleep.asleep_until(&end.to_zoned(now.time_zone().clone())) {
            Some(wake) => wake.max(end),
            None => end,
        };
        return if long_enough(end) {
            Decision {
                open: true,
                reason: Reason::Meeting,
                explanation: format!("in a calendar meeting until {}", hhmm(end, now)),
                until: Some(end),
                next: None,
            }
        } else {
            closed(
                Reason::TooShort,
                format!(
                    "the meeting ends at {}, sooner than the {}-minute minimum window",
                    hhmm(end, now),
                    i.min_window_minutes
                ),
                earliest(next_meeting, i.sleep.next_start(now)),
            )
        };
    }
    if let Some(end) = i.sleep.asleep_until(now) {
        return if long_enough(end) {
            Decision {
                open: true,
                reason: Reason::Asleep,
                explanation: format!("sleep hours until {}", hhmm(end, now)),
                until: Some(end),
                next: None,
            }
        } else {
            let next = i.sleep.next_start(now);
            Decision {
                open: false,
                reason: Reason::TooShort,
                explanation: format!(
                    "sleep hours end at {}, sooner than the {}-minute minimum window",
                    hhmm(end, now),
                    i.min_window_minutes
                ),
                until: None,
                next,
            }
        };
    }
    if locked || i.idle_secs >= i.idle_minutes * 60 {
        // Expected back: when the user is usually active again, else no later than an hour on.
        let back = i.activity.likely_back(now, 0.5).or_else(|| now.timestamp().checked_add(1.hour()).ok());
        let back = match (back, i.sleep.next_start(now)) {
            // Sleep hours that begin before the return extend the window; keep the later end.
            (Some(b), _) => b,
            (None, s) => s.unwrap_or(now.timestamp()),
        };
        let idle = i.idle_secs / 60;
        return if long_enough(back) {
            Decision {
                open: true,
                reason: Reason::Away,
                explanation: format!("away for {idle} min; usually back around {}", hhmm(back, now)),
                until: Some(back),
                next: None,
            }
        } else {
            Decision {
                open: false,
                reason: Reason::TooShort,
                explanation: format!(
                    "away for {idle} min, but usually back at {}, sooner than the {}-minute minimum window",
                    hhmm(back, now),
                    i.min_window_minutes
                ),
                until: None,
                next: earliest(i.sleep.next_start(now), next_meeting),
            }
        };
    }
    let idle_at =
        now.timestamp().checked_add(((i.idle_minutes * 60).saturating_sub(i.idle_secs) as i64).seconds()).ok();
    let next = earliest(earliest(idle_at, i.sleep.next_start(now)), next_meeting);
    Decision {
        open: false,
        reason: Reason::Active,
        explanation: format!(
            "the user is active (last activity {} s ago; away after {} min)",
            i.idle_secs, i.idle_minutes
        ),
        until: None,
        next,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheduler::sleep::Window;
    use jiff::tz::TimeZone;

    fn at(s: &str) -> Zoned {
        s.parse::<jiff::civil::DateTime>().unwrap().to_zoned(TimeZone::get("Europe/Berlin").unwrap()).unwrap()
    }

    fn inputs<'a>(idle: u64, sleep: &'a SleepHours, activity: &'a ActivityModel) -> Inputs<'a> {
        Inputs {
            idle_secs: idle,
            meetings: &[],
            on_battery: None,
            locked: None,
            paused: false,
            sleep,
            activity,
            idle_minutes: 30,
            min_window_minutes: 15,
        }
    }

    #[test]
    fn sleep_away_active_and_too_short() {
        let tz = TimeZone::get("Europe/Berlin").unwrap();
        let sleep = SleepHours::every_day(Window::parse("23:00-07:00").unwrap(), tz.clone());
        let lunch: Vec<Timestamp> = (0..4)
            .flat_map(|w| {
                [9, 10, 11, 14, 15].map(|h| {
                    at("2026-10-27T00:00")
                        .checked_add((w * 7).days())
                        .unwrap()
                        .checked_add((h as i64).hours())
                        .unwrap()
                        .timestamp()
                })
            })
            .collect();
        let activity = ActivityModel::learn(&lunch, &at("2026-11-17T12:00"), 4, tz.clone());

        let d = decide(&at("2026-11-17T23:30"), &inputs(0, &sleep, &activity));
        assert_eq!((d.open, d.reason), (false, Reason::Present), "typing at 23:30 beats the sleep hours");
        let d = decide(&at("2026-11-17T23:30"), &inputs(600, &sleep, &activity));
        assert_eq!((d.open, d.reason), (true, Reason::Asleep));
        assert_eq!(d.until, Some(at("2026-11-18T07:00").timestamp()));

        let d = decide(&at("2026-11-18T06:50"), &inputs(600, &sleep, &activity));
        assert_eq!((d.open, d.reason), (false, Reason::TooShort), "ten minutes of sleep left is not a window");

        // Tuesday 12:10, idle 40 min: away, and the habit says back at 14:00.
        let d = decide(&at("2026-11-17T12:10"), &inputs(40 * 60, &sleep, &activity));
        assert_eq!((d.open, d.reason), (true, Reason::Away));
        assert_eq!(d.until, Some(at("2026-11-17T14:00").timestamp()));
        assert!(d.explanation.contains("usually back around Tue 14:00"), "{}", d.explanation);

        // Tuesday 13:50, idle 40 min: back at 14:00 is under the minimum window.
        let d = decide(&at("2026-11-17T13:50"), &inputs(40 * 60, &sleep, &activity));
        assert_eq!((d.open, d.reason), (false, Reason::TooShort));

        // Active: the next window is when the idle threshold would be reached.
        let d = decide(&at("2026-11-17T10:00"), &inputs(60, &sleep, &activity));
        assert_eq!((d.open, d.reason), (false, Reason::Active));
        assert_eq!(d.next, Some(at("2026-11-17T10:29").timestamp()));
    }

    #[test]
    fn meetings_battery_lock_and_pause() {
        let tz = TimeZone::get("Europe/Berlin").unwrap();
        let sleep = SleepHours::every_day(Window::parse("23:00-07:00").unwrap(), tz.clone());
        let activity = ActivityModel::learn(&[], &at("2026-11-17T12:00"), 4, tz.clone());
        let t = |s: &str| at(s).timestamp().as_millisecond();
        // Back-to-back meetings arrive merged: 10:00-10:30 + 10:30-11:00.
        let meetings = [(t("2026-11-17T10:00"), t("2026-11-17T11:00")), (t("2026-11-17T15:00"), t("2026-11-17T15:10"))];
        let mut i = inputs(120, &sleep, &activity);
        i.meetings = &meetings;
        let d = decide(&at("2026-11-17T10:05"), &i);
        assert_eq!((d.open, d.reason), (true, Reason::Meeting));
        assert_eq!(d.until, Some(at("2026-11-17T11:00").timestamp()));
        // Before it: closed, and the meeting is the next window.
        let d = decide(&at("2026-11-17T09:00"), &i);
        assert_eq!((d.open, d.reason, d.next), (false, Reason::Active, Some(at("2026-11-17T09:28").timestamp())));
        i.idle_minutes = 120;
        let d = decide(&at("2026-11-17T09:00"), &i);
        assert_eq!(d.next, Some(at("2026-11-17T10:00").timestamp()), "the meeting comes before the idle threshold");
        // A ten-minute meeting is under the minimum window.
        let d = decide(&at("2026-11-17T15:01"), &i);
        assert_eq!((d.open, d.reason), (false, Reason::TooShort));
        // Typing during the meeting closes the window.
        i.idle_secs = 5;
        assert_eq!(decide(&at("2026-11-17T10:05"), &i).reason, Reason::Present);
        // A locked screen is away at once, even with recent input.
        i.locked = Some(true);
        assert_eq!(decide(&at("2026-11-17T12:30"), &i).reason, Reason::Away);
        i.on_battery = Some(true);
        assert_eq!(decide(&at("2026-11-17T10:05"), &i).reason, Reason::OnBattery);
        i.paused = true;
        assert_eq!(decide(&at("2026-11-17T10:05"), &i).reason, Reason::Paused);
    }

    #[test]
    fn sleep_hours_across_the_dst_change() {
        let tz = TimeZone::get("Europe/Berlin").unwrap();
        let sleep = SleepHours::every_day(Window::parse("23:00-07:00").unwrap(), tz.clone());
        let activity = ActivityModel::learn(&[], &at("2026-10-24T12:00"), 4, tz.clone());
        // The night of 2026-10-24/25 has 25 hours: the window is 9 hours of real time.
        let d = decide(&at("2026-10-24T23:00"), &inputs(600, &sleep, &activity));
        assert_eq!((d.open, d.reason), (true, Reason::Asleep));
        let until = d.until.unwrap();
        assert_eq!(until, at("2026-10-25T07:00").timestamp());
        assert_eq!(until.duration_since(at("2026-10-24T23:00").timestamp()).as_secs(), 9 * 3600);
    }
}
