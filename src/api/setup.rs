//! Admin API for the first-run guide: its state and live checklist (`GET`/`PUT /api/setup`) and
//! testing an upstream with a key before anything is saved (`POST /api/setup/test`).
//!
//! The guide saves through the settings routes (`PUT /api/keys/…`, `PUT /api/config`); these
//! routes only read the store and try the upstream. The state lives in the store's `meta` table.

use std::sync::Arc;

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};

use super::types::setup::{SetupAction, SetupChange, SetupStatus, SetupTest, SetupTestResult, TestOutcome};
use super::{ApiError, ApiState};
use crate::secrets::SecretName;

mod checklist;
pub mod probe;

pub use probe::MAX_MODELS;

pub fn routes() -> Router<Arc<ApiState>> {
    Router::new().route("/api/setup", get(show).put(change)).route("/api/setup/test", post(test))
}

async fn status(st: &ApiState) -> Result<SetupStatus, ApiError> {
    let (state, changed_at, checklist) = st.store.read(checklist::read).await?;
    Ok(SetupStatus { state, changed_at, checklist, providers: probe::presets() })
}

/// `GET /api/setup`.
async fn show(State(st): State<Arc<ApiState>>) -> Result<Json<SetupStatus>, ApiError> {
    Ok(Json(status(&st).await?))
}

/// `PUT /api/setup`: done, dismissed, or reopen.
async fn change(State(st): State<Arc<ApiState>>, Json(c): Json<SetupChange>) -> Result<Json<SetupStatus>, ApiError> {
    let now = crate::clock::now_ms();
    st.store.write(move |c2| checklist::set_state(c2, c.action, now)).await?;
    if c.action != SetupAction::Reopen {
        tracing::info!(action = ?c.action, "setup guide closed");
    }
    Ok(Json(status(&st).await?))
}

/// `POST /api/setup/test`: lists the upstream's models with the given key, or says in plain
/// words why it can't. A success ticks "key works".
async fn test(State(st): State<Arc<ApiState>>, Json(t): Json<SetupTest>) -> Result<Json<SetupTestResult>, ApiError> {
    let key = match (t.key.as_deref().map(str::trim), &t.stored_key) {
        (Some(k), _) if !k.is_empty() => {
            if k.len() > 4096 || k.chars().any(char::is_control) {
                return Err(ApiError::BadRequest("a key is one line of 1 to 4096 printable characters".into()));
            }
            Some(k.to_string())
        }
        (_, Some(name)) => {
            let ok = !name.is_empty()
                && name.len() <= 64
                && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
            if !ok {
                return Err(ApiError::BadRequest(format!("{name:?} is not an upstream name")));
            }
            st.vault.get(&SecretName::upstream(name)).await.ok().and_then(|(v, _)| v)
        }
        _ => None,
    };
    let target = probe::Target::resolve(&t)?;
    let result = probe::probe(&target, key.as_deref()).await;
    if result.outcome == TestOutcome::Ok {
        let now = crate::clock::now_ms();
        st.store.write(move |c| checklist::key_worked(c, now)).await?;
    }
    Ok(Json(result))
}
