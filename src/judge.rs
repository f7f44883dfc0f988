//! The judge (process reward model): scores each `main` turn in {-1, 0, +1} in the background, by
//! majority over several calls, with the user's next message as evidence when there is one.
//!
//! Jobs live in SQLite: a restart or a judge outage delays scoring and loses nothing, and a turn
//! is never scored twice. The user's own feedback overrides the judge. Never on the request path.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use serde_json::Value;
use tokio::task::JoinHandle;

use crate::clock::now_ms;
use crate::config::JudgeConfig;
use crate::events::{Event, EventBus};
use crate::secrets::redact;
use crate::store::judge::{DueTurn, FailedAttempt, Scored};
use crate::store::{Store, StoreError};
use crate::transcript::last_user_text;
use crate::turn::ScoreSource;
use crate::upstream::complete as llm;
use crate::upstream::Routes;

/// Attempts before a job is given up when the judge is unreachable (with backoff: ~10 s, 20 s, …
/// capped at an hour).
const MAX_ATTEMPTS: i64 = 12;
/// Attempts before a job is given up when the judge answers without a score or too slowly: a
/// model that can't judge won't learn to by being asked all day.
const MAX_ANSWER_ATTEMPTS: i64 = 3;
const MAX_TEXT: usize = 6000;
/// Raw answers kept per job (each), for `status`.
const MAX_RAW: usize = 2000;

/// The reason a job failed when the judge's answers had no valid vote.
pub const NO_SCORE_LINE: &str = "the judge's answers had no Score line";

const SYSTEM: &str = "You review one turn of a conversation between a user and an AI assistant and decide whether \
the assistant's answer did what the user asked. When the user's next message is shown it is strong evidence: a \
correction, a complaint or the same request again means the answer failed; moving on to something new means it was \
probably fine. Judge only this answer. Reply with one or two sentences of reasoning, then a last line with exactly one \
of: `Score: 1` (the answer fulfilled the request), `Score: 0` (unclear, not enough evidence), `Score: -1` (wrong, \
incomplete or off-task).";

/// The structured answer asked of OpenAI-kind upstreams: a score in {-1, 0, 1} and a short reason.
fn answer_format() -> Value {
    serde_json::json!({"type": "json_schema", "json_schema": {"name": "judgement", "strict": true, "schema": {
        "type": "object", "additionalProperties": false, "required": ["reason", "score"],
        "properties": {"reason": {"type": "string", "maxLength": 300}, "score": {"type": "integer", "enum": [-1, 0, 1]}}}}})
}

/// Reads a vote and its reason: a JSON answer `{"score": N, "reason": "…"}`, or text whose last
/// non-empty line is `Score: N`, N in {-1, 0, 1}. A score anywhere else (a model echoing the
/// rubric) is no vote.
pub fn parse_answer(text: &str) -> Option<(i64, String)> {
    let t = text.trim();
    let unfenced = t
        .strip_prefix("```json")
        .or_else(|| t.strip_prefix("```"))
        .and_then(|r| r.trim_end().strip_suffix("```"))
        .unwrap_or(t)
        .trim();
    if unfenced.starts_with('{') {
        if let Ok(v) = serde_json::from_str::<Value>(unfenced) {
            let score = v["score"].as_i64().filter(|s| (-1..=1).contains(s))?;
            return Some((score, v["reason"].as_str().unwrap_or("").trim().to_string()));
        }
    }
    let mut lines = t.lines().rev().skip_while(|l| l.trim().is_empty());
    let last = lines.next()?;
    let bare = last.trim().trim_matches(|c: char| c == '*' || c == '`' || c == '_').trim();
    let rest = bare.strip_prefix("Score:").or_else(|| bare.strip_prefix("score:"))?.trim();
    let rest = rest.trim_end_matches(['.', '`', '*']).trim();
    let score = match rest {
        "1" | "+1" => 1,
        "0" => 0,
        "-1" => -1,
        _ => return None,
    };
    let reason: Vec<&str> = lines.collect::<Vec<_>>().into_iter().rev().collect();
    Some((score, reason.join("\n").trim().to_string()))
}

/// Reads a vote: see [`parse_answer`].
pub fn parse_vote(text: &str) -> Option<i64> {
    parse_answer(text).map(|(s, _)| s)
}

