//! The learning loop end to end, with the stand-in playing agent, judge and evolver: a user
//! corrects the agent, the judge scores -1, the session ends, a candidate with provenance and a
//! replay verdict appears, is approved, the next matching turn carries it under a new generation,
//! and the dataset keeps support and query apart. Also hostile, malformed and duplicate
//! proposals, rejected-candidate memory, rollback, and the verified approval policy.

mod common;

use std::time::Duration;

use common::{candidates, cli, corrected_session, learning, replay, runs, say, wait_for, Harness};
use metaclaw::api::types::learning::{
    ApproveArg, CandidateAction, CandidateStatus, EvolveArg, Limit, RejectArg, RunList,
};
use metaclaw::api::types::skills::{Origin, SkillWrite};
use metaclaw::api::types::status::Feedback;
use metaclaw::evolve::{Failure, Outcome};
use metaclaw::scheduler::runner::RunOutcome;
use metaclaw::turn::ScoreSource;
use serde_json::Value;

/// A candidate's evidence (the failed turns it was learned from), typed.
fn evidence(c: &metaclaw::api::types::learning::Candidate) -> Vec<Failure> {
    serde_json::from_value(c.evidence.clone()).unwrap_or_else(|e| panic!("evidence of #{}: {e}", c.id))
}

/// The skills a turn carried.
fn injected(t: &metaclaw::api::types::status::TurnDetail) -> Vec<metaclaw::skills::Injected> {
    serde_json::from_value(t.summary.skills.clone()).unwrap()
}

#[tokio::test]
async fn a_correction_becomes_an_approved_skill_that_serves_the_next_turn() {
    let h = Harness::start(learning).await;
    let api = h.client();
    let (a, b) = corrected_session(&h, "e2e", "[[evolve:timestamps]]").await;

    let cand =
        wait_for("a candidate", async || candidates(&h, CandidateStatus::Pending).await.into_iter().next()).await;
    assert_eq!((cand.name.as_str(), cand.action), ("timestamp-offsets", CandidateAction::Create));
    assert_eq!(cand.support, vec![a, b], "the failed turns are its support");
    assert!(evidence(&cand)[0].next_message.as_deref().unwrap().contains("+08:00"), "{cand:?}");
    assert!(cand.rationale.contains("+08:00"));
    assert!(cand.content.contains("origin: evolved"));
    let verdict = wait_for("the replay verdict", async || replay(&api.candidate(cand.id).await.unwrap())).await;
    assert!(verdict.improved, "{verdict:?}");
    assert_eq!(verdict.turn_id, a);

    let status = api.status().await.unwrap();
    assert_eq!(status.candidates_pending, 1);
    let g0 = api.skills(&Default::default()).await.unwrap().generation;
    assert_eq!(status.generation, g0);
    let decision = api.approve(cand.id, &ApproveArg::default()).await.unwrap();
    assert_eq!(decision.status, CandidateStatus::Approved);
    let g1 = decision.generation.unwrap();
    assert_eq!(g1, g0 + 1);
    let again = api.approve(cand.id, &ApproveArg::default()).await.unwrap_err();
    assert_eq!(again.status(), Some(409), "approved once: {again}");
    let skill = api.skill("timestamp-offsets").await.unwrap().entry.skill;
    assert_eq!(
        (skill.origin, skill.metadata.get("candidate").map(String::as_str)),
        (Origin::Evolved, Some(cand.id.to_string().as_str()))
    );
    assert_eq!(skill.metadata.get("generation"), Some(&g1.to_string()));
    let history = api.generations(&Limit::default()).await.unwrap();
    assert!(history.generations[0].reason.starts_with(&format!("approved candidate #{}", cand.id)));

    // The next matching turn carries the skill and is stamped with the new generation.
    let c = say(&h, "next", &["what time is the standup tomorrow? give me the timestamp"], false).await;
    let t = h.turn_detail(c).await;
    assert!(injected(&t).iter().any(|s| s.name == "timestamp-offsets"), "{}", t.summary.skills);
    assert_eq!(t.summary.generation, g1);
    assert!(t.messages[0]["content"].as_str().unwrap().contains("+08:00"));

    // Support and query stay apart: the failed turns are support; the new turn, once scored, is query.
    wait_for("the new turn's score", async || h.turn_detail(c).await.judgement).await;
    // Raw HTTP: the export's content type is part of what is checked.
    let export = |split: &'static str| {
        let h = &h;
        async move {
            let r =
                h.http.get(h.url(&format!("/api/dataset?split={split}"))).bearer_auth(&h.token).send().await.unwrap();
            assert_eq!(r.headers()["content-type"], "application/x-ndjson");
            let text = r.text().await.unwrap();
            text.lines().map(|l| serde_json::from_str::<metaclaw::dataset::Example>(l).unwrap()).collect::<Vec<_>>()
        }
    };
    let support = export("support").await;
    let ids: Vec<i64> = support.iter().map(|e| e.turn_id).collect();
    assert_eq!(ids, vec![b, a]);
    assert_eq!(support[0].candidates, vec![cand.id]);
    let query = export("query").await;
    let qids: Vec<i64> = query.iter().map(|e| e.turn_id).collect();
    assert_eq!(qids, vec![c], "only scored turns of the current generation, never support");
    assert_eq!(query[0].generation, g1);

    let signal = api.learning(&Default::default()).await.unwrap();
    let latest = &signal.generations[0];
    assert_eq!((latest.generation, latest.scored), (g1, 1));
    assert_eq!(latest.skills_in_success.get("timestamp-offsets"), Some(&1));
    h.stop().await;
}

