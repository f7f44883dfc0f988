//! Policy training end to end, in a real engine against the Tinker stand-in: the policy serves
//! the agent (with logprobs), judged query turns become one batch (support turns never do), a
//! window opens and a step runs through a JWT login, polled futures, a transient 503 and a save
//! that times out once, and the next proxied request is served by the new adapter. Then pausing
//! mid-step, a restart mid-run, resuming from the checkpoint, and rolling back; the stand-in's
//! record of what each served adapter was trained on proves no turn was lost or trained twice.

mod common;

use std::path::Path;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{turn_id, Harness};
use metaclaw::api::types::learning::{DatasetQuery, EvolveArg, Split};
use metaclaw::api::types::train::{
    RunTrigger, ServingReason, TrainPage, TrainRunStatus, TrainState, TrainStatus, TrainStepStatus,
};
use metaclaw::api::types::ErrorCode;
use metaclaw::engine::{Hooks, Keys};
use metaclaw::scheduler::runner::Timing;
use metaclaw::scheduler::signals::{FakeIdle, FakePower, Signals};
use metaclaw_standin::tinker::{self, write_tokenizer, TinkerOptions, TinkerStandin};
use serde_json::{json, Value};

const BASE: &str = "standin/tiny-chat";
const KEY: &str = "tml-test-key";

fn quick() -> Timing {
    Timing {
        idle_poll: Duration::from_millis(100),
        running_poll: Duration::from_millis(200),
        pause_grace: Duration::from_secs(3),
        relearn: Duration::from_secs(600),
    }
}

struct World {
    h: Harness,
    tinker: TinkerStandin,
    idle: FakeIdle,
    _tok: tempfile::TempDir,
    vocab: serde_json::Map<String, Value>,
}

fn hooks(idle: &FakeIdle) -> Hooks {
    let signals = Signals {
        os: Some(Arc::new(idle.clone())),
        power: Arc::new(FakePower::default()),
        last_request: Arc::new(AtomicI64::new(0)),
    };
    Hooks { signals: Some(signals), timing: Some(quick()), jobs: Vec::new() }
}

fn train_config(c: &mut metaclaw::config::Config, tinker: &TinkerStandin, tokenizer: Option<&Path>) {
    c.scheduler.sleep = [("default".to_string(), "off".to_string())].into();
    c.scheduler.idle_minutes = 5;
    c.scheduler.maintenance_hours = 10_000;
    c.train.enabled = true;
    c.train.base_model = Some(BASE.into());
    c.train.base_url = tinker.base_url();
    c.train.min_batch = 2;
    c.train.max_batch = 8;
    c.train.save_timeout_secs = 2;
    c.train.save_attempts = 3;
    c.train.hub_url = tinker.base_url();
    c.train.tokenizer_dir = tokenizer.map(Path::to_path_buf);
    c.evolve.model = Some("standin-evolver".into());
    c.evolve.upstream = Some("default".into());
}

fn keys() -> Keys {
    Keys { tinker: Some(KEY.into()), ..Keys::none() }
}

async fn world(opts: TinkerOptions, download: bool) -> World {
    let tok = tempfile::tempdir().unwrap();
    let vocab = write_tokenizer(tok.path());
    let opts = TinkerOptions { api_key: Some(KEY.into()), hub_dir: Some(tok.path().to_path_buf()), ..opts };
    let tinker = tinker::spawn(opts).await.unwrap();
    let idle = FakeIdle(Arc::new(AtomicU64::new(0)));
    let dir = (!download).then(|| tok.path().to_path_buf());
    let h = Harness::start_hooked(
        |c| train_config(c, &tinker, dir.as_deref()),
        keys(),
        metaclaw_standin::Options { record: true, ..Default::default() },
        hooks(&idle),
    )
    .await;
    World { h, tinker, idle, _tok: tok, vocab }
}

async fn say(w: &World, session: &str, text: &str) -> (i64, Value) {
    let r =
        w.h.http
            .post(w.h.url("/v1/chat/completions"))
            .header("x-session-id", session)
            .json(&json!({"model": "agent-model", "messages": [{"role": "user", "content": text}]}))
            .send()
            .await
            .unwrap();
    assert_eq!(r.status(), 200);
    let id = turn_id(&r);
    (id, r.json().await.unwrap())
}

async fn feedback(w: &World, turn: i64, score: i64) {
    w.h.flush().await;
    common::feedback(&w.h, turn, score).await;
}

async fn status(w: &World) -> TrainStatus {
    w.h.client().train_status().await.unwrap()
}

