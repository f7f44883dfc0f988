//! Validation before promotion: a candidate is replayed not on one failed turn but on a small
//! set — every failed turn it was learned from, plus up to `[evolve] validation_turns` earlier
//! turns of the same agent that it would have matched (ranked as the proxy ranks skills) and that
//! taught no candidate. The judge compares the recorded answer with the new one on each:
//! win, tie or loss (error when a call failed). Each replay and comparison takes two calls from
//! the evolver's hourly budget; when the budget runs out the rest stay unjudged and the
//! candidate waits for the user.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::review::Candidate;
use super::{recorded, EvolveError, Evolver};
use crate::events::Event;
use crate::judge::{majority, parse_vote};
use crate::skills::{inject, parse, Origin, Placement, Snapshot};
use crate::store::candidates::{self, NewValidation};
use crate::store::read::TurnFilter;
use crate::transcript::last_user_text;
use crate::turn::TurnType;
use crate::upstream::complete as llm;

/// Earlier turns looked at per agent when looking for ones the candidate would have matched.
const SCAN: u32 = 200;

/// Why a turn is in a candidate's validation set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum ValidationRole {
    /// A failed turn the candidate was learned from.
    Failure,
    /// An earlier turn of the same agent that it would have matched.
    Earlier,
}

impl ValidationRole {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Failure => "failure",
            Self::Earlier => "earlier",
        }
    }
}

/// The judge's verdict on one turn of a validation set: the answer with the candidate against
/// the recorded one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum ValidationVerdict {
    Win,
    Tie,
    Loss,
    /// A replay or comparison call failed.
    Error,
}

impl ValidationVerdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Win => "win",
            Self::Tie => "tie",
            Self::Loss => "loss",
            Self::Error => "error",
        }
    }

    /// The verdict of a comparison score: better, as good, or worse.
    pub fn of_score(score: i64) -> Self {
        match score {
            s if s > 0 => Self::Win,
            0 => Self::Tie,
            _ => Self::Loss,
        }
    }
}

crate::turn::text_enum! {
    ValidationRole: Failure, Earlier;
    ValidationVerdict: Win, Tie, Loss, Error;
}

/// One turn of a candidate's validation set and the judge's verdict on it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ValidationTurn {
    pub turn_id: i64,
    pub role: ValidationRole,
    pub verdict: ValidationVerdict,
    pub reason: Option<String>,
}

/// A candidate's validation set: its verdicts, counted.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ValidationSummary {
    pub wins: u32,
    pub ties: u32,
    pub losses: u32,
    pub errors: u32,
    /// Turns of the set left unjudged (the hourly budget ran out).
    #[serde(default)]
    pub unjudged: u32,
    /// Why the set is incomplete, in plain words.
    #[serde(default)]
    pub note: Option<String>,
    /// False while turns of the set are still being replayed and judged (the counts can still
    /// grow); true once every turn has its verdict or the rest were left unjudged.
    #[serde(default)]
    pub complete: bool,
    pub turns: Vec<ValidationTurn>,
}

impl ValidationSummary {
    /// Counts stored verdicts.
    pub fn of(turns: Vec<ValidationTurn>) -> Self {
        let mut s = Self::default();
        for t in &turns {
            match t.verdict {
                ValidationVerdict::Win => s.wins += 1,
                ValidationVerdict::Tie => s.ties += 1,
                ValidationVerdict::Loss => s.losses += 1,
                ValidationVerdict::Error => s.errors += 1,
            }
        }
        s.turns = turns;
        s
    }

    /// What `approval = "verified"` asks: no losses, at least one win, and every turn of the set
    /// judged (no errors, nothing left over).
    pub fn verified(&self) -> bool {
        self.losses == 0 && self.wins >= 1 && self.errors == 0 && self.unjudged == 0
    }
}

const COMPARE_FAILED: &str = "You compare two answers an AI assistant gave to the same request: the one that failed, \
and one written with a proposed new instruction. Judge whether the new answer fixes what went wrong (the user's next \
message, when shown, says what that was). Reply with one or two sentences, then a last line `Score: 1` if the new \
answer is better, `Score: 0` if it is no better, or `Score: -1` if it is worse.";

const COMPARE_EARLIER: &str = "You compare two answers an AI assistant gave to the same request: the one it gave, \
and one written with a proposed new instruction. Judge whether the new answer serves the request better. Reply with \
one or two sentences, then a last line `Score: 1` if the new answer is better, `Score: 0` if they are as good, or \
`Score: -1` if the new one is worse.";

