//! The `scheduler` resource: its state, the decision and why, every signal, the jobs and their
//! last runs (`GET /api/scheduler`), and the windows over a period (`GET /api/scheduler/simulate`).

use serde::{Deserialize, Serialize};

pub use crate::scheduler::runner::{JobInfo, RunInfo, RunOutcome, State as SchedulerState, Status as SchedulerStatus};
pub use crate::scheduler::signals::Reading;
pub use crate::scheduler::simulate::Window as SimulatedWindow;
pub use crate::scheduler::{ActivityModel, Decision, Reason};

/// A period in ms since the epoch, the query of `GET /api/scheduler/simulate` and
/// `GET /api/calendars/busy`; each route has its own default for what is left out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct TimeRange {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub from: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub to: Option<i64>,
}

/// `GET /api/scheduler/simulate`: the windows that would have opened (past) or are expected
/// (future) over a period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct Simulation {
    pub from: i64,
    pub to: i64,
    pub step_minutes: i64,
    pub windows: Vec<SimulatedWindow>,
    /// Minutes of window in the period.
    pub open_minutes: i64,
}

#[cfg(test)]
pub(crate) fn typescript(f: &mut super::ts::File) {
    f.add::<SchedulerStatus>();
    f.add::<SchedulerState>();
    f.add::<Decision>();
    f.add::<Reason>();
    f.add::<Reading>();
    f.add::<JobInfo>();
    f.add::<RunInfo>();
    f.add::<RunOutcome>();
    f.add::<ActivityModel>();
    f.add::<TimeRange>();
    f.add::<Simulation>();
    f.add::<SimulatedWindow>();
}
