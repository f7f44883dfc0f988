//! The `skills` resource: the library's skills (list, show, create, edit, enable, disable,
//! delete, restore), the trash, validate, import, export, explain, and the generations
//! (`/api/skills…`, `/api/skills-trash`, `/api/generations`).

use serde::{Deserialize, Serialize};

pub use crate::skills::{Entry, Explanation, ImportReport, Origin, Problem, Skill};

/// A skill as listed (no body).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
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
    /// The agents the skill is for; empty: shared by every agent.
    pub agents: Vec<crate::agent::AgentId>,
    /// The user pinned it (the curator keeps it; it is never held out).
    pub pinned: bool,
}

/// Query of `GET /api/skills`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct SkillQuery {
    /// Case-insensitive text in the name or description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub q: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub category: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub origin: Option<Origin>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub enabled: Option<bool>,
}

/// `GET /api/skills`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct SkillList {
    pub generation: i64,
    pub skills: Vec<SkillSummary>,
    /// Files that could not be loaded, with file, line and reason.
    pub problems: Vec<Problem>,
    pub warnings: Vec<Problem>,
}

/// `GET /api/skills/{name}`: the skill, its state and its SKILL.md text.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct SkillDetail {
    #[serde(flatten)]
    pub entry: Entry,
    pub content: String,
}

/// A skill to write (`POST /api/skills`, `PUT /api/skills/{name}`): either the whole SKILL.md,
/// or its parts.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct SkillWrite {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub content: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub body: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub category: Option<String>,
}

/// The answer to every change of the library: the generation it made.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct GenerationReply {
    pub generation: i64,
}

/// One deleted skill in the trash.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct TrashItem {
    pub name: String,
    pub path: String,
    pub deleted_at: i64,
}

/// `GET /api/skills-trash`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct TrashList {
    pub trash: Vec<TrashItem>,
}

/// Body of validate, import and export: a folder of `<name>/SKILL.md`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct PathArg {
    #[cfg_attr(test, ts(type = "string"))]
    pub path: std::path::PathBuf,
    /// Import only: replace skills of the same name (default: no).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub overwrite: Option<bool>,
}

/// One skill's validation result.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct Validation {
    pub name: Option<String>,
    pub ok: bool,
    pub problem: Option<Problem>,
    pub warnings: Vec<Problem>,
}

/// `POST /api/skills/validate`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ValidationList {
    pub skills: Vec<Validation>,
}

/// `POST /api/skills/import`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ImportReply {
    #[serde(flatten)]
    pub report: ImportReport,
    pub generation: i64,
}

/// `POST /api/skills/export`: how many skills were written.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ExportReply {
    pub exported: u64,
}

/// `POST /api/skills/explain` body.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ExplainArg {
    pub query: String,
}

/// One skill's change in a generation.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct GenerationChangeEntry {
    pub skill: String,
    pub change: crate::dataset::ChangeKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub hash: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub from: Option<String>,
}

/// One generation of the library.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct Generation {
    pub id: i64,
    pub created_at: i64,
    pub reason: String,
    /// What changed (kept as recorded: older records may have another shape).
    #[cfg_attr(test, ts(as = "Vec<GenerationChangeEntry>"))]
    pub changes: serde_json::Value,
    /// Number of active skills.
    pub active: usize,
}

/// `GET /api/generations`, newest first.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct GenerationList {
    pub generations: Vec<Generation>,
}

#[cfg(test)]
pub(crate) fn typescript(f: &mut super::ts::File) {
    f.add::<Origin>();
    f.add::<SkillSummary>();
    f.add::<SkillQuery>();
    f.add::<SkillList>();
    f.add::<Skill>();
    f.add::<Entry>();
    f.add::<SkillDetail>();
    f.add::<SkillWrite>();
    f.add::<GenerationReply>();
    f.add::<TrashItem>();
    f.add::<TrashList>();
    f.add::<PathArg>();
    f.add::<Validation>();
    f.add::<ValidationList>();
    f.add::<ImportReport>();
    f.add::<ImportReply>();
    f.add::<ExportReply>();
    f.add::<ExplainArg>();
    f.add::<Explanation>();
    f.add::<crate::skills::Candidate>();
    f.add::<GenerationChangeEntry>();
    f.add::<crate::dataset::ChangeKind>();
    f.add::<Generation>();
    f.add::<GenerationList>();
}
