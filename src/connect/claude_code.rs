//! Claude Code: `$CLAUDE_CONFIG_DIR/settings.json` (default `~/.claude/settings.json`) gets
//! `env.ANTHROPIC_BASE_URL` (the agent's route) and a placeholder `env.ANTHROPIC_AUTH_TOKEN`;
//! with injection off, `env.ANTHROPIC_CUSTOM_HEADERS` carries `X-MetaClaw-Inject: off`.

use std::path::PathBuf;

use serde_json::{Map, Value};

use super::{is_metaclaw_url, AgentKind, ConnectError, Env, Target, INJECT_HEADER, PLACEHOLDER_KEY};

pub fn config_path(env: &Env) -> Result<PathBuf, ConnectError> {
    let dir = match env.get("CLAUDE_CONFIG_DIR") {
        Some(d) => d,
        None => env.home()?.join(".claude"),
    };
    Ok(dir.join("settings.json"))
}

fn parse(bytes: &[u8]) -> Result<Map<String, Value>, String> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(bytes).map_err(|e| e.to_string())? {
        Value::Object(m) => Ok(m),
        _ => Err("the settings are not a JSON object".into()),
    }
}

pub fn points_at(bytes: &[u8], port: u16) -> Result<bool, String> {
    let m = parse(bytes)?;
    let url = m.get("env").and_then(|e| e.get("ANTHROPIC_BASE_URL")).and_then(Value::as_str);
    Ok(url.is_some_and(|u| is_metaclaw_url(u, port)))
}

pub fn wire(before: Option<&[u8]>, t: &Target) -> Result<Vec<u8>, String> {
    let mut m = match before {
        Some(b) => parse(b)?,
        None => Map::new(),
    };
    let env = m.entry("env").or_insert_with(|| Value::Object(Map::new()));
    let env = env.as_object_mut().ok_or_else(|| "\"env\" is not an object".to_string())?;
    env.insert("ANTHROPIC_BASE_URL".into(), t.agent_base(AgentKind::ClaudeCode).into());
    env.insert("ANTHROPIC_AUTH_TOKEN".into(), PLACEHOLDER_KEY.into());
    if !t.inject {
        env.insert("ANTHROPIC_CUSTOM_HEADERS".into(), format!("{INJECT_HEADER}: off").into());
    }
    let mut out = serde_json::to_vec_pretty(&Value::Object(m)).map_err(|e| e.to_string())?;
    out.push(b'\n');
    Ok(out)
}
