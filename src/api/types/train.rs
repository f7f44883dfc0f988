//! The `train` resource: policy training's status, runs with their steps, checkpoints, the
//! serving history, and the user's controls (`/api/train/*`).

use serde::{Deserialize, Serialize};

pub use crate::train::backend::RemoteCheckpoint;
pub use crate::train::record::{
    Run as TrainRun, RunStatus as TrainRunStatus, RunTrigger, ServingChange, ServingReason, Step as TrainStep,
    StepStatus as TrainStepStatus,
};
pub use crate::train::{Samples as TrainSamples, Status as TrainStatus, Today as TrainToday, TrainState};

/// `GET /api/train/runs/{id}`: a run with its steps, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct TrainRunDetail {
    pub run: TrainRun,
    pub steps: Vec<TrainStep>,
}

/// The query of `GET /api/train/runs`, `/checkpoints` and `/serving`: at most `limit` (default
/// 50, 1 to 500), newest first; runs also page with `before` (a run id).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct TrainPage {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub limit: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub before: Option<i64>,
}

/// `POST /api/train/rollback`: serve this step's sampler weights; training continues from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct TrainRollback {
    pub step_id: i64,
}

#[cfg(test)]
pub(crate) fn typescript(f: &mut super::ts::File) {
    f.add::<TrainStatus>();
    f.add::<TrainState>();
    f.add::<TrainToday>();
    f.add::<TrainSamples>();
    f.add::<TrainRun>();
    f.add::<TrainRunStatus>();
    f.add::<RunTrigger>();
    f.add::<TrainStep>();
    f.add::<TrainStepStatus>();
    f.add::<ServingChange>();
    f.add::<ServingReason>();
    f.add::<TrainRunDetail>();
    f.add::<TrainPage>();
    f.add::<TrainRollback>();
    f.add::<RemoteCheckpoint>();
}
