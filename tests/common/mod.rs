//! Test harness: a real engine (real SQLite file, real loopback HTTP) in front of the stand-in
//! upstream from `tests/standin`.
#![allow(dead_code)]

pub mod radicale;

use std::net::SocketAddr;
use std::time::Duration;

use metaclaw::config::Config;
use metaclaw::engine::{Engine, Hooks, Keys};
use metaclaw::home::Home;
use metaclaw_standin::{Options, Standin};
use serde_json::{json, Value};

pub struct Harness {
    pub engine: Option<Engine>,
    pub standin: Standin,
    pub home: tempfile::TempDir,
    pub http: reqwest::Client,
    pub base: String,
    pub token: String,
}

pub async fn standin(opts: Options) -> Standin {
    metaclaw_standin::spawn(SocketAddr::from(([127, 0, 0, 1], 0)), opts).await.expect("stand-in starts")
}

pub fn config_for(standin: &Standin) -> Config {
    let mut cfg = Config::default();
    cfg.proxy.port = 0;
    cfg.upstream.base_url = standin.base_url();
    cfg.store.flush_interval_ms = 20;
    // Faithfulness tests compare bytes with the upstream's; skill tests add their own skills.
    cfg.skills.builtin = false;
    // A test's new skill must reach its turns: holdout (withholding a new skill from a share of
    // conversations, to measure it) would drop it from some; tests/skill_stats.rs turns it on.
    cfg.skills.holdout.enabled = false;
    // The scheduler reads requests only: no X11, GNOME or logind on a test machine.
    cfg.scheduler.os_idle = false;
    cfg
}

impl Harness {
    pub async fn start(edit: impl FnOnce(&mut Config)) -> Self {
        Self::start_with(edit, Keys::none(), Options { record: true, ..Default::default() }).await
    }

    pub async fn start_with(edit: impl FnOnce(&mut Config), keys: Keys, opts: Options) -> Self {
        Self::start_hooked(edit, keys, opts, Hooks::default()).await
    }

    pub async fn start_hooked(edit: impl FnOnce(&mut Config), keys: Keys, opts: Options, hooks: Hooks) -> Self {
        let standin = standin(opts).await;
        let mut cfg = config_for(&standin);
        edit(&mut cfg);
        let home = tempfile::tempdir().unwrap();
        let engine = Engine::start_with(cfg, Home::at(home.path()), keys, hooks).await.expect("engine starts");
        let base = format!("http://{}", engine.addr());
        let token = engine.admin_token().to_string();
        Self { engine: Some(engine), standin, home, http: reqwest::Client::new(), base, token }
    }

    /// Restarts the engine on the same home (and a new port) with the same upstream.
    pub async fn restart(&mut self, edit: impl FnOnce(&mut Config)) {
        self.restart_hooked(edit, Keys::none(), Hooks::default()).await
    }

    pub async fn restart_hooked(&mut self, edit: impl FnOnce(&mut Config), keys: Keys, hooks: Hooks) {
        self.engine.take().unwrap().shutdown().await;
        let mut cfg = config_for(&self.standin);
        edit(&mut cfg);
        let engine = Engine::start_with(cfg, Home::at(self.home.path()), keys, hooks).await.expect("engine restarts");
        self.base = format!("http://{}", engine.addr());
        self.token = engine.admin_token().to_string();
        self.engine = Some(engine);
    }

    /// The typed admin-API client of the running engine (its current address: after `restart`, the
    /// new one).
    pub fn client(&self) -> metaclaw::api::client::Client {
        metaclaw::api::client::Client::new(self.base.clone(), self.token.clone())
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn chat(&self, body: Value) -> reqwest::Response {
        self.http.post(self.url("/v1/chat/completions")).json(&body).send().await.unwrap()
    }

    /// The same request straight to the stand-in.
    pub async fn chat_direct(&self, body: &Value) -> reqwest::Response {
        self.http.post(format!("{}/chat/completions", self.standin.base_url())).json(body).send().await.unwrap()
    }

    pub async fn flush(&self) {
        self.engine.as_ref().unwrap().store().flush().await.unwrap();
    }

    pub async fn admin(&self, path: &str) -> Value {
        let r = self.http.get(self.url(path)).bearer_auth(&self.token).send().await.unwrap();
        assert!(r.status().is_success(), "{path}: {}", r.status());
        r.json().await.unwrap()
    }

    pub async fn turn(&self, id: i64) -> Value {
        self.flush().await;
        self.admin(&format!("/api/turns/{id}")).await
    }

    /// The turn as the typed client reads it, after flushing the store's pending writes.
    pub async fn turn_detail(&self, id: i64) -> metaclaw::api::types::status::TurnDetail {
        self.flush().await;
        self.client().turn(id).await.unwrap_or_else(|e| panic!("turn {id}: {e}"))
    }

    pub async fn stop(mut self) {
        if let Some(e) = self.engine.take() {
            e.shutdown().await;
        }
    }
}

pub fn user(text: &str) -> Value {
    json!({"model": "standin-small", "messages": [{"role": "user", "content": text}]})
}

pub fn turn_id(r: &reqwest::Response) -> i64 {
    r.headers()["x-metaclaw-turn-id"].to_str().unwrap().parse().unwrap()
}

pub async fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    for _ in 0..200 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("timed out waiting for {what}");
}