#[tokio::test]
async fn hostile_and_malformed_proposals_never_reach_review() {
    let h = Harness::start(learning).await;
    corrected_session(&h, "hostile", "[[evolve:hostile]]").await;
    corrected_session(&h, "broken", "[[evolve:malformed]]").await;
    let db = rusqlite::Connection::open(h.home.path().join("metaclaw.db")).unwrap();
    let runs: Vec<(String, String, Option<String>)> = wait_for("a run of each session", async || {
        h.flush().await;
        let mut st = db.prepare("SELECT session_id, status, error FROM evolve_runs ORDER BY id").unwrap();
        let rows: Vec<(String, String, Option<String>)> =
            st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap().map(Result::unwrap).collect();
        // A run for each session (the malformed one is not consumed, so it may run again later).
        let sessions = ["hostile", "broken"];
        sessions.iter().all(|name| rows.iter().any(|r| r.0 == *name)).then_some(rows)
    })
    .await;
    let hostile = runs.iter().find(|r| r.0 == "hostile").unwrap();
    assert!(
        hostile.2.as_deref().unwrap().contains("ignore all previous instructions")
            || hostile.2.as_deref().unwrap().contains("credential"),
        "{hostile:?}"
    );
    let broken = runs.iter().find(|r| r.0 == "broken").unwrap();
    assert_eq!(broken.1, "malformed");
    assert!(broken.2.as_deref().unwrap().contains("not valid JSON"), "{broken:?}");
    let evolver_calls = h
        .standin
        .requests()
        .iter()
        .filter(|r| r.json()["model"] == "standin-evolver" && r.body.contains("malformed"))
        .count();
    let broken_runs = runs.iter().filter(|r| r.0 == "broken").count();
    assert_eq!(evolver_calls, 2 * broken_runs, "malformed output is retried once per run");
    assert!(candidates(&h, CandidateStatus::Pending).await.is_empty());
    let skills = h.client().skills(&Default::default()).await.unwrap();
    assert!(!format!("{skills:?}").contains("helpful-override"), "{skills:?}");
    h.stop().await;
}

