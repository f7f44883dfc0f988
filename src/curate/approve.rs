//! Approving the curator's proposals: a Disable switches the skill off, a Merge writes the merged
//! skill and archives the skills it replaces; each is one generation whose reason names the
//! candidate.

use crate::events::Event;
use crate::evolve::review::{Candidate, CandidateStatus};
use crate::evolve::{EvolveError, Evolver};
use crate::skills::{parse, render, Curation, Origin};
use crate::store::candidates;

/// Switches the skill off as a generation; returns it.
pub async fn disable(ev: &Evolver, cand: &Candidate, by: &str) -> Result<i64, EvolveError> {
    let (id, name) = (cand.id, cand.name.clone());
    let reason = format!("approved candidate #{id}: disabled {name} (its turns went worse with it) by {by}");
    let generation = ev.library.disable(&name, &reason).await?;
    finish(ev, id, by, generation, name).await
}

/// Writes the merged skill (the user's edit of it, if any) and archives the skills it
/// replaces, in one generation; returns it.
pub async fn merge(ev: &Evolver, cand: &Candidate, edited: Option<String>, by: &str) -> Result<i64, EvolveError> {
    let id = cand.id;
    let text = edited.unwrap_or_else(|| cand.content.clone());
    let mut skill = parse(&text, &cand.name, &format!("candidate {id}"), Origin::Evolved)
        .skill
        .map_err(|p| crate::skills::LibraryError::Invalid(vec![p]))?;
    let name = skill.name.clone();
    if ev.library.snapshot().get(&name).is_some() && !cand.merges.contains(&name) {
        return Err(EvolveError::Conflict(format!(
            "a skill named {name:?} exists and is not one of the merged skills: pick another name"
        )));
    }
    skill.metadata.insert("origin".into(), "evolved".into());
    skill.metadata.insert("candidate".into(), id.to_string());
    let skill = crate::skills::Skill::new(
        skill.name,
        skill.description,
        skill.body,
        skill.license,
        skill.compatibility,
        skill.allowed_tools,
        skill.metadata,
        Origin::Evolved,
    );
    let snap = ev.library.snapshot();
    let archive: Vec<(String, String)> = cand
        .merges
        .iter()
        .filter(|m| snap.get(m).is_some())
        .map(|m| (m.clone(), format!("merged into {name} (candidate #{id})")))
        .collect();
    let reason = format!("approved candidate #{id}: merged {} into {name} by {by}", cand.merges.join(", "));
    let generation =
        ev.library.curate(Curation { archive, write: Some((name.clone(), render(&skill))) }, &reason).await?;
    finish(ev, id, by, generation, name).await
}

async fn finish(ev: &Evolver, id: i64, by: &str, generation: i64, name: String) -> Result<i64, EvolveError> {
    let by = by.to_string();
    ev.store.write(move |c| candidates::approve(c, id, &by, generation, &name, None)).await?;
    ev.events.publish(Event::CandidateDecided { id, status: CandidateStatus::Approved });
    Ok(generation)
}
