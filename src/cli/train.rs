//! `metaclaw train status|history|run-now|pause|resume|rollback`: policy training, through the
//! admin API.

use anyhow::Result;
use clap::Subcommand;
use reqwest::Method;
use serde_json::{json, Value};

use metaclaw::home::Home;

use super::client::call;
use super::output::{table, time};
use super::JsonFlag;

#[derive(Debug, Subcommand)]
pub enum TrainCmd {
    /// What training is doing, what the policy serves, today's steps and spend.
    Status(JsonFlag),
    /// Training runs, newest first; with a run id, its steps.
    History {
        run: Option<i64>,
        #[arg(long, default_value_t = 20)]
        limit: u32,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Train now, without waiting for a window.
    RunNow,
    /// No training until `metaclaw train resume` (a run going now stops at once).
    Pause,
    Resume,
    /// Serve an earlier checkpoint (a step id from `history`); training continues from it.
    Rollback {
        step: i64,
    },
    /// Checkpoints one can roll back to; with `--remote RUN`, what the service holds for a run.
    Checkpoints {
        #[arg(long, value_name = "RUN")]
        remote: Option<i64>,
        #[command(flatten)]
        json: JsonFlag,
    },
}

fn num(v: &Value) -> String {
    match v.as_f64() {
        Some(f) if v.is_f64() => format!("{f:.3}"),
        Some(f) => format!("{f}"),
        None => "-".into(),
    }
}

fn s(v: &Value) -> String {
    v.as_str().map(str::to_string).unwrap_or_else(|| if v.is_null() { "-".into() } else { v.to_string() })
}

pub async fn run(home: &Home, cmd: TrainCmd) -> Result<()> {
    match cmd {
        TrainCmd::Status(j) => {
            let v = call(home, Method::GET, "/api/train", None).await?;
            if j.json {
                println!("{}", serde_json::to_string_pretty(&v)?);
                return Ok(());
            }
            print_status(&v);
        }
        TrainCmd::History { run: Some(id), json, .. } => {
            let v = call(home, Method::GET, &format!("/api/train/runs/{id}"), None).await?;
            if json.json {
                println!("{}", serde_json::to_string_pretty(&v)?);
                return Ok(());
            }
            let r = &v["run"];
            println!(
                "run {id}: {} ({}), {} — {}",
                s(&r["status"]),
                s(&r["window"]),
                time(r["started_at"].as_i64().unwrap_or(0)),
                s(&r["detail"])
            );
            let rows = v["steps"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|st| {
                    vec![
                        s(&st["id"]),
                        s(&st["status"]),
                        s(&st["batch_size"]),
                        num(&st["mean_reward"]),
                        num(&st["loss"]),
                        s(&st["tokens"]),
                        format!("${:.4}", st["cost_usd"].as_f64().unwrap_or(0.0)),
                        s(&st["sampler_path"]),
                    ]
                })
                .collect();
            table(&["STEP", "STATUS", "BATCH", "REWARD", "LOSS", "TOKENS", "COST", "SAMPLER"], rows);
        }
        TrainCmd::History { run: None, limit, json } => {
            let headers = ["RUN", "STARTED", "WINDOW", "STATUS", "STEPS", "TURNS", "REWARD", "COST"];
            list(home, &format!("/api/train/runs?limit={limit}"), json.json, &headers, |r| {
                vec![
                    s(&r["id"]),
                    time(r["started_at"].as_i64().unwrap_or(0)),
                    s(&r["window"]),
                    s(&r["status"]),
                    s(&r["steps"]),
                    s(&r["samples"]),
                    num(&r["mean_reward"]),
                    format!("${:.4}", r["cost_usd"].as_f64().unwrap_or(0.0)),
                ]
            })
            .await?;
        }
        TrainCmd::Checkpoints { remote: Some(run), json } => {
            let path = format!("/api/train/runs/{run}/remote-checkpoints");
            list(home, &path, json.json, &["TYPE", "ID", "TIME", "PATH"], |c| {
                vec![s(&c["checkpoint_type"]), s(&c["checkpoint_id"]), s(&c["time"]), s(&c["tinker_path"])]
            })
            .await?;
        }
        TrainCmd::Checkpoints { remote: None, json } => {
            list(home, "/api/train/checkpoints", json.json, &["STEP", "SAVED", "REWARD", "SAMPLER"], |st| {
                vec![
                    s(&st["id"]),
                    time(st["ended_at"].as_i64().unwrap_or(0)),
                    num(&st["mean_reward"]),
                    s(&st["sampler_path"]),
                ]
            })
            .await?;
        }
        TrainCmd::RunNow => {
            let v = call(home, Method::POST, "/api/train/run-now", Some(json!({}))).await?;
            println!("training started; `metaclaw train status` follows it");
            print_status(&v);
        }
        TrainCmd::Pause => {
            call(home, Method::POST, "/api/train/pause", Some(json!({}))).await?;
            println!("training paused; `metaclaw train resume` lets it run again");
        }
        TrainCmd::Resume => {
            call(home, Method::POST, "/api/train/resume", Some(json!({}))).await?;
            println!("training resumed: it runs in the next window while you are away");
        }
        TrainCmd::Rollback { step } => {
            let v = call(home, Method::POST, "/api/train/rollback", Some(json!({"step_id": step}))).await?;
            println!("now serving {} (step {step}); training continues from it", s(&v["model"]));
        }
    }
    Ok(())
}

/// Fetches a list; prints it as the API's JSON with `--json`, else as a table, one row per item.
async fn list(
    home: &Home,
    path: &str,
    json: bool,
    headers: &[&str],
    row: impl Fn(&Value) -> Vec<String>,
) -> Result<()> {
    let v = call(home, Method::GET, path, None).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        table(headers, v.as_array().into_iter().flatten().map(row).collect());
    }
    Ok(())
}

fn print_status(v: &Value) {
    println!("training:  {} — {}", s(&v["state"]), s(&v["detail"]));
    if v["enabled"] != true {
        return;
    }
    println!("model:     {} on {}", s(&v["base_model"]), s(&v["base_url"]));
    println!("serving:   {}", s(&v["serving"]["model"]));
    println!("data:      {} usable turns (a step needs {})", s(&v["eligible"]), s(&v["min_batch"]));
    let t = &v["today"];
    println!(
        "today:     {}/{} steps, ${:.2} of ${:.2}",
        s(&t["steps"]),
        s(&t["max_steps"]),
        t["spend_usd"].as_f64().unwrap_or(0.0),
        t["max_spend_usd"].as_f64().unwrap_or(0.0)
    );
    println!("turns:     {} trained, {} not trainable", s(&v["samples"]["trained"]), s(&v["samples"]["skipped"]));
    for r in v["samples"]["skip_reasons"].as_array().into_iter().flatten().take(3) {
        println!("           {}× {}", s(&r[1]), s(&r[0]));
    }
    if let Some(r) = v.get("last_run").filter(|r| !r.is_null()) {
        println!(
            "last run:  {} {} — {}",
            time(r["started_at"].as_i64().unwrap_or(0)),
            s(&r["status"]),
            s(&r["detail"])
        );
    }
}
