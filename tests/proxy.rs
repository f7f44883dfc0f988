//! The OpenAI-compatible proxy over real loopback HTTP: faithfulness, streaming, errors,
//! sessions, keys, and what gets recorded.

mod common;

use std::time::{Duration, Instant};

use common::{turn_id, user, wait_until, Harness};
use futures_util::StreamExt;
use metaclaw::api::types::status::{Paging, TurnFilter};
use metaclaw::engine::Keys;
use metaclaw::secrets::SecretSource;
use metaclaw::skills::Injected;
use metaclaw::turn::{SessionSource, TurnStatus, TurnType};
use metaclaw_standin::Options;
use serde_json::{json, Value};

/// The roles of a recorded turn's messages (as sent upstream), in order.
fn roles(messages: &[Value]) -> Vec<&str> {
    messages.iter().map(|m| m["role"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn non_streaming_answer_is_identical_to_direct_and_recorded() {
    let h = Harness::start(|_| {}).await;
    let body = json!({"model": "standin-small", "temperature": 0.2, "x_unknown_field": {"a": 1},
        "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hello there"}]});
    let direct = h.chat_direct(&body).await;
    let direct_ct = direct.headers()["content-type"].clone();
    let direct = direct.bytes().await.unwrap();
    let r = h.chat(body.clone()).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], direct_ct);
    let id = turn_id(&r);
    assert_eq!(r.bytes().await.unwrap(), direct);

    // The upstream saw exactly what the client sent (nothing to edit here).
    let seen = h.standin.requests();
    assert_eq!(seen.last().unwrap().json(), body);

    let t = h.turn_detail(id).await;
    assert_eq!(t.summary.status, TurnStatus::Ok);
    assert_eq!(t.summary.turn_type, TurnType::Main);
    assert_eq!(t.response_text.as_deref(), Some("Echo: hello there"));
    assert_eq!(json!(t.messages), body["messages"]);
    assert_eq!(t.params["temperature"], 0.2);
    assert_eq!(t.params["x_unknown_field"], json!({"a": 1}));
    assert_eq!(t.summary.total_tokens, Some(7));
    assert!(t.summary.latency_ms >= t.summary.overhead_ms, "{:?}", t.summary);
    h.stop().await;
}

async fn sse_bytes(r: reqwest::Response) -> Vec<u8> {
    r.bytes().await.unwrap().to_vec()
}

#[tokio::test]
async fn streaming_is_relayed_byte_for_byte_with_tool_calls_usage_and_reasoning() {
    let h = Harness::start(|_| {}).await;
    let body = json!({"model": "standin-small", "stream": true, "stream_options": {"include_usage": true},
        "tools": [{"type": "function", "function": {"name": "read_file", "parameters": {"type": "object"}}}],
        "messages": [{"role": "user", "content": "open it [[tool]] [[reasoning]]"}]});
    let direct = sse_bytes(h.chat_direct(&body).await).await;
    let r = h.chat(body).await;
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
    let id = turn_id(&r);
    assert_eq!(sse_bytes(r).await, direct);

    let t = h.turn_detail(id).await;
    assert_eq!(t.summary.status, TurnStatus::Ok);
    assert!(t.summary.stream);
    assert_eq!(t.tool_calls[0].name, "read_file");
    assert_eq!(t.tool_calls[0].arguments, "{\"city\":\"Paris\"}");
    assert_eq!(t.summary.tool_names, ["read_file"]);
    assert_eq!(t.summary.finish_reason.as_deref(), Some("tool_calls"));
    assert_eq!(t.reasoning_text.as_deref(), Some("The user wants an answer; I will echo."));
    assert!(t.summary.total_tokens.unwrap() > 0);
    h.stop().await;
}

