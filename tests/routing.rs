//! Several upstreams of both kinds: Anthropic and OpenAI clients on either, routing by model,
//! failover, caller-auth passthrough, errors in the caller's protocol, and what is recorded.

mod common;

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use metaclaw::api::client::{Client, ClientError};
use metaclaw::api::types::status::TurnDetail;
use metaclaw::config::{Auth, Config, NamedUpstream, Protocol};
use metaclaw::engine::{Engine, Keys};
use metaclaw::home::Home;
use metaclaw::turn::{TurnProtocol, TurnStatus};
use metaclaw_standin::{Options, Standin};
use serde_json::{json, Value};

struct Setup {
    engine: Option<Engine>,
    standins: Vec<Standin>,
    home: tempfile::TempDir,
    http: reqwest::Client,
    base: String,
    token: String,
}

fn up(name: &str, kind: Protocol, s: &Standin, models: &[&str], default: bool) -> NamedUpstream {
    NamedUpstream {
        name: name.into(),
        kind,
        base_url: s.base_url(),
        models: models.iter().map(|m| m.to_string()).collect(),
        default,
        auth: Auth::Key,
        model: None,
    }
}

/// An engine over `standins` (one per upstream, in order), configured by `build`.
async fn setup(opts: Vec<Options>, build: impl FnOnce(&[Standin], &mut Config), keys: Keys) -> Setup {
    let mut standins = Vec::new();
    for o in opts {
        standins.push(common::standin(Options { record: true, ..o }).await);
    }
    let mut cfg = common::config_for(&standins[0]);
    cfg.routing.backoff_ms = 20;
    build(&standins, &mut cfg);
    let home = tempfile::tempdir().unwrap();
    let engine = Engine::start(cfg, Home::at(home.path()), keys).await.expect("engine starts");
    let base = format!("http://{}", engine.addr());
    let token = engine.admin_token().to_string();
    Setup { engine: Some(engine), standins, home, http: reqwest::Client::new(), base, token }
}

impl Setup {
    async fn post(&self, path: &str, body: Value) -> reqwest::Response {
        self.http
            .post(format!("{}{path}", self.base))
            .header("anthropic-version", "2023-06-01")
            .json(&body)
            .send()
            .await
            .unwrap()
    }
    /// Turn `id` through the typed admin-API client, once the store's pending writes are flushed.
    async fn try_turn(&self, id: i64) -> Result<TurnDetail, ClientError> {
        self.engine.as_ref().unwrap().store().flush().await.unwrap();
        Client::new(self.base.as_str(), self.token.as_str()).turn(id).await
    }
    async fn turn(&self, id: i64) -> TurnDetail {
        self.try_turn(id).await.unwrap_or_else(|e| panic!("turn {id}: {e}"))
    }
    /// The same Messages request straight to the first stand-in, for comparison.
    async fn direct_messages(&self, body: &Value) -> bytes::Bytes {
        let url = format!("{}/messages", self.standins[0].base_url());
        let r = self.http.post(url).header("anthropic-version", "2023-06-01").json(body).send().await.unwrap();
        r.bytes().await.unwrap()
    }

    /// Stops the engine cleanly; hands back its home for inspection.
    async fn stop(mut self) -> tempfile::TempDir {
        self.engine.take().unwrap().shutdown().await;
        self.home
    }
}

fn ask_anthropic(model: &str, text: &str, stream: bool) -> Value {
    json!({"model": model, "max_tokens": 64, "stream": stream, "system": "You are terse.",
        "tools": [{"name": "get_weather", "description": "w", "input_schema": {"type": "object"}}],
        "messages": [{"role": "user", "content": text}]})
}

fn sse_events(text: &str) -> Vec<(String, Value)> {
    text.split("\n\n")
        .filter(|e| !e.trim().is_empty())
        .map(|e| {
            let kind = e.lines().find_map(|l| l.strip_prefix("event: ")).unwrap_or("").to_string();
            let data = e.lines().find_map(|l| l.strip_prefix("data: ")).unwrap_or("null");
            (kind, serde_json::from_str(data).unwrap_or(Value::Null))
        })
        .collect()
}

fn two_kinds(s: &[Standin], c: &mut Config) {
    c.upstreams = vec![
        up("claude", Protocol::Anthropic, &s[0], &["claude-*"], false),
        up("local", Protocol::OpenAi, &s[0], &[], true),
    ];
}

