//! `metaclaw bench check|run|report`: MetaClaw-Bench datasets checked, run against an agent
//! through an in-process engine per mode, and reported as JSON and an HTML chart.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand, ValueEnum};

use metaclaw::bench::agent::Agent;
use metaclaw::bench::dataset::Dataset;
use metaclaw::bench::results::Mode;
use metaclaw::bench::run::{run, RunOptions};
use metaclaw::bench::setup::EngineOptions;
use metaclaw::bench::{report, BenchError};
use metaclaw::config::Approval;
use metaclaw::home::Home;

#[derive(Debug, Subcommand)]
pub enum BenchCmd {
    /// Validate a dataset (all_tests.json, each day's questions.json, workspaces, seed state) and
    /// print its days, rounds and round kinds.
    Check {
        #[arg(long)]
        data: PathBuf,
        #[command(flatten)]
        json: super::JsonFlag,
    },
    /// Run one mode over the dataset's days with an agent whose provider is a MetaClaw of its own.
    Run(RunArgs),
    /// Write report.json and report.html (accuracy per day, one line per mode) from --out.
    Report {
        #[arg(long)]
        out: PathBuf,
        /// Where the HTML page goes (default: <out>/report.html).
        #[arg(long)]
        html: Option<PathBuf>,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum AgentKind {
    Openclaw,
    Command,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[arg(long)]
    data: PathBuf,
    #[arg(long, value_enum)]
    agent: AgentKind,
    /// For `--agent command`: a shell command with {session} {message_file} {workspace}
    /// {base_url} {model}; its stdout is the answer. For `--agent openclaw`: the openclaw executable.
    #[arg(long)]
    agent_cmd: Option<String>,
    /// baseline, skills or skills+rl.
    #[arg(long, value_parser = |s: &str| Mode::parse(s).ok_or_else(|| "baseline, skills or skills+rl".to_string()))]
    mode: Mode,
    /// Results go to <out>/<mode>/ (a rerun continues where it stopped).
    #[arg(long)]
    out: PathBuf,
    /// Upstream base URL (default: your config's [upstream]).
    #[arg(long)]
    upstream: Option<String>,
    /// The model the agent uses (default: your config's [upstream] model).
    #[arg(long)]
    model: Option<String>,
    /// Only the first N days.
    #[arg(long)]
    days: Option<usize>,
    /// The judge's model (default: --model).
    #[arg(long)]
    judge_model: Option<String>,
    /// The evolver's model (default: --model).
    #[arg(long)]
    evolver_model: Option<String>,
    /// Who approves the evolver's skills in learning modes: auto (default) or verified.
    #[arg(long, value_parser = ["auto", "verified"])]
    approval: Option<String>,
    /// Longest one agent turn may take, in seconds.
    #[arg(long, default_value_t = 600)]
    agent_timeout: u64,
}

pub fn run_cmd(home: Home, cmd: BenchCmd) -> Result<()> {
    match cmd {
        BenchCmd::Check { data, json } => check(&data, json.json),
        BenchCmd::Report { out, html } => {
            let r = report::write(&out, html.as_deref())?;
            for m in &r.modes {
                println!(
                    "{:<10} {:>6.1}% over {} rounds",
                    m.mode.as_str(),
                    m.overall.accuracy * 100.0,
                    m.overall.rounds
                );
            }
            println!("wrote {}", out.join("report.json").display());
            println!("wrote {}", html.unwrap_or_else(|| out.join("report.html")).display());
            Ok(())
        }
        BenchCmd::Run(a) => {
            let agent = match a.agent {
                AgentKind::Command => match a.agent_cmd.clone() {
                    Some(template) if !template.trim().is_empty() => Agent::Command { template },
                    _ => {
                        bail!("--agent command needs --agent-cmd 'program {{session}} {{message_file}} {{workspace}}'")
                    }
                },
                AgentKind::Openclaw => Agent::openclaw(a.agent_cmd.as_deref())?,
            };
            let opts = RunOptions {
                data: a.data,
                out: a.out,
                mode: a.mode,
                agent,
                engine: EngineOptions {
                    upstream: a.upstream,
                    model: a.model,
                    judge_model: a.judge_model,
                    evolver_model: a.evolver_model,
                    approval: a.approval.map(|s| if s == "verified" { Approval::Verified } else { Approval::Auto }),
                },
                days: a.days,
                agent_timeout: Duration::from_secs(a.agent_timeout.max(1)),
                user_home: home,
            };
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .context("cannot start the async runtime")?;
            let summary = rt.block_on(run(opts))?;
            for d in &summary.days {
                println!("{:<12} {:>6.1}%  ({:.2} / {})", d.day, d.accuracy * 100.0, d.score, d.rounds);
            }
            println!(
                "{}: {:.1}% over {} rounds in {:.1} s",
                summary.mode,
                summary.accuracy * 100.0,
                summary.rounds,
                summary.took_ms / 1000.0
            );
            Ok(())
        }
    }
}

fn check(data: &std::path::Path, json: bool) -> Result<()> {
    let ds = Dataset::load(data).map_err(BenchError::Invalid)?;
    let s = ds.summary();
    if json {
        return super::client::print_json(&s);
    }
    println!(
        "{}: {} days, {} rounds ({} file_check, {} multi_choice)",
        if s.name.is_empty() { data.display().to_string() } else { s.name.clone() },
        s.days,
        s.rounds,
        s.file_check,
        s.multi_choice
    );
    for d in &s.per_day {
        println!(
            "  {:<10} {:>3} rounds ({} file_check, {} multi_choice){}{}",
            d.id,
            d.rounds,
            d.file_check,
            d.multi_choice,
            d.arc.as_deref().map(|a| format!("  arc {a}")).unwrap_or_default(),
            if d.preference_tags.is_empty() { String::new() } else { format!("  [{}]", d.preference_tags.join(", ")) }
        );
    }
    Ok(())
}