#[tokio::test]
async fn rejections_are_remembered_duplicates_become_edits_and_rollback_restores() {
    let h = Harness::start(learning).await;
    let api = h.client();
    corrected_session(&h, "r1", "[[evolve:timestamps]]").await;
    let first =
        wait_for("a candidate", async || candidates(&h, CandidateStatus::Pending).await.into_iter().next()).await;
    let reject = RejectArg { reason: Some("too strict for me".into()) };
    assert_eq!(api.reject(first.id, &reject).await.unwrap().status, CandidateStatus::Rejected);
    // The same failure again: the evolver is told about the rejection, and the same proposal is dropped.
    corrected_session(&h, "r2", "[[evolve:timestamps]]").await;
    let db = rusqlite::Connection::open(h.home.path().join("metaclaw.db")).unwrap();
    let note: String = wait_for("the second run", async || {
        h.flush().await;
        db.query_row("SELECT COALESCE(error, '') FROM evolve_runs WHERE session_id = 'r2'", [], |r| r.get(0)).ok()
    })
    .await;
    assert!(note.contains("rejected"), "{note}");
    let prompt =
        h.standin.requests().iter().rev().find(|r| r.json()["model"] == "standin-evolver").unwrap().body.clone();
    assert!(prompt.contains("too strict for me"), "the evolver saw the rejection");
    assert!(candidates(&h, CandidateStatus::Pending).await.is_empty());

    // An approved skill, then a near-duplicate proposal: it becomes an edit of the existing skill.
    let before = api
        .create_skill(&SkillWrite {
            name: Some("iso-timestamps".into()),
            description: Some("Use whenever writing timestamps or dates: ISO 8601 with the user's +08:00 offset.".into()),
            body: Some("# Timestamps with offsets\n\n1. Write every timestamp as ISO 8601 with seconds and the user's offset, e.g. 2026-03-16T09:00:00+08:00.".into()),
            category: Some("agentic".into()),
            ..Default::default()
        })
        .await
        .unwrap()
        .generation;
    corrected_session(&h, "d1", "[[evolve:duplicate]]").await;
    let dup = wait_for("a candidate", async || candidates(&h, CandidateStatus::Pending).await.into_iter().next()).await;
    assert_eq!((dup.action, dup.name.as_str()), (CandidateAction::Edit, "iso-timestamps"), "{dup:?}");
    assert!(dup.previous.as_deref().unwrap().contains("name: iso-timestamps"));
    let edited = ApproveArg { content: Some(dup.content.replace("ISO 8601", "ISO-8601 (edited by me)")), scope: None };
    let after = api.approve(dup.id, &edited).await.unwrap().generation.unwrap();
    assert!(api.skill("iso-timestamps").await.unwrap().content.contains("edited by me"), "edit-then-approve");

    let d = api.generation_diff(before, after).await.unwrap();
    assert_eq!(d.changes[0].name, "iso-timestamps");
    assert_eq!(d.changes[0].change, metaclaw::dataset::ChangeKind::Modified);
    assert!(d.changes[0].after.as_deref().unwrap().contains("edited by me"));
    let back = api.rollback(before).await.unwrap();
    assert_eq!((back.rolled_back_to, back.generation), (before, after + 1), "a rollback is a new generation");
    assert!(!api.skill("iso-timestamps").await.unwrap().content.contains("edited by me"));
    let d = api.generation_diff(before, after + 1).await.unwrap();
    assert_eq!(d.changes, vec![], "back to the same skills");
    h.stop().await;
}

#[tokio::test]
async fn the_verified_policy_applies_only_candidates_whose_replay_improves() {
    let h = Harness::start(|c| {
        learning(c);
        c.evolve.approval = metaclaw::config::Approval::Verified;
    })
    .await;
    let api = h.client();
    corrected_session(&h, "bad", "[[evolve:timestamps]] [[replay_score:-1]]").await;
    let c = wait_for("a verified candidate", async || {
        candidates(&h, CandidateStatus::Pending).await.into_iter().find(|c| c.replay.is_some())
    })
    .await;
    assert!(!replay(&c).unwrap().improved, "{c:?}");
    let v = api.reject(c.id, &RejectArg::default()).await.unwrap();
    assert_eq!(v.status, CandidateStatus::Rejected);
    // Rejected names are not proposed again, so the good case uses an edit of an existing skill.
    api.create_skill(&SkillWrite {
        name: Some("stamp-rules".into()),
        description: Some("Use when writing timestamps.".into()),
        body: Some("Use ISO 8601.".into()),
        category: Some("agentic".into()),
        ..Default::default()
    })
    .await
    .unwrap();
    corrected_session(&h, "good", "[[evolve:edit:stamp-rules]]").await;
    let approved = wait_for("an auto-approved candidate", async || {
        candidates(&h, CandidateStatus::Approved).await.into_iter().next()
    })
    .await;
    assert_eq!((approved.name.as_str(), approved.decided_by.as_deref()), ("stamp-rules", Some("policy: verified")));
    assert!(api.skill("stamp-rules").await.unwrap().content.contains("seconds"));
    h.stop().await;
}