#[tokio::test]
async fn anthropic_client_on_an_anthropic_upstream_is_relayed_faithfully_and_recorded() {
    let s = setup(vec![Options::default()], two_kinds, Keys::none()).await;
    let body = ask_anthropic("claude-test", "hello there", false);
    let direct = s.direct_messages(&body).await;
    let r = s.post("/v1/messages", body.clone()).await;
    assert_eq!(r.status(), 200);
    let id = common::turn_id(&r);
    assert_eq!(r.bytes().await.unwrap(), direct);
    assert_eq!(s.standins[0].requests().last().unwrap().json(), body, "sent upstream unchanged");

    let stream = ask_anthropic("claude-test", "stream it [[thinking]]", true);
    let direct = s.direct_messages(&stream).await;
    let r = s.post("/v1/messages", stream).await;
    let sid = common::turn_id(&r);
    assert_eq!(r.bytes().await.unwrap(), direct);

    let t = s.turn(id).await;
    assert_eq!(
        (t.summary.protocol, t.summary.upstream.as_str(), t.summary.attempts),
        (TurnProtocol::Anthropic, "claude", 1)
    );
    assert_eq!(
        t.messages[0],
        json!({"role": "system", "content": "You are terse."}),
        "recorded in the normalised form"
    );
    assert_eq!(t.response_text.as_deref(), Some("Echo: hello there"));
    let t = s.turn(sid).await;
    assert_eq!(t.response_text.as_deref(), Some("Echo: stream it (thinking)"));
    assert_eq!(t.reasoning_text.as_deref(), Some("The user wants an answer; I will echo."));
    assert!(t.summary.total_tokens.unwrap() > 0);
    s.stop().await;
}

#[tokio::test]
async fn anthropic_client_on_an_openai_upstream_gets_translated_answers_and_streams() {
    let s = setup(vec![Options::default()], two_kinds, Keys::none()).await;
    // Text.
    let r = s.post("/v1/messages", ask_anthropic("standin-small", "hi there", false)).await;
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["type"], "message");
    assert_eq!(v["content"], json!([{"type": "text", "text": "Echo: hi there"}]));
    assert_eq!(v["stop_reason"], "end_turn");
    assert!(v["usage"]["input_tokens"].as_i64().unwrap() > 0);
    let sent = s.standins[0].requests().last().unwrap().clone();
    assert_eq!(sent.path, "/v1/chat/completions");
    assert_eq!(sent.json()["messages"][0], json!({"role": "system", "content": "You are terse."}));
    assert_eq!(sent.json()["tools"][0]["function"]["name"], "get_weather");

    // Tool use.
    let v: Value =
        s.post("/v1/messages", ask_anthropic("standin-small", "weather? [[tool]]", false)).await.json().await.unwrap();
    assert_eq!(v["stop_reason"], "tool_use");
    assert_eq!(v["content"][0]["type"], "tool_use");
    assert_eq!(v["content"][0]["input"], json!({"city": "Paris"}));

    // Streaming: the documented event sequence, with the tool input arriving as JSON deltas.
    let r = s.post("/v1/messages", ask_anthropic("standin-small", "weather? [[tool]]", true)).await;
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
    let id = common::turn_id(&r);
    let ev = sse_events(&r.text().await.unwrap());
    let kinds: Vec<&str> = ev.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(kinds.first(), Some(&"message_start"));
    assert_eq!(kinds.last(), Some(&"message_stop"));
    assert!(
        kinds.contains(&"content_block_start")
            && kinds.contains(&"content_block_stop")
            && kinds.contains(&"message_delta")
    );
    let json: String = ev.iter().filter_map(|(_, d)| d["delta"]["partial_json"].as_str()).collect();
    assert_eq!(serde_json::from_str::<Value>(&json).unwrap(), json!({"city": "Paris"}));
    let delta = ev.iter().find(|(k, _)| k == "message_delta").unwrap();
    assert_eq!(delta.1["delta"]["stop_reason"], "tool_use");
    let t = s.turn(id).await.summary;
    assert_eq!((t.protocol, t.upstream.as_str()), (TurnProtocol::Anthropic, "local"));
    assert_eq!(t.tool_names, ["get_weather"]);
    // SDKs take the prompt's size from `message_delta` (`message_start` could not know it).
    assert!(t.prompt_tokens.is_some_and(|n| n > 0), "{t:?}");
    assert_eq!(delta.1["usage"]["input_tokens"], json!(t.prompt_tokens));
    s.stop().await;
}