/// The status's last run's status, if there was a run.
async fn last_run(w: &World) -> Option<TrainRunStatus> {
    status(w).await.last_run.map(|r| r.status)
}

/// The newest training runs.
async fn runs(w: &World) -> Vec<metaclaw::api::types::train::TrainRun> {
    w.h.client().train_runs(&TrainPage::default()).await.unwrap()
}

async fn wait_for(what: &str, secs: u64, mut f: impl AsyncFnMut() -> bool) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(secs) {
        if f().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out after {secs} s waiting for {what}");
}

fn away(w: &World) {
    w.idle.0.store(10 * 60_000, Ordering::SeqCst);
}

fn back(w: &World) {
    w.idle.0.store(0, Ordering::SeqCst);
}

/// Query turns with rewards; a support turn (taught a pending candidate); a turn whose sampled
/// tokens the tokenizer would split differently. Returns the query turns' ids.
async fn collect(w: &World, prefix: &str, rewards: &[i64]) -> Vec<i64> {
    let words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"];
    let mut ids = Vec::new();
    for (i, r) in rewards.iter().enumerate() {
        let (id, body) = say(w, &format!("{prefix}-q"), &format!("{} please", words[i % words.len()])).await;
        assert_eq!(body["choices"][0]["message"]["content"], "sure thing", "{body}");
        feedback(w, id, *r).await;
        ids.push(id);
    }
    ids
}

fn served_model(s: &TrainStatus) -> String {
    s.serving.as_ref().map(|x| x.model.clone()).unwrap_or_default()
}