/// The majority of valid votes; a tie, or no valid vote, is 0.
pub fn majority(votes: &[Option<i64>]) -> i64 {
    let mut counts = [0usize; 3];
    for v in votes.iter().flatten() {
        counts[(*v + 1) as usize] += 1;
    }
    let top = *counts.iter().max().unwrap_or(&0);
    if top == 0 || counts.iter().filter(|c| **c == top).count() > 1 {
        return 0;
    }
    counts.iter().position(|c| *c == top).map(|i| i as i64 - 1).unwrap_or(0)
}

fn clip(s: &str) -> String {
    if s.len() <= MAX_TEXT {
        return s.to_string();
    }
    let cut = s.char_indices().take_while(|(i, _)| *i < MAX_TEXT).last().map(|(i, c)| i + c.len_utf8()).unwrap_or(0);
    format!("{}… [cut]", &s[..cut])
}

/// What the judge is shown for one turn.
#[derive(Debug, Clone)]
pub struct Evidence {
    pub turn_id: i64,
    pub upstream: String,
    pub request: String,
    pub answer: String,
    pub next_message: Option<String>,
}

impl Evidence {
    pub fn prompt(&self) -> String {
        let next =
            self.next_message.as_deref().map(clip).unwrap_or_else(|| "(none yet: judge the answer on its own)".into());
        redact(&format!(
            "## The user's request\n{}\n\n## The assistant's answer\n{}\n\n## The user's next message\n{}",
            clip(&self.request),
            clip(&self.answer),
            next
        ))
    }
}

/// When the judge may call its upstream: never while learning is paused, and with
/// `run_in = "idle"` only while the scheduler runs [`JudgeJob`] in a window.
pub struct Gate {
    paused: Arc<AtomicBool>,
    idle_only: bool,
    window: AtomicBool,
}

impl Gate {
    /// `paused` is the engine's learning-paused flag (shared with the evolver).
    pub fn new(paused: Arc<AtomicBool>, idle_only: bool) -> Arc<Self> {
        Arc::new(Self { paused, idle_only, window: AtomicBool::new(false) })
    }

    pub fn open(&self) -> bool {
        !self.paused.load(Ordering::SeqCst) && (!self.idle_only || self.window.load(Ordering::SeqCst))
    }
}

/// The judge worker.
pub struct Judge {
    pub store: Store,
    pub routes: Arc<Routes>,
    pub client: reqwest::Client,
    pub cfg: JudgeConfig,
    pub events: EventBus,
    pub gate: Arc<Gate>,
}

impl Judge {
    /// Starts the worker; it runs until aborted (its state is in the database).
    pub fn spawn(self) -> JoinHandle<()> {
        tokio::spawn(async move { self.run().await })
    }

    async fn run(self) {
        let Some(model) = self.cfg.model.clone() else { return };
        // Judge turns from now on (no costly backfill of history when the judge is first set up).
        let mut cursor = match self.store.judge_queue_cursor().await {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "judge cannot read its queue; not judging");
                return;
            }
        };
        // A restart (perhaps after the user fixed the judge's upstream) retries waiting jobs now.
        if let Err(e) = self.store.judge_queue_retry_now().await {
            tracing::warn!(error = %e, "judge could not reschedule waiting jobs");
        }
        let mut tick = tokio::time::interval(Duration::from_millis(500));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match self.store.judge_queue_add(cursor).await {
                Ok(c) => cursor = c,
                Err(e) => tracing::warn!(error = %e, "judge could not queue new turns"),
            }
            if !self.gate.open() {
                continue;
            }
            let due = match self.due().await {
                Ok(d) => d,
                Err(e) => {
                    tracing::warn!(error = %e, "judge could not read due jobs");
                    continue;
                }
            };
            let mut set = tokio::task::JoinSet::new();
            for ev in due {
                let (store, routes, client, cfg, events, model) = (
                    self.store.clone(),
                    self.routes.clone(),
                    self.client.clone(),
                    self.cfg.clone(),
                    self.events.clone(),
                    model.clone(),
                );
                set.spawn(async move { judge_one(&store, &routes, &client, &cfg, &events, &model, ev).await });
                while set.len() >= self.cfg.concurrency {
                    set.join_next().await;
                }
            }
            while set.join_next().await.is_some() {}
        }
    }

    /// Jobs ready to judge: the user has answered, the session ended, or the wait is over.
    async fn due(&self) -> Result<Vec<Evidence>, StoreError> {
        let wait_ms = (self.cfg.wait_for_next_secs * 1000) as i64;
        let limit = (self.cfg.concurrency * 4) as i64;
        let due = self.store.judge_queue_next(wait_ms, limit).await?;
        Ok(due.into_iter().map(evidence).collect())
    }
}

