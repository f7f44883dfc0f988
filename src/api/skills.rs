//! Admin API for the skill library: list, show, create, edit, enable/disable, delete/restore,
//! validate, import, export, explain, and the history of generations.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::Value;

use super::types::learning::Limit;
use super::types::skills::{
    ExplainArg, ExportReply, Generation, GenerationList, GenerationReply, ImportReply, PathArg, SkillDetail, SkillList,
    SkillQuery, SkillSummary, SkillWrite, TrashItem, TrashList, Validation, ValidationList,
};
use super::{ApiError, ApiQuery, ApiState};
use crate::skills::{self, render, Entry, Explanation, LibraryError, Origin, Skill};

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
            agents: e.skill.agents.clone(),
            pinned: e.pinned,
        }
    }
}

async fn list(State(st): State<Arc<ApiState>>, ApiQuery(f): ApiQuery<SkillQuery>) -> Json<SkillList> {
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
        .filter(|e| f.origin.is_none_or(|o| e.skill.origin == o))
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

async fn show(State(st): State<Arc<ApiState>>, Path(name): Path<String>) -> Result<Json<SkillDetail>, ApiError> {
    let snap = st.skills.snapshot();
    let e = snap.get(&name).ok_or_else(|| ApiError::NotFound(format!("no skill named {name:?}")))?;
    Ok(Json(SkillDetail { content: render(&e.skill), entry: e.clone() }))
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

async fn trash(State(st): State<Arc<ApiState>>) -> Json<TrashList> {
    let trash = st
        .skills
        .trash()
        .into_iter()
        .map(|(name, path, deleted_at)| TrashItem { name, path: path.display().to_string(), deleted_at })
        .collect();
    Json(TrashList { trash })
}

async fn validate(Json(a): Json<PathArg>) -> Result<Json<ValidationList>, ApiError> {
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
    Ok(Json(ValidationList { skills: out }))
}

async fn import(State(st): State<Arc<ApiState>>, Json(a): Json<PathArg>) -> Result<Json<ImportReply>, ApiError> {
    let (report, generation) =
        off_workers(&st, move |lib| async move { lib.import(&a.path, a.overwrite.unwrap_or(false)).await }).await?;
    Ok(Json(ImportReply { report, generation }))
}

async fn export(State(st): State<Arc<ApiState>>, Json(a): Json<PathArg>) -> Result<Json<ExportReply>, ApiError> {
    let snap = st.skills.snapshot();
    let skills: Vec<Skill> = snap.active().cloned().collect();
    let n = tokio::task::spawn_blocking(move || skills::export_to(skills.iter(), &a.path))
        .await
        .map_err(|e| ApiError::BadRequest(e.to_string()))?
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    Ok(Json(ExportReply { exported: n as u64 }))
}

async fn explain(State(st): State<Arc<ApiState>>, Json(a): Json<ExplainArg>) -> Json<Explanation> {
    let cfg = st.skills.config();
    let qvec = st.skills.embed_query(&a.query).await;
    let vectors = st.skills.vectors();
    let semantic =
        qvec.as_deref().map(|q| skills::Semantic { query: q, vectors: &vectors, weight: cfg.embedding_weight });
    Json(st.skills.snapshot().explain(&a.query, cfg, semantic))
}

async fn generations(
    State(st): State<Arc<ApiState>>,
    ApiQuery(l): ApiQuery<Limit>,
) -> Result<Json<GenerationList>, ApiError> {
    let limit = l.limit.unwrap_or(50).clamp(1, 500);
    let rows = st.store.read(move |c| crate::store::generations::list(c, limit)).await?;
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
    Ok(Json(GenerationList { generations: rows }))
}