#[tokio::test]
async fn a_window_trains_the_query_turns_and_the_next_request_uses_the_new_adapter() {
    let w = world(
        TinkerOptions {
            jwt: true,
            pending_polls: 3,
            fail_once: vec!["forward_backward"],
            stall_first_sampler_save: true,
            ..Default::default()
        },
        false,
    )
    .await;
    let s = status(&w).await;
    assert_eq!(s.state, TrainState::Idle, "{s:?}");
    assert_eq!(served_model(&s), BASE, "before any training the policy serves the base model");

    // A support turn: a failure the evolver learns a (pending) skill from.
    let (support, _) = say(&w, "support", "forbidden [[evolve:timestamps]]").await;
    feedback(&w, support, -1).await;
    w.h.client().evolve(&EvolveArg { session: Some("support".into()) }).await.unwrap();
    let ds = w.h.client().dataset(&DatasetQuery { split: Some(Split::Support), limit: None }).await.unwrap();
    let ids: Vec<i64> =
        ds.lines().map(|l| serde_json::from_str::<metaclaw::dataset::Example>(l).unwrap().turn_id).collect();
    assert!(ids.contains(&support), "the support turn is support: {ds}");

    // Query turns, and one the policy sampled with tokens our tokenizer would not produce.
    let query = collect(&w, "a", &[1, 1, -1, 1]).await;
    let (odd, _) = say(&w, "a-q", "golf [[split_tokens]]").await;
    feedback(&w, odd, 1).await;

    // Every main turn so far went to the policy with logprobs requested, as the base model.
    let served = w.tinker.served();
    assert_eq!(served.len(), 6, "{served:?}");
    assert!(served.iter().all(|m| m == BASE), "{served:?}");
    let s = status(&w).await;
    assert_eq!(s.eligible, 5, "four query turns and the odd one (support excluded): {s:?}");

    // Nothing trains while the user is here.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(w.tinker.received().is_empty());

    away(&w);
    wait_for("a training run to finish", 30, async || last_run(&w).await == Some(TrainRunStatus::Done)).await;
    let s = status(&w).await;
    let served_path = served_model(&s);
    assert!(served_path.starts_with("tinker://") && served_path.contains("/sampler_weights/step-"), "{s:?}");
    assert!(served_path.ends_with("-2"), "the first sampler save timed out and was retried: {served_path}");
    assert_eq!(s.today.steps, 1, "{s:?}");
    assert_eq!(s.samples.trained, 4, "{s:?}");
    assert_eq!(s.samples.skipped, 1, "{s:?}");
    let reason = &s.samples.skip_reasons[0].0;
    assert!(reason.contains("the tokenizer does not match the served model"), "{reason}");

    // The service got exactly the four query turns, never the support turn.
    let got = w.tinker.received();
    assert_eq!(got.len(), 4, "one batch of four datums");
    let forbidden: Vec<i64> = ["forbidden", " forbidden"].iter().map(|k| w.vocab[*k].as_i64().unwrap()).collect();
    for d in &got {
        assert!(!d.tokens.iter().any(|t| forbidden.contains(&i64::from(*t))), "a support turn was sent: {d:?}");
        // Prompt positions carry nothing; the response's do (batch-normalised rewards 1, 1, -1, 1).
        let n = d.advantages.len();
        let resp = &d.advantages[n - 3..];
        assert!(d.advantages[..n - 3].iter().all(|a| *a == 0.0), "{d:?}");
        assert!(resp.iter().all(|a| (a - resp[0]).abs() < 1e-6 && a.abs() > 0.5), "{d:?}");
        assert_eq!(&d.logprobs[n - 3..], &[-0.25, -0.375, -0.5], "the sampled logprobs, aligned");
    }
    let mut adv: Vec<f32> = got.iter().map(|d| *d.advantages.last().unwrap()).collect();
    adv.sort_by(f32::total_cmp);
    assert!((adv[0] + 1.732).abs() < 1e-3 && (adv[3] - 0.577).abs() < 1e-3, "{adv:?}");
    let lineage = w.tinker.lineage(&served_path).expect("the served adapter exists");
    assert_eq!(lineage.len(), 1, "one optimiser step is in the served weights");
    assert_eq!(lineage[0].len(), 4);

    // The next request is answered by the new adapter, without a restart.
    say(&w, "a-q", "hotel please").await;
    assert_eq!(w.tinker.served().last().unwrap(), &served_path);

    // The run is visible with its step, window and checkpoint.
    let api = w.h.client();
    let run = runs(&w).await.remove(0);
    assert_eq!(run.trigger, RunTrigger::Window);
    assert!(run.window.contains("away"), "{run:?}");
    let detail = api.train_run(run.id).await.unwrap();
    let step = &detail.steps[0];
    assert_eq!(step.status, TrainStepStatus::Done, "{detail:?}");
    assert_eq!(step.batch_size, 4);
    let state_path = step.state_path.as_deref().unwrap();
    assert!(step.loss.unwrap() > 0.0 && state_path.contains("/weights/"), "{step:?}");
    let step1 = step.id;
    // The service holds the step's state and the weights being served.
    let remote = api.train_remote_checkpoints(run.id).await.unwrap();
    let paths: Vec<&str> = remote.iter().map(|c| c.tinker_path.as_str()).collect();
    assert!(paths.contains(&served_path.as_str()) && paths.contains(&state_path), "{remote:?}");
    assert!(query.iter().all(|q| *q > support));

    // More data, another window: training continues from the saved state.
    back(&w);
    collect(&w, "b", &[1, -1]).await;
    away(&w);
    wait_for("the second run", 30, async || status(&w).await.today.steps == 2).await;
    wait_for("the second adapter to be served", 10, async || served_model(&status(&w).await) != served_path).await;
    let second = served_model(&status(&w).await);
    let l2 = w.tinker.lineage(&second).unwrap();
    assert_eq!(l2.len(), 2, "the second adapter holds both steps: {l2:?}");
    assert_eq!(l2[0], lineage[0], "…the first exactly as it was");
    assert!(w.tinker.ops().iter().any(|o| o == "load_weights"), "the second run resumed from the checkpoint");

    // Roll back to the first step: served at once, and recorded.
    let v = api.train_rollback(step1).await.unwrap();
    assert_eq!((v.model.as_str(), v.step_id), (served_path.as_str(), Some(step1)));
    back(&w);
    say(&w, "c", "alpha please").await;
    assert_eq!(w.tinker.served().last().unwrap(), &served_path);
    let history = api.train_serving(&TrainPage::default()).await.unwrap();
    assert_eq!(history[0].reason, ServingReason::Rollback, "{history:?}");
    let e = api.train_rollback(999).await.unwrap_err();
    assert_eq!((e.status(), e.code()), (Some(404), Some(ErrorCode::NotFound)), "{e}");
    assert!(w.tinker.heartbeats() <= 10, "heartbeats are every 10 s, not a busy loop");
    w.h.stop().await;
}

