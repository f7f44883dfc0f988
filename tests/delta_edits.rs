//! Delta edits end to end, with the stand-in evolver answering edits as operations on the text
//! MetaClaw shows it: an edit arrives as operations and is shown as such (API and CLI); a no-op
//! edit never reaches the queue; a whole-body edit is turned into operations; an edit removing
//! most of a skill is flagged; an edit of a skill that changed since is applied to the new text
//! when its anchors are still there, and otherwise marked stale and proposed again, not forced.

mod common;

use common::{candidates, corrected_session, learning_on_demand as learning, runs, settled, wait_for, Harness};
use metaclaw::api::types::learning::{ApproveArg, CandidateAction, CandidateStatus, EditOp};
use metaclaw::api::types::skills::SkillWrite;
use metaclaw::evolve::review::FlagKind;
use metaclaw::evolve::Outcome;

const BODY: &str = "# Stamp rules\n\n1. Write timestamps in ISO 8601.\n2. Write the user's offset, +08:00.";

/// Adds (`create`) or rewrites the `stamp-rules` skill with `body`.
async fn write_skill(h: &Harness, create: bool, body: &str) {
    let skill = SkillWrite {
        name: Some("stamp-rules".into()),
        description: Some("Use when writing timestamps or dates in notes and messages.".into()),
        body: Some(body.into()),
        category: Some("agentic".into()),
        ..Default::default()
    };
    let api = h.client();
    let written = if create { api.create_skill(&skill).await } else { api.update_skill("stamp-rules", &skill).await };
    written.unwrap_or_else(|e| panic!("writing stamp-rules: {e}"));
}

/// The edit adding [`STEP`] after the line `after`.
fn add_step(after: &str) -> Option<Vec<EditOp>> {
    Some(vec![EditOp::AddStep { after: Some(after.into()), text: STEP.into() }])
}

const STEP: &str = "Always include the seconds, as in 2026-03-16T09:00:00+08:00.";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_arrives_as_operations_and_is_shown_as_operations() {
    let h = Harness::start(learning).await;
    write_skill(&h, true, BODY).await;
    corrected_session(&h, "ops", "[[evolve_edit_ops:stamp-rules]]").await;
    let cand = wait_for("an edit", async || candidates(&h, CandidateStatus::Pending).await.into_iter().next()).await;
    let cand = wait_for("its validation", async || {
        let c = h.client().candidate(cand.id).await.unwrap();
        (c.validation.as_ref().map(|v| v.turns.len()) == Some(2)).then_some(c)
    })
    .await;
    assert_eq!(cand.action, CandidateAction::Edit);
    assert_eq!(cand.ops, add_step("2. Write the user's offset, +08:00."), "{cand:?}");
    assert_eq!(cand.removed_share, Some(0.0));
    let content = &cand.content;
    assert!(content.contains(&format!("2. Write the user's offset, +08:00.\n{STEP}")), "{content}");
    assert!(content.contains("1. Write timestamps in ISO 8601."), "the rest is kept");
    // The evolver was shown the current text to anchor on.
    let prompt =
        h.standin.requests().iter().rev().find(|r| r.json()["model"] == "standin-evolver").unwrap().body.clone();
    assert!(prompt.contains("### Current text of stamp-rules"), "{prompt}");

    let (_, out, _) = common::cli(&h, &["review", "show", &cand.id.to_string()]);
    assert!(out.contains("changes to stamp-rules (1 operation):"), "{out}");
    assert!(out.contains(&format!("  + after \"2. Write the user's offset, +08:00.\": {STEP}")), "{out}");
    assert!(out.contains("validation: 2W 0T 0L"), "{out}");
    h.stop().await;
}

