//! Settings the listener, the store and the log were set up with apply live too: a real engine
//! on loopback (and a real `metaclaw serve` child for the log) changed through `PUT /api/config`
//! while it runs, with nothing waiting for a restart.

mod common;

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{config_for, user, wait_until, Harness};
use metaclaw::api::client::Client;
use metaclaw::api::types::settings::{ConfigSaved, Section};
use metaclaw::config::Config;
use tokio::io::AsyncReadExt;

/// `PUT /api/config` with `cfg` through the typed `client` (its own connection): what is now in
/// force.
async fn put_config(client: &Client, cfg: &Config) -> ConfigSaved {
    tokio::time::timeout(Duration::from_secs(10), client.save_config(cfg))
        .await
        .expect("PUT /api/config answered")
        .unwrap_or_else(|e| panic!("PUT /api/config: {e}"))
}

async fn healthz(client: &reqwest::Client, base: &str) -> u16 {
    tokio::time::timeout(Duration::from_secs(5), client.get(format!("{base}/healthz")).send())
        .await
        .expect("an open connection is still served")
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn max_connections_lowered_then_raised_changes_how_many_connections_are_served() {
    let h = Harness::start(|c| {
        c.proxy.max_connections = 3;
        c.proxy.header_timeout_secs = 30;
    })
    .await;
    let mut cfg = config_for(&h.standin);
    cfg.proxy.max_connections = 2;
    cfg.proxy.header_timeout_secs = 30;
    // Each client keeps one connection open (keep-alive) once it has been answered.
    let admin = h.client();
    let saved = put_config(&admin, &cfg).await;
    assert!(saved.restart.is_empty(), "nothing waits for a restart: {saved:?}");
    let other = reqwest::Client::new();
    assert_eq!(healthz(&other, &h.base).await, 200);

    // Two connections are open, the cap is two: a third waits.
    let fresh = reqwest::Client::new();
    let base = h.base.clone();
    let waiting = tokio::spawn(async move { fresh.get(format!("{base}/healthz")).send().await.map(|r| r.status()) });
    tokio::time::sleep(Duration::from_millis(700)).await; // a wait for something that must not happen
    assert!(!waiting.is_finished(), "a connection past the lowered cap was served");

    // Lowered below what is open: the open connections are kept and still served.
    cfg.proxy.max_connections = 1;
    put_config(&admin, &cfg).await;
    assert_eq!(healthz(&other, &h.base).await, 200);
    assert!(!waiting.is_finished(), "a connection past the lowered cap was served");

    // Raised: the waiting connection is admitted at once, and a new header deadline applies to
    // connections accepted from now on.
    cfg.proxy.max_connections = 4;
    cfg.proxy.header_timeout_secs = 1;
    put_config(&admin, &cfg).await;
    let served = tokio::time::timeout(Duration::from_secs(10), waiting)
        .await
        .expect("the waiting connection was admitted once the cap was raised")
        .unwrap()
        .unwrap();
    assert_eq!(served, 200);
    let mut silent = tokio::net::TcpStream::connect(h.engine.as_ref().unwrap().addr()).await.unwrap();
    let started = Instant::now();
    let mut buf = [0u8; 16];
    let read = tokio::time::timeout(Duration::from_secs(10), silent.read(&mut buf))
        .await
        .expect("a silent connection is closed by the new header deadline, not the old 30 s one");
    assert!(matches!(read, Ok(0) | Err(_)), "closed without an answer: {read:?}");
    assert!(started.elapsed() < Duration::from_secs(10));
    h.stop().await;
}

#[tokio::test]
async fn a_new_flush_interval_is_used_by_the_writer_without_a_restart() {
    let h = Harness::start(|_| {}).await;
    let store = h.engine.as_ref().unwrap().store().clone();
    assert_eq!(store.flush_interval(), Duration::from_millis(20));
    let mut cfg = config_for(&h.standin);
    cfg.store.flush_interval_ms = 1;
    let saved = put_config(&h.client(), &cfg).await;
    assert_eq!(saved.applied, [Section::Store]);
    assert!(saved.restart.is_empty(), "nothing waits for a restart: {saved:?}");
    assert_eq!(store.flush_interval(), Duration::from_millis(1));

    // A turn is on disk (read from the database file by another connection) soon after its answer.
    let r = h.chat(user("flush me")).await;
    assert_eq!(r.status(), 200);
    let id = common::turn_id(&r);
    let db = h.home.path().join("metaclaw.db");
    let conn = rusqlite::Connection::open(&db).unwrap();
    wait_until("the turn is committed", || {
        conn.query_row("SELECT COUNT(*) FROM turns WHERE id = ?1", [id], |r| r.get::<_, i64>(0)).unwrap_or(0) == 1
    })
    .await;
    h.stop().await;
}

#[tokio::test]
async fn a_log_level_saved_while_serve_runs_changes_what_it_logs() {
    let standin = common::standin(Default::default()).await;
    let home = tempfile::tempdir().unwrap();
    std::fs::write(home.path().join("config.toml"), "[log]\nlevel = \"debug\"\n").unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_metaclaw"))
        .args(["serve", "--port", "0", "--upstream", &standin.base_url()])
        .env("METACLAW_HOME", home.path())
        .env("METACLAW_NO_KEYRING", "1")
        .env_remove("METACLAW_LOG")
        .env_remove("METACLAW_UPSTREAM_API_KEY")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let log = Arc::new(Mutex::new(String::new()));
    let mut stderr = child.stderr.take().unwrap();
    let sink = log.clone();
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stderr.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock().unwrap().push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let base =
        line.trim().strip_prefix("MetaClaw listening on ").expect("serve prints its address").trim_end_matches("/v1");
    let token = std::fs::read_to_string(home.path().join("admin.token")).unwrap();
    let token = token.trim();
    let client = Client::new(base, token);
    let mut cfg = client.config().await.unwrap().config;
    assert_eq!(cfg.log.level, "debug");
    wait_until("serve logs at debug level", || log.lock().unwrap().contains("DEBUG")).await;

    // To warn: the engine's own info line about the change is not logged any more.
    cfg.log.level = "warn".into();
    let saved = put_config(&client, &cfg).await;
    assert!(saved.restart.is_empty(), "nothing waits for a restart: {saved:?}");
    // Back to info with another change: that one is logged, and it is the only one.
    cfg.log.level = "info".into();
    cfg.skills.max_tokens = 321;
    put_config(&client, &cfg).await;
    wait_until("the change back to info is logged", || log.lock().unwrap().contains("changed=[Skills, Log]")).await;
    let _ = child.kill();
    let _ = child.wait();
    reader.join().unwrap();
    let text = log.lock().unwrap().clone();
    assert!(!text.contains("changed=[Log]"), "a change made while at warn was logged at info:\n{text}");
    let after = &text[text.find("changed=[Skills, Log]").unwrap()..];
    assert!(!after.contains("DEBUG"), "still logging at debug after the change to info:\n{after}");
}