#[tokio::test]
async fn openai_client_on_an_anthropic_upstream_gets_translated_answers_and_streams() {
    let s = setup(vec![Options::default()], two_kinds, Keys::none()).await;
    let body = json!({"model": "claude-test", "messages": [{"role": "system", "content": "sys"}, {"role": "user", "content": "hello [[thinking]]"}]});
    let v: Value = s.post("/v1/chat/completions", body).await.json().await.unwrap();
    assert_eq!(v["object"], "chat.completion");
    assert_eq!(v["choices"][0]["message"]["content"], "Echo: hello (thinking)");
    assert_eq!(v["choices"][0]["message"]["reasoning_content"], "The user wants an answer; I will echo.");
    assert_eq!(v["choices"][0]["finish_reason"], "stop");
    let sent = s.standins[0].requests().last().unwrap().json();
    assert_eq!(sent["system"], "sys");
    assert_eq!(sent["max_tokens"], 4096);

    let body = json!({"model": "claude-test", "stream": true, "stream_options": {"include_usage": true},
        "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}],
        "messages": [{"role": "user", "content": "go [[tool]]"}]});
    let text = s.post("/v1/chat/completions", body).await.text().await.unwrap();
    let t = metaclaw::transcript::Transcript::from_sse(&[text.as_bytes()]);
    assert_eq!(t.tool_calls[0].name, "get_weather");
    assert_eq!(serde_json::from_str::<Value>(&t.tool_calls[0].arguments).unwrap(), json!({"city": "Paris"}));
    assert_eq!(t.finish_reason.as_deref(), Some("tool_calls"));
    assert!(t.usage.total_tokens.unwrap() > 0);
    assert!(text.ends_with("data: [DONE]\n\n"));

    // What can't be mapped is refused, not dropped.
    let r = s
        .post(
            "/v1/chat/completions",
            json!({"model": "claude-test", "n": 2, "messages": [{"role": "user", "content": "x"}]}),
        )
        .await;
    assert_eq!(r.status(), 400);
    assert!(r.json::<Value>().await.unwrap()["error"]["message"].as_str().unwrap().contains("`n`"));
    s.stop().await;
}

#[tokio::test]
async fn a_down_upstream_fails_over_to_the_next_and_the_attempts_are_recorded() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let s = setup(
        vec![Options { fail_with: Some(503), ..Default::default() }, Options::default()],
        |s, c| {
            let mut down = up("down", Protocol::OpenAi, &s[0], &["m"], false);
            down.base_url = format!("http://{closed}/v1");
            c.upstreams = vec![
                down,
                up("busy", Protocol::OpenAi, &s[0], &["m"], false),
                up("good", Protocol::Anthropic, &s[1], &["m"], false),
            ];
        },
        Keys::none(),
    )
    .await;
    let r =
        s.post("/v1/chat/completions", json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]})).await;
    assert_eq!(r.status(), 200);
    let id = common::turn_id(&r);
    assert_eq!(r.json::<Value>().await.unwrap()["choices"][0]["message"]["content"], "Echo: hi");
    let t = s.turn(id).await.summary;
    assert_eq!((t.upstream.as_str(), t.attempts), ("good", 3));
    s.stop().await;
}

