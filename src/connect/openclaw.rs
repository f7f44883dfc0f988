//! OpenClaw: its config (`$OPENCLAW_CONFIG_PATH`, else `$OPENCLAW_STATE_DIR/openclaw.json`, else
//! `~/.openclaw/openclaw.json`) gets a `metaclaw` provider under `models.providers`
//! (Chat Completions, the agent's route, a placeholder key) and `agents.defaults.model.primary`
//! set to `metaclaw/<model>`. OpenClaw accepts JSON5; a file that is not plain JSON (comments,
//! trailing commas) is refused with the `openclaw config set` commands to run instead.

use std::path::PathBuf;

use serde_json::{json, Map, Value};

use super::{is_metaclaw_url, AgentKind, ConnectError, Env, Target, INJECT_HEADER, PLACEHOLDER_KEY};

/// The one restart `connect` asks for: a running gateway reads the new provider on restart.
pub const RESTART_NOTE: &str =
    "if OpenClaw's gateway is running, restart it once so it picks up the provider: openclaw gateway restart";

pub fn config_path(env: &Env) -> Result<PathBuf, ConnectError> {
    if let Some(p) = env.get("OPENCLAW_CONFIG_PATH") {
        return Ok(p);
    }
    let dir = match env.get("OPENCLAW_STATE_DIR") {
        Some(d) => d,
        None => env.home()?.join(".openclaw"),
    };
    Ok(dir.join("openclaw.json"))
}

fn parse(bytes: &[u8]) -> Result<Map<String, Value>, String> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err("the config is not a JSON object".into()),
        Err(e) => Err(format!(
            "{e}; MetaClaw edits plain JSON only (not JSON5 comments or trailing commas): connect by hand with \
             `openclaw config set models.providers.metaclaw --json '…'` as `metaclaw connect openclaw --dry-run` shows"
        )),
    }
}

pub fn points_at(bytes: &[u8], port: u16) -> Result<bool, String> {
    let m = parse(bytes)?;
    let model = m.pointer_path(&["agents", "defaults", "model"]);
    let primary = model.and_then(|v| v.as_str().or_else(|| v.get("primary").and_then(Value::as_str)));
    let Some(provider) = primary.and_then(|p| p.split_once('/')).map(|(p, _)| p) else {
        return Ok(false);
    };
    let url = m.pointer_path(&["models", "providers", provider, "baseUrl"]).and_then(Value::as_str);
    Ok(url.is_some_and(|u| is_metaclaw_url(u, port)))
}

trait PointerPath {
    fn pointer_path(&self, keys: &[&str]) -> Option<&Value>;
}

impl PointerPath for Map<String, Value> {
    fn pointer_path(&self, keys: &[&str]) -> Option<&Value> {
        let (first, rest) = keys.split_first()?;
        rest.iter().try_fold(self.get(*first)?, |v, k| v.get(k))
    }
}

/// The provider entry `connect` adds (also printed for users who connect by hand).
pub fn provider(t: &Target) -> Value {
    let mut p = json!({
        "api": "openai-completions",
        "baseUrl": t.openai_base(AgentKind::Openclaw),
        "apiKey": PLACEHOLDER_KEY,
        "models": [{
            "id": t.model, "name": t.model, "reasoning": false, "input": ["text"],
            "cost": {"input": 0, "output": 0, "cacheRead": 0, "cacheWrite": 0},
            "contextWindow": 65536, "maxTokens": 4096
        }]
    });
    if !t.inject {
        p["headers"] = json!({ INJECT_HEADER: "off" });
    }
    p
}

/// `m[key]` as an object, created if missing; an error if it is something else.
fn object<'a>(m: &'a mut Map<String, Value>, key: &str, at: &str) -> Result<&'a mut Map<String, Value>, String> {
    m.entry(key)
        .or_insert_with(|| Value::Object(Map::new()))
        .as_object_mut()
        .ok_or_else(|| format!("{at} is not an object"))
}

pub fn wire(before: Option<&[u8]>, t: &Target) -> Result<Vec<u8>, String> {
    let mut m = match before {
        Some(b) => parse(b)?,
        None => Map::new(),
    };
    let models = object(&mut m, "models", "models")?;
    let providers = object(models, "providers", "models.providers")?;
    providers.insert("metaclaw".into(), provider(t));
    let agents = object(&mut m, "agents", "agents")?;
    let defaults = object(agents, "defaults", "agents.defaults")?;
    // `model` may be a bare "provider/model" string; it becomes the object form.
    if defaults.get("model").is_some_and(Value::is_string) {
        defaults.remove("model");
    }
    let model = object(defaults, "model", "agents.defaults.model")?;
    model.insert("primary".into(), format!("metaclaw/{}", t.model).into());
    let mut out = serde_json::to_vec_pretty(&Value::Object(m)).map_err(|e| e.to_string())?;
    out.push(b'\n');
    Ok(out)
}
