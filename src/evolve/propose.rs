//! One evolution run: a session's unconsumed failures and the skills closest to them go to the
//! evolver; its proposals are resolved against the library, screened, recorded with the run and
//! queued for review (each verified by a replay), scoped to the agents that failed.

use std::time::Duration;

use serde_json::json;

use super::run::{Outcome, RunReport, Trigger};
use super::{delta, prompt, review, screen, EvolveError, Evolver, Failure, Proposal};
use crate::agent::AgentId;
use crate::events::Event;
use crate::store::candidates::{self, NewCandidate};
use crate::store::evolution::{self, NewRun};
use crate::store::StoreError;
use crate::transcript::last_user_text;
use crate::upstream::complete as llm;

/// Existing skills shown to the evolver with their whole text (the closest ones).
const BODIES_SHOWN: usize = 3;

impl Evolver {
    /// The failed, not yet consumed turns of a session (or of all sessions), newest six.
    /// Also returns the agents that sent them.
    async fn failures(&self, session: Option<&str>) -> Result<(Vec<Failure>, Vec<AgentId>), StoreError> {
        let session = session.map(str::to_string);
        let failed = self.store.read(move |c| evolution::failures(c, session.as_deref())).await?;
        let agents = failed.iter().map(|f| f.agent.clone()).collect();
        let failures = failed
            .into_iter()
            .map(|f| Failure {
                turn_id: f.turn_id,
                request: last_user_text(&f.messages).unwrap_or_default(),
                answer: f.answer,
                reason: f.reason,
                next_message: f.next_messages.as_deref().and_then(last_user_text),
                source: if f.by_user { crate::turn::ScoreSource::User } else { crate::turn::ScoreSource::Judge },
            })
            .collect();
        Ok((failures, agents))
    }

    async fn rejected(&self) -> Result<Vec<(String, String)>, StoreError> {
        self.store.read(candidates::rejected).await
    }

    /// The existing skills closest to the failures (their requests, the user's reactions and
    /// the reasons), at most `[evolve] prompt_skills`, best first: the evolver sees what it might
    /// edit without the whole library; the closest [`BODIES_SHOWN`] with their current text,
    /// which its edit operations anchor on.
    fn closest_skills(&self, snap: &crate::skills::Snapshot, failures: &[Failure]) -> Vec<prompt::Shown> {
        let k = self.cfg.prompt_skills;
        if k == 0 {
            return Vec::new();
        }
        let query: String = failures
            .iter()
            .flat_map(|f| [Some(f.request.as_str()), f.next_message.as_deref(), f.reason.as_deref()])
            .flatten()
            .collect::<Vec<_>>()
            .join("\n");
        let mut cfg = self.library.config().clone();
        cfg.top_k = k;
        cfg.min_score = 0.0;
        cfg.max_tokens = 1_000_000;
        let mut ranked = snap.explain(&query, &cfg, None).candidates;
        ranked.sort_by(|a, b| b.score.total_cmp(&a.score));
        ranked
            .into_iter()
            .filter(|c| c.score > 0.0)
            .filter_map(|c| snap.get(&c.name))
            .take(k)
            .enumerate()
            .map(|(i, e)| prompt::Shown {
                name: e.skill.name.clone(),
                description: e.skill.description.clone(),
                body: (i < BODIES_SHOWN).then(|| e.skill.body.clone()),
            })
            .collect()
    }

