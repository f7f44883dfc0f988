//! `metaclaw evolve`, `review`, `generations`, `dataset` and `feedback`: the learning loop from
//! the command line, over the admin API.

use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::Subcommand;
use reqwest::Method;
use serde_json::{json, Value};

use metaclaw::home::Home;

use super::client::{call, call_text};
use super::output::{table, time};

#[derive(Debug, Subcommand)]
pub enum ReviewCmd {
    /// Candidates proposed by the evolver (pending by default).
    List {
        /// pending, approved, rejected, deferred, or all.
        #[arg(long, default_value = "pending")]
        status: String,
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

fn pretty(v: &Value) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

pub async fn evolve(home: &Home, session: Option<String>, retry_failed: bool) -> Result<()> {
    if retry_failed {
        let v = call(home, Method::POST, "/api/evolve/retry-failed", None).await?;
        let n = v["turns"].as_i64().unwrap_or(0);
        println!("{n} failed turn{} used up by failed runs brought back", if n == 1 { "" } else { "s" });
    }
    let v = call(home, Method::POST, "/api/evolve", Some(json!({"session": session}))).await?;
    if v["failures"] == 0 {
        println!("no failed turns waiting to be learned from");
        return Ok(());
    }
    let failures = v["failures"].as_i64().unwrap_or(0);
    let proposed = v["proposed"].as_array().map(Vec::len).unwrap_or(0);
    if let Some(e) = v["error"].as_str() {
        println!("the evolver's answer was unusable ({}): {e}", v["outcome"].as_str().unwrap_or("failed"));
        println!("the {failures} failed turns wait for the next run (`metaclaw evolve runs` lists the runs)");
    } else if proposed == 0 {
        println!("looked at {failures} failed turns and proposed nothing");
    } else {
        println!("looked at {failures} failed turns; proposed candidates: {}", v["proposed"]);
    }
    for d in v["dropped"].as_array().into_iter().flatten() {
        println!("dropped: {}", d.as_str().unwrap_or(""));
    }
    Ok(())
}

pub async fn runs(home: &Home, limit: u32, json: bool) -> Result<()> {
    let v = call(home, Method::GET, &format!("/api/evolve/runs?limit={limit}"), None).await?;
    if json {
        return pretty(&v);
    }
    let rows = v["runs"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            let turns = r["turns"].as_array().map(Vec::len).unwrap_or(0);
            vec![
                r["id"].to_string(),
                r["created_at"].as_i64().map(time).unwrap_or_default(),
                r["trigger"].as_str().unwrap_or("").to_string(),
                r["session_id"].as_str().unwrap_or("-").to_string(),
                turns.to_string(),
                r["status"].as_str().unwrap_or("").to_string(),
                r["candidates"].to_string(),
                r["reason"].as_str().map(|s| super::output::one_line(s, 100)).unwrap_or_default(),
            ]
        })
        .collect();
    table(&["RUN", "WHEN", "TRIGGER", "SESSION", "TURNS", "OUTCOME", "CANDIDATES", "REASON"], rows);
    Ok(())
}

pub async fn review(home: &Home, cmd: ReviewCmd) -> Result<()> {
    match cmd {
        ReviewCmd::List { status, json } => {
            let q = if status == "all" { String::new() } else { format!("?status={status}") };
            let v = call(home, Method::GET, &format!("/api/candidates{q}"), None).await?;
            if json {
                return pretty(&v);
            }
            let rows = v["candidates"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|c| {
                    let replay = match c["replay"]["improved"].as_bool() {
                        Some(true) => "improves",
                        Some(false) => "no better",
                        None => "-",
                    };
                    vec![
                        c["id"].to_string(),
                        c["status"].as_str().unwrap_or("").into(),
                        c["action"].as_str().unwrap_or("").into(),
                        c["name"].as_str().unwrap_or("").into(),
                        replay.into(),
                        time(c["created_at"].as_i64().unwrap_or(0)),
                        c["rationale"].as_str().unwrap_or("").chars().take(60).collect(),
                    ]
                })
                .collect();
            table(&["ID", "STATUS", "ACTION", "SKILL", "REPLAY", "PROPOSED", "WHY"], rows);
        }
        ReviewCmd::Show { id } => {
            let c = call(home, Method::GET, &format!("/api/candidates/{id}"), None).await?;
            println!(
                "candidate {id} · {} · {} {} · support turns {}",
                c["status"].as_str().unwrap_or(""),
                c["action"].as_str().unwrap_or(""),
                c["name"].as_str().unwrap_or(""),
                c["support"]
            );
            println!("why: {}", c["rationale"].as_str().unwrap_or(""));
            if let Some(r) = c["replay"].as_object() {
                println!(
                    "replay: {} (judge: {})",
                    if r["improved"] == true {
                        "improves on the failed answer"
                    } else {
                        "no better than the failed answer"
                    },
                    r["reason"].as_str().unwrap_or("")
                );
            }
            for f in c["evidence"].as_array().into_iter().flatten() {
                println!("\nfailed turn {}: {}", f["turn_id"], f["request"].as_str().unwrap_or(""));
                if let Some(n) = f["next_message"].as_str() {
                    println!("  the user then said: {n}");
                }
                match (f["source"].as_str(), f["reason"].as_str()) {
                    (Some("user"), Some(r)) => println!("  you: {r}"),
                    (Some("user"), None) => println!("  you: marked it failed"),
                    (_, Some(r)) => println!("  judge: {}", super::output::one_line(r, 400)),
                    _ => {}
                }
            }
            if let Some(p) = c["previous"].as_str() {
                println!("\n--- current SKILL.md ---\n{p}");
            }
            println!("\n--- proposed SKILL.md ---\n{}", c["content"].as_str().unwrap_or(""));
        }
        ReviewCmd::Approve { id, file } => {
            let content = match file {
                Some(f) => {
                    Some(std::fs::read_to_string(&f).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", f.display()))?)
                }
                None => None,
            };
            let v =
                call(home, Method::POST, &format!("/api/candidates/{id}/approve"), Some(json!({"content": content})))
                    .await?;
            println!("approved; the library is now at generation {}", v["generation"]);
        }
        ReviewCmd::Reject { id, reason } => {
            call(home, Method::POST, &format!("/api/candidates/{id}/reject"), Some(json!({"reason": reason}))).await?;
            println!("rejected; it won't be proposed again");
        }
        ReviewCmd::Defer { id } => {
            call(home, Method::POST, &format!("/api/candidates/{id}/defer"), None).await?;
            println!("deferred");
        }
    }
    Ok(())
}

pub async fn generations(home: &Home, cmd: GenerationsCmd) -> Result<()> {
    match cmd {
        GenerationsCmd::List { json } => {
            let v = call(home, Method::GET, "/api/learning", None).await?;
            if json {
                return pretty(&v);
            }
            let rows = v["generations"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|g| {
                    vec![
                        g["generation"].to_string(),
                        time(g["created_at"].as_i64().unwrap_or(0)),
                        g["turns"].to_string(),
                        g["mean_score"].as_f64().map(|m| format!("{m:+.2}")).unwrap_or_else(|| "-".into()),
                        g["failure_rate"].as_f64().map(|f| format!("{:.0}%", f * 100.0)).unwrap_or_else(|| "-".into()),
                        g["reason"].as_str().unwrap_or("").into(),
                    ]
                })
                .collect();
            table(&["GEN", "SINCE", "TURNS", "MEAN SCORE", "FAILED", "WHY"], rows);
        }
        GenerationsCmd::Diff { from, to } => {
            let v = call(home, Method::GET, &format!("/api/generations/{from}/diff/{to}"), None).await?;
            let changes = v["changes"].as_array().cloned().unwrap_or_default();
            if changes.is_empty() {
                println!("generations {from} and {to} have the same skills");
            }
            for c in changes {
                println!("== {} {}", c["change"].as_str().unwrap_or(""), c["name"].as_str().unwrap_or(""));
                if let Some(b) = c["before"].as_str() {
                    println!("--- before\n{b}");
                }
                if let Some(a) = c["after"].as_str() {
                    println!("+++ after\n{a}");
                }
            }
        }
        GenerationsCmd::Rollback { generation } => {
            let v = call(home, Method::POST, &format!("/api/generations/{generation}/rollback"), None).await?;
            println!("rolled back to generation {generation}; the library is now at generation {}", v["generation"]);
        }
    }
    Ok(())
}

pub async fn dataset(home: &Home, cmd: DatasetCmd) -> Result<()> {
    let DatasetCmd::Export { split, format, output } = cmd;
    if format != "jsonl" {
        bail!("only --format jsonl is supported");
    }
    if !matches!(split.as_str(), "query" | "support") {
        bail!("--split is query or support");
    }
    let text = call_text(home, &format!("/api/dataset?split={split}")).await?;
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
    call(home, Method::POST, &format!("/api/turns/{turn}/feedback"), Some(json!({"score": score, "note": note})))
        .await?;
    println!("turn {turn} marked {}", if score > 0 { "good" } else { "failed" });
    Ok(())
}
