//! Per-skill effectiveness end to end (real engine, SQLite and loopback HTTP, the stand-in
//! upstream): exposure written in the background, comparison turns found (not written yet,
//! switched off, over the budget, held out), the user's re-scores moving the counts once,
//! holdout really withholding a new skill from the forwarded request, and the verdicts.

mod common;

use std::time::Duration;

use common::{feedback, say, Harness};
use metaclaw::api::types::stats::{SkillStatsDetail, StatsQuery, Verdict};
use metaclaw::store::effect::ExposureState;

fn skill_md(name: &str, description: &str, body: &str) -> String {
    format!("---\nname: {name}\ndescription: {description:?}\n---\n\n{body}\n")
}

async fn create(h: &Harness, name: &str, description: &str, body: &str) {
    common::create_skill(h, name, &skill_md(name, description, body)).await;
}

/// Polls (the background task writes exposure after the turn) until `f` holds for the skill's
/// statistics; returns them.
async fn stats_when(h: &Harness, name: &str, what: &str, f: impl Fn(&SkillStatsDetail) -> bool) -> SkillStatsDetail {
    let mut last = None;
    for _ in 0..400 {
        let v = h.client().skill_stats_of(name).await.unwrap_or_else(|e| panic!("stats of {name}: {e}"));
        if f(&v) {
            return v;
        }
        last = Some(v);
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("timed out waiting for {what}; last: {last:#?}");
}

async fn states_of(h: &Harness, turn: i64) -> Vec<(String, ExposureState)> {
    let store = h.engine.as_ref().unwrap().store().clone();
    store.read(move |c| metaclaw::store::effect::of_turn(c, turn)).await.unwrap()
}

fn no_holdout(c: &mut metaclaw::config::Config) {
    c.skills.holdout.enabled = false;
}

// Each skill has query terms of its own (a term shared by skills is not distinctive in a small
// library, and retrieval needs one that is).
const ISO: &str = "write the meeting timestamps in ISO 8601 with the offset";
const ISO_SKILL: &str = "Use whenever writing timestamps in ISO 8601.";
const CATS: &str = "how long do cats sleep during the day";

#[tokio::test]
async fn a_skill_that_helps_says_helps_and_one_without_a_difference_says_no_evidence() {
    let h = Harness::start(no_holdout).await;
    // Before the skills exist: timestamps mostly go badly, cat questions half and half.
    for i in 0..10 {
        let t = say(&h, &format!("before-iso-{i}"), &[ISO], false).await;
        feedback(&h, t, if i == 0 { 1 } else { -1 }).await;
        let t = say(&h, &format!("before-cats-{i}"), &[CATS], false).await;
        feedback(&h, t, if i % 2 == 0 { 1 } else { -1 }).await;
    }
    create(&h, "iso-timestamps", ISO_SKILL, "Add +08:00.").await;
    create(&h, "cat-sleep", "Use when asked how long cats sleep during the day.", "About 15 hours.").await;
    // With them: timestamps go well, cats as before.
    for i in 0..10 {
        let t = say(&h, &format!("after-iso-{i}"), &[ISO], false).await;
        feedback(&h, t, if i == 0 { -1 } else { 1 }).await;
        let t = say(&h, &format!("after-cats-{i}"), &[CATS], false).await;
        feedback(&h, t, if i % 2 == 0 { 1 } else { -1 }).await;
    }
    let full = |v: &SkillStatsDetail| {
        let s = &v.stats;
        s.injected == 10 && s.comparison.judged == 10 && s.carried.judged == 10
    };
    let detail = stats_when(&h, "iso-timestamps", "the timestamp skill's 20 turns", full).await;
    let iso = &detail.stats;
    assert_eq!(iso.verdict, Verdict::Helps, "{iso:#?}");
    assert_eq!((iso.carried.wins, iso.carried.losses), (9, 1));
    assert_eq!((iso.comparison.wins, iso.comparison.turns), (1, 10));
    assert_eq!(iso.held_out, 0);
    assert!((iso.uplift.unwrap() - 0.8).abs() < 1e-9);
    assert!(iso.uplift_low.unwrap() > 0.0);
    assert!(iso.summary.starts_with("helps: 9 of 10 judged turns with it went well (90%)"));
    let by_agent: Vec<(&str, u64)> = iso.by_agent.iter().map(|a| (a.agent.as_str(), a.injected)).collect();
    assert_eq!(by_agent, [("unknown", 10)]);
    assert!(iso.last_injected.unwrap() > 0);
    let days = &detail.days;
    assert!(days.iter().all(|d| d.day % 86_400_000 == 0), "days start at 00:00 UTC");
    assert_eq!(days.iter().map(|d| d.carried.turns).sum::<u64>(), 10);

    let cats = stats_when(&h, "cat-sleep", "the cat skill's 20 turns", full).await.stats;
    assert_eq!(cats.verdict, Verdict::NoEvidence, "{cats:#?}");
    assert_eq!((cats.carried.wins, cats.comparison.wins), (5, 5));

    // The list has both, and the turns before the skills existed are `absent`.
    let list = h.client().skill_stats(&StatsQuery::default()).await.unwrap();
    let names: Vec<&str> = list.skills.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["cat-sleep", "iso-timestamps"]);
    assert!(list.computed_ms >= 0.0);
    let codex = StatsQuery { agent: Some(metaclaw::agent::AgentId::parse("codex").unwrap()) };
    let other = h.client().skill_stats(&codex).await.unwrap();
    assert_eq!(other.skills, [], "no turn of that agent");
    h.stop().await;
}

