//! The judge over real loopback HTTP: scores with the user's next message as evidence, majority
//! votes, outages and restarts that lose nothing and score nothing twice, user feedback, events.

mod common;

use std::time::Duration;

use common::{turn_id, Harness};
use futures_util::StreamExt;
use metaclaw::api::types::status::{Feedback, Judgement, TurnFilter};
use metaclaw::config::{Config, NamedUpstream, Protocol};
use metaclaw::judge::JudgeStatus;
use metaclaw::turn::ScoreSource;
use metaclaw_standin::Options;
use serde_json::{json, Value};

fn judged(c: &mut Config) {
    c.judge.model = Some("standin-judge".into());
    c.judge.wait_for_next_secs = 1;
}

/// One chat turn of `history` in `session` (left open); returns the turn's id.
async fn say(h: &Harness, session: &str, history: &[&str]) -> i64 {
    common::say(h, session, history, false).await
}

/// The turn's judgement once it has one (polled for up to 5 s).
async fn score_of(h: &Harness, id: i64) -> Option<Judgement> {
    for _ in 0..200 {
        if let Some(j) = judgement(h, id).await {
            return Some(j);
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    None
}

/// The turn's judgement now.
async fn judgement(h: &Harness, id: i64) -> Option<Judgement> {
    h.turn_detail(id).await.judgement
}

#[tokio::test]
async fn a_corrected_turn_scores_minus_one_from_the_users_next_message() {
    let h = Harness::start(judged).await;
    // Listen for events before anything happens.
    let sse = h.http.get(h.url("/api/events")).bearer_auth(&h.token).send().await.unwrap();
    assert_eq!(sse.status(), 200);
    let mut events = sse.bytes_stream();

    let a = say(&h, "s1", &["put the meeting time in the notes"]).await;
    say(
        &h,
        "s1",
        &[
            "put the meeting time in the notes",
            "Echo: put the meeting time in the notes",
            "no, timestamps must carry +08:00 [[judge_score:-1]]",
        ],
    )
    .await;
    let c = say(&h, "s2", &["thanks, that works"]).await;

    let ja = score_of(&h, a).await.expect("turn a judged");
    assert_eq!((ja.score, ja.source), (-1, ScoreSource::Judge));
    assert_eq!(ja.votes, Some(json!([-1, -1, -1])));
    assert!(ja.reason.as_deref().unwrap().contains("correct"), "{ja:?}");
    let jc = score_of(&h, c).await.expect("turn c judged after the wait");
    assert_eq!(jc.score, 1);

    // The judge saw the request, the answer and the user's next message.
    let judge_calls: Vec<Value> =
        h.standin.requests().iter().filter(|r| r.json()["model"] == "standin-judge").map(|r| r.json()).collect();
    let prompt_a = judge_calls
        .iter()
        .map(|r| r["messages"][1]["content"].as_str().unwrap().to_string())
        .find(|p| p.contains("put the meeting time") && p.contains("+08:00"))
        .expect("judge prompt for a");
    assert!(prompt_a.contains("## The assistant's answer\nEcho: put the meeting time in the notes"), "{prompt_a}");
    assert!(prompt_a.contains("## The user's next message\nno, timestamps must carry +08:00"), "{prompt_a}");

    let page = h.client().turns(&TurnFilter { session: Some("s1".into()), ..Default::default() }).await.unwrap();
    assert_eq!(page.turns[1].score, Some(-1));
    let status = h.client().status().await.unwrap();
    assert!(status.judge.unwrap().scored >= 2);

    let mut seen = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let scored = format!("\"type\":\"turn_scored\",\"turn_id\":{a}");
    while !seen.contains(&scored) {
        let chunk = tokio::time::timeout_at(deadline, events.next()).await.expect("an event arrives").unwrap().unwrap();
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(seen.contains("event: turn_scored"), "{seen}");
    h.stop().await;
}

#[tokio::test]
async fn votes_take_the_majority_and_a_tie_is_zero() {
    let h = Harness::start(judged).await;
    let a = say(&h, "v1", &["decide [[judge_votes:1,-1,-1]]"]).await;
    let b = say(&h, "v2", &["decide [[judge_votes:1,-1,0]]"]).await;
    assert_eq!(score_of(&h, a).await.unwrap().score, -1);
    let jb = score_of(&h, b).await.unwrap();
    assert_eq!(jb.score, 0);
    assert_eq!(jb.votes, Some(json!([1, -1, 0])));
    h.stop().await;
}

/// The judge's status once `done` holds, polled for up to `secs` seconds.
async fn judge_status_when(h: &Harness, secs: u64, done: impl Fn(&JudgeStatus) -> bool) -> JudgeStatus {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        let s = h.client().status().await.unwrap().judge.expect("a judge");
        if done(&s) {
            return s;
        }
        assert!(tokio::time::Instant::now() < deadline, "judge status never got there: {s:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn job(h: &Harness, turn: i64) -> (String, i64, Option<String>, Option<String>) {
    let db = rusqlite::Connection::open(h.home.path().join("metaclaw.db")).unwrap();
    db.query_row("SELECT status, attempts, last_error, last_answer FROM judge_jobs WHERE turn_id = ?1", [turn], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
    })
    .unwrap()
}

#[tokio::test]
async fn a_judge_without_a_score_line_fails_loudly_instead_of_scoring_zero() {
    let h = Harness::start(|c| {
        judged(c);
        c.judge.retry_secs = 0;
    })
    .await;
    let a = say(&h, "g1", &["decide [[judge_garbage]]"]).await;
    let j = judge_status_when(&h, 15, |j| j.failed == 1).await;
    assert!(judgement(&h, a).await.is_none(), "no score from answers without a Score line");
    let (status, attempts, err, raw) = job(&h, a);
    assert_eq!((status.as_str(), attempts), ("failed", 3), "retried, then given up");
    assert_eq!(err.as_deref(), Some("the judge's answers had no Score line"));
    assert!(raw.unwrap().contains("I cannot decide."), "the raw answers are kept");
    assert_eq!((j.unparseable, j.unparseable_answers), (1, 9), "{j:?}");
    assert_eq!((j.scored, j.pending), (0, 0), "{j:?}");
    assert_eq!(j.last_answer.as_deref(), Some("I cannot decide."));
    assert!(j.problem.as_deref().unwrap().contains("this model can't judge: 9 unparseable answers"), "{j:?}");
    h.stop().await;
}

#[tokio::test]
async fn a_judge_echoing_the_rubric_does_not_vote() {
    let h = Harness::start(|c| {
        judged(c);
        c.judge.retry_secs = 0;
        c.judge.votes = 1;
    })
    .await;
    let a = say(&h, "e1", &["decide [[judge_echo]]"]).await;
    let j = judge_status_when(&h, 15, |j| j.failed == 1).await;
    assert!(judgement(&h, a).await.is_none(), "an echoed `Score: -1` is no vote");
    assert_eq!(j.unparseable_answers, 3, "{j:?}");
    assert!(j.last_answer.as_deref().unwrap().contains("`Score: -1` if wrong"), "{j:?}");
    h.stop().await;
}

#[tokio::test]
async fn a_judge_that_times_out_is_retried_then_given_up_saying_so() {
    let h = Harness::start(|c| {
        judged(c);
        c.judge.retry_secs = 0;
        c.judge.votes = 1;
        c.judge.timeout_secs = 1;
    })
    .await;
    let a = say(&h, "t1", &["decide [[judge_delay_ms:1500]]"]).await;
    let j = judge_status_when(&h, 20, |j| j.failed == 1).await;
    assert!(judgement(&h, a).await.is_none(), "a timed-out vote is not a 0");
    let (status, attempts, err, _) = job(&h, a);
    assert_eq!((status.as_str(), attempts), ("failed", 3));
    assert!(err.unwrap().contains("timed out"));
    assert_eq!((j.timed_out, j.timed_out_answers), (1, 3), "{j:?}");
    assert_eq!(j.unparseable, 0);
    assert!(j.problem.as_deref().unwrap().contains("too slow"), "{j:?}");
    h.stop().await;
}

#[tokio::test]
async fn the_judge_asks_for_a_json_score_and_falls_back_to_text_when_refused() {
    let h = Harness::start(|c| {
        judged(c);
        c.judge.votes = 1;
    })
    .await;
    let a = say(&h, "j1", &["decide [[judge_score:-1]]"]).await;
    let ja = score_of(&h, a).await.expect("scored from a JSON answer");
    assert_eq!((ja.score, ja.reason.as_deref()), (-1, Some("The user had to correct the answer.")));
    let first = h.standin.requests().into_iter().find(|r| r.json()["model"] == "standin-judge").unwrap().json();
    assert_eq!(first["response_format"]["type"], "json_schema");
    assert_eq!(first["response_format"]["json_schema"]["schema"]["properties"]["score"]["enum"], json!([-1, 0, 1]));
    assert!(first["max_tokens"].as_u64().unwrap() <= 256, "{first}");

    // A server without structured output answers 400: asked again in text, and from then on.
    let b = say(&h, "j2", &["decide [[refuse_response_format]]"]).await;
    assert_eq!(score_of(&h, b).await.expect("scored from text").score, 1);
    let c = say(&h, "j3", &["decide again"]).await;
    assert_eq!(score_of(&h, c).await.expect("scored").score, 1);
    let for_c: Vec<Value> = h
        .standin
        .requests()
        .iter()
        .map(|r| r.json())
        .filter(|r| r["model"] == "standin-judge" && r.to_string().contains("decide again"))
        .collect();
    assert_eq!(for_c.len(), 1);
    assert!(for_c[0].get("response_format").is_none(), "the refusal is remembered");
    h.stop().await;
}

#[tokio::test]
async fn pausing_learning_stops_the_judge() {
    let h = Harness::start(judged).await;
    assert!(h.client().pause_learning(true).await.unwrap().learning_paused);
    let a = common::say(&h, "p1", &["while paused"], true).await;
    // Due at once (the session ended); the judge looks twice a second.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(!h.standin.requests().iter().any(|r| r.json()["model"] == "standin-judge"), "the judge ran while paused");
    assert!(!h.client().pause_learning(false).await.unwrap().learning_paused);
    assert_eq!(score_of(&h, a).await.expect("judged after resuming").score, 1);
    h.stop().await;
}

fn with_judge_upstream(c: &mut Config, agent: &str, judge: &str) {
    judged(c);
    let up = |name: &str, url: &str, default: bool| NamedUpstream {
        name: name.into(),
        kind: Protocol::OpenAi,
        base_url: url.into(),
        models: if default { vec![] } else { vec!["standin-judge".into()] },
        default,
        auth: Default::default(),
        model: None,
    };
    c.upstreams = vec![up("agent", agent, true), up("judge", judge, false)];
    c.judge.upstream = Some("judge".into());
}

#[tokio::test]
async fn an_outage_delays_scoring_and_a_restart_scores_each_turn_once() {
    let down = common::standin(Options { fail_with: Some(503), record: true, ..Default::default() }).await;
    let good = common::standin(Options { record: true, ..Default::default() }).await;
    let mut h = Harness::start(|_| {}).await;
    let agent = h.standin.base_url();
    let (d, g) = (down.base_url(), good.base_url());
    h.restart(|c| with_judge_upstream(c, &agent, &d)).await;
    let a = say(&h, "o1", &["first request"]).await;
    let b = say(&h, "o2", &["second request"]).await;
    // The judge is down: calls are made, nothing is scored, the jobs wait.
    for _ in 0..100 {
        if down.requests().len() >= 6 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    assert!(down.requests().len() >= 6, "the judge was asked ({} calls)", down.requests().len());
    assert!(judgement(&h, a).await.is_none());
    let db = rusqlite::Connection::open(h.home.path().join("metaclaw.db")).unwrap();
    let (status, attempts, err): (String, i64, String) = db
        .query_row("SELECT status, attempts, last_error FROM judge_jobs WHERE turn_id = ?1", [a], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .unwrap();
    assert_eq!(status, "pending");
    assert!(attempts >= 1);
    assert!(err.contains("503"), "{err}");

    // The user points the judge at a working upstream and restarts: both turns get scored once.
    h.restart(|c| with_judge_upstream(c, &agent, &g)).await;
    assert_eq!(score_of(&h, a).await.expect("scored after restart").score, 1);
    assert_eq!(score_of(&h, b).await.expect("scored after restart").score, 1);
    let (status, _, err): (String, i64, Option<String>) = db
        .query_row("SELECT status, attempts, last_error FROM judge_jobs WHERE turn_id = ?1", [a], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .unwrap();
    assert_eq!((status.as_str(), err), ("done", None), "the outage's error is cleared once the turn is judged");
    tokio::time::sleep(Duration::from_millis(800)).await;
    h.restart(|c| with_judge_upstream(c, &agent, &g)).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    let calls = good.requests().iter().filter(|r| r.json()["model"] == "standin-judge").count();
    assert_eq!(calls, 6, "three votes for each of the two turns, and no more after another restart");
    h.stop().await;
}

#[tokio::test]
async fn user_feedback_overrides_the_judge_and_side_turns_are_not_judged() {
    let h = Harness::start(judged).await;
    let a = say(&h, "f1", &["good answer please"]).await;
    assert_eq!(score_of(&h, a).await.unwrap().score, 1);
    let verdict = Feedback { score: -1, note: Some("dates were wrong".into()) };
    let reply = h.client().feedback(a, &verdict).await.unwrap();
    assert_eq!((reply.turn_id, reply.score, reply.source), (a, -1, ScoreSource::User));
    let j = judgement(&h, a).await.unwrap();
    assert_eq!((j.score, j.source, j.note.as_deref()), (-1, ScoreSource::User, Some("dates were wrong")));
    assert!(j.reason.is_none() && j.votes.is_none(), "the user's verdict replaces the judge's reasons: {j:?}");
    // Raw HTTP: malformed and unknown feedback are answered by status code.
    for (body, status) in [(json!({"score": 2}), 400), (json!({"score": 1}), 404)] {
        let path =
            if status == 404 { "/api/turns/99999/feedback".to_string() } else { format!("/api/turns/{a}/feedback") };
        let r = h.http.post(h.url(&path)).bearer_auth(&h.token).json(&body).send().await.unwrap();
        assert_eq!(r.status(), status);
    }
    let r = h
        .http
        .post(h.url("/v1/chat/completions"))
        .header("x-turn-type", "side")
        .json(&common::user("heartbeat"))
        .send()
        .await
        .unwrap();
    let side = turn_id(&r);
    let r = h.chat(common::user("boom [[status:500]]")).await;
    let failed = turn_id(&r);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(judgement(&h, side).await.is_none(), "side turns are not judged");
    assert!(judgement(&h, failed).await.is_none(), "failed turns are not judged");
    h.stop().await;
}
