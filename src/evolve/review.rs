//! The review queue: candidates with their evidence and replay verdict; approve (optionally after
//! editing), reject (remembered, so the evolver won't propose it again) or defer. Approving writes
//! the skill and makes a new library generation; the failed turns become the candidate's support.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::screen;
pub use super::screen::{Flag, FlagKind};
use super::{recorded, EvolveError, Evolver};
use crate::config::Approval;
use crate::events::Event;
use crate::judge::{majority, parse_vote};
use crate::skills::{inject, parse, render, Origin, Placement};
use crate::store::candidates;
use crate::store::{Store, StoreError};
use crate::upstream::complete as llm;

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
}

impl CandidateStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
            Self::Deferred => "deferred",
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
}

impl CandidateAction {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Edit => "edit",
        }
    }
}

crate::turn::text_enum! {
    CandidateStatus: Pending, Approved, Rejected, Deferred;
    CandidateAction: Create, Edit;
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
    cand.support = candidates::support(c, cand.id)?;
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

pub async fn get(store: &Store, id: i64) -> Result<Option<Candidate>, StoreError> {
    store.read(move |c| candidates::get(c, id)?.map(|cand| complete(c, cand)).transpose()).await
}

pub async fn list(store: &Store, status: Option<CandidateStatus>) -> Result<Vec<Candidate>, StoreError> {
    store.read(move |c| candidates::list(c, status)?.into_iter().map(|cand| complete(c, cand)).collect()).await
}

const COMPARE: &str = "You compare two answers an AI assistant gave to the same request: the one that failed, and one \
written with a proposed new instruction. Judge whether the new answer fixes what went wrong (the user's next message, \
when shown, says what that was). Reply with one or two sentences, then a last line `Score: 1` if the new answer is \
better, `Score: 0` if it is no better, or `Score: -1` if it is worse.";

/// Replays the first failed turn with the candidate injected, has the judge compare the answers,
/// stores the verdict, then applies the approval policy.
pub async fn verify_and_apply_policy(ev: &Evolver, id: i64) -> Result<(), EvolveError> {
    let cand = get(&ev.store, id).await?.ok_or_else(|| EvolveError::NotFound(format!("no candidate {id}")))?;
    let mut improved = None;
    if let (Some(judge_model), Some(turn)) = (ev.judge.model.clone(), cand.support.first().copied()) {
        if ev.take_budget(2) {
            match replay(ev, &cand, turn, &judge_model).await {
                Ok(verdict) => {
                    improved = verdict["improved"].as_bool();
                    let v = verdict.to_string();
                    ev.store.write(move |c| candidates::set_replay(c, id, &v)).await?;
                    ev.events.publish(Event::CandidateVerified { id, improved: improved.unwrap_or(false) });
                }
                Err(e) => tracing::warn!(candidate = id, error = %e, "replay failed"),
            }
        }
    }
    let approve = match ev.cfg.approval {
        _ if !cand.flags.is_empty() => {
            tracing::warn!(candidate = id, flags = ?cand.flags, "flagged candidate left for review");
            false
        }
        Approval::Auto => true,
        Approval::Verified => improved == Some(true),
        Approval::Manual => false,
    };
    if approve {
        let by = if ev.cfg.approval == Approval::Auto { "policy: auto" } else { "policy: verified" };
        approve_candidate(ev, id, None, false, by).await?;
    }
    Ok(())
}

async fn replay(ev: &Evolver, cand: &Candidate, turn: i64, judge_model: &str) -> Result<Value, EvolveError> {
    let (mut body, old_answer, upstream, _) =
        recorded(&ev.store, turn).await?.ok_or_else(|| EvolveError::NotFound(format!("turn {turn} is gone")))?;
    let skill = parse(&cand.content, &cand.name, "candidate", Origin::Evolved)
        .skill
        .map_err(|p| EvolveError::Conflict(p.reason))?;
    if let Value::Object(m) = &mut body {
        inject(m, &crate::skills::render_block(&[&skill]), Placement::System);
    }
    let up = ev.upstream(Some(&upstream)).or_else(|| ev.upstream(None)).ok_or(EvolveError::Off)?;
    let request = body.as_object().cloned().unwrap_or_default();
    let new_answer = llm::complete(&ev.client, &up, request.clone(), Duration::from_secs(ev.cfg.timeout_secs)).await?;
    let user = request
        .get("messages")
        .and_then(Value::as_array)
        .and_then(|m| m.iter().rev().find(|m| m["role"] == "user"))
        .map(|m| crate::transcript::user_text(m.get("content")))
        .unwrap_or_default();
    let next = cand
        .evidence
        .as_array()
        .and_then(|e| e.iter().find(|f| f["turn_id"] == turn))
        .and_then(|f| f["next_message"].as_str())
        .unwrap_or("(none)")
        .to_string();
    let prompt = crate::secrets::redact(&format!(
        "## The user's request\n{user}\n\n## The answer that failed\n{old_answer}\n\n## The answer with the proposed skill\n{new_answer}\n\n## The user's next message after the failed answer\n{next}"
    ));
    let judge_up = ev.upstream(ev.judge.upstream.as_deref()).unwrap_or(up);
    let text = llm::complete(
        &ev.client,
        &judge_up,
        llm::request(judge_model, COMPARE, &prompt, 0.0, ev.judge.max_tokens),
        Duration::from_secs(ev.judge.timeout_secs),
    )
    .await?;
    let score = majority(&[parse_vote(&text)]);
    let reason = text.rsplit_once("Score:").map(|(r, _)| r).unwrap_or(&text).trim().to_string();
    Ok(json!({"turn_id": turn, "improved": score > 0, "score": score, "answer": new_answer, "reason": reason}))
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
    let text = edited.unwrap_or(cand.content.clone());
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