#[tokio::test]
async fn retries_honour_retry_after_and_never_happen_after_the_first_byte() {
    // One upstream answering 429 with retry-after 1: waited for, then given to the client.
    let s = setup(
        vec![Options { fail_with: Some(429), retry_after: Some(1), ..Default::default() }],
        |s, c| {
            c.upstreams = vec![up("only", Protocol::OpenAi, &s[0], &[], true)];
            c.routing.max_attempts = 2;
        },
        Keys::none(),
    )
    .await;
    let started = Instant::now();
    let r =
        s.post("/v1/chat/completions", json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]})).await;
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["retry-after"], "1");
    assert!(started.elapsed() >= Duration::from_millis(950), "retry-after was honoured: {:?}", started.elapsed());
    assert_eq!(s.turn(common::turn_id(&r)).await.summary.attempts, 2);
    s.stop().await;

    // A stream that breaks after its first bytes is not retried on the fallback.
    let s = setup(
        vec![Options::default(), Options::default()],
        |s, c| {
            c.upstreams =
                vec![up("a", Protocol::OpenAi, &s[0], &["m"], false), up("b", Protocol::OpenAi, &s[1], &["m"], false)]
        },
        Keys::none(),
    )
    .await;
    let r = s
        .post(
            "/v1/chat/completions",
            json!({"model": "m", "stream": true, "messages": [{"role": "user", "content": "go [[stream_break]]"}]}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let id = common::turn_id(&r);
    let mut body = r.bytes_stream();
    let mut text = String::new();
    while let Some(Ok(c)) = body.next().await {
        text.push_str(&String::from_utf8_lossy(&c));
    }
    assert!(text.contains("broke off"), "{text}");
    assert!(s.standins[1].requests().is_empty(), "the fallback was never called");
    let t = s.turn(id).await.summary;
    assert_eq!((t.status, t.attempts), (TurnStatus::Failed, 1));
    s.stop().await;
}

#[tokio::test]
async fn any_retry_after_from_the_upstream_reaches_the_agent_as_the_upstreams_status() {
    // Each of these made the proxy panic (a dropped connection) or wait for ever before.
    for (value, status) in [
        ("-1", 429),
        ("NaN", 503),
        ("inf", 429),
        ("1e300", 503),
        ("18446744073709551616", 429),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 503),
        ("Fri, 31 Dec 9999 23:59:59 GMT", 429),
        ("soon, please", 503),
    ] {
        let s = setup(
            vec![Options { fail_with: Some(status), retry_after_header: Some(value.into()), ..Default::default() }],
            |s, c| {
                c.upstreams = vec![up("only", Protocol::OpenAi, &s[0], &[], true)];
                c.routing.max_attempts = 2;
            },
            Keys::none(),
        )
        .await;
        let started = Instant::now();
        let r = s
            .http
            .post(format!("{}/v1/chat/completions", s.base))
            .json(&json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]}))
            .send()
            .await
            .unwrap_or_else(|e| panic!("retry-after {value:?}: the connection dropped: {e}"));
        assert_eq!(r.status().as_u16(), status, "retry-after {value:?}");
        assert!(started.elapsed() < Duration::from_secs(10), "retry-after {value:?}: {:?}", started.elapsed());
        let id = common::turn_id(&r);
        assert_eq!(s.turn(id).await.summary.http_status, Some(i64::from(status)), "retry-after {value:?}");
        s.stop().await;
    }
}

/// Reads a stream until `end` appears, then closes the connection at once (as openai-python
/// 3.x does on `[DONE]`); returns the turn id.
async fn read_until_then_close(r: reqwest::Response, end: &str) -> i64 {
    assert_eq!(r.status(), 200);
    let id = common::turn_id(&r);
    let mut body = r.bytes_stream();
    let mut text = String::new();
    while !text.contains(end) {
        match body.next().await {
            Some(Ok(c)) => text.push_str(&String::from_utf8_lossy(&c)),
            other => panic!("the stream ended before {end:?}: {other:?} {text}"),
        }
    }
    drop(body);
    id
}

