//! Settings apply live: a real engine on loopback in front of the stand-in, changed through
//! `PUT /api/config` and `PUT /api/keys/{name}` while it runs; the next request uses the change,
//! answers in flight finish, nothing fails, and a configuration that can't apply changes nothing.

mod common;

use std::time::Duration;

use common::{config_for, standin, turn_id, user, Harness};
use futures_util::StreamExt;
use metaclaw::api::client::ClientError;
use metaclaw::api::types::settings::{ConfigSaved, RestartReason, Section};
use metaclaw::config::Config;
use metaclaw::secrets::SecretSource;
use metaclaw::turn::TurnStatus;
use metaclaw_standin::Options;
use serde_json::json;

/// `PUT /api/config` with `cfg` through the typed client: what is now in force.
async fn put_config(h: &Harness, cfg: &Config) -> ConfigSaved {
    h.client().save_config(cfg).await.unwrap_or_else(|e| panic!("PUT /api/config: {e}"))
}

async fn put_key(h: &Harness, name: &str, value: &str) -> u16 {
    let r = h
        .http
        .put(h.url(&format!("/api/keys/{name}")))
        .bearer_auth(&h.token)
        .json(&json!({ "value": value }))
        .send()
        .await
        .unwrap();
    r.status().as_u16()
}

/// The configuration the harness started with (what a settings page would show and send back).
fn started(h: &Harness) -> Config {
    config_for(&h.standin)
}

#[tokio::test]
async fn a_new_upstream_url_and_key_are_used_by_the_next_request_without_a_restart() {
    let h = Harness::start(|_| {}).await;
    assert_eq!(h.chat(user("before")).await.status(), 200);
    let second = standin(Options { record: true, require_key: Some("sk-second".into()), ..Default::default() }).await;

    let mut cfg = started(&h);
    cfg.upstream.base_url = second.base_url();
    let saved = put_config(&h, &cfg).await;
    assert_eq!(saved.applied, [Section::Upstream]);
    assert!(saved.restart.is_empty(), "{saved:?}");
    assert!(h.home.path().join("config.toml").exists(), "the file is written");
    // The new upstream answers at once; it refuses the request without its key.
    assert_eq!(h.chat(user("no key yet")).await.status(), 401);
    assert_eq!(second.requests().len(), 1);

    assert_eq!(put_key(&h, "upstream.default", "sk-second").await, 204);
    let r = h.chat(user("with the key")).await;
    assert_eq!(r.status(), 200);
    let last = second.requests().last().unwrap().clone();
    assert_eq!(last.header("authorization"), Some("Bearer sk-second"));
    // The first upstream saw only the request made before the change.
    assert_eq!(h.standin.requests().len(), 1);
    let status = h.client().status().await.unwrap();
    assert_eq!(status.info.upstreams[0].base_url, second.base_url());
    assert_ne!(status.info.upstreams[0].key, SecretSource::None, "the status shows a key is set: {status:?}");
    h.stop().await;
}

