//! The scheduler end to end, in a real engine: a job starts when the user goes away, is paused
//! within seconds of their return, resumes from its checkpoint in the next window; pausing
//! learning closes every window; simulation shows meeting windows from a calendar.

mod common;

use std::sync::atomic::{AtomicI64, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::Harness;
use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use metaclaw::api::client::Client;
use metaclaw::api::types::scheduler::{Reason, RunInfo, RunOutcome, SchedulerState, SchedulerStatus, TimeRange};
use metaclaw::engine::{Hooks, Keys};
use metaclaw::scheduler::runner::Timing;
use metaclaw::scheduler::signals::{FakeIdle, FakePower, Signals};
use metaclaw::scheduler::{Job, JobCtx, Outcome};
use serde_json::json;

/// Counts to `target`, one step every 50 ms, saving its count after each step.
struct Counting {
    count: Arc<AtomicU32>,
    starts: Arc<AtomicU32>,
    resumed_from: Arc<std::sync::Mutex<Vec<u32>>>,
    target: u32,
}

impl Job for Counting {
    fn name(&self) -> &'static str {
        "counting"
    }
    fn default_estimate(&self) -> Duration {
        Duration::from_secs(1)
    }
    fn pending(&self) -> BoxFuture<'_, bool> {
        async move { self.count.load(Ordering::SeqCst) < self.target }.boxed()
    }
    fn run(&self, ctx: JobCtx) -> BoxFuture<'_, Outcome> {
        async move {
            self.starts.fetch_add(1, Ordering::SeqCst);
            let mut n = ctx.checkpoint.load().await.unwrap().and_then(|v| v["done"].as_u64()).unwrap_or(0) as u32;
            self.resumed_from.lock().unwrap().push(n);
            while n < self.target {
                tokio::select! {
                    _ = ctx.cancel.cancelled() => return Outcome::Paused(format!("at step {n}")),
                    _ = tokio::time::sleep(Duration::from_millis(50)) => {}
                }
                n += 1;
                ctx.checkpoint.save(&json!({"done": n})).await.unwrap();
                self.count.store(n, Ordering::SeqCst);
            }
            Outcome::Done(format!("counted to {n}"))
        }
        .boxed()
    }
}

fn quick() -> Timing {
    Timing {
        idle_poll: Duration::from_millis(100),
        running_poll: Duration::from_millis(250),
        pause_grace: Duration::from_secs(2),
        relearn: Duration::from_secs(600),
    }
}

/// The admin API's typed client for the harness's engine.
fn client(h: &Harness) -> Client {
    Client::new(h.url(""), &h.token)
}

async fn status(h: &Harness) -> SchedulerStatus {
    client(h).scheduler().await.expect("GET /api/scheduler")
}

/// The last run of the test's job, as the status shows it.
fn counting_run(s: &SchedulerStatus) -> Option<RunInfo> {
    s.jobs.iter().find(|j| j.name == "counting").and_then(|j| j.last_run.clone())
}

#[tokio::test]
async fn a_job_yields_within_seconds_of_the_user_returning_and_resumes_from_its_checkpoint() {
    let idle = FakeIdle(Arc::new(AtomicU64::new(10 * 60_000)));
    let signals = Signals {
        os: Some(Arc::new(idle.clone())),
        power: Arc::new(FakePower::default()),
        last_request: Arc::new(AtomicI64::new(0)),
    };
    let job = Counting {
        count: Default::default(),
        starts: Default::default(),
        resumed_from: Default::default(),
        target: 60,
    };
    let (count, starts, resumed) = (job.count.clone(), job.starts.clone(), job.resumed_from.clone());
    let hooks = Hooks { signals: Some(signals), timing: Some(quick()), jobs: vec![Arc::new(job)] };
    let h = Harness::start_hooked(
        |c| {
            c.scheduler.sleep = [("default".to_string(), "off".to_string())].into();
            c.scheduler.idle_minutes = 5;
        },
        Keys::none(),
        Default::default(),
        hooks,
    )
    .await;

    // Away for ten minutes: the window opens and the job runs.
    common::wait_until("the job to make progress", || count.load(Ordering::SeqCst) >= 5).await;
    let s = status(&h).await;
    assert_eq!(s.state, SchedulerState::Running, "{s:?}");
    assert_eq!(s.job.as_deref(), Some("counting"));
    assert_eq!(s.decision.reason, Reason::Away);
    assert_eq!(s.signals.idle_source, "fake");

    // The user touches the keyboard: the job stops within 5 s, at a checkpoint.
    idle.0.store(0, Ordering::SeqCst);
    let back = Instant::now();
    let mut last = count.load(Ordering::SeqCst);
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = count.load(Ordering::SeqCst);
        let s = status(&h).await;
        if s.job.is_none() && now == last {
            assert_eq!(s.decision.reason, Reason::Present, "{s:?}");
            break;
        }
        last = now;
        assert!(
            back.elapsed() < Duration::from_secs(5),
            "the job still runs {:?} after the user returned",
            back.elapsed()
        );
    }
    let yielded = back.elapsed();
    let paused_at = count.load(Ordering::SeqCst);
    assert!(paused_at < 60, "the job finished before it could be paused");
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(count.load(Ordering::SeqCst), paused_at, "no work after pausing");
    let s = status(&h).await;
    let run = counting_run(&s).expect("the job's run");
    assert_eq!(run.outcome, Some(RunOutcome::Paused), "{s:?}");
    assert!(run.window.contains("away"), "{run:?}");
    eprintln!("yielded {yielded:?} after the user returned, at step {paused_at}");

    // Away again: it resumes from its checkpoint, not from zero, and finishes.
    idle.0.store(10 * 60_000, Ordering::SeqCst);
    common::wait_until("the job to finish", || count.load(Ordering::SeqCst) == 60).await;
    assert_eq!(starts.load(Ordering::SeqCst), 2);
    assert_eq!(*resumed.lock().unwrap(), vec![0, paused_at]);
    let mut outcome = None;
    for _ in 0..40 {
        outcome = counting_run(&status(&h).await).and_then(|r| r.outcome);
        if outcome == Some(RunOutcome::Done) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(outcome, Some(RunOutcome::Done));
    h.stop().await;
}

