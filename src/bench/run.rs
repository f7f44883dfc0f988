//! `bench run`: one mode over the dataset's days in order. Each day gets a fresh workspace copy
//! (identity files, the day's folder, the check scripts) and one agent session for all its
//! rounds; from round 2 the message is `[Previous Feedback] <feedback>\n\n<question>`; each round
//! is scored at once and written atomically, and a rerun skips finished rounds. Between days, the
//! learning modes judge, evolve (and train) so the next day runs on the new generation.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::agent::{seed_session, Agent, Turn};
use super::dataset::{Check, Dataset, Day};
use super::results::{self, DayScore, Learned, Mode, RoundResult, Summary, Timings};
use super::score::{self, REMINDER};
use super::setup::{mode_config, BenchEngine, EngineOptions};
use super::BenchError;
use crate::config::Config;
use crate::home::Home;

/// Files copied into a workspace, at most.
const MAX_COPY_FILES: usize = 20_000;
/// Bytes copied into a workspace, at most.
const MAX_COPY_BYTES: u64 = 2 << 30;

/// Everything `bench run` needs.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub data: PathBuf,
    pub out: PathBuf,
    pub mode: Mode,
    pub agent: Agent,
    pub engine: EngineOptions,
    /// Only the first N days.
    pub days: Option<usize>,
    /// Longest one agent turn may take.
    pub agent_timeout: Duration,
    /// The user's MetaClaw home: its config's upstreams and its key sources.
    pub user_home: Home,
}

/// Runs one mode; prints a line per round to stderr; returns the mode's summary (also written
/// to `<out>/<mode>/summary.json`).
pub async fn run(opts: RunOptions) -> Result<Summary, BenchError> {
    let started = Instant::now();
    let data = Dataset::load(&opts.data).map_err(BenchError::Invalid)?;
    let user_cfg = Config::load(&opts.user_home.config_path())?;
    let cfg = mode_config(opts.mode, &user_cfg, &opts.engine)?;
    let model = cfg.upstream.model.clone().unwrap_or_else(|| "default".to_string());
    let mode_dir = results::mode_dir(&opts.out, opts.mode);
    let agent_dir = mode_dir.join("agent");
    let mut engine = BenchEngine::start(opts.mode, &mode_dir.join("home"), cfg, &opts.user_home).await?;
    let base_url = engine.base_url();
    let days: Vec<&Day> = data.days.iter().take(opts.days.unwrap_or(usize::MAX)).collect();
    let mut outcome = Ok(());
    for (i, day) in days.iter().enumerate() {
        let last_day = i + 1 == days.len();
        let ctx = DayContext { opts: &opts, data: &data, base_url: &base_url, model: &model, agent_dir: &agent_dir };
        if let Err(e) = run_day(&ctx, &mut engine, day, last_day).await {
            outcome = Err(e);
            break;
        }
    }
    opts.agent.finish().await;
    engine.shutdown().await;
    outcome?;
    let all = results::read_mode(&opts.out, opts.mode);
    let day_scores: Vec<DayScore> = days
        .iter()
        .map(|d| {
            let rs: Vec<&RoundResult> = all.iter().filter(|r| r.day == d.id).collect();
            let score: f64 = rs.iter().map(|r| r.score).sum();
            DayScore { day: d.id.clone(), rounds: rs.len(), score, accuracy: ratio(score, rs.len()) }
        })
        .collect();
    let rounds = day_scores.iter().map(|d| d.rounds).sum();
    let total: f64 = day_scores.iter().map(|d| d.score).sum();
    let summary = Summary {
        mode: opts.mode,
        dataset: data.name.clone(),
        days: day_scores,
        rounds,
        accuracy: ratio(total, rounds),
        took_ms: started.elapsed().as_secs_f64() * 1000.0,
    };
    results::write_atomic(&mode_dir.join("summary.json"), &summary)?;
    Ok(summary)
}

fn ratio(score: f64, n: usize) -> f64 {
    if n == 0 {
        0.0
    } else {
        score / n as f64
    }
}

