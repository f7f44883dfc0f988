//! Retrieval quality of the built-in bank on the labelled query set, with a floor.

#[path = "support/retrieval_eval.rs"]
mod eval;

use metaclaw::config::SkillsConfig;
use metaclaw::skills::{builtin, Snapshot};

#[test]
fn labelled_queries_get_the_right_skills() {
    let snap = Snapshot::from_skills(builtin());
    let cfg = SkillsConfig::default();
    let q = eval::measure(&snap, &cfg);
    eprintln!(
        "precision@{k} {:.3}, recall@{k} {:.3}, best-skill hit rate {:.3} over {} queries",
        q.precision,
        q.recall,
        q.hit_rate,
        q.queries,
        k = cfg.top_k
    );
    for m in &q.misses {
        eprintln!("  miss: {m}");
    }
    assert!(q.queries >= 60);
    assert!(q.precision >= 0.8, "precision@3 {:.3} is below the 0.8 floor", q.precision);
    assert!(q.recall >= 0.65, "recall@3 {:.3} is below the 0.65 floor", q.recall);
}

/// `cargo test --test skills_quality -- --ignored --nocapture` prints a grid for tuning.
#[test]
#[ignore]
fn tuning_grid() {
    let snap = Snapshot::from_skills(builtin());
    for min in [0.1, 0.15, 0.2, 0.25, 0.3] {
        for k in [1, 2, 3] {
            let cfg = SkillsConfig { min_score: min, top_k: k, ..Default::default() };
            let q = eval::measure(&snap, &cfg);
            eprintln!("min {min:.2} k {k}: P {:.3} R {:.3} hit {:.3}", q.precision, q.recall, q.hit_rate);
        }
    }
}

/// Small talk that no skill should ride along on (real-model Bug 9: "Say hi." got three skills
/// and 1,200 prompt tokens on a local model).
const SMALL_TALK: &[&str] = &[
    "Say hi.",
    "Name two planets.",
    "List three colors.",
    "Tell me one fun fact about cats.",
    "Count from one to fifty in words.",
    "thanks!",
    "Hello there, how are you today?",
    "Good morning!",
    "Tell me a joke.",
    "What's the capital of France?",
    "Give me three synonyms for happy.",
    "Write a haiku about autumn.",
    "Name the first five prime numbers.",
    "Say something nice about Mondays.",
    "What is two plus two?",
    "Thank you so much!",
    "Who wrote Hamlet?",
    "Thanks, that's all for now.",
    "Give me a random number between one and ten.",
    "Show me a cute ASCII cat.",
    "ok cool, nice one",
];

#[test]
fn small_talk_gets_no_skills_from_the_builtin_bank() {
    let snap = Snapshot::from_skills(builtin());
    assert!(snap.active().count() >= 48);
    let cfg = SkillsConfig::default();
    let mut rode_along = Vec::new();
    for text in SMALL_TALK {
        let messages = [serde_json::json!({"role": "user", "content": text})];
        let got = snap.select(&messages, &cfg, None);
        if !got.injected.is_empty() {
            let names: Vec<_> = got.injected.iter().map(|i| (&i.name, &i.terms)).collect();
            rode_along.push(format!("{text:?} -> {names:?}"));
        }
    }
    assert!(rode_along.is_empty(), "small talk got skills:\n{}", rode_along.join("\n"));
}

fn names(sel: &metaclaw::skills::Selection) -> Vec<String> {
    sel.injected.iter().map(|i| i.name.clone()).collect()
}

#[test]
fn a_conversation_keeps_its_skills_until_it_clearly_turns_to_something_else() {
    let snap = Snapshot::from_skills(builtin());
    let cfg = SkillsConfig::default();
    let mut messages =
        vec![serde_json::json!({"role": "user", "content": "my test keeps failing intermittently on CI, help"})];
    let first = names(&snap.select(&messages, &cfg, None));
    assert!(first.contains(&"fix-flaky-tests".to_string()), "{first:?}");
    // Small talk and a vague follow-up keep the same set (the same prompt prefix upstream).
    for follow_up in ["thanks!", "ok, and what about the other one?", "Tell me one fun fact about cats."] {
        messages.push(serde_json::json!({"role": "assistant", "content": "Here is what I found."}));
        messages.push(serde_json::json!({"role": "user", "content": follow_up}));
        assert_eq!(names(&snap.select(&messages, &cfg, None)), first, "after {follow_up:?}");
    }
    // A request that clearly matches another skill changes it.
    messages.push(serde_json::json!({"role": "assistant", "content": "Sure."}));
    messages.push(
        serde_json::json!({"role": "user", "content": "now set up a cron job that runs the nightly backup at 2am"}),
    );
    let later = names(&snap.select(&messages, &cfg, None));
    assert!(later.contains(&"schedule-cron-jobs".to_string()) && later != first, "{later:?}");
    // A conversation that started with small talk gets nothing until it asks for something.
    let chat = [
        serde_json::json!({"role": "user", "content": "Say hi."}),
        serde_json::json!({"role": "assistant", "content": "Hi!"}),
        serde_json::json!({"role": "user", "content": "Name two planets."}),
    ];
    assert!(snap.select(&chat, &cfg, None).injected.is_empty());
}
