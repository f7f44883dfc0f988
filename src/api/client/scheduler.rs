//! Client methods of the `scheduler` resource: its status and simulated windows.

use super::{Client, ClientError};
use crate::api::types::scheduler::{SchedulerStatus, Simulation, TimeRange};

impl Client {
    /// `GET /api/scheduler`: the state, the decision and why, the signals and the jobs.
    pub async fn scheduler(&self) -> Result<SchedulerStatus, ClientError> {
        self.get("/api/scheduler").await
    }

    /// `GET /api/scheduler/simulate?from&to`: the windows over a period (at most 31 days).
    pub async fn simulate(&self, period: &TimeRange) -> Result<Simulation, ClientError> {
        self.get_query("/api/scheduler/simulate", period).await
    }
}