#[tokio::test]
async fn stream_chunks_reach_the_client_before_the_upstream_finishes() {
    let h = Harness::start(|_| {}).await;
    // Eight chunks, 250 ms apart: a buffering proxy would deliver nothing for ~2 s.
    let body = json!({"model": "m", "stream": true, "messages": [{"role": "user", "content": "a b c d e [[chunk_delay_ms:250]]"}]});
    let start = Instant::now();
    let r = h.chat(body).await;
    let mut s = r.bytes_stream();
    let first = s.next().await.unwrap().unwrap();
    let first_at = start.elapsed();
    assert!(String::from_utf8_lossy(&first).starts_with("data: "));
    let mut rest = 0;
    while let Some(c) = s.next().await {
        rest += c.unwrap().len();
    }
    let total = start.elapsed();
    assert!(rest > 0);
    assert!(total >= Duration::from_millis(1500), "the stand-in paces its chunks: {total:?}");
    assert!(first_at * 3 < total, "first chunk after {first_at:?} of {total:?}: the stream was buffered");
    h.stop().await;
}

#[tokio::test]
async fn upstream_errors_keep_status_body_and_retry_after() {
    let h = Harness::start(|_| {}).await;
    for status in [400u16, 401, 404, 429, 500, 503] {
        let body = user(&format!("fail [[status:{status}]]"));
        let direct = h.chat_direct(&body).await;
        let direct_retry = direct.headers().get("retry-after").cloned();
        let direct = direct.bytes().await.unwrap();
        let r = h.chat(body).await;
        assert_eq!(r.status().as_u16(), status);
        assert_eq!(r.headers().get("retry-after").cloned(), direct_retry);
        if status == 429 {
            assert_eq!(r.headers()["retry-after"], "7");
        }
        let id = turn_id(&r);
        assert_eq!(r.bytes().await.unwrap(), direct);
        let t = h.turn_detail(id).await;
        assert_eq!(t.summary.status, TurnStatus::UpstreamError);
        assert_eq!(t.summary.http_status, Some(i64::from(status)));
        assert!(t.error_body.as_deref().unwrap().contains(&format!("stand-in error {status}")));
    }
    h.stop().await;
}

