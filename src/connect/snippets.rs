//! Copyable setup for agents `connect` does not edit (Hermes Agent, NanoClaw, SDK apps) and the
//! by-hand form for the ones it does. Every snippet uses the agent's own route and a
//! placeholder key.

use std::path::PathBuf;

use super::{openclaw, AgentKind, Env, Target, INJECT_HEADER, PLACEHOLDER_KEY};

/// Hermes Agent's home: `$HERMES_HOME`, else `~/.hermes`.
pub fn hermes_home(env: &Env) -> Option<PathBuf> {
    env.get("HERMES_HOME").or_else(|| env.home().ok().map(|h| h.join(".hermes")))
}

pub fn snippet(agent: AgentKind, t: &Target) -> String {
    let openai = t.openai_base(agent);
    let anthropic = t.agent_base(agent);
    let key = PLACEHOLDER_KEY;
    let off =
        if t.inject { String::new() } else { format!("\n# skills not injected: send the header {INJECT_HEADER}: off") };
    match agent {
        AgentKind::Hermes => format!(
            "# ~/.hermes/config.yaml (or $HERMES_HOME/config.yaml): the model section\n\
             model:\n  provider: custom\n  base_url: {openai}\n  api_key: {key}\n  default: {model}\n",
            model = t.model
        ),
        AgentKind::Nanoclaw => format!(
            "# NanoClaw's .env (in its folder); from inside its containers use the host's address\n\
             # instead of 127.0.0.1 and start MetaClaw with --host 0.0.0.0 and a proxy key\n\
             ANTHROPIC_BASE_URL={anthropic}\nANTHROPIC_AUTH_TOKEN={key}\n{custom}",
            custom =
                if t.inject { String::new() } else { format!("ANTHROPIC_CUSTOM_HEADERS=\"{INJECT_HEADER}: off\"\n") }
        ),
        AgentKind::Sdk => format!(
            "# OpenAI SDKs (Python, Node) read these\nexport OPENAI_BASE_URL={openai}\nexport OPENAI_API_KEY={key}\n\
             # Anthropic SDKs read these\nexport ANTHROPIC_BASE_URL={anthropic}\nexport ANTHROPIC_API_KEY={key}{off}\n"
        ),
        AgentKind::Openclaw => format!(
            "openclaw config set models.providers.metaclaw --json '{}'\n\
             openclaw config set agents.defaults.model.primary metaclaw/{}\n",
            openclaw::provider(t),
            t.model
        ),
        AgentKind::ClaudeCode => format!(
            "# ~/.claude/settings.json, or for one run as environment variables\n\
             ANTHROPIC_BASE_URL={anthropic} ANTHROPIC_AUTH_TOKEN={key} claude{off}\n"
        ),
        AgentKind::Codex => format!(
            "# ~/.codex/config.toml (or $CODEX_HOME/config.toml)\nmodel_provider = \"metaclaw\"\n\n\
             [model_providers.metaclaw]\nname = \"MetaClaw\"\nbase_url = \"{openai}\"\nwire_api = \"responses\"{off}\n"
        ),
    }
}
