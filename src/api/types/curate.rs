//! The curator's resource: a curation run's report (`POST /api/curate`), the archive
//! (`/api/skills-archive`, `/api/skills/{name}/unarchive`) and pins (`/api/skills/{name}/pin`).

use serde::{Deserialize, Serialize};

/// What the curator does with skills.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum CurateKind {
    /// Move a skill nobody used for a long time to the archive (applied by the curator).
    Archive,
    /// Propose switching off a skill whose turns went worse with it (a Review candidate).
    Disable,
    /// Propose one skill in place of near-duplicates (a Review candidate from the evolver).
    Merge,
}

impl CurateKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Archive => "archive",
            Self::Disable => "disable",
            Self::Merge => "merge",
        }
    }
}

/// One thing the curator did (or, in a dry run, would do), and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct CurateAction {
    pub kind: CurateKind,
    /// The skills it concerns (a merge: the ones it would replace).
    pub skills: Vec<String>,
    /// Why, in plain words.
    pub reason: String,
    /// The numbers behind it (last use, verdict, similarity).
    pub evidence: String,
    /// It was carried out (archived) or proposed (a candidate in Review); false in a dry run
    /// and when it could not be done (the reason says why).
    pub applied: bool,
    /// The Review candidate it made (disable, merge).
    pub candidate: Option<i64>,
}

/// `POST /api/curate`: what a curation run did or would do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct CurateReport {
    pub dry_run: bool,
    pub actions: Vec<CurateAction>,
    /// The library generation the archiving made, if it archived anything.
    pub generation: Option<i64>,
}

/// Body of `POST /api/curate`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct CurateArg {
    #[serde(default)]
    pub dry_run: bool,
}

/// One skill in the archive.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ArchivedSkill {
    pub name: String,
    pub reason: String,
    pub archived_at: i64,
    pub description: String,
}

/// `GET /api/skills-archive`, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ArchiveList {
    pub skills: Vec<ArchivedSkill>,
}

/// Body of `POST /api/skills/{name}/pin`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct PinArg {
    pub pinned: bool,
}

/// The answer to a pin or unpin: the skill's pin and the library generation (a pin does not
/// change the set of active skills, so it is the one in force).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct PinReply {
    pub name: String,
    pub pinned: bool,
    pub generation: i64,
}

#[cfg(test)]
pub(crate) fn typescript(f: &mut super::ts::File) {
    f.add::<CurateKind>();
    f.add::<CurateAction>();
    f.add::<CurateReport>();
    f.add::<CurateArg>();
    f.add::<ArchivedSkill>();
    f.add::<ArchiveList>();
    f.add::<PinArg>();
    f.add::<PinReply>();
}
