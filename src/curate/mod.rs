//! The curator keeps the skill library lean. Each run (a daily scheduler job, `metaclaw curate`,
//! `POST /api/curate`):
//! - archives skills no turn carried for `[curator] unused_days` that have been active at least
//!   that long (applied: one generation with its reason; restorable). Never pinned skills, never
//!   built-ins (they ship with MetaClaw and can be switched off instead), never skills the user
//!   wrote or imported unless `include_hand_written`;
//! - proposes switching off skills whose verdict is "hurts" (a Review candidate with the numbers);
//! - finds clusters of near-duplicates and asks the evolver for one merged skill (a Review
//!   candidate; approving it writes the merged skill and archives the others in one generation).
//!
//! Proposals always wait for a person (the approval policy does not apply to them). A dry run
//! says what it would do and why, and changes nothing (no evolver call either).

pub mod approve;
pub mod job;
pub mod merge;
pub mod similar;

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use crate::api::types::curate::{CurateAction, CurateKind, CurateReport};
use crate::api::types::stats::{SkillStats, Verdict};
use crate::config::CuratorConfig;
use crate::events::Event;
use crate::evolve::review::{CandidateAction, CandidateStatus};
use crate::evolve::Evolver;
use crate::skills::{render, Entry, LibraryError, Origin};
use crate::store::candidates::NewCandidate;
use crate::store::evolution::NewRun;
use crate::store::{candidates, curate as usage, evolution, StoreError};

pub use job::CurateJob;

/// A day in ms.
const DAY_MS: i64 = 86_400_000;

#[derive(Debug, thiserror::Error)]
pub enum CurateError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Library(#[from] LibraryError),
    #[error("no evolver model is configured ([evolve] model), so near-duplicates can't be merged")]
    NoEvolver,
    #[error("the evolver's budget of {0} calls an hour is spent; merging waits for the next run")]
    Budget(u32),
    #[error("{0}")]
    Evolver(String),
}

/// One run at a time (the scheduler's and the user's).
static RUNNING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The curator, over the evolver's store, library and events.
pub struct Curator {
    pub evolver: Arc<Evolver>,
    pub cfg: CuratorConfig,
}

/// A day as the user reads it (UTC date).
fn date(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).map(|d| d.format("%Y-%m-%d").to_string()).unwrap_or_default()
}

impl Curator {
    pub fn new(evolver: Arc<Evolver>, cfg: CuratorConfig) -> Self {
        Self { evolver, cfg }
    }

    /// The curator may change `e` on its own (archive it, fold it into a merge).
    fn eligible(&self, e: &Entry) -> bool {
        !e.pinned
            && match e.skill.origin {
                Origin::Builtin => false,
                Origin::Evolved => true,
                Origin::User => self.cfg.include_hand_written,
            }
    }

    /// Runs now.
    pub async fn run(&self, dry_run: bool) -> Result<CurateReport, CurateError> {
        self.run_at(crate::clock::now_ms(), dry_run).await
    }

