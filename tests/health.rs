//! Honest health over real loopback HTTP: a failing upstream (5xx answers, refused connections)
//! and a judge whose model is not found show as failing in `/api/status` with their errors in
//! plain words, and recovery brings them back to ok.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::{user, Harness};
use metaclaw::api::types::health::{Component, ComponentHealth, HealthReport, HealthState};
use metaclaw::config::Config;
use metaclaw_standin::Options;
use serde_json::json;

/// The `health` of `/api/status`, through the typed client.
async fn health(h: &Harness) -> HealthReport {
    h.client().status().await.unwrap().health
}

/// The `health` component `name` of `/api/status`, once `done` holds (polled, up to 15 s).
async fn component_when(h: &Harness, name: Component, done: impl Fn(&ComponentHealth) -> bool) -> ComponentHealth {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let c = health(h).await.components.into_iter().find(|c| c.component == name);
        let c = c.expect("the component is listed");
        if done(&c) {
            return c;
        }
        assert!(tokio::time::Instant::now() < deadline, "{name:?} never got there: {c:?}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test]
async fn an_upstream_answering_500s_is_failing_with_its_error_until_it_answers_again() {
    let h = Harness::start(|_| {}).await;
    let s = health(&h).await;
    assert_eq!(s.overall, HealthState::Ok, "{s:?}");
    let judge = s.components.iter().find(|c| c.component == Component::Judge).unwrap();
    assert_eq!(judge.state, HealthState::Off, "no judge model configured");

    for _ in 0..3 {
        let r = h.chat(user("hello [[status:500]]")).await;
        assert_eq!(r.status(), 500);
    }
    let up = component_when(&h, Component::Upstream, |c| c.state == HealthState::Failing).await;
    let err = up.error.as_deref().unwrap();
    assert!(err.starts_with("the upstream is having trouble (a server error)"), "{err}");
    assert!(err.contains("500"), "{err}");
    assert!(up.failures >= 3, "{up:?}");
    assert!(up.failing_since_ms.is_some(), "{up:?}");
    assert_eq!(health(&h).await.overall, HealthState::Failing);

    // An agent's own bad request is not the upstream's fault.
    let r = h.chat(user("hello [[status:400]]")).await;
    assert_eq!(r.status(), 400);

    let r = h.chat(user("hello again")).await;
    assert_eq!(r.status(), 200);
    let up = component_when(&h, Component::Upstream, |c| c.state == HealthState::Ok).await;
    assert_eq!(up.failures, 0);
    assert!(up.failing_since_ms.is_none());
    assert_eq!(health(&h).await.overall, HealthState::Ok);
    h.stop().await;
}

#[tokio::test]
async fn an_upstream_refusing_connections_is_failing_until_it_listens_again() {
    // A port with nothing behind it (bound, then freed).
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let h = Harness::start(|c: &mut Config| c.upstream.base_url = format!("http://127.0.0.1:{port}/v1")).await;
    for _ in 0..3 {
        let r = h.chat(user("hello")).await;
        assert_eq!(r.status(), 502);
    }
    let up = component_when(&h, Component::Upstream, |c| c.state == HealthState::Failing).await;
    let err = up.error.as_deref().unwrap();
    assert!(err.starts_with("nothing answers at the upstream's address: is the server running?"), "{err}");

    // Reading health tries the address again (a TCP connection): still nothing there.
    let up = component_when(&h, Component::Upstream, |c| c.next_retry_ms.is_some()).await;
    assert_eq!(up.state, HealthState::Failing, "{up:?}");

    // The server comes (back) up on that port: health sees it by itself at the next try, before
    // any turn.
    let _back = metaclaw_standin::spawn(SocketAddr::from(([127, 0, 0, 1], port)), Options::default()).await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(25);
    let up = loop {
        let up = component_when(&h, Component::Upstream, |_| true).await;
        if up.state == HealthState::Ok {
            break up;
        }
        assert!(tokio::time::Instant::now() < deadline, "never seen as reachable again: {up:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(up.failures, 0);
    assert_eq!(h.client().status().await.unwrap().turns_total, 3, "recovered without a turn");
    let r = h.chat(user("hello")).await;
    assert_eq!(r.status(), 200);
    component_when(&h, Component::Upstream, |c| c.state == HealthState::Ok).await;
    h.stop().await;
}

#[tokio::test]
async fn an_upstream_answering_500s_is_not_declared_recovered_by_a_mere_connection() {
    let h = Harness::start(|_| {}).await;
    for _ in 0..3 {
        assert_eq!(h.chat(user("hello [[status:503]]")).await.status(), 503);
    }
    component_when(&h, Component::Upstream, |c| c.state == HealthState::Failing).await;
    // It accepts connections, but only the next good turn says it works again.
    for _ in 0..5 {
        let up = component_when(&h, Component::Upstream, |_| true).await;
        assert_eq!((up.state, up.next_retry_ms), (HealthState::Failing, None), "{up:?}");
    }
    h.stop().await;
}

#[tokio::test]
async fn a_judge_whose_model_is_not_found_is_failing_and_recovers_once_it_scores() {
    let h = Harness::start(|c| {
        c.judge.model = Some("standin-judge".into());
        c.judge.wait_for_next_secs = 1;
        c.judge.retry_secs = 0;
        c.judge.votes = 1;
    })
    .await;
    let r = h
        .http
        .post(h.url("/v1/chat/completions"))
        .header("x-session-id", "j1")
        .json(&json!({"model": "m", "messages": [{"role": "user", "content": "hi [[judge_status:404]]"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let j = component_when(&h, Component::Judge, |c| c.state == HealthState::Failing).await;
    let err = j.error.as_deref().unwrap();
    assert!(err.starts_with("not found: check the model name and the upstream address"), "{err}");
    assert!(err.contains("404"), "{err}");
    // The upstream itself answered the agent: it is fine.
    assert_eq!(component_when(&h, Component::Upstream, |_| true).await.state, HealthState::Ok);
    // Wait until that turn is given up, so its retries no longer come in between.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while h.client().status().await.unwrap().judge.map(|j| j.failed) != Some(1) {
        assert!(tokio::time::Instant::now() < deadline, "the judge never gave up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let r = h
        .http
        .post(h.url("/v1/chat/completions"))
        .header("x-session-id", "j2")
        .json(&json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let j = component_when(&h, Component::Judge, |c| c.state == HealthState::Ok).await;
    assert_eq!(j.failures, 0);
    h.stop().await;
}