/// What the judge is shown of a due turn: the user's request, the answer with the tools it
/// called, and the user's next message.
fn evidence(t: DueTurn) -> Evidence {
    let mut answer = t.response_text;
    if let Some(calls) = t.tool_calls {
        for call in serde_json::from_str::<Vec<Value>>(&calls).unwrap_or_default() {
            answer.push_str(&format!(
                "\n[called the tool {} with {}]",
                call["name"].as_str().unwrap_or("?"),
                call["arguments"].as_str().unwrap_or("")
            ));
        }
    }
    Evidence {
        turn_id: t.turn_id,
        upstream: t.upstream,
        request: last_user_text(&t.messages).unwrap_or_default(),
        answer,
        next_message: t.next_messages.as_deref().and_then(last_user_text),
    }
}

/// One call's result.
enum Vote {
    Valid(i64, String),
    Unparseable,
    TimedOut,
    Unavailable(String),
}

/// What a judgement attempt without a valid vote ended in.
fn attempt_failure(votes: &[Vote], timeout: Duration) -> (&'static str, String) {
    if votes.iter().any(|v| matches!(v, Vote::Unparseable)) {
        ("unparseable", NO_SCORE_LINE.to_string())
    } else if votes.iter().any(|v| matches!(v, Vote::TimedOut)) {
        ("timed out", format!("the judge timed out (no answer within {} s)", timeout.as_secs()))
    } else {
        let err = votes.iter().find_map(|v| if let Vote::Unavailable(e) = v { Some(e.clone()) } else { None });
        ("unavailable", err.unwrap_or_default())
    }
}

