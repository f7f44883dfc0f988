//! Validation before promotion, end to end with the stand-in as agent, judge and evolver: a
//! candidate is replayed on every failed turn it was learned from and on earlier turns of the
//! same agent it would have matched (never another candidate's support, never another agent's
//! turns); the judge's win/tie/loss on each is stored and shown; `approval = "verified"` promotes
//! only a set with a win and no loss; a budget that runs out leaves the rest unjudged.

mod common;

use std::time::Duration;

use common::Harness;
use serde_json::{json, Value};

fn learning(c: &mut metaclaw::config::Config) {
    c.judge.model = Some("standin-judge".into());
    c.judge.wait_for_next_secs = 1;
    c.evolve.model = Some("standin-evolver".into());
    c.evolve.failures_to_trigger = 99;
}

async fn wait_for<T>(what: &str, mut f: impl AsyncFnMut() -> Option<T>) -> T {
    for _ in 0..400 {
        if let Some(v) = f().await {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("timed out waiting for {what}");
}

/// One chat turn of `history` in `session` as `agent`; returns the turn's id.
async fn say_as(h: &Harness, agent: &str, session: &str, history: &[&str], done: bool) -> i64 {
    let messages: Vec<Value> = history
        .iter()
        .enumerate()
        .map(|(i, t)| json!({"role": if i % 2 == 0 { "user" } else { "assistant" }, "content": t}))
        .collect();
    let mut rb = h.http.post(h.url("/v1/chat/completions")).header("x-session-id", session).header("x-agent-id", agent);
    if done {
        rb = rb.header("x-session-done", "true");
    }
    let r = rb.json(&json!({"model": "m", "messages": messages})).send().await.unwrap();
    assert_eq!(r.status(), 200);
    common::turn_id(&r)
}

/// A session where the user corrects `agent`'s timestamp, ending it: (failed turn, correction).
async fn corrected(h: &Harness, agent: &str, session: &str, directive: &str) -> (i64, i64) {
    let first = format!("put the standup time in the notes {directive}");
    let a = say_as(h, agent, session, &[&first], false).await;
    let b = say_as(
        h,
        agent,
        session,
        &[&first, &format!("Echo: {first}"), "no, timestamps must carry +08:00 [[judge_score:-1]]"],
        true,
    )
    .await;
    (a, b)
}

/// Returns once the evolution run in progress (with its validation and approval policy) is over:
/// an on-demand run waits for it (one evolution at a time) and finds nothing left to learn from.
async fn settled(h: &Harness) {
    let r = h.http.post(h.url("/api/evolve")).bearer_auth(&h.token).send().await.unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
}

async fn candidates(h: &Harness, status: &str) -> Vec<Value> {
    h.admin(&format!("/api/candidates?status={status}")).await["candidates"].as_array().unwrap().clone()
}

/// The first candidate of `status` named `name` once its validation set has `turns` verdicts.
async fn validated(h: &Harness, status: &str, name: &str, turns: usize) -> Value {
    wait_for("a validated candidate", async || {
        candidates(h, status)
            .await
            .into_iter()
            .find(|c| c["name"] == name && c["validation"]["turns"].as_array().is_some_and(|t| t.len() == turns))
    })
    .await
}

fn earlier(c: &Value) -> Vec<i64> {
    c["validation"]["turns"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["role"] == "earlier")
        .map(|t| t["turn_id"].as_i64().unwrap())
        .collect()
}

/// An earlier turn the timestamps skill matches, answered and left alone.
const MATCHING: &str = "write the standup timestamps for tomorrow in the notes";

#[tokio::test]
async fn a_candidate_with_a_win_and_no_loss_is_approved_under_verified() {
    let h = Harness::start(|c| {
        learning(c);
        c.evolve.approval = metaclaw::config::Approval::Verified;
    })
    .await;
    let e = say_as(&h, "codex", "before", &[MATCHING], true).await;
    let (a, b) = corrected(&h, "codex", "fix", "[[evolve:timestamps]]").await;
    let cand = validated(&h, "approved", "timestamp-offsets", 3).await;
    assert_eq!(cand["decided_by"], "policy: verified");
    let v = &cand["validation"];
    assert_eq!((v["wins"].as_u64(), v["ties"].as_u64(), v["losses"].as_u64()), (Some(3), Some(0), Some(0)), "{v}");
    let roles: Vec<(i64, &str, &str)> = v["turns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["turn_id"].as_i64().unwrap(), t["role"].as_str().unwrap(), t["verdict"].as_str().unwrap()))
        .collect();
    assert_eq!(roles, vec![(a, "failure", "win"), (b, "failure", "win"), (e, "earlier", "win")]);
    // The earlier turn was compared as an answer it gave, not as a failure.
    let prompts: Vec<String> = h
        .standin
        .requests()
        .iter()
        .map(|r| r.json())
        .filter(|r| r["model"] == "standin-judge")
        .map(|r| r.to_string())
        .filter(|r| r.contains("The answer with the proposed skill"))
        .collect();
    assert_eq!(prompts.len(), 3, "one comparison per turn of the set");
    assert_eq!(prompts.iter().filter(|p| p.contains("## The answer it gave")).count(), 1);
    h.stop().await;
}

#[tokio::test]
async fn a_loss_on_an_earlier_turn_keeps_the_candidate_for_the_user() {
    let h = Harness::start(|c| {
        learning(c);
        c.evolve.approval = metaclaw::config::Approval::Verified;
    })
    .await;
    let e = say_as(&h, "codex", "before", &[&format!("{MATCHING} [[replay_score:-1]]")], true).await;
    corrected(&h, "codex", "fix", "[[evolve:timestamps]]").await;
    let cand = validated(&h, "pending", "timestamp-offsets", 3).await;
    let v = &cand["validation"];
    assert_eq!((v["wins"].as_u64(), v["losses"].as_u64()), (Some(2), Some(1)), "{v}");
    assert_eq!(earlier(&cand), vec![e]);
    assert_eq!(cand["replay"]["improved"], true, "the first failed turn alone would have passed");
    settled(&h).await;
    assert!(candidates(&h, "approved").await.is_empty(), "a loss is never promoted");
    h.stop().await;
}

#[tokio::test]
async fn the_set_takes_earlier_matched_turns_of_the_same_agent_that_taught_nothing() {
    let h = Harness::start(learning).await;
    // Support of another candidate (a flagged one, left pending): its turns match too.
    let (r1, r2) = corrected(&h, "codex", "risky", "[[evolve:risky]]").await;
    wait_for("the other candidate", async || candidates(&h, "pending").await.into_iter().next()).await;
    let mine = say_as(&h, "codex", "mine", &[MATCHING], true).await;
    let unmatched = say_as(&h, "codex", "cats", &["tell me a fun fact about cats"], true).await;
    let other_agent = say_as(&h, "claude-code", "theirs", &[MATCHING], true).await;
    corrected(&h, "codex", "fix", "[[evolve:timestamps]]").await;
    let cand = validated(&h, "pending", "timestamp-offsets", 3).await;
    assert_eq!(earlier(&cand), vec![mine], "not {r1}, {r2} (support), {unmatched} (no match), {other_agent} (agent)");
    h.stop().await;
}

#[tokio::test]
async fn a_budget_that_runs_out_leaves_the_rest_unjudged_and_the_candidate_waits() {
    let h = Harness::start(|c| {
        learning(c);
        c.evolve.approval = metaclaw::config::Approval::Verified;
        // The evolver's call, then two replays with their comparisons: the earlier turns wait.
        c.evolve.max_calls_per_hour = 5;
    })
    .await;
    say_as(&h, "codex", "before-1", &[MATCHING], true).await;
    say_as(&h, "codex", "before-2", &["the timestamps of the release notes, please"], true).await;
    corrected(&h, "codex", "fix", "[[evolve:timestamps]]").await;
    let cand = wait_for("the note on what was left unjudged", async || {
        candidates(&h, "pending").await.into_iter().find(|c| c["validation"]["note"].is_string())
    })
    .await;
    let v = &cand["validation"];
    assert_eq!((v["wins"].as_u64(), v["unjudged"].as_u64()), (Some(2), Some(2)), "{v}");
    assert!(v["note"].as_str().unwrap().contains("hourly budget"), "{v}");
    assert!(earlier(&cand).is_empty());
    settled(&h).await;
    assert!(candidates(&h, "approved").await.is_empty(), "an incomplete set is not promoted");
    h.stop().await;
}
