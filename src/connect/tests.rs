//! Unit tests of connect/disconnect on temp folders: real files, real backups.

use super::*;

struct Fixture {
    _dir: tempfile::TempDir,
    home: Home,
    env: Env,
    user: PathBuf,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let user = dir.path().join("user");
    std::fs::create_dir_all(&user).unwrap();
    let home = Home::at(dir.path().join("metaclaw"));
    let env = Env::default().with("HOME", &user).with("PATH", dir.path().join("bin"));
    Fixture { _dir: dir, home, env, user }
}

fn target() -> Target {
    Target { port: 30123, model: "fake-model".into(), inject: true }
}

fn connect(f: &Fixture, agent: AgentKind, t: &Target) -> Plan {
    let p = plan(agent, &f.env, t).unwrap();
    apply(&f.home, &p).unwrap();
    p
}

const CODEX: &str =
    "# my codex settings\nmodel = \"gpt-5\"   # the best one\n\n[profiles.fast]\nmodel = \"gpt-5-mini\"\n";

#[test]
fn codex_connect_keeps_the_users_comments_and_disconnect_restores_every_byte() {
    let f = fixture();
    let path = f.user.join(".codex/config.toml");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, CODEX).unwrap();
    let p = connect(&f, AgentKind::Codex, &target());
    assert!(p.diff.contains("+model_provider = \"metaclaw\""), "{}", p.diff);
    let now = std::fs::read_to_string(&path).unwrap();
    assert!(now.contains("# my codex settings") && now.contains("# the best one"), "{now}");
    assert!(now.contains("base_url = \"http://127.0.0.1:30123/agents/codex/v1\""), "{now}");
    assert!(now.contains("wire_api = \"responses\""), "{now}");
    assert!(codex::points_at(now.as_bytes(), 30123).unwrap());
    assert_eq!(state(&f.home, &f.env, AgentKind::Codex, 30123).wiring, Wiring::Wired);
    assert!(matches!(disconnect(&f.home, AgentKind::Codex).unwrap(), Restored::Original { .. }));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), CODEX);
    assert_eq!(state(&f.home, &f.env, AgentKind::Codex, 30123).wiring, Wiring::NotWired);
    assert!(matches!(disconnect(&f.home, AgentKind::Codex), Err(ConnectError::NotConnected { .. })));
}

#[test]
fn connect_never_rewrites_a_config_that_already_points_at_metaclaw() {
    let f = fixture();
    let path = f.user.join(".claude/settings.json");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    // Written by hand, in its own style, pointing at MetaClaw by localhost.
    let mine = "{\"env\": {\"ANTHROPIC_BASE_URL\": \"http://localhost:30123\"}}";
    std::fs::write(&path, mine).unwrap();
    let p = connect(&f, AgentKind::ClaudeCode, &target());
    assert!(p.already && p.diff.is_empty());
    assert_eq!(std::fs::read_to_string(&path).unwrap(), mine);
    assert!(backup::load(&f.home, "claude-code").unwrap().is_none(), "nothing to undo");
    // A second connect after a real one changes nothing either.
    std::fs::write(&path, "{}").unwrap();
    connect(&f, AgentKind::ClaudeCode, &target());
    let once = std::fs::read(&path).unwrap();
    let again = connect(&f, AgentKind::ClaudeCode, &target());
    assert!(again.already);
    assert_eq!(std::fs::read(&path).unwrap(), once);
    disconnect(&f.home, AgentKind::ClaudeCode).unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "{}");
}

#[test]
fn connect_creates_a_missing_config_and_disconnect_removes_it_again() {
    let f = fixture();
    let p = connect(&f, AgentKind::Openclaw, &target());
    let path = f.user.join(".openclaw/openclaw.json");
    assert_eq!(p.path, path);
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(v["agents"]["defaults"]["model"]["primary"], "metaclaw/fake-model");
    assert_eq!(v["models"]["providers"]["metaclaw"]["baseUrl"], "http://127.0.0.1:30123/agents/openclaw/v1");
    assert_eq!(v["models"]["providers"]["metaclaw"]["apiKey"], PLACEHOLDER_KEY);
    assert!(matches!(disconnect(&f.home, AgentKind::Openclaw).unwrap(), Restored::Removed { .. }));
    assert!(!path.exists());
}

#[test]
fn disconnect_refuses_after_a_user_edit_and_writes_the_three_way_result_beside_it() {
    let f = fixture();
    let path = f.user.join(".codex/config.toml");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, CODEX).unwrap();
    connect(&f, AgentKind::Codex, &target());
    let edited = format!("{}\n[profiles.slow]\nmodel = \"o3\"\n", std::fs::read_to_string(&path).unwrap());
    std::fs::write(&path, &edited).unwrap();
    let err = disconnect(&f.home, AgentKind::Codex).unwrap_err();
    let ConnectError::EditedSince { proposal, conflicts, .. } = &err else { panic!("{err}") };
    assert_eq!(*conflicts, 0);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), edited, "the edited file is left alone");
    let merged = std::fs::read_to_string(proposal).unwrap();
    assert_eq!(merged, format!("{CODEX}\n[profiles.slow]\nmodel = \"o3\"\n"), "original plus the user's edit");
    assert!(err.to_string().contains("edited after"), "{err}");
    // The record stays: once the user puts the connected file back, disconnect works.
    assert!(backup::load(&f.home, "codex").unwrap().is_some());
}

