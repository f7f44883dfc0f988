//! The real `metaclaw` binary as a user runs it: clean shutdown drains every turn, SIGKILL under
//! load loses nothing committed, bad config is refused with a clear message, and the CLI reads
//! the running engine.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use metaclaw_standin::Options;
use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_metaclaw");

struct Serve {
    child: Child,
    base: String,
}

fn serve(home: &Path, upstream: &str, extra_config: &str) -> Serve {
    serve_logging(home, upstream, extra_config, Stdio::null())
}

fn serve_logging(home: &Path, upstream: &str, extra_config: &str, stderr: Stdio) -> Serve {
    std::fs::create_dir_all(home).unwrap();
    std::fs::write(home.join("config.toml"), extra_config).unwrap();
    let mut child = Command::new(BIN)
        .args(["serve", "--port", "0", "--upstream", upstream])
        .env("METACLAW_HOME", home)
        .env("METACLAW_NO_KEYRING", "1")
        .env_remove("METACLAW_UPSTREAM_API_KEY")
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let base = line
        .trim()
        .strip_prefix("MetaClaw listening on ")
        .expect("serve prints its address")
        .trim_end_matches("/v1")
        .to_string();
    Serve { child, base }
}

fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill").args([sig, &child.id().to_string()]).status().unwrap().success();
    assert!(ok);
}

fn turn_ids_in(db: &Path) -> (String, Vec<i64>) {
    let conn = rusqlite::Connection::open(db).unwrap();
    let check: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    let mut stmt = conn.prepare("SELECT id FROM turns ORDER BY id").unwrap();
    let ids = stmt.query_map([], |r| r.get(0)).unwrap().collect::<Result<Vec<i64>, _>>().unwrap();
    (check, ids)
}

