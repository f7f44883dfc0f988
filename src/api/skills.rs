//! Admin API for the skill library: list, show, create, edit, enable/disable, delete/restore,
//! validate, import, export, explain, and the history of generations.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::{ApiError, ApiState};
use crate::skills::{self, render, Entry, Explanation, ImportReport, LibraryError, Origin, Problem, Skill};

pub fn routes() -> Router<Arc<ApiState>> {
    Router::new()
        .route("/api/skills", get(list).post(create))
        .route("/api/skills/validate", post(validate))
        .route("/api/skills/import", post(import))
        .route("/api/skills/export", post(export))
        .route("/api/skills/explain", post(explain))
        .route("/api/skills/{name}", get(show).put(update).delete(delete))
        .route("/api/skills/{name}/enable", post(enable))
        .route("/api/skills/{name}/disable", post(disable))
        .route("/api/skills/{name}/restore", post(restore))
        .route("/api/skills-trash", get(trash))
        .route("/api/generations", get(generations))
}

impl From<LibraryError> for ApiError {
    fn from(e: LibraryError) -> Self {
        match e {
            LibraryError::NotFound(_) => ApiError::NotFound(e.to_string()),
            LibraryError::Conflict(m) => ApiError::Conflict(m),
            LibraryError::Invalid(problems) => ApiError::Invalid { message: "the skill is not valid".into(), problems },
            LibraryError::File(skills::FileError::NotFound(m)) => ApiError::NotFound(m),
            LibraryError::File(skills::FileError::Conflict(m)) => ApiError::Conflict(m),
            LibraryError::File(f) => ApiError::BadRequest(f.to_string()),
            LibraryError::Store(s) => ApiError::Store(s),
        }
    }
}

/// A skill as listed (no body).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SkillSummary {
    pub name: String,
    pub description: String,
    pub category: String,
    pub origin: Origin,
    pub enabled: bool,
    pub path: String,
    pub overrides_builtin: bool,
    pub tokens: usize,
    pub hash: String,
}

impl From<&Entry> for SkillSummary {
    fn from(e: &Entry) -> Self {
        Self {
            name: e.skill.name.clone(),
            description: e.skill.description.clone(),
            category: e.skill.category().to_string(),
            origin: e.skill.origin,
            enabled: e.enabled,
            path: e.path.clone(),
            overrides_builtin: e.overrides_builtin,
            tokens: e.skill.tokens(),
            hash: e.skill.hash.clone(),
        }
    }
}

/// `GET /api/skills`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SkillList {
    pub generation: i64,
    pub skills: Vec<SkillSummary>,
    /// Files that could not be loaded, with file, line and reason.
    pub problems: Vec<Problem>,
    pub warnings: Vec<Problem>,
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    /// Case-insensitive text in the name or description.
    q: Option<String>,
    category: Option<String>,
    origin: Option<String>,
    enabled: Option<bool>,
}

async fn list(State(st): State<Arc<ApiState>>, Query(f): Query<ListQuery>) -> Json<SkillList> {
    let snap = st.skills.snapshot();
    let q = f.q.map(|q| q.to_lowercase());
    let skills = snap
        .entries
        .iter()
        .filter(|e| {
            q.as_ref().is_none_or(|q| {
                e.skill.name.contains(q.as_str()) || e.skill.description.to_lowercase().contains(q.as_str())
            })
        })
        .filter(|e| f.category.as_ref().is_none_or(|c| e.skill.category() == c))
        .filter(|e| f.origin.as_ref().is_none_or(|o| e.skill.origin.as_str() == o))
        .filter(|e| f.enabled.is_none_or(|on| e.enabled == on))
        .map(SkillSummary::from)
        .collect();
    Json(SkillList {
        generation: snap.generation,
        skills,
        problems: snap.problems.clone(),
        warnings: snap.warnings.clone(),
    })
}

/// `GET /api/skills/{name}`: the skill, its state and its SKILL.md text.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SkillDetail {
    #[serde(flatten)]
    pub entry: Entry,
    pub content: String,
}

