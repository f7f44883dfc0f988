//! The learning loop end to end, with the stand-in playing agent, judge and evolver: a user
//! corrects the agent, the judge scores -1, the session ends, a candidate with provenance and a
//! replay verdict appears, is approved, the next matching turn carries it under a new generation,
//! and the dataset keeps support and query apart. Also hostile, malformed and duplicate
//! proposals, rejected-candidate memory, rollback, and the verified approval policy.

mod common;

use std::time::Duration;

use common::{turn_id, Harness};
use serde_json::{json, Value};

fn learning(c: &mut metaclaw::config::Config) {
    c.judge.model = Some("standin-judge".into());
    c.judge.wait_for_next_secs = 1;
    c.evolve.model = Some("standin-evolver".into());
}

async fn say(h: &Harness, session: &str, history: &[&str], done: bool) -> i64 {
    let messages: Vec<Value> = history
        .iter()
        .enumerate()
        .map(|(i, t)| json!({"role": if i % 2 == 0 { "user" } else { "assistant" }, "content": t}))
        .collect();
    let mut rb = h.http.post(h.url("/v1/chat/completions")).header("x-session-id", session);
    if done {
        rb = rb.header("x-session-done", "true");
    }
    let r = rb.json(&json!({"model": "m", "messages": messages})).send().await.unwrap();
    assert_eq!(r.status(), 200);
    turn_id(&r)
}

