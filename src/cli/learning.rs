//! `metaclaw evolve`, `review`, `generations`, `dataset` and `feedback`: the learning loop from
//! the command line, over the admin API.

use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::Subcommand;

use metaclaw::api::types::learning::{
    ApprovalScope, ApproveArg, Candidate, CandidateFilter, CandidateStatus, DatasetQuery, EvolveArg, LearningQuery,
    Limit, RejectArg, Replay, Split, ValidationSummary,
};
use metaclaw::api::types::status::Feedback;
use metaclaw::evolve::Failure;
use metaclaw::home::Home;

use super::client::{api, print_json};
use super::output::{table, time};

#[derive(Debug, Subcommand)]
pub enum ReviewCmd {
    /// Candidates proposed by the evolver (pending by default).
    List {
        /// pending, approved, rejected, deferred, stale, or all.
        #[arg(long, default_value = "pending")]
        status: String,
        /// Only candidates learned from this agent's turns.
        #[arg(long, value_parser = |s: &str| metaclaw::agent::AgentId::parse(s).map_err(|e| e.to_string()))]
        agent: Option<metaclaw::agent::AgentId>,
        #[arg(long)]
        json: bool,
    },
    /// One candidate: the proposed SKILL.md, what it replaces, its evidence and replay verdict.
    Show { id: i64 },
    /// Approve a candidate (optionally your edited SKILL.md from a file); applies from the next turn.
    Approve {
        id: i64,
        #[arg(long)]
        file: Option<PathBuf>,
        /// Serve every agent, even if the candidate was scoped to the one agent it came from.
        #[arg(long)]
        shared: bool,
    },
    /// Reject a candidate; the reason is remembered so it isn't proposed again.
    Reject {
        id: i64,
        #[arg(long)]
        reason: Option<String>,
    },
    /// Decide later.
    Defer { id: i64 },
}

