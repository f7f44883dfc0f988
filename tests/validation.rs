//! Validation before promotion, end to end with the stand-in as agent, judge and evolver: a
//! candidate is replayed on every failed turn it was learned from and on earlier turns of the
//! same agent it would have matched (never another candidate's support, never another agent's
//! turns); the judge's win/tie/loss on each is stored and shown; `approval = "verified"` promotes
//! only a set with a win and no loss; a budget that runs out leaves the rest unjudged.

mod common;

use common::{
    candidates, corrected_session_as, learning_on_demand as learning, replay, say_as, settled, wait_for, Harness,
};
use metaclaw::api::types::learning::{Candidate, CandidateStatus, ValidationRole, ValidationVerdict};

/// One chat turn of `history` in `session` as `agent`; returns the turn's id.
async fn say(h: &Harness, agent: &str, session: &str, history: &[&str], done: bool) -> i64 {
    say_as(h, Some(agent), session, history, done).await
}

/// A session where the user corrects `agent`'s timestamp, ending it: (failed turn, correction).
async fn corrected(h: &Harness, agent: &str, session: &str, directive: &str) -> (i64, i64) {
    corrected_session_as(h, Some(agent), session, directive).await
}

/// The first candidate of `status` named `name` once its validation set is complete with `turns`
/// verdicts.
async fn validated(h: &Harness, status: CandidateStatus, name: &str, turns: usize) -> Candidate {
    wait_for("a validated candidate", async || {
        candidates(h, status)
            .await
            .into_iter()
            .find(|c| c.name == name && c.validation.as_ref().is_some_and(|v| v.complete && v.turns.len() == turns))
    })
    .await
}

/// The earlier turns (not the failures it was learned from) of a candidate's validation set.
fn earlier(c: &Candidate) -> Vec<i64> {
    c.validation
        .as_ref()
        .unwrap()
        .turns
        .iter()
        .filter(|t| t.role == ValidationRole::Earlier)
        .map(|t| t.turn_id)
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
    let e = say(&h, "codex", "before", &[MATCHING], true).await;
    let (a, b) = corrected(&h, "codex", "fix", "[[evolve:timestamps]]").await;
    let cand = validated(&h, CandidateStatus::Approved, "timestamp-offsets", 3).await;
    assert_eq!(cand.decided_by.as_deref(), Some("policy: verified"));
    let v = cand.validation.as_ref().unwrap();
    assert_eq!((v.wins, v.ties, v.losses), (3, 0, 0), "{v:?}");
    let roles: Vec<_> = v.turns.iter().map(|t| (t.turn_id, t.role, t.verdict)).collect();
    let (failed, matched, win) = (ValidationRole::Failure, ValidationRole::Earlier, ValidationVerdict::Win);
    assert_eq!(roles, vec![(a, failed, win), (b, failed, win), (e, matched, win)]);
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
    let e = say(&h, "codex", "before", &[&format!("{MATCHING} [[replay_score:-1]]")], true).await;
    corrected(&h, "codex", "fix", "[[evolve:timestamps]]").await;
    let cand = validated(&h, CandidateStatus::Pending, "timestamp-offsets", 3).await;
    let v = cand.validation.as_ref().unwrap();
    assert_eq!((v.wins, v.losses), (2, 1), "{v:?}");
    assert_eq!(earlier(&cand), vec![e]);
    assert!(replay(&cand).unwrap().improved, "the first failed turn alone would have passed");
    settled(&h).await;
    assert!(candidates(&h, CandidateStatus::Approved).await.is_empty(), "a loss is never promoted");
    h.stop().await;
}

#[tokio::test]
async fn the_set_takes_earlier_matched_turns_of_the_same_agent_that_taught_nothing() {
    let h = Harness::start(learning).await;
    // Support of another candidate (a flagged one, left pending): its turns match too.
    let (r1, r2) = corrected(&h, "codex", "risky", "[[evolve:risky]]").await;
    wait_for("the other candidate", async || candidates(&h, CandidateStatus::Pending).await.into_iter().next()).await;
    let mine = say(&h, "codex", "mine", &[MATCHING], true).await;
    let unmatched = say(&h, "codex", "cats", &["tell me a fun fact about cats"], true).await;
    let other_agent = say(&h, "claude-code", "theirs", &[MATCHING], true).await;
    corrected(&h, "codex", "fix", "[[evolve:timestamps]]").await;
    let cand = validated(&h, CandidateStatus::Pending, "timestamp-offsets", 3).await;
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
    say(&h, "codex", "before-1", &[MATCHING], true).await;
    say(&h, "codex", "before-2", &["the timestamps of the release notes, please"], true).await;
    corrected(&h, "codex", "fix", "[[evolve:timestamps]]").await;
    let cand = wait_for("the note on what was left unjudged", async || {
        candidates(&h, CandidateStatus::Pending)
            .await
            .into_iter()
            .find(|c| c.validation.as_ref().is_some_and(|v| v.note.is_some()))
    })
    .await;
    let v = cand.validation.as_ref().unwrap();
    assert_eq!((v.wins, v.unjudged, v.complete), (2, 2, true), "finished, with two left unjudged: {v:?}");
    assert!(v.note.as_deref().unwrap().contains("hourly budget"), "{v:?}");
    assert!(earlier(&cand).is_empty());
    settled(&h).await;
    assert!(candidates(&h, CandidateStatus::Approved).await.is_empty(), "an incomplete set is not promoted");
    h.stop().await;
}
