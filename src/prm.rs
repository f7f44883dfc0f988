//! The judge (process reward model): scores each `main` turn in {-1, 0, +1} in the background, by
//! majority over several calls, with the user's next message as evidence when there is one.
//!
//! Jobs live in SQLite: a restart or a judge outage delays scoring and loses nothing, and a turn
//! is never scored twice. The user's own feedback overrides the judge. Never on the request path.

use std::sync::Arc;
use std::time::Duration;

use rusqlite::params;
use serde_json::Value;
use tokio::task::JoinHandle;

use crate::config::JudgeConfig;
use crate::events::{Event, EventBus};
use crate::llm;
use crate::secrets::redact;
use crate::store::read;
use crate::store::{Store, StoreError};
use crate::transcript::last_user_text;
use crate::turn::now_ms;
use crate::upstream::Routes;

/// Attempts before a job is given up (with backoff: ~10 s, 20 s, … capped at an hour).
const MAX_ATTEMPTS: i64 = 12;
const MAX_TEXT: usize = 6000;

const SYSTEM: &str = "You review one turn of a conversation between a user and an AI assistant and decide whether \
the assistant's answer did what the user asked. When the user's next message is shown it is strong evidence: a \
correction, a complaint or the same request again means the answer failed; moving on to something new means it was \
probably fine. Judge only this answer. Reply with one or two sentences of reasoning, then a last line with exactly one \
of: `Score: 1` (the answer fulfilled the request), `Score: 0` (unclear, not enough evidence), `Score: -1` (wrong, \
incomplete or off-task).";