#[tokio::test]
async fn a_noop_edit_never_reaches_the_queue() {
    let h = Harness::start(learning).await;
    write_skill(&h, true, BODY).await;
    corrected_session(&h, "noop", "[[evolve_edit_ops:stamp-rules:noop]]").await;
    let run = wait_for("the run", async || runs(&h).await.into_iter().next()).await;
    assert_eq!(run.status, Outcome::ScreenedOut, "{run:?}");
    assert!(run.reason.as_deref().unwrap().contains("stamp-rules: its edit changes nothing"), "{run:?}");
    assert!(h.client().candidates(&Default::default()).await.unwrap().candidates.is_empty());
    h.stop().await;
}

#[tokio::test]
async fn a_whole_body_edit_is_turned_into_operations() {
    let h = Harness::start(learning).await;
    write_skill(&h, true, BODY).await;
    corrected_session(&h, "whole", "[[evolve_edit_ops:stamp-rules:whole]]").await;
    let cand = wait_for("an edit", async || candidates(&h, CandidateStatus::Pending).await.into_iter().next()).await;
    assert_eq!(cand.ops, add_step("2. Write the user's offset, +08:00."), "{cand:?}");
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
    write_skill(&h, true, long).await;
    corrected_session(&h, "gut", "[[evolve_edit_ops:stamp-rules:gut]]").await;
    let cand = wait_for("an edit", async || candidates(&h, CandidateStatus::Pending).await.into_iter().next()).await;
    assert_eq!(cand.removed_share, Some(0.75), "{cand:?}");
    assert_eq!(cand.ops.as_ref().map(Vec::len), Some(3));
    let flag = cand.flags.iter().find(|f| f.kind == FlagKind::RemovesMostOfSkill).expect("flagged");
    assert_eq!(flag.excerpt, "removes 3 of 4 lines (75%)");
    settled(&h).await;
    assert!(candidates(&h, CandidateStatus::Approved).await.is_empty(), "auto approval waits for a person");
    h.stop().await;
}

#[tokio::test]
async fn an_edit_of_a_changed_skill_is_applied_to_the_new_text_when_its_anchor_is_there() {
    let h = Harness::start(learning).await;
    write_skill(&h, true, BODY).await;
    corrected_session(&h, "rebase", "[[evolve_edit_ops:stamp-rules]]").await;
    let cand = wait_for("an edit", async || candidates(&h, CandidateStatus::Pending).await.into_iter().next()).await;
    // The user changes another line meanwhile.
    write_skill(&h, false, &BODY.replace("ISO 8601.", "ISO 8601, never a bare date.")).await;
    h.client().approve(cand.id, &ApproveArg::default()).await.unwrap();
    let content = h.client().skill("stamp-rules").await.unwrap().content;
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
    write_skill(&h, true, BODY).await;
    let (a, b) = corrected_session(&h, "stale", "[[evolve_edit_ops:stamp-rules]]").await;
    let cand = wait_for("an edit", async || candidates(&h, CandidateStatus::Pending).await.into_iter().next()).await;
    // The user rewrites the line the edit anchors on.
    let changed = "# Stamp rules\n\n1. Write timestamps in ISO 8601.\n2. Always write +08:00.";
    write_skill(&h, false, changed).await;
    let api = h.client();
    let refused = api.approve(cand.id, &ApproveArg::default()).await.unwrap_err();
    assert_eq!(refused.status(), Some(409), "{refused}");
    assert!(refused.to_string().contains("no longer applies"), "{refused}");
    let old = api.candidate(cand.id).await.unwrap();
    assert_eq!(old.status, CandidateStatus::Stale);
    assert!(old.reason.as_deref().unwrap().contains("go back to the evolver"), "{old:?}");
    let content = api.skill("stamp-rules").await.unwrap().content;
    assert!(!content.contains(STEP) && content.contains("2. Always write +08:00."), "nothing forced: {content}");
    // Its failed turns go back to the evolver, which proposes again on the current text.
    let again = wait_for("the edit proposed again", async || {
        candidates(&h, CandidateStatus::Pending).await.into_iter().find(|c| c.id != cand.id)
    })
    .await;
    assert_eq!(again.support, vec![a, b]);
    assert_eq!(again.ops, add_step("2. Always write +08:00."), "{again:?}");
    h.stop().await;
}
