//! Client methods of the `train` resource: status, runs and steps, checkpoints, the serving
//! history, and the controls (train now, pause, resume, roll back).

use reqwest::Method;

use super::{Client, ClientError};
use crate::api::types::train::{
    RemoteCheckpoint, ServingChange, TrainPage, TrainRollback, TrainRun, TrainRunDetail, TrainStatus, TrainStep,
};

impl Client {
    /// `GET /api/train`.
    pub async fn train_status(&self) -> Result<TrainStatus, ClientError> {
        self.get("/api/train").await
    }

    /// `GET /api/train/runs?limit&before`: newest first.
    pub async fn train_runs(&self, page: &TrainPage) -> Result<Vec<TrainRun>, ClientError> {
        self.get_query("/api/train/runs", page).await
    }

    /// `GET /api/train/runs/{id}`: the run and its steps.
    pub async fn train_run(&self, id: i64) -> Result<TrainRunDetail, ClientError> {
        self.get(&format!("/api/train/runs/{id}")).await
    }

    /// `GET /api/train/runs/{id}/remote-checkpoints`: what the service holds for the run's model.
    pub async fn train_remote_checkpoints(&self, id: i64) -> Result<Vec<RemoteCheckpoint>, ClientError> {
        self.get(&format!("/api/train/runs/{id}/remote-checkpoints")).await
    }

    /// `GET /api/train/checkpoints?limit`: steps with a saved state, newest first.
    pub async fn train_checkpoints(&self, page: &TrainPage) -> Result<Vec<TrainStep>, ClientError> {
        self.get_query("/api/train/checkpoints", page).await
    }

    /// `GET /api/train/serving?limit`: changes of the served adapter, newest first.
    pub async fn train_serving(&self, page: &TrainPage) -> Result<Vec<ServingChange>, ClientError> {
        self.get_query("/api/train/serving", page).await
    }

    /// `POST /api/train/run-now`: a run now, outside any window.
    pub async fn train_now(&self) -> Result<TrainStatus, ClientError> {
        self.call(Method::POST, "/api/train/run-now", None::<&()>).await
    }

    /// `POST /api/train/pause`.
    pub async fn pause_training(&self) -> Result<TrainStatus, ClientError> {
        self.call(Method::POST, "/api/train/pause", None::<&()>).await
    }

    /// `POST /api/train/resume`.
    pub async fn resume_training(&self) -> Result<TrainStatus, ClientError> {
        self.call(Method::POST, "/api/train/resume", None::<&()>).await
    }

    /// `POST /api/train/rollback`: serve that step's adapter; training continues from it.
    pub async fn train_rollback(&self, step_id: i64) -> Result<ServingChange, ClientError> {
        self.post("/api/train/rollback", &TrainRollback { step_id }).await
    }
}
