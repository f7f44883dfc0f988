//! Client methods of the curator: run it, the archive, pins.

use super::{Client, ClientError};
use crate::api::types::curate::{ArchiveList, CurateArg, CurateReport, PinArg, PinReply};
use crate::api::types::skills::GenerationReply;

/// A skill's name as one path segment.
fn segment(name: &str) -> String {
    let mut url = reqwest::Url::parse("http://x/").expect("a valid URL");
    if let Ok(mut p) = url.path_segments_mut() {
        p.push(name);
    }
    url.path().trim_start_matches('/').to_string()
}

impl Client {
    /// `POST /api/skills/{name}/pin`: pins (`true`) or unpins a skill.
    pub async fn pin_skill(&self, name: &str, pinned: bool) -> Result<PinReply, ClientError> {
        self.post(&format!("/api/skills/{}/pin", segment(name)), &PinArg { pinned }).await
    }

    /// `GET /api/skills-archive`.
    pub async fn skills_archive(&self) -> Result<ArchiveList, ClientError> {
        self.get("/api/skills-archive").await
    }

    /// `POST /api/skills/{name}/unarchive`: back from the archive, as a new generation.
    pub async fn unarchive_skill(&self, name: &str) -> Result<GenerationReply, ClientError> {
        self.post_empty(&format!("/api/skills/{}/unarchive", segment(name))).await
    }

    /// `POST /api/curate`: runs the curator now (`dry_run`: only says what it would do).
    pub async fn curate(&self, arg: &CurateArg) -> Result<CurateReport, ClientError> {
        self.post("/api/curate", arg).await
    }
}