#[tokio::test]
async fn a_down_evolver_is_backed_off_not_hammered() {
    let down =
        common::standin(metaclaw_standin::Options { fail_with: Some(503), record: true, ..Default::default() }).await;
    let mut h = Harness::start(|_| {}).await;
    let (agent, evolver) = (h.standin.base_url(), down.base_url());
    h.restart(move |c| {
        learning(c);
        let up = |name: &str, url: &str, default: bool| metaclaw::config::NamedUpstream {
            name: name.into(),
            kind: metaclaw::config::Protocol::OpenAi,
            base_url: url.into(),
            models: if default { vec![] } else { vec!["standin-evolver".into()] },
            default,
            auth: Default::default(),
            model: None,
        };
        c.upstreams = vec![up("agent", &agent, true), up("evolver", &evolver, false)];
        c.evolve.upstream = Some("evolver".into());
    })
    .await;
    corrected_session(&h, "down", "[[evolve:timestamps]]").await;
    // The judge scores, the session has ended: the evolver is asked once, fails, and waits.
    wait_for("the first evolver call", async || (!down.requests().is_empty()).then_some(())).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(down.requests().len(), 1, "one call, then a backoff");
    assert!(candidates(&h, CandidateStatus::Pending).await.is_empty());
    h.stop().await;
}

#[tokio::test]
async fn deferred_evolution_waits_for_the_user_to_be_away() {
    use metaclaw::scheduler::signals::{FakeIdle, FakePower, Signals};
    use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
    use std::sync::Arc;
    // The user is at the keyboard: evolution (run_in = "idle") must wait.
    let idle = FakeIdle(Arc::new(AtomicU64::new(0)));
    let signals = Signals {
        os: Some(Arc::new(idle.clone())),
        power: Arc::new(FakePower::default()),
        last_request: Arc::new(AtomicI64::new(0)),
    };
    let timing = metaclaw::scheduler::runner::Timing {
        idle_poll: Duration::from_millis(100),
        running_poll: Duration::from_millis(200),
        pause_grace: Duration::from_secs(2),
        relearn: Duration::from_secs(600),
    };
    let hooks = metaclaw::engine::Hooks { signals: Some(signals), timing: Some(timing), jobs: vec![] };
    let h = Harness::start_hooked(
        |c| {
            learning(c);
            c.evolve.run_in = metaclaw::config::RunIn::Idle;
            c.scheduler.sleep = [("default".to_string(), "off".to_string())].into();
        },
        metaclaw::engine::Keys::none(),
        metaclaw_standin::Options { record: true, ..Default::default() },
        hooks,
    )
    .await;
    corrected_session(&h, "deferred", "[[evolve:timestamps]]").await;
    // The judge scores the failure; the evolve job has work but no window.
    let api = h.client();
    let evolve_job = async || {
        let s = api.scheduler().await.unwrap();
        s.jobs.into_iter().find(|j| j.name == "evolve")
    };
    wait_for("the evolve job to have work", async || evolve_job().await.filter(|j| j.pending).map(|_| ())).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(candidates(&h, CandidateStatus::Pending).await.is_empty(), "evolution ran while the user was present");
    assert_eq!(api.scheduler().await.unwrap().decision.reason, metaclaw::scheduler::Reason::Present);

    // The user leaves for 40 minutes: the window opens and the evolve job proposes the skill.
    idle.0.store(40 * 60_000, Ordering::SeqCst);
    let cand =
        wait_for("a candidate", async || candidates(&h, CandidateStatus::Pending).await.into_iter().next()).await;
    assert_eq!(cand.name, "timestamp-offsets");
    let run = wait_for("the evolve run to be recorded", async || {
        evolve_job().await?.last_run.filter(|r| r.outcome == Some(RunOutcome::Done))
    })
    .await;
    assert!(run.window.contains("away"), "{run:?}");
    h.stop().await;
}

/// The evolver's waiting failed turns, as the status shows them.
async fn failures_waiting(h: &Harness) -> i64 {
    h.client().status().await.unwrap().evolver.expect("an evolver").failures_waiting
}

