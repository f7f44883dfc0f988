//! Admin API for policy training: status, runs with their steps, checkpoints, the serving
//! history, and the user's controls (train now, pause, resume, roll back).

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};

use super::types::train::{TrainPage, TrainRollback, TrainRunDetail};
use super::{ApiError, ApiState};
use crate::train::record::{self, Run, ServingChange, Step};
use crate::train::{Samples, Status, Today, TrainError, TrainState, Training};

pub fn routes() -> Router<Arc<ApiState>> {
    Router::new()
        .route("/api/train", get(status))
        .route("/api/train/runs", get(runs))
        .route("/api/train/runs/{id}", get(run))
        .route("/api/train/runs/{id}/remote-checkpoints", get(remote_checkpoints))
        .route("/api/train/checkpoints", get(checkpoints))
        .route("/api/train/serving", get(serving))
        .route("/api/train/run-now", post(run_now))
        .route("/api/train/pause", post(pause))
        .route("/api/train/resume", post(resume))
        .route("/api/train/rollback", post(rollback))
}

impl From<TrainError> for ApiError {
    fn from(e: TrainError) -> Self {
        match e {
            TrainError::Store(s) => ApiError::Store(s),
            TrainError::NoCheckpoint(_) | TrainError::NoRun(_) => ApiError::NotFound(e.to_string()),
            TrainError::Service(_) => ApiError::Unavailable(e.to_string()),
            _ => ApiError::Conflict(e.to_string()),
        }
    }
}

fn training(st: &ApiState) -> Result<&Arc<Training>, ApiError> {
    st.training.as_ref().ok_or_else(|| TrainError::Off.into())
}

/// `GET /api/train`.
async fn status(State(st): State<Arc<ApiState>>) -> Result<Json<Status>, ApiError> {
    if let Some(t) = &st.training {
        return Ok(Json(t.status().await?));
    }
    let cfg = &st.config.train;
    let last = st.store.read(|c| Ok(record::runs(c, 1, None)?.into_iter().next())).await?;
    let served = st.store.read(record::served).await?;
    Ok(Json(Status {
        enabled: false,
        base_model: cfg.base_model.clone(),
        base_url: cfg.base_url.clone(),
        state: TrainState::Off,
        detail: "training is off: set [train] enabled = true and base_model, and add the Tinker key".into(),
        paused: false,
        serving: served,
        serve_models: cfg.serve_models.clone(),
        eligible: 0,
        unsampled: 0,
        min_batch: cfg.min_batch,
        today: Today {
            steps: 0,
            max_steps: cfg.max_steps_per_day,
            spend_usd: 0.0,
            max_spend_usd: cfg.max_spend_per_day_usd,
        },
        samples: Samples { trained: 0, skipped: 0, skip_reasons: Vec::new() },
        current_run: None,
        last_run: last,
    }))
}

/// `GET /api/train/runs?limit&before`: newest first.
async fn runs(State(st): State<Arc<ApiState>>, Query(p): Query<TrainPage>) -> Result<Json<Vec<Run>>, ApiError> {
    let limit = p.limit.unwrap_or(50).clamp(1, 500);
    Ok(Json(st.store.read(move |c| record::runs(c, limit, p.before)).await?))
}

/// `GET /api/train/runs/{id}`.
async fn run(State(st): State<Arc<ApiState>>, Path(id): Path<i64>) -> Result<Json<TrainRunDetail>, ApiError> {
    let found = st.store.read(move |c| Ok(record::get_run(c, id)?.map(|run| (run, record::steps_of(c, id))))).await?;
    match found {
        Some((run, steps)) => Ok(Json(TrainRunDetail { run, steps: steps? })),
        None => Err(ApiError::NotFound(format!("no training run {id}"))),
    }
}

/// `GET /api/train/runs/{id}/remote-checkpoints`: what the service holds for the run's model.
async fn remote_checkpoints(
    State(st): State<Arc<ApiState>>,
    Path(id): Path<i64>,
) -> Result<Json<Vec<crate::train::backend::RemoteCheckpoint>>, ApiError> {
    Ok(Json(training(&st)?.remote_checkpoints(id).await?))
}

/// `GET /api/train/checkpoints?limit`: steps with a saved state, newest first.
async fn checkpoints(State(st): State<Arc<ApiState>>, Query(p): Query<TrainPage>) -> Result<Json<Vec<Step>>, ApiError> {
    let limit = p.limit.unwrap_or(50).clamp(1, 500);
    Ok(Json(st.store.read(move |c| record::checkpoints(c, limit)).await?))
}

/// `GET /api/train/serving?limit`: changes of the served adapter, newest first.
async fn serving(
    State(st): State<Arc<ApiState>>,
    Query(p): Query<TrainPage>,
) -> Result<Json<Vec<ServingChange>>, ApiError> {
    let limit = p.limit.unwrap_or(50).clamp(1, 500);
    Ok(Json(st.store.read(move |c| record::serving_history(c, limit)).await?))
}

/// `POST /api/train/run-now`: a run now, outside any window.
async fn run_now(State(st): State<Arc<ApiState>>) -> Result<(StatusCode, Json<Status>), ApiError> {
    let t = training(&st)?;
    if t.is_paused() {
        return Err(ApiError::Conflict("training is paused: resume it first".into()));
    }
    t.run_now()?;
    Ok((StatusCode::ACCEPTED, Json(t.status().await?)))
}

async fn pause(State(st): State<Arc<ApiState>>) -> Result<Json<Status>, ApiError> {
    let t = training(&st)?;
    t.set_paused(true).await?;
    Ok(Json(t.status().await?))
}

async fn resume(State(st): State<Arc<ApiState>>) -> Result<Json<Status>, ApiError> {
    let t = training(&st)?;
    t.set_paused(false).await?;
    st.scheduler.poke();
    Ok(Json(t.status().await?))
}

/// `POST /api/train/rollback {step_id}`: serve that step's adapter; training continues from it.
async fn rollback(
    State(st): State<Arc<ApiState>>,
    Json(r): Json<TrainRollback>,
) -> Result<Json<ServingChange>, ApiError> {
    Ok(Json(training(&st)?.rollback(r.step_id).await?))
}
