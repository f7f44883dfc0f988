//! The CLI's side of the admin API: find the running engine, call it with the admin token, and
//! print the answer as JSON (unchanged) or as a table.

use anyhow::{anyhow, bail, Context, Result};
use serde::de::DeserializeOwned;
use serde_json::Value;

use metaclaw::api::{SessionList, Status};
use metaclaw::config::Config;
use metaclaw::home::Home;
use metaclaw::store::{TurnDetail, TurnPage};

use super::output::{ms, table, time};

/// The running engine's address: from its runtime file, else the configured port.
fn base_url(home: &Home) -> Result<String> {
    if let Ok(text) = std::fs::read_to_string(home.runtime_path()) {
        if let Some(a) =
            serde_json::from_str::<Value>(&text).ok().and_then(|v| v["address"].as_str().map(str::to_string))
        {
            return Ok(a);
        }
    }
    let cfg = Config::load(&home.config_path())?;
    let host = if cfg.proxy.host.is_unspecified() { "127.0.0.1".to_string() } else { cfg.proxy.host.to_string() };
    Ok(format!("http://{host}:{}", cfg.proxy.port))
}

async fn get_raw(home: &Home, path: &str) -> Result<Value> {
    call(home, reqwest::Method::GET, path, None).await
}

/// Calls the admin API for a non-JSON answer (e.g. the JSON-lines dataset).
pub async fn call_text(home: &Home, path: &str) -> Result<String> {
    let base = base_url(home)?;
    let token = std::fs::read_to_string(home.token_path())
        .with_context(|| format!("cannot read the admin token at {}", home.token_path().display()))?;
    let resp = reqwest::Client::new()
        .get(format!("{base}{path}"))
        .bearer_auth(token.trim())
        .send()
        .await
        .map_err(|e| anyhow!("MetaClaw is not answering at {base} ({e}); start it with `metaclaw serve`"))?;
    let status = resp.status();
    let text = resp.text().await?;
    if !status.is_success() {
        bail!("{path}: {status}: {text}");
    }
    Ok(text)
}

/// Calls the admin API; errors carry the API's own message (and a skill's problems).
pub async fn call(home: &Home, method: reqwest::Method, path: &str, body: Option<Value>) -> Result<Value> {
    let base = base_url(home)?;
    let token = std::fs::read_to_string(home.token_path()).with_context(|| {
        format!(
            "cannot read the admin token at {} (has `metaclaw serve` run with this home?)",
            home.token_path().display()
        )
    })?;
    let url = format!("{base}{path}");
    let mut rb = reqwest::Client::new().request(method, &url).bearer_auth(token.trim());
    if let Some(b) = body {
        rb = rb.json(&b);
    }
    let resp = rb
        .send()
        .await
        .map_err(|e| anyhow!("MetaClaw is not answering at {base} ({e}); start it with `metaclaw serve`"))?;
    let status = resp.status();
    if status == reqwest::StatusCode::NO_CONTENT {
        return Ok(Value::Null);
    }
    let body: Value = resp.json().await.with_context(|| format!("{url} did not answer JSON"))?;
    if !status.is_success() {
        let msg = body["error"]["message"].as_str().unwrap_or("no message");
        let problems: Vec<String> = body["error"]["problems"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| {
                format!("\n  {}:{} {}", p["file"].as_str().unwrap_or(""), p["line"], p["reason"].as_str().unwrap_or(""))
            })
            .collect();
        bail!("{msg} ({status}){}", problems.concat());
    }
    Ok(body)
}

async fn get<T: DeserializeOwned>(home: &Home, path: &str, json: bool) -> Result<Option<T>> {
    let v = get_raw(home, path).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(None);
    }
    Ok(Some(serde_json::from_value(v).context("unexpected answer from the admin API")?))
}

fn query(pairs: &[(&str, Option<String>)]) -> String {
    let parts: Vec<String> =
        pairs.iter().filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={}", urlencode(v)))).collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!("?{}", parts.join("&"))
    }
}

fn urlencode(s: &str) -> String {
    reqwest::Url::parse_with_params("http://x/", &[("v", s)])
        .ok()
        .and_then(|u| u.query().map(|q| q.trim_start_matches("v=").to_string()))
        .unwrap_or_default()
}

pub async fn status(home: &Home, json: bool) -> Result<()> {
    let Some(s) = get::<Status>(home, "/api/status", json).await? else {
        return Ok(());
    };
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
    let Some(l) = get::<SessionList>(home, &format!("/api/sessions?limit={limit}"), json).await? else {
        return Ok(());
    };
    let rows = l
        .sessions
        .iter()
        .map(|s| {
            vec![
                s.id.clone(),
                s.source.clone(),
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
    turn_type: Option<String>,
    status: Option<String>,
    limit: u32,
    json: bool,
) -> Result<()> {
    let q = query(&[("session", session), ("type", turn_type), ("status", status), ("limit", Some(limit.to_string()))]);
    let Some(page) = get::<TurnPage>(home, &format!("/api/turns{q}"), json).await? else {
        return Ok(());
    };
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
                t.turn_type.clone(),
                t.model.clone().unwrap_or_default(),
                t.status.clone(),
                ms(t.latency_ms),
                format!("{tools}{preview}"),
            ]
        })
        .collect();
    table(&["ID", "TIME", "SESSION#TURN", "TYPE", "MODEL", "STATUS", "MS", "ANSWER"], rows);
    Ok(())
}

pub async fn turn(home: &Home, id: i64, json: bool) -> Result<()> {
    let Some(t) = get::<TurnDetail>(home, &format!("/api/turns/{id}"), json).await? else {
        return Ok(());
    };
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
        let role = m["role"].as_str().unwrap_or("?");
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
    let base = base_url(home)?;
    let token = std::fs::read_to_string(home.token_path())
        .with_context(|| format!("cannot read the admin token at {}", home.token_path().display()))?;
    let url = format!("{base}/#token={}", token.trim());
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