fn evolver_prompts(h: &Harness) -> Vec<Value> {
    h.standin.requests().iter().map(|r| r.json()).filter(|r| r["model"] == "standin-evolver").collect()
}

#[tokio::test]
async fn an_evolver_that_times_out_is_recorded_and_its_failures_wait() {
    let h = Harness::start(|c| {
        learning(c);
        c.evolve.timeout_secs = 1;
    })
    .await;
    let (a, b) = corrected_session(&h, "slow", "[[evolve_delay_ms:1500]]").await;
    let run = wait_for("a recorded run", async || runs(&h).await.into_iter().next()).await;
    assert_eq!(run.status, Outcome::TimedOut, "{run:?}");
    assert!(run.reason.as_deref().unwrap().contains("took longer than 1s"), "{run:?}");
    assert_eq!(run.turns, vec![a, b]);
    let ev = h.client().status().await.unwrap().evolver.unwrap();
    assert_eq!((ev.last_run.as_ref().map(|r| r.status), ev.failed_runs), (Some(Outcome::TimedOut), 1), "{ev:?}");
    assert_eq!(ev.failures_waiting, 2, "a run that timed out consumes nothing: {ev:?}");
    // The automatic run backs off: one call, not a loop.
    assert_eq!(evolver_prompts(&h).len(), 1);
    h.stop().await;
}

#[tokio::test]
async fn rambling_or_prose_answers_are_recorded_as_malformed_and_consume_nothing() {
    let h = Harness::start(|c| {
        learning(c);
        c.evolve.max_tokens = 64;
    })
    .await;
    corrected_session(&h, "ramble", "[[evolve:ramble]]").await;
    corrected_session(&h, "prose", "[[evolve:prose]]").await;
    let all = wait_for("two recorded runs", async || {
        let r = runs(&h).await;
        (r.len() >= 2).then_some(r)
    })
    .await;
    for r in &all {
        assert_eq!(r.status, Outcome::Malformed, "{r:?}");
        assert!(r.reason.as_deref().unwrap().contains("JSON"), "{r:?}");
    }
    let prompts = evolver_prompts(&h);
    assert!(prompts.iter().all(|p| p["max_tokens"] == 64 && p["response_format"]["type"] == "json_object"));
    assert_eq!(failures_waiting(&h).await, 4);
    assert!(candidates(&h, CandidateStatus::Pending).await.is_empty());
    h.stop().await;
}

#[tokio::test]
async fn retry_failed_brings_back_failures_a_failed_run_used_up() {
    let h = Harness::start(|c| {
        learning(c);
        c.evolve.failures_to_trigger = 99;
    })
    .await;
    let (a, _) = corrected_session(&h, "old", "[[evolve:timestamps]]").await;
    wait_for("a candidate", async || candidates(&h, CandidateStatus::Pending).await.into_iter().next()).await;
    // Paused, so no automatic run takes the failures back before the test looks.
    assert!(h.client().pause_learning(true).await.unwrap().learning_paused);
    h.flush().await;
    // An older build recorded a malformed answer as `failed` and consumed its failures.
    let db = rusqlite::Connection::open(h.home.path().join("metaclaw.db")).unwrap();
    db.execute("UPDATE evolve_runs SET status = 'failed', error = 'no JSON object in the answer'", []).unwrap();
    assert_eq!(failures_waiting(&h).await, 0);
    assert_eq!(h.client().evolve_retry_failed().await.unwrap().turns, 2);
    assert_eq!(failures_waiting(&h).await, 2);
    let waiting: i64 =
        db.query_row("SELECT COUNT(*) FROM evolve_consumed WHERE turn_id = ?1", [a], |r| r.get(0)).unwrap();
    assert_eq!(waiting, 0);
    h.stop().await;
}

#[tokio::test]
async fn the_evolver_prompt_carries_only_the_closest_skills() {
    let h = Harness::start(|c| {
        learning(c);
        c.skills.builtin = true;
        c.evolve.prompt_skills = 3;
    })
    .await;
    let library = h.client().skills(&Default::default()).await.unwrap().skills.len();
    assert!(library > 10, "the built-in library is large ({library})");
    corrected_session(&h, "topk", "[[evolve:timestamps]]").await;
    wait_for("a recorded run", async || runs(&h).await.into_iter().next()).await;
    let prompt = evolver_prompts(&h)[0]["messages"][1]["content"].as_str().unwrap().to_string();
    let section = prompt.split("## Existing skills").nth(1).unwrap().split("\n## ").next().unwrap();
    let listed = section.lines().filter(|l| l.starts_with("- ")).count();
    assert!((1..=3).contains(&listed), "{listed} skills listed:\n{section}");
    h.stop().await;
}

