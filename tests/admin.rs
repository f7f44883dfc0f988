//! The admin API: token, Host/Origin checks, status figures, paging and filters.

mod common;

use common::{turn_id, user, Harness};
use serde_json::{json, Value};

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
    let s = h.admin("/api/status").await;
    assert_eq!(s["turns_total"], 0);
    assert_eq!(s["overhead"]["samples"], 0);
    assert!(s["overhead"]["p50_ms"].is_null());
    for i in 0..5 {
        assert_eq!(h.chat(user(&format!("q{i}"))).await.status(), 200);
    }
    h.flush().await;
    let s = h.admin("/api/status").await;
    assert_eq!(s["turns_total"], 5);
    assert_eq!(s["turns_today"], 5);
    assert_eq!(s["sessions_total"], 5);
    assert_eq!(s["overhead"]["samples"], 5);
    let (p50, p99) = (s["overhead"]["p50_ms"].as_f64().unwrap(), s["overhead"]["p99_ms"].as_f64().unwrap());
    assert!(p50 > 0.0 && p50 <= p99, "{p50} {p99}");
    assert_eq!(s["schema_version"], metaclaw::store::SCHEMA_VERSION);
    assert_eq!(s["upstreams"][0]["base_url"], h.standin.base_url());
    assert_eq!(s["upstreams"][0]["key"], "none");
    assert_eq!(s["upstreams"][0]["kind"], "openai");
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

    let p1 = h.admin("/api/turns?limit=2").await;
    assert_eq!(p1["turns"].as_array().unwrap().len(), 2);
    let before = p1["next_before"].as_i64().unwrap();
    let p2 = h.admin(&format!("/api/turns?limit=10&before={before}")).await;
    let all: Vec<i64> = p1["turns"]
        .as_array()
        .unwrap()
        .iter()
        .chain(p2["turns"].as_array().unwrap())
        .map(|t| t["id"].as_i64().unwrap())
        .collect();
    assert_eq!(all.len(), 6);
    assert!(all.windows(2).all(|w| w[0] > w[1]), "newest first: {all:?}");
    assert!(p2["next_before"].is_null());

    let alpha = h.admin("/api/turns?session=alpha").await;
    assert_eq!(alpha["turns"].as_array().unwrap().len(), 3);
    let side = h.admin("/api/turns?type=side").await;
    assert_eq!(
        side["turns"].as_array().unwrap().iter().map(|t| t["id"].clone()).collect::<Vec<_>>(),
        vec![json!(ids[4])]
    );
    let failed = h.admin("/api/turns?status=upstream_error").await;
    assert_eq!(failed["turns"][0]["http_status"], 500);

    let r = h.http.get(h.url("/api/turns?type=bogus")).bearer_auth(&h.token).send().await.unwrap();
    assert_eq!(r.status(), 400);
    let r = h.http.get(h.url("/api/turns/999999")).bearer_auth(&h.token).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["code"], "not_found");
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
    let v = h.admin("/api/scheduler").await;
    assert_eq!(
        (v["decision"]["open"].as_bool(), v["decision"]["reason"].as_str()),
        (Some(true), Some("asleep")),
        "{v}"
    );
    assert!(v["decision"]["until"].as_i64().unwrap() > crate_now_ms());
    assert_eq!(v["timezone"], "UTC");
    assert_eq!(v["activity"]["rate"].as_array().unwrap().len(), 168);
    // No request yet on a fresh install: idle since the engine started, not since 1970.
    assert!(v["signals"]["idle_secs"].as_u64().unwrap() < 3_600, "{}", v["signals"]);
    assert_eq!(v["signals"]["idle_source"], "engine start");
    h.stop().await;

    // No sleep hours and a fresh turn: the user is at the machine; it says when a window could open.
    let h = Harness::start(|c| c.scheduler.sleep = [("default".to_string(), "off".to_string())].into()).await;
    h.chat(user("hello")).await;
    h.flush().await;
    let v = h.admin("/api/scheduler").await;
    assert_eq!(
        (v["decision"]["open"].as_bool(), v["decision"]["reason"].as_str()),
        (Some(false), Some("present")),
        "{v}"
    );
    assert!(v["decision"]["explanation"].as_str().unwrap().contains("at the machine"));
    assert!(v["decision"]["next"].as_i64().unwrap() > crate_now_ms());
    assert!(v["signals"]["idle_secs"].as_u64().unwrap() < 60);
    h.stop().await;
}

fn crate_now_ms() -> i64 {
    metaclaw::clock::now_ms()
}
