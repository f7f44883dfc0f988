//! `[scheduler]`: when learning work may run (sleep hours in a time zone, idle time, calendar
//! and maintenance cadence), with the checks on it.

use serde::{Deserialize, Serialize};

/// When learning work may run: while the user is asleep or away.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(deny_unknown_fields, default)]
pub struct SchedulerConfig {
    /// IANA time zone (e.g. "Asia/Shanghai"); default: the system's.
    pub timezone: Option<String>,
    /// Sleep hours: `default`, and `mon` … `sun` overrides, each "HH:MM-HH:MM" or "off"; a
    /// weekday's window is the one that starts that day.
    pub sleep: std::collections::BTreeMap<String, String>,
    /// Idle this long (no proxied turn) counts as away.
    pub idle_minutes: u64,
    /// A window shorter than this is not worth starting work in.
    pub min_window_minutes: u64,
    /// Weeks of history the activity model learns from.
    pub activity_weeks: u32,
    /// How often calendar feeds are fetched again.
    pub calendar_refresh_minutes: u64,
    /// Database maintenance (retention, vacuum) runs in a window at most this often.
    pub maintenance_hours: u64,
    /// Read the OS idle timer (X11, GNOME, logind) besides the time since the last request.
    pub os_idle: bool,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        Self {
            timezone: None,
            sleep: [("default".to_string(), "23:00-07:00".to_string())].into(),
            idle_minutes: 30,
            min_window_minutes: 15,
            activity_weeks: 4,
            calendar_refresh_minutes: 15,
            maintenance_hours: 24,
            os_idle: true,
        }
    }
}

impl SchedulerConfig {
    /// The first value that parses but makes no sense, as (key, reason).
    pub(super) fn problem(&self) -> Option<(&'static str, String)> {
        if let Err(e) = self.sleep_hours() {
            return Some(("scheduler", e));
        }
        if self.calendar_refresh_minutes == 0 {
            return Some(("scheduler.calendar_refresh_minutes", "must be at least 1".into()));
        }
        if self.idle_minutes == 0 {
            return Some(("scheduler.idle_minutes", "must be at least 1".into()));
        }
        None
    }

    pub fn time_zone(&self) -> Result<jiff::tz::TimeZone, String> {
        match &self.timezone {
            Some(name) => jiff::tz::TimeZone::get(name).map_err(|e| format!("{name:?} is not a known time zone ({e})")),
            None => Ok(jiff::tz::TimeZone::system()),
        }
    }

    pub fn sleep_hours(&self) -> Result<crate::scheduler::SleepHours, String> {
        use crate::scheduler::{SleepHours, Window};
        let tz = self.time_zone()?;
        let default = match self.sleep.get("default") {
            Some(d) => Window::parse(d).map_err(|e| e.to_string())?,
            None => None,
        };
        let mut hours = SleepHours::every_day(default, tz);
        for (key, value) in &self.sleep {
            let day = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"].iter().position(|d| d == key);
            match (key.as_str(), day) {
                ("default", _) => {}
                (_, Some(i)) => hours.days[i] = Window::parse(value).map_err(|e| e.to_string())?,
                _ => return Err(format!("{key:?} is not default, mon, tue, wed, thu, fri, sat or sun")),
            }
        }
        Ok(hours)
    }
}
