//! The `health` resource: how each part of MetaClaw is doing (the upstream, the judge, the
//! evolver, the trainer, calendar refresh, the disk), in `GET /api/status` as `health`.

use serde::{Deserialize, Serialize};

/// A part of MetaClaw whose health is watched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Component {
    /// The LLM servers MetaClaw forwards your agent's turns to.
    Upstream,
    Judge,
    Evolver,
    /// Policy training.
    Trainer,
    /// Refreshing the calendars the scheduler reads.
    Calendars,
    /// Free space on the disk that holds MetaClaw's home.
    Disk,
}

impl Component {
    pub const ALL: [Component; 6] =
        [Self::Upstream, Self::Judge, Self::Evolver, Self::Trainer, Self::Calendars, Self::Disk];

    /// The component's wire form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Upstream => "upstream",
            Self::Judge => "judge",
            Self::Evolver => "evolver",
            Self::Trainer => "trainer",
            Self::Calendars => "calendars",
            Self::Disk => "disk",
        }
    }

    /// What a user calls it.
    pub fn label(self) -> &'static str {
        match self {
            Self::Upstream => "Upstream",
            Self::Judge => "Judge",
            Self::Evolver => "Evolver",
            Self::Trainer => "Training",
            Self::Calendars => "Calendars",
            Self::Disk => "Disk",
        }
    }

    /// Part of learning (judge, evolver, trainer): the desktop app tells the user when these
    /// have been failing for a while.
    pub fn is_learning(self) -> bool {
        matches!(self, Self::Judge | Self::Evolver | Self::Trainer)
    }
}

/// How a component is doing. Ordered from the least to the most worrying.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum HealthState {
    /// Not configured or not in use.
    Off,
    Ok,
    /// Recent failures, but it may be a blip (or the disk is getting full).
    Degraded,
    /// Failing again and again: something needs fixing.
    Failing,
}

impl HealthState {
    /// The state's wire form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::Ok => "ok",
            Self::Degraded => "degraded",
            Self::Failing => "failing",
        }
    }
}

/// One component's health.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ComponentHealth {
    pub component: Component,
    pub state: HealthState,
    /// The last error, in plain words (kept after recovery until the next one).
    pub error: Option<String>,
    /// When the last error happened (ms since epoch).
    pub error_at_ms: Option<i64>,
    /// When the next attempt is due (ms since epoch), when known.
    pub next_retry_ms: Option<i64>,
    /// Failures in a row since the last success.
    pub failures: u32,
    /// When the current run of failures began (ms since epoch); `None` while healthy.
    pub failing_since_ms: Option<i64>,
}

/// `health` in `GET /api/status`: every component, and the worst state among them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct HealthReport {
    /// The worst state among the components (`ok` when all are ok or off).
    pub overall: HealthState,
    /// In a fixed order: upstream, judge, evolver, trainer, calendars, disk.
    pub components: Vec<ComponentHealth>,
}

impl HealthReport {
    /// The worst component that is not ok (the first of equals), for one-line summaries.
    pub fn worst(&self) -> Option<&ComponentHealth> {
        self.components.iter().filter(|c| c.state > HealthState::Ok).fold(
            None,
            |w: Option<&ComponentHealth>, c| match w {
                Some(w) if w.state >= c.state => Some(w),
                _ => Some(c),
            },
        )
    }

    /// One line for a status bar or a tray tooltip: "healthy", or the worst parts and their
    /// errors ("judge failing: the upstream answered 404 …").
    pub fn summary(&self) -> String {
        let Some(w) = self.worst() else { return "healthy".into() };
        let others = self.components.iter().filter(|c| c.state > HealthState::Ok).count() - 1;
        let mut s = format!("{} {}", w.component.as_str(), w.state.as_str());
        if let Some(e) = &w.error {
            s.push_str(": ");
            s.push_str(e);
        }
        if others > 0 {
            s.push_str(&format!(" (and {others} more)"));
        }
        s
    }
}

impl ComponentHealth {
    /// One line for `metaclaw status`: "judge      failing   3 failures in a row, last 2 min ago:
    /// … ; next try in 5 min". `now_ms` is the reader's clock.
    pub fn line(&self, now_ms: i64) -> String {
        let mut s = format!("{:<10} {:<9}", self.component.as_str(), self.state.as_str());
        if self.state > HealthState::Ok {
            if self.failures > 1 {
                s.push_str(&format!(" {} failures in a row,", self.failures));
            }
            if let Some(at) = self.error_at_ms {
                s.push_str(&format!(" {}", ago(now_ms - at)));
            }
            if let Some(e) = &self.error {
                s.push_str(": ");
                s.push_str(e);
            }
            if let Some(next) = self.next_retry_ms {
                s.push_str(&format!("; next try {}", within(next - now_ms)));
            }
        }
        s.trim_end().to_string()
    }
}

/// "just now", "12 s ago", "5 min ago", "2 h ago", "3 d ago".
fn ago(ms: i64) -> String {
    match ms.max(0) / 1000 {
        0..=1 => "just now".into(),
        s @ 2..=59 => format!("{s} s ago"),
        s @ 60..=3599 => format!("{} min ago", s / 60),
        s @ 3600..=86_399 => format!("{} h ago", s / 3600),
        s => format!("{} d ago", s / 86_400),
    }
}

/// "now", "in 12 s", "in 5 min", "in 2 h".
fn within(ms: i64) -> String {
    match ms.max(0) / 1000 {
        0 => "now".into(),
        s @ 1..=59 => format!("in {s} s"),
        s @ 60..=3599 => format!("in {} min", (s + 59) / 60),
        s => format!("in {} h", (s + 3599) / 3600),
    }
}

#[cfg(test)]
pub(crate) fn typescript(f: &mut super::ts::File) {
    f.add::<HealthReport>();
    f.add::<ComponentHealth>();
    f.add::<Component>();
    f.add::<HealthState>();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_line_says_what_failed_when_and_when_it_is_tried_again() {
        let c = ComponentHealth {
            component: Component::Judge,
            state: HealthState::Failing,
            error: Some("not found: check the model name".into()),
            error_at_ms: Some(1_000_000 - 120_000),
            next_retry_ms: Some(1_000_000 + 300_000),
            failures: 3,
            failing_since_ms: Some(0),
        };
        assert_eq!(
            c.line(1_000_000),
            "judge      failing   3 failures in a row, 2 min ago: not found: check the model name; next try in 5 min"
        );
        let ok = ComponentHealth { state: HealthState::Ok, failures: 0, ..c };
        assert_eq!(ok.line(1_000_000), "judge      ok");
    }
}
