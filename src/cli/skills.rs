//! `metaclaw skills …`: the skill library from the command line.

use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::Subcommand;

use metaclaw::api::types::skills::{ExplainArg, Origin, PathArg, SkillQuery};
use metaclaw::home::Home;
use metaclaw::skills::validate_dir;

use super::client::{api, print_json};
use super::output::table;

#[derive(Debug, Subcommand)]
pub enum SkillsCmd {
    /// List skills (built-in and yours) with their state.
    List {
        /// Only skills whose name or description contains this.
        #[arg(long)]
        search: Option<String>,
        #[arg(long)]
        category: Option<String>,
        /// builtin, user or evolved.
        #[arg(long)]
        origin: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Print one skill's SKILL.md.
    Show { name: String },
    /// Turn a skill on (applies from the next turn).
    Enable { name: String },
    /// Turn a skill off (applies from the next turn).
    Disable { name: String },
    /// Pin a skill: the curator keeps it whatever its use, and it is never held out.
    Pin { name: String },
    /// Unpin a skill.
    Unpin { name: String },
    /// The archive: skills the curator moved out of the library (`list`, the default), or
    /// `restore NAME` to bring one back.
    Archive {
        #[command(subcommand)]
        cmd: Option<ArchiveCmd>,
    },
    /// Check a folder of skills (`<folder>/<name>/SKILL.md`) without changing anything.
    Validate { folder: PathBuf },
    /// Copy the valid skills of a folder (e.g. the reference implementation's bank) into yours.
    Import {
        folder: PathBuf,
        /// Replace your skills of the same name.
        #[arg(long)]
        overwrite: bool,
    },
    /// Write every active skill to a folder.
    Export { folder: PathBuf },
    /// Show which skills a request would get, and why.
    Explain {
        request: String,
        #[arg(long)]
        json: bool,
    },
    /// Whether each skill helps: judged turns with it against comparable turns without it.
    Stats {
        #[arg(long)]
        json: bool,
        /// Only this agent's turns.
        #[arg(long)]
        agent: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ArchiveCmd {
    /// List archived skills with why and when.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Bring an archived skill back (refused if a skill of that name exists).
    Restore { name: String },
}

fn abs(p: PathBuf) -> Result<PathBuf> {
    Ok(std::path::absolute(&p)?)
}

/// A skill origin from the command line.
fn origin(s: &str) -> Result<Origin> {
    serde_json::from_value(serde_json::Value::String(s.to_string()))
        .map_err(|_| anyhow::anyhow!("--origin is builtin, user or evolved, not {s:?}"))
}

pub async fn run(home: &Home, cmd: SkillsCmd) -> Result<()> {
    match cmd {
        SkillsCmd::List { search, category, origin: o, json } => {
            let query =
                SkillQuery { q: search, category, origin: o.as_deref().map(origin).transpose()?, enabled: None };
            let list = api(home)?.skills(&query).await?;
            if json {
                return print_json(&list);
            }
            let rows = list
                .skills
                .iter()
                .map(|s| {
                    let desc: String = s.description.chars().take(70).collect();
                    vec![
                        s.name.clone(),
                        s.category.clone(),
                        s.origin.as_str().to_string(),
                        format!("{}{}", if s.enabled { "on" } else { "off" }, if s.pinned { ", pinned" } else { "" }),
                        desc,
                    ]
                })
                .collect();
            table(&["NAME", "CATEGORY", "ORIGIN", "", "DESCRIPTION"], rows);
            println!("generation {}", list.generation);
            for p in &list.problems {
                println!("skipped: {p}");
            }
        }
        SkillsCmd::Show { name } => {
            let d = api(home)?.skill(&name).await?;
            println!(
                "# {} · {} · {}",
                d.entry.path,
                d.entry.skill.origin.as_str(),
                if d.entry.enabled { "enabled" } else { "disabled" }
            );
            print!("{}", d.content);
        }
        SkillsCmd::Enable { name } => {
            let r = api(home)?.enable_skill(&name, true).await?;
            println!("{name} enabled; library generation {}", r.generation);
        }
        SkillsCmd::Disable { name } => {
            let r = api(home)?.enable_skill(&name, false).await?;
            println!("{name} disabled; library generation {}", r.generation);
        }
        SkillsCmd::Pin { name } => {
            let r = api(home)?.pin_skill(&name, true).await?;
            println!("{} pinned; library generation {}", r.name, r.generation);
        }
        SkillsCmd::Unpin { name } => {
            let r = api(home)?.pin_skill(&name, false).await?;
            println!("{} unpinned; library generation {}", r.name, r.generation);
        }
        SkillsCmd::Archive { cmd } => match cmd.unwrap_or(ArchiveCmd::List { json: false }) {
            ArchiveCmd::List { json } => {
                let list = api(home)?.skills_archive().await?;
                if json {
                    return print_json(&list);
                }
                let rows = list
                    .skills
                    .iter()
                    .map(|s| vec![s.name.clone(), super::output::time(s.archived_at), s.reason.clone()])
                    .collect();
                table(&["NAME", "ARCHIVED", "WHY"], rows);
            }
            ArchiveCmd::Restore { name } => {
                let r = api(home)?.unarchive_skill(&name).await?;
                println!("{name} restored from the archive; library generation {}", r.generation);
            }
        },
        SkillsCmd::Validate { folder } => {
            let results = validate_dir(&folder)?;
            let mut bad = 0;
            for p in &results {
                for w in &p.warnings {
                    println!("warning: {w}");
                }
                match &p.skill {
                    Ok(s) => println!("ok: {}", s.name),
                    Err(e) => {
                        bad += 1;
                        println!("invalid: {e}");
                    }
                }
            }
            println!("{} valid, {} invalid", results.len() - bad, bad);
            if bad > 0 {
                bail!("{bad} invalid skill(s)");
            }
        }
        SkillsCmd::Import { folder, overwrite } => {
            let arg = PathArg { path: abs(folder)?, overwrite: Some(overwrite) };
            let r = api(home)?.import_skills(&arg).await?;
            println!("imported: {}", r.report.imported.join(", "));
            if !r.report.skipped_existing.is_empty() {
                println!(
                    "skipped (you have a skill of that name; --overwrite replaces it): {}",
                    r.report.skipped_existing.join(", ")
                );
            }
            for p in &r.report.invalid {
                println!("invalid: {p}");
            }
            println!("library generation {}", r.generation);
        }
        SkillsCmd::Export { folder } => {
            let r = api(home)?.export_skills(&PathArg { path: abs(folder)?, overwrite: None }).await?;
            println!("exported {} skills", r.exported);
        }
        SkillsCmd::Explain { request, json } => {
            let e = api(home)?.explain(&ExplainArg { query: request }).await?;
            if json {
                return print_json(&e);
            }
            println!("query terms: {}", e.query_terms.join(" "));
            let rows = e
                .candidates
                .iter()
                .map(|c| {
                    vec![
                        c.name.clone(),
                        format!("{:.3}", c.score),
                        if c.injected { "injected".into() } else { c.dropped.clone().unwrap_or_default() },
                        c.terms.join(" "),
                    ]
                })
                .collect();
            table(&["SKILL", "SCORE", "DECISION", "MATCHED TERMS"], rows);
            println!("{} tokens would be injected (library generation {})", e.tokens, e.generation);
        }
        SkillsCmd::Stats { json, agent } => {
            let agent = agent.map(|a| metaclaw::agent::AgentId::parse(&a)).transpose()?;
            let list = api(home)?.skill_stats(&metaclaw::api::types::stats::StatsQuery { agent }).await?;
            if json {
                return print_json(&list);
            }
            stats_table(list.skills);
        }
    }
    Ok(())
}

/// `skills stats` as a table: what helps first, then by uplift.
fn stats_table(mut skills: Vec<metaclaw::api::types::stats::SkillStats>) {
    use metaclaw::api::types::stats::{Rate, Verdict};
    if skills.is_empty() {
        println!("no skill has matched a recorded turn yet");
        return;
    }
    let rank = |v: Verdict| match v {
        Verdict::Helps => 0,
        Verdict::NoEvidence => 1,
        Verdict::Hurts => 2,
    };
    skills.sort_by(|a, b| {
        rank(a.verdict)
            .cmp(&rank(b.verdict))
            .then(b.uplift.unwrap_or(f64::NEG_INFINITY).total_cmp(&a.uplift.unwrap_or(f64::NEG_INFINITY)))
            .then_with(|| a.name.cmp(&b.name))
    });
    let rate = |r: &Rate| match r.rate {
        Some(p) => format!("{}/{} ({:.0}%)", r.wins, r.judged, p * 100.0),
        None => "-".into(),
    };
    let points = |v: Option<f64>| v.map_or_else(|| "-".to_string(), |v| format!("{:+.0}", v * 100.0));
    let rows = skills
        .iter()
        .map(|s| {
            let uplift = match s.uplift {
                Some(_) => format!("{} ({} to {})", points(s.uplift), points(s.uplift_low), points(s.uplift_high)),
                None => "-".into(),
            };
            vec![
                s.name.clone(),
                s.verdict.as_str().replace('_', " "),
                s.injected.to_string(),
                s.held_out.to_string(),
                rate(&s.carried),
                rate(&s.comparison),
                uplift,
                s.last_injected.map_or_else(|| "-".into(), super::output::time),
            ]
        })
        .collect();
    table(&["SKILL", "VERDICT", "INJECTED", "HELD OUT", "WITH", "WITHOUT", "UPLIFT (95%)", "LAST USED"], rows);
}
