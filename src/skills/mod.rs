//! Skills: short Markdown instructions (SKILL.md files) injected into the prompt of each `main`
//! turn, the few most relevant to what the user just asked.
//!
//! The library is an immutable snapshot (skills, their search index and the library generation)
//! swapped atomically when files change, so a request never sees a half-loaded library.

mod archive;
mod bank;
pub mod embed;
mod files;
mod front;
mod index;
mod inject;
mod library;
mod memo;
mod parse;
mod snapshot;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use archive::{archived_folder, Curation, ARCHIVE_DIR};
pub use files::ImportReport;
pub use files::{export_to, import_from, validate_dir, FileError, TRASH_DIR};
pub use index::{Hit, Index};
pub use inject::{inject, render_block, Block, Injected, Placement};
pub use library::{Library, LibraryError};
pub use parse::{parse, render, valid_name, Parsed, Problem};
pub use snapshot::{query_parts, Candidate, Entry, Explanation, Selection, Semantic, Snapshot, Vectors};

/// The built-in bank's skills (all valid; the tests make sure of it).
pub fn builtin() -> Vec<Skill> {
    bank::load().into_iter().filter_map(|p| p.skill.ok()).collect()
}

/// Where a skill came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub enum Origin {
    /// Shipped with MetaClaw (the `skills/` bank, embedded in the binary).
    Builtin,
    /// Written or imported by the user.
    User,
    /// Proposed by the evolver and approved.
    Evolved,
}

impl Origin {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Builtin => "builtin",
            Self::User => "user",
            Self::Evolved => "evolved",
        }
    }
}

/// One skill.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct Skill {
    pub name: String,
    pub description: String,
    pub body: String,
    pub license: Option<String>,
    pub compatibility: Option<String>,
    pub allowed_tools: Vec<String>,
    pub metadata: BTreeMap<String, String>,
    pub origin: Origin,
    /// Content hash of the rendered SKILL.md; a change of it is a change of the skill.
    pub hash: String,
    /// The agents the skill is for (front matter `agents:`); empty means shared by every agent.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub agents: Vec<crate::agent::AgentId>,
}

impl Skill {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        name: String,
        description: String,
        body: String,
        license: Option<String>,
        compatibility: Option<String>,
        allowed_tools: Vec<String>,
        metadata: BTreeMap<String, String>,
        origin: Origin,
    ) -> Self {
        let origin = match metadata.get("origin").map(String::as_str) {
            Some("evolved") if origin == Origin::User => Origin::Evolved,
            _ => origin,
        };
        let mut s = Self {
            name,
            description,
            body,
            license,
            compatibility,
            allowed_tools,
            metadata,
            origin,
            hash: String::new(),
            agents: Vec::new(),
        };
        s.hash = format!("{:016x}", xxhash_rust::xxh3::xxh3_64(render(&s).as_bytes()));
        s
    }

    /// The skill scoped to `agents` (none: shared); its hash follows.
    pub fn with_agents(mut self, mut agents: Vec<crate::agent::AgentId>) -> Self {
        agents.sort();
        agents.dedup();
        self.agents = agents;
        self.hash = format!("{:016x}", xxhash_rust::xxh3::xxh3_64(render(&self).as_bytes()));
        self
    }

    /// Whether retrieval for `agent` may see this skill: shared, or scoped to it.
    pub fn serves(&self, agent: &crate::agent::AgentId) -> bool {
        self.agents.is_empty() || self.agents.contains(agent)
    }

    pub fn category(&self) -> &str {
        self.metadata.get("category").map(String::as_str).unwrap_or("general")
    }

    /// Rough token count of the injected text (about four characters a token).
    pub fn tokens(&self) -> usize {
        (self.name.len() + self.description.len() + self.body.len() + 16).div_ceil(4)
    }
}
