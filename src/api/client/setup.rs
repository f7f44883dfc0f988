//! Client methods of the `setup` resource: the first-run guide's state and checklist, and
//! testing an upstream and key before saving them.

use super::{Client, ClientError};
use crate::api::types::setup::{SetupAction, SetupChange, SetupStatus, SetupTest, SetupTestResult};

impl Client {
    /// `GET /api/setup`.
    pub async fn setup(&self) -> Result<SetupStatus, ClientError> {
        self.get("/api/setup").await
    }

    /// `PUT /api/setup`: done, dismissed or reopen.
    pub async fn set_setup(&self, action: SetupAction) -> Result<SetupStatus, ClientError> {
        self.put("/api/setup", &SetupChange { action }).await
    }

    /// `POST /api/setup/test`: the upstream's models, or why it can't be used.
    pub async fn setup_test(&self, t: &SetupTest) -> Result<SetupTestResult, ClientError> {
        self.post("/api/setup/test", t).await
    }
}
