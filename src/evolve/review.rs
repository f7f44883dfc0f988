//! The review queue: candidates with their evidence and replay verdict; approve (optionally after
//! editing), reject (remembered, so the evolver won't propose it again) or defer. Approving writes
//! the skill and makes a new library generation; the failed turns become the candidate's support.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::ops::{self, EditOp};
use super::screen;
pub use super::screen::{Flag, FlagKind};
pub use super::validate::{ValidationSummary, ValidationTurn};
use super::{EvolveError, Evolver};
use crate::config::Approval;
use crate::events::Event;
use crate::skills::{parse, render, Origin};
use crate::store::candidates;
use crate::store::{Store, StoreError};

/// One proposed skill awaiting (or past) review.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct Candidate {
    pub id: i64,
    pub run_id: i64,
    pub created_at: i64,
    pub status: CandidateStatus,
    pub action: CandidateAction,
    pub name: String,
    pub description: String,
    pub category: String,
    pub rationale: String,
    /// The proposed SKILL.md.
    pub content: String,
    /// For edits: the SKILL.md it replaces.
    pub previous: Option<String>,
    /// The failed turns it comes from.
    #[cfg_attr(test, ts(as = "Vec<crate::evolve::Failure>"))]
    pub evidence: Value,
    /// The verification replay: `{improved, score, answer, reason}`.
    #[cfg_attr(test, ts(as = "Option<crate::api::types::learning::Replay>"))]
    pub replay: Option<Value>,
    pub decided_at: Option<i64>,
    pub decided_by: Option<String>,
    pub reason: Option<String>,
    /// The library generation its approval made.
    pub generation: Option<i64>,
    /// The turns it was learned from (its support set).
    pub support: Vec<i64>,
    /// The agents that sent its support turns.
    #[serde(default)]
    pub agents: Vec<crate::agent::AgentId>,
    /// Risks the screen found (kind and matched text), from its content and the user's own words
    /// in its evidence; a flagged candidate is never approved by the policy, only by a person.
    #[serde(default)]
    pub flags: Vec<Flag>,
    /// For merges: the skills the merged one replaces (archived on approval).
    #[serde(default)]
    pub merges: Vec<String>,
    /// For edits: the operations on the current SKILL.md body that `content` applies (a delta).
    #[serde(default)]
    pub ops: Option<Vec<EditOp>>,
    /// Its validation set: the judge's verdicts with and without it on the turns it was learned
    /// from and on earlier turns it would have matched.
    #[serde(default)]
    pub validation: Option<ValidationSummary>,
    /// For edits: the share (0..1) of the old body's lines the edit removes.
    #[serde(default)]
    pub removed_share: Option<f32>,
    /// For edits: the hash of the SKILL.md the operations apply to.
    #[serde(skip)]
    pub base_hash: Option<String>,
}

/// Where a candidate stands in review (stored in `candidates.status` as the same words).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum CandidateStatus {
    /// Waiting for the user (or the approval policy).
    Pending,
    Approved,
    /// Rejected: remembered, so the evolver won't propose it again.
    Rejected,
    /// Put off: still decidable later.
    Deferred,
    /// Its edit no longer applies: the skill changed since and an anchor line is gone. Not
    /// forced; its failed turns go back to the evolver, which proposes again on the current text.
    Stale,
}

impl CandidateStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
            Self::Deferred => "deferred",
            Self::Stale => "stale",
        }
    }

    /// Still waiting for a decision (pending or deferred).
    pub fn is_open(self) -> bool {
        matches!(self, Self::Pending | Self::Deferred)
    }
}

/// What a candidate does to the library: a new skill, or a new text for an existing one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum CandidateAction {
    Create,
    Edit,
    /// The curator proposes switching the skill off (its turns went worse with it).
    Disable,
    /// The curator proposes one skill in place of near-duplicates (`merges`).
    Merge,
}

impl CandidateAction {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Edit => "edit",
            Self::Disable => "disable",
            Self::Merge => "merge",
        }
    }
}

crate::turn::text_enum! {
    CandidateStatus: Pending, Approved, Rejected, Deferred, Stale;
    CandidateAction: Create, Edit, Disable, Merge;
}

/// What the user wrote in the turns a candidate was learned from: their requests and next
/// messages (URLs and blobs there are theirs, not the evolver's).
fn user_words(evidence: &Value) -> String {
    let mut out = String::new();
    for f in evidence.as_array().into_iter().flatten() {
        for key in ["request", "next_message"] {
            if let Some(t) = f[key].as_str() {
                out.push_str(t);
                out.push('\n');
            }
        }
    }
    out
}

/// A candidate's risk flags: its SKILL.md screened against what the user wrote.
pub fn candidate_flags(content: &str, evidence: &Value) -> Vec<Flag> {
    screen::flags(content, &user_words(evidence))
}