fn body(i: usize) -> Value {
    json!({"model": "m", "messages": [{"role": "user", "content": format!("request {i}")}]})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_drains_every_acknowledged_turn() {
    let standin = common::standin(Options::default()).await;
    let home = tempfile::tempdir().unwrap();
    let mut s = serve(home.path(), &standin.base_url(), "");
    let http = reqwest::Client::new();
    let url = format!("{}/v1/chat/completions", s.base);
    let mut tasks = Vec::new();
    for i in 0..200 {
        let (http, url) = (http.clone(), url.clone());
        tasks.push(tokio::spawn(async move {
            let r = http.post(&url).json(&body(i)).send().await.unwrap();
            assert_eq!(r.status(), 200);
            common::turn_id(&r)
        }));
    }
    let mut acked = Vec::new();
    for t in tasks {
        acked.push(t.await.unwrap());
    }
    signal(&s.child, "-TERM");
    let status = s.child.wait().unwrap();
    assert!(status.success(), "clean exit on SIGTERM: {status:?}");
    let (check, ids) = turn_ids_in(&home.path().join("metaclaw.db"));
    assert_eq!(check, "ok");
    acked.sort();
    assert_eq!(ids, acked, "every acknowledged turn is on disk after SIGTERM");
    assert!(!home.path().join("serve.json").exists(), "runtime file removed on exit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_under_load_keeps_the_database_intact_and_loses_no_flushed_turn() {
    const FLUSH_MS: u64 = 100;
    let standin = common::standin(Options::default()).await;
    let home = tempfile::tempdir().unwrap();
    let mut s = serve(home.path(), &standin.base_url(), &format!("[store]\nflush_interval_ms = {FLUSH_MS}\n"));
    let http = reqwest::Client::new();
    let url = format!("{}/v1/chat/completions", s.base);
    let acked: Arc<Mutex<Vec<(i64, Instant)>>> = Default::default();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut workers = Vec::new();
    for w in 0..16 {
        let (http, url, acked, stop) = (http.clone(), url.clone(), acked.clone(), stop.clone());
        workers.push(tokio::spawn(async move {
            let mut i = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                // Alternate streaming and plain requests.
                let mut b = body(w * 100_000 + i);
                b["stream"] = json!(i % 2 == 0);
                let Ok(r) = http.post(&url).json(&b).send().await else { break };
                let id = common::turn_id(&r);
                if r.bytes().await.is_ok() {
                    acked.lock().unwrap().push((id, Instant::now()));
                }
                i += 1;
            }
        }));
    }
    // Kill once enough turns were acknowledged long enough ago to be flushed: a count, not a
    // wall-clock guess, so a starved machine only makes this take longer.
    const DUE: usize = 120;
    let flushed_by = |now: Instant| {
        acked.lock().unwrap().iter().filter(|(_, at)| now.duration_since(*at) > Duration::from_millis(FLUSH_MS)).count()
    };
    let deadline = Instant::now() + Duration::from_secs(300);
    while flushed_by(Instant::now()) < DUE {
        assert!(Instant::now() < deadline, "the load produced only {} turns in 300 s", flushed_by(Instant::now()));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    s.child.kill().unwrap(); // SIGKILL
    let killed_at = Instant::now();
    s.child.wait().unwrap();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for w in workers {
        let _ = w.await;
    }
    let (check, ids) = turn_ids_in(&home.path().join("metaclaw.db"));
    assert_eq!(check, "ok", "the database survives SIGKILL");
    let acked = acked.lock().unwrap().clone();
    let due: Vec<i64> = acked
        .iter()
        .filter(|(_, at)| killed_at.duration_since(*at) > Duration::from_millis(FLUSH_MS))
        .map(|(id, _)| *id)
        .collect();
    assert!(due.len() >= DUE, "the load produced enough turns to mean something: {}", due.len());
    let missing: Vec<i64> = due.iter().filter(|id| ids.binary_search(id).is_err()).copied().collect();
    assert!(missing.is_empty(), "{} acknowledged turns lost: {missing:?}", missing.len());
}

#[test]
fn bad_config_is_refused_naming_the_key_and_the_file() {
    let home = tempfile::tempdir().unwrap();
    let cfg = home.path().join("config.toml");
    for (text, key) in [("[proxy]\nprot = 1\n", "prot"), ("[upstream]\nbase_url = \"ftp://x\"\n", "upstream.base_url")]
    {
        std::fs::write(&cfg, text).unwrap();
        let out = Command::new(BIN).args(["serve", "--port", "0"]).env("METACLAW_HOME", home.path()).output().unwrap();
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(key) && err.contains(&cfg.display().to_string()), "{err}");
        let out = Command::new(BIN).args(["config", "check"]).env("METACLAW_HOME", home.path()).output().unwrap();
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains(key));
    }
    let out = Command::new(BIN)
        .args(["serve", "--upstream", "not a url"])
        .env("METACLAW_HOME", home.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
}

fn cli(home: &Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(BIN).args(args).env("METACLAW_HOME", home).output().unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_reads_the_running_engine() {
    let home = tempfile::tempdir().unwrap();
    let (ok, _, err) = cli(home.path(), &["status"]);
    assert!(!ok && (err.contains("metaclaw serve") || err.contains("admin token")), "{err}");

    let standin = common::standin(Options::default()).await;
    let mut s = serve(home.path(), &standin.base_url(), "");
    let http = reqwest::Client::new();
    let r = http
        .post(format!("{}/v1/chat/completions", s.base))
        .header("x-session-id", "cli-session")
        .json(&body(1))
        .send()
        .await
        .unwrap();
    let id = common::turn_id(&r);
    r.bytes().await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;

    let (ok, out, err) = cli(home.path(), &["status", "--json"]);
    assert!(ok, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["turns_total"], 1);
    let (ok, out, _) = cli(home.path(), &["turns", "--json", "--session", "cli-session"]);
    assert!(ok);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["turns"][0]["id"], id);
    let (ok, out, _) = cli(home.path(), &["turns"]);
    assert!(ok && out.contains("cli-session#1") && out.contains("Echo: request 1"), "{out}");
    let (ok, out, _) = cli(home.path(), &["sessions"]);
    assert!(ok && out.contains("cli-session"), "{out}");
    let (ok, out, _) = cli(home.path(), &["turn", &id.to_string()]);
    assert!(ok && out.contains("request 1") && out.contains("Echo: request 1"), "{out}");
    let (ok, out, _) = cli(home.path(), &["config", "show"]);
    assert!(ok && out.contains("[upstream]"), "{out}");
    let (ok, out, err) = cli(home.path(), &["scheduler", "status"]);
    assert!(ok && out.contains("state") && out.contains("window") && out.contains("idle"), "{out}{err}");
    assert!(out.contains("job maintenance"), "{out}");

    // Calendars, simulation and the learning switch.
    let ics = home.path().join("home.ics");
    std::fs::write(&ics, "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:a@1\r\nDTSTART:20300101T090000Z\r\nDTEND:20300101T100000Z\r\nSUMMARY:Later\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n").unwrap();
    let (ok, out, err) = cli(home.path(), &["calendar", "add", ics.to_str().unwrap(), "--name", "Home"]);
    assert!(ok && out.contains("added calendar 1") && out.contains("1 events"), "{out}{err}");
    let (ok, out, _) = cli(home.path(), &["calendar", "list"]);
    assert!(ok && out.contains("Home") && out.contains("home.ics"), "{out}");
    let (ok, out, _) = cli(home.path(), &["calendar", "test", "1"]);
    assert!(ok && out.contains("ok: 1 events"), "{out}");
    let (ok, _, err) = cli(home.path(), &["calendar", "add", "https://nonexistent.invalid/x.ics"]);
    assert!(!ok && err.contains("could not reach"), "{err}");
    let (ok, out, err) = cli(home.path(), &["scheduler", "simulate", "--from", "-1d", "--to", "now"]);
    assert!(ok && (out.contains("window(s)") || out.contains("no window")), "{out}{err}");
    let (ok, out, _) = cli(home.path(), &["pause"]);
    assert!(ok && out.contains("paused"), "{out}");
    let (ok, out, _) = cli(home.path(), &["status", "--json"]);
    assert!(ok && out.contains("\"learning_paused\": true"), "{out}");
    let (ok, _, _) = cli(home.path(), &["resume"]);
    assert!(ok);
    let (ok, out, _) = cli(home.path(), &["calendar", "remove", "1"]);
    assert!(ok && out.contains("removed"), "{out}");

    // Skills: the built-in bank is there, explain says why, switches apply.
    let (ok, out, err) = cli(home.path(), &["skills", "list"]);
    assert!(ok && out.contains("keep-completion-log") && out.contains("builtin"), "{out}{err}");
    let (ok, out, _) = cli(home.path(), &["skills", "explain", "the checkout page got really slow, profile it"]);
    assert!(ok && out.contains("profile-performance") && out.contains("injected"), "{out}");
    let (ok, out, _) = cli(home.path(), &["skills", "disable", "profile-performance"]);
    assert!(ok && out.contains("disabled"), "{out}");
    let (ok, out, _) =
        cli(home.path(), &["skills", "explain", "the checkout page got really slow, profile it", "--json"]);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert!(ok && v["candidates"].as_array().unwrap().iter().all(|c| c["name"] != "profile-performance"));
    let (ok, out, _) = cli(home.path(), &["skills", "show", "keep-completion-log"]);
    assert!(ok && out.contains("name: keep-completion-log"), "{out}");
    let bad = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(bad.path().join("x")).unwrap();
    std::fs::write(bad.path().join("x/SKILL.md"), "---\nname: y\ndescription: d\n---\n").unwrap();
    let (ok, out, _) = cli(home.path(), &["skills", "validate", bad.path().to_str().unwrap()]);
    assert!(!ok && out.contains("SKILL.md:2") && out.contains("folder name"), "{out}");
    let export = tempfile::tempdir().unwrap();
    let (ok, out, _) = cli(home.path(), &["skills", "export", export.path().to_str().unwrap()]);
    assert!(ok && out.contains("exported"), "{out}");
    assert!(export.path().join("keep-completion-log/SKILL.md").exists());
    assert!(!export.path().join("profile-performance").exists(), "disabled skills are not exported");
    signal(&s.child, "-TERM");
    assert!(s.child.wait().unwrap().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_drives_the_learning_loop() {
    let standin = common::standin(Options { record: true, ..Default::default() }).await;
    let home = tempfile::tempdir().unwrap();
    let cfg = "[skills]\nbuiltin = false\n[judge]\nmodel = \"standin-judge\"\nwait_for_next_secs = 1\n[evolve]\nmodel = \"standin-evolver\"\n";
    let mut s = serve(home.path(), &standin.base_url(), cfg);
    let http = reqwest::Client::new();
    let url = format!("{}/v1/chat/completions", s.base);
    let first = "put the standup time in the notes [[evolve:timestamps]]";
    for (history, done) in
        [(vec![first], false), (vec![first, "Echo: x", "no, timestamps must carry +08:00 [[judge_score:-1]]"], true)]
    {
        let messages: Vec<Value> = history
            .iter()
            .enumerate()
            .map(|(i, t)| json!({"role": if i % 2 == 0 { "user" } else { "assistant" }, "content": t}))
            .collect();
        let mut rb = http.post(&url).header("x-session-id", "cli-loop");
        if done {
            rb = rb.header("x-session-done", "true");
        }
        assert_eq!(rb.json(&json!({"model": "m", "messages": messages})).send().await.unwrap().status(), 200);
    }
    let mut listed = String::new();
    for _ in 0..200 {
        let (_, out, _) = cli(home.path(), &["review", "list"]);
        if out.contains("timestamp-offsets") && out.contains("improves") {
            listed = out;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(listed.contains("timestamp-offsets"), "the candidate shows up: {listed}");
    let id = listed.lines().nth(1).unwrap().split_whitespace().next().unwrap().to_string();
    let (ok, out, _) = cli(home.path(), &["review", "show", &id]);
    assert!(
        ok && out.contains("the user then said: no, timestamps must carry +08:00")
            && out.contains("--- proposed SKILL.md ---"),
        "{out}"
    );
    let (ok, out, err) = cli(home.path(), &["review", "approve", &id]);
    assert!(ok && out.contains("generation"), "{out}{err}");
    let (ok, out, _) = cli(home.path(), &["generations", "list"]);
    assert!(ok && out.contains(&format!("approved candidate #{id}")), "{out}");
    let (ok, out, _) = cli(home.path(), &["generations", "diff", "1", "2"]);
    assert!(ok && out.contains("== added timestamp-offsets"), "{out}");
    let (ok, out, _) = cli(home.path(), &["dataset", "export", "--split", "support"]);
    assert!(ok && out.lines().count() == 2, "{out}");
    let (ok, out, _) = cli(home.path(), &["feedback", "1", "1", "--note", "fine after all"]);
    assert!(ok && out.contains("marked good"), "{out}");
    let (ok, _, err) = cli(home.path(), &["review", "approve", &id]);
    assert!(!ok && err.contains("already approved"), "{err}");
    signal(&s.child, "-TERM");
    assert!(s.child.wait().unwrap().success());
}

/// A slow stream: a dozen words, one every `ms`.
fn slow_stream(ms: u64) -> Value {
    json!({"model": "standin-small", "stream": true, "messages": [{"role": "user",
        "content": format!("one two three four five six seven eight nine ten eleven [[chunk_delay_ms:{ms}]]")}]})
}

/// Reads a response's stream until its text contains `what`; hands back the rest of the stream.
async fn read_until(
    r: reqwest::Response,
    what: &str,
) -> impl futures_util::Stream<Item = reqwest::Result<bytes::Bytes>> {
    let mut body = Box::pin(r.bytes_stream());
    let mut text = String::new();
    while !text.contains(what) {
        use futures_util::StreamExt;
        let c = body.next().await.expect("the stream goes on").unwrap();
        text.push_str(&String::from_utf8_lossy(&c));
    }
    body
}

fn turn_row(db: &Path, id: i64) -> (String, Option<String>, Option<String>) {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row("SELECT status, response_text, error FROM turns WHERE id = ?1", [id], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
    })
    .unwrap_or_else(|e| panic!("turn {id} is not in the database: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_records_a_stream_that_outlives_the_drain_as_cancelled_with_its_partial_text() {
    let mut h = common::Harness::start(|c| c.proxy.drain_timeout_secs = 1).await;
    let r = h.chat(slow_stream(400)).await;
    let id = common::turn_id(&r);
    let rest = read_until(r, "Echo").await;
    // The client keeps reading while the engine shuts down.
    let reader = tokio::spawn(async move {
        use futures_util::StreamExt;
        let mut rest = Box::pin(rest);
        while let Some(Ok(_)) = rest.next().await {}
    });
    let started = Instant::now();
    h.engine.take().unwrap().shutdown().await;
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(900), "the drain was waited for: {took:?}");
    assert!(took < Duration::from_secs(4), "shutdown is bounded by the drain timeout: {took:?}");
    let (status, text, error) = turn_row(&h.home.path().join("metaclaw.db"), id);
    assert_eq!(status, "cancelled");
    let text = text.unwrap_or_default();
    assert!(text.starts_with("Echo: one") && !text.contains("eleven"), "the partial answer is kept: {text:?}");
    assert!(error.is_some_and(|e| e.contains("shut down")));
    reader.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_waits_for_a_stream_that_finishes_within_the_drain_and_records_it_ok() {
    let mut h = common::Harness::start(|c| c.proxy.drain_timeout_secs = 10).await;
    let r = h.chat(slow_stream(100)).await;
    let id = common::turn_id(&r);
    let rest = read_until(r, "Echo").await;
    let reader = tokio::spawn(async move {
        use futures_util::StreamExt;
        let mut rest = Box::pin(rest);
        let mut text = String::new();
        while let Some(Ok(c)) = rest.next().await {
            text.push_str(&String::from_utf8_lossy(&c));
        }
        text
    });
    let started = Instant::now();
    h.engine.take().unwrap().shutdown().await;
    assert!(started.elapsed() < Duration::from_secs(8), "{:?}", started.elapsed());
    assert!(reader.await.unwrap().contains("data: [DONE]"), "the client got the whole answer");
    let (status, text, _) = turn_row(&h.home.path().join("metaclaw.db"), id);
    assert_eq!(status, "ok");
    assert!(text.unwrap_or_default().contains("eleven"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_during_a_stream_longer_than_the_drain_exits_promptly_and_records_the_turn() {
    let standin = common::standin(Options::default()).await;
    let home = tempfile::tempdir().unwrap();
    let log = tempfile::NamedTempFile::new().unwrap();
    let stderr = Stdio::from(log.reopen().unwrap());
    let mut s = serve_logging(home.path(), &standin.base_url(), "[proxy]\ndrain_timeout_secs = 1\n", stderr);
    let http = reqwest::Client::new();
    let r = http.post(format!("{}/v1/chat/completions", s.base)).json(&slow_stream(500)).send().await.unwrap();
    let id = common::turn_id(&r);
    let rest = read_until(r, "Echo").await;
    let reader = tokio::spawn(async move {
        use futures_util::StreamExt;
        let mut rest = Box::pin(rest);
        while let Some(Ok(_)) = rest.next().await {}
    });
    let started = Instant::now();
    signal(&s.child, "-TERM");
    let status = tokio::task::spawn_blocking(move || s.child.wait().unwrap()).await.unwrap();
    let took = started.elapsed();
    assert!(status.success(), "clean exit: {status:?}");
    assert!(took < Duration::from_secs(5), "SIGTERM finished within the drain and a little: {took:?}");
    let (status, text, _) = turn_row(&home.path().join("metaclaw.db"), id);
    assert_eq!(status, "cancelled", "the turn cut off by the shutdown is on disk");
    assert!(text.is_some_and(|t| t.starts_with("Echo: one")));
    let log = std::fs::read_to_string(log.path()).unwrap();
    let (cut, stopped) = (log.find("recorded as cut off"), log.find("every recorded turn is on disk"));
    assert!(cut.is_some() && stopped.is_some() && cut < stopped, "the log tells what happened, in order: {log}");
    reader.abort();

    // The next start never hands out that id again.
    let mut s = serve(home.path(), &standin.base_url(), "");
    let r = http.post(format!("{}/v1/chat/completions", s.base)).json(&body(1)).send().await.unwrap();
    assert!(common::turn_id(&r) > id);
    signal(&s.child, "-TERM");
    assert!(s.child.wait().unwrap().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn turn_ids_are_never_handed_out_twice_after_kill_9() {
    let standin = common::standin(Options::default()).await;
    let home = tempfile::tempdir().unwrap();
    let mut s = serve(home.path(), &standin.base_url(), "");
    let http = reqwest::Client::new();
    let url = format!("{}/v1/chat/completions", s.base);
    let mut before = Vec::new();
    for i in 0..3 {
        let r = http.post(&url).json(&body(i)).send().await.unwrap();
        before.push(common::turn_id(&r));
    }
    // Streams still running when the process dies: their ids reached the clients, their turns
    // never reached the database.
    let mut open = Vec::new();
    for _ in 0..2 {
        let r = http.post(&url).json(&slow_stream(500)).send().await.unwrap();
        before.push(common::turn_id(&r));
        open.push(read_until(r, "Echo").await);
    }
    s.child.kill().unwrap(); // SIGKILL
    s.child.wait().unwrap();
    let mut s = serve(home.path(), &standin.base_url(), "");
    let url = format!("{}/v1/chat/completions", s.base);
    for i in 0..5 {
        let r = http.post(&url).json(&body(i)).send().await.unwrap();
        let id = common::turn_id(&r);
        assert!(before.iter().all(|b| id > *b), "id {id} after a crash comes after {before:?}");
    }
    signal(&s.child, "-TERM");
    assert!(s.child.wait().unwrap().success());
}

/// Starts `serve` with every async worker stuck in synchronous code (the test hook).
fn serve_with_stuck_workers(home: &Path, upstream: &str) -> Child {
    std::fs::create_dir_all(home).unwrap();
    std::fs::write(home.join("config.toml"), "[proxy]\ndrain_timeout_secs = 1\n").unwrap();
    let mut child = Command::new(BIN)
        .args(["serve", "--port", "0", "--upstream", upstream])
        .env("METACLAW_HOME", home)
        .env("METACLAW_NO_KEYRING", "1")
        .env("METACLAW_TEST_BLOCK_WORKERS", "1")
        .env_remove("METACLAW_UPSTREAM_API_KEY")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    assert!(line.starts_with("MetaClaw listening on "), "{line}");
    child
}

/// Waits for `child` to exit, at most `limit`; kills it and fails if it doesn't.
fn exits_within(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            panic!("still running {limit:?} after the signal");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test]
async fn sigterm_ends_the_process_in_bounded_time_even_with_every_worker_stuck() {
    let standin = common::standin(Options::default()).await;
    let home = tempfile::tempdir().unwrap();
    let mut child = serve_with_stuck_workers(home.path(), &standin.base_url());
    signal(&child, "-TERM");
    // drain_timeout_secs (1) + the shutdown grace (20) + the watchdog's margin (5), and some slack.
    let status = exits_within(&mut child, Duration::from_secs(45));
    assert_eq!(status.code(), Some(3), "the watchdog ended it: {status:?}");

    // A second signal ends it at once.
    let mut child = serve_with_stuck_workers(home.path(), &standin.base_url());
    signal(&child, "-TERM");
    std::thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    signal(&child, "-INT");
    let status = exits_within(&mut child, Duration::from_secs(5));
    assert!(!status.success(), "{status:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
}