async fn show(State(st): State<Arc<ApiState>>, Path(name): Path<String>) -> Result<Json<SkillDetail>, ApiError> {
    let snap = st.skills.snapshot();
    let e = snap.get(&name).ok_or_else(|| ApiError::NotFound(format!("no skill named {name:?}")))?;
    Ok(Json(SkillDetail { content: render(&e.skill), entry: e.clone() }))
}

/// A skill to write: either the whole SKILL.md, or its parts.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SkillWrite {
    pub name: Option<String>,
    pub content: Option<String>,
    pub description: Option<String>,
    pub body: Option<String>,
    pub category: Option<String>,
}

impl SkillWrite {
    fn text(&self, name: &str, base: Option<&Skill>) -> Result<String, ApiError> {
        if let Some(c) = &self.content {
            return Ok(c.clone());
        }
        let mut metadata: BTreeMap<String, String> = base.map(|b| b.metadata.clone()).unwrap_or_default();
        if let Some(c) = &self.category {
            metadata.insert("category".into(), c.clone());
        }
        let description = self.description.clone().or_else(|| base.map(|b| b.description.clone())).unwrap_or_default();
        let body = self.body.clone().or_else(|| base.map(|b| b.body.clone())).unwrap_or_default();
        let skill = Skill::new(name.into(), description, body, None, None, vec![], metadata, Origin::User);
        Ok(render(&skill))
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct GenerationReply {
    pub generation: i64,
}

/// Runs a library call that parses SKILL.md text on a blocking thread, so a slow parse (however
/// the text was made) never holds one of the async workers that serve every other request.
async fn off_workers<T, F>(
    st: &Arc<ApiState>,
    call: impl FnOnce(Arc<crate::skills::Library>) -> F + Send + 'static,
) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: std::future::Future<Output = Result<T, crate::skills::LibraryError>>,
{
    let lib = st.skills.clone();
    let handle = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || handle.block_on(call(lib)))
        .await
        .map_err(|e| ApiError::BadRequest(e.to_string()))?
        .map_err(ApiError::from)
}

async fn create(State(st): State<Arc<ApiState>>, Json(w): Json<SkillWrite>) -> Result<Json<GenerationReply>, ApiError> {
    let name = w.name.clone().ok_or_else(|| ApiError::BadRequest("`name` is required".into()))?;
    let text = w.text(&name, None)?;
    let generation = off_workers(&st, move |lib| async move { lib.create(&name, &text).await }).await?;
    Ok(Json(GenerationReply { generation }))
}

async fn update(
    State(st): State<Arc<ApiState>>,
    Path(name): Path<String>,
    Json(w): Json<SkillWrite>,
) -> Result<Json<GenerationReply>, ApiError> {
    let snap = st.skills.snapshot();
    let base = snap.get(&name).map(|e| e.skill.clone());
    let text = w.text(&name, base.as_ref())?;
    let generation = off_workers(&st, move |lib| async move { lib.update(&name, &text).await }).await?;
    Ok(Json(GenerationReply { generation }))
}

async fn enable(State(st): State<Arc<ApiState>>, Path(name): Path<String>) -> Result<Json<GenerationReply>, ApiError> {
    Ok(Json(GenerationReply { generation: st.skills.set_enabled(&name, true).await? }))
}

async fn disable(State(st): State<Arc<ApiState>>, Path(name): Path<String>) -> Result<Json<GenerationReply>, ApiError> {
    Ok(Json(GenerationReply { generation: st.skills.set_enabled(&name, false).await? }))
}

async fn delete(State(st): State<Arc<ApiState>>, Path(name): Path<String>) -> Result<Json<GenerationReply>, ApiError> {
    Ok(Json(GenerationReply { generation: st.skills.delete(&name).await? }))
}

async fn restore(State(st): State<Arc<ApiState>>, Path(name): Path<String>) -> Result<Json<GenerationReply>, ApiError> {
    Ok(Json(GenerationReply { generation: st.skills.restore(&name).await? }))
}

async fn trash(State(st): State<Arc<ApiState>>) -> Json<Value> {
    let items: Vec<Value> = st
        .skills
        .trash()
        .into_iter()
        .map(|(name, path, at)| json!({"name": name, "path": path.display().to_string(), "deleted_at": at}))
        .collect();
    Json(json!({ "trash": items }))
}

#[derive(Debug, Deserialize)]
struct PathArg {
    path: PathBuf,
    #[serde(default)]
    overwrite: bool,
}

/// One skill's validation result.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Validation {
    pub name: Option<String>,
    pub ok: bool,
    pub problem: Option<Problem>,
    pub warnings: Vec<Problem>,
}

