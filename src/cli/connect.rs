//! `metaclaw connect [agent]`, `metaclaw disconnect <agent>`, `metaclaw doctor`: wire an agent to
//! MetaClaw by editing its own config (diff first, backup kept), undo it, and say per agent
//! whether it is wired. These edit files only, so they work with the engine stopped; the port
//! is the running engine's, else the configured one.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::{bail, Result};
use clap::Args;

use metaclaw::config::Config;
use metaclaw::connect::{self, AgentKind, Env, Restored, Target, Wiring};
use metaclaw::home::Home;

use super::output::{table, time};

#[derive(Debug, Args)]
pub struct ConnectArgs {
    /// openclaw, claude-code, codex, hermes, nanoclaw or sdk. Without one: every agent's state.
    agent: Option<String>,
    /// Show the change (or the snippet) without writing anything.
    #[arg(long)]
    dry_run: bool,
    /// Every agent's state (the same as `metaclaw doctor`).
    #[arg(long)]
    status: bool,
    /// The agent sends `X-MetaClaw-Inject: off`: MetaClaw records and learns from its turns but
    /// adds no skills (for agents whose own memory or context plugin builds the prompt).
    #[arg(long)]
    no_inject: bool,
    /// MetaClaw's port (default: the running engine's, else [proxy] port).
    #[arg(long)]
    port: Option<u16>,
    /// The model the agent asks for, where its config must name one (OpenClaw). Default: the
    /// [upstream] model, else "default".
    #[arg(long)]
    model: Option<String>,
    /// Write without asking (the question is only asked on a terminal).
    #[arg(long, short = 'y')]
    yes: bool,
}

fn agent(name: &str) -> Result<AgentKind> {
    AgentKind::parse(name).ok_or_else(|| connect::ConnectError::UnknownAgent(name.to_string()).into())
}

fn target(home: &Home, args: &ConnectArgs) -> Result<Target> {
    let port = match args.port {
        Some(p) => p,
        None => connect::proxy_port(home)?,
    };
    let model = match &args.model {
        Some(m) => m.clone(),
        None => Config::load(&home.config_path())?.upstream.model.unwrap_or_else(|| "default".into()),
    };
    Ok(Target { port, model, inject: !args.no_inject })
}

pub fn connect(home: &Home, args: ConnectArgs) -> Result<()> {
    let Some(name) = args.agent.as_deref().filter(|_| !args.status) else {
        return doctor(home);
    };
    let agent = agent(name)?;
    let t = target(home, &args)?;
    let env = Env::from_process();
    if !agent.file_wired() {
        println!("{} is connected by hand; paste this:\n", agent.label());
        print!("{}", connect::snippet(agent, &t));
        return Ok(());
    }
    let plan = connect::plan(agent, &env, &t)?;
    if plan.already {
        println!("{} already points at MetaClaw ({}); nothing changed", agent.label(), plan.path.display());
        return Ok(());
    }
    if !connect::installed(agent, &env) {
        println!("note: {} does not look installed (no `{}` on PATH, no config folder)", agent.label(), agent.name());
    }
    print!("{}", plan.diff);
    if args.dry_run {
        println!("(dry run: nothing written)");
        return Ok(());
    }
    if !args.yes && std::io::stdin().is_terminal() {
        print!("Write this change to {}? A backup is kept in MetaClaw's home. [y/N] ", plan.path.display());
        std::io::stdout().flush()?;
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            println!("nothing written");
            return Ok(());
        }
    }
    connect::apply(home, &plan)?;
    println!(
        "{} now sends its requests to MetaClaw as \"{}\"; `metaclaw disconnect {}` puts {} back as it was",
        agent.label(),
        agent.name(),
        agent.name(),
        plan.path.display()
    );
    for n in &plan.next {
        println!("{n}");
    }
    Ok(())
}

pub fn disconnect(home: &Home, name: &str) -> Result<()> {
    let agent = agent(name)?;
    if !agent.file_wired() {
        bail!("{} was connected by hand (a snippet); remove those lines yourself", agent.label());
    }
    match connect::disconnect(home, agent)? {
        Restored::Original { path } => println!("{} restored byte for byte as it was before connect", path.display()),
        Restored::Removed { path } => println!("{} removed (there was none before connect)", path.display()),
    }
    Ok(())
}

/// When each agent's last turn was recorded, from the running engine (`None`: not running).
fn last_seen(home: &Home) -> Option<Vec<(AgentKind, Option<i64>)>> {
    if !home.runtime_path().exists() {
        return None;
    }
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
    let agents =
        rt.block_on(async { metaclaw::api::client::Client::for_home(home).ok()?.connect_agents().await.ok() })?;
    Some(agents.agents.into_iter().map(|a| (a.agent, a.last_seen_ms)).collect())
}

pub fn doctor(home: &Home) -> Result<()> {
    let env = Env::from_process();
    let seen = last_seen(home);
    let port = connect::proxy_port(home).ok();
    let mut rows = Vec::new();
    let mut problems = Vec::new();
    for agent in AgentKind::ALL {
        let st = connect::state(home, &env, agent, port.unwrap_or(0));
        let wiring = match st.wiring {
            Wiring::Wired => "wired",
            Wiring::NotWired => "not wired",
            Wiring::Broken => "config does not parse",
            Wiring::Manual => "by hand (snippet)",
        };
        if let Some(p) = &st.problem {
            problems.push(format!("{}: {p}", agent.name()));
        }
        rows.push(vec![
            agent.name().to_string(),
            if st.installed { "yes" } else { "no" }.to_string(),
            wiring.to_string(),
            st.config.map(|p| p.display().to_string()).unwrap_or_else(|| "-".into()),
            match &seen {
                None => "? (MetaClaw is not running)".to_string(),
                Some(s) => match s.iter().find(|(a, _)| *a == agent).and_then(|(_, t)| *t) {
                    Some(ms) => time(ms),
                    None => "never".to_string(),
                },
            },
        ]);
    }
    table(&["AGENT", "INSTALLED", "STATE", "CONFIG", "LAST TURN"], rows);
    for p in problems {
        println!("{p}");
    }
    if port.is_none() {
        println!("MetaClaw's port is not known ([proxy] port is 0 and no engine runs): wiring is not checked");
    }
    Ok(())
}