/// Fills in what the store does not hold: the risk flags, the support turns, and the user's
/// verdict on an evidence turn, even one given after the proposal, which replaces the judge's
/// reason.
fn complete(c: &rusqlite::Connection, mut cand: Candidate) -> Result<Candidate, StoreError> {
    cand.flags = candidate_flags(&cand.content, &cand.evidence);
    if let (Some(ops), Some(previous)) = (&cand.ops, &cand.previous) {
        let body = body_of(previous);
        if let Ok(applied) = ops::apply(&body, ops) {
            let share = ops::removed_share(&body, applied.removed);
            cand.removed_share = Some(share);
            if share > 0.5 {
                cand.flags.push(Flag {
                    kind: FlagKind::RemovesMostOfSkill,
                    excerpt: format!(
                        "removes {} of {} lines ({:.0}%)",
                        applied.removed,
                        non_blank(&body),
                        share * 100.0
                    ),
                });
            }
        }
    }
    cand.validation = candidates::validation(c, cand.id)?;
    cand.support = candidates::support(c, cand.id)?;
    cand.merges = candidates::merges(c, cand.id)?;
    cand.agents = crate::store::turns::agents_of(c, &cand.support)?;
    for f in cand.evidence.as_array_mut().into_iter().flatten() {
        let Some(turn) = f["turn_id"].as_i64() else { continue };
        if let Some(note) = crate::store::judge::user_note(c, turn)? {
            f["reason"] = note.map_or(Value::Null, Value::String);
            f["source"] = json!("user");
        }
    }
    Ok(cand)
}

/// The body (instructions) of a SKILL.md text, as the operations of an edit see it.
pub(crate) fn body_of(text: &str) -> String {
    match parse(text, front_matter_name(text).as_deref().unwrap_or("skill"), "skill", Origin::Evolved).skill {
        Ok(s) => s.body,
        Err(_) => text.to_string(),
    }
}

fn non_blank(text: &str) -> usize {
    text.lines().filter(|l| !l.trim().is_empty()).count()
}

pub async fn get(store: &Store, id: i64) -> Result<Option<Candidate>, StoreError> {
    store.read(move |c| candidates::get(c, id)?.map(|cand| complete(c, cand)).transpose()).await
}

pub async fn list(store: &Store, status: Option<CandidateStatus>) -> Result<Vec<Candidate>, StoreError> {
    store.read(move |c| candidates::list(c, status)?.into_iter().map(|cand| complete(c, cand)).collect()).await
}

/// Validates the candidate (its failed turns and earlier turns it would have matched, each
/// replayed with it and compared by the judge), then applies the approval policy: `verified`
/// approves only with no losses and at least one win on a fully judged set.
pub async fn verify_and_apply_policy(ev: &Evolver, id: i64) -> Result<(), EvolveError> {
    let cand = get(&ev.store, id).await?.ok_or_else(|| EvolveError::NotFound(format!("no candidate {id}")))?;
    let mut validation = None;
    if let Some(judge_model) = ev.judge.model.clone().filter(|_| !cand.support.is_empty()) {
        match super::validate::validate(ev, &cand, &judge_model).await {
            Ok(v) => validation = Some(v),
            Err(e) => tracing::warn!(candidate = id, error = %e, "candidate not validated"),
        }
    }
    let approve = match ev.cfg.approval {
        _ if !cand.flags.is_empty() => {
            tracing::warn!(candidate = id, flags = ?cand.flags, "flagged candidate left for review");
            false
        }
        Approval::Auto => true,
        Approval::Verified => validation.as_ref().is_some_and(ValidationSummary::verified),
        Approval::Manual => false,
    };
    if approve {
        let by = if ev.cfg.approval == Approval::Auto { "policy: auto" } else { "policy: verified" };
        approve_candidate(ev, id, None, false, by).await?;
    }
    Ok(())
}

/// An edit's text for approval: its own when the skill is as it was; else its operations applied
/// to the skill's current text, or `Err(why)` when an anchor line is gone (or the skill is).
fn rebase(ev: &Evolver, cand: &Candidate) -> Result<Option<String>, String> {
    let (Some(ops), Some(base)) = (&cand.ops, &cand.base_hash) else { return Ok(None) };
    let snap = ev.library.snapshot();
    let Some(entry) = snap.get(&cand.name) else {
        return Err(format!("the skill {} is gone since this edit was proposed", cand.name));
    };
    let current = render(&entry.skill);
    if ops::text_hash(&current) == *base {
        return Ok(None);
    }
    let applied = ops::apply(&entry.skill.body, ops).map_err(|e| {
        format!("the skill {} changed since this edit was proposed and the edit no longer applies: {e}", cand.name)
    })?;
    let mine = parse(&cand.content, &cand.name, "candidate", Origin::Evolved)
        .skill
        .map_err(|p| format!("the candidate is not a valid skill: {}", p.reason))?;
    let skill = crate::skills::Skill::new(
        mine.name,
        mine.description,
        applied.text,
        mine.license,
        mine.compatibility,
        mine.allowed_tools,
        mine.metadata,
        Origin::Evolved,
    )
    .with_agents(mine.agents);
    Ok(Some(render(&skill)))
}