#[tokio::test]
async fn pausing_learning_closes_the_window_and_survives_a_restart() {
    let idle = FakeIdle(Arc::new(AtomicU64::new(10 * 60_000)));
    let signals = Signals {
        os: Some(Arc::new(idle.clone())),
        power: Arc::new(FakePower::default()),
        last_request: Arc::new(AtomicI64::new(0)),
    };
    let hooks = Hooks { signals: Some(signals), timing: Some(quick()), jobs: vec![] };
    let edit = |c: &mut metaclaw::config::Config| {
        c.scheduler.sleep = [("default".to_string(), "off".to_string())].into();
        c.scheduler.idle_minutes = 5;
    };
    let mut h = Harness::start_hooked(edit, Keys::none(), Default::default(), hooks.clone()).await;
    common::wait_until_async("the window to open", || async { status(&h).await.state == SchedulerState::Open }).await;

    assert!(client(&h).pause_learning(true).await.unwrap().learning_paused);
    common::wait_until_async("the pause", || async { status(&h).await.state == SchedulerState::Paused }).await;
    assert_eq!(status(&h).await.decision.reason, Reason::Paused);
    assert!(client(&h).status().await.unwrap().learning_paused);

    h.restart_hooked(edit, Keys::none(), hooks).await;
    common::wait_until_async("the pause after a restart", || async {
        status(&h).await.state == SchedulerState::Paused
    })
    .await;
    assert!(!client(&h).pause_learning(false).await.unwrap().learning_paused);
    common::wait_until_async("the window to reopen", || async { status(&h).await.state == SchedulerState::Open }).await;
    h.stop().await;
}

#[tokio::test]
async fn simulation_shows_meeting_windows_from_a_calendar() {
    let h = Harness::start(|c| {
        c.scheduler.sleep = [("default".to_string(), "off".to_string())].into();
        c.scheduler.timezone = Some("UTC".into());
    })
    .await;
    // A meeting tomorrow 10:00-11:00 UTC.
    let tomorrow = jiff::Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC).date().tomorrow().unwrap();
    let at = |h: i8| tomorrow.at(h, 0, 0, 0).to_zoned(jiff::tz::TimeZone::UTC).unwrap().timestamp().as_millisecond();
    let day = tomorrow.strftime("%Y%m%d");
    let ics = format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:m@1\r\nDTSTART:{day}T100000Z\r\nDTEND:{day}T110000Z\r\nSUMMARY:Review\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("work.ics");
    std::fs::write(&path, ics).unwrap();
    let r =
        h.http.post(h.url("/api/calendars")).bearer_auth(&h.token).json(&json!({"source": path})).send().await.unwrap();
    assert_eq!(r.status(), 201);

    let sim = client(&h).simulate(&TimeRange { from: Some(at(9)), to: Some(at(12)) }).await.unwrap();
    let meeting = sim.windows.iter().find(|w| w.reason == Reason::Meeting).unwrap_or_else(|| panic!("{sim:?}"));
    assert_eq!((meeting.start, meeting.end), (at(10), at(11)), "{sim:?}");
    assert!(meeting.explanation.contains("meeting until"));
    let e = client(&h).simulate(&TimeRange { from: Some(at(9)), to: Some(at(9) + 40 * 86_400_000) }).await.unwrap_err();
    assert_eq!(e.status(), Some(400), "periods over 31 days are refused: {e}");
    h.stop().await;
}

/// The section was called `[omls]` (the paper's name) before it became `[scheduler]`: configs
/// written then still load, and are written back under the new name.
#[test]
fn an_old_omls_section_still_loads_as_the_scheduler() {
    let path = std::path::Path::new("config.toml");
    let old = "[omls]\nidle_minutes = 7\ntimezone = \"UTC\"\n[omls.sleep]\ndefault = \"off\"\n";
    let cfg = metaclaw::config::Config::parse(old, path).unwrap();
    assert_eq!(cfg.scheduler.idle_minutes, 7);
    assert_eq!(cfg.scheduler.timezone.as_deref(), Some("UTC"));
    assert_eq!(cfg.scheduler.sleep.get("default").map(String::as_str), Some("off"));
    let text = cfg.to_toml();
    assert!(text.contains("[scheduler]") && !text.contains("[omls"), "{text}");
    let new = metaclaw::config::Config::parse("[scheduler]\nidle_minutes = 9\n", path).unwrap();
    assert_eq!(new.scheduler.idle_minutes, 9);
}
