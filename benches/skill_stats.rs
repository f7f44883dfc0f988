//! `cargo bench --bench skill_stats`: per-skill effectiveness statistics for 1,000 skills over
//! 100,000 turns (issue 17's target: at most 200 ms), next to a baseline measured in the same run
//! on the same database — a plain `SELECT count(*)` over the exposure rows — since the machine is
//! shared and noisy.

use std::time::Instant;

use metaclaw::effect::report;
use metaclaw::store::effect::{self as table, Exposure, ExposureState, DAY_MS};
use rusqlite::{params, Connection};

const SKILLS: usize = 1_000;
const TURNS: i64 = 100_000;
const DAYS: i64 = 30;
const AGENTS: [&str; 4] = ["openclaw", "codex", "claude-code", "unknown"];

/// Deterministic pseudo-random numbers, so every run measures the same database.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    /// Zipf-like over `0..n`: a few skills match often, most rarely.
    fn skill(&mut self, n: usize) -> usize {
        let r = (self.next() % 1_000_000) as f64 / 1_000_000.0;
        (((n as f64).powf(r) - 1.0) as usize).min(n - 1)
    }
}

/// A database at the current schema with `TURNS` turns' exposure and scores.
fn fill(path: &std::path::Path) -> Connection {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let store = metaclaw::store::Store::open(path, std::time::Duration::from_millis(10)).unwrap();
        store.close().await;
    });
    let mut c = Connection::open(path).unwrap();
    // Exposure and scores without the turns' own rows (not what is measured).
    c.pragma_update(None, "foreign_keys", "OFF").unwrap();
    let tx = c.transaction().unwrap();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let start = 1_750_000_000_000 - DAYS * DAY_MS;
    let mut rows = Vec::with_capacity(4);
    for id in 1..=TURNS {
        let at = start + id * DAYS * DAY_MS / TURNS;
        let agent = AGENTS[(rng.next() % 4) as usize];
        if rng.next() % 10 < 7 {
            let score = (rng.next() % 3) as i64 - 1;
            tx.execute(
                "INSERT INTO turn_scores(turn_id, score, source, created_at) VALUES (?1, ?2, 'judge', ?3)",
                params![id, score, at],
            )
            .unwrap();
        }
        rows.clear();
        let states = [ExposureState::Injected, ExposureState::Injected, ExposureState::Budget, ExposureState::Absent];
        for (k, state) in states.into_iter().enumerate() {
            let skill = format!("skill-{:04}", (rng.skill(SKILLS) + k * 7) % SKILLS);
            if rows.iter().any(|r: &Exposure| r.skill == skill) {
                continue;
            }
            let state =
                if state == ExposureState::Budget && rng.next() % 10 == 0 { ExposureState::HeldOut } else { state };
            rows.push(Exposure { turn_id: id, skill, hash: None, state, score: 0.4, agent: agent.into(), at });
        }
        table::insert(&tx, &rows).unwrap();
    }
    tx.commit().unwrap();
    c
}

/// The median of `runs` timings of `f`, in ms.
fn median_ms(runs: usize, mut f: impl FnMut()) -> f64 {
    let mut t: Vec<f64> = (0..runs)
        .map(|_| {
            let s = Instant::now();
            f();
            s.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[runs / 2]
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("stats.db");
    let t = Instant::now();
    let c = fill(&path);
    let exposure = table::count(&c).unwrap();
    let aggregate: i64 = c.query_row("SELECT count(*) FROM skill_stats", [], |r| r.get(0)).unwrap();
    println!(
        "filled {TURNS} turns: {exposure} exposure rows, {aggregate} aggregate rows, in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let mut skills = 0;
    let stats = median_ms(7, || skills = report::list(&c, None).unwrap().len());
    let agent = metaclaw::agent::AgentId::parse("codex").unwrap();
    let one_agent = median_ms(7, || {
        report::list(&c, Some(&agent)).unwrap();
    });
    let detail = median_ms(7, || {
        report::detail(&c, "skill-0000", None).unwrap().unwrap();
    });
    let baseline = median_ms(7, || {
        table::count(&c).unwrap();
    });
    println!("statistics for {skills} skills over {TURNS} turns: {stats:.1} ms (target <= 200 ms)");
    println!("  one agent's: {one_agent:.1} ms; one skill with its days: {detail:.2} ms");
    println!("  baseline, SELECT count(*) over the {exposure} exposure rows: {baseline:.1} ms");
    println!("  statistics / baseline: {:.2}x", stats / baseline);
}
