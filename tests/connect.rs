//! `metaclaw connect`, `disconnect` and `doctor` as a user runs them, with the engine stopped:
//! the diff is shown, `--dry-run` writes nothing, the backup lets `disconnect` restore the
//! original byte for byte, an edit made since is never overwritten, and snippets are printed
//! for agents whose config MetaClaw does not edit.

mod common;

use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_metaclaw");

struct Setup {
    _dir: tempfile::TempDir,
    mc: std::path::PathBuf,
    user: std::path::PathBuf,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let mc = dir.path().join("metaclaw");
    let user = dir.path().join("user");
    std::fs::create_dir_all(&mc).unwrap();
    std::fs::create_dir_all(&user).unwrap();
    std::fs::write(mc.join("config.toml"), "[proxy]\nport = 30456\n[upstream]\nmodel = \"gpt-test\"\n").unwrap();
    Setup { _dir: dir, mc, user }
}

fn run(s: &Setup, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", &s.user)
        .env("METACLAW_HOME", &s.mc)
        .env("METACLAW_NO_KEYRING", "1")
        .output()
        .unwrap()
}

fn ok(s: &Setup, args: &[&str]) -> String {
    let o = run(s, args);
    let text = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    assert!(o.status.success(), "metaclaw {args:?}: {text}");
    text
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

#[test]
fn connect_shows_the_diff_writes_after_a_backup_and_disconnect_restores_the_original_bytes() {
    let s = setup();
    let settings = s.user.join(".claude/settings.json");
    let original = "{\n  \"theme\": \"dark\" ,\n  \"env\": {\"FOO\": \"1\"}\n}\n";
    write(&settings, original);

    let dry = ok(&s, &["connect", "claude-code", "--dry-run"]);
    assert!(dry.contains("+    \"ANTHROPIC_BASE_URL\": \"http://127.0.0.1:30456/agents/claude-code\""), "{dry}");
    assert_eq!(std::fs::read_to_string(&settings).unwrap(), original, "--dry-run writes nothing");

    ok(&s, &["connect", "claude-code", "--yes"]);
    let wired: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&settings).unwrap()).unwrap();
    assert_eq!(wired["env"]["ANTHROPIC_BASE_URL"], "http://127.0.0.1:30456/agents/claude-code");
    assert_eq!(wired["env"]["FOO"], "1", "the user's settings stay");
    let backups: Vec<_> = std::fs::read_dir(s.mc.join("connect/claude-code")).unwrap().flatten().collect();
    assert!(backups.iter().any(|e| e.file_name().to_string_lossy().ends_with(".orig")), "a timestamped backup");

    let doctor = ok(&s, &["doctor"]);
    let line = doctor.lines().find(|l| l.starts_with("claude-code")).unwrap();
    assert!(line.contains("wired") && !line.contains("not wired"), "{doctor}");
    assert!(line.contains("MetaClaw is not running"), "no engine, no last turn: {doctor}");
    assert_eq!(ok(&s, &["connect", "--status"]), doctor);

    let again = ok(&s, &["connect", "claude-code", "--yes"]);
    assert!(again.contains("already points at MetaClaw"), "{again}");

    ok(&s, &["disconnect", "claude-code"]);
    assert_eq!(std::fs::read_to_string(&settings).unwrap(), original);
}

