//! Admin API for `metaclaw connect`: agents' state, the diff `connect` would apply, connect and
//! disconnect, run by the engine on behalf of the user it runs as (its `HOME` and `PATH`).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};

use super::types::connect::{
    AgentKind, ConnectAgent, ConnectAgents, ConnectPlan, ConnectRequest, DisconnectOutcome, DisconnectResult,
};
use super::{ApiError, ApiState};
use crate::agent::AgentId;
use crate::connect::{self, ConnectError, Env, Restored, Target};
use crate::home::Home;
use crate::store::read::{self, TurnFilter};

pub fn routes() -> Router<Arc<ApiState>> {
    Router::new()
        .route("/api/connect", get(agents))
        .route("/api/connect/{agent}/preview", post(preview))
        .route("/api/connect/{agent}", post(connect_agent))
        .route("/api/connect/{agent}/disconnect", post(disconnect))
}

impl From<ConnectError> for ApiError {
    fn from(e: ConnectError) -> Self {
        match e {
            ConnectError::UnknownAgent(_) => ApiError::NotFound(e.to_string()),
            ConnectError::NotConnected { .. } | ConnectError::BackupMissing { .. } => ApiError::NotFound(e.to_string()),
            ConnectError::SnippetOnly { .. }
            | ConnectError::Unparsable { .. }
            | ConnectError::TooLarge { .. }
            | ConnectError::NoHome => ApiError::BadRequest(e.to_string()),
            ConnectError::Changed { .. } | ConnectError::EditedSince { .. } => ApiError::Conflict(e.to_string()),
            _ => ApiError::Unavailable(e.to_string()),
        }
    }
}

fn home(st: &ApiState) -> Home {
    Home::at(st.config_path.parent().unwrap_or(std::path::Path::new(".")))
}

fn agent(name: &str) -> Result<AgentKind, ApiError> {
    AgentKind::parse(name).ok_or_else(|| ConnectError::UnknownAgent(name.to_string()).into())
}

fn target(st: &ApiState, req: &ConnectRequest) -> Target {
    let model = req.model.clone().or_else(|| st.config.upstream.model.clone()).unwrap_or_else(|| "default".into());
    Target { port: st.local.port, model, inject: req.inject.unwrap_or(true) }
}

/// Runs file work off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ConnectError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| ApiError::Unavailable(e.to_string()))?.map_err(Into::into)
}

/// `GET /api/connect`.
async fn agents(State(st): State<Arc<ApiState>>) -> Result<Json<ConnectAgents>, ApiError> {
    let (home, port, t) = (home(&st), st.local.port, target(&st, &ConnectRequest::default()));
    let seen = st
        .store
        .read(|c| {
            AgentKind::ALL
                .iter()
                .map(|a| {
                    let f = TurnFilter { agent: AgentId::parse(a.name()).ok(), limit: Some(1), ..Default::default() };
                    Ok(read::list_turns(c, &f)?.turns.first().map(|t| t.started_at))
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .await?;
    let agents = blocking(move || {
        let env = Env::from_process();
        Ok(AgentKind::ALL
            .iter()
            .zip(seen)
            .map(|(&a, last_seen_ms)| {
                let s = connect::state(&home, &env, a, port);
                ConnectAgent {
                    agent: a,
                    label: a.label().to_string(),
                    installed: s.installed,
                    file_wired: a.file_wired(),
                    config: s.config.map(|p| p.display().to_string()),
                    state: s.wiring,
                    problem: s.problem,
                    restorable: s.restorable,
                    last_seen_ms,
                    snippet: connect::snippet(a, &t),
                }
            })
            .collect())
    })
    .await?;
    Ok(Json(ConnectAgents { port, agents }))
}

fn answer(p: &connect::Plan, written: bool) -> ConnectPlan {
    ConnectPlan {
        agent: p.agent,
        path: p.path.display().to_string(),
        diff: p.diff.clone(),
        already: p.already,
        written,
        next: p.next.clone(),
    }
}

/// `POST /api/connect/{agent}/preview`.
async fn preview(
    State(st): State<Arc<ApiState>>,
    Path(name): Path<String>,
    Json(req): Json<ConnectRequest>,
) -> Result<Json<ConnectPlan>, ApiError> {
    let (a, t) = (agent(&name)?, target(&st, &req));
    let plan = blocking(move || connect::plan(a, &Env::from_process(), &t)).await?;
    Ok(Json(answer(&plan, false)))
}

/// `POST /api/connect/{agent}`.
async fn connect_agent(
    State(st): State<Arc<ApiState>>,
    Path(name): Path<String>,
    Json(req): Json<ConnectRequest>,
) -> Result<Json<ConnectPlan>, ApiError> {
    let (a, t, home) = (agent(&name)?, target(&st, &req), home(&st));
    let plan = blocking(move || {
        let plan = connect::plan(a, &Env::from_process(), &t)?;
        connect::apply(&home, &plan)?;
        Ok(plan)
    })
    .await?;
    tracing::info!(agent = %a, path = %plan.path.display(), changed = !plan.already, "agent connected");
    Ok(Json(answer(&plan, !plan.already)))
}

/// `POST /api/connect/{agent}/disconnect`.
async fn disconnect(
    State(st): State<Arc<ApiState>>,
    Path(name): Path<String>,
) -> Result<Json<DisconnectResult>, ApiError> {
    let (a, home) = (agent(&name)?, home(&st));
    let r = blocking(move || connect::disconnect(&home, a)).await?;
    let (path, outcome) = match r {
        Restored::Original { path } => (path, DisconnectOutcome::Restored),
        Restored::Removed { path } => (path, DisconnectOutcome::Removed),
    };
    tracing::info!(agent = %a, path = %path.display(), "agent disconnected");
    Ok(Json(DisconnectResult { agent: a, path: path.display().to_string(), outcome }))
}