struct DayContext<'a> {
    opts: &'a RunOptions,
    data: &'a Dataset,
    base_url: &'a str,
    model: &'a str,
    agent_dir: &'a Path,
}

async fn run_day(ctx: &DayContext<'_>, engine: &mut BenchEngine, day: &Day, last_day: bool) -> Result<(), BenchError> {
    let opts = ctx.opts;
    let mode = opts.mode;
    let day_dir = results::mode_dir(&opts.out, mode).join(&day.id);
    let learned_path = day_dir.join("learned.json");
    if results::read_json::<Learned>(&learned_path).is_some() {
        return Ok(());
    }
    let workspace = results::mode_dir(&opts.out, mode).join("work").join(&day.id);
    let any_done = day.rounds().any(|(g, r)| results::read_json::<RoundResult>(&round_file(opts, day, g, r)).is_some());
    if !any_done || !workspace.is_dir() {
        make_workspace(ctx.data, day, &workspace)?;
    }
    let seed = seed_session(ctx.data.state_dir.as_deref(), &day.agent, &day.session);
    let agent = &opts.agent;
    agent.prepare_day(ctx.agent_dir, ctx.base_url, ctx.model, &day.session, &workspace, seed.as_deref()).await?;
    let mut previous: Option<String> = None;
    for (group, round) in day.rounds() {
        let path = round_file(opts, day, group, round);
        if let Some(done) = results::read_json::<RoundResult>(&path) {
            previous = Some(done.feedback);
            continue;
        }
        let message = match &previous {
            Some(fb) => format!("[Previous Feedback] {fb}\n\n{}", round.question),
            None => round.question.clone(),
        };
        let generation = engine.generation().await;
        let tag = format!("{}-{}", day.id, day.round_key(group, round));
        let turn = Turn {
            session: &day.session,
            message: &message,
            workspace: &workspace,
            base_url: ctx.base_url,
            model: ctx.model,
            agent_dir: ctx.agent_dir,
            tag: &tag,
            timeout: opts.agent_timeout,
        };
        let reply = agent.send(&turn).await;
        let score_started = Instant::now();
        let scored = match &reply.error {
            None => score::score(&round.check, &round.feedback, &reply.output, &workspace).await,
            Some(_) => unanswered(&round.check, &round.feedback),
        };
        let result = RoundResult {
            mode,
            day: day.id.clone(),
            group: group.id.clone(),
            round: round.id.clone(),
            kind: round.check.kind().to_string(),
            question: round.question.clone(),
            message,
            answer: reply.output,
            score: scored.score,
            passed: scored.passed,
            feedback: scored.feedback.clone(),
            agent_error: reply.error.clone(),
            detail: scored.detail,
            timings: Timings { agent_ms: reply.took_ms, score_ms: score_started.elapsed().as_secs_f64() * 1000.0 },
            generation,
            finished_at: crate::clock::now_ms(),
        };
        results::write_atomic(&path, &result)?;
        eprintln!(
            "{mode} {} {}: {:.2}{} ({:.1} s)",
            day.id,
            day.round_key(group, round),
            result.score,
            reply.error.as_deref().map(|e| format!(" — {e}")).unwrap_or_default(),
            reply.took_ms / 1000.0
        );
        previous = Some(scored.feedback);
    }
    // The last round's feedback on its own, as upstream sends it: the agent (and the judge) hear
    // how the day ended.
    if let Some(fb) = previous {
        let message = format!("[Previous Feedback] {fb}");
        let tag = format!("{}-end", day.id);
        let turn = Turn {
            session: &day.session,
            message: &message,
            workspace: &workspace,
            base_url: ctx.base_url,
            model: ctx.model,
            agent_dir: ctx.agent_dir,
            tag: &tag,
            timeout: opts.agent_timeout,
        };
        let reply = agent.send(&turn).await;
        if let Some(e) = reply.error {
            eprintln!("{mode} {}: the closing feedback message failed: {e}", day.id);
        }
    }
    let learned = if mode.learns() && !last_day {
        let l = engine.learn(&day.id, &day.session).await;
        eprintln!(
            "{mode} {}: learned in {:.1} s, generation {} -> {}{}",
            day.id,
            l.took_ms / 1000.0,
            l.generation_before,
            l.generation_after,
            l.note.as_deref().map(|n| format!(" ({n})")).unwrap_or_default()
        );
        l
    } else {
        let g = engine.generation().await.unwrap_or(0);
        Learned { day: day.id.clone(), generation_before: g, generation_after: g, ..Learned::default() }
    };
    results::write_atomic(&learned_path, &learned)
}

