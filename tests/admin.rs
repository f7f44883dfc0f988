//! The admin API: token, Host/Origin checks, status figures, paging and filters.

mod common;

use common::{turn_id, user, Harness};
use metaclaw::api::types::scheduler::Reason;
use metaclaw::api::types::status::TurnFilter;
use metaclaw::api::types::ErrorCode;
use metaclaw::config::Protocol;
use metaclaw::secrets::SecretSource;
use metaclaw::turn::{TurnStatus, TurnType};
use serde_json::Value;

#[tokio::test]
async fn every_admin_route_needs_the_token_and_a_local_host() {
    let h = Harness::start(|_| {}).await;
    for path in ["/api/status", "/api/sessions", "/api/turns", "/api/turns/1"] {
        let r = h.http.get(h.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 401, "{path}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"]["code"], "unauthorized");
        assert!(v["error"]["message"].as_str().unwrap().contains("admin.token"));
        let r = h.http.get(h.url(path)).bearer_auth("wrong").send().await.unwrap();
        assert_eq!(r.status(), 401, "{path}");
    }
    let port = h.base.rsplit(':').next().unwrap().to_string();
    let get = |host: String, origin: Option<&str>| {
        let mut rb = h.http.get(h.url("/api/status")).bearer_auth(&h.token).header("host", host);
        if let Some(o) = origin {
            rb = rb.header("origin", o);
        }
        rb.send()
    };
    // DNS rebinding: a page on evil.example resolving to 127.0.0.1 sends its own Host.
    assert_eq!(get(format!("evil.example:{port}"), None).await.unwrap().status(), 403);
    assert_eq!(get(format!("localhost:{port}"), Some("https://evil.example")).await.unwrap().status(), 403);
    assert_eq!(
        get(format!("localhost:{port}"), Some(&format!("http://localhost:{port}"))).await.unwrap().status(),
        200
    );
    assert_eq!(get(format!("127.0.0.1:{port}"), None).await.unwrap().status(), 200);
    h.stop().await;
}

#[tokio::test]
async fn status_reports_counts_and_overhead_percentiles() {
    let h = Harness::start(|_| {}).await;
    let c = h.client();
    let s = c.status().await.unwrap();
    assert_eq!(s.turns_total, 0);
    assert_eq!(s.overhead.samples, 0);
    assert!(s.overhead.p50_ms.is_none());
    for i in 0..5 {
        assert_eq!(h.chat(user(&format!("q{i}"))).await.status(), 200);
    }
    h.flush().await;
    let s = c.status().await.unwrap();
    assert_eq!(s.turns_total, 5);
    assert_eq!(s.turns_today, 5);
    assert_eq!(s.sessions_total, 5);
    assert_eq!(s.overhead.samples, 5);
    let (p50, p99) = (s.overhead.p50_ms.unwrap(), s.overhead.p99_ms.unwrap());
    assert!(p50 > 0.0 && p50 <= p99, "{p50} {p99}");
    assert_eq!(s.schema_version, metaclaw::store::SCHEMA_VERSION);
    let up = &s.info.upstreams[0];
    assert_eq!(up.base_url, h.standin.base_url());
    assert_eq!(up.key, SecretSource::None);
    assert_eq!(up.kind, Protocol::OpenAi);
    h.stop().await;
}

#[tokio::test]
async fn turns_page_and_filter() {
    let h = Harness::start(|_| {}).await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let r = h
            .http
            .post(h.url("/v1/chat/completions"))
            .header("x-session-id", if i < 3 { "alpha" } else { "beta" })
            .header("x-turn-type", if i == 4 { "side" } else { "main" })
            .json(&user(&format!("q{i}")))
            .send()
            .await
            .unwrap();
        ids.push(turn_id(&r));
    }
    h.chat(user("[[status:500]]")).await;
    h.flush().await;

    let c = h.client();
    let turns = |f: TurnFilter| {
        let c = c.clone();
        async move { c.turns(&f).await.unwrap() }
    };
    let p1 = turns(TurnFilter { limit: Some(2), ..Default::default() }).await;
    assert_eq!(p1.turns.len(), 2);
    let before = p1.next_before.unwrap();
    let p2 = turns(TurnFilter { limit: Some(10), before: Some(before), ..Default::default() }).await;
    let all: Vec<i64> = p1.turns.iter().chain(&p2.turns).map(|t| t.id).collect();
    assert_eq!(all.len(), 6);
    assert!(all.windows(2).all(|w| w[0] > w[1]), "newest first: {all:?}");
    assert!(p2.next_before.is_none());

    let alpha = turns(TurnFilter { session: Some("alpha".into()), ..Default::default() }).await;
    assert_eq!(alpha.turns.len(), 3);
    let side = turns(TurnFilter { turn_type: Some(TurnType::Side), ..Default::default() }).await;
    assert_eq!(side.turns.iter().map(|t| t.id).collect::<Vec<_>>(), vec![ids[4]]);
    let failed = turns(TurnFilter { status: Some(TurnStatus::UpstreamError), ..Default::default() }).await;
    assert_eq!(failed.turns[0].http_status, Some(500));

    let r = h.http.get(h.url("/api/turns?type=bogus")).bearer_auth(&h.token).send().await.unwrap();
    assert_eq!(r.status(), 400);
    let e = c.turn(999_999).await.unwrap_err();
    assert_eq!((e.status(), e.code()), (Some(404), Some(ErrorCode::NotFound)), "{e}");
    h.stop().await;
}

#[tokio::test]
async fn the_scheduler_says_whether_learning_may_run_and_why() {
    // Sleep hours around now (UTC), so the window is open whatever the time of day.
    let now = jiff::Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC);
    let (from, to) =
        (now.checked_sub(jiff::ToSpan::hours(1)).unwrap(), now.checked_add(jiff::ToSpan::hours(2)).unwrap());
    let window = format!("{}-{}", from.strftime("%H:%M"), to.strftime("%H:%M"));
    let h = Harness::start(|c| {
        c.scheduler.timezone = Some("UTC".into());
        c.scheduler.sleep = [("default".to_string(), window.clone())].into();
    })
    .await;
    let v = h.client().scheduler().await.unwrap();
    assert_eq!((v.decision.open, v.decision.reason), (true, Reason::Asleep), "{v:?}");
    assert!(v.decision.until.unwrap().as_millisecond() > crate_now_ms());
    assert_eq!(v.timezone, "UTC");
    assert_eq!(v.activity.rate.len(), 168);
    // No request yet on a fresh install: idle since the engine started, not since 1970.
    assert!(v.signals.idle_secs < 3_600, "{:?}", v.signals);
    assert_eq!(v.signals.idle_source, "engine start");
    h.stop().await;

    // No sleep hours and a fresh turn: the user is at the machine; it says when a window could open.
    let h = Harness::start(|c| c.scheduler.sleep = [("default".to_string(), "off".to_string())].into()).await;
    h.chat(user("hello")).await;
    h.flush().await;
    let v = h.client().scheduler().await.unwrap();
    assert_eq!((v.decision.open, v.decision.reason), (false, Reason::Present), "{v:?}");
    assert!(v.decision.explanation.contains("at the machine"));
    assert!(v.decision.next.unwrap().as_millisecond() > crate_now_ms());
    assert!(v.signals.idle_secs < 60);
    h.stop().await;
}

fn crate_now_ms() -> i64 {
    metaclaw::clock::now_ms()
}