#[tokio::test]
async fn pausing_mid_step_or_restarting_mid_run_loses_nothing_and_trains_nothing_twice() {
    // The tokenizer is downloaded from the (stand-in) hub this time.
    // …and the service is an older one that takes forward_backward only as JSON.
    let mut w =
        world(TinkerOptions { pending_polls: 1, json_forward_backward: true, ..Default::default() }, true).await;
    let query = collect(&w, "p", &[1, -1, 1]).await;

    // A slow step: the user comes back while forward_backward is pending.
    w.tinker.hold_forward_backward(true);
    away(&w);
    wait_for("forward_backward to be sent", 30, async || w.tinker.received().len() == 3).await;
    let s = status(&w).await;
    assert_eq!(s.state, TrainState::Training, "{s:?}");
    back(&w);
    let returned = Instant::now();
    wait_for("the run to yield", 10, async || last_run(&w).await == Some(TrainRunStatus::Paused)).await;
    let yielded = returned.elapsed();
    assert!(yielded < Duration::from_secs(5), "training yielded {yielded:?} after the user returned");
    let s = status(&w).await;
    assert_eq!(s.today.steps, 0, "{s:?}");
    assert_eq!(served_model(&s), BASE, "nothing new is served: {s:?}");
    let detail = w.h.client().train_run(runs(&w).await[0].id).await.unwrap();
    assert_eq!(detail.steps[0].status, TrainStepStatus::Pending, "the step waits to be redone: {detail:?}");

    // Next window: the step is redone; this time MetaClaw is stopped in the middle of it.
    away(&w);
    wait_for("forward_backward again", 30, async || w.tinker.received().len() == 6).await;
    let idle = FakeIdle(Arc::new(AtomicU64::new(0)));
    let tinker = &w.tinker;
    w.h.restart_hooked(|c| train_config(c, tinker, None), keys(), hooks(&idle)).await;
    w.idle = idle;
    let ended = runs(&w).await[0].status;
    assert!(matches!(ended, TrainRunStatus::Paused | TrainRunStatus::Interrupted), "{ended:?}");

    // After the restart, a window finishes the step.
    w.tinker.hold_forward_backward(false);
    away(&w);
    wait_for("the step to be done", 30, async || status(&w).await.today.steps == 1).await;
    wait_for("the adapter to be served", 10, async || served_model(&status(&w).await).contains("sampler_weights"))
        .await;
    let s = status(&w).await;
    assert_eq!(s.samples.trained, 3, "{s:?}");
    let lineage = w.tinker.lineage(&served_model(&s)).unwrap();
    assert_eq!(lineage.len(), 1, "{lineage:?}");
    let mut batch = lineage[0].clone();
    batch.sort_unstable();
    batch.dedup();
    assert_eq!(batch.len(), 3, "each of the three turns exactly once, though sent three times: {lineage:?}");
    assert_eq!(w.tinker.received().len(), 9);
    assert_eq!(query.len(), 3);
    // The tokenizer came from the hub into the MetaClaw home.
    assert!(w.h.home.path().join("tokenizers/standin--tiny-chat/tokenizer.json").exists());
    w.h.stop().await;
}

#[tokio::test]
async fn training_off_says_how_to_turn_it_on_and_refuses_controls() {
    let h = Harness::start(|_| {}).await;
    let s = h.client().train_status().await.unwrap();
    assert_eq!((s.enabled, s.state), (false, TrainState::Off), "{s:?}");
    assert!(s.detail.contains("[train] enabled = true"), "{s:?}");
    let e = h.client().train_now().await.unwrap_err();
    assert_eq!(e.status(), Some(409), "{e}");
    assert!(e.to_string().contains("training is off"), "{e}");
    // Without training, requests route as before and carry no logprobs request.
    let r = h.chat(common::user("hi")).await;
    assert_eq!(r.status(), 200);
    let last = h.standin.requests().last().unwrap().json();
    assert!(last.get("logprobs").is_none(), "{last}");
    h.stop().await;
}

