//! Client methods of the `learning` resource: the evolver and its runs, reviewing candidates,
//! generations (diff, rollback), the dataset, the learning signal, pausing and resuming learning.

use super::{Client, ClientError};
use crate::api::types::learning::{
    ApproveArg, Candidate, CandidateFilter, CandidateList, DatasetQuery, DecisionReply, EvolveArg, GenerationDiff,
    LearningList, LearningQuery, Limit, PauseReply, RejectArg, RetryReply, RollbackReply, RunList, RunReport,
};

impl Client {
    /// `POST /api/evolve`: learn from failed turns now (only `session`'s, when given).
    pub async fn evolve(&self, arg: &EvolveArg) -> Result<RunReport, ClientError> {
        self.post("/api/evolve", arg).await
    }

    /// `GET /api/evolve/runs`, newest first.
    pub async fn evolve_runs(&self, limit: &Limit) -> Result<RunList, ClientError> {
        self.get_query("/api/evolve/runs", limit).await
    }

    /// `POST /api/evolve/retry-failed`: failed turns used up by failed runs come back.
    pub async fn evolve_retry_failed(&self) -> Result<RetryReply, ClientError> {
        self.post_empty("/api/evolve/retry-failed").await
    }

    /// `GET /api/candidates`, newest first.
    pub async fn candidates(&self, filter: &CandidateFilter) -> Result<CandidateList, ClientError> {
        self.get_query("/api/candidates", filter).await
    }

    /// `GET /api/candidates/{id}`.
    pub async fn candidate(&self, id: i64) -> Result<Candidate, ClientError> {
        self.get(&format!("/api/candidates/{id}")).await
    }

    /// `POST /api/candidates/{id}/approve`, with the user's edit of the SKILL.md if any.
    pub async fn approve(&self, id: i64, arg: &ApproveArg) -> Result<DecisionReply, ClientError> {
        self.post(&format!("/api/candidates/{id}/approve"), arg).await
    }

    /// `POST /api/candidates/{id}/reject`.
    pub async fn reject(&self, id: i64, arg: &RejectArg) -> Result<DecisionReply, ClientError> {
        self.post(&format!("/api/candidates/{id}/reject"), arg).await
    }

    /// `POST /api/candidates/{id}/defer`.
    pub async fn defer(&self, id: i64) -> Result<DecisionReply, ClientError> {
        self.post_empty(&format!("/api/candidates/{id}/defer")).await
    }

    /// `GET /api/generations/{a}/diff/{b}`.
    pub async fn generation_diff(&self, a: i64, b: i64) -> Result<GenerationDiff, ClientError> {
        self.get(&format!("/api/generations/{a}/diff/{b}")).await
    }

    /// `POST /api/generations/{id}/rollback`: a new generation with generation `id`'s skills.
    pub async fn rollback(&self, id: i64) -> Result<RollbackReply, ClientError> {
        self.post_empty(&format!("/api/generations/{id}/rollback")).await
    }

    /// `GET /api/dataset`: JSON lines, one turn each.
    pub async fn dataset(&self, query: &DatasetQuery) -> Result<String, ClientError> {
        let q = super::serde_urlencoded(query);
        self.get_text(&if q.is_empty() { "/api/dataset".to_string() } else { format!("/api/dataset?{q}") }).await
    }

    /// `GET /api/learning`: the learning signal per generation, newest first (of one agent's
    /// turns if `query.agent` is set).
    pub async fn learning(&self, query: &LearningQuery) -> Result<LearningList, ClientError> {
        self.get_query("/api/learning", query).await
    }

    /// `POST /api/learning/pause` (`true`) or `/resume` (`false`).
    pub async fn pause_learning(&self, paused: bool) -> Result<PauseReply, ClientError> {
        self.post_empty(if paused { "/api/learning/pause" } else { "/api/learning/resume" }).await
    }
}
