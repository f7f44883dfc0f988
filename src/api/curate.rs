//! Admin API of the curator: run it (`POST /api/curate`), the archive (`GET /api/skills-archive`,
//! `POST /api/skills/{name}/unarchive`) and pins (`POST /api/skills/{name}/pin`).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};

use super::types::curate::{ArchiveList, ArchivedSkill, CurateArg, CurateReport, PinArg, PinReply};
use super::types::skills::GenerationReply;
use super::{ApiError, ApiState};

pub fn routes() -> Router<Arc<ApiState>> {
    Router::new()
        .route("/api/skills/{name}/pin", post(pin))
        .route("/api/skills/{name}/unarchive", post(unarchive))
        .route("/api/skills-archive", get(archive))
        .route("/api/curate", post(curate))
}

impl From<crate::curate::CurateError> for ApiError {
    fn from(e: crate::curate::CurateError) -> Self {
        match e {
            crate::curate::CurateError::Store(s) => ApiError::Store(s),
            crate::curate::CurateError::Library(l) => l.into(),
            other => ApiError::Unavailable(other.to_string()),
        }
    }
}

/// Runs the curator now; a dry run only says what it would do.
async fn curate(State(st): State<Arc<ApiState>>, Json(a): Json<CurateArg>) -> Result<Json<CurateReport>, ApiError> {
    let curator = crate::curate::Curator::new(st.evolver.clone(), st.config.curator.clone());
    Ok(Json(curator.run(a.dry_run).await?))
}

async fn pin(
    State(st): State<Arc<ApiState>>,
    Path(name): Path<String>,
    Json(a): Json<PinArg>,
) -> Result<Json<PinReply>, ApiError> {
    let generation = st.skills.set_pinned(&name, a.pinned).await?;
    Ok(Json(PinReply { name, pinned: a.pinned, generation }))
}

async fn archive(State(st): State<Arc<ApiState>>) -> Result<Json<ArchiveList>, ApiError> {
    let skills = st
        .skills
        .archived()
        .await?
        .into_iter()
        .map(|r| ArchivedSkill {
            description: crate::skills::parse(&r.content, &r.name, "archive", crate::skills::Origin::User)
                .skill
                .map(|s| s.description)
                .unwrap_or_default(),
            name: r.name,
            reason: r.reason,
            archived_at: r.archived_at,
        })
        .collect();
    Ok(Json(ArchiveList { skills }))
}

async fn unarchive(
    State(st): State<Arc<ApiState>>,
    Path(name): Path<String>,
) -> Result<Json<GenerationReply>, ApiError> {
    Ok(Json(GenerationReply { generation: st.skills.unarchive(&name).await? }))
}