#[test]
fn disconnect_refuses_to_overwrite_an_edit_and_leaves_a_three_way_result() {
    let s = setup();
    let config = s.user.join(".codex/config.toml");
    write(&config, "model = \"gpt-5\"\n");
    ok(&s, &["connect", "codex", "--yes", "--no-inject"]);
    let wired = std::fs::read_to_string(&config).unwrap();
    assert!(wired.contains("X-MetaClaw-Inject") && wired.contains("/agents/codex/v1"), "{wired}");
    let edited = format!("{wired}\n[profiles.deep]\nmodel = \"o3\"\n");
    std::fs::write(&config, &edited).unwrap();

    let o = run(&s, &["disconnect", "codex"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(err.contains("edited after `metaclaw connect`") && err.contains("config.toml.metaclaw-restore"), "{err}");
    assert_eq!(std::fs::read_to_string(&config).unwrap(), edited, "left as the user made it");
    let proposal = std::fs::read_to_string(s.user.join(".codex/config.toml.metaclaw-restore")).unwrap();
    assert_eq!(proposal, "model = \"gpt-5\"\n\n[profiles.deep]\nmodel = \"o3\"\n");
}

#[test]
fn snippet_agents_get_copyable_settings_and_unknown_agents_a_list() {
    let s = setup();
    let sdk = ok(&s, &["connect", "sdk"]);
    assert!(sdk.contains("OPENAI_BASE_URL=http://127.0.0.1:30456/agents/sdk/v1"), "{sdk}");
    assert!(sdk.contains("ANTHROPIC_BASE_URL=http://127.0.0.1:30456/agents/sdk"), "{sdk}");
    let hermes = ok(&s, &["connect", "hermes"]);
    assert!(hermes.contains("base_url: http://127.0.0.1:30456/agents/hermes/v1"), "{hermes}");
    let o = run(&s, &["connect", "cursor"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("one of: openclaw, claude-code, codex"));
}

/// The admin API's side, through the typed client, against the real `metaclaw serve` running
/// with the agent's `HOME` (the engine edits the config of the user it runs as).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_api_lists_previews_connects_and_disconnects_agents() {
    use metaclaw::api::client::Client;
    use metaclaw::api::types::connect::{AgentKind, ConnectRequest, DisconnectOutcome, Wiring};
    use std::io::{BufRead, BufReader};

    let standin = common::standin(metaclaw_standin::Options::default()).await;
    let s = setup();
    std::fs::write(s.mc.join("config.toml"), "[skills]\nbuiltin = false\n[scheduler]\nos_idle = false\n").unwrap();
    let mut child = Command::new(BIN)
        .args(["serve", "--port", "0", "--upstream", &standin.base_url()])
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", &s.user)
        .env("METACLAW_HOME", &s.mc)
        .env("METACLAW_NO_KEYRING", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let _serve = Kill(child);
    let base = line.trim().strip_prefix("MetaClaw listening on ").unwrap().trim_end_matches("/v1").to_string();
    let port: u16 = base.rsplit(':').next().unwrap().parse().unwrap();
    let token = std::fs::read_to_string(s.mc.join("admin.token")).unwrap();
    let client = Client::new(base, token);

    let list = client.connect_agents().await.unwrap();
    assert_eq!(list.port, port);
    assert_eq!(list.agents.len(), 6);
    let codex = list.agents.iter().find(|a| a.agent == AgentKind::Codex).unwrap();
    assert_eq!((codex.state, codex.restorable, codex.file_wired), (Wiring::NotWired, false, true));
    let sdk = list.agents.iter().find(|a| a.agent == AgentKind::Sdk).unwrap();
    assert!(sdk.snippet.contains(&format!("http://127.0.0.1:{port}/agents/sdk/v1")), "{}", sdk.snippet);

    let config = s.user.join(".codex/config.toml");
    let req = ConnectRequest { inject: Some(false), model: None };
    let preview = client.connect_preview(AgentKind::Codex, &req).await.unwrap();
    assert!(!preview.written && preview.diff.contains("X-MetaClaw-Inject"), "{}", preview.diff);
    assert!(!config.exists(), "a preview writes nothing");

    let done = client.connect_agent(AgentKind::Codex, &req).await.unwrap();
    assert!(done.written && config.exists());
    let list = client.connect_agents().await.unwrap();
    let codex = list.agents.iter().find(|a| a.agent == AgentKind::Codex).unwrap();
    assert_eq!((codex.state, codex.restorable), (Wiring::Wired, true));
    let again = client.connect_agent(AgentKind::Codex, &req).await.unwrap();
    assert!(again.already && !again.written);

    let r = client.disconnect_agent(AgentKind::Codex).await.unwrap();
    assert_eq!(r.outcome, DisconnectOutcome::Removed);
    assert!(!config.exists());
    assert_eq!(list.agents.iter().find(|a| a.agent == AgentKind::Sdk).unwrap().last_seen_ms, None);
    // A turn by the agent's route is its last seen.
    let r = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port}/agents/sdk/v1/chat/completions"))
        .json(&serde_json::json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    assert!(r.headers().contains_key("x-metaclaw-turn-id"), "{}", r.status());
    let mut seen = None;
    for _ in 0..200 {
        let list = client.connect_agents().await.unwrap();
        seen = list.agents.iter().find(|a| a.agent == AgentKind::Sdk).unwrap().last_seen_ms;
        if seen.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert!(seen.is_some(), "the sdk's turn is its last seen");
    assert_eq!(
        client
            .connect_agents()
            .await
            .unwrap()
            .agents
            .iter()
            .find(|a| a.agent == AgentKind::Codex)
            .unwrap()
            .last_seen_ms,
        None
    );

    let e = client.disconnect_agent(AgentKind::Codex).await.unwrap_err();
    assert_eq!(e.status(), Some(404), "{e}");
    let e = client.connect_agent(AgentKind::Hermes, &ConnectRequest::default()).await.unwrap_err();
    assert_eq!(e.status(), Some(400));
    assert!(e.to_string().contains("snippet"), "{e}");
}
