//! Retrieval quality on the labelled query set (`tests/data/retrieval-queries.json`), shared by
//! the quality test (which keeps a floor) and the benchmark (which reports the figures).

use metaclaw::config::SkillsConfig;
use metaclaw::skills::Snapshot;
use serde::Deserialize;

#[derive(Deserialize)]
pub struct Labelled {
    pub query: String,
    pub relevant: Vec<String>,
}

pub fn queries() -> Vec<Labelled> {
    let text = include_str!("../data/retrieval-queries.json");
    serde_json::from_str(text).expect("the labelled query set parses")
}

/// Macro-averaged precision@k and recall@k (k = top_k) of what would be injected, plus the
/// share of queries whose best relevant skill is injected at all, and the misses for reading.
pub struct Quality {
    pub precision: f64,
    pub recall: f64,
    pub hit_rate: f64,
    pub queries: usize,
    #[allow(dead_code)] // read by the quality test, not the benchmark
    pub misses: Vec<String>,
}

pub fn measure(snap: &Snapshot, cfg: &SkillsConfig) -> Quality {
    let qs = queries();
    let (mut p, mut r, mut hit) = (0.0, 0.0, 0.0);
    let mut misses = Vec::new();
    for q in &qs {
        let got: Vec<String> =
            snap.explain(&q.query, cfg, None).candidates.into_iter().filter(|c| c.injected).map(|c| c.name).collect();
        let good = got.iter().filter(|g| q.relevant.contains(g)).count() as f64;
        let (qp, qr) = match (got.is_empty(), q.relevant.is_empty()) {
            (true, true) => (1.0, 1.0),
            (false, true) => (0.0, 1.0),
            (true, false) => (1.0, 0.0),
            (false, false) => (good / got.len() as f64, good / q.relevant.len() as f64),
        };
        p += qp;
        r += qr;
        let first_ok = q.relevant.first().is_none_or(|f| got.contains(f)) && (!q.relevant.is_empty() || got.is_empty());
        if first_ok {
            hit += 1.0;
        } else {
            misses.push(format!("{:?} -> {:?} (want {:?})", q.query, got, q.relevant));
        }
    }
    let n = qs.len() as f64;
    Quality { precision: p / n, recall: r / n, hit_rate: hit / n, queries: qs.len(), misses }
}
