//! Client methods of the `connect` resource: agents' state, preview, connect, disconnect.

use super::{Client, ClientError};
use crate::api::types::connect::{AgentKind, ConnectAgents, ConnectPlan, ConnectRequest, DisconnectResult};

impl Client {
    /// `GET /api/connect`.
    pub async fn connect_agents(&self) -> Result<ConnectAgents, ClientError> {
        self.get("/api/connect").await
    }

    /// `POST /api/connect/{agent}/preview`: the diff, nothing written.
    pub async fn connect_preview(&self, agent: AgentKind, req: &ConnectRequest) -> Result<ConnectPlan, ClientError> {
        self.post(&format!("/api/connect/{agent}/preview"), req).await
    }

    /// `POST /api/connect/{agent}`: backup, then write.
    pub async fn connect_agent(&self, agent: AgentKind, req: &ConnectRequest) -> Result<ConnectPlan, ClientError> {
        self.post(&format!("/api/connect/{agent}"), req).await
    }

    /// `POST /api/connect/{agent}/disconnect`: the original back, byte for byte.
    pub async fn disconnect_agent(&self, agent: AgentKind) -> Result<DisconnectResult, ClientError> {
        self.post(&format!("/api/connect/{agent}/disconnect"), &serde_json::json!({})).await
    }
}