#[tokio::test]
async fn a_users_rescore_moves_the_counts_without_counting_twice() {
    let h = Harness::start(no_holdout).await;
    create(&h, "iso-timestamps", ISO_SKILL, "Add +08:00.").await;
    let t = say(&h, "one", &[ISO], false).await;
    stats_when(&h, "iso-timestamps", "the turn's exposure", |v| v.stats.injected == 1).await;
    feedback(&h, t, 1).await;
    let v = stats_when(&h, "iso-timestamps", "the first score", |v| v.stats.carried.judged == 1).await.stats;
    assert_eq!((v.carried.wins, v.carried.losses), (1, 0));
    for _ in 0..2 {
        feedback(&h, t, -1).await;
        let v = stats_when(&h, "iso-timestamps", "the re-score", |v| v.stats.carried.losses == 1).await.stats;
        assert_eq!((v.carried.judged, v.carried.wins, v.injected), (1, 0, 1), "{v:#?}");
    }
    h.stop().await;
}

#[tokio::test]
async fn disabled_absent_and_over_budget_comparison_turns_are_found() {
    let h = Harness::start(|c| {
        no_holdout(c);
        c.skills.top_k = 1;
        // Each of these skills covers a small share of the request.
        c.skills.min_score = 0.1;
    })
    .await;
    create(&h, "iso-timestamps", ISO_SKILL, "Add +08:00.").await;
    // Another skill for the same request: with top_k = 1 one of the two is over the budget.
    create(&h, "meeting-plans", "Use when writing up a meeting.", "Keep it.").await;
    let budget = say(&h, "budget", &[ISO], false).await;
    h.client().enable_skill("meeting-plans", false).await.unwrap();
    let disabled = say(&h, "disabled", &[ISO], false).await;
    let states = |turn| {
        let h = &h;
        async move {
            for _ in 0..400 {
                let s = states_of(h, turn).await;
                if s.len() == 2 {
                    return s;
                }
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
            panic!("no exposure for turn {turn}: {:?}", states_of(h, turn).await);
        }
    };
    let b = states(budget).await;
    assert!(b.iter().any(|(_, s)| *s == ExposureState::Injected), "{b:?}");
    assert!(b.iter().any(|(_, s)| *s == ExposureState::Budget), "{b:?}");
    assert_eq!(
        states(disabled).await,
        [
            ("iso-timestamps".to_string(), ExposureState::Injected),
            ("meeting-plans".to_string(), ExposureState::Disabled),
        ]
    );
    // A skill written after a matching turn: that turn is scanned back and is `absent`.
    create(&h, "utc-shown", "Use when writing an offset from UTC.", "Zones.").await;
    for _ in 0..400 {
        if states_of(&h, disabled).await.len() == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let s = states_of(&h, disabled).await;
    assert!(s.contains(&("utc-shown".to_string(), ExposureState::Absent)), "{s:?}");
    h.stop().await;
}

#[tokio::test]
async fn a_new_skill_is_withheld_from_its_share_of_matching_turns_and_really_absent_upstream() {
    let h = Harness::start(|c| {
        c.skills.holdout.enabled = true;
        c.skills.holdout.share = 1.0;
        c.skills.holdout.first = 3;
    })
    .await;
    create(&h, "iso-timestamps", ISO_SKILL, "Add +08:00.").await;
    let mut turns = Vec::new();
    for i in 0..4 {
        turns.push(say(&h, &format!("holdout-{i}"), &[ISO], false).await);
        let sent = h.standin.requests().last().unwrap().json();
        let text = sent.to_string();
        if i < 3 {
            assert!(!text.contains("iso-timestamps") && !text.contains("+08:00"), "turn {i} is held out: {text}");
        } else {
            assert!(text.contains("+08:00"), "after its first 3 matches the skill is carried: {text}");
        }
    }
    let held_out = |v: &SkillStatsDetail| v.stats.held_out == 3 && v.stats.injected == 1;
    let v = stats_when(&h, "iso-timestamps", "the held-out turns", held_out).await.stats;
    assert_eq!(v.comparison.turns, 3, "{v:#?}");
    assert_eq!(states_of(&h, turns[0]).await, [("iso-timestamps".to_string(), ExposureState::HeldOut)]);
    let t = h.turn_detail(turns[0]).await;
    assert_eq!(t.summary.skills, serde_json::json!([]), "{t:#?}");
    // The counters are saved: a restart does not open the window again.
    let counted = |h: &Harness| {
        let store = h.engine.as_ref().unwrap().store().clone();
        async move { store.read(metaclaw::store::effect::holdout).await.unwrap() }
    };
    for _ in 0..400 {
        if counted(&h).await.first().is_some_and(|r| r.matches >= 4) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let rows = counted(&h).await;
    assert_eq!((rows.len(), rows[0].matches, rows[0].held_out), (1, 4, 3), "{rows:?}");
    h.stop().await;
}

#[tokio::test]
async fn a_pinned_skill_is_never_held_out() {
    let h = Harness::start(|c| {
        c.skills.holdout.enabled = true;
        c.skills.holdout.share = 1.0;
    })
    .await;
    create(&h, "iso-timestamps", ISO_SKILL, "Add +08:00.").await;
    assert!(h.client().pin_skill("iso-timestamps", true).await.unwrap().pinned);
    for i in 0..3 {
        say(&h, &format!("pinned-{i}"), &[ISO], false).await;
        assert!(h.standin.requests().last().unwrap().json().to_string().contains("+08:00"), "turn {i}");
    }
    let v = stats_when(&h, "iso-timestamps", "the pinned skill's turns", |v| v.stats.injected == 3).await;
    assert_eq!(v.stats.held_out, 0);
    h.stop().await;
}