async fn error_of(r: reqwest::Response, status: u16) -> Value {
    assert_eq!(r.status().as_u16(), status);
    let v: Value = r.json().await.unwrap();
    assert!(v["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{v}");
    assert!(v["error"]["type"].is_string(), "{v}");
    v
}

#[tokio::test]
async fn bad_input_gets_openai_error_json() {
    let h = Harness::start(|c| c.proxy.max_body_mib = 1).await;
    let url = h.url("/v1/chat/completions");
    let post = |body: &'static str| h.http.post(&url).header("content-type", "application/json").body(body).send();
    for (body, needle) in [
        ("{not json", "not valid JSON"),
        ("[1,2]", "JSON object"),
        (r#"{"model":"m"}"#, "`messages` is required"),
        (r#"{"messages":"hi"}"#, "must be an array"),
        (r#"{"messages":[]}"#, "at least one message"),
        (r#"{"messages":[{"content":"x"}]}"#, "role is required"),
        (r#"{"messages":[{"role":"user"}],"stream":"yes"}"#, "`stream` must be"),
        (r#"{"messages":[{"role":"user"}],"model":7}"#, "`model` must be a string"),
    ] {
        let v = error_of(post(body).await.unwrap(), 400).await;
        assert_eq!(v["error"]["type"], "invalid_request_error");
        assert!(v["error"]["message"].as_str().unwrap().contains(needle), "{body}: {v}");
    }
    let big = json!({"messages": [{"role": "user", "content": "x".repeat(2 << 20)}]}).to_string();
    let json_post = || h.http.post(&url).header("content-type", "application/json");
    let v = error_of(json_post().body(big.clone()).send().await.unwrap(), 413).await;
    assert!(v["error"]["message"].as_str().unwrap().contains("proxy.max_body_mib"));
    // Without a Content-Length (chunked), the limit still holds.
    let stream = futures_util::stream::iter(
        big.into_bytes().chunks(65536).map(|c| Ok::<_, std::io::Error>(c.to_vec())).collect::<Vec<_>>(),
    );
    let r = json_post().body(reqwest::Body::wrap_stream(stream)).send().await.unwrap();
    error_of(r, 413).await;
    // Nothing reached the upstream.
    assert!(h.standin.requests().is_empty());
    h.stop().await;
}

#[tokio::test]
async fn unreachable_upstream_is_502_and_slow_upstream_is_504() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let h = Harness::start(|c| c.upstream.base_url = format!("http://{closed}/v1")).await;
    let r = h.chat(user("hi")).await;
    let id = turn_id_or_none(&r);
    let v = error_of(r, 502).await;
    assert_eq!(v["error"]["code"], "upstream_unreachable");
    assert!(v["error"]["message"].as_str().unwrap().contains(&closed.to_string()));
    assert!(id.is_none());
    h.flush().await;
    let page = h.client().turns(&TurnFilter::default()).await.unwrap();
    assert_eq!(page.turns[0].status, TurnStatus::Failed);
    assert_eq!(page.turns[0].http_status, Some(502));
    h.stop().await;

    let h = Harness::start(|c| c.upstream.timeout_secs = 1).await;
    let started = Instant::now();
    let v = error_of(h.chat(user("slow [[delay_ms:5000]]")).await, 504).await;
    assert_eq!(v["error"]["code"], "upstream_timeout");
    assert!(v["error"]["message"].as_str().unwrap().contains("upstream.timeout_secs"));
    assert!(started.elapsed() < Duration::from_secs(4));
    h.stop().await;
}

fn turn_id_or_none(r: &reqwest::Response) -> Option<i64> {
    r.headers().get("x-metaclaw-turn-id").map(|v| v.to_str().unwrap().parse().unwrap())
}

#[tokio::test]
async fn broken_and_stalled_streams_end_with_an_error_event_and_are_recorded() {
    let h = Harness::start(|c| c.upstream.stream_idle_timeout_secs = 1).await;
    for (directive, needle) in [("[[stream_break]]", "broke off"), ("[[stall_ms:3000]]", "sent nothing for 1 s")] {
        let r = h.chat(json!({"model": "m", "stream": true, "messages": [{"role": "user", "content": format!("go {directive}")}]})).await;
        assert_eq!(r.status(), 200);
        let id = turn_id(&r);
        let text = String::from_utf8(r.bytes().await.unwrap().to_vec()).unwrap();
        let last = text.trim_end().rsplit("\n\n").next().unwrap();
        let v: Value = serde_json::from_str(last.strip_prefix("data: ").unwrap()).unwrap();
        assert!(v["error"]["message"].as_str().unwrap().contains(needle), "{v}");
        let t = h.turn_detail(id).await;
        assert_eq!(t.summary.status, TurnStatus::Failed);
        assert!(t.error.as_deref().unwrap().contains(needle), "{:?}", t.error);
    }
    h.stop().await;
}

#[tokio::test]
async fn client_disconnect_mid_stream_cancels_the_upstream_and_is_recorded() {
    let h = Harness::start(|_| {}).await;
    let r = h
        .chat(json!({"model": "m", "stream": true,
        "messages": [{"role": "user", "content": "one two three four five six seven eight [[chunk_delay_ms:300]]"}]}))
        .await;
    let id = turn_id(&r);
    let mut s = r.bytes_stream();
    s.next().await.unwrap().unwrap();
    drop(s);
    wait_until("the upstream stream to be dropped", || h.standin.streams_dropped() == 1).await;
    assert_eq!(h.turn_detail(id).await.summary.status, TurnStatus::Cancelled);
    h.stop().await;
}

#[tokio::test]
async fn session_headers_and_body_fields_are_honoured_and_stripped() {
    let h = Harness::start(|_| {}).await;
    let r = h
        .http
        .post(h.url("/v1/chat/completions"))
        .header("x-session-id", "agent-42")
        .header("x-turn-type", "side")
        .header("openai-organization", "org-kept")
        .json(&user("heartbeat"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-metaclaw-session-id"], "agent-42");
    let a = turn_id(&r);
    let mut body = user("done now");
    body["session_id"] = json!("agent-42");
    body["session_done"] = json!(true);
    let b = turn_id(&h.chat(body).await);

    let seen = h.standin.requests();
    let first = &seen[0];
    assert_eq!(first.header("x-session-id"), None);
    assert_eq!(first.header("x-turn-type"), None);
    assert_eq!(first.header("openai-organization"), Some("org-kept"));
    let second = seen[1].json();
    assert!(second.get("session_id").is_none() && second.get("session_done").is_none(), "{second}");

    let ta = h.turn_detail(a).await.summary;
    assert_eq!((ta.session_id.as_str(), ta.turn_type, ta.turn_index), ("agent-42", TurnType::Side, 1));
    let tb = h.turn_detail(b).await.summary;
    assert_eq!((tb.turn_type, tb.turn_index), (TurnType::Main, 2));
    let sessions = h.client().sessions(&Paging::default()).await.unwrap();
    let s = &sessions.sessions[0];
    assert_eq!((s.id.as_str(), s.source, s.turns), ("agent-42", SessionSource::Client, 2));
    assert!(s.done_at.is_some(), "{s:?}");

    let bad = h
        .http
        .post(h.url("/v1/chat/completions"))
        .header("x-session-id", "x".repeat(300))
        .json(&user("hi"))
        .send()
        .await
        .unwrap();
    error_of(bad, 400).await;
    h.stop().await;
}

#[tokio::test]
async fn headerless_sessions_follow_the_conversation_across_a_restart() {
    let mut h = Harness::start(|_| {}).await;
    let conv = |texts: &[&str]| {
        let mut msgs = vec![json!({"role": "system", "content": format!("sys at {}", texts.len())})];
        for (i, t) in texts.iter().enumerate() {
            msgs.push(json!({"role": if i % 2 == 0 { "user" } else { "assistant" }, "content": t}));
        }
        json!({"model": "m", "messages": msgs})
    };
    let sid = |r: &reqwest::Response| r.headers()["x-metaclaw-session-id"].to_str().unwrap().to_string();
    let a1 = sid(&h.chat(conv(&["plan my trip"])).await);
    let b1 = sid(&h.chat(conv(&["write a poem"])).await);
    let a2 = sid(&h.chat(conv(&["plan my trip", "Echo: plan my trip", "to Rome"])).await);
    assert_ne!(a1, b1);
    assert_eq!(a1, a2);
    h.flush().await;
    h.restart(|_| {}).await;
    let a3 = sid(&h.chat(conv(&["plan my trip", "Echo: plan my trip", "to Rome", "Echo: to Rome", "in May"])).await);
    assert_eq!(a1, a3, "the conversation continues after a restart");
    h.flush().await;
    let page = h.client().turns(&TurnFilter { session: Some(a1.clone()), ..Default::default() }).await.unwrap();
    let idx: Vec<i64> = page.turns.iter().map(|t| t.turn_index).collect();
    assert_eq!(idx, vec![3, 2, 1]);
    h.stop().await;
}

#[tokio::test]
async fn the_upstream_key_replaces_whatever_the_client_sent() {
    let keys = Keys::none().with_upstream("default", "sk-upstream");
    let h = Harness::start_with(
        |_| {},
        keys,
        Options { require_key: Some("sk-upstream".into()), record: true, ..Default::default() },
    )
    .await;
    let r = h
        .http
        .post(h.url("/v1/chat/completions"))
        .bearer_auth("sk-client-junk")
        .json(&user("hi"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let seen = h.standin.requests();
    assert_eq!(seen[0].header("authorization"), Some("Bearer sk-upstream"));
    let status = h.client().status().await.unwrap();
    assert_eq!(status.info.upstreams[0].key, SecretSource::Env);
    // In the raw answer: every field the UI gets, not only those the client reads.
    let raw = h.admin("/api/status").await.to_string();
    assert!(!raw.contains("sk-upstream"), "status must never show a key");
    h.stop().await;
}

#[tokio::test]
async fn a_proxy_key_is_enforced_when_set() {
    let h = Harness::start(|c| c.proxy.api_key = Some("proxy-secret-1".into())).await;
    let url = h.url("/v1/chat/completions");
    let v = error_of(h.http.post(&url).json(&user("hi")).send().await.unwrap(), 401).await;
    assert_eq!(v["error"]["type"], "authentication_error");
    error_of(h.http.post(&url).bearer_auth("proxy-secret-2").json(&user("hi")).send().await.unwrap(), 401).await;
    let ok = h.http.post(&url).bearer_auth("proxy-secret-1").json(&user("hi")).send().await.unwrap();
    assert_eq!(ok.status(), 200);
    let ok = h.http.post(&url).header("x-api-key", "proxy-secret-1").json(&user("hi")).send().await.unwrap();
    assert_eq!(ok.status(), 200);
    // The client's proxy key is never passed upstream.
    assert!(h
        .standin
        .requests()
        .iter()
        .all(|r| r.header("authorization").is_none() && r.header("x-api-key").is_none()));
    h.stop().await;
}

#[tokio::test]
async fn model_override_models_list_and_other_endpoints() {
    let h = Harness::start(|c| c.upstream.model = Some("standin-large".into())).await;
    let r = h.chat(user("hi")).await;
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["model"], "standin-large");
    assert_eq!(h.standin.requests()[0].json()["model"], "standin-large");
    let models: Value = h.http.get(h.url("/v1/models")).send().await.unwrap().json().await.unwrap();
    assert_eq!(models["data"].as_array().unwrap().len(), 1);
    assert_eq!(models["data"][0]["id"], "standin-large");
    h.stop().await;

    let h = Harness::start(|_| {}).await;
    let models: Value = h.http.get(h.url("/v1/models")).send().await.unwrap().json().await.unwrap();
    assert_eq!(models["data"][1]["id"], "standin-large");
    let emb = h.http.post(h.url("/v1/embeddings")).json(&json!({"model": "e", "input": "x"})).send().await.unwrap();
    assert_eq!(emb.status(), 200);
    let emb: Value = emb.json().await.unwrap();
    assert_eq!(emb["model"], "e");
    assert_eq!(emb["data"][0]["embedding"].as_array().unwrap().len(), 64);
    let missing = h.http.get(h.url("/v1/nothing-here")).send().await.unwrap();
    assert_eq!(missing.status(), 404);
    assert!(missing.json::<Value>().await.unwrap()["error"]["message"].is_string());
    let health: Value = h.http.get(h.url("/healthz")).send().await.unwrap().json().await.unwrap();
    assert_eq!(health["ok"], true);
    h.stop().await;
}

/// A request body an agent sends, as written in `tests/data/agents/`.
fn agent_request(name: &str) -> String {
    let path = format!("{}/tests/data/agents/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Two upstreams on the one stand-in: `claude-*` models on an Anthropic one, the rest on an
/// OpenAI-compatible one.
fn both_kinds(c: &mut metaclaw::config::Config) {
    use metaclaw::config::{Auth, NamedUpstream, Protocol};
    let up = |name: &str, kind, models: &[&str], default| NamedUpstream {
        name: name.into(),
        kind,
        base_url: c.upstream.base_url.clone(),
        models: models.iter().map(|m| m.to_string()).collect(),
        default,
        auth: Auth::Key,
        model: None,
    };
    c.upstreams =
        vec![up("claude", Protocol::Anthropic, &["claude-*"], false), up("local", Protocol::OpenAi, &[], true)];
}

/// Claude Code's headers (2.1.x, print mode) on a `/v1/messages?beta=true` call.
fn claude_code_post(h: &Harness, body: impl Into<reqwest::Body>) -> reqwest::RequestBuilder {
    h.http
        .post(h.url("/v1/messages?beta=true"))
        .header("content-type", "application/json")
        .header("anthropic-version", "2023-06-01")
        .header("anthropic-beta", "claude-code-20250219,context-management-2025-06-27")
        .header("user-agent", "claude-cli/2.1.332 (external, sdk-cli)")
        .header("x-app", "cli")
        .body(body)
}

#[tokio::test]
async fn claude_code_system_messages_among_the_turns_reach_both_kinds_of_upstream() {
    let h = Harness::start(both_kinds).await;
    let raw = agent_request("claude-code-2.1-print.json");

    // An Anthropic upstream gets the body byte for byte.
    let r = claude_code_post(&h, raw.clone()).send().await.unwrap();
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
    let id = turn_id(&r);
    let text = r.text().await.unwrap();
    assert!(text.contains("message_stop"), "{text}");
    let seen = h.standin.requests();
    let last = seen.last().unwrap();
    assert_eq!(last.path, "/v1/messages");
    assert_eq!(last.body, raw, "forwarded untouched");
    let t = h.turn_detail(id).await;
    assert_eq!(t.summary.status, TurnStatus::Ok);
    assert_eq!(roles(&t.messages), ["system", "user", "system", "user"], "recorded in the normalised form, in place");

    // An OpenAI-compatible upstream gets the system message at the same place.
    let mut body: Value = serde_json::from_str(&raw).unwrap();
    body["model"] = json!("local-model");
    let r = claude_code_post(&h, body.to_string()).send().await.unwrap();
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
    let text = r.text().await.unwrap();
    assert!(text.contains("event: message_stop"), "translated back into Anthropic events: {text}");
    let seen = h.standin.requests();
    let sent = seen.last().unwrap().json();
    assert_eq!(seen.last().unwrap().path, "/v1/chat/completions");
    assert_eq!(roles(sent["messages"].as_array().unwrap()), ["system", "user", "system", "user"]);
    assert!(sent["messages"][2]["content"].as_str().unwrap().starts_with("Working directory: /tmp/work"));
    assert_eq!(sent["messages"][3]["content"], "say hi");

    // Roles the Messages API doesn't have are still refused, in its error shape.
    body["messages"][1]["role"] = json!("tool");
    let r = claude_code_post(&h, body.to_string()).send().await.unwrap();
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["type"], "error");
    assert!(v["error"]["message"].as_str().unwrap().contains("messages[1].role"), "{v}");
    h.stop().await;
}

#[tokio::test]
async fn agents_own_session_ids_decide_the_session_and_their_housekeeping_is_side_turns() {
    let h = Harness::start(both_kinds).await;
    let raw = agent_request("claude-code-2.1-print.json");
    let main: Value = serde_json::from_str(&raw).unwrap();
    let send = |body: Value| claude_code_post(&h, body.to_string()).send();
    let session = "5d3c8f0e-2b6a-4f1d-9e7c-0a8b1c2d3e4f";

    // The prompt: a main turn in the session named in metadata.user_id.
    let r = send(main.clone()).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-metaclaw-session-id"], session);
    let prompt = turn_id(&r);
    // A sub-agent's warm-up, the title call (a small model, no tools) and a quota probe: side turns.
    let mut warmup = main.clone();
    warmup["messages"] = json!([{"role": "user", "content": [{"type": "text", "text": "Warmup", "cache_control": {"type": "ephemeral"}}]}]);
    let mut title = json!({"model": "claude-haiku-4-5-20251001", "max_tokens": 512, "stream": false,
        "system": [{"type": "text", "text": "Summarize this coding conversation in under 50 characters."}],
        "messages": [{"role": "user", "content": "say hi"}], "metadata": main["metadata"]});
    let quota = json!({"model": "claude-haiku-4-5-20251001", "max_tokens": 1,
        "messages": [{"role": "user", "content": "quota"}], "metadata": main["metadata"]});
    let mut side = Vec::new();
    for body in [warmup, title.clone(), quota] {
        let r = send(body).await.unwrap();
        assert_eq!(r.status(), 200);
        side.push(turn_id(&r));
    }
    let t = h.turn_detail(prompt).await.summary;
    assert_eq!((t.session_id.as_str(), t.turn_type), (session, TurnType::Main));
    for id in side {
        let t = h.turn_detail(id).await.summary;
        assert_eq!((t.session_id.as_str(), t.turn_type), (session, TurnType::Side), "turn {id}");
    }
    // Claude Code's session header wins over its metadata; MetaClaw's own header over both.
    let r =
        claude_code_post(&h, main.to_string()).header("x-claude-code-session-id", "cc-header").send().await.unwrap();
    assert_eq!(r.headers()["x-metaclaw-session-id"], "cc-header");
    title["metadata"] = json!({"user_id": "user_0a1b_account__session_legacy-77"});
    let r = send(title).await.unwrap();
    assert_eq!(r.headers()["x-metaclaw-session-id"], "legacy-77");
    let r = claude_code_post(&h, main.to_string()).header("x-session-id", "mine").send().await.unwrap();
    assert_eq!(r.headers()["x-metaclaw-session-id"], "mine");

    // Codex CLI names its session in a header; its turns are main turns of that session.
    for text in ["first", "second"] {
        let r = h.http.post(h.url("/v1/chat/completions")).header("session-id", "codex-thread-1").json(&user(text));
        let r = r.header("user-agent", "codex_cli_rs/0.171.0").send().await.unwrap();
        assert_eq!(r.headers()["x-metaclaw-session-id"], "codex-thread-1");
        assert_eq!(h.turn_detail(turn_id(&r)).await.summary.turn_type, TurnType::Main);
    }
    let sessions = h.client().sessions(&Paging::default()).await.unwrap();
    let codex = sessions.sessions.iter().find(|s| s.id == "codex-thread-1").unwrap();
    assert_eq!((codex.source, codex.turns), (SessionSource::Client, 2));
    h.stop().await;
}

#[tokio::test]
async fn retrieval_sees_only_the_users_words_inside_agent_envelopes() {
    let h = Harness::start(|_| {}).await;
    let skill = |name: &str, description: &str| {
        let content = format!("---\nname: {name}\ndescription: {description:?}\n---\n\nBody of {name}.\n");
        h.http.post(h.url("/api/skills")).bearer_auth(&h.token).json(&json!({"name": name, "content": content})).send()
    };
    // What the envelopes talk about: sessions, senders, messages, Telegram, sub-agents.
    for (name, description) in [
        ("telegram-session-admin", "Managing Telegram sessions: sender labels, message ids, conversation info, subagent session keys, timestamps and completed tasks."),
        ("budget-review", "Comparing grocery budget categories in a spreadsheet with last month and flagging overspending."),
        ("formal-translation", "Translating a formal letter, such as a lease termination, into German while keeping the formal tone."),
    ] {
        assert_eq!(skill(name, description).await.unwrap().status(), 200);
    }
    for (fixture, wanted) in [
        ("openclaw-2026.9-telegram-turn.json", "budget-review"),
        ("openclaw-2026.9-internal-context.json", "formal-translation"),
    ] {
        let raw = agent_request(fixture);
        let body: Value = serde_json::from_str(&raw).unwrap();
        let r = h.chat(body.clone()).await;
        assert_eq!(r.status(), 200);
        let id = turn_id(&r);
        r.bytes().await.unwrap();
        let t = h.turn_detail(id).await;
        let skills: Vec<Injected> = serde_json::from_value(t.summary.skills.clone()).unwrap();
        let names: Vec<&str> = skills.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, [wanted], "{fixture}: {skills:?}");
        for term in &skills[0].terms {
            assert!(
                !["session", "sender", "messag", "telegram", "subag", "mara"].iter().any(|e| term.starts_with(e)),
                "{fixture}: matched {term}"
            );
        }
        // The envelope still reaches the upstream: only the skills were added (to the system prompt).
        let sent = h.standin.requests().last().unwrap().json();
        assert_eq!(sent["messages"].as_array().unwrap()[1..], body["messages"].as_array().unwrap()[1..], "{fixture}");
        assert_eq!(t.messages.last(), body["messages"].as_array().unwrap().last(), "recorded as sent");
    }
    h.stop().await;
}
