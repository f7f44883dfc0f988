//! Per-agent scope end to end: turns attributed by route (`/agents/<name>/v1/...`), the
//! `X-Agent-Id` header, the client's user agent or "unknown"; skills scoped to one agent;
//! `X-MetaClaw-Inject: off`; filters by agent.

mod common;

use common::{turn_id, user, Harness};
use serde_json::{json, Value};

/// Sends a chat completion to `path` with `headers`; asserts 200 and returns the turn's id.
async fn chat_at(h: &Harness, path: &str, headers: &[(&str, &str)], body: &Value) -> i64 {
    let mut rb = h.http.post(h.url(path)).json(body);
    for (k, v) in headers {
        rb = rb.header(*k, *v);
    }
    let r = rb.send().await.unwrap();
    assert_eq!(r.status(), 200, "{path}");
    turn_id(&r)
}

#[tokio::test]
async fn every_endpoint_answers_under_an_agent_route() {
    let h = Harness::start(|_| {}).await;
    chat_at(&h, "/agents/codex/v1/chat/completions", &[], &user("hello")).await;
    assert_eq!(h.standin.requests().last().unwrap().path, "/v1/chat/completions");
    let anthropic =
        json!({"model": "standin-small", "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]});
    let r = h.http.post(h.url("/agents/claude-code/v1/messages")).json(&anthropic).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let r = h
        .http
        .post(h.url("/agents/codex/v1/responses"))
        .json(&json!({"model": "standin-small", "input": "hi"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = h.http.get(h.url("/agents/openclaw/v1/models")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    // Anything else under /v1 is relayed from an agent route too.
    let r = h
        .http
        .post(h.url("/agents/openclaw/v1/embeddings"))
        .json(&json!({"model": "standin-embed", "input": "hi"}))
        .send()
        .await
        .unwrap();
    assert_ne!(r.status(), 404, "relayed, not refused by MetaClaw");
    assert!(h.standin.requests().last().unwrap().path.ends_with("/embeddings"));
    h.stop().await;
}

#[tokio::test]
async fn a_route_with_a_bad_agent_name_is_a_404_in_the_callers_protocol() {
    let h = Harness::start(|_| {}).await;
    let r = h.http.post(h.url("/agents/Not_An!Agent/v1/chat/completions")).json(&user("hi")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    let v: Value = r.json().await.unwrap();
    assert!(v["error"]["message"].as_str().unwrap().contains("agent name"), "{v}");
    let r = h.http.post(h.url("/agents/bad_name/v1/messages")).json(&json!({})).send().await.unwrap();
    assert_eq!(r.status(), 404);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["type"], "error", "Anthropic-style: {v}");
    let r = h.http.post(h.url("/agents/unknown/v1/chat/completions")).json(&user("hi")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert!(h.standin.requests().is_empty(), "nothing reached the upstream");
    h.stop().await;
}

#[tokio::test]
async fn an_agent_route_keeps_the_proxy_checks() {
    // A web page cannot reach the proxy by an agent route either.
    let h = Harness::start(|_| {}).await;
    let r = h
        .http
        .post(h.url("/agents/codex/v1/chat/completions"))
        .header("origin", "https://evil.example")
        .json(&user("hi"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(h.standin.requests().is_empty());
    h.stop().await;
}
