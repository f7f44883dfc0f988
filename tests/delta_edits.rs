//! Delta edits end to end, with the stand-in evolver answering edits as operations on the text
//! MetaClaw shows it: an edit arrives as operations and is shown as such (API and CLI); a no-op
//! edit never reaches the queue; a whole-body edit is turned into operations; an edit removing
//! most of a skill is flagged; an edit of a skill that changed since is applied to the new text
//! when its anchors are still there, and otherwise marked stale and proposed again, not forced.

mod common;

use std::time::Duration;

use common::{say, Harness};
use reqwest::Method;
use serde_json::{json, Value};

fn learning(c: &mut metaclaw::config::Config) {
    c.judge.model = Some("standin-judge".into());
    c.judge.wait_for_next_secs = 1;
    c.evolve.model = Some("standin-evolver".into());
    c.evolve.failures_to_trigger = 99;
}

async fn api(h: &Harness, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
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
    for _ in 0..400 {
        if let Some(v) = f().await {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("timed out waiting for {what}");
}

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

/// Returns once the evolution run in progress (with its validation and approval policy) is over:
/// an on-demand run waits for it (one evolution at a time) and finds nothing left to learn from.
async fn settled(h: &Harness) {
    let r = h.http.post(h.url("/api/evolve")).bearer_auth(&h.token).send().await.unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
}

async fn candidates(h: &Harness, status: &str) -> Vec<Value> {
    api(h, Method::GET, &format!("/api/candidates?status={status}"), None).await.1["candidates"]
        .as_array()
        .unwrap()
        .clone()
}

const BODY: &str = "# Stamp rules\n\n1. Write timestamps in ISO 8601.\n2. Write the user's offset, +08:00.";

async fn write_skill(h: &Harness, method: Method, body: &str) {
    let path = if method == Method::POST { "/api/skills".to_string() } else { "/api/skills/stamp-rules".to_string() };
    let (s, v) = api(
        h,
        method,
        &path,
        Some(json!({"name": "stamp-rules", "description": "Use when writing timestamps or dates in notes and messages.", "body": body, "category": "agentic"})),
    )
    .await;
    assert_eq!(s, 200, "{v}");
}

const STEP: &str = "Always include the seconds, as in 2026-03-16T09:00:00+08:00.";

async fn runs(h: &Harness) -> Vec<Value> {
    h.admin("/api/evolve/runs").await["runs"].as_array().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_arrives_as_operations_and_is_shown_as_operations() {
    let h = Harness::start(learning).await;
    write_skill(&h, Method::POST, BODY).await;
    corrected_session(&h, "ops", "[[evolve_edit_ops:stamp-rules]]").await;
    let cand = wait_for("an edit", async || candidates(&h, "pending").await.into_iter().next()).await;
    let path = format!("/api/candidates/{}", cand["id"]);
    let cand = wait_for("its validation", async || {
        let c = api(&h, Method::GET, &path, None).await.1;
        (c["validation"]["turns"].as_array().map(Vec::len) == Some(2)).then_some(c)
    })
    .await;
    assert_eq!(cand["action"], "edit");
    assert_eq!(
        cand["ops"],
        json!([{"op": "add_step", "after": "2. Write the user's offset, +08:00.", "text": STEP}]),
        "{cand}"
    );
    assert_eq!(cand["removed_share"], 0.0);
    let content = cand["content"].as_str().unwrap();
    assert!(content.contains(&format!("2. Write the user's offset, +08:00.\n{STEP}")), "{content}");
    assert!(content.contains("1. Write timestamps in ISO 8601."), "the rest is kept");
    // The evolver was shown the current text to anchor on.
    let prompt =
        h.standin.requests().iter().rev().find(|r| r.json()["model"] == "standin-evolver").unwrap().body.clone();
    assert!(prompt.contains("### Current text of stamp-rules"), "{prompt}");

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_metaclaw"))
        .args(["review", "show", &cand["id"].to_string()])
        .env("METACLAW_HOME", h.home.path())
        .env("METACLAW_NO_KEYRING", "1")
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&out.stdout);
    assert!(out.contains("changes to stamp-rules (1 operation):"), "{out}");
    assert!(out.contains(&format!("  + after \"2. Write the user's offset, +08:00.\": {STEP}")), "{out}");
    assert!(out.contains("validation: 2W 0T 0L"), "{out}");
    h.stop().await;
}

#[tokio::test]
async fn a_noop_edit_never_reaches_the_queue() {
    let h = Harness::start(learning).await;
    write_skill(&h, Method::POST, BODY).await;
    corrected_session(&h, "noop", "[[evolve_edit_ops:stamp-rules:noop]]").await;
    let run = wait_for("the run", async || runs(&h).await.into_iter().next()).await;
    assert_eq!(run["status"], "screened out", "{run}");
    assert!(run["reason"].as_str().unwrap().contains("stamp-rules: its edit changes nothing"), "{run}");
    assert!(api(&h, Method::GET, "/api/candidates", None).await.1["candidates"].as_array().unwrap().is_empty());
    h.stop().await;
}

#[tokio::test]
async fn a_whole_body_edit_is_turned_into_operations() {
    let h = Harness::start(learning).await;
    write_skill(&h, Method::POST, BODY).await;
    corrected_session(&h, "whole", "[[evolve_edit_ops:stamp-rules:whole]]").await;
    let cand = wait_for("an edit", async || candidates(&h, "pending").await.into_iter().next()).await;
    assert_eq!(cand["ops"], json!([{"op": "add_step", "after": "2. Write the user's offset, +08:00.", "text": STEP}]));
    h.stop().await;
}

#[tokio::test]
async fn an_edit_removing_most_of_a_skill_is_flagged_and_left_for_a_person() {
    let h = Harness::start(|c| {
        learning(c);
        c.evolve.approval = metaclaw::config::Approval::Auto;
    })
    .await;
    // What is left must still pass screening (enough words to be a skill).
    let long =
        "Write every timestamp in notes and messages as ISO 8601 with the date, the time and the user's offset.\n\
        1. Include the seconds.\n2. Write +08:00.\n3. Never a bare date.";
    write_skill(&h, Method::POST, long).await;
    corrected_session(&h, "gut", "[[evolve_edit_ops:stamp-rules:gut]]").await;
    let cand = wait_for("an edit", async || candidates(&h, "pending").await.into_iter().next()).await;
    assert_eq!(cand["removed_share"].as_f64().unwrap(), 0.75, "{cand}");
    assert_eq!(cand["ops"].as_array().unwrap().len(), 3);
    let flag = cand["flags"].as_array().unwrap().iter().find(|f| f["kind"] == "removes_most_of_skill").cloned();
    assert_eq!(flag.expect("flagged")["excerpt"], "removes 3 of 4 lines (75%)");
    settled(&h).await;
    assert!(candidates(&h, "approved").await.is_empty(), "auto approval waits for a person");
    h.stop().await;
}

#[tokio::test]
async fn an_edit_of_a_changed_skill_is_applied_to_the_new_text_when_its_anchor_is_there() {
    let h = Harness::start(learning).await;
    write_skill(&h, Method::POST, BODY).await;
    corrected_session(&h, "rebase", "[[evolve_edit_ops:stamp-rules]]").await;
    let cand = wait_for("an edit", async || candidates(&h, "pending").await.into_iter().next()).await;
    // The user changes another line meanwhile.
    write_skill(&h, Method::PUT, &BODY.replace("ISO 8601.", "ISO 8601, never a bare date.")).await;
    let (s, v) = api(&h, Method::POST, &format!("/api/candidates/{}/approve", cand["id"]), None).await;
    assert_eq!(s, 200, "{v}");
    let content = h.admin("/api/skills/stamp-rules").await["content"].as_str().unwrap().to_string();
    assert!(
        content.contains("1. Write timestamps in ISO 8601, never a bare date."),
        "the user's change stays: {content}"
    );
    assert!(content.contains(&format!("+08:00.\n{STEP}")), "the edit applies: {content}");
    h.stop().await;
}

#[tokio::test]
async fn an_edit_whose_anchor_is_gone_is_proposed_again_not_forced() {
    let h = Harness::start(learning).await;
    write_skill(&h, Method::POST, BODY).await;
    let (a, b) = corrected_session(&h, "stale", "[[evolve_edit_ops:stamp-rules]]").await;
    let cand = wait_for("an edit", async || candidates(&h, "pending").await.into_iter().next()).await;
    // The user rewrites the line the edit anchors on.
    let changed = "# Stamp rules\n\n1. Write timestamps in ISO 8601.\n2. Always write +08:00.";
    write_skill(&h, Method::PUT, changed).await;
    let (s, v) = api(&h, Method::POST, &format!("/api/candidates/{}/approve", cand["id"]), None).await;
    assert_eq!(s, 409, "{v}");
    assert!(v["error"]["message"].as_str().unwrap().contains("no longer applies"), "{v}");
    let (_, old) = api(&h, Method::GET, &format!("/api/candidates/{}", cand["id"]), None).await;
    assert_eq!(old["status"], "stale");
    assert!(old["reason"].as_str().unwrap().contains("go back to the evolver"), "{old}");
    let content = h.admin("/api/skills/stamp-rules").await["content"].as_str().unwrap().to_string();
    assert!(!content.contains(STEP) && content.contains("2. Always write +08:00."), "nothing forced: {content}");
    // Its failed turns go back to the evolver, which proposes again on the current text.
    let again = wait_for("the edit proposed again", async || {
        candidates(&h, "pending").await.into_iter().find(|c| c["id"] != cand["id"])
    })
    .await;
    assert_eq!(again["support"], json!([a, b]));
    assert_eq!(again["ops"], json!([{"op": "add_step", "after": "2. Always write +08:00.", "text": STEP}]));
    h.stop().await;
}