pub async fn wait_until_async<F, Fut>(what: &str, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..200 {
        if f().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("timed out waiting for {what}");
}

/// Calls the admin API raw, for tests about the wire (status codes, error bodies, the JSON
/// shape): (status, the body as JSON, or as a JSON string when it is not JSON).
pub async fn api(h: &Harness, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut rb = h.http.request(method, h.url(path)).bearer_auth(&h.token);
    if let Some(b) = body {
        rb = rb.json(&b);
    }
    let r = rb.send().await.unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// Polls `f` (every 25 ms, for up to 10 s) until it gives a value.
pub async fn wait_for<T>(what: &str, mut f: impl AsyncFnMut() -> Option<T>) -> T {
    for _ in 0..400 {
        if let Some(v) = f().await {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("timed out waiting for {what}");
}

/// The learning loop on, with the stand-in as judge and evolver.
pub fn learning(c: &mut Config) {
    c.judge.model = Some("standin-judge".into());
    c.judge.wait_for_next_secs = 1;
    c.evolve.model = Some("standin-evolver".into());
}

/// The learning loop on, evolving only when asked (`POST /api/evolve`) or at a session's end.
pub fn learning_on_demand(c: &mut Config) {
    learning(c);
    c.evolve.failures_to_trigger = 99;
}

/// A session where the user corrects the agent's timestamp, ending it, with `directive` telling
/// the stand-in evolver what to propose: (failed turn, correction turn).
pub async fn corrected_session(h: &Harness, session: &str, directive: &str) -> (i64, i64) {
    corrected_session_as(h, None, session, directive).await
}

/// [`corrected_session`] sent as `agent` (`X-Agent-Id`) when given.
pub async fn corrected_session_as(h: &Harness, agent: Option<&str>, session: &str, directive: &str) -> (i64, i64) {
    let first = format!("put the standup time in the notes {directive}");
    let a = say_as(h, agent, session, &[&first], false).await;
    let correction = [first.as_str(), &format!("Echo: {first}"), "no, timestamps must carry +08:00 [[judge_score:-1]]"];
    let b = say_as(h, agent, session, &correction, true).await;
    (a, b)
}

/// The candidates of `status`, newest first.
pub async fn candidates(
    h: &Harness,
    status: metaclaw::api::types::learning::CandidateStatus,
) -> Vec<metaclaw::api::types::learning::Candidate> {
    let filter = metaclaw::api::types::learning::CandidateFilter { status: Some(status), ..Default::default() };
    h.client().candidates(&filter).await.unwrap().candidates
}

/// A candidate's replay verdict, typed, once it has one.
pub fn replay(c: &metaclaw::api::types::learning::Candidate) -> Option<metaclaw::api::types::learning::Replay> {
    c.replay.clone().map(|r| serde_json::from_value(r).unwrap_or_else(|e| panic!("replay of #{}: {e}", c.id)))
}

/// The recorded evolution runs, newest first.
pub async fn runs(h: &Harness) -> Vec<metaclaw::api::types::learning::Run> {
    h.client().evolve_runs(&Default::default()).await.unwrap().runs
}

/// Returns once the evolution run in progress (with its validation and approval policy) is over:
/// an on-demand run waits for it (one evolution at a time) and finds nothing left to learn from.
pub async fn settled(h: &Harness) {
    h.client().evolve(&Default::default()).await.unwrap();
}

/// Adds a skill from its whole SKILL.md; returns the generation it made.
pub async fn create_skill(h: &Harness, name: &str, content: &str) -> i64 {
    let skill = metaclaw::api::types::skills::SkillWrite {
        name: Some(name.into()),
        content: Some(content.into()),
        ..Default::default()
    };
    h.client().create_skill(&skill).await.unwrap_or_else(|e| panic!("creating {name}: {e}")).generation
}

/// The user's verdict on a turn (+1 or -1).
pub async fn feedback(h: &Harness, turn: i64, score: i64) {
    let fb = metaclaw::api::types::status::Feedback { score, note: None };
    h.client().feedback(turn, &fb).await.unwrap_or_else(|e| panic!("feedback on {turn}: {e}"));
}

/// The `metaclaw` binary of this build.
pub const BIN: &str = env!("CARGO_BIN_EXE_metaclaw");

/// Runs the CLI against the harness's engine (same home): (success, stdout, stderr).
pub fn cli(h: &Harness, args: &[&str]) -> (bool, String, String) {
    let out = std::process::Command::new(BIN)
        .args(args)
        .env("METACLAW_HOME", h.home.path())
        .env("METACLAW_NO_KEYRING", "1")
        .output()
        .unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

/// Sends one chat turn of `history` (alternating user/assistant, the last one the user's) in
/// `session`, optionally marking the session done; asserts 200 and returns the turn's id.
pub async fn say(h: &Harness, session: &str, history: &[&str], done: bool) -> i64 {
    say_as(h, None, session, history, done).await
}

/// [`say`] sent as `agent` (`X-Agent-Id`) when given.
pub async fn say_as(h: &Harness, agent: Option<&str>, session: &str, history: &[&str], done: bool) -> i64 {
    let messages: Vec<Value> = history
        .iter()
        .enumerate()
        .map(|(i, t)| json!({"role": if i % 2 == 0 { "user" } else { "assistant" }, "content": t}))
        .collect();
    let mut rb = h.http.post(h.url("/v1/chat/completions")).header("x-session-id", session);
    if let Some(agent) = agent {
        rb = rb.header("x-agent-id", agent);
    }
    if done {
        rb = rb.header("x-session-done", "true");
    }
    let r = rb.json(&json!({"model": "m", "messages": messages})).send().await.unwrap();
    assert_eq!(r.status(), 200);
    turn_id(&r)
}
