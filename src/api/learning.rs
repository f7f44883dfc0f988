//! Admin API for the learning loop: run the evolver, review candidates, compare and roll back
//! generations, export the training dataset, and the learning signal per generation.

use std::sync::Arc;

use super::types::learning::{
    ApprovalScope, ApproveArg, CandidateFilter, CandidateList, CandidateStatus, DatasetQuery, DecisionReply, EvolveArg,
    GenerationDiff, LearningList, LearningQuery, Limit, PauseReply, RejectArg, RetryReply, RollbackReply, RunList,
};
use super::{ApiError, ApiQuery, ApiState};
use crate::dataset::{self, Split};
use crate::evolve::{review, EvolveError, RunReport};
use crate::scheduler::runner::Checkpoint;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};

pub fn routes() -> Router<Arc<ApiState>> {
    Router::new()
        .route("/api/evolve", post(evolve))
        .route("/api/evolve/runs", get(runs))
        .route("/api/evolve/retry-failed", post(retry_failed))
        .route("/api/candidates", get(candidates))
        .route("/api/candidates/{id}", get(candidate))
        .route("/api/candidates/{id}/approve", post(approve))
        .route("/api/candidates/{id}/reject", post(reject))
        .route("/api/candidates/{id}/defer", post(defer))
        .route("/api/generations/{a}/diff/{b}", get(diff))
        .route("/api/generations/{id}/rollback", post(rollback))
        .route("/api/dataset", get(export))
        .route("/api/learning", get(learning))
        .route("/api/learning/pause", post(pause))
        .route("/api/learning/resume", post(resume))
}

impl From<EvolveError> for ApiError {
    fn from(e: EvolveError) -> Self {
        match e {
            EvolveError::NotFound(m) => ApiError::NotFound(m),
            EvolveError::Conflict(m) => ApiError::Conflict(m),
            EvolveError::Store(s) => ApiError::Store(s),
            EvolveError::Library(l) => l.into(),
            other => ApiError::BadRequest(other.to_string()),
        }
    }
}

async fn evolve(State(st): State<Arc<ApiState>>, body: Option<Json<EvolveArg>>) -> Result<Json<RunReport>, ApiError> {
    let arg = body.map(|Json(a)| a).unwrap_or_default();
    Ok(Json(st.evolver.evolve(arg.session.as_deref(), crate::evolve::Trigger::OnDemand).await?))
}

/// `GET /api/evolve/runs?limit=N`: every recorded evolution run, newest first, with its outcome
/// (proposed, nothing, screened out, malformed, timed out, failed) and reason.
async fn runs(State(st): State<Arc<ApiState>>, ApiQuery(l): ApiQuery<Limit>) -> Result<Json<RunList>, ApiError> {
    let runs = crate::evolve::runs(&st.store, l.limit.unwrap_or(50)).await?;
    Ok(Json(RunList { runs }))
}

/// `POST /api/evolve/retry-failed`: failed turns consumed by runs that failed come back.
async fn retry_failed(State(st): State<Arc<ApiState>>) -> Result<Json<RetryReply>, ApiError> {
    Ok(Json(RetryReply { turns: st.evolver.retry_failed().await? as u64 }))
}

async fn candidates(
    State(st): State<Arc<ApiState>>,
    ApiQuery(f): ApiQuery<CandidateFilter>,
) -> Result<Json<CandidateList>, ApiError> {
    let mut candidates = review::list(&st.store, f.status).await?;
    if let Some(agent) = &f.agent {
        candidates.retain(|c| c.agents.contains(agent));
    }
    Ok(Json(CandidateList { candidates }))
}

async fn candidate(State(st): State<Arc<ApiState>>, Path(id): Path<i64>) -> Result<Json<review::Candidate>, ApiError> {
    review::get(&st.store, id).await?.map(Json).ok_or_else(|| ApiError::NotFound(format!("no candidate {id}")))
}