/// One turn to validate on.
struct Planned {
    turn_id: i64,
    role: ValidationRole,
}

/// The earlier turns of the candidate's agents that it would have matched and that taught no
/// candidate, newest first, at most `k`.
async fn earlier_turns(ev: &Evolver, cand: &Candidate, k: usize) -> Result<Vec<i64>, EvolveError> {
    let Some(first) = cand.support.first().copied() else { return Ok(Vec::new()) };
    if k == 0 {
        return Ok(Vec::new());
    }
    let skill = parse(&cand.content, &cand.name, "candidate", Origin::Evolved)
        .skill
        .map_err(|p| EvolveError::Conflict(p.reason))?;
    // A one-skill index ranked with the library's own settings: the bar the proxy uses.
    let one = Snapshot::from_skills(vec![skill]);
    let cfg = ev.library.config().clone();
    let agents = cand.agents.clone();
    let store = ev.store.clone();
    let picked = store
        .read(move |c| {
            let mut found: Vec<i64> = Vec::new();
            for agent in &agents {
                let page = crate::store::turns::list_turns(
                    c,
                    &TurnFilter {
                        turn_type: Some(TurnType::Main),
                        agent: Some(agent.clone()),
                        before: Some(first),
                        limit: Some(SCAN),
                        ..Default::default()
                    },
                )?;
                let mut mine = 0;
                for t in page.turns {
                    if mine == k {
                        break;
                    }
                    if t.preview.trim().is_empty() || !candidates::supported_by(c, t.id)?.is_empty() {
                        continue;
                    }
                    let Some(detail) = crate::store::turns::get_turn(c, t.id)? else { continue };
                    let Some(text) = last_user_text(&detail.messages) else { continue };
                    let ranked = one.explain(&text, &cfg, None);
                    if ranked.candidates.iter().any(|r| r.injected) {
                        found.push(t.id);
                        mine += 1;
                    }
                }
            }
            found.sort_unstable_by(|a, b| b.cmp(a));
            found.truncate(k);
            Ok(found)
        })
        .await?;
    Ok(picked)
}

/// Replays the candidate's validation set, stores each verdict, and returns the summary; the
/// first failed turn's verdict is also kept as the candidate's replay (`{improved, …}`).
pub async fn validate(ev: &Evolver, cand: &Candidate, judge_model: &str) -> Result<ValidationSummary, EvolveError> {
    let mut plan: Vec<Planned> =
        cand.support.iter().map(|&turn_id| Planned { turn_id, role: ValidationRole::Failure }).collect();
    let earlier = earlier_turns(ev, cand, ev.cfg.validation_turns).await?;
    plan.extend(earlier.into_iter().map(|turn_id| Planned { turn_id, role: ValidationRole::Earlier }));
    let id = cand.id;
    let mut unjudged = 0u32;
    for (n, p) in plan.iter().enumerate() {
        if !ev.take_budget(2) {
            unjudged = (plan.len() - n) as u32;
            break;
        }
        let (verdict, reason, answer, score) = match replay(ev, cand, p.turn_id, p.role, judge_model).await {
            Ok((score, reason, answer)) => {
                (ValidationVerdict::of_score(score), Some(reason), Some(answer), Some(score))
            }
            Err(e) => {
                tracing::warn!(candidate = id, turn = p.turn_id, error = %e, "validation replay failed");
                (ValidationVerdict::Error, Some(crate::health::plain(&e.to_string())), None, None)
            }
        };
        if n == 0 {
            if let (Some(score), Some(answer)) = (score, answer.clone()) {
                let v = json!({"turn_id": p.turn_id, "improved": score > 0, "score": score, "answer": answer, "reason": reason})
                    .to_string();
                ev.store.write(move |c| candidates::set_replay(c, id, &v)).await?;
                ev.events.publish(Event::CandidateVerified { id, improved: score > 0 });
            }
        }
        let row =
            NewValidation { turn_id: p.turn_id, role: p.role, verdict, reason: reason.clone(), answer: answer.clone() };
        ev.store.write(move |c| candidates::add_validation(c, id, &row)).await?;
    }
    let note = (unjudged > 0).then(|| {
        format!(
            "{unjudged} of {} validation turns left unjudged: the hourly budget of evolver calls ([evolve] max_calls_per_hour = {}) ran out; the candidate waits for you",
            plan.len(),
            ev.cfg.max_calls_per_hour
        )
    });
    ev.store.write(move |c| candidates::finish_validation(c, id, unjudged, note.as_deref())).await?;
    let summary = crate::evolve::review::get(&ev.store, id).await?.and_then(|c| c.validation).unwrap_or_default();
    ev.events.publish(Event::CandidateValidated { id, wins: summary.wins, ties: summary.ties, losses: summary.losses });
    Ok(summary)
}