#[tokio::test]
async fn distillation_pulls_towards_a_teacher_with_the_same_tokenizer_only() {
    let tok = tempfile::tempdir().unwrap();
    write_tokenizer(tok.path());
    let tinker = tinker::spawn(TinkerOptions { api_key: Some(KEY.into()), ..Default::default() }).await.unwrap();
    let idle = FakeIdle(Arc::new(AtomicU64::new(0)));
    let teacher = format!("{}/teacher/v1", tinker.base_url());
    let h = Harness::start_hooked(
        |c| {
            train_config(c, &tinker, Some(tok.path()));
            c.train.distill =
                Some(metaclaw::config::DistillConfig { teacher_url: teacher, teacher_model: "big".into(), coef: 1.0 });
        },
        keys(),
        metaclaw_standin::Options { record: true, ..Default::default() },
        hooks(&idle),
    )
    .await;
    let vocab = serde_json::Map::new();
    let w = World { h, tinker, idle, _tok: tok, vocab };
    // The teacher spells "charlie" differently: that turn trains on its reward alone.
    let (a, _) = say(&w, "d", "alpha please").await;
    let (c, _) = say(&w, "d", "charlie please").await;
    feedback(&w, a, 1).await;
    feedback(&w, c, -1).await;
    away(&w);
    wait_for("the distilled step", 30, async || status(&w).await.today.steps == 1).await;
    let got = w.tinker.received();
    assert_eq!(got.len(), 2);
    let tail = |d: &tinker::Received| d.advantages[d.advantages.len() - 3..].to_vec();
    let mut tails: Vec<Vec<f32>> = got.iter().map(tail).collect();
    tails.sort_by(|x, y| x[0].total_cmp(&y[0]));
    assert_eq!(tails[0], vec![-1.0, -1.0, -1.0], "no teacher term where tokenizers differ");
    // Reward advantage 1, plus -(student − teacher): student -0.25, -0.375, -0.5; teacher -0.1.
    for (got, want) in tails[1].iter().zip([1.15f32, 1.275, 1.4]) {
        assert!((got - want).abs() < 1e-5, "{:?}", tails[1]);
    }
    w.h.stop().await;
}

#[tokio::test]
async fn a_wrong_key_never_breaks_the_agent_and_says_what_is_wrong() {
    let tok = tempfile::tempdir().unwrap();
    write_tokenizer(tok.path());
    let tinker = tinker::spawn(TinkerOptions { api_key: Some(KEY.into()), ..Default::default() }).await.unwrap();
    let idle = FakeIdle(Arc::new(AtomicU64::new(0)));
    let h = Harness::start_hooked(
        |c| train_config(c, &tinker, Some(tok.path())),
        Keys { tinker: Some("tml-wrong".into()), ..Keys::none() },
        metaclaw_standin::Options { record: true, ..Default::default() },
        hooks(&idle),
    )
    .await;
    let w = World { h, tinker, idle, _tok: tok, vocab: serde_json::Map::new() };
    // The policy answers 401; the turn goes to the usual upstream instead.
    let (id, body) = say(&w, "k", "alpha please").await;
    assert_ne!(body["choices"][0]["message"]["content"], "sure thing", "{body}");
    assert_eq!(w.h.turn_detail(id).await.summary.upstream, "default");
    // A run fails with a message that names the key, and is not retried at once.
    // Raw HTTP: the run is accepted (202), not done, when the answer comes.
    let r = w.h.http.post(w.h.url("/api/train/run-now")).bearer_auth(&w.h.token).send().await.unwrap();
    assert_eq!(r.status(), 202);
    wait_for("the run to fail", 10, async || last_run(&w).await == Some(TrainRunStatus::Failed)).await;
    let s = status(&w).await;
    let failed = s.last_run.as_ref().and_then(|r| r.detail.as_deref()).unwrap_or_default();
    assert!(failed.contains("refused the key"), "{s:?}");
    assert!(s.detail.contains("metaclaw key set tinker"), "{s:?}");
    w.h.stop().await;
}

#[tokio::test]
async fn without_logprobs_from_the_endpoint_the_service_computes_them() {
    let w = world(TinkerOptions { no_logprobs: true, pending_polls: 1, ..Default::default() }, false).await;
    collect(&w, "n", &[1, -1]).await;
    let s = status(&w).await;
    assert_eq!(s.eligible, 2, "turns the policy served are eligible without sampled tokens: {s:?}");
    away(&w);
    wait_for("the step", 30, async || status(&w).await.today.steps == 1).await;
    let got = w.tinker.received();
    assert_eq!(got.len(), 2);
    for d in &got {
        let n = d.logprobs.len();
        // The answer re-rendered with the chat template, up to its end-of-turn token, scored by
        // the service under the adapter that served it.
        assert_eq!(&d.logprobs[n - 3..], &[-0.5, -0.5, -0.5], "{d:?}");
        assert!(d.logprobs[..n - 3].iter().all(|x| *x == 0.0));
        assert_eq!(
            *d.target.last().unwrap(),
            w.vocab["<|im_end|>"].as_i64().unwrap(),
            "the answer ends at the end-of-turn token"
        );
    }
    let ops = w.tinker.ops();
    assert!(
        ops.iter().any(|o| o == "create_sampling_session") && ops.iter().filter(|o| *o == "asample").count() == 2,
        "{ops:?}"
    );
    w.h.stop().await;
}