#[tokio::test]
async fn a_stream_read_to_its_protocol_end_is_ok_even_if_the_client_closes_before_the_upstream_eof() {
    // Like llama-server: `[DONE]` in its own write, the chunked terminator later.
    let s = setup(
        vec![Options { split_done: Some(Duration::from_millis(300)), ..Default::default() }],
        |s, c| c.upstreams = vec![up("local", Protocol::OpenAi, &s[0], &[], true)],
        Keys::none(),
    )
    .await;
    let mut ids = Vec::new();
    for i in 0..20 {
        let mut body =
            json!({"model": "m", "stream": true, "messages": [{"role": "user", "content": format!("hi {i}")}]});
        if i % 2 == 1 {
            body["stream_options"] = json!({"include_usage": true});
        }
        ids.push(read_until_then_close(s.post("/v1/chat/completions", body).await, "data: [DONE]").await);
    }
    // An Anthropic client on the same upstream gets `message_stop` as soon as `[DONE]` arrives.
    for i in 0..4 {
        let r = s.post("/v1/messages", ask_anthropic("m", &format!("hello {i}"), true)).await;
        ids.push(read_until_then_close(r, "event: message_stop").await);
    }
    for id in ids {
        let mut tries = 0;
        let t = loop {
            match s.try_turn(id).await {
                Ok(t) => break t,
                Err(e) if e.status() == Some(404) => {}
                Err(e) => panic!("turn {id}: {e}"),
            }
            tries += 1;
            assert!(tries < 250, "turn {id} was never recorded");
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        assert_eq!(t.summary.status, TurnStatus::Ok, "turn {id}: {t:?}");
        assert_eq!(t.summary.http_status, Some(200), "turn {id}");
        assert!(t.response_text.as_deref().is_some_and(|x| x.starts_with("Echo: ")), "turn {id}: {t:?}");
    }
    s.stop().await;
}

#[tokio::test]
async fn hostile_upstream_streams_never_crash_the_proxy_and_are_recorded() {
    // Invalid UTF-8 inside and between events, absurd tool-call indexes, garbage, truncation.
    let openai: Vec<&[u8]> = vec![
        b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\xff\xfe\"}}]}\n\n",
        b"\xff\xff\xc3\n\n",
        b"data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":18446744073709551615,\"function\":{\"name\":\"f\"}}]}}]}\n\n",
        b"data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":1000000000000000,\"function\":{\"name\":\"g\"}}]}}]}\n\n",
        b"event: message_start\ndata: {not json\n\n",
        b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"b\"}}]}\n\ndata: {\"choices\":[{\"in",
    ];
    let anthropic: Vec<&[u8]> = vec![
        b"event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"usage\":{\"input_tokens\":1}}}\n\n",
        b"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":18446744073709551615,\"content_block\":{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"f\"}}\n\n",
        b"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"x\xe2\x82\"}}\n\n\xc3\x28\n\n",
        b"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_del",
    ];
    let raw = |c: Vec<&[u8]>| Some(c.into_iter().map(bytes::Bytes::copy_from_slice).collect());
    let s = setup(
        vec![
            Options { raw_stream: raw(openai), ..Default::default() },
            Options { raw_stream: raw(anthropic), ..Default::default() },
        ],
        |s, c| {
            c.upstreams = vec![
                up("oa", Protocol::OpenAi, &s[0], &["oa-*"], true),
                up("an", Protocol::Anthropic, &s[1], &["an-*"], false),
            ]
        },
        Keys::none(),
    )
    .await;
    let chat = |model: &str| json!({"model": model, "stream": true, "messages": [{"role": "user", "content": "hi"}]});
    for (path, body, overflow) in [
        ("/v1/chat/completions", chat("oa-1"), true),
        ("/v1/messages", ask_anthropic("oa-1", "hi", true), true),
        ("/v1/chat/completions", chat("an-1"), false),
        ("/v1/messages", ask_anthropic("an-1", "hi", true), false),
    ] {
        let r = s.post(path, body).await;
        assert_eq!(r.status(), 200, "{path}");
        let id = common::turn_id(&r);
        let got = r.bytes().await.unwrap_or_else(|e| panic!("{path}: the connection broke: {e}"));
        assert!(!got.is_empty(), "{path}");
        let t = tokio::time::timeout(Duration::from_secs(20), s.try_turn(id)).await.expect("the store keeps writing");
        let t = t.unwrap_or_else(|e| panic!("{path}: turn {id} recorded: {e}"));
        if overflow {
            assert!(t.error.as_deref().is_some_and(|e| e.contains("tool-call deltas")), "{path}: {t:?}");
        }
    }
    let r = s.http.get(format!("{}/healthz", s.base)).send().await.unwrap();
    assert_eq!(r.status(), 200, "the engine is still up");
    s.stop().await;
}

#[tokio::test]
async fn an_upstream_answer_of_any_size_is_read_within_a_bound() {
    // 80 MiB: one content delta per MiB, the whole thing without an end.
    let piece = format!(
        "data: {{\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"{}\"}}}}]}}\n\n",
        "x".repeat((1 << 20) - 64)
    );
    let chunks: Vec<bytes::Bytes> = (0..80).map(|_| bytes::Bytes::from(piece.clone())).collect();
    let s = setup(
        vec![Options { raw_stream: Some(chunks), ..Default::default() }],
        |s, c| c.upstreams = vec![up("big", Protocol::OpenAi, &s[0], &[], true)],
        Keys::none(),
    )
    .await;
    // Whole answers are refused past the bound, as they arrive.
    let r =
        s.post("/v1/chat/completions", json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]})).await;
    assert_eq!(r.status(), 502);
    assert!(r.text().await.unwrap().contains("more than 64 MiB"));
    // A stream reaches the client whole; the record keeps its start and says so.
    let r = s
        .post(
            "/v1/chat/completions",
            json!({"model": "m", "stream": true, "messages": [{"role": "user", "content": "hi"}]}),
        )
        .await;
    let id = common::turn_id(&r);
    assert_eq!(r.bytes().await.unwrap().len(), 80 * piece.len());
    let t = s.turn(id).await;
    assert_eq!(t.summary.status, TurnStatus::Ok);
    assert!(t.error.as_deref().is_some_and(|e| e.contains("only its start is recorded")), "{:?}", t.error);
    assert!(t.response_text.as_deref().unwrap().len() <= 64 << 20);
    s.stop().await;
}

