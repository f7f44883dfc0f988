//! Desktop signals against the real services: the X11 idle timer under Xvfb (reset by xdotool),
//! and calendar addresses and API keys in the Secret Service keyring under a D-Bus session.
//! They need those services, so they are ignored by a plain `cargo test`; `scripts/test.sh`
//! runs them with `--ignored` inside `xvfb-run dbus-run-session` with gnome-keyring unlocked.

mod common;

use std::time::Duration;

use common::Harness;
use metaclaw::engine::{Hooks, Keys};
use metaclaw::scheduler::signals::{detect_idle, IdleSource, NativeIdle};
use metaclaw::secrets::{SecretSource, Vault};
use metaclaw_standin::Options;
use serde_json::json;

fn xdotool(args: &[&str]) {
    let ok = std::process::Command::new("xdotool").args(args).status().expect("xdotool runs").success();
    assert!(ok, "xdotool {args:?} failed");
}

#[test]
#[ignore = "needs an X display and xdotool: scripts/test.sh runs it under xvfb-run"]
fn the_x11_idle_timer_counts_and_resets_on_input() {
    assert!(std::env::var_os("DISPLAY").is_some(), "run under xvfb-run");
    let source = detect_idle().expect("an idle source under X11");
    assert_eq!(source.name(), "x11");
    xdotool(&["mousemove", "5", "5"]);
    std::thread::sleep(Duration::from_millis(1500));
    let idle = NativeIdle.idle().unwrap();
    assert!(idle >= Duration::from_millis(1200), "idle {idle:?} after 1.5 s without input");
    xdotool(&["mousemove", "40", "40"]);
    let idle = NativeIdle.idle().unwrap();
    assert!(idle < Duration::from_millis(500), "idle {idle:?} right after input");
}

#[tokio::test]
#[ignore = "needs an X display and xdotool: scripts/test.sh runs it under xvfb-run"]
async fn the_scheduler_reads_the_x11_idle_timer() {
    let h = Harness::start(|c| c.scheduler.os_idle = true).await;
    xdotool(&["mousemove", "7", "7"]);
    let v = h.client().scheduler().await.unwrap();
    assert_eq!(v.signals.idle_source, "x11", "{v:?}");
    assert!(v.signals.os_idle_secs.is_some(), "{v:?}");
    h.stop().await;
}

fn keyring_get(user: &str) -> Option<String> {
    keyring::Entry::new("metaclaw", user).unwrap().get_password().ok()
}

#[tokio::test]
#[ignore = "needs a D-Bus session with an unlocked Secret Service: scripts/test.sh runs it under dbus-run-session"]
async fn feed_addresses_and_keys_live_in_the_os_keyring() {
    // A feed on loopback; its address is the secret.
    let ics = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:k@1\r\nDTSTART:20300101T090000Z\r\nDTEND:20300101T100000Z\r\nSUMMARY:Kept\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    let app = axum::Router::new().route("/private-kr-token/basic.ics", axum::routing::get(move || async move { ics }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/private-kr-token/basic.ics", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let keys = Keys { vault: Vault::Os, ..Keys::none() };
    let mut h = Harness::start_hooked(|_| {}, keys.clone(), Options::default(), Hooks::default()).await;
    let r = h
        .http
        .post(h.url("/api/calendars"))
        .bearer_auth(&h.token)
        .json(&json!({"source": url, "name": "Keyring test"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    assert_eq!(
        keyring_get("calendar-url:keyring-test").as_deref(),
        Some(url.as_str()),
        "the address is in the keyring"
    );

    // A restart reads it back from the keyring to refresh.
    h.restart_hooked(|_| {}, keys.clone(), Hooks::default()).await;
    let t = h.client().test_calendar(1).await.unwrap();
    assert!(t.ok, "{t:?}");

    // API keys from the settings view go to the keyring; the API only says whether one is set.
    let r = h
        .http
        .put(h.url("/api/keys/upstream.default"))
        .bearer_auth(&h.token)
        .json(&json!({"value": "sk-kr-test-123"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(keyring_get("upstream-api-key").as_deref(), Some("sk-kr-test-123"));
    let keys_v = h.client().keys().await.unwrap();
    let k = keys_v.iter().find(|k| k.name == "upstream.default").unwrap();
    assert_eq!((k.set, k.source), (true, SecretSource::Keyring), "{keys_v:?}");
    // In the raw answer: every field the UI gets, not only those the client reads.
    let raw = h.admin("/api/keys").await.to_string();
    assert!(!raw.contains("sk-kr-test"), "the key itself never comes back");
    let r = h.http.delete(h.url("/api/keys/upstream.default")).bearer_auth(&h.token).send().await.unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(keyring_get("upstream-api-key"), None);

    // Removing the calendar removes its address.
    let r = h.http.delete(h.url("/api/calendars/1")).bearer_auth(&h.token).send().await.unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(keyring_get("calendar-url:keyring-test"), None);
    h.stop().await;
}