async fn approve(
    State(st): State<Arc<ApiState>>,
    Path(id): Path<i64>,
    body: Option<Json<ApproveArg>>,
) -> Result<Json<DecisionReply>, ApiError> {
    let arg = body.map(|Json(a)| a).unwrap_or_default();
    let shared = arg.scope == Some(ApprovalScope::Shared);
    let generation = review::approve_candidate(&st.evolver, id, arg.content, shared, "user").await?;
    Ok(Json(DecisionReply { id, status: CandidateStatus::Approved, generation: Some(generation) }))
}

async fn reject(
    State(st): State<Arc<ApiState>>,
    Path(id): Path<i64>,
    body: Option<Json<RejectArg>>,
) -> Result<Json<DecisionReply>, ApiError> {
    let reason = body.and_then(|Json(a)| a.reason);
    review::decide(&st.evolver, id, CandidateStatus::Rejected, reason).await?;
    Ok(Json(DecisionReply { id, status: CandidateStatus::Rejected, generation: None }))
}

async fn defer(State(st): State<Arc<ApiState>>, Path(id): Path<i64>) -> Result<Json<DecisionReply>, ApiError> {
    review::decide(&st.evolver, id, CandidateStatus::Deferred, None).await?;
    Ok(Json(DecisionReply { id, status: CandidateStatus::Deferred, generation: None }))
}

async fn diff(
    State(st): State<Arc<ApiState>>,
    Path((a, b)): Path<(i64, i64)>,
) -> Result<Json<GenerationDiff>, ApiError> {
    let changes = st
        .store
        .read(move |c| dataset::diff(c, a, b))
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no generation {a} or {b}")))?;
    Ok(Json(GenerationDiff { from: a, to: b, changes }))
}

async fn rollback(State(st): State<Arc<ApiState>>, Path(id): Path<i64>) -> Result<Json<RollbackReply>, ApiError> {
    let generation = st.skills.rollback(id).await?;
    Ok(Json(RollbackReply { rolled_back_to: id, generation }))
}

/// `GET /api/dataset?split=query|support`: JSON lines, one turn each.
async fn export(State(st): State<Arc<ApiState>>, ApiQuery(a): ApiQuery<DatasetQuery>) -> Result<Response, ApiError> {
    let split = a.split.unwrap_or(Split::Query);
    let limit = a.limit.unwrap_or(10_000).clamp(1, 100_000);
    let rows = st.store.read(move |c| dataset::export(c, split, limit)).await?;
    let mut body = String::new();
    for r in rows {
        body.push_str(&serde_json::to_string(&r).expect("json"));
        body.push('\n');
    }
    Ok(([(http::header::CONTENT_TYPE, "application/x-ndjson")], body).into_response())
}

async fn learning(
    State(st): State<Arc<ApiState>>,
    ApiQuery(q): ApiQuery<LearningQuery>,
) -> Result<Json<LearningList>, ApiError> {
    let limit = q.limit.unwrap_or(50).clamp(1, 500);
    let generations = st.store.read(move |c| dataset::learning(c, limit, q.agent.as_ref())).await?;
    Ok(Json(LearningList { generations }))
}

/// Pauses or resumes learning: the scheduler opens no windows and automatic evolution waits
/// while paused; the choice survives a restart.
async fn set_paused(st: &ApiState, paused: bool) -> Result<Json<PauseReply>, ApiError> {
    Checkpoint::new(st.store.clone(), "learning").save(&serde_json::json!({"paused": paused})).await?;
    st.scheduler.pause(paused);
    st.evolver.set_paused(paused);
    Ok(Json(PauseReply { learning_paused: paused }))
}

async fn pause(State(st): State<Arc<ApiState>>) -> Result<Json<PauseReply>, ApiError> {
    set_paused(&st, true).await
}

async fn resume(State(st): State<Arc<ApiState>>) -> Result<Json<PauseReply>, ApiError> {
    set_paused(&st, false).await
}