/// Marks a candidate whose edit no longer applies stale and gives its failed turns back to the
/// evolver, which proposes again against the current text.
async fn supersede(ev: &Evolver, cand: &Candidate, why: String) -> Result<(), EvolveError> {
    let (id, support) = (cand.id, cand.support.clone());
    let reason = format!("{why}; its failed turns go back to the evolver to propose again on the current text");
    ev.store
        .write(move |c| {
            candidates::mark_stale(c, id, &reason)?;
            crate::store::evolution::release_turns(c, &support)
        })
        .await?;
    ev.events.publish(Event::CandidateDecided { id, status: CandidateStatus::Stale });
    Ok(())
}

/// Approves a pending or deferred candidate, optionally with the user's edited SKILL.md; `shared`
/// widens it to every agent, otherwise it keeps the scope its `agents:` line gives.
pub async fn approve_candidate(
    ev: &Evolver,
    id: i64,
    edited: Option<String>,
    shared: bool,
    by: &str,
) -> Result<i64, EvolveError> {
    let cand = get(&ev.store, id).await?.ok_or_else(|| EvolveError::NotFound(format!("no candidate {id}")))?;
    if !cand.status.is_open() {
        return Err(EvolveError::Conflict(format!("candidate {id} is already {}", cand.status)));
    }
    // The curator's proposals (see crate::curate::approve).
    match cand.action {
        CandidateAction::Disable => return crate::curate::approve::disable(ev, &cand, by).await,
        CandidateAction::Merge => return crate::curate::approve::merge(ev, &cand, edited, by).await,
        CandidateAction::Create | CandidateAction::Edit => {}
    }
    // An edit of a skill that changed since is applied to the current text, or not at all.
    let text = match edited {
        Some(t) => t,
        None => match rebase(ev, &cand) {
            Ok(rebased) => rebased.unwrap_or(cand.content.clone()),
            Err(why) => {
                supersede(ev, &cand, why.clone()).await?;
                return Err(EvolveError::Conflict(format!("candidate {id} is stale: {why}")));
            }
        },
    };
    // An edit may rename the skill: its front matter's name is the folder it goes into.
    let name = front_matter_name(&text).filter(|n| *n != cand.name).unwrap_or_else(|| cand.name.clone());
    if name != cand.name {
        if !crate::skills::valid_name(&name) {
            return Err(crate::skills::LibraryError::Invalid(vec![crate::skills::Problem {
                file: format!("candidate {id}"),
                line: None,
                reason: format!("the new name {name:?} is not 1-64 lowercase letters, digits and single hyphens"),
            }])
            .into());
        }
        if ev.library.snapshot().get(&name).is_some() {
            return Err(EvolveError::Conflict(format!(
                "a skill named {name:?} already exists: pick another name, or edit that skill"
            )));
        }
    }
    let mut skill = parse(&text, &name, &format!("candidate {id}"), Origin::Evolved)
        .skill
        .map_err(|p| crate::skills::LibraryError::Invalid(vec![p]))?;
    // Provenance lives with the skill.
    let next = ev.library.snapshot().generation + 1;
    skill.metadata.insert("origin".into(), "evolved".into());
    skill.metadata.insert("candidate".into(), id.to_string());
    skill.metadata.insert("generation".into(), next.to_string());
    let agents = if shared { Vec::new() } else { std::mem::take(&mut skill.agents) };
    let skill = crate::skills::Skill::new(
        skill.name,
        skill.description,
        skill.body,
        skill.license,
        skill.compatibility,
        skill.allowed_tools,
        skill.metadata,
        Origin::Evolved,
    )
    .with_agents(agents);
    let generation =
        ev.library.write(&name, &render(&skill), &format!("approved candidate #{id} ({name}) by {by}")).await?;
    let by = by.to_string();
    // A renamed candidate keeps its id, so its support turns and evidence stay linked.
    let renamed = (name != cand.name).then(|| format!("renamed from {} on approval", cand.name));
    ev.store.write(move |c| candidates::approve(c, id, &by, generation, &name, renamed.as_deref())).await?;
    ev.events.publish(Event::CandidateDecided { id, status: CandidateStatus::Approved });
    Ok(generation)
}

/// The `name:` in a SKILL.md's front matter, if it has one.
fn front_matter_name(text: &str) -> Option<String> {
    let mut lines = text.lines();
    if lines.next()?.trim_end() != "---" {
        return None;
    }
    lines.take_while(|l| l.trim_end() != "---").find_map(|l| {
        let v = l.strip_prefix("name:")?.trim().trim_matches(|c| c == '"' || c == '\'');
        (!v.is_empty()).then(|| v.to_string())
    })
}

/// Rejects (remembered, with the reason) or defers a candidate.
pub async fn decide(ev: &Evolver, id: i64, status: CandidateStatus, reason: Option<String>) -> Result<(), EvolveError> {
    let cand = get(&ev.store, id).await?.ok_or_else(|| EvolveError::NotFound(format!("no candidate {id}")))?;
    if !cand.status.is_open() {
        return Err(EvolveError::Conflict(format!("candidate {id} is already {}", cand.status)));
    }
    ev.store.write(move |c| candidates::decide(c, id, status, reason.as_deref())).await?;
    ev.events.publish(Event::CandidateDecided { id, status });
    Ok(())
}