fn round_file(opts: &RunOptions, day: &Day, group: &super::dataset::Group, round: &super::dataset::Round) -> PathBuf {
    results::round_path(&opts.out, opts.mode, &day.id, &day.round_key(group, round))
}

/// The score and feedback of a round the agent did not answer (timeout, crash).
fn unanswered(check: &Check, feedback: &super::dataset::Feedback) -> score::Scored {
    let fb = match check {
        Check::FileCheck { .. } => format!("{} {REMINDER}", feedback.incorrect).trim().to_string(),
        Check::MultiChoice { options, answer } => score::multi_choice(options.len(), answer, feedback, "").feedback,
    };
    score::Scored { score: 0.0, passed: false, feedback: fb, detail: serde_json::Value::Null }
}

/// A fresh workspace for `day`: the workspace source's top-level files (the identity files), the
/// day's folder, and the eval dir's `scripts/` when there is one. Symlinks are not followed.
pub fn make_workspace(data: &Dataset, day: &Day, to: &Path) -> Result<(), BenchError> {
    if to.exists() {
        std::fs::remove_dir_all(to).map_err(BenchError::io("cannot clear the old workspace", to))?;
    }
    std::fs::create_dir_all(to).map_err(BenchError::io("cannot create", to))?;
    let mut budget = (MAX_COPY_FILES, MAX_COPY_BYTES);
    let src = &data.workspace_src;
    let entries = std::fs::read_dir(src).map_err(BenchError::io("cannot read", src))?;
    for e in entries.filter_map(Result::ok) {
        let p = e.path();
        if e.file_type().is_ok_and(|t| t.is_file()) {
            copy_file(&p, &to.join(e.file_name()), &mut budget)?;
        }
    }
    let day_src = src.join(&day.eval);
    if day_src.is_dir() {
        copy_tree(&day_src, &to.join(&day.eval), &mut budget, 0)?;
    }
    let scripts = data.eval_dir.join("scripts");
    if scripts.is_dir() {
        copy_tree(&scripts, &to.join("scripts"), &mut budget, 0)?;
    }
    Ok(())
}

fn copy_file(from: &Path, to: &Path, budget: &mut (usize, u64)) -> Result<(), BenchError> {
    let len = std::fs::metadata(from).map_err(BenchError::io("cannot read", from))?.len();
    if budget.0 == 0 || len > budget.1 {
        return Err(BenchError::Refused(format!(
            "the workspace would exceed {MAX_COPY_FILES} files or {} GiB at {}",
            MAX_COPY_BYTES >> 30,
            from.display()
        )));
    }
    budget.0 -= 1;
    budget.1 -= len;
    std::fs::copy(from, to).map_err(BenchError::io("cannot copy", from))?;
    Ok(())
}

fn copy_tree(from: &Path, to: &Path, budget: &mut (usize, u64), depth: usize) -> Result<(), BenchError> {
    if depth > 32 {
        return Err(BenchError::Refused(format!("{} is nested too deep", from.display())));
    }
    std::fs::create_dir_all(to).map_err(BenchError::io("cannot create", to))?;
    let entries = std::fs::read_dir(from).map_err(BenchError::io("cannot read", from))?;
    for e in entries.filter_map(Result::ok) {
        let Ok(t) = e.file_type() else { continue };
        let (p, q) = (e.path(), to.join(e.file_name()));
        if t.is_dir() {
            copy_tree(&p, &q, budget, depth + 1)?;
        } else if t.is_file() {
            copy_file(&p, &q, budget)?;
        }
    }
    Ok(())
}