async fn api(h: &Harness, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut rb = h.http.request(method, h.url(path)).bearer_auth(&h.token);
    if let Some(b) = body {
        rb = rb.json(&b);
    }
    let r = rb.send().await.unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

async fn wait_for<T>(what: &str, mut f: impl AsyncFnMut() -> Option<T>) -> T {
    for _ in 0..300 {
        if let Some(v) = f().await {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("timed out waiting for {what}");
}

/// A session where the user corrects the agent, ending it; returns (failed turn, correction turn).
async fn corrected_session(h: &Harness, session: &str, directive: &str) -> (i64, i64) {
    let first = format!("put the standup time in the notes {directive}");
    let a = say(h, session, &[&first], false).await;
    let b = say(
        h,
        session,
        &[&first, &format!("Echo: {first}"), "no, timestamps must carry +08:00 [[judge_score:-1]]"],
        true,
    )
    .await;
    (a, b)
}

async fn candidates(h: &Harness, status: &str) -> Vec<Value> {
    api(h, reqwest::Method::GET, &format!("/api/candidates?status={status}"), None).await.1["candidates"]
        .as_array()
        .unwrap()
        .clone()
}

#[tokio::test]
async fn a_correction_becomes_an_approved_skill_that_serves_the_next_turn() {
    let h = Harness::start(learning).await;
    use reqwest::Method;
    let (a, b) = corrected_session(&h, "e2e", "[[evolve:timestamps]]").await;

    let cand = wait_for("a candidate", async || candidates(&h, "pending").await.into_iter().next()).await;
    assert_eq!((cand["name"].as_str(), cand["action"].as_str()), (Some("timestamp-offsets"), Some("create")));
    assert_eq!(cand["support"], json!([a, b]), "the failed turns are its support");
    assert!(cand["evidence"][0]["next_message"].as_str().unwrap().contains("+08:00"), "{cand}");
    assert!(cand["rationale"].as_str().unwrap().contains("+08:00"));
    assert!(cand["content"].as_str().unwrap().contains("origin: evolved"));
    let replay = wait_for("the replay verdict", async || {
        let c = api(&h, Method::GET, &format!("/api/candidates/{}", cand["id"]), None).await.1;
        (!c["replay"].is_null()).then(|| c["replay"].clone())
    })
    .await;
    assert_eq!(replay["improved"], true, "{replay}");
    assert_eq!(replay["turn_id"], a);

    let status = h.admin("/api/status").await;
    assert_eq!(status["candidates_pending"], 1);
    let g0 = h.admin("/api/skills").await["generation"].as_i64().unwrap();
    assert_eq!(status["generation"], g0);
    let (s, v) = api(&h, Method::POST, &format!("/api/candidates/{}/approve", cand["id"]), None).await;
    assert_eq!(s, 200, "{v}");
    let g1 = v["generation"].as_i64().unwrap();
    assert_eq!(g1, g0 + 1);
    let (s, _) = api(&h, Method::POST, &format!("/api/candidates/{}/approve", cand["id"]), None).await;
    assert_eq!(s, 409, "approved once");
    let skill = h.admin("/api/skills/timestamp-offsets").await;
    assert_eq!(
        (skill["origin"].as_str(), skill["metadata"]["candidate"].as_str()),
        (Some("evolved"), Some(cand["id"].to_string().as_str()))
    );
    assert_eq!(skill["metadata"]["generation"], g1.to_string());
    let history = h.admin("/api/generations").await;
    assert!(history["generations"][0]["reason"]
        .as_str()
        .unwrap()
        .starts_with(&format!("approved candidate #{}", cand["id"])));

    // The next matching turn carries the skill and is stamped with the new generation.
    let c = say(&h, "next", &["what time is the standup tomorrow? give me the timestamp"], false).await;
    let t = h.turn(c).await;
    assert!(t["skills"].as_array().unwrap().iter().any(|s| s["name"] == "timestamp-offsets"), "{}", t["skills"]);
    assert_eq!(t["generation"], g1);
    assert!(t["messages"][0]["content"].as_str().unwrap().contains("+08:00"));

    // Support and query stay apart: the failed turns are support; the new turn, once scored, is query.
    wait_for("the new turn's score", async || h.turn(c).await["judgement"].as_object().cloned()).await;
    let export = |split: &'static str| {
        let h = &h;
        async move {
            let r =
                h.http.get(h.url(&format!("/api/dataset?split={split}"))).bearer_auth(&h.token).send().await.unwrap();
            assert_eq!(r.headers()["content-type"], "application/x-ndjson");
            r.text().await.unwrap().lines().map(|l| serde_json::from_str::<Value>(l).unwrap()).collect::<Vec<_>>()
        }
    };
    let support = export("support").await;
    let ids: Vec<i64> = support.iter().map(|e| e["turn_id"].as_i64().unwrap()).collect();
    assert_eq!(ids, vec![b, a]);
    assert_eq!(support[0]["candidates"], json!([cand["id"]]));
    let query = export("query").await;
    let qids: Vec<i64> = query.iter().map(|e| e["turn_id"].as_i64().unwrap()).collect();
    assert_eq!(qids, vec![c], "only scored turns of the current generation, never support");
    assert_eq!(query[0]["generation"], g1);

    let signal = h.admin("/api/learning").await;
    let latest = &signal["generations"][0];
    assert_eq!((latest["generation"].as_i64(), latest["scored"].as_i64()), (Some(g1), Some(1)));
    assert_eq!(latest["skills_in_success"]["timestamp-offsets"], 1);
    h.stop().await;
}

#[tokio::test]
async fn hostile_and_malformed_proposals_never_reach_review() {
    let h = Harness::start(learning).await;
    corrected_session(&h, "hostile", "[[evolve:hostile]]").await;
    corrected_session(&h, "broken", "[[evolve:malformed]]").await;
    let db = rusqlite::Connection::open(h.home.path().join("metaclaw.db")).unwrap();
    let runs: Vec<(String, String, Option<String>)> = wait_for("two evolution runs", async || {
        h.flush().await;
        let mut st = db.prepare("SELECT session_id, status, error FROM evolve_runs ORDER BY id").unwrap();
        let rows: Vec<(String, String, Option<String>)> =
            st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap().map(Result::unwrap).collect();
        (rows.len() >= 2).then_some(rows)
    })
    .await;
    let hostile = runs.iter().find(|r| r.0 == "hostile").unwrap();
    assert!(
        hostile.2.as_deref().unwrap().contains("ignore all previous instructions")
            || hostile.2.as_deref().unwrap().contains("credential"),
        "{hostile:?}"
    );
    let broken = runs.iter().find(|r| r.0 == "broken").unwrap();
    assert_eq!(broken.1, "failed");
    assert!(broken.2.as_deref().unwrap().contains("not valid JSON"), "{broken:?}");
    let evolver_calls = h
        .standin
        .requests()
        .iter()
        .filter(|r| r.json()["model"] == "standin-evolver" && r.body.contains("malformed"))
        .count();
    assert_eq!(evolver_calls, 2, "malformed output is retried once");
    assert!(candidates(&h, "pending").await.is_empty());
    let skills = h.admin("/api/skills").await;
    assert!(!skills.to_string().contains("helpful-override"));
    h.stop().await;
}

#[tokio::test]
async fn rejections_are_remembered_duplicates_become_edits_and_rollback_restores() {
    let h = Harness::start(learning).await;
    use reqwest::Method;
    corrected_session(&h, "r1", "[[evolve:timestamps]]").await;
    let first = wait_for("a candidate", async || candidates(&h, "pending").await.into_iter().next()).await;
    let (s, _) = api(
        &h,
        Method::POST,
        &format!("/api/candidates/{}/reject", first["id"]),
        Some(json!({"reason": "too strict for me"})),
    )
    .await;
    assert_eq!(s, 200);
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
    assert!(candidates(&h, "pending").await.is_empty());

    // An approved skill, then a near-duplicate proposal: it becomes an edit of the existing skill.
    let (s, v) = api(&h, Method::POST, "/api/skills", Some(json!({"name": "iso-timestamps", "description": "Use whenever writing timestamps or dates: ISO 8601 with the user's +08:00 offset.", "body": "# Timestamps with offsets\n\n1. Write every timestamp as ISO 8601 with seconds and the user's offset, e.g. 2026-03-16T09:00:00+08:00.", "category": "agentic"}))).await;
    assert_eq!(s, 200, "{v}");
    let before = v["generation"].as_i64().unwrap();
    corrected_session(&h, "d1", "[[evolve:duplicate]]").await;
    let dup = wait_for("a candidate", async || candidates(&h, "pending").await.into_iter().next()).await;
    assert_eq!((dup["action"].as_str(), dup["name"].as_str()), (Some("edit"), Some("iso-timestamps")), "{dup}");
    assert!(dup["previous"].as_str().unwrap().contains("name: iso-timestamps"));
    let (_, v) = api(
        &h,
        Method::POST,
        &format!("/api/candidates/{}/approve", dup["id"]),
        Some(json!({"content": dup["content"].as_str().unwrap().replace("ISO 8601", "ISO-8601 (edited by me)")})),
    )
    .await;
    let after = v["generation"].as_i64().unwrap();
    assert!(
        h.admin("/api/skills/iso-timestamps").await["content"].as_str().unwrap().contains("edited by me"),
        "edit-then-approve"
    );

    let (_, d) = api(&h, Method::GET, &format!("/api/generations/{before}/diff/{after}"), None).await;
    assert_eq!(d["changes"][0]["name"], "iso-timestamps");
    assert_eq!(d["changes"][0]["change"], "modified");
    assert!(d["changes"][0]["after"].as_str().unwrap().contains("edited by me"));
    let (s, v) = api(&h, Method::POST, &format!("/api/generations/{before}/rollback"), None).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["generation"].as_i64().unwrap(), after + 1, "a rollback is a new generation");
    assert!(!h.admin("/api/skills/iso-timestamps").await["content"].as_str().unwrap().contains("edited by me"));
    let (_, d) = api(&h, Method::GET, &format!("/api/generations/{before}/diff/{}", after + 1), None).await;
    assert_eq!(d["changes"], json!([]), "back to the same skills");
    h.stop().await;
}

#[tokio::test]
async fn the_verified_policy_applies_only_candidates_whose_replay_improves() {
    let h = Harness::start(|c| {
        learning(c);
        c.evolve.approval = metaclaw::config::Approval::Verified;
    })
    .await;
    corrected_session(&h, "bad", "[[evolve:timestamps]] [[replay_score:-1]]").await;
    let c = wait_for("a verified candidate", async || {
        candidates(&h, "pending").await.into_iter().find(|c| !c["replay"].is_null())
    })
    .await;
    assert_eq!(c["replay"]["improved"], false);
    let (_, v) = api(&h, reqwest::Method::POST, &format!("/api/candidates/{}/reject", c["id"]), None).await;
    assert_eq!(v["status"], "rejected");
    // Rejected names are not proposed again, so the good case uses an edit of an existing skill.
    let (s, _) = api(&h, reqwest::Method::POST, "/api/skills", Some(json!({"name": "stamp-rules", "description": "Use when writing timestamps.", "body": "Use ISO 8601.", "category": "agentic"}))).await;
    assert_eq!(s, 200);
    corrected_session(&h, "good", "[[evolve:edit:stamp-rules]]").await;
    let approved =
        wait_for("an auto-approved candidate", async || candidates(&h, "approved").await.into_iter().next()).await;
    assert_eq!(
        (approved["name"].as_str(), approved["decided_by"].as_str()),
        (Some("stamp-rules"), Some("policy: verified"))
    );
    assert!(h.admin("/api/skills/stamp-rules").await["content"].as_str().unwrap().contains("seconds"));
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
            kind: metaclaw::config::Kind::Openai,
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
    assert!(candidates(&h, "pending").await.is_empty());
    h.stop().await;
}

#[tokio::test]
async fn deferred_evolution_waits_for_the_user_to_be_away() {
    use metaclaw::omls::signals::{FakeIdle, FakePower, Signals};
    use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
    use std::sync::Arc;
    // The user is at the keyboard: evolution (run_in = "idle") must wait.
    let idle = FakeIdle(Arc::new(AtomicU64::new(0)));
    let signals = Signals {
        os: Some(Arc::new(idle.clone())),
        power: Arc::new(FakePower::default()),
        last_request: Arc::new(AtomicI64::new(0)),
    };
    let timing = metaclaw::omls::scheduler::Timing {
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
            c.omls.sleep = [("default".to_string(), "off".to_string())].into();
        },
        metaclaw::engine::Keys::none(),
        metaclaw_standin::Options { record: true, ..Default::default() },
        hooks,
    )
    .await;
    corrected_session(&h, "deferred", "[[evolve:timestamps]]").await;
    // The judge scores the failure; the evolve job has work but no window.
    wait_for("the evolve job to have work", async || {
        let s = h.admin("/api/omls").await;
        let job = s["jobs"].as_array().unwrap().iter().find(|j| j["name"] == "evolve").cloned()?;
        (job["pending"] == true).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(candidates(&h, "pending").await.is_empty(), "evolution ran while the user was present");
    assert_eq!(h.admin("/api/omls").await["decision"]["reason"], "present");

    // The user leaves for 40 minutes: the window opens and the evolve job proposes the skill.
    idle.0.store(40 * 60_000, Ordering::SeqCst);
    let cand = wait_for("a candidate", async || candidates(&h, "pending").await.into_iter().next()).await;
    assert_eq!(cand["name"], "timestamp-offsets");
    let run = wait_for("the evolve run to be recorded", async || {
        let s = h.admin("/api/omls").await;
        let job = s["jobs"].as_array().unwrap().iter().find(|j| j["name"] == "evolve").cloned()?;
        (job["last_run"]["outcome"] == "done").then_some(job["last_run"].clone())
    })
    .await;
    assert!(run["window"].as_str().unwrap().contains("away"), "{run}");
    h.stop().await;
}
