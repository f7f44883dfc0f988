//! Client methods of the `skills` resource: the library's skills, the trash, validate, import,
//! export, explain, and the generations.

use super::{Client, ClientError};
use crate::api::types::learning::Limit;
use crate::api::types::skills::{
    ExplainArg, Explanation, ExportReply, GenerationList, GenerationReply, ImportReply, PathArg, SkillDetail,
    SkillList, SkillQuery, SkillWrite, TrashList, ValidationList,
};

/// A skill's name as one path segment (names are `[a-z0-9-]`, but the caller's text may not be).
fn segment(name: &str) -> String {
    let mut url = reqwest::Url::parse("http://x/").expect("a valid URL");
    url.path_segments_mut()
        .map(|mut p| {
            p.push(name);
        })
        .ok();
    url.path().trim_start_matches('/').to_string()
}

impl Client {
    /// `GET /api/skills`.
    pub async fn skills(&self, query: &SkillQuery) -> Result<SkillList, ClientError> {
        self.get_query("/api/skills", query).await
    }

    /// `GET /api/skills/{name}`.
    pub async fn skill(&self, name: &str) -> Result<SkillDetail, ClientError> {
        self.get(&format!("/api/skills/{}", segment(name))).await
    }

    /// `POST /api/skills`: a new skill.
    pub async fn create_skill(&self, skill: &SkillWrite) -> Result<GenerationReply, ClientError> {
        self.post("/api/skills", skill).await
    }

    /// `PUT /api/skills/{name}`.
    pub async fn update_skill(&self, name: &str, skill: &SkillWrite) -> Result<GenerationReply, ClientError> {
        self.put(&format!("/api/skills/{}", segment(name)), skill).await
    }

    /// `POST /api/skills/{name}/enable` (`true`) or `/disable` (`false`).
    pub async fn enable_skill(&self, name: &str, on: bool) -> Result<GenerationReply, ClientError> {
        let action = if on { "enable" } else { "disable" };
        self.post_empty(&format!("/api/skills/{}/{action}", segment(name))).await
    }

    /// `DELETE /api/skills/{name}`: the skill goes to the trash.
    pub async fn delete_skill(&self, name: &str) -> Result<GenerationReply, ClientError> {
        self.delete(&format!("/api/skills/{}", segment(name))).await
    }

    /// `POST /api/skills/{name}/restore`: back from the trash.
    pub async fn restore_skill(&self, name: &str) -> Result<GenerationReply, ClientError> {
        self.post_empty(&format!("/api/skills/{}/restore", segment(name))).await
    }

    /// `GET /api/skills-trash`.
    pub async fn skills_trash(&self) -> Result<TrashList, ClientError> {
        self.get("/api/skills-trash").await
    }

    /// `POST /api/skills/validate`: checks a folder without changing anything.
    pub async fn validate_skills(&self, arg: &PathArg) -> Result<ValidationList, ClientError> {
        self.post("/api/skills/validate", arg).await
    }

    /// `POST /api/skills/import`.
    pub async fn import_skills(&self, arg: &PathArg) -> Result<ImportReply, ClientError> {
        self.post("/api/skills/import", arg).await
    }

    /// `POST /api/skills/export`.
    pub async fn export_skills(&self, arg: &PathArg) -> Result<ExportReply, ClientError> {
        self.post("/api/skills/export", arg).await
    }

    /// `POST /api/skills/explain`: which skills a request would get, and why.
    pub async fn explain(&self, arg: &ExplainArg) -> Result<Explanation, ClientError> {
        self.post("/api/skills/explain", arg).await
    }

    /// `GET /api/generations`, newest first.
    pub async fn generations(&self, limit: &Limit) -> Result<GenerationList, ClientError> {
        self.get_query("/api/generations", limit).await
    }
}

// Per-skill effectiveness.
impl Client {
    /// `GET /api/skills-stats`: every skill's effectiveness (of one agent's turns, if asked).
    pub async fn skill_stats(
        &self,
        query: &crate::api::types::stats::StatsQuery,
    ) -> Result<crate::api::types::stats::SkillStatsList, ClientError> {
        self.get_query("/api/skills-stats", query).await
    }

    /// `GET /api/skills/{name}/stats`: one skill's effectiveness and its per-day series.
    pub async fn skill_stats_of(&self, name: &str) -> Result<crate::api::types::stats::SkillStatsDetail, ClientError> {
        self.get(&format!("/api/skills/{}/stats", segment(name))).await
    }
}