async fn validate(Json(a): Json<PathArg>) -> Result<Json<Value>, ApiError> {
    let results = tokio::task::spawn_blocking(move || skills::validate_dir(&a.path))
        .await
        .map_err(|e| ApiError::BadRequest(e.to_string()))?
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let out: Vec<Validation> = results
        .into_iter()
        .map(|p| match p.skill {
            Ok(s) => Validation { name: Some(s.name), ok: true, problem: None, warnings: p.warnings },
            Err(e) => Validation { name: None, ok: false, problem: Some(e), warnings: p.warnings },
        })
        .collect();
    Ok(Json(json!({ "skills": out })))
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ImportReply {
    #[serde(flatten)]
    pub report: ImportReport,
    pub generation: i64,
}

async fn import(State(st): State<Arc<ApiState>>, Json(a): Json<PathArg>) -> Result<Json<ImportReply>, ApiError> {
    let (report, generation) =
        off_workers(&st, move |lib| async move { lib.import(&a.path, a.overwrite).await }).await?;
    Ok(Json(ImportReply { report, generation }))
}

async fn export(State(st): State<Arc<ApiState>>, Json(a): Json<PathArg>) -> Result<Json<Value>, ApiError> {
    let snap = st.skills.snapshot();
    let skills: Vec<Skill> = snap.active().cloned().collect();
    let n = tokio::task::spawn_blocking(move || skills::export_to(skills.iter(), &a.path))
        .await
        .map_err(|e| ApiError::BadRequest(e.to_string()))?
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    Ok(Json(json!({ "exported": n })))
}

#[derive(Debug, Deserialize)]
struct ExplainArg {
    query: String,
}

async fn explain(State(st): State<Arc<ApiState>>, Json(a): Json<ExplainArg>) -> Json<Explanation> {
    let cfg = st.skills.config();
    let qvec = st.skills.embed_query(&a.query).await;
    let vectors = st.skills.vectors();
    let semantic =
        qvec.as_deref().map(|q| skills::Semantic { query: q, vectors: &vectors, weight: cfg.embedding_weight });
    Json(st.skills.snapshot().explain(&a.query, cfg, semantic))
}

/// One generation of the library.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Generation {
    pub id: i64,
    pub created_at: i64,
    pub reason: String,
    pub changes: Value,
    pub active: usize,
}

#[derive(Debug, Deserialize)]
struct Limit {
    limit: Option<u32>,
}

async fn generations(State(st): State<Arc<ApiState>>, Query(l): Query<Limit>) -> Result<Json<Value>, ApiError> {
    let limit = l.limit.unwrap_or(50).clamp(1, 500);
    let rows = st
        .store
        .read(move |c| crate::store::generations::list(c, limit))
        .await?;
    let rows: Vec<Generation> = rows
        .into_iter()
        .map(|g| Generation {
            id: g.id,
            created_at: g.created_at,
            reason: g.reason,
            changes: serde_json::from_str(&g.changes).unwrap_or(Value::Null),
            active: serde_json::from_str::<BTreeMap<String, String>>(&g.active).map(|m| m.len()).unwrap_or(0),
        })
        .collect();
    Ok(Json(json!({ "generations": rows })))
}