#[tokio::test]
async fn a_paused_engine_runs_no_evolution_at_start() {
    let mut h = Harness::start(|c| {
        c.judge.model = Some("standin-judge".into());
        c.judge.wait_for_next_secs = 1;
    })
    .await;
    let (a, _) = corrected_session(&h, "paused", "[[evolve:timestamps]]").await;
    wait_for("the failure judged", async || h.turn_detail(a).await.judgement).await;
    assert!(h.client().pause_learning(true).await.unwrap().learning_paused);
    h.restart(learning).await;
    // The evolver's first look is immediate at start; give it a few of its one-second ticks.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(evolver_prompts(&h).is_empty(), "evolution ran while learning was paused");
    assert!(!h.client().pause_learning(false).await.unwrap().learning_paused);
    wait_for("a candidate after resuming", async || candidates(&h, CandidateStatus::Pending).await.into_iter().next())
        .await;
    h.stop().await;
}

#[tokio::test]
async fn the_users_verdict_replaces_the_judges_reason_for_the_evolver_and_review() {
    let h = Harness::start(|c| {
        learning(c);
        c.evolve.failures_to_trigger = 99;
    })
    .await;
    // Judged fine by the judge, then marked failed by the user with a note.
    let a = say(&h, "fb", &["tell me a fun fact about cats [[evolve:timestamps]]"], false).await;
    wait_for("the judge's score", async || h.turn_detail(a).await.judgement).await;
    let api = h.client();
    let verdict = Feedback { score: -1, note: Some("the user wanted French".into()) };
    assert_eq!(api.feedback(a, &verdict).await.unwrap().source, ScoreSource::User);
    api.evolve(&EvolveArg { session: Some("fb".into()) }).await.unwrap();
    let prompt = evolver_prompts(&h)[0]["messages"][1]["content"].as_str().unwrap().to_string();
    assert!(prompt.contains("The user marked it failed: \"the user wanted French\""), "{prompt}");
    assert!(!prompt.contains("follows the request"), "the judge's old reason is gone: {prompt}");
    let cand = candidates(&h, CandidateStatus::Pending).await.into_iter().next().expect("a candidate");
    let failed = &evidence(&cand)[0];
    assert_eq!(failed.reason.as_deref(), Some("the user wanted French"));
    assert_eq!(failed.source, ScoreSource::User);
    h.stop().await;
}

