//! `metaclaw key set|get|list|delete`: API keys, never shown back. Through the running engine's
//! admin API when it answers (so it uses a new key at once), else straight into this home's
//! vault: the OS keyring when there is one, else the owner-only secrets file.

use anyhow::{bail, Context, Result};
use clap::Subcommand;

use metaclaw::api::client::{Client, ClientError};
use metaclaw::api::types::settings::KeyInfo;
use metaclaw::config::Config;
use metaclaw::home::Home;
use metaclaw::secrets::{SecretName, SecretSource, Vault};

use super::output::table;

#[derive(Debug, Subcommand)]
pub enum KeyCmd {
    /// Read a key from standard input and store it (OS keyring, else MetaClaw's secrets file).
    Set {
        name: KeyName,
        /// Which upstream (a `[[upstreams]]` name); the `[upstream]` shorthand is `default`.
        #[arg(long, default_value = "default")]
        upstream: String,
    },
    /// Say whether a key is set and where it is kept; never the key itself.
    Get {
        name: KeyName,
        #[arg(long, default_value = "default")]
        upstream: String,
    },
    /// Every key MetaClaw uses: set or not, and where each is kept (never the keys).
    #[command(alias = "status")]
    List {
        /// Print JSON (the admin API's answer) instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Remove a stored key (an environment variable that sets it stays in force).
    Delete {
        name: KeyName,
        #[arg(long, default_value = "default")]
        upstream: String,
    },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum KeyName {
    /// The upstream LLM API key.
    Upstream,
    /// The key agents must send to the proxy.
    Proxy,
    /// The Tinker API key (policy training and serving).
    Tinker,
}

/// The admin API's name of a key: `upstream.<name>`, `proxy` or `tinker`.
fn api_name(k: KeyName, upstream: &str) -> String {
    match k {
        KeyName::Upstream => format!("upstream.{upstream}"),
        KeyName::Proxy => "proxy".into(),
        KeyName::Tinker => "tinker".into(),
    }
}

pub fn run(home: &Home, cmd: KeyCmd) -> Result<()> {
    let rt =
        tokio::runtime::Builder::new_current_thread().enable_all().build().context("cannot start the async runtime")?;
    rt.block_on(async {
        let target = Target::find(home).await?;
        match cmd {
            KeyCmd::Set { name, upstream } => {
                let value = read_key()?;
                let name = api_name(name, &upstream);
                target.set(&name, &value).await?;
                let k = target.info(&name).await?;
                match k.source {
                    SecretSource::Env => println!(
                        "{name}: stored, but the environment variable {} is set and is used instead",
                        k.env_var
                    ),
                    _ => println!("{name}: stored in {}", k.location),
                }
                if let Target::Local(..) = target {
                    println!("MetaClaw is not running; it will use the key when it starts");
                }
            }
            KeyCmd::Get { name, upstream } => {
                let k = target.info(&api_name(name, &upstream)).await?;
                println!("{}", describe(&k));
            }
            KeyCmd::List { json } => {
                let keys = target.keys().await?;
                if json {
                    println!("{}", serde_json::to_string_pretty(&keys)?);
                } else {
                    let rows = keys
                        .iter()
                        .map(|k| {
                            let state = if k.set { "set" } else { "not set" };
                            let place = if k.set { k.location.clone() } else { format!("(env {})", k.env_var) };
                            vec![k.name.clone(), state.to_string(), place]
                        })
                        .collect();
                    table(&["KEY", "STATE", "KEPT IN"], rows);
                }
            }
            KeyCmd::Delete { name, upstream } => {
                let name = api_name(name, &upstream);
                target.delete(&name).await?;
                let k = target.info(&name).await?;
                if k.source == SecretSource::Env {
                    println!("{name}: removed; the environment variable {} still sets it", k.env_var);
                } else {
                    println!("{name}: removed");
                }
            }
        }
        Ok(())
    })
}

/// `upstream.default: set, kept in the OS keyring` and the like.
fn describe(k: &KeyInfo) -> String {
    if k.set {
        format!("{}: set, kept in {}", k.name, k.location)
    } else {
        format!("{}: not set (store it with `metaclaw key set`, or set {})", k.name, k.env_var)
    }
}

/// The key from standard input: one line of 1 to 4096 printable characters.
fn read_key() -> Result<String> {
    let mut value = String::new();
    std::io::stdin().read_line(&mut value).context("cannot read the key from standard input")?;
    let value = value.trim();
    if value.is_empty() {
        bail!("no key on standard input (try: printf %s \"$KEY\" | metaclaw key set upstream)");
    }
    if value.len() > 4096 || value.chars().any(char::is_control) {
        bail!("a key is one line of 1 to 4096 printable characters");
    }
    Ok(value.to_string())
}

/// Where keys go: the running engine (its admin API), or this home's vault directly.
enum Target {
    Engine(Client),
    Local(Vault, Box<Config>),
}

impl Target {
    async fn find(home: &Home) -> Result<Self> {
        if let Ok(client) = Client::for_home(home) {
            match client.keys().await {
                Ok(_) => return Ok(Self::Engine(client)),
                // Not running, or another home's engine on the configured port (not our token).
                Err(ClientError::Unreachable { .. }) => {}
                Err(e) if e.status() == Some(401) => {}
                Err(e) => return Err(e.into()),
            }
        }
        let cfg = Config::load(&home.config_path())?;
        Ok(Self::Local(Vault::for_home(home.root()).await, Box::new(cfg)))
    }

    async fn keys(&self) -> Result<Vec<KeyInfo>> {
        match self {
            Self::Engine(c) => Ok(c.keys().await?),
            Self::Local(vault, cfg) => {
                let mut names: Vec<String> = cfg.upstream_names().iter().map(|n| format!("upstream.{n}")).collect();
                names.push("proxy".into());
                names.push("tinker".into());
                let mut out = Vec::new();
                for name in names {
                    let (secret, label) = secret_for(cfg, &name)?;
                    let (value, source) = vault.get(&secret).await?;
                    out.push(KeyInfo {
                        location: vault.location(&secret, source),
                        name,
                        label,
                        set: value.is_some(),
                        source,
                        env_var: secret.env_var().into(),
                    });
                }
                Ok(out)
            }
        }
    }

    async fn info(&self, name: &str) -> Result<KeyInfo> {
        if let Self::Local(_, cfg) = self {
            secret_for(cfg, name)?;
        }
        match self.keys().await?.into_iter().find(|k| k.name == name) {
            Some(k) => Ok(k),
            None => bail!(
                "no key named {name:?}: use `proxy`, `tinker` or `upstream` with --upstream <a configured upstream>"
            ),
        }
    }

    async fn set(&self, name: &str, value: &str) -> Result<()> {
        match self {
            Self::Engine(c) => Ok(c.set_key(name, value).await?),
            Self::Local(vault, cfg) => Ok(vault.set(&secret_for(cfg, name)?.0, value).await?),
        }
    }

    async fn delete(&self, name: &str) -> Result<()> {
        match self {
            Self::Engine(c) => Ok(c.delete_key(name).await?),
            Self::Local(vault, cfg) => Ok(vault.delete(&secret_for(cfg, name)?.0).await?),
        }
    }
}

/// The secret behind an API key name, with the label the admin API gives it.
fn secret_for(cfg: &Config, name: &str) -> Result<(SecretName, String)> {
    match name {
        "proxy" => Ok((SecretName::proxy(), "Key agents must present to the proxy".into())),
        "tinker" => Ok((SecretName::tinker(), "Tinker API key (policy training and serving)".into())),
        _ => match name.strip_prefix("upstream.") {
            Some(up) if cfg.upstream_names().iter().any(|n| n == up) => {
                Ok((SecretName::upstream(up), format!("API key of upstream {up:?}")))
            }
            _ => bail!(
                "no key named {name:?}: use `proxy`, `tinker` or `upstream` with --upstream <a configured upstream>"
            ),
        },
    }
}
