//! Codex CLI: `$CODEX_HOME/config.toml` (default `~/.codex/config.toml`) gets a `metaclaw`
//! model provider (Responses wire format, the agent's route) and `model_provider = "metaclaw"`.
//! Edited with toml_edit, so the user's comments and layout stay as they were.

use std::path::PathBuf;

use toml_edit::{value, DocumentMut, InlineTable, Item, Table};

use super::{is_metaclaw_url, AgentKind, ConnectError, Env, Target, INJECT_HEADER};

pub fn config_path(env: &Env) -> Result<PathBuf, ConnectError> {
    let dir = match env.get("CODEX_HOME") {
        Some(d) => d,
        None => env.home()?.join(".codex"),
    };
    Ok(dir.join("config.toml"))
}

fn parse(bytes: &[u8]) -> Result<DocumentMut, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "not UTF-8".to_string())?;
    text.parse::<DocumentMut>().map_err(|e| e.message().to_string())
}

/// Parses the config; `true` when its selected provider's `base_url` is MetaClaw on `port`.
pub fn points_at(bytes: &[u8], port: u16) -> Result<bool, String> {
    let doc = parse(bytes)?;
    let Some(provider) = doc.get("model_provider").and_then(Item::as_str) else {
        return Ok(false);
    };
    let url =
        doc.get("model_providers").and_then(|p| p.get(provider)).and_then(|p| p.get("base_url")).and_then(Item::as_str);
    Ok(url.is_some_and(|u| is_metaclaw_url(u, port)))
}

pub fn wire(before: Option<&[u8]>, t: &Target) -> Result<Vec<u8>, String> {
    let mut doc = match before {
        Some(b) => parse(b)?,
        None => DocumentMut::new(),
    };
    doc["model_provider"] = value("metaclaw");
    if !doc.contains_key("model_providers") {
        let mut providers = Table::new();
        providers.set_implicit(true);
        doc["model_providers"] = Item::Table(providers);
    }
    let providers =
        doc["model_providers"].as_table_mut().ok_or_else(|| "model_providers is not a table".to_string())?;
    let mut p = Table::new();
    p["name"] = value("MetaClaw");
    p["base_url"] = value(t.openai_base(AgentKind::Codex));
    p["wire_api"] = value("responses");
    if !t.inject {
        let mut headers = InlineTable::new();
        headers.insert(INJECT_HEADER, "off".into());
        p["http_headers"] = value(headers);
    }
    providers.insert("metaclaw", Item::Table(p));
    let mut text = doc.to_string();
    // A key set on a document that ends without a newline is appended on the same line.
    if !text.ends_with('\n') {
        text.push('\n');
    }
    Ok(text.into_bytes())
}
