//! Client methods of the `status` resource: status, sessions, turns, one turn, feedback.

use super::{Client, ClientError};
use crate::api::types::status::{
    Feedback, FeedbackReply, Paging, SessionList, Status, TurnDetail, TurnFilter, TurnPage,
};

impl Client {
    /// `GET /api/status`.
    pub async fn status(&self) -> Result<Status, ClientError> {
        self.get("/api/status").await
    }

    /// `GET /api/sessions`, newest first.
    pub async fn sessions(&self, paging: &Paging) -> Result<SessionList, ClientError> {
        self.get_query("/api/sessions", paging).await
    }

    /// `GET /api/turns`, newest first.
    pub async fn turns(&self, filter: &TurnFilter) -> Result<TurnPage, ClientError> {
        self.get_query("/api/turns", filter).await
    }

    /// `GET /api/agents`: every agent seen, with its turn count and last turn.
    pub async fn agents(&self) -> Result<super::super::types::status::AgentList, ClientError> {
        self.get("/api/agents").await
    }

    /// `GET /api/turns/{id}`.
    pub async fn turn(&self, id: i64) -> Result<TurnDetail, ClientError> {
        self.get(&format!("/api/turns/{id}")).await
    }

    /// `POST /api/turns/{id}/feedback`: the user's verdict (+1 or -1), which overrides the judge.
    pub async fn feedback(&self, id: i64, feedback: &Feedback) -> Result<FeedbackReply, ClientError> {
        self.post(&format!("/api/turns/{id}/feedback"), feedback).await
    }
}