async fn judge_one(
    store: &Store,
    routes: &Routes,
    client: &reqwest::Client,
    cfg: &JudgeConfig,
    events: &EventBus,
    model: &str,
    ev: Evidence,
) {
    let name = cfg.upstream.clone().unwrap_or_else(|| ev.upstream.clone());
    let fallback = routes.candidates(None);
    let Some(up) = routes.upstreams.iter().find(|u| u.name == name).or_else(|| fallback.first()).cloned() else {
        return;
    };
    let req =
        llm::with_format(llm::request(model, SYSTEM, &ev.prompt(), cfg.temperature, cfg.max_tokens), answer_format());
    let timeout = Duration::from_secs(cfg.timeout_secs);
    let calls = (0..cfg.votes).map(|_| llm::complete(client, &up, req.clone(), timeout));
    let results = futures_util::future::join_all(calls).await;
    let turn_id = ev.turn_id;
    let raw: Vec<Option<String>> = results.iter().map(|r| r.as_ref().ok().map(|t| clip_to(t, MAX_RAW))).collect();
    let votes: Vec<Vote> = results
        .into_iter()
        .map(|r| match r {
            Ok(text) => parse_answer(&text).map_or(Vote::Unparseable, |(s, why)| Vote::Valid(s, why)),
            Err(e) if e.is_timeout() => Vote::TimedOut,
            Err(e) => Vote::Unavailable(e.to_string()),
        })
        .collect();
    let raw_json = serde_json::to_string(&raw).unwrap_or_default();
    let unparseable = votes.iter().filter(|v| matches!(v, Vote::Unparseable)).count() as i64;
    let timed_out = votes.iter().filter(|v| matches!(v, Vote::TimedOut)).count() as i64;
    if !votes.iter().any(|v| matches!(v, Vote::Valid(..))) {
        // No vote: an outage (try again later, nothing is lost), or a judge that can't answer
        // (retried a few times, then given up, saying why).
        let (outcome, err) = attempt_failure(&votes, timeout);
        let base_ms = (cfg.retry_secs * 1000) as i64;
        let max = if outcome == "unavailable" { MAX_ATTEMPTS } else { MAX_ANSWER_ATTEMPTS };
        let error = err.clone();
        let answers = raw.iter().any(Option::is_some).then_some(raw_json);
        // When the attempt is tried again, for health's "next retry".
        let retry_at = Arc::new(std::sync::atomic::AtomicI64::new(0));
        let retry_at_w = retry_at.clone();
        let written = store
            .judge_record_failure(turn_id, move |attempts| FailedAttempt {
                turn_id,
                not_before: {
                    let at = now_ms() + (base_ms << attempts.min(9)).min(3_600_000);
                    retry_at_w.store(at, std::sync::atomic::Ordering::Relaxed);
                    at
                },
                give_up: attempts + 1 >= max,
                error,
                outcome,
                answers,
                unparseable,
                timed_out,
            })
            .await;
        if let Ok(gave_up) = written {
            let retry_at_ms = (!gave_up).then(|| retry_at.load(std::sync::atomic::Ordering::Relaxed));
            events.publish(Event::JudgeFailed { turn_id, error: crate::health::plain(&err), retry_at_ms });
        }
        match written {
            Ok(true) => tracing::warn!(turn = turn_id, reason = %err, "judge gave up on this turn"),
            Ok(_) if outcome == "unavailable" => {
                tracing::warn!(turn = turn_id, error = %err, "judge unavailable; will retry")
            }
            Ok(_) => tracing::warn!(turn = turn_id, reason = %err, "judge attempt failed; will retry"),
            Err(e) => tracing::warn!(turn = turn_id, error = %e, "judge attempt not saved"),
        }
        return;
    }
    let valid: Vec<Option<i64>> =
        votes.iter().map(|v| if let Vote::Valid(s, _) = v { Some(*s) } else { None }).collect();
    let score = majority(&valid);
    let reason = votes
        .iter()
        .find_map(|v| match v {
            Vote::Valid(s, why) if *s == score => Some(why.clone()),
            _ => None,
        })
        .or_else(|| votes.iter().find_map(|v| if let Vote::Valid(_, why) = v { Some(why.clone()) } else { None }))
        .unwrap_or_default();
    let votes_json = serde_json::to_string(&valid).unwrap_or_default();
    // The user's own feedback, if any, stays; either way the job is done.
    let written = store
        .judge_record_score(Scored {
            turn_id,
            score,
            votes: votes_json,
            reason,
            answers: raw_json,
            unparseable,
            timed_out,
        })
        .await;
    match written {
        Ok(true) => {
            tracing::info!(turn = turn_id, score, "turn judged");
            events.publish(Event::TurnScored { turn_id, score, source: ScoreSource::Judge });
        }
        Ok(false) => {}
        Err(e) => tracing::warn!(turn = turn_id, error = %e, "judge score not saved; will retry"),
    }
}

fn clip_to(s: &str, n: usize) -> String {
    if s.len() <= n {
        return s.to_string();
    }
    let cut = s.char_indices().take_while(|(i, _)| *i < n).last().map(|(i, c)| i + c.len_utf8()).unwrap_or(0);
    format!("{}…", &s[..cut])
}

/// Records the user's own verdict on a turn, replacing the judge's: its votes and reason go, so
/// the user's note is the only reason the evolver, Review and the turn page show.
pub async fn feedback(
    store: &Store,
    events: &EventBus,
    turn_id: i64,
    score: i64,
    note: Option<String>,
) -> Result<bool, StoreError> {
    let found = store.record_user_score(turn_id, score, note).await?;
    if found {
        events.publish(Event::TurnScored { turn_id, score, source: ScoreSource::User });
    }
    Ok(found)
}

