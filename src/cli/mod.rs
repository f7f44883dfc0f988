//! Command-line interface: argument definitions and dispatch.

mod bench;
mod calendar;
mod client;
mod connect;
mod curate;
mod key;
mod learning;
mod output;
mod scheduler;
mod serve;
mod skills;
mod train;

use std::net::IpAddr;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};

use metaclaw::config::Config;
use metaclaw::home::Home;

#[derive(Debug, Parser)]
#[command(
    name = "metaclaw",
    version,
    about = "A local proxy that makes your AI agent learn from its own conversations"
)]
pub struct Cli {
    /// Data directory (config.toml, database, skills). Default: the OS's per-user data dir.
    #[arg(long, env = "METACLAW_HOME", global = true)]
    home: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the proxy and admin API in the foreground.
    Serve(ServeArgs),
    /// Show whether MetaClaw is running, its upstream, turn counts and overhead.
    Status(JsonFlag),
    /// List recent sessions.
    Sessions {
        #[arg(long, default_value_t = 20)]
        limit: u32,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// List recent turns, newest first.
    Turns {
        /// Only this session's turns.
        #[arg(long)]
        session: Option<String>,
        /// `main` or `side`.
        #[arg(long = "type")]
        turn_type: Option<metaclaw::turn::TurnType>,
        /// ok, upstream_error, failed or cancelled.
        #[arg(long)]
        status: Option<metaclaw::turn::TurnStatus>,
        /// Only this agent's turns (codex, claude-code, openclaw, ... or unknown).
        #[arg(long, value_parser = |s: &str| metaclaw::agent::AgentId::parse(s).map_err(|e| e.to_string()))]
        agent: Option<metaclaw::agent::AgentId>,
        #[arg(long, default_value_t = 20)]
        limit: u32,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Show one turn in full: messages sent upstream and the answer.
    Turn {
        id: i64,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// The skill library: list, show, enable, disable, validate, import, export, explain.
    #[command(subcommand)]
    Skills(skills::SkillsCmd),
    /// Ask the evolver to learn from failed turns now; `evolve runs` lists its past runs.
    Evolve {
        /// Only this session's failures.
        #[arg(long)]
        session: Option<String>,
        /// First bring back failed turns used up by runs that failed (timed out, malformed,
        /// unreachable), e.g. after switching to a better evolver model.
        #[arg(long)]
        retry_failed: bool,
        #[command(subcommand)]
        cmd: Option<learning::EvolveCmd>,
    },
    /// Review the skills the evolver proposed: list, show, approve, reject, defer.
    #[command(subcommand)]
    Review(learning::ReviewCmd),
    /// The library's generations: list (with the learning signal), diff, rollback.
    #[command(subcommand)]
    Generations(learning::GenerationsCmd),
    /// Export the training dataset (support or query split).
    #[command(subcommand)]
    Dataset(learning::DatasetCmd),
    /// Mark a turn good (1) or failed (-1); overrides the judge.
    Feedback {
        turn: i64,
        #[arg(allow_hyphen_values = true)]
        score: i64,
        #[arg(long)]
        note: Option<String>,
    },
    /// Keep the skill library lean: archive skills unused for [curator] unused_days, propose
    /// disabling harmful ones and merging near-duplicates (proposals go to Review).
    Curate {
        /// Only print what would be done and why; change nothing.
        #[arg(long)]
        dry_run: bool,
        #[arg(long)]
        json: bool,
    },
    /// The opportunistic scheduler: whether learning work may run now, and why.
    #[command(subcommand)]
    Scheduler(scheduler::SchedulerCmd),
    /// Calendars whose meetings open learning windows.
    #[command(subcommand)]
    Calendar(calendar::CalendarCmd),
    /// Policy training: status, history, run-now, pause, resume, rollback <step>.
    #[command(subcommand)]
    Train(train::TrainCmd),
    /// Pause learning: no judging, evolution, training or maintenance runs until `metaclaw resume`.
    Pause,
    /// Resume learning.
    Resume,
    /// Print the web UI's address (with the admin token) and open it in a browser.
    Ui {
        /// Only print the address.
        #[arg(long)]
        no_open: bool,
    },
    /// Show or check the configuration.
    #[command(subcommand)]
    Config(ConfigCmd),
    /// Store, check or remove API keys (OS keyring, else MetaClaw's owner-only secrets file).
    #[command(subcommand)]
    Key(key::KeyCmd),
    /// Wire an agent (openclaw, claude-code, codex, hermes, nanoclaw, sdk) to MetaClaw: shows
    /// the change to its config, keeps a backup, writes it. Without an agent: every agent's state.
    Connect(connect::ConnectArgs),
    /// Put an agent's config back as it was before `metaclaw connect`, byte for byte.
    Disconnect { agent: String },
    /// Per agent: installed, wired to MetaClaw, config parses, last turn seen.
    Doctor,
    /// MetaClaw-Bench: check a dataset, run it with an agent per mode, report accuracy per day.
    #[command(subcommand)]
    Bench(bench::BenchCmd),
}

#[derive(Debug, Args)]
pub struct JsonFlag {
    /// Print JSON (the admin API's response, unchanged) instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Upstream base URL (overrides [upstream] base_url), e.g. http://127.0.0.1:11434/v1.
    #[arg(long)]
    upstream: Option<String>,
    /// Model to use upstream (overrides [upstream] model).
    #[arg(long)]
    model: Option<String>,
    /// Port to listen on (overrides [proxy] port; 0 picks a free one).
    #[arg(long)]
    port: Option<u16>,
    /// Address to listen on (overrides [proxy] host).
    #[arg(long)]
    host: Option<IpAddr>,
}

#[derive(Debug, Subcommand)]
enum ConfigCmd {
    /// Print the effective configuration (file plus defaults).
    Show,
    /// Check config.toml and report the first problem.
    Check,
    /// Print the path of config.toml.
    Path,
}

fn home(args: &Cli) -> Result<Home> {
    Ok(match &args.home {
        Some(p) => Home::at(p),
        None => Home::from_env()?,
    })
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the async runtime")
}

pub fn run(args: Cli) -> Result<()> {
    let home = home(&args)?;
    match args.command {
        Command::Serve(s) => serve::run(home, s),
        Command::Status(j) => runtime()?.block_on(client::status(&home, j.json)),
        Command::Sessions { limit, json } => runtime()?.block_on(client::sessions(&home, limit, json.json)),
        Command::Turns { session, turn_type, status, agent, limit, json } => {
            runtime()?.block_on(client::turns(&home, session, turn_type, status, agent, limit, json.json))
        }
        Command::Turn { id, json } => runtime()?.block_on(client::turn(&home, id, json.json)),
        Command::Skills(c) => runtime()?.block_on(skills::run(&home, c)),
        Command::Evolve { cmd: Some(learning::EvolveCmd::Runs { limit, json }), .. } => {
            runtime()?.block_on(learning::runs(&home, limit, json))
        }
        Command::Evolve { session, retry_failed, cmd: None } => {
            runtime()?.block_on(learning::evolve(&home, session, retry_failed))
        }
        Command::Review(c) => runtime()?.block_on(learning::review(&home, c)),
        Command::Generations(c) => runtime()?.block_on(learning::generations(&home, c)),
        Command::Dataset(c) => runtime()?.block_on(learning::dataset(&home, c)),
        Command::Feedback { turn, score, note } => runtime()?.block_on(learning::feedback(&home, turn, score, note)),
        Command::Curate { dry_run, json } => runtime()?.block_on(curate::run(&home, dry_run, json)),
        Command::Scheduler(c) => runtime()?.block_on(scheduler::run(&home, c)),
        Command::Calendar(c) => runtime()?.block_on(calendar::run(&home, c)),
        Command::Train(c) => runtime()?.block_on(train::run(&home, c)),
        Command::Pause => runtime()?.block_on(scheduler::learning(&home, true)),
        Command::Resume => runtime()?.block_on(scheduler::learning(&home, false)),
        Command::Ui { no_open } => client::ui(&home, no_open),
        Command::Config(c) => config(&home, c),
        Command::Key(k) => key::run(&home, k),
        Command::Connect(a) => connect::connect(&home, a),
        Command::Disconnect { agent } => connect::disconnect(&home, &agent),
        Command::Doctor => connect::doctor(&home),
        Command::Bench(c) => bench::run_cmd(home, c),
    }
}

fn config(home: &Home, cmd: ConfigCmd) -> Result<()> {
    let path = home.config_path();
    match cmd {
        ConfigCmd::Path => println!("{}", path.display()),
        ConfigCmd::Show => print!("{}", Config::load(&path)?.to_toml()),
        ConfigCmd::Check => {
            Config::load(&path)?;
            if path.exists() {
                println!("{}: OK", path.display());
            } else {
                println!("{}: not there yet; all defaults apply", path.display());
            }
        }
    }
    Ok(())
}