#[derive(Debug, Subcommand)]
pub enum EvolveCmd {
    /// The evolver's runs, newest first: what each ended in (proposed, nothing, screened out,
    /// malformed, timed out, failed) and why.
    Runs {
        #[arg(long, default_value_t = 20)]
        limit: u32,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum GenerationsCmd {
    /// The library's generations, newest first, with the learning signal of each.
    List {
        #[arg(long)]
        json: bool,
        /// Only this agent's turns count toward each generation's signal.
        #[arg(long, value_parser = |s: &str| metaclaw::agent::AgentId::parse(s).map_err(|e| e.to_string()))]
        agent: Option<metaclaw::agent::AgentId>,
    },
    /// What changed between two generations.
    Diff { from: i64, to: i64 },
    /// Make the library what it was at a generation (itself a new generation).
    Rollback { generation: i64 },
}

#[derive(Debug, Subcommand)]
pub enum DatasetCmd {
    /// Export turns for policy training as JSON lines.
    Export {
        /// `query` (scored turns of the current generation, never support) or `support`.
        #[arg(long, default_value = "query")]
        split: String,
        /// Only `jsonl` for now.
        #[arg(long, default_value = "jsonl")]
        format: String,
        /// Write here instead of standard output.
        #[arg(long)]
        output: Option<PathBuf>,
    },
}

/// A candidate status from the command line (`all` is `None`).
fn candidate_status(s: &str) -> Result<Option<CandidateStatus>> {
    if s == "all" {
        return Ok(None);
    }
    serde_json::from_value(serde_json::Value::String(s.to_string()))
        .map(Some)
        .map_err(|_| anyhow::anyhow!("--status is pending, approved, rejected, deferred, stale or all, not {s:?}"))
}

pub async fn evolve(home: &Home, session: Option<String>, retry_failed: bool) -> Result<()> {
    let api = api(home)?;
    if retry_failed {
        let n = api.evolve_retry_failed().await?.turns;
        println!("{n} failed turn{} used up by failed runs brought back", if n == 1 { "" } else { "s" });
    }
    let r = api.evolve(&EvolveArg { session }).await?;
    if r.failures == 0 {
        println!("no failed turns waiting to be learned from");
        return Ok(());
    }
    let failures = r.failures;
    if let Some(e) = &r.error {
        let outcome = r.outcome.map_or("failed", |o| o.as_str());
        println!("the evolver's answer was unusable ({outcome}): {e}");
        println!("the {failures} failed turns wait for the next run (`metaclaw evolve runs` lists the runs)");
    } else if r.proposed.is_empty() {
        println!("looked at {failures} failed turns and proposed nothing");
    } else {
        println!("looked at {failures} failed turns; proposed candidates: {}", serde_json::to_string(&r.proposed)?);
    }
    for d in &r.dropped {
        println!("dropped: {d}");
    }
    Ok(())
}

pub async fn runs(home: &Home, limit: u32, json: bool) -> Result<()> {
    let list = api(home)?.evolve_runs(&Limit { limit: Some(limit) }).await?;
    if json {
        return print_json(&list);
    }
    let rows = list
        .runs
        .iter()
        .map(|r| {
            vec![
                r.id.to_string(),
                time(r.created_at),
                r.trigger.to_string(),
                r.session_id.clone().unwrap_or_else(|| "-".into()),
                r.turns.len().to_string(),
                r.status.to_string(),
                r.candidates.to_string(),
                r.reason.as_deref().map(|s| super::output::one_line(s, 100)).unwrap_or_default(),
            ]
        })
        .collect();
    table(&["RUN", "WHEN", "TRIGGER", "SESSION", "TURNS", "OUTCOME", "CANDIDATES", "REASON"], rows);
    Ok(())
}

/// A validation set's verdicts in a few characters: `2W 1T 0L`, with errors and unjudged turns.
fn validation_counts(v: &ValidationSummary) -> String {
    let mut out = format!("{}W {}T {}L", v.wins, v.ties, v.losses);
    if v.errors > 0 {
        out.push_str(&format!(" {}E", v.errors));
    }
    if v.unjudged > 0 {
        out.push_str(&format!(" ({} unjudged)", v.unjudged));
    }
    out
}

/// A candidate's replay verdict, when it has one of the expected shape.
fn replay(c: &Candidate) -> Option<Replay> {
    c.replay.clone().and_then(|r| serde_json::from_value(r).ok())
}

pub async fn review(home: &Home, cmd: ReviewCmd) -> Result<()> {
    let api = api(home)?;
    match cmd {
        ReviewCmd::List { status, agent, json } => {
            let list = api.candidates(&CandidateFilter { status: candidate_status(&status)?, agent }).await?;
            if json {
                return print_json(&list);
            }
            let rows = list
                .candidates
                .iter()
                .map(|c| {
                    let verdict = match replay(c).map(|r| r.improved) {
                        Some(true) => "improves",
                        Some(false) => "no better",
                        None => "-",
                    };
                    let validation = c.validation.as_ref().map(validation_counts).unwrap_or_else(|| "-".into());
                    vec![
                        c.id.to_string(),
                        c.status.to_string(),
                        c.action.to_string(),
                        c.name.clone(),
                        verdict.into(),
                        validation,
                        time(c.created_at),
                        c.rationale.chars().take(60).collect(),
                    ]
                })
                .collect();
            table(&["ID", "STATUS", "ACTION", "SKILL", "REPLAY", "VALIDATION", "PROPOSED", "WHY"], rows);
        }
        ReviewCmd::Show { id } => {
            let c = api.candidate(id).await?;
            println!(
                "candidate {id} · {} · {} {} · support turns {}",
                c.status,
                c.action,
                c.name,
                serde_json::to_string(&c.support)?
            );
            println!("why: {}", c.rationale);
            if let Some(r) = replay(&c) {
                println!(
                    "replay: {} (judge: {})",
                    if r.improved { "improves on the failed answer" } else { "no better than the failed answer" },
                    r.reason.as_deref().unwrap_or("")
                );
            }
            if let Some(v) = &c.validation {
                println!("validation: {}", validation_counts(v));
                for t in &v.turns {
                    let why = t.reason.as_deref().map(|r| super::output::one_line(r, 160)).unwrap_or_default();
                    println!("  {} turn {} ({}): {why}", t.verdict, t.turn_id, t.role);
                }
                if let Some(note) = &v.note {
                    println!("  {note}");
                }
            }
            if let Some(ops) = &c.ops {
                let plural = if ops.len() == 1 { "" } else { "s" };
                println!("\nchanges to {} ({} operation{plural}):", c.name, ops.len());
                for op in ops {
                    println!("  {}", op.describe());
                }
            }
            if let Some(share) = c.removed_share.filter(|s| *s > 0.5) {
                println!("warning: this edit removes {:.0}% of the skill's lines", share * 100.0);
            }
            if c.status == CandidateStatus::Stale {
                println!("stale: {}", c.reason.as_deref().unwrap_or("the skill changed since"));
            }
            // Evidence of the expected shape; older records may differ and are left out.
            let evidence: Vec<Failure> = serde_json::from_value(c.evidence.clone()).unwrap_or_default();
            for f in evidence {
                println!("\nfailed turn {}: {}", f.turn_id, f.request);
                if let Some(n) = &f.next_message {
                    println!("  the user then said: {n}");
                }
                match (f.source.as_str(), f.reason.as_deref()) {
                    ("user", Some(r)) => println!("  you: {r}"),
                    ("user", None) => println!("  you: marked it failed"),
                    (_, Some(r)) => println!("  judge: {}", super::output::one_line(r, 400)),
                    _ => {}
                }
            }
            if let Some(p) = &c.previous {
                println!("\n--- current SKILL.md ---\n{p}");
            }
            println!("\n--- proposed SKILL.md ---\n{}", c.content);
        }
        ReviewCmd::Approve { id, file, shared } => {
            let content = match file {
                Some(f) => {
                    Some(std::fs::read_to_string(&f).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", f.display()))?)
                }
                None => None,
            };
            let scope = shared.then_some(ApprovalScope::Shared);
            let r = api.approve(id, &ApproveArg { content, scope }).await?;
            let generation = r.generation.map(|g| g.to_string()).unwrap_or_else(|| "unknown".into());
            println!("approved; the library is now at generation {generation}");
        }
        ReviewCmd::Reject { id, reason } => {
            api.reject(id, &RejectArg { reason }).await?;
            println!("rejected; it won't be proposed again");
        }
        ReviewCmd::Defer { id } => {
            api.defer(id).await?;
            println!("deferred");
        }
    }
    Ok(())
}

pub async fn generations(home: &Home, cmd: GenerationsCmd) -> Result<()> {
    let api = api(home)?;
    match cmd {
        GenerationsCmd::List { json, agent } => {
            let list = api.learning(&LearningQuery { agent, ..Default::default() }).await?;
            if json {
                return print_json(&list);
            }
            let rows = list
                .generations
                .iter()
                .map(|g| {
                    vec![
                        g.generation.to_string(),
                        time(g.created_at),
                        g.turns.to_string(),
                        g.mean_score.map(|m| format!("{m:+.2}")).unwrap_or_else(|| "-".into()),
                        g.failure_rate.map(|f| format!("{:.0}%", f * 100.0)).unwrap_or_else(|| "-".into()),
                        g.reason.clone(),
                    ]
                })
                .collect();
            table(&["GEN", "SINCE", "TURNS", "MEAN SCORE", "FAILED", "WHY"], rows);
        }
        GenerationsCmd::Diff { from, to } => {
            let d = api.generation_diff(from, to).await?;
            if d.changes.is_empty() {
                println!("generations {from} and {to} have the same skills");
            }
            for c in d.changes {
                println!("== {} {}", c.change, c.name);
                if let Some(b) = c.before {
                    println!("--- before\n{b}");
                }
                if let Some(a) = c.after {
                    println!("+++ after\n{a}");
                }
            }
        }
        GenerationsCmd::Rollback { generation } => {
            let r = api.rollback(generation).await?;
            println!("rolled back to generation {generation}; the library is now at generation {}", r.generation);
        }
    }
    Ok(())
}

pub async fn dataset(home: &Home, cmd: DatasetCmd) -> Result<()> {
    let DatasetCmd::Export { split, format, output } = cmd;
    if format != "jsonl" {
        bail!("only --format jsonl is supported");
    }
    let split = match split.as_str() {
        "query" => Split::Query,
        "support" => Split::Support,
        _ => bail!("--split is query or support"),
    };
    let text = api(home)?.dataset(&DatasetQuery { split: Some(split), limit: None }).await?;
    match output {
        Some(path) => {
            metaclaw::home::write_atomic(&path, text.as_bytes(), 0o600)?;
            eprintln!("wrote {} turns to {}", text.lines().count(), path.display());
        }
        None => print!("{text}"),
    }
    Ok(())
}

pub async fn feedback(home: &Home, turn: i64, score: i64, note: Option<String>) -> Result<()> {
    if score != 1 && score != -1 {
        bail!("the score is 1 (good) or -1 (failed)");
    }
    api(home)?.feedback(turn, &Feedback { score, note }).await?;
    println!("turn {turn} marked {}", if score > 0 { "good" } else { "failed" });
    Ok(())
}