#[tokio::test]
async fn a_judge_model_set_while_running_judges_the_next_turn() {
    let h = Harness::start(|_| {}).await;
    let c = h.client();
    assert!(c.status().await.unwrap().judge.is_none(), "no judge at first");
    let mut cfg = started(&h);
    cfg.judge.model = Some("standin-judge".into());
    cfg.judge.wait_for_next_secs = 1;
    let saved = put_config(&h, &cfg).await;
    assert_eq!(saved.applied, [Section::Judge]);

    let r = h.chat(user("judge me [[judge_score:-1]]")).await;
    assert_eq!(r.status(), 200);
    let id = turn_id(&r);
    let mut judgement = None;
    for _ in 0..400 {
        h.flush().await;
        judgement = c.turn(id).await.unwrap().judgement;
        if judgement.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let judgement = judgement.expect("the turn was judged");
    assert_eq!(judgement.score, -1, "the turn was judged by the new judge: {judgement:?}");
    assert!(h.standin.requests().iter().any(|r| r.json()["model"] == "standin-judge"));
    assert!(c.status().await.unwrap().judge.is_some());
    h.stop().await;
}

fn skill_md(name: &str, description: &str, body: &str) -> String {
    format!("---\nname: {name}\ndescription: {description:?}\nmetadata:\n  category: agentic\n---\n\n{body}\n")
}

/// The system messages of the last request the stand-in saw, joined.
fn systems_sent(h: &Harness) -> Vec<String> {
    let last = h.standin.requests().last().unwrap().json();
    last["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["role"] == "system")
        .map(|m| m["content"].as_str().unwrap_or("").to_string())
        .collect()
}

#[tokio::test]
async fn skills_placement_and_budget_apply_to_the_next_request() {
    let h = Harness::start(|_| {}).await;
    let r = h
        .http
        .post(h.url("/api/skills"))
        .bearer_auth(&h.token)
        .json(&json!({"name": "iso-timestamps", "content": skill_md("iso-timestamps", "Use whenever writing timestamps: ISO 8601.", &"Write timestamps as 2026-01-02T03:04:05Z, with the zone. ".repeat(30))}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let ask = || {
        json!({"model": "m", "messages": [
            {"role": "system", "content": "sys"}, {"role": "user", "content": "hello"},
            {"role": "assistant", "content": "hi"}, {"role": "user", "content": "fix the timestamps"}]})
    };
    h.chat(ask()).await;
    let before = systems_sent(&h);
    assert_eq!(before.len(), 1, "skills go into the system prompt by default: {before:?}");
    assert!(before[0].starts_with("sys") && before[0].contains("iso-timestamps"));

    // Late placement: the system prompt stays as the agent sent it.
    let mut cfg = started(&h);
    cfg.skills.placement = metaclaw::skills::Placement::Late;
    let saved = put_config(&h, &cfg).await;
    assert_eq!(saved.applied, [Section::Skills]);
    h.chat(ask()).await;
    let late = systems_sent(&h);
    assert_eq!(late[0], "sys");
    assert!(late.len() == 2 && late[1].contains("iso-timestamps"), "{late:?}");

    // A budget no skill fits in: nothing is injected.
    cfg.skills.max_tokens = 50;
    put_config(&h, &cfg).await;
    h.chat(ask()).await;
    assert_eq!(systems_sent(&h), vec!["sys".to_string()]);
    h.stop().await;
}

#[tokio::test]
async fn scheduler_settings_apply_without_a_restart() {
    let h = Harness::start(|c| c.scheduler.timezone = Some("UTC".into())).await;
    let c = h.client();
    assert_eq!(c.scheduler().await.unwrap().timezone, "UTC");
    let mut cfg = started(&h);
    cfg.scheduler.timezone = Some("Asia/Tokyo".into());
    let saved = put_config(&h, &cfg).await;
    assert_eq!(saved.applied, [Section::Scheduler]);
    assert_eq!(c.scheduler().await.unwrap().timezone, "Asia/Tokyo");
    h.stop().await;
}

#[tokio::test]
async fn a_streaming_answer_in_flight_across_a_reload_completes() {
    let h = Harness::start(|_| {}).await;
    let second = standin(Options { record: true, ..Default::default() }).await;
    let body = json!({"model": "m", "stream": true,
        "messages": [{"role": "user", "content": "one two three four five six [[chunk_delay_ms:150]]"}]});
    let r = h.chat(body).await;
    assert_eq!(r.status(), 200);
    let id = turn_id(&r);
    let mut stream = r.bytes_stream();
    let mut text = String::from_utf8(stream.next().await.unwrap().unwrap().to_vec()).unwrap();

    let mut cfg = started(&h);
    cfg.upstream.base_url = second.base_url();
    put_config(&h, &cfg).await;
    // A new request goes to the new upstream while the old answer still streams.
    assert_eq!(h.chat(user("meanwhile")).await.status(), 200);
    assert_eq!(second.requests().len(), 1);

    while let Some(chunk) = stream.next().await {
        text.push_str(std::str::from_utf8(&chunk.unwrap()).unwrap());
    }
    assert!(text.contains("data: [DONE]"), "the stream ran to its end: {text}");
    h.flush().await;
    let turn = h.client().turn(id).await.unwrap();
    assert_eq!(turn.summary.status, TurnStatus::Ok, "{turn:?}");
    h.stop().await;
}

#[tokio::test]
async fn two_hundred_concurrent_requests_across_five_reloads_all_succeed() {
    let h = Harness::start(|_| {}).await;
    let mut tasks = Vec::new();
    for i in 0..200 {
        let (http, url) = (h.http.clone(), h.url("/v1/chat/completions"));
        tasks.push(tokio::spawn(async move {
            let body = json!({"model": "m", "messages": [{"role": "user", "content": format!("request {i} [[delay_ms:{}]]", i % 7 * 20)}]});
            http.post(url).json(&body).send().await.map(|r| r.status().as_u16())
        }));
    }
    let mut cfg = started(&h);
    for n in 0..5 {
        cfg.skills.max_tokens = 500 + n * 100;
        cfg.judge.model = (n % 2 == 0).then(|| "standin-judge".to_string());
        h.client().save_config(&cfg).await.unwrap_or_else(|e| panic!("reload {n}: {e}"));
    }
    let mut failed = Vec::new();
    for (i, t) in tasks.into_iter().enumerate() {
        match t.await.unwrap() {
            Ok(200) => {}
            other => failed.push((i, format!("{other:?}"))),
        }
    }
    assert!(failed.is_empty(), "requests failed across reloads: {failed:?}");
    h.stop().await;
}

#[tokio::test]
async fn a_config_that_fails_validation_changes_nothing() {
    let h = Harness::start(|_| {}).await;
    let mut cfg = started(&h);
    cfg.upstream.base_url = "http://127.0.0.1:9/v1".into();
    cfg.scheduler.timezone = Some("Mars/Olympus_Mons".into());
    let e = h.client().save_config(&cfg).await.unwrap_err();
    assert!(matches!(e, ClientError::Api { status: 422, .. }), "{e:?}");
    assert!(e.to_string().contains("Mars/Olympus_Mons"), "{e}");
    assert!(!h.home.path().join("config.toml").exists(), "nothing was written");
    // The engine still uses the upstream it had.
    assert_eq!(h.chat(user("still here")).await.status(), 200);
    assert_eq!(h.standin.requests().len(), 1);
    h.stop().await;
}

#[tokio::test]
async fn a_new_listen_address_is_saved_and_reported_as_waiting_for_a_restart() {
    let h = Harness::start(|_| {}).await;
    let mut restart = h.engine.as_ref().unwrap().restart_needed();
    let mut cfg = started(&h);
    cfg.proxy.port = 1;
    cfg.judge.model = Some("standin-judge".into());
    let saved = put_config(&h, &cfg).await;
    assert_eq!(saved.restart, [RestartReason::ListenAddress]);
    assert_eq!(saved.applied, [Section::Proxy, Section::Judge], "the rest applies at once");
    tokio::time::timeout(Duration::from_secs(5), restart.changed()).await.unwrap().unwrap();
    assert_eq!(*restart.borrow(), vec![RestartReason::ListenAddress]);
    // Still serving where it listens; GET /api/config says what waits.
    assert_eq!(h.chat(user("still on the old port")).await.status(), 200);
    assert_eq!(h.client().config().await.unwrap().restart, [RestartReason::ListenAddress]);
    h.stop().await;
}

#[tokio::test]
async fn a_deleted_key_is_no_longer_sent_and_a_hand_edit_applies_on_request() {
    let locked = standin(Options { record: true, require_key: Some("sk-k".into()), ..Default::default() }).await;
    let h = Harness::start(|_| {}).await;
    let mut cfg = started(&h);
    cfg.upstream.base_url = locked.base_url();
    put_config(&h, &cfg).await;
    assert_eq!(put_key(&h, "upstream.default", "sk-k").await, 204);
    assert_eq!(h.chat(user("with the key")).await.status(), 200);
    let r = h.http.delete(h.url("/api/keys/upstream.default")).bearer_auth(&h.token).send().await.unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(h.chat(user("key deleted")).await.status(), 401);
    assert_eq!(locked.requests().last().unwrap().header("authorization"), None);

    // config.toml edited by hand: nothing changes until it is applied.
    cfg.upstream.base_url = started(&h).upstream.base_url;
    cfg.proxy.max_body_mib = 1;
    std::fs::write(h.home.path().join("config.toml"), cfg.to_toml()).unwrap();
    assert_eq!(h.chat(user("still the locked one")).await.status(), 401);
    let applied = h.client().apply_config().await.unwrap();
    assert_eq!(applied.applied, [Section::Proxy, Section::Upstream]);
    assert_eq!(h.chat(user("back on the first")).await.status(), 200);
    // The proxy's body limit is in force too.
    let big = "x".repeat(1_200_000);
    assert_eq!(h.chat(user(&big)).await.status(), 413);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metaclaw_serve_keeps_its_command_line_over_saved_settings_and_says_when_to_restart() {
    use std::io::BufRead;
    let first = standin(Options { record: true, ..Default::default() }).await;
    let other = standin(Options { record: true, ..Default::default() }).await;
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("config.toml");
    std::fs::write(&config, "[proxy]\nport = 0\n[skills]\nbuiltin = false\n").unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_metaclaw"))
        .args(["serve", "--upstream", &first.base_url()])
        .env("METACLAW_HOME", home.path())
        .env("METACLAW_NO_KEYRING", "1")
        .env_remove("METACLAW_UPSTREAM_API_KEY")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    let base = line.trim().strip_prefix("MetaClaw listening on ").expect("the address").trim_end_matches("/v1");
    let base = base.to_string();
    let token = std::fs::read_to_string(home.path().join("admin.token")).unwrap();
    let http = reqwest::Client::new();

    let mut cfg = Config::load(&config).unwrap();
    cfg.upstream.base_url = other.base_url();
    cfg.proxy.port = 1;
    cfg.judge.model = Some("standin-judge".into());
    let saved = metaclaw::api::client::Client::new(base.clone(), token).save_config(&cfg).await.unwrap();
    assert_eq!(saved.restart, [RestartReason::ListenAddress]);
    assert_eq!(saved.applied, [Section::Proxy, Section::Judge], "--upstream stays in force: {saved:?}");
    let chat = http.post(format!("{base}/v1/chat/completions")).json(&user("which upstream?")).send().await.unwrap();
    assert_eq!(chat.status(), 200);
    assert_eq!((first.requests().len(), other.requests().len()), (1, 0));

    // `metaclaw serve` says it must be restarted for the new address.
    let said = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        while out.read_line(&mut line).is_ok_and(|n| n > 0) {
            if line.contains("restart `metaclaw serve`") {
                return Some(line);
            }
            line.clear();
        }
        None
    });
    let said = tokio::time::timeout(Duration::from_secs(20), said).await;
    let _ = std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let status = child.wait().unwrap();
    let said = said.expect("serve printed in time").unwrap().expect("a line about restarting");
    assert!(said.contains("the listen address"), "{said}");
    assert!(status.success(), "{status:?}");
}

/// Counts to `target`, one step every 50 ms, saving its count after each step.
struct Counting {
    count: std::sync::Arc<std::sync::atomic::AtomicU32>,
    resumed_from: std::sync::Arc<std::sync::Mutex<Vec<u32>>>,
    target: u32,
}

impl metaclaw::scheduler::Job for Counting {
    fn name(&self) -> &'static str {
        "counting"
    }
    fn default_estimate(&self) -> Duration {
        Duration::from_secs(1)
    }
    fn pending(&self) -> futures_util::future::BoxFuture<'_, bool> {
        use futures_util::FutureExt;
        async move { self.count.load(std::sync::atomic::Ordering::SeqCst) < self.target }.boxed()
    }
    fn run(
        &self,
        ctx: metaclaw::scheduler::JobCtx,
    ) -> futures_util::future::BoxFuture<'_, metaclaw::scheduler::Outcome> {
        use futures_util::FutureExt;
        use metaclaw::scheduler::Outcome;
        async move {
            let mut n = ctx.checkpoint.load().await.unwrap().and_then(|v| v["done"].as_u64()).unwrap_or(0) as u32;
            self.resumed_from.lock().unwrap().push(n);
            while n < self.target {
                tokio::select! {
                    _ = ctx.cancel.cancelled() => return Outcome::Paused(format!("at step {n}")),
                    _ = tokio::time::sleep(Duration::from_millis(50)) => {}
                }
                n += 1;
                ctx.checkpoint.save(&json!({"done": n})).await.unwrap();
                self.count.store(n, std::sync::atomic::Ordering::SeqCst);
            }
            Outcome::Done(format!("counted to {n}"))
        }
        .boxed()
    }
}