#[tokio::test]
async fn an_edited_candidate_can_be_renamed_on_approval_keeping_its_support() {
    let h = Harness::start(learning).await;
    let (a, b) = corrected_session(&h, "rename", "[[evolve:timestamps]]").await;
    let api = h.client();
    let cand =
        wait_for("a candidate", async || candidates(&h, CandidateStatus::Pending).await.into_iter().next()).await;
    let edited = cand.content.replace("name: timestamp-offsets", "name: offset-timestamps");
    let bad = cand.content.replace("name: timestamp-offsets", "name: Bad Name");
    let refused = api.approve(cand.id, &ApproveArg { content: Some(bad), scope: None }).await.unwrap_err();
    assert_eq!(refused.status(), Some(422), "an invalid new name is refused: {refused}");
    api.approve(cand.id, &ApproveArg { content: Some(edited), scope: None }).await.unwrap();
    let skill = api.skill("offset-timestamps").await.unwrap().entry.skill;
    assert_eq!(skill.metadata.get("candidate"), Some(&cand.id.to_string()));
    let absent = api.skill("timestamp-offsets").await.unwrap_err();
    assert_eq!(absent.status(), Some(404), "no skill under the proposed name: {absent}");
    let approved = api.candidate(cand.id).await.unwrap();
    assert_eq!((approved.name.as_str(), approved.status), ("offset-timestamps", CandidateStatus::Approved));
    assert_eq!(approved.support, vec![a, b], "the support stays");
    assert_eq!(approved.evidence, cand.evidence);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_and_evolve_runs_show_what_the_judge_and_evolver_could_not_do() {
    let h = Harness::start(|c| {
        learning(c);
        c.judge.retry_secs = 0;
        c.evolve.timeout_secs = 1;
    })
    .await;
    say(&h, "mute", &["decide [[judge_garbage]]"], true).await;
    corrected_session(&h, "slow", "[[evolve_delay_ms:1500]]").await;
    wait_for("the judge to give up and the evolver to time out", async || {
        let s = h.client().status().await.unwrap();
        let given_up = s.judge.is_some_and(|j| j.failed == 1);
        let timed_out = s.evolver.and_then(|e| e.last_run).is_some_and(|r| r.status == Outcome::TimedOut);
        (given_up && timed_out).then_some(())
    })
    .await;
    assert!(h.client().pause_learning(true).await.unwrap().learning_paused);

    let (ok, out, err) = cli(&h, &["status"]);
    assert!(ok, "{err}");
    assert!(out.contains("learning   paused"), "{out}");
    // Plain words, not Rust debug names ("Openai", "key from None").
    assert!(
        out.contains("upstream   default (OpenAI-compatible) http://127.0.0.1:") && out.contains(", no key"),
        "{out}"
    );
    assert!(!out.contains("Openai") && !out.contains("None"), "{out}");
    assert!(out.contains("judge      2 scored, 1 unparseable, 0 timed out, 0 waiting, 1 given up"), "{out}");
    assert!(out.contains("this model can't judge: 9 unparseable answers"), "three votes, three tries: {out}");
    assert!(out.contains("last failure: the judge's answers had no Score line"), "{out}");
    assert!(out.contains("evolver    last run #1") && out.contains("timed out (the evolver failed:"), "{out}");
    assert!(out.contains("1 run of 1 failed; 2 failed turns waiting to be learned from"), "{out}");

    let (ok, out, _) = cli(&h, &["evolve", "runs"]);
    assert!(ok && out.contains("OUTCOME") && out.contains("timed out") && out.contains("took longer than 1s"), "{out}");
    let (ok, out, _) = cli(&h, &["evolve", "runs", "--json"]);
    let v: RunList = serde_json::from_str(&out).unwrap();
    assert!(ok && v.runs[0].status == Outcome::TimedOut, "{out}");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn review_show_labels_the_users_verdict_as_theirs() {
    let h = Harness::start(|c| {
        learning(c);
        c.evolve.failures_to_trigger = 99;
    })
    .await;
    let a = say(&h, "you", &["tell me a fun fact about cats [[evolve:timestamps]]"], false).await;
    wait_for("the judge's score", async || h.turn_detail(a).await.judgement).await;
    let (ok, out, err) = cli(&h, &["feedback", &a.to_string(), "-1", "--note", "the user wanted French"]);
    assert!(ok, "{out}{err}");
    let (ok, out, err) = cli(&h, &["evolve", "--session", "you"]);
    assert!(ok && out.contains("proposed candidates"), "{out}{err}");
    let cand = candidates(&h, CandidateStatus::Pending).await.into_iter().next().expect("a candidate");
    let (ok, out, _) = cli(&h, &["review", "show", &cand.id.to_string()]);
    assert!(ok && out.contains("  you: the user wanted French"), "{out}");
    assert!(!out.contains("  judge:"), "{out}");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_serve_log_has_no_colour_codes_when_written_to_a_file() {
    let home = tempfile::tempdir().unwrap();
    let log = home.path().join("serve.log");
    let standin = common::standin(metaclaw_standin::Options::default()).await;
    let mut child = std::process::Command::new(common::BIN)
        .args(["serve", "--port", "0", "--upstream", &standin.base_url()])
        .env("METACLAW_HOME", home.path())
        .env("METACLAW_NO_KEYRING", "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let text = wait_for("the serve log", async || {
        let t = std::fs::read_to_string(&log).unwrap_or_default();
        t.contains("listening").then_some(t)
    })
    .await;
    let killed = std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    child.wait().unwrap();
    assert!(!text.contains('\u{1b}'), "ANSI escape codes in a log file: {text:?}");
    assert!(text.contains("INFO"), "{text}");
}
