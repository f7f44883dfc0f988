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
