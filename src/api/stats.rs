//! Admin API for per-skill effectiveness: every skill's statistics (`GET /api/skills-stats`,
//! optionally for one agent) and one skill's with its per-day series
//! (`GET /api/skills/{name}/stats`).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};

use super::types::stats::{SkillStatsDetail, SkillStatsList, StatsQuery};
use super::{ApiError, ApiQuery, ApiState};
use crate::effect::report::{self, Counts};

pub fn routes() -> Router<Arc<ApiState>> {
    Router::new().route("/api/skills-stats", get(list)).route("/api/skills/{name}/stats", get(detail))
}

async fn list(
    State(st): State<Arc<ApiState>>,
    ApiQuery(q): ApiQuery<StatsQuery>,
) -> Result<Json<SkillStatsList>, ApiError> {
    let t = std::time::Instant::now();
    let skills = st.store.read(move |c| report::list(c, q.agent.as_ref())).await?;
    Ok(Json(SkillStatsList { skills, computed_ms: t.elapsed().as_secs_f64() * 1000.0 }))
}

async fn detail(
    State(st): State<Arc<ApiState>>,
    Path(name): Path<String>,
    ApiQuery(q): ApiQuery<StatsQuery>,
) -> Result<Json<SkillStatsDetail>, ApiError> {
    let n = name.clone();
    if let Some(d) = st.store.read(move |c| report::detail(c, &n, q.agent.as_ref())).await? {
        return Ok(Json(d));
    }
    if st.skills.snapshot().get(&name).is_none() {
        return Err(ApiError::NotFound(format!("no skill named {name:?}")));
    }
    // A skill no turn has matched yet.
    let stats = report::skill_stats(name, Counts::default(), Counts::default(), 0, Vec::new(), None);
    Ok(Json(SkillStatsDetail { stats, days: Vec::new() }))
}