/// Replays `turn` with the candidate injected and has the judge compare the recorded answer
/// with the new one: (score, the judge's reason, the new answer).
async fn replay(
    ev: &Evolver,
    cand: &Candidate,
    turn: i64,
    role: ValidationRole,
    judge_model: &str,
) -> Result<(i64, String, String), EvolveError> {
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
    let (system, prompt) = if role == ValidationRole::Failure {
        let next = cand
            .evidence
            .as_array()
            .and_then(|e| e.iter().find(|f| f["turn_id"] == turn))
            .and_then(|f| f["next_message"].as_str())
            .unwrap_or("(none)")
            .to_string();
        (
            COMPARE_FAILED,
            format!(
                "## The user's request\n{user}\n\n## The answer that failed\n{old_answer}\n\n## The answer with the proposed skill\n{new_answer}\n\n## The user's next message after the failed answer\n{next}"
            ),
        )
    } else {
        (
            COMPARE_EARLIER,
            format!(
                "## The user's request\n{user}\n\n## The answer it gave\n{old_answer}\n\n## The answer with the proposed skill\n{new_answer}"
            ),
        )
    };
    let prompt = crate::secrets::redact(&prompt);
    let judge_up = ev.upstream(ev.judge.upstream.as_deref()).unwrap_or(up);
    let text = llm::complete(
        &ev.client,
        &judge_up,
        llm::request(judge_model, system, &prompt, 0.0, ev.judge.max_tokens),
        Duration::from_secs(ev.judge.timeout_secs),
    )
    .await?;
    let score = majority(&[parse_vote(&text)]);
    let reason = text.rsplit_once("Score:").map(|(r, _)| r).unwrap_or(&text).trim().to_string();
    Ok((score, reason, new_answer))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_better_answer_is_a_win_an_equal_one_a_tie_and_a_worse_one_a_loss() {
        let v: Vec<_> = [3, 1, 0, -1].into_iter().map(ValidationVerdict::of_score).collect();
        assert_eq!(
            v,
            [ValidationVerdict::Win, ValidationVerdict::Win, ValidationVerdict::Tie, ValidationVerdict::Loss]
        );
    }

    #[test]
    fn every_verdict_is_counted_once_in_its_own_column() {
        let turn = |verdict| ValidationTurn { turn_id: 1, role: ValidationRole::Failure, verdict, reason: None };
        let all = [ValidationVerdict::Win, ValidationVerdict::Tie, ValidationVerdict::Loss, ValidationVerdict::Error];
        let s = ValidationSummary::of(all.into_iter().chain([ValidationVerdict::Win]).map(turn).collect());
        assert_eq!((s.wins, s.ties, s.losses, s.errors), (2, 1, 1, 1));
        assert!(!s.verified(), "an error leaves the set unverified");
    }

    #[test]
    fn role_and_verdict_keep_the_words_of_the_stored_rows_and_the_api() {
        for (r, w) in [(ValidationRole::Failure, "failure"), (ValidationRole::Earlier, "earlier")] {
            assert_eq!((r.as_str(), serde_json::to_value(r).unwrap()), (w, Value::from(w)));
            assert_eq!(w.parse::<ValidationRole>(), Ok(r));
        }
        for (v, w) in [
            (ValidationVerdict::Win, "win"),
            (ValidationVerdict::Tie, "tie"),
            (ValidationVerdict::Loss, "loss"),
            (ValidationVerdict::Error, "error"),
        ] {
            assert_eq!((v.to_string(), serde_json::to_value(v).unwrap()), (w.to_string(), Value::from(w)));
            assert_eq!(serde_json::from_value::<ValidationVerdict>(Value::from(w)).unwrap(), v);
        }
        assert_eq!("draw".parse::<ValidationVerdict>().unwrap_err(), r#""draw" is not one of win, tie, loss, error"#);
    }
}
