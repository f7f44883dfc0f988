//! The CLI's side of the admin API: the typed client for the running engine, and the status,
//! sessions and turns commands, printed as JSON (the API's answer) or as a table.

use anyhow::Result;
use serde::Serialize;
use serde_json::Value;

use metaclaw::api::client::Client;
use metaclaw::api::types::status::{Paging, TurnFilter};
use metaclaw::home::Home;

use super::output::{ms, table, time};

/// The typed client of the engine running with `home`.
pub fn api(home: &Home) -> Result<Client> {
    Ok(Client::for_home(home)?)
}

/// Prints an API answer as pretty JSON.
pub fn print_json<T: Serialize>(v: &T) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

/// Calls the admin API and returns its JSON answer untyped: only for resources whose typed
/// client methods do not exist yet (errors carry the API's own message and a skill's problems).
pub async fn call(home: &Home, method: reqwest::Method, path: &str, body: Option<Value>) -> Result<Value> {
    Ok(api(home)?.call(method, path, body.as_ref()).await?)
}

pub async fn status(home: &Home, json: bool) -> Result<()> {
    let s = api(home)?.status().await?;
    if json {
        return print_json(&s);
    }
    let o = s.overhead;
    println!("MetaClaw {} running at {}/v1 (up {} s)", s.info.version, s.info.address, s.uptime_secs);
    println!("home       {}", s.info.home);
    for u in &s.info.upstreams {
        let models = if u.models.is_empty() { "any model".to_string() } else { u.models.join(", ") };
        println!(
            "upstream   {} ({}) {} ({models}){}, {}{}",
            u.name,
            u.kind.label(),
            u.base_url,
            u.model.as_deref().map(|m| format!(", model {m}")).unwrap_or_default(),
            u.key.label(),
            if u.auth == metaclaw::config::Auth::Passthrough { ", caller's own credentials" } else { "" }
        );
    }
    println!(
        "turns      {} today, {} in all; sessions {} active, {} in all",
        s.turns_today, s.turns_total, s.sessions_active, s.sessions_total
    );
    println!(
        "skills     library generation {}; {} proposed skill(s) waiting for review (`metaclaw review list`)",
        s.generation, s.candidates_pending
    );
    let h = &s.health;
    let now = metaclaw::clock::now_ms();
    let troubled: Vec<_> = h.components.iter().filter(|c| c.state > metaclaw::health::HealthState::Ok).collect();
    let names: Vec<&str> = troubled.iter().map(|c| c.component.as_str()).collect();
    match names.is_empty() {
        true => println!("health     ok"),
        false => println!("health     {} ({})", h.overall.as_str(), names.join(", ")),
    }
    for c in troubled {
        println!("  {}", c.line(now));
    }
    for line in super::output::learning_lines(&s) {
        println!("{line}");
    }
    if !s.unrecorded.is_empty() {
        let counts: Vec<String> = s.unrecorded.iter().map(|(k, n)| format!("{k} {n}")).collect();
        println!("unrecorded {} (requests without a turn, see the log)", counts.join(", "));
    }
    println!(
        "overhead   p50 {} ms, p99 {} ms over the last {} turns",
        o.p50_ms.map(ms).unwrap_or_else(|| "-".into()),
        o.p99_ms.map(ms).unwrap_or_else(|| "-".into()),
        o.samples
    );
    Ok(())
}

pub async fn sessions(home: &Home, limit: u32, json: bool) -> Result<()> {
    let l = api(home)?.sessions(&Paging { limit: Some(limit), offset: None }).await?;
    if json {
        return print_json(&l);
    }
    let rows = l
        .sessions
        .iter()
        .map(|s| {
            vec![
                s.id.clone(),
                s.source.to_string(),
                s.turns.to_string(),
                time(s.started_at),
                time(s.last_at),
                if s.done_at.is_some() { "done".into() } else { String::new() },
            ]
        })
        .collect();
    table(&["SESSION", "SOURCE", "TURNS", "STARTED", "LAST", ""], rows);
    Ok(())
}

pub async fn turns(
    home: &Home,
    session: Option<String>,
    turn_type: Option<metaclaw::turn::TurnType>,
    status: Option<metaclaw::turn::TurnStatus>,
    agent: Option<metaclaw::agent::AgentId>,
    limit: u32,
    json: bool,
) -> Result<()> {
    let filter = TurnFilter { session, turn_type, status, agent, limit: Some(limit), ..Default::default() };
    let page = api(home)?.turns(&filter).await?;
    if json {
        return print_json(&page);
    }
    let rows = page
        .turns
        .iter()
        .map(|t| {
            let preview: String = t.preview.chars().take(48).collect::<String>().replace('\n', " ");
            let tools = if t.tool_names.is_empty() { String::new() } else { format!("[{}] ", t.tool_names.join(",")) };
            vec![
                t.id.to_string(),
                time(t.started_at),
                format!("{}#{}", t.session_id, t.turn_index),
                t.turn_type.to_string(),
                t.agent.to_string(),
                t.model.clone().unwrap_or_default(),
                t.status.to_string(),
                ms(t.latency_ms),
                format!("{tools}{preview}"),
            ]
        })
        .collect();
    table(&["ID", "TIME", "SESSION#TURN", "TYPE", "AGENT", "MODEL", "STATUS", "MS", "ANSWER"], rows);
    Ok(())
}

pub async fn turn(home: &Home, id: i64, json: bool) -> Result<()> {
    let t = api(home)?.turn(id).await?;
    if json {
        return print_json(&t);
    }
    let s = &t.summary;
    println!(
        "turn {} · session {} #{} · {} · {} · {}",
        s.id,
        s.session_id,
        s.turn_index,
        s.turn_type,
        s.model.as_deref().unwrap_or("-"),
        s.status
    );
    println!(
        "{} · {} ms total, {} ms upstream, {} ms MetaClaw",
        time(s.started_at),
        ms(s.latency_ms),
        ms(s.upstream_ms),
        ms(s.overhead_ms)
    );
    if let Some(e) = &t.error {
        println!("error: {e}");
    }
    for m in &t.messages {
        // Messages are kept as the agent sent them (OpenAI- or Anthropic-shaped), so untyped.
        let role = m.get("role").and_then(serde_json::Value::as_str).unwrap_or("?");
        let text = metaclaw::transcript::content_text(m.get("content"));
        println!("\n--- {role} ---\n{text}");
    }
    println!("\n=== answer ===");
    if let Some(r) = &t.reasoning_text {
        println!("(reasoning) {r}");
    }
    println!("{}", t.response_text.as_deref().unwrap_or(""));
    for c in &t.tool_calls {
        println!("tool call {} {}({})", c.id, c.name, c.arguments);
    }
    Ok(())
}

/// `metaclaw ui`: the web UI's address with the admin token in the fragment (never sent to the
/// server in a request line or logged), opened in the default browser unless `no_open`.
pub fn ui(home: &Home, no_open: bool) -> Result<()> {
    let c = api(home)?;
    let url = format!("{}/#token={}", c.base(), c.token());
    println!("{url}");
    if !no_open {
        let opener = if cfg!(target_os = "macos") {
            "open"
        } else if cfg!(target_os = "windows") {
            "explorer"
        } else {
            "xdg-open"
        };
        if std::process::Command::new(opener)
            .arg(&url)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .is_err()
        {
            eprintln!("(could not start {opener}; open the address above in a browser)");
        }
    }
    Ok(())
}