#[tokio::test]
async fn errors_come_in_the_callers_protocol() {
    let s = setup(
        vec![Options { fail_with: Some(529), ..Default::default() }, Options::default()],
        |s, c| {
            c.upstreams = vec![
                up("overloaded", Protocol::Anthropic, &s[0], &["claude-*"], false),
                up("oa", Protocol::OpenAi, &s[1], &[], true),
            ];
            c.routing.max_attempts = 1;
            c.proxy.max_body_mib = 1;
        },
        Keys::none(),
    )
    .await;
    let err = |v: &Value| (v["type"].as_str().map(str::to_string), v["error"]["type"].as_str().map(str::to_string));
    let r = s.post("/v1/messages", ask_anthropic("claude-x", "hi", false)).await;
    assert_eq!(r.status(), 529);
    assert_eq!(err(&r.json().await.unwrap()), (Some("error".into()), Some("overloaded_error".into())));
    let r = s
        .http
        .post(format!("{}/v1/messages", s.base))
        .header("content-type", "application/json")
        .body("{oops")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(err(&r.json().await.unwrap()).1.as_deref(), Some("invalid_request_error"));
    let r = s.post("/v1/messages", json!({"model": "m", "messages": [{"role": "user", "content": "x"}]})).await;
    let v: Value = r.json().await.unwrap();
    assert!(v["error"]["message"].as_str().unwrap().contains("max_tokens"), "{v}");
    let big = json!({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "x".repeat(2 << 20)}]});
    let r = s.post("/v1/messages", big).await;
    assert_eq!(r.status(), 413);
    assert_eq!(err(&r.json().await.unwrap()).1.as_deref(), Some("request_too_large"));
    // An OpenAI upstream's error reaches an Anthropic client as Anthropic JSON, same status.
    let r = s.post("/v1/messages", ask_anthropic("standin-small", "x [[status:404]]", false)).await;
    assert_eq!(r.status(), 404);
    let v: Value = r.json().await.unwrap();
    assert_eq!(err(&v).1.as_deref(), Some("not_found_error"));
    assert!(v["error"]["message"].as_str().unwrap().contains("stand-in error 404"));
    // And an Anthropic upstream's error reaches an OpenAI client as OpenAI JSON.
    let r = s
        .post("/v1/chat/completions", json!({"model": "claude-x", "messages": [{"role": "user", "content": "x"}]}))
        .await;
    assert_eq!(r.status(), 529);
    assert!(r.json::<Value>().await.unwrap()["error"]["message"].as_str().unwrap().contains("outage 529"));
    // A document by URL can't go to an OpenAI upstream (text and base64 PDFs are translated): a
    // clear 400.
    let doc = json!({"model": "standin-small", "max_tokens": 5, "messages": [{"role": "user", "content": [{"type": "document", "source": {"type": "url", "url": "https://example.org/a.pdf"}}]}]});
    let r = s.post("/v1/messages", doc).await;
    assert_eq!(r.status(), 400);
    assert!(r.json::<Value>().await.unwrap()["error"]["message"].as_str().unwrap().contains("document"));
    s.stop().await;
}