#[test]
fn json5_openclaw_config_is_refused_with_the_commands_to_run_instead() {
    let f = fixture();
    let path = f.user.join("oc.json");
    std::fs::write(&path, "{ // mine\n  gateway: { port: 18789, },\n}\n").unwrap();
    let env = f.env.clone().with("OPENCLAW_CONFIG_PATH", &path);
    let err = plan(AgentKind::Openclaw, &env, &target()).unwrap_err();
    assert!(err.to_string().contains("openclaw config set"), "{err}");
    assert_eq!(state(&f.home, &env, AgentKind::Openclaw, 30123).wiring, Wiring::Broken);
}

#[test]
fn each_agents_own_config_override_is_honoured() {
    let f = fixture();
    let env = f
        .env
        .clone()
        .with("CODEX_HOME", "/x/codex")
        .with("CLAUDE_CONFIG_DIR", "/x/claude")
        .with("OPENCLAW_STATE_DIR", "/x/oc");
    assert_eq!(config_path(AgentKind::Codex, &env).unwrap().unwrap(), PathBuf::from("/x/codex/config.toml"));
    assert_eq!(config_path(AgentKind::ClaudeCode, &env).unwrap().unwrap(), PathBuf::from("/x/claude/settings.json"));
    assert_eq!(config_path(AgentKind::Openclaw, &env).unwrap().unwrap(), PathBuf::from("/x/oc/openclaw.json"));
    let env = env.with("OPENCLAW_CONFIG_PATH", "/y/o.json");
    assert_eq!(config_path(AgentKind::Openclaw, &env).unwrap().unwrap(), PathBuf::from("/y/o.json"));
    assert_eq!(config_path(AgentKind::Codex, &f.env).unwrap().unwrap(), f.user.join(".codex/config.toml"));
    assert!(config_path(AgentKind::Sdk, &f.env).unwrap().is_none());
}

#[test]
fn no_inject_is_sent_as_a_header_by_each_file_wired_agent() {
    let f = fixture();
    let t = Target { inject: false, ..target() };
    for agent in [AgentKind::Codex, AgentKind::ClaudeCode, AgentKind::Openclaw] {
        let p = plan(agent, &f.env, &t).unwrap();
        let text = String::from_utf8(p.after).unwrap();
        assert!(text.contains(INJECT_HEADER) && text.contains("off"), "{agent}: {text}");
        let p = plan(agent, &f.env, &target()).unwrap();
        assert!(!String::from_utf8(p.after).unwrap().contains(INJECT_HEADER), "{agent}");
    }
    assert!(snippet(AgentKind::Nanoclaw, &t).contains("ANTHROPIC_CUSTOM_HEADERS"));
}

#[test]
fn a_config_changed_between_plan_and_apply_is_not_overwritten() {
    let f = fixture();
    let p = plan(AgentKind::ClaudeCode, &f.env, &target()).unwrap();
    let path = f.user.join(".claude/settings.json");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, "{\"theme\":\"dark\"}").unwrap();
    assert!(matches!(apply(&f.home, &p), Err(ConnectError::Changed { .. })));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "{\"theme\":\"dark\"}");
}

#[cfg(unix)]
#[test]
fn a_symlinked_config_is_changed_and_restored_at_its_target_keeping_the_link_and_mode() {
    use std::os::unix::fs::PermissionsExt;
    let f = fixture();
    let real = f.user.join("dotfiles/settings.json");
    std::fs::create_dir_all(real.parent().unwrap()).unwrap();
    std::fs::write(&real, "{\"model\": \"opus\"}\n").unwrap();
    std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o640)).unwrap();
    std::fs::create_dir_all(f.user.join(".claude")).unwrap();
    let link = f.user.join(".claude/settings.json");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    connect(&f, AgentKind::ClaudeCode, &target());
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
    assert!(std::fs::read_to_string(&real).unwrap().contains("/agents/claude-code"));
    assert_eq!(std::fs::metadata(&real).unwrap().permissions().mode() & 0o777, 0o640);
    disconnect(&f.home, AgentKind::ClaudeCode).unwrap();
    assert_eq!(std::fs::read_to_string(&real).unwrap(), "{\"model\": \"opus\"}\n");
    assert_eq!(std::fs::metadata(&real).unwrap().permissions().mode() & 0o777, 0o640);
}

#[test]
fn urls_count_as_metaclaw_only_on_loopback_at_its_port() {
    assert!(is_metaclaw_url("http://127.0.0.1:30000/v1", 30000));
    assert!(is_metaclaw_url("http://localhost:30000", 30000));
    assert!(!is_metaclaw_url("http://127.0.0.1:300001/v1", 30000));
    assert!(!is_metaclaw_url("https://api.openai.com/v1", 30000));
}