#[tokio::test]
async fn a_running_job_is_untouched_by_a_proxy_setting_and_resumes_from_its_checkpoint_after_a_judge_change() {
    use metaclaw::scheduler::signals::{FakeIdle, FakePower, Signals};
    use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
    use std::sync::Arc;
    let signals = Signals {
        os: Some(Arc::new(FakeIdle(Arc::new(AtomicU64::new(10 * 60_000))))),
        power: Arc::new(FakePower::default()),
        last_request: Arc::new(AtomicI64::new(0)),
    };
    let job = Counting { count: Default::default(), resumed_from: Default::default(), target: 80 };
    let (count, resumed) = (job.count.clone(), job.resumed_from.clone());
    let timing = metaclaw::scheduler::runner::Timing {
        idle_poll: Duration::from_millis(100),
        running_poll: Duration::from_millis(250),
        pause_grace: Duration::from_secs(2),
        relearn: Duration::from_secs(600),
    };
    let hooks = metaclaw::engine::Hooks { signals: Some(signals), timing: Some(timing), jobs: vec![Arc::new(job)] };
    let away = |c: &mut Config| {
        c.scheduler.sleep = [("default".to_string(), "off".to_string())].into();
        c.scheduler.idle_minutes = 5;
    };
    let h = Harness::start_hooked(away, metaclaw::engine::Keys::none(), Default::default(), hooks).await;
    common::wait_until("the job to make progress", || count.load(Ordering::SeqCst) >= 3).await;

    let mut cfg = started(&h);
    away(&mut cfg);
    cfg.proxy.max_body_mib = 8;
    put_config(&h, &cfg).await;
    let before = count.load(Ordering::SeqCst);
    common::wait_until("the job to go on", || count.load(Ordering::SeqCst) >= before + 3).await;
    assert_eq!(resumed.lock().unwrap().len(), 1, "a proxy setting leaves the scheduler and its job running");

    cfg.judge.model = Some("standin-judge".into());
    put_config(&h, &cfg).await;
    common::wait_until("the job to finish", || count.load(Ordering::SeqCst) == 80).await;
    let resumed = resumed.lock().unwrap().clone();
    assert_eq!(resumed.len(), 2, "paused once, by the rebuilt scheduler: {resumed:?}");
    assert!(resumed[1] > before, "resumed from its checkpoint, not from zero: {resumed:?}");
    h.stop().await;
}