#[tokio::test]
async fn count_tokens_and_models_cover_every_upstream() {
    let s = setup(vec![Options::default()], two_kinds, Keys::none()).await;
    let body =
        json!({"model": "claude-x", "system": "one two", "messages": [{"role": "user", "content": "three four five"}]});
    let v: Value = s.post("/v1/messages/count_tokens", body.clone()).await.json().await.unwrap();
    assert_eq!(v["input_tokens"], 5, "asked of the Anthropic upstream");
    let mut oa = body;
    oa["model"] = json!("standin-small");
    let v: Value = s.post("/v1/messages/count_tokens", oa).await.json().await.unwrap();
    assert!(v["input_tokens"].as_i64().unwrap() > 0, "estimated for an OpenAI upstream");
    let models: Value = s.http.get(format!("{}/v1/models", s.base)).send().await.unwrap().json().await.unwrap();
    let ids: Vec<&str> = models["data"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap()).collect();
    assert!(ids.contains(&"standin-small"), "{ids:?}");
    s.stop().await;
}

#[tokio::test]
async fn passthrough_forwards_the_callers_key_which_is_never_stored() {
    let s = setup(
        vec![Options { require_key: Some("sk-caller-secret-123".into()), ..Default::default() }],
        |s, c| {
            let mut a = up("mine", Protocol::Anthropic, &s[0], &["claude-*"], false);
            a.auth = Auth::Passthrough;
            let mut o = up("oa", Protocol::OpenAi, &s[0], &[], true);
            o.auth = Auth::Passthrough;
            c.upstreams = vec![a, o];
        },
        Keys::none().with_upstream("mine", "sk-stored-should-not-be-used"),
    )
    .await;
    let r = s
        .http
        .post(format!("{}/v1/messages", s.base))
        .header("x-api-key", "sk-caller-secret-123")
        .header("anthropic-version", "2023-06-01")
        .json(&ask_anthropic("claude-x", "hi", false))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = s
        .http
        .post(format!("{}/v1/chat/completions", s.base))
        .bearer_auth("sk-caller-secret-123")
        .json(&json!({"model": "standin-small", "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let seen = s.standins[0].requests();
    assert_eq!(seen[0].header("x-api-key"), Some("sk-caller-secret-123"));
    assert_eq!(seen[1].header("authorization"), Some("Bearer sk-caller-secret-123"));
    // Without credentials: a clear 401 in the caller's protocol, nothing sent upstream.
    let r = s.post("/v1/messages", ask_anthropic("claude-x", "hi", false)).await;
    assert_eq!(r.status(), 401);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["type"], "authentication_error");
    assert_eq!(s.standins[0].requests().len(), 2);
    let home = s.stop().await;
    for entry in std::fs::read_dir(home.path()).unwrap() {
        let p = entry.unwrap().path();
        if p.is_file() {
            let bytes = std::fs::read(&p).unwrap();
            assert!(
                !String::from_utf8_lossy(&bytes).contains("sk-caller-secret-123"),
                "the caller's key is in {}",
                p.display()
            );
        }
    }
}

#[test]
fn passthrough_keys_never_reach_the_logs() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let standin = rt
        .block_on(common::standin(Options { require_key: Some("sk-caller-secret-456".into()), ..Default::default() }));
    let home = tempfile::tempdir().unwrap();
    std::fs::write(
        home.path().join("config.toml"),
        format!(
            "[upstream]\nbase_url = \"{}\"\nauth = \"passthrough\"\n[log]\nlevel = \"trace\"\nbodies = true\n",
            standin.base_url()
        ),
    )
    .unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_metaclaw"))
        .args(["serve", "--port", "0"])
        .env("METACLAW_HOME", home.path())
        .env("METACLAW_NO_KEYRING", "1")
        .env("METACLAW_LOG", "trace")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(child.stdout.take().unwrap()), &mut line).unwrap();
    let base = line.trim().trim_start_matches("MetaClaw listening on ").to_string();
    let status = rt.block_on(async {
        reqwest::Client::new()
            .post(format!("{base}/chat/completions"))
            .bearer_auth("sk-caller-secret-456")
            .json(&json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]}))
            .send()
            .await
            .unwrap()
            .status()
    });
    assert_eq!(status, 200);
    std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    let out = child.wait_with_output().unwrap();
    let logs = String::from_utf8_lossy(&out.stderr);
    assert!(logs.contains("turn finished"), "trace logging was on: {logs}");
    assert!(!logs.contains("sk-caller-secret-456"), "the caller's key leaked into the logs");
}