    /// Runs as if it were `now` (ms).
    pub async fn run_at(&self, now: i64, dry_run: bool) -> Result<CurateReport, CurateError> {
        let _one = RUNNING.lock().await;
        let ev = &self.evolver;
        let snap = ev.library.snapshot();
        let (carried, since, stats, open) = ev
            .store
            .read(|c| {
                let stats: HashMap<String, SkillStats> =
                    crate::effect::report::list(c, None)?.into_iter().map(|s| (s.name.clone(), s)).collect();
                Ok((usage::last_carried(c)?, usage::active_since(c)?, stats, curator_candidates(c)?))
            })
            .await?;
        let mut actions = Vec::new();

        // Unused for `unused_days`.
        let window = i64::from(self.cfg.unused_days) * DAY_MS;
        let mut archive = Vec::new();
        for e in snap.entries.iter().filter(|e| self.eligible(e)) {
            let name = &e.skill.name;
            let Some(&active) = since.get(name) else { continue };
            let last =
                carried.get(name).copied().into_iter().chain(stats.get(name).and_then(|s| s.last_injected)).max();
            if now - last.unwrap_or(active).max(active) < window {
                continue;
            }
            let reason = match last {
                Some(l) => format!("no turn carried it for {} days (last on {})", (now - l) / DAY_MS, date(l)),
                None => format!("no turn carried it since it became active on {}", date(active)),
            };
            let evidence = format!(
                "active since {}; last carried: {}; unused_days = {}",
                date(active),
                last.map(date).unwrap_or_else(|| "never".into()),
                self.cfg.unused_days
            );
            archive.push((name.clone(), reason.clone()));
            actions.push(CurateAction {
                kind: CurateKind::Archive,
                skills: vec![name.clone()],
                reason,
                evidence,
                applied: false,
                candidate: None,
            });
        }
        let archived: BTreeSet<&str> = archive.iter().map(|(n, _)| n.as_str()).collect();

        // "Hurts" verdicts.
        let mut disable = Vec::new();
        for e in snap.entries.iter().filter(|e| e.enabled && !e.pinned && !archived.contains(e.skill.name.as_str())) {
            let Some(s) = stats.get(&e.skill.name).filter(|s| s.verdict == Verdict::Hurts) else { continue };
            if open.iter().any(|(a, names)| *a == CandidateAction::Disable && names.contains(&e.skill.name)) {
                continue;
            }
            disable.push(e);
            actions.push(CurateAction {
                kind: CurateKind::Disable,
                skills: vec![e.skill.name.clone()],
                reason: format!("turns that carried {} went worse than comparable turns without it", e.skill.name),
                evidence: s.summary.clone(),
                applied: false,
                candidate: None,
            });
        }

        // Near-duplicates.
        let pool: Vec<&Entry> = snap
            .entries
            .iter()
            .filter(|e| e.enabled && self.eligible(e) && !archived.contains(e.skill.name.as_str()))
            .collect();
        let docs: Vec<Vec<String>> = pool
            .iter()
            .map(|e| {
                snap.terms(&format!("{} {} {}", e.skill.name.replace('-', " "), e.skill.description, e.skill.body))
            })
            .collect();
        let threshold = self.cfg.merge_similarity;
        let clusters = tokio::task::spawn_blocking(move || similar::clusters(&docs, threshold))
            .await
            .map_err(|e| StoreError::Task(e.to_string()))?;
        let mut merges = Vec::new();
        for (members, sim) in clusters {
            let names: BTreeSet<String> = members.iter().map(|&i| pool[i].skill.name.clone()).collect();
            if open.iter().any(|(a, n)| *a == CandidateAction::Merge && *n == names) {
                continue;
            }
            let list = names.iter().cloned().collect::<Vec<_>>().join(", ");
            merges.push(members.iter().map(|&i| pool[i]).collect::<Vec<_>>());
            actions.push(CurateAction {
                kind: CurateKind::Merge,
                skills: names.into_iter().collect(),
                reason: format!("would ask the evolver to merge {list}"),
                evidence: format!("word overlap {:.0}% (merge_similarity = {})", sim * 100.0, threshold),
                applied: false,
                candidate: None,
            });
        }

        let mut generation = None;
        if !dry_run {
            if !archive.is_empty() {
                let why = format!("curator: archived {} unused for {} days", archive.len(), self.cfg.unused_days);
                let g = ev.library.archive(archive, &why).await?;
                generation = Some(g);
                for a in actions.iter_mut().filter(|a| a.kind == CurateKind::Archive) {
                    a.applied = true;
                }
            }
            let mut i = 0;
            for e in disable {
                while actions[i].kind != CurateKind::Disable {
                    i += 1;
                }
                let a = &mut actions[i];
                let cand = NewCandidate {
                    action: CandidateAction::Disable,
                    name: e.skill.name.clone(),
                    description: e.skill.description.clone(),
                    category: e.skill.category().to_string(),
                    rationale: format!("{}. Evidence: {}", a.reason, a.evidence),
                    content: render(&e.skill),
                    previous: Some(render(&e.skill)),
                    ops: None,
                    base_hash: None,
                };
                a.candidate = propose(ev, cand, &[]).await?;
                a.applied = a.candidate.is_some();
                i += 1;
            }
            let mut i = 0;
            for group in merges {
                while actions[i].kind != CurateKind::Merge {
                    i += 1;
                }
                let a = &mut actions[i];
                i += 1;
                let skills: Vec<&crate::skills::Skill> = group.iter().map(|e| &e.skill).collect();
                match merge::ask(ev, &skills).await {
                    Ok((name, content)) => {
                        let first = &group[0].skill;
                        let names: Vec<String> = group.iter().map(|e| e.skill.name.clone()).collect();
                        a.reason = format!(
                            "{} say nearly the same thing; the evolver merged them into {name}",
                            names.join(", ")
                        );
                        let cand = NewCandidate {
                            action: CandidateAction::Merge,
                            name,
                            description: crate::skills::parse(&content, &first.name, "merge", Origin::Evolved)
                                .skill
                                .map(|s| s.description)
                                .unwrap_or_default(),
                            category: first.category().to_string(),
                            rationale: format!("{}. Evidence: {}", a.reason, a.evidence),
                            content,
                            previous: None,
                            ops: None,
                            base_hash: None,
                        };
                        a.candidate = propose(ev, cand, &names).await?;
                        a.applied = a.candidate.is_some();
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "merge not proposed");
                        a.reason = format!("not merged: {e}");
                    }
                }
            }
        }
        ev.events.publish(Event::CurateRan { actions: actions.len(), dry_run });
        Ok(CurateReport { dry_run, actions, generation })
    }
}

/// The curator's open or rejected proposals: (action, the skills they concern), so a run does
/// not propose the same thing again.
fn curator_candidates(c: &rusqlite::Connection) -> Result<Vec<(CandidateAction, BTreeSet<String>)>, StoreError> {
    let mut out = Vec::new();
    for status in [CandidateStatus::Pending, CandidateStatus::Deferred, CandidateStatus::Rejected] {
        for cand in candidates::list(c, Some(status))? {
            match cand.action {
                CandidateAction::Disable => out.push((cand.action, BTreeSet::from([cand.name]))),
                CandidateAction::Merge => {
                    out.push((cand.action, candidates::merges(c, cand.id)?.into_iter().collect()))
                }
                _ => {}
            }
        }
    }
    Ok(out)
}

/// Queues a curator proposal for review (recorded as an evolver run triggered by the curator);
/// `merges`: the skills a merge replaces. `None` when one of that name already waits.
async fn propose(ev: &Evolver, cand: NewCandidate, merges: &[String]) -> Result<Option<i64>, StoreError> {
    let run = NewRun {
        trigger: crate::evolve::Trigger::Curator,
        session: None,
        turns: Vec::new(),
        status: crate::evolve::Outcome::Proposed.as_str(),
        error: None,
        consumes: false,
        evidence: "[]".into(),
    };
    let merges = merges.to_vec();
    let (name, action) = (cand.name.clone(), cand.action);
    let id = ev
        .store
        .write(move |c| {
            let (_, ids) = evolution::record_run(c, &run, &[cand])?;
            if let Some(id) = ids.first() {
                candidates::set_merges(c, *id, &merges)?;
            }
            Ok(ids.first().copied())
        })
        .await?;
    if let Some(id) = id {
        ev.events.publish(Event::CandidateProposed { id, name, action });
    }
    Ok(id)
}
