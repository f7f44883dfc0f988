//! Admin API for settings: the config file (read, validated write applied live), API keys
//! (stored in the vault and applied live; the UI learns only whether a key is set), and deleting
//! the recorded data.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, put};
use axum::{Json, Router};
use serde::Deserialize;

use super::types::settings::{ConfigSaved, ConfigView, DeleteAll, KeyInfo, KeyWrite};
use super::{ApiError, ApiState};
use crate::config::Config;
use crate::engine::{Applied, ReloadError};
use crate::secrets::{SecretName, SecretSource};

pub fn routes() -> Router<Arc<ApiState>> {
    Router::new()
        .route("/api/config", get(show).put(save))
        .route("/api/config/apply", axum::routing::post(apply))
        .route("/api/keys", get(keys))
        .route("/api/keys/{name}", put(set_key).delete(delete_key))
        .route("/api/data", axum::routing::delete(delete_data))
}

/// What `GET /api/config` shows in place of a key kept in the file; `PUT` keeps the stored key
/// when it comes back unchanged.
pub const REDACTED: &str = "(set; hidden)";

async fn load(st: &ApiState) -> Result<Config, ApiError> {
    let path = st.config_path.clone();
    tokio::task::spawn_blocking(move || Config::load(&path))
        .await
        .map_err(|e| ApiError::BadRequest(e.to_string()))?
        .map_err(|e| ApiError::BadRequest(e.to_string()))
}

async fn show(State(st): State<Arc<ApiState>>) -> Result<Json<ConfigView>, ApiError> {
    let mut config = load(&st).await?;
    let restart = st.reload.waiting(&config);
    if config.proxy.api_key.is_some() {
        config.proxy.api_key = Some(REDACTED.into());
    }
    Ok(Json(ConfigView { path: st.config_path.display().to_string(), restart, config }))
}

/// `PUT /api/config`'s body as the engine reads it: [`super::types::settings::ConfigWrite`], with
/// the configuration as JSON first so that a wrong field is named in the answer.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SaveConfig {
    config: serde_json::Value,
}

/// `PUT /api/config`: validates like `metaclaw config check`, then writes the file atomically and
/// applies it to the running engine (only if it can be applied: otherwise nothing changes).
async fn save(State(st): State<Arc<ApiState>>, Json(body): Json<SaveConfig>) -> Result<Json<ConfigSaved>, ApiError> {
    let invalid = |message: String| ApiError::Invalid { message, problems: Vec::new() };
    let mut cfg: Config = serde_json::from_value(body.config).map_err(|e| invalid(format!("config: {e}")))?;
    if cfg.proxy.api_key.as_deref() == Some(REDACTED) {
        cfg.proxy.api_key = load(&st).await?.proxy.api_key;
    }
    cfg.validate(&st.config_path).map_err(|e| invalid(e.to_string()))?;
    Ok(Json(saved(st.reload.save(cfg).await)?))
}

/// `POST /api/config/apply`: reads config.toml and the keys again and applies them (after an edit
/// by hand, or `metaclaw key set`).
async fn apply(State(st): State<Arc<ApiState>>) -> Result<Json<ConfigSaved>, ApiError> {
    Ok(Json(saved(st.reload.apply().await)?))
}

/// What the API answers about a change applied (or why it was not).
fn saved(r: Result<Applied, ReloadError>) -> Result<ConfigSaved, ApiError> {
    match r {
        Ok(a) => Ok(ConfigSaved { applied: a.changed, restart: a.restart }),
        Err(e @ (ReloadError::Config(_) | ReloadError::Engine(_))) => {
            Err(ApiError::Invalid { message: e.to_string(), problems: Vec::new() })
        }
        Err(e @ ReloadError::Write { .. }) => Err(ApiError::BadRequest(e.to_string())),
        Err(e @ ReloadError::Stopped) => Err(ApiError::Unavailable(e.to_string())),
    }
}

fn secret_for(st: &ApiState, name: &str) -> Result<(SecretName, String), ApiError> {
    if name == "proxy" {
        return Ok((SecretName::proxy(), "Key agents must present to the proxy".into()));
    }
    if name == "tinker" {
        return Ok((SecretName::tinker(), "Tinker API key (policy training and serving)".into()));
    }
    if let Some(up) = name.strip_prefix("upstream.") {
        if st.config.upstream_names().iter().any(|n| n == up) {
            return Ok((SecretName::upstream(up), format!("API key of upstream {up:?}")));
        }
    }
    Err(ApiError::NotFound(format!(
        "no key named {name:?}: use `proxy`, `tinker` or `upstream.<name>` of a configured upstream"
    )))
}

async fn keys(State(st): State<Arc<ApiState>>) -> Result<Json<Vec<KeyInfo>>, ApiError> {
    let mut names: Vec<String> = st.config.upstream_names().iter().map(|n| format!("upstream.{n}")).collect();
    names.push("proxy".into());
    names.push("tinker".into());
    let mut out = Vec::new();
    for name in names {
        let (secret, label) = secret_for(&st, &name)?;
        let (value, source) = st.vault.get(&secret).await.unwrap_or((None, SecretSource::None));
        let location = st.vault.location(&secret, source);
        out.push(KeyInfo { name, label, set: value.is_some(), source, env_var: secret.env_var().into(), location });
    }
    Ok(Json(out))
}

async fn set_key(
    State(st): State<Arc<ApiState>>,
    Path(name): Path<String>,
    Json(v): Json<KeyWrite>,
) -> Result<StatusCode, ApiError> {
    let (secret, _) = secret_for(&st, &name)?;
    let value = v.value.trim();
    if value.is_empty() || value.len() > 4096 || value.chars().any(char::is_control) {
        return Err(ApiError::BadRequest("a key is one line of 1 to 4096 printable characters".into()));
    }
    st.vault.set(&secret, value).await.map_err(|e| ApiError::KeyringUnavailable(e.to_string()))?;
    key_applied(&st).await
}

/// Puts a changed key in force (the next request uses it); the key itself is already stored.
async fn key_applied(st: &ApiState) -> Result<StatusCode, ApiError> {
    match st.reload.apply().await {
        Ok(_) => Ok(StatusCode::NO_CONTENT),
        Err(e) => Err(ApiError::Unavailable(format!("the key is saved but not in use yet: {e}"))),
    }
}

async fn delete_key(State(st): State<Arc<ApiState>>, Path(name): Path<String>) -> Result<StatusCode, ApiError> {
    let (secret, _) = secret_for(&st, &name)?;
    st.vault.delete(&secret).await.map_err(|e| ApiError::KeyringUnavailable(e.to_string()))?;
    key_applied(&st).await
}

/// The confirmation `DELETE /api/data` needs, typed by the user.
pub const DELETE_CONFIRMATION: &str = "delete all data";

/// `DELETE /api/data`: removes every recorded conversation and everything learned from it
/// (scores, evolution runs, candidates, job runs). Skills stay: they are the user's files.
async fn delete_data(State(st): State<Arc<ApiState>>, Json(c): Json<DeleteAll>) -> Result<StatusCode, ApiError> {
    if c.confirm != DELETE_CONFIRMATION {
        return Err(ApiError::BadRequest(format!("send {{\"confirm\": {DELETE_CONFIRMATION:?}}} to delete all data")));
    }
    st.store.erase_recorded().await?;
    tracing::info!("all recorded data deleted at the user's request");
    Ok(StatusCode::NO_CONTENT)
}