/// The judge's queue and how its answers went, for `status`, `/api/status` and the UI.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct JudgeStatus {
    /// Jobs waiting (for the user's next message, a retry, or a window).
    pub pending: i64,
    pub done: i64,
    /// Jobs given up.
    pub failed: i64,
    /// Turns with a score (the judge's or the user's).
    pub scored: i64,
    /// Turns the judge scored itself.
    #[serde(default)]
    pub scored_by_judge: i64,
    /// Waiting or given-up jobs whose last attempt had no valid `Score:` line.
    #[serde(default)]
    pub unparseable: i64,
    /// Waiting or given-up jobs whose last attempt timed out.
    #[serde(default)]
    pub timed_out: i64,
    /// Judge answers without a valid score, and calls that timed out, over all jobs.
    #[serde(default)]
    pub unparseable_answers: i64,
    #[serde(default)]
    pub timed_out_answers: i64,
    /// Why the latest failed attempt failed.
    #[serde(default)]
    pub last_error: Option<String>,
    /// The judge's latest raw answer (clipped).
    #[serde(default)]
    pub last_answer: Option<String>,
    /// A plain-words warning when the judge is not working, e.g. "this model can't judge: 26
    /// unparseable answers".
    #[serde(default)]
    pub problem: Option<String>,
}

/// Reads the judge's status.
pub fn judge_status(c: &rusqlite::Connection) -> Result<JudgeStatus, StoreError> {
    let mut st = crate::store::judge::judge_status(c)?;
    // The last answer is kept as the attempt's list of raw answers: show the last one given.
    st.last_answer = st.last_answer.and_then(|j| {
        serde_json::from_str::<Vec<Option<String>>>(&j).ok().and_then(|v| v.into_iter().flatten().next_back())
    });
    st.problem = problem(&st);
    Ok(st)
}

/// The warning for a judge that isn't judging: a third or more of its turns lost to answers
/// without a score, or to timeouts.
fn problem(st: &JudgeStatus) -> Option<String> {
    let plural = |n: i64, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    // Turns lost (waiting on a retry, or given up) against turns scored: a third or more lost.
    if st.unparseable > 0 && st.unparseable * 2 >= st.scored_by_judge {
        Some(format!(
            "this model can't judge: {} (no `Score:` line); {} scored by it",
            plural(st.unparseable_answers, "unparseable answer", "unparseable answers"),
            plural(st.scored_by_judge, "turn", "turns")
        ))
    } else if st.timed_out > 0 && st.timed_out * 2 >= st.scored_by_judge {
        Some(format!(
            "the judge is too slow: {} timed out; raise [judge] timeout_secs or lower max_tokens",
            plural(st.timed_out_answers, "call", "calls")
        ))
    } else {
        None
    }
}

/// The judge deferred to the scheduler's windows (`[judge] run_in = "idle"`): a run opens the
/// gate until no job is due or the window closes.
pub struct JudgeJob {
    pub store: Store,
    pub gate: Arc<Gate>,
    /// `[judge] wait_for_next_secs`, in ms: a turn is not due while the judge waits for the
    /// user's next message.
    pub wait_ms: i64,
}

impl JudgeJob {
    pub fn new(store: Store, gate: Arc<Gate>, cfg: &JudgeConfig) -> Self {
        Self { store, gate, wait_ms: (cfg.wait_for_next_secs * 1000) as i64 }
    }

    /// Whether the judge has a turn to judge now (as [`Judge`] picks them).
    async fn due(&self) -> bool {
        self.store.judge_queue_has_due(self.wait_ms).await.unwrap_or(false)
    }
}

impl crate::scheduler::Job for JudgeJob {
    fn name(&self) -> &'static str {
        "judge"
    }
    fn default_estimate(&self) -> Duration {
        Duration::from_secs(60)
    }
    fn pending(&self) -> BoxFuture<'_, bool> {
        Box::pin(self.due())
    }
    fn run(&self, ctx: crate::scheduler::JobCtx) -> BoxFuture<'_, crate::scheduler::Outcome> {
        Box::pin(async move {
            self.gate.window.store(true, Ordering::SeqCst);
            let mut tick = tokio::time::interval(Duration::from_millis(500));
            let outcome = loop {
                tokio::select! {
                    _ = ctx.cancel.cancelled() => break crate::scheduler::Outcome::Paused("the window closed; the rest wait".into()),
                    _ = tick.tick() => if !self.due().await {
                        break crate::scheduler::Outcome::Done("no turn waits for the judge".into());
                    },
                }
            };
            self.gate.window.store(false, Ordering::SeqCst);
            outcome
        })
    }
}

#[cfg(test)]
mod tests;
