//! "Which windows would have opened?": replays the decision over a past or future period in
//! five-minute steps. The past uses the recorded turns as the user's activity; the future uses
//! the learned activity model. Calendars and sleep hours apply to both.

use jiff::{Timestamp, ToSpan, Zoned};
use serde::{Deserialize, Serialize};

use super::{decide, ActivityModel, Inputs, Reason, SleepHours};

pub const STEP_MINUTES: i64 = 5;
/// The longest period one simulation covers.
pub const MAX_DAYS: i64 = 31;

/// One simulated window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[cfg_attr(test, ts(rename = "SimulatedWindow"))]
pub struct Window {
    pub start: i64,
    pub end: i64,
    pub reason: Reason,
    pub explanation: String,
}

pub struct Period<'a> {
    pub from: Timestamp,
    pub to: Timestamp,
    pub now: Timestamp,
    pub tz: jiff::tz::TimeZone,
    /// Start times of recorded turns (ms), sorted.
    pub turns: &'a [i64],
    pub meetings: &'a [(i64, i64)],
    pub sleep: &'a SleepHours,
    pub activity: &'a ActivityModel,
    pub idle_minutes: u64,
    pub min_window_minutes: u64,
}

/// The windows over the period, merged when consecutive steps share a reason.
pub fn simulate(p: &Period) -> Vec<Window> {
    let step = STEP_MINUTES.minutes();
    let mut out: Vec<Window> = Vec::new();
    let mut t = p.from;
    let unknown_idle =
        |t: Timestamp| p.idle_minutes * 60 + (t.as_millisecond() - p.from.as_millisecond()).max(0) as u64 / 1000;
    while t < p.to {
        let now: Zoned = t.to_zoned(p.tz.clone());
        let ms = t.as_millisecond();
        let idle_secs = if t <= p.now {
            // The last turn at or before t.
            let i = p.turns.partition_point(|x| *x <= ms);
            if i == 0 {
                unknown_idle(t)
            } else {
                ((ms - p.turns[i - 1]) / 1000) as u64
            }
        } else if p.activity.weeks == 0 || p.activity.rate_at(&now) >= 0.5 {
            // Expected at work (or nothing learned yet): active, though not typing right now, so
            // sleep hours and meetings still open windows.
            super::decide::PRESENT_SECS
        } else {
            unknown_idle(t)
        };
        let d = decide(
            &now,
            &Inputs {
                idle_secs,
                meetings: p.meetings,
                on_battery: None,
                locked: None,
                paused: false,
                sleep: p.sleep,
                activity: p.activity,
                idle_minutes: p.idle_minutes,
                min_window_minutes: p.min_window_minutes,
            },
        );
        let step_end = t.checked_add(step).unwrap_or(p.to).min(p.to);
        if !d.open {
            t = step_end;
            continue;
        }
        // Once open, a window lasts until its predicted end, or (in the past) the user's next turn.
        let mut end = d.until.unwrap_or(step_end).max(step_end).min(p.to);
        if t < p.now {
            let next_turn = p.turns.partition_point(|x| *x <= ms);
            if let Some(n) = p.turns.get(next_turn).and_then(|n| Timestamp::from_millisecond(*n).ok()) {
                end = end.min(n.max(step_end));
            }
        }
        match out.last_mut() {
            Some(w) if w.end == ms && w.reason == d.reason => w.end = end.as_millisecond(),
            _ => {
                out.push(Window { start: ms, end: end.as_millisecond(), reason: d.reason, explanation: d.explanation })
            }
        }
        t = end;
    }
    out
}
