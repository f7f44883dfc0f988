//! `metaclaw train status|history|run-now|pause|resume|rollback`: policy training, through the
//! admin API.

use anyhow::Result;
use clap::Subcommand;

use metaclaw::api::types::train::{TrainPage, TrainStatus};
use metaclaw::home::Home;

use super::client::{api, print_json};
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

/// A reward or loss: three decimals, or `-` when there is none.
fn num(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |f| format!("{f:.3}"))
}

/// An optional text, or `-`.
fn or_dash(v: Option<&str>) -> String {
    v.unwrap_or("-").to_string()
}

fn enum_word<T: serde::Serialize>(v: T) -> String {
    serde_json::to_value(v).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

pub async fn run(home: &Home, cmd: TrainCmd) -> Result<()> {
    let c = api(home)?;
    match cmd {
        TrainCmd::Status(j) => {
            let v = c.train_status().await?;
            if j.json {
                return print_json(&v);
            }
            print_status(&v);
        }
        TrainCmd::History { run: Some(id), json, .. } => {
            let v = c.train_run(id).await?;
            if json.json {
                return print_json(&v);
            }
            let r = &v.run;
            println!(
                "run {id}: {} ({}), {} — {}",
                enum_word(r.status),
                r.window,
                time(r.started_at),
                or_dash(r.detail.as_deref())
            );
            let rows = v
                .steps
                .iter()
                .map(|st| {
                    vec![
                        st.id.to_string(),
                        enum_word(st.status),
                        st.batch_size.to_string(),
                        num(st.mean_reward),
                        num(st.loss),
                        st.tokens.to_string(),
                        format!("${:.4}", st.cost_usd),
                        or_dash(st.sampler_path.as_deref()),
                    ]
                })
                .collect();
            table(&["STEP", "STATUS", "BATCH", "REWARD", "LOSS", "TOKENS", "COST", "SAMPLER"], rows);
        }
        TrainCmd::History { run: None, limit, json } => {
            let runs = c.train_runs(&TrainPage { limit: Some(limit), before: None }).await?;
            let headers = ["RUN", "STARTED", "WINDOW", "STATUS", "STEPS", "TURNS", "REWARD", "COST"];
            list(&runs, json.json, &headers, |r| {
                vec![
                    r.id.to_string(),
                    time(r.started_at),
                    r.window.clone(),
                    enum_word(r.status),
                    r.steps.to_string(),
                    r.samples.to_string(),
                    num(r.mean_reward),
                    format!("${:.4}", r.cost_usd),
                ]
            })?;
        }
        TrainCmd::Checkpoints { remote: Some(run), json } => {
            let list_ = c.train_remote_checkpoints(run).await?;
            list(&list_, json.json, &["TYPE", "ID", "TIME", "PATH"], |c| {
                vec![
                    c.checkpoint_type.clone(),
                    c.checkpoint_id.clone(),
                    or_dash(c.time.as_deref()),
                    c.tinker_path.clone(),
                ]
            })?;
        }
        TrainCmd::Checkpoints { remote: None, json } => {
            let steps = c.train_checkpoints(&TrainPage::default()).await?;
            list(&steps, json.json, &["STEP", "SAVED", "REWARD", "SAMPLER"], |st| {
                vec![
                    st.id.to_string(),
                    time(st.ended_at.unwrap_or(0)),
                    num(st.mean_reward),
                    or_dash(st.sampler_path.as_deref()),
                ]
            })?;
        }
        TrainCmd::RunNow => {
            let v = c.train_now().await?;
            println!("training started; `metaclaw train status` follows it");
            print_status(&v);
        }
        TrainCmd::Pause => {
            c.pause_training().await?;
            println!("training paused; `metaclaw train resume` lets it run again");
        }
        TrainCmd::Resume => {
            c.resume_training().await?;
            println!("training resumed: it runs in the next window while you are away");
        }
        TrainCmd::Rollback { step } => {
            let v = c.train_rollback(step).await?;
            println!("now serving {} (step {step}); training continues from it", v.model);
        }
    }
    Ok(())
}

/// Prints a list as the API's JSON with `--json`, else as a table, one row per item.
fn list<T: serde::Serialize>(items: &[T], json: bool, headers: &[&str], row: impl Fn(&T) -> Vec<String>) -> Result<()> {
    if json {
        print_json(&items)
    } else {
        table(headers, items.iter().map(row).collect());
        Ok(())
    }
}

fn print_status(v: &TrainStatus) {
    println!("training:  {} — {}", v.state.as_str(), v.detail);
    if !v.enabled {
        return;
    }
    println!("model:     {} on {}", or_dash(v.base_model.as_deref()), v.base_url);
    println!("serving:   {}", or_dash(v.serving.as_ref().map(|s| s.model.as_str())));
    println!("data:      {} usable turns (a step needs {})", v.eligible, v.min_batch);
    let t = &v.today;
    println!("today:     {}/{} steps, ${:.2} of ${:.2}", t.steps, t.max_steps, t.spend_usd, t.max_spend_usd);
    println!("turns:     {} trained, {} not trainable", v.samples.trained, v.samples.skipped);
    for (reason, n) in v.samples.skip_reasons.iter().take(3) {
        println!("           {n}× {reason}");
    }
    if let Some(r) = &v.last_run {
        println!("last run:  {} {} — {}", time(r.started_at), enum_word(r.status), or_dash(r.detail.as_deref()));
    }
}