    /// Asks the evolver about a session's (or all) unconsumed failures and queues its screened
    /// proposals for review. Every run that calls the evolver is recorded in `evolve_runs` with
    /// its outcome and reason; only a run the evolver answered consumes its failures.
    pub async fn evolve(&self, session: Option<&str>, trigger: Trigger) -> Result<RunReport, EvolveError> {
        let model = self.cfg.model.clone().ok_or(EvolveError::Off)?;
        let automatic = session.filter(|_| trigger != Trigger::OnDemand).map(str::to_string);
        let _one = self.running.lock().await;
        let (failures, agents) = self.failures(session).await?;
        if failures.is_empty() {
            return Ok(RunReport {
                run_id: None,
                failures: 0,
                proposed: vec![],
                dropped: vec![],
                error: None,
                outcome: None,
            });
        }
        if !self.budget.take(1) {
            return Err(EvolveError::Budget(self.cfg.max_calls_per_hour));
        }
        let up = self.upstream(self.cfg.upstream.as_deref()).ok_or(EvolveError::Off)?;
        let snap = self.library.snapshot();
        let skills = self.closest_skills(&snap, &failures);
        let rejected = self.rejected().await?;
        let system = prompt::SYSTEM.replace("MAX", &self.cfg.max_candidates.to_string());
        let req = llm::with_format(
            llm::request(
                &model,
                &system,
                &prompt::user_prompt(&failures, &skills, &rejected),
                0.3,
                self.cfg.max_tokens,
            ),
            json!({"type": "json_object"}),
        );
        let timeout = Duration::from_secs(self.cfg.timeout_secs);
        // Malformed output gets one more try; a call that fails or times out ends the run.
        let mut parsed: Result<Vec<Proposal>, (Outcome, String)> = Err((Outcome::Malformed, String::new()));
        let mut call_error = None;
        for attempt in 0..2 {
            if attempt == 1 && !self.budget.take(1) {
                break;
            }
            match llm::complete(&self.client, &up, req.clone(), timeout).await {
                Ok(text) => {
                    parsed = prompt::parse(&text).map_err(|e| (Outcome::Malformed, e));
                    match &parsed {
                        Ok(_) => break,
                        Err((_, e)) => tracing::warn!(error = %e, attempt, "evolver answer not usable"),
                    }
                }
                Err(e) => {
                    let outcome = if e.is_timeout() { Outcome::TimedOut } else { Outcome::Failed };
                    parsed = Err((outcome, format!("the evolver failed: {e}")));
                    call_error = Some(e);
                    break;
                }
            }
        }
        let turn_ids: Vec<i64> = failures.iter().map(|f| f.turn_id).collect();
        let mut report = RunReport {
            run_id: None,
            failures: failures.len(),
            proposed: vec![],
            dropped: vec![],
            error: None,
            outcome: None,
        };
        let mut keep = Vec::new();
        let outcome = match parsed {
            Ok(proposals) => {
                let none = proposals.is_empty();
                for p in proposals.into_iter().take(self.cfg.max_candidates) {
                    let name = p.name.clone();
                    let kept = delta::resolve(p, &snap).and_then(|(p, delta)| {
                        match screen::screen(&p, &snap, &rejected, self.cfg.similarity_threshold) {
                            screen::Verdict::Keep { action, skill, previous } => {
                                let delta = delta::of_kept(action, &skill, &snap, delta)?;
                                Ok((p, action, skill, previous, delta))
                            }
                            screen::Verdict::Drop(why) => Err(why),
                        }
                    });
                    match kept {
                        Ok(k) => keep.push(k),
                        Err(why) => report.dropped.push(format!("{name}: {why}")),
                    }
                }
                if none {
                    Outcome::Nothing
                } else if keep.is_empty() {
                    Outcome::ScreenedOut
                } else {
                    Outcome::Proposed
                }
            }
            Err((outcome, e)) => {
                report.error = Some(e);
                outcome
            }
        };
        report.outcome = Some(outcome);
        let dropped = &report.dropped;
        let run = NewRun {
            trigger,
            session: session.map(str::to_string),
            turns: turn_ids,
            status: outcome.as_str(),
            error: report
                .error
                .clone()
                .or_else(|| (!dropped.is_empty()).then(|| format!("dropped: {}", dropped.join("; ")))),
            consumes: outcome.consumes(),
            evidence: serde_json::to_string(&failures).expect("json"),
        };
        let proposed: Vec<NewCandidate> = keep
            .iter()
            .map(|(p, action, skill, previous, delta)| NewCandidate {
                action: *action,
                name: skill.name.clone(),
                description: skill.description.clone(),
                category: skill.category().to_string(),
                rationale: p.rationale.clone(),
                content: crate::skills::render(&scoped(skill, *action, &snap, &agents)),
                previous: previous.clone(),
                ops: delta.as_ref().map(|d| serde_json::to_string(&d.ops).expect("json")),
                base_hash: delta.as_ref().map(|d| d.base_hash.clone()),
            })
            .collect();
        let (run_id, ids) = self.store.write(move |c| evolution::record_run(c, &run, &proposed)).await?;
        report.run_id = Some(run_id);
        let retry_at_ms = automatic.as_ref().and_then(|session| self.note_run(session, report.error.as_deref()));
        self.events.publish(Event::EvolverRan {
            run_id,
            outcome: report.outcome,
            error: report.error.as_deref().map(crate::health::plain),
            retry_at_ms,
        });
        if let Some(e) = call_error {
            return Err(EvolveError::Llm(e));
        }
        report.proposed = ids.clone();
        for id in ids {
            if let Some(c) = review::get(&self.store, id).await? {
                self.events.publish(Event::CandidateProposed { id, name: c.name.clone(), action: c.action });
            }
            if let Err(e) = review::verify_and_apply_policy(self, id).await {
                tracing::warn!(candidate = id, error = %e, "candidate not verified");
            }
        }
        Ok(report)
    }
}

/// An evolved skill's scope: an edit keeps the edited skill's; a new skill is for the one agent
/// whose failures produced it, shared when they came from several agents or an unknown one.
fn scoped(
    skill: &crate::skills::Skill,
    action: review::CandidateAction,
    snap: &crate::skills::Snapshot,
    agents: &[AgentId],
) -> crate::skills::Skill {
    let scope = match snap.get(&skill.name) {
        Some(e) if action == review::CandidateAction::Edit => e.skill.agents.clone(),
        _ => crate::agent::scope_of(agents),
    };
    skill.clone().with_agents(scope)
}