/// Reads a vote: the last `Score: N` line, N in {-1, 0, 1}.
pub fn parse_vote(text: &str) -> Option<i64> {
    let i = text.rfind("Score:")?;
    let rest = text[i + 6..].trim_start();
    let n: String = rest.chars().take_while(|c| *c == '-' || *c == '+' || c.is_ascii_digit()).collect();
    n.parse::<i64>().ok().filter(|v| (-1..=1).contains(v))
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

/// The judge worker.
pub struct Judge {
    pub store: Store,
    pub routes: Arc<Routes>,
    pub client: reqwest::Client,
    pub cfg: JudgeConfig,
    pub events: EventBus,
}

impl Judge {
    /// Starts the worker; it runs until aborted (its state is in the database).
    pub fn spawn(self) -> JoinHandle<()> {
        tokio::spawn(async move { self.run().await })
    }

    async fn run(self) {
        let Some(model) = self.cfg.model.clone() else { return };
        // Judge turns from now on (no costly backfill of history when the judge is first set up).
        let mut cursor = match self
            .store
            .read(|c| {
                let judged: Option<i64> = c.query_row("SELECT MAX(turn_id) FROM judge_jobs", [], |r| r.get(0))?;
                let latest: i64 = c.query_row("SELECT COALESCE(MAX(id), 0) FROM turns", [], |r| r.get(0))?;
                Ok(judged.unwrap_or(latest))
            })
            .await
        {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "judge cannot read its queue; not judging");
                return;
            }
        };
        // A restart (perhaps after the user fixed the judge's upstream) retries waiting jobs now.
        if let Err(e) = self
            .store
            .write(|c| {
                Ok(c.execute(
                    "UPDATE judge_jobs SET not_before = MIN(not_before, ?1) WHERE status = 'pending'",
                    [now_ms()],
                )?)
            })
            .await
        {
            tracing::warn!(error = %e, "judge could not reschedule waiting jobs");
        }
        let mut tick = tokio::time::interval(Duration::from_millis(500));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match self.enqueue(cursor).await {
                Ok(c) => cursor = c,
                Err(e) => tracing::warn!(error = %e, "judge could not queue new turns"),
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

    /// Queues new successful main turns; returns the new cursor.
    async fn enqueue(&self, cursor: i64) -> Result<i64, StoreError> {
        self.store
            .write(move |c| {
                let now = now_ms();
                c.execute(
                    "INSERT OR IGNORE INTO judge_jobs(turn_id, status, attempts, not_before, updated_at)
                     SELECT id, 'pending', 0, finished_at, ?2 FROM turns
                     WHERE id > ?1 AND turn_type = 'main' AND status = 'ok'",
                    params![cursor, now],
                )?;
                let max: i64 = c.query_row("SELECT COALESCE(MAX(id), ?1) FROM turns", [cursor], |r| r.get(0))?;
                Ok(max)
            })
            .await
    }

    /// Jobs ready to judge: the user has answered, the session ended, or the wait is over.
    async fn due(&self) -> Result<Vec<Evidence>, StoreError> {
        let wait_ms = (self.cfg.wait_for_next_secs * 1000) as i64;
        let limit = (self.cfg.concurrency * 4) as i64;
        self.store
            .read(move |c| {
                let now = now_ms();
                let mut st = c.prepare(
                    "SELECT t.id, t.session_id, t.upstream, t.message_hashes, COALESCE(t.response_text, ''), t.tool_calls,
                        (SELECT n.message_hashes FROM turns n WHERE n.session_id = t.session_id AND n.id > t.id
                            AND n.turn_type = 'main' ORDER BY n.id LIMIT 1)
                     FROM judge_jobs j JOIN turns t ON t.id = j.turn_id JOIN sessions s ON s.id = t.session_id
                     WHERE j.status = 'pending' AND j.not_before <= ?1
                       AND NOT EXISTS (SELECT 1 FROM turn_scores sc WHERE sc.turn_id = t.id)
                       AND (s.done_at IS NOT NULL OR t.finished_at <= ?1 - ?2
                            OR EXISTS (SELECT 1 FROM turns n WHERE n.session_id = t.session_id AND n.id > t.id AND n.turn_type = 'main'))
                     ORDER BY t.id LIMIT ?3",
                )?;
                let rows = st
                    .query_map(params![now, wait_ms, limit], |r| {
                        Ok((
                            r.get::<_, i64>(0)?,
                            r.get::<_, String>(2)?,
                            r.get::<_, String>(3)?,
                            r.get::<_, String>(4)?,
                            r.get::<_, Option<String>>(5)?,
                            r.get::<_, Option<String>>(6)?,
                        ))
                    })?
                    .collect::<Result<Vec<_>, _>>()?;
                let load = |hashes: &str| read::load_messages(c, hashes);
                let mut out = Vec::new();
                for (turn_id, upstream, hashes, text, tools, next) in rows {
                    let messages = load(&hashes)?;
                    let mut answer = text;
                    if let Some(t) = tools {
                        for call in serde_json::from_str::<Vec<Value>>(&t).unwrap_or_default() {
                            answer.push_str(&format!("\n[called the tool {} with {}]", call["name"].as_str().unwrap_or("?"), call["arguments"].as_str().unwrap_or("")));
                        }
                    }
                    let next_message = match next {
                        Some(h) => last_user_text(&load(&h)?),
                        None => None,
                    };
                    out.push(Evidence { turn_id, upstream, request: last_user_text(&messages).unwrap_or_default(), answer, next_message });
                }
                Ok(out)
            })
            .await
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
    let req = llm::request(model, SYSTEM, &ev.prompt(), cfg.temperature, 512);
    let timeout = Duration::from_secs(cfg.timeout_secs);
    let calls = (0..cfg.votes).map(|_| llm::complete(client, &up, req.clone(), timeout));
    let results = futures_util::future::join_all(calls).await;
    let turn_id = ev.turn_id;
    if results.iter().all(Result::is_err) {
        // An outage: try again later, nothing is lost.
        let err = results.into_iter().find_map(Result::err).map(|e| e.to_string()).unwrap_or_default();
        tracing::warn!(turn = turn_id, error = %err, "judge unavailable; will retry");
        let _ = store
            .write(move |c| {
                let attempts: i64 = c.query_row("SELECT attempts FROM judge_jobs WHERE turn_id = ?1", [turn_id], |r| r.get(0))?;
                let backoff = (10_000i64 << attempts.min(9)).min(3_600_000);
                let status = if attempts + 1 >= MAX_ATTEMPTS { "failed" } else { "pending" };
                c.execute(
                    "UPDATE judge_jobs SET attempts = attempts + 1, not_before = ?2, last_error = ?3, status = ?4, updated_at = ?5 WHERE turn_id = ?1",
                    params![turn_id, now_ms() + backoff, err, status, now_ms()],
                )?;
                Ok(())
            })
            .await;
        return;
    }
    let texts: Vec<Option<String>> = results.into_iter().map(Result::ok).collect();
    let votes: Vec<Option<i64>> = texts.iter().map(|t| t.as_deref().and_then(parse_vote)).collect();
    let score = majority(&votes);
    let reason = texts
        .iter()
        .zip(&votes)
        .find(|(_, v)| **v == Some(score))
        .or_else(|| texts.iter().zip(&votes).find(|(t, _)| t.is_some()))
        .and_then(|(t, _)| t.as_deref())
        .map(|t| t.rsplit_once("Score:").map(|(r, _)| r).unwrap_or(t).trim().to_string())
        .unwrap_or_default();
    let votes_json = serde_json::to_string(&votes).unwrap_or_default();
    let written = store
        .write(move |c| {
            // The user's own feedback, if any, stays; either way the job is done.
            let n = c.execute(
                "INSERT OR IGNORE INTO turn_scores(turn_id, score, source, votes, reason, created_at) VALUES (?1, ?2, 'judge', ?3, ?4, ?5)",
                params![turn_id, score, votes_json, reason, now_ms()],
            )?;
            c.execute("UPDATE judge_jobs SET status = 'done', attempts = attempts + 1, updated_at = ?2 WHERE turn_id = ?1", params![turn_id, now_ms()])?;
            Ok(n > 0)
        })
        .await;
    match written {
        Ok(true) => {
            tracing::info!(turn = turn_id, score, "turn judged");
            events.publish(Event::TurnScored { turn_id, score, source: "judge".into() });
        }
        Ok(false) => {}
        Err(e) => tracing::warn!(turn = turn_id, error = %e, "judge score not saved; will retry"),
    }
}

/// Records the user's own verdict on a turn, replacing the judge's.
pub async fn feedback(
    store: &Store,
    events: &EventBus,
    turn_id: i64,
    score: i64,
    note: Option<String>,
) -> Result<bool, StoreError> {
    let found = store
        .write(move |c| {
            let exists: bool = c.query_row("SELECT EXISTS(SELECT 1 FROM turns WHERE id = ?1)", [turn_id], |r| r.get(0))?;
            if !exists {
                return Ok(false);
            }
            c.execute(
                "INSERT INTO turn_scores(turn_id, score, source, votes, reason, note, created_at) VALUES (?1, ?2, 'user', NULL, NULL, ?3, ?4)
                 ON CONFLICT(turn_id) DO UPDATE SET score = excluded.score, source = 'user', note = excluded.note, created_at = excluded.created_at",
                params![turn_id, score, note, now_ms()],
            )?;
            c.execute("UPDATE judge_jobs SET status = 'done', updated_at = ?2 WHERE turn_id = ?1", params![turn_id, now_ms()])?;
            Ok(true)
        })
        .await?;
    if found {
        events.publish(Event::TurnScored { turn_id, score, source: "user".into() });
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn votes_and_majorities() {
        assert_eq!(parse_vote("fine.\nScore: 1"), Some(1));
        assert_eq!(parse_vote("Score: 1 at first, but\nScore: -1"), Some(-1));
        assert_eq!(parse_vote("Score:  0 "), Some(0));
        assert_eq!(parse_vote("Score: 7"), None);
        assert_eq!(parse_vote("no verdict"), None);
        assert_eq!(majority(&[Some(1), Some(-1), Some(-1)]), -1);
        assert_eq!(majority(&[Some(1), Some(-1), Some(0)]), 0, "three-way tie");
        assert_eq!(majority(&[Some(1), None, Some(-1)]), 0, "tie after an abstention");
        assert_eq!(majority(&[None, None, Some(1)]), 1);
        assert_eq!(majority(&[None, None]), 0);
    }

    #[test]
    fn the_prompt_shows_the_evidence_and_hides_secrets() {
        let ev = Evidence {
            turn_id: 1,
            upstream: "u".into(),
            request: "deploy with key sk-live-abcdefghijklmnop1234".into(),
            answer: "done".into(),
            next_message: Some("no, timestamps must carry +08:00".into()),
        };
        let p = ev.prompt();
        assert!(p.contains("## The user's next message\nno, timestamps must carry +08:00"));
        assert!(!p.contains("sk-live"));
        let ev = Evidence { next_message: None, ..ev };
        assert!(ev.prompt().contains("(none yet"));
    }
}
