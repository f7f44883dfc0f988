//! `cargo bench --bench skills`: retrieval quality on the labelled set, retrieval latency over
//! 10,000 skills, and the time to load 10,000 skills from disk. Latency is reported next to a
//! baseline measured in the same run (a plain substring scan over the same skills), since the
//! machine is shared and noisy.

#[path = "../tests/support/retrieval_eval.rs"]
mod eval;

use std::collections::BTreeMap;
use std::time::Instant;

use metaclaw::config::SkillsConfig;
use metaclaw::skills::{builtin, render, validate_dir, Origin, Skill, Snapshot};
use serde_json::json;

/// Deterministic pseudo-random words, so every run indexes the same library.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn word<'a>(&mut self, vocab: &'a [String]) -> &'a str {
        // Zipf-like: low indices far more often, as in natural text.
        let r = (self.next() % 1_000_000) as f64 / 1_000_000.0;
        let i = ((vocab.len() as f64).powf(r) - 1.0) as usize;
        &vocab[i.min(vocab.len() - 1)]
    }
}

fn synthetic(n: usize) -> Vec<Skill> {
    // Vocabulary: the built-in bank's words, so queries hit realistic postings.
    let mut vocab: Vec<String> = builtin()
        .iter()
        .flat_map(|s| {
            format!("{} {}", s.description, s.body)
                .split(|c: char| !c.is_alphanumeric())
                .map(str::to_lowercase)
                .collect::<Vec<_>>()
        })
        .filter(|w| w.len() > 2)
        .collect();
    vocab.sort();
    vocab.dedup();
    let mut rng = Rng(0x9e3779b97f4a7c15);
    (0..n)
        .map(|i| {
            let desc: Vec<&str> = (0..24).map(|_| rng.word(&vocab)).collect();
            let body: Vec<&str> = (0..150).map(|_| rng.word(&vocab)).collect();
            let mut meta = BTreeMap::new();
            meta.insert("category".to_string(), ["coding", "research", "automation", "agentic"][i % 4].to_string());
            Skill::new(
                format!("skill-{i:05}"),
                format!("Use when {}.", desc.join(" ")),
                body.join(" "),
                None,
                None,
                vec![],
                meta,
                Origin::User,
            )
        })
        .collect()
}

fn pct(v: &mut [f64], q: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v[((q * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1]
}

fn main() {
    let cfg = SkillsConfig::default();
    let q = eval::measure(&Snapshot::from_skills(builtin()), &cfg);
    println!(
        "retrieval quality (built-in bank, {} labelled queries): precision@{k} {:.3}, recall@{k} {:.3}, best skill injected {:.3}",
        q.queries, q.precision, q.recall, q.hit_rate, k = cfg.top_k
    );

    let skills = synthetic(10_000);
    let dir = tempfile::tempdir().unwrap();
    for s in &skills {
        let d = dir.path().join(&s.name);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("SKILL.md"), render(s)).unwrap();
    }
    let t = Instant::now();
    let parsed = validate_dir(dir.path()).unwrap();
    let loaded: Vec<Skill> = parsed.into_iter().filter_map(|p| p.skill.ok()).collect();
    let parse_ms = t.elapsed().as_secs_f64() * 1e3;
    let snap = Snapshot::from_skills(loaded);
    let load_ms = t.elapsed().as_secs_f64() * 1e3;
    assert_eq!(snap.active().count(), 10_000);
    println!(
        "loading 10,000 skills from disk: {load_ms:.0} ms (parse {parse_ms:.0} ms, index {:.0} ms)",
        load_ms - parse_ms
    );

    let queries: Vec<serde_json::Value> = eval::queries()
        .iter()
        .map(|l| json!([{"role": "system", "content": "You are an agent."}, {"role": "user", "content": l.query}]))
        .collect();
    let texts: Vec<String> = eval::queries().into_iter().map(|l| l.query.to_lowercase()).collect();
    let descs: Vec<String> = snap.active().map(|s| s.description.to_lowercase()).collect();
    let (mut ours, mut base) = (Vec::new(), Vec::new());
    let mut injected = 0usize;
    for round in 0..20 {
        for (i, msgs) in queries.iter().enumerate() {
            let t = Instant::now();
            let sel = snap.select(msgs.as_array().unwrap(), &cfg, None);
            ours.push(t.elapsed().as_secs_f64() * 1e6);
            injected += sel.injected.len();
            // Baseline: the cheapest possible "retrieval", one substring test per skill.
            let word = texts[i].split_whitespace().max_by_key(|w| w.len()).unwrap_or("");
            let t = Instant::now();
            let hits = descs.iter().filter(|d| d.contains(word)).count();
            base.push(t.elapsed().as_secs_f64() * 1e6);
            std::hint::black_box((hits, round));
        }
    }
    let (p50, p99) = (pct(&mut ours, 0.5), pct(&mut ours, 0.99));
    let (b50, b99) = (pct(&mut base, 0.5), pct(&mut base, 0.99));
    println!(
        "retrieval over 10,000 skills ({} queries): p50 {p50:.0} µs, p99 {p99:.0} µs; baseline substring scan p50 {b50:.0} µs, p99 {b99:.0} µs ({:.2}x the baseline at p99)",
        ours.len(),
        p99 / b99
    );
    std::hint::black_box(injected);
}
