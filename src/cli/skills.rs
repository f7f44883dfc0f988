//! `metaclaw skills …`: the skill library from the command line.

use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::Subcommand;
use reqwest::Method;
use serde_json::{json, Value};

use metaclaw::home::Home;
use metaclaw::skills::validate_dir;

use super::client::call;
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
}

fn abs(p: PathBuf) -> Result<String> {
    Ok(std::path::absolute(&p)?.display().to_string())
}

pub async fn run(home: &Home, cmd: SkillsCmd) -> Result<()> {
    match cmd {
        SkillsCmd::List { search, category, origin, json } => {
            let mut q = Vec::new();
            for (k, v) in [("q", search), ("category", category), ("origin", origin)] {
                if let Some(v) = v {
                    q.push(format!("{k}={}", urlencoding(&v)));
                }
            }
            let path = if q.is_empty() { "/api/skills".to_string() } else { format!("/api/skills?{}", q.join("&")) };
            let v = call(home, Method::GET, &path, None).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&v)?);
                return Ok(());
            }
            let rows = v["skills"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|s| {
                    let desc: String = s["description"].as_str().unwrap_or("").chars().take(70).collect();
                    vec![
                        s["name"].as_str().unwrap_or("").to_string(),
                        s["category"].as_str().unwrap_or("").to_string(),
                        s["origin"].as_str().unwrap_or("").to_string(),
                        if s["enabled"] == true { "on".into() } else { "off".into() },
                        desc,
                    ]
                })
                .collect();
            table(&["NAME", "CATEGORY", "ORIGIN", "", "DESCRIPTION"], rows);
            println!("generation {}", v["generation"]);
            for p in v["problems"].as_array().into_iter().flatten() {
                println!(
                    "skipped: {}:{} {}",
                    p["file"].as_str().unwrap_or(""),
                    p["line"],
                    p["reason"].as_str().unwrap_or("")
                );
            }
        }
        SkillsCmd::Show { name } => {
            let v = call(home, Method::GET, &format!("/api/skills/{name}"), None).await?;
            println!(
                "# {} · {} · {}",
                v["path"].as_str().unwrap_or(""),
                v["origin"].as_str().unwrap_or(""),
                if v["enabled"] == true { "enabled" } else { "disabled" }
            );
            print!("{}", v["content"].as_str().unwrap_or(""));
        }
        SkillsCmd::Enable { name } => {
            let v = call(home, Method::POST, &format!("/api/skills/{name}/enable"), None).await?;
            println!("{name} enabled; library generation {}", v["generation"]);
        }
        SkillsCmd::Disable { name } => {
            let v = call(home, Method::POST, &format!("/api/skills/{name}/disable"), None).await?;
            println!("{name} disabled; library generation {}", v["generation"]);
        }
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
            let v = call(
                home,
                Method::POST,
                "/api/skills/import",
                Some(json!({"path": abs(folder)?, "overwrite": overwrite})),
            )
            .await?;
            let names = |k: &str| {
                v[k].as_array()
                    .map(|a| a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", "))
                    .unwrap_or_default()
            };
            println!("imported: {}", names("imported"));
            if !names("skipped_existing").is_empty() {
                println!(
                    "skipped (you have a skill of that name; --overwrite replaces it): {}",
                    names("skipped_existing")
                );
            }
            for p in v["invalid"].as_array().into_iter().flatten() {
                println!(
                    "invalid: {}:{} {}",
                    p["file"].as_str().unwrap_or(""),
                    p["line"],
                    p["reason"].as_str().unwrap_or("")
                );
            }
            println!("library generation {}", v["generation"]);
        }
        SkillsCmd::Export { folder } => {
            let v = call(home, Method::POST, "/api/skills/export", Some(json!({"path": abs(folder)?}))).await?;
            println!("exported {} skills", v["exported"]);
        }
        SkillsCmd::Explain { request, json } => {
            let v = call(home, Method::POST, "/api/skills/explain", Some(json!({"query": request}))).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&v)?);
                return Ok(());
            }
            println!(
                "query terms: {}",
                v["query_terms"]
                    .as_array()
                    .map(|a| a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(" "))
                    .unwrap_or_default()
            );
            let rows = v["candidates"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|c| {
                    vec![
                        c["name"].as_str().unwrap_or("").to_string(),
                        format!("{:.3}", c["score"].as_f64().unwrap_or(0.0)),
                        if c["injected"] == true {
                            "injected".into()
                        } else {
                            c["dropped"].as_str().unwrap_or("").to_string()
                        },
                        c["terms"]
                            .as_array()
                            .map(|a| a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(" "))
                            .unwrap_or_default(),
                    ]
                })
                .collect();
            table(&["SKILL", "SCORE", "DECISION", "MATCHED TERMS"], rows);
            println!("{} tokens would be injected (library generation {})", v["tokens"], v["generation"]);
        }
    }
    Ok(())
}

fn urlencoding(s: &str) -> String {
    reqwest::Url::parse_with_params("http://x/", &[("v", s)])
        .ok()
        .and_then(|u| u.query().map(|q| q.trim_start_matches("v=").to_string()))
        .unwrap_or_default()
}
