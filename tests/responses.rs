//! The OpenAI Responses API (`POST /v1/responses`) through a real engine over loopback HTTP,
//! against the stand-in's Responses wire format: answers relayed unchanged (JSON and the
//! `response.*` stream), turns recorded in chat form with the right prompt and answer, skills in
//! `instructions`, `previous_response_id` chains as one session, errors in the Responses shape,
//! truncated streams recorded as such, and judging like any main turn.

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::{turn_id, Harness};
use metaclaw::api::types::status::{TurnDetail, TurnFilter};
use metaclaw::engine::Keys;
use metaclaw::skills::Injected;
use metaclaw::turn::{TurnProtocol, TurnStatus, TurnType};
use metaclaw_standin::Options;
use serde_json::{json, Value};

/// Turn `id` as the typed client reads it, once recorded.
async fn turn(h: &Harness, id: i64) -> TurnDetail {
    h.turn_detail(id).await
}

/// The session of turn `id`.
async fn session_of(h: &Harness, id: i64) -> String {
    turn(h, id).await.summary.session_id
}

async fn post(h: &Harness, body: &Value) -> reqwest::Response {
    h.http.post(h.url("/v1/responses")).json(body).send().await.unwrap()
}

async fn direct(h: &Harness, body: &Value) -> reqwest::Response {
    h.http.post(format!("{}/responses", h.standin.base_url())).json(body).send().await.unwrap()
}

/// The `data:` payloads of a Responses event stream, parsed.
fn events(bytes: &[u8]) -> Vec<Value> {
    metaclaw::transcript::sse_data(bytes).iter().filter_map(|d| serde_json::from_str(d).ok()).collect()
}

fn weather_tool() -> Value {
    serde_json::from_str(WEATHER).unwrap()
}

const WEATHER: &str = r#"{"type": "function", "name": "get_weather", "description": "Weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}"#;

#[tokio::test]
async fn a_json_turn_is_relayed_unchanged_and_recorded_as_a_chat_turn() {
    let h = Harness::start(|_| {}).await;
    let body = json!({"model": "standin-small", "instructions": "be brief", "input": "hello responses",
        "temperature": 0.3, "store": false});
    let want = direct(&h, &body).await.bytes().await.unwrap();
    let r = post(&h, &body).await;
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
    let id = turn_id(&r);
    assert_eq!(r.bytes().await.unwrap(), want);
    assert_eq!(h.standin.requests().last().unwrap().json(), body, "nothing to edit: sent as received");

    let t = turn(&h, id).await;
    assert_eq!(t.summary.status, TurnStatus::Ok);
    assert_eq!(t.summary.protocol, TurnProtocol::Responses);
    assert_eq!(t.summary.turn_type, TurnType::Main);
    assert!(!t.summary.stream);
    assert_eq!(
        json!(t.messages),
        json!([{"role": "system", "content": "be brief"}, {"role": "user", "content": "hello responses"}])
    );
    assert_eq!(t.response_text.as_deref(), Some("Echo: hello responses"));
    assert_eq!(t.summary.finish_reason.as_deref(), Some("stop"));
    assert_eq!(t.params["temperature"], 0.3);
    assert_eq!(t.params["store"], false);
    assert_eq!(t.summary.total_tokens, Some(7));
    h.stop().await;
}

#[tokio::test]
async fn a_streamed_turn_is_relayed_byte_for_byte_and_recorded_with_text_tools_and_usage() {
    let h = Harness::start(|_| {}).await;
    let weather: Value = serde_json::from_str(WEATHER).unwrap();
    let body = json!({"model": "standin-small", "stream": true, "tools": [weather],
        "input": [{"role": "user", "content": [{"type": "input_text", "text": "weather in Paris? [[tool]] [[reasoning]]"}]}]});
    let want = direct(&h, &body).await.bytes().await.unwrap();
    let r = post(&h, &body).await;
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
    let id = turn_id(&r);
    let got = r.bytes().await.unwrap();
    assert_eq!(got, want);
    let kinds: Vec<String> = events(&got).iter().map(|e| e["type"].as_str().unwrap().to_string()).collect();
    for k in [
        "response.created",
        "response.output_item.added",
        "response.reasoning_summary_text.delta",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.output_item.done",
    ] {
        assert!(kinds.iter().any(|x| x == k), "{k} in {kinds:?}");
    }
    assert_eq!(kinds.last().map(String::as_str), Some("response.completed"));

    let t = turn(&h, id).await;
    assert_eq!(t.summary.status, TurnStatus::Ok);
    assert!(t.summary.stream);
    assert_eq!(json!(t.messages), json!([{"role": "user", "content": "weather in Paris? [[tool]] [[reasoning]]"}]));
    assert_eq!(t.params["tools"][0]["function"]["name"], "get_weather", "tools recorded in chat form");
    assert_eq!(t.tool_calls[0].name, "get_weather");
    assert_eq!(t.tool_calls[0].arguments, "{\"city\":\"Paris\"}");
    assert!(t.tool_calls[0].id.starts_with("call_"), "{:?}", t.tool_calls);
    assert_eq!(t.summary.finish_reason.as_deref(), Some("tool_calls"));
    assert_eq!(t.reasoning_text.as_deref(), Some("The user wants an answer; I will echo."));
    assert!(t.summary.total_tokens.unwrap() > 5);

    // A plain streamed answer: its text is what the deltas said.
    let body = json!({"model": "standin-small", "stream": true, "input": "stream these words"});
    let r = post(&h, &body).await;
    let id = turn_id(&r);
    let got = r.bytes().await.unwrap();
    let text: String = events(&got)
        .iter()
        .filter(|e| e["type"] == "response.output_text.delta")
        .map(|e| e["delta"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(text, "Echo: stream these words");
    let t = turn(&h, id).await;
    assert_eq!((t.summary.status, t.response_text.as_deref()), (TurnStatus::Ok, Some("Echo: stream these words")));
    assert_eq!(t.summary.finish_reason.as_deref(), Some("stop"));
    h.stop().await;
}

fn skill_md(name: &str, description: &str, body: &str) -> String {
    format!("---\nname: {name}\ndescription: {description:?}\nmetadata:\n  category: agentic\n---\n\n{body}\n")
}

#[tokio::test]
async fn skills_are_injected_into_instructions_and_unrelated_turns_go_unchanged() {
    let h = Harness::start(|_| {}).await;
    let content = skill_md(
        "iso-timestamps",
        "Use whenever writing timestamps or dates: ISO 8601 with the +08:00 offset.",
        "Write 2026-03-16T09:00:00+08:00.",
    );
    let r = h
        .http
        .post(h.url("/api/skills"))
        .bearer_auth(&h.token)
        .json(&json!({"name": "iso-timestamps", "content": content}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    for stream in [false, true] {
        let body = json!({"model": "m", "instructions": "You are an agent.", "stream": stream,
            "input": [{"role": "user", "content": "add the timestamps to the report please"}]});
        let r = post(&h, &body).await;
        assert_eq!(r.status(), 200);
        let id = turn_id(&r);
        r.bytes().await.unwrap();
        let sent = h.standin.requests().last().unwrap().json();
        let instructions = sent["instructions"].as_str().unwrap();
        assert!(instructions.starts_with("You are an agent.\n\n## Skills"), "{instructions}");
        assert!(instructions.contains("### iso-timestamps") && instructions.contains("+08:00"));
        assert_eq!(sent["input"], body["input"], "the input itself is untouched");
        let t = turn(&h, id).await;
        let skills: Vec<Injected> = serde_json::from_value(t.summary.skills.clone()).unwrap();
        assert_eq!(skills[0].name, "iso-timestamps");
        assert_eq!(t.messages[0]["content"], instructions, "recorded as sent");
        assert_eq!(t.messages[1]["content"], "add the timestamps to the report please");
    }

    let body = json!({"model": "m", "instructions": "You are an agent.", "input": "what's the capital of France?"});
    post(&h, &body).await.bytes().await.unwrap();
    assert_eq!(h.standin.requests().last().unwrap().json(), body);
    h.stop().await;
}

#[tokio::test]
async fn a_previous_response_id_chain_is_one_session() {
    let h = Harness::start(|_| {}).await;
    let r = post(&h, &json!({"model": "m", "input": "plan a trip to Lisbon"})).await;
    let (t1, s1) = (turn_id(&r), r.headers()["x-metaclaw-session-id"].to_str().unwrap().to_string());
    let first: Value = r.json().await.unwrap();

    // The next turn continues by id (streamed), the one after by the streamed answer's id.
    let r = post(
        &h,
        &json!({"model": "m", "stream": true, "previous_response_id": first["id"],
        "input": [{"role": "user", "content": "and a hotel there"}]}),
    )
    .await;
    let t2 = turn_id(&r);
    assert_eq!(r.headers()["x-metaclaw-session-id"], s1.as_str());
    let streamed = events(&r.bytes().await.unwrap());
    let second_id = streamed[0]["response"]["id"].as_str().unwrap().to_string();
    let r = post(&h, &json!({"model": "m", "previous_response_id": second_id, "input": "thanks"})).await;
    let t3 = turn_id(&r);
    assert_eq!(r.headers()["x-metaclaw-session-id"], s1.as_str());

    // A new conversation, and an id MetaClaw never relayed, start sessions of their own.
    let r = post(&h, &json!({"model": "m", "input": "something else entirely"})).await;
    assert_ne!(r.headers()["x-metaclaw-session-id"], s1.as_str());
    let r = post(&h, &json!({"model": "m", "previous_response_id": "resp_unknown", "input": "who are you"})).await;
    assert_ne!(r.headers()["x-metaclaw-session-id"], s1.as_str());

    let mut turns = Vec::new();
    for id in [t1, t2, t3] {
        turns.push(turn(&h, id).await);
    }
    for (i, t) in turns.iter().enumerate() {
        assert_eq!(t.summary.session_id, s1);
        assert_eq!(t.summary.turn_index, i as i64 + 1);
        assert_eq!(t.summary.status, TurnStatus::Ok);
    }
    assert_eq!(json!(turns[1].messages), json!([{"role": "user", "content": "and a hotel there"}]));

    // Codex CLI names its session in a header: that wins over the chain.
    let r = h
        .http
        .post(h.url("/v1/responses"))
        .header("session-id", "codex-7f3a")
        .json(&json!({"model": "m", "previous_response_id": second_id, "input": "one more"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-metaclaw-session-id"], "codex-7f3a");
    assert_eq!(turns[2].response_text.as_deref(), Some("Echo: thanks"));
    h.stop().await;
}

#[tokio::test]
async fn errors_come_back_in_the_responses_error_format() {
    let h = Harness::start(|c| c.routing.max_attempts = 1).await;
    // The upstream's own error: status and body as it sent them, the turn recorded.
    for status in [400u16, 429, 500] {
        let body = json!({"model": "m", "input": format!("fail [[status:{status}]]")});
        let want = direct(&h, &body).await.bytes().await.unwrap();
        let r = post(&h, &body).await;
        assert_eq!(r.status().as_u16(), status);
        let id = turn_id(&r);
        let got = r.bytes().await.unwrap();
        assert_eq!(got, want);
        let e: Value = serde_json::from_slice(&got).unwrap();
        assert_eq!(e["error"]["message"], format!("stand-in error {status}"));
        let t = turn(&h, id).await.summary;
        assert_eq!((t.status, t.http_status), (TurnStatus::UpstreamError, Some(i64::from(status))));
    }
    // MetaClaw's own refusals.
    for (body, param) in [
        (json!({"model": "m", "input": 5}), "input"),
        (json!({"model": 1, "input": "x"}), "model"),
        (json!({"model": "m", "input": "x", "previous_response_id": 3}), "previous_response_id"),
        (json!({"model": "m", "input": ["not an item"]}), "input"),
    ] {
        let r = post(&h, &body).await;
        assert_eq!(r.status(), 400);
        let e: Value = r.json().await.unwrap();
        assert_eq!(e["error"]["type"], "invalid_request_error", "{e}");
        assert_eq!(e["error"]["param"], param);
        assert!(e["error"]["message"].as_str().unwrap().contains(param), "{e}");
        assert!(e["error"].get("code").is_some());
    }
    let r = h
        .http
        .post(h.url("/v1/responses"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.json::<Value>().await.unwrap()["error"]["message"].as_str().unwrap().contains("not valid JSON"));
    // Refused before any turn: counted, not recorded.
    let status = h.client().status().await.unwrap();
    assert_eq!(status.unrecorded.get("refused_invalid_request"), Some(&5), "{:?}", status.unrecorded);
    h.flush().await;
    let page = h.client().turns(&TurnFilter::default()).await.unwrap();
    assert_eq!(page.turns.len(), 3, "only the upstream errors");
    h.stop().await;

    // An upstream that can't be reached: 502 in the same shape, recorded as failed.
    let h = Harness::start(|c| {
        c.routing.max_attempts = 1;
        c.upstream.base_url = "http://127.0.0.1:9/v1".into();
    })
    .await;
    let r = post(&h, &json!({"model": "m", "input": "anyone there?", "stream": true})).await;
    assert_eq!(r.status(), 502);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"]["type"], "upstream_error");
    assert!(e["error"]["message"].as_str().unwrap().contains("cannot reach the upstream"), "{e}");
    h.flush().await;
    let page = h.client().turns(&TurnFilter::default()).await.unwrap();
    assert_eq!((page.turns[0].status, page.turns[0].protocol), (TurnStatus::Failed, TurnProtocol::Responses));
    h.stop().await;
}

fn ev(kind: &str, rest: Value) -> Bytes {
    let mut v = rest;
    v["type"] = json!(kind);
    Bytes::from(format!("event: {kind}\ndata: {v}\n\n"))
}

#[tokio::test]
async fn a_truncated_stream_is_recorded_as_failed_with_what_arrived() {
    // The upstream ends its body cleanly, but before `response.completed`.
    let chunks = vec![
        ev("response.created", json!({"sequence_number": 0, "response": {"id": "resp_cut", "status": "in_progress"}})),
        ev(
            "response.output_item.added",
            json!({"sequence_number": 1, "output_index": 0, "item": {"id": "msg_1", "type": "message", "content": []}}),
        ),
        ev(
            "response.output_text.delta",
            json!({"sequence_number": 2, "item_id": "msg_1", "output_index": 0, "content_index": 0, "delta": "Partial "}),
        ),
        ev(
            "response.output_text.delta",
            json!({"sequence_number": 3, "item_id": "msg_1", "output_index": 0, "content_index": 0, "delta": "answer"}),
        ),
    ];
    let sent: Vec<u8> = chunks.iter().flat_map(|c| c.to_vec()).collect();
    let h = Harness::start_with(
        |_| {},
        Keys::none(),
        Options { record: true, raw_stream: Some(chunks), ..Default::default() },
    )
    .await;
    let r = post(&h, &json!({"model": "m", "stream": true, "input": "tell me everything"})).await;
    assert_eq!(r.status(), 200);
    let id = turn_id(&r);
    let got = r.bytes().await.unwrap();
    assert!(got.starts_with(&sent), "everything the upstream sent reaches the client unchanged");
    let tail = events(&got[sent.len()..]);
    assert_eq!(tail.len(), 1);
    assert_eq!(tail[0]["type"], "error");
    assert_eq!(tail[0]["sequence_number"], 4);
    assert!(tail[0]["message"].as_str().unwrap().contains("before response.completed"));
    let t = turn(&h, id).await;
    assert_eq!(t.summary.status, TurnStatus::Failed);
    assert!(t.error.as_deref().unwrap().contains("ended before response.completed"), "{:?}", t.error);
    assert_eq!(t.response_text.as_deref(), Some("Partial answer"));
    h.stop().await;

    // A connection that breaks mid-answer.
    let h = Harness::start(|_| {}).await;
    let r = post(&h, &json!({"model": "m", "stream": true, "input": "go on [[stream_break]]"})).await;
    let id = turn_id(&r);
    let got = r.bytes().await.unwrap();
    let evs = events(&got);
    assert_eq!(evs.last().unwrap()["type"], "error");
    let t = turn(&h, id).await;
    assert_eq!(t.summary.status, TurnStatus::Failed);
    assert!(t.error.as_deref().unwrap().contains("broke off"), "{:?}", t.error);
    h.stop().await;
}

#[tokio::test]
async fn a_responses_turn_is_judged_like_a_chat_turn() {
    let h = Harness::start(|c| {
        c.judge.model = Some("standin-judge".into());
        c.judge.wait_for_next_secs = 1;
    })
    .await;
    let r =
        post(&h, &json!({"model": "m", "instructions": "be helpful", "input": "summarise the meeting notes"})).await;
    let id = turn_id(&r);
    r.bytes().await.unwrap();
    let mut judgement = None;
    for _ in 0..200 {
        judgement = turn(&h, id).await.judgement;
        if judgement.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(judgement.as_ref().map(|j| j.score), Some(1), "{judgement:?}");
    let judge = h.standin.requests().into_iter().map(|r| r.json()).find(|b| b["model"] == "standin-judge").unwrap();
    let prompt = judge.to_string();
    assert!(prompt.contains("summarise the meeting notes"), "the judge saw the user's input");
    assert!(prompt.contains("Echo: summarise the meeting notes"), "and the answer");
    h.stop().await;
}

fn chat_only() -> Options {
    Options { record: true, chat_only: true, ..Default::default() }
}

#[tokio::test]
async fn a_chat_only_upstream_answers_responses_clients_in_json() {
    let h = Harness::start_with(|_| {}, Keys::none(), chat_only()).await;
    let body =
        json!({"model": "standin-small", "instructions": "be brief", "input": "hello there", "temperature": 0.2});
    let r = post(&h, &body).await;
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
    let id = turn_id(&r);
    let v: Value = r.json().await.unwrap();
    assert!(v["id"].as_str().unwrap().starts_with("resp_"), "{v}");
    assert_eq!((v["object"].as_str(), v["status"].as_str()), (Some("response"), Some("completed")));
    assert_eq!(v["output"][0]["type"], "message");
    assert_eq!(v["output"][0]["content"][0]["text"], "Echo: hello there");
    assert_eq!(v["usage"]["total_tokens"], 7);
    assert_eq!((v["instructions"].as_str(), v["temperature"].as_f64()), (Some("be brief"), Some(0.2)));

    // It was asked in Responses once (404), then in Chat Completions.
    let seen: Vec<String> = h.standin.requests().iter().map(|r| r.path.clone()).collect();
    assert_eq!(seen, ["/v1/responses", "/v1/chat/completions"]);
    let sent = h.standin.requests()[1].json();
    assert_eq!(
        sent,
        json!({"model": "standin-small", "temperature": 0.2,
            "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hello there"}]})
    );
    let t = turn(&h, id).await;
    assert_eq!((t.summary.status, t.summary.attempts), (TurnStatus::Ok, 2));
    assert_eq!(t.response_text.as_deref(), Some("Echo: hello there"));
    assert_eq!(json!(t.messages), sent["messages"], "recorded as sent");

    // From now on it is asked in chat at once; a chained request carries the kept conversation.
    h.standin.clear();
    let r = post(&h, &json!({"model": "standin-small", "previous_response_id": v["id"], "input": "and more"})).await;
    assert_eq!(r.status(), 200);
    let t2 = turn_id(&r);
    let v2: Value = r.json().await.unwrap();
    assert_eq!(v2["output"][0]["content"][0]["text"], "Echo: and more");
    assert_eq!(v2["previous_response_id"], v["id"]);
    let seen = h.standin.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(
        seen[0].json()["messages"],
        json!([{"role": "user", "content": "hello there"}, {"role": "assistant", "content": "Echo: hello there"},
            {"role": "user", "content": "and more"}]),
        "the instructions of the earlier turn are not inherited"
    );
    let (a, b) = (turn(&h, id).await.summary, turn(&h, t2).await.summary);
    assert_eq!(a.session_id, b.session_id);
    assert_eq!(b.attempts, 1);

    // Kept responses can be fetched and deleted; afterwards they are unknown.
    let got: Value = h
        .http
        .get(h.url(&format!("/v1/responses/{}", v["id"].as_str().unwrap())))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(got, v);
    let url = h.url(&format!("/v1/responses/{}", v2["id"].as_str().unwrap()));
    let del: Value = h.http.delete(&url).send().await.unwrap().json().await.unwrap();
    assert_eq!(del, json!({"id": v2["id"], "object": "response", "deleted": true}));
    let r = h.http.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 404);
    let r = post(&h, &json!({"model": "m", "previous_response_id": v2["id"], "input": "x"})).await;
    assert_eq!(r.status(), 400);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"]["param"], "previous_response_id");

    // What a chat upstream can't carry is refused, clearly; built-in tools are not offered to it.
    let r = post(
        &h,
        &json!({"model": "m", "input": [{"role": "user", "content": [{"type": "input_file", "file_id": "f"}]}]}),
    )
    .await;
    assert_eq!(r.status(), 400);
    let e: Value = r.json().await.unwrap();
    assert!(e["error"]["message"].as_str().unwrap().contains("`input_file`"), "{e}");
    let r =
        post(&h, &json!({"model": "m", "input": "search", "tools": [{"type": "web_search"}, weather_tool()]})).await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        h.standin.requests().last().unwrap().json()["tools"],
        json!([{"type": "function", "function": {
        "name": "get_weather", "description": "Weather for a city", "parameters": weather_tool()["parameters"]}}])
    );
    // `store: false` answers are not kept.
    let r = post(&h, &json!({"model": "m", "input": "forget me", "store": false})).await;
    let v3: Value = r.json().await.unwrap();
    let r = h.http.get(h.url(&format!("/v1/responses/{}", v3["id"].as_str().unwrap()))).send().await.unwrap();
    assert_eq!(r.status(), 404);
    h.stop().await;
}

#[tokio::test]
async fn a_chat_only_upstream_streams_the_responses_event_sequence() {
    let h = Harness::start_with(|_| {}, Keys::none(), chat_only()).await;
    let weather: Value = serde_json::from_str(WEATHER).unwrap();
    let body = json!({"model": "standin-small", "stream": true, "tools": [weather], "instructions": "be brief",
        "input": [{"role": "user", "content": [{"type": "input_text", "text": "weather in Paris? [[tool]] [[reasoning]]"}]}]});
    let r = post(&h, &body).await;
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
    let id = turn_id(&r);
    let evs = events(&r.bytes().await.unwrap());
    assert!(evs.iter().enumerate().all(|(i, e)| e["sequence_number"] == i as u64), "numbered in order");
    assert_eq!(evs[0]["type"], "response.created");
    let last = evs.last().unwrap();
    assert_eq!(last["type"], "response.completed");
    let types: Vec<&str> =
        last["response"]["output"].as_array().unwrap().iter().map(|i| i["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["reasoning", "function_call"]);
    let call = &last["response"]["output"][1];
    assert_eq!(
        (call["name"].as_str(), call["arguments"].as_str()),
        (Some("get_weather"), Some("{\"city\":\"Paris\"}"))
    );
    let args: String = evs
        .iter()
        .filter(|e| e["type"] == "response.function_call_arguments.delta")
        .map(|e| e["delta"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(args, "{\"city\":\"Paris\"}");
    assert!(last["response"]["usage"]["total_tokens"].as_i64().unwrap() > 0);
    let sent = h.standin.requests().last().unwrap().json();
    assert_eq!(sent["stream_options"], json!({"include_usage": true}));
    assert_eq!(sent["tools"][0]["function"]["name"], "get_weather");

    let t = turn(&h, id).await;
    assert_eq!(t.summary.status, TurnStatus::Ok);
    assert_eq!(t.tool_calls[0].name, "get_weather");
    assert_eq!(t.summary.finish_reason.as_deref(), Some("tool_calls"));
    assert_eq!(t.reasoning_text.as_deref(), Some("The user wants an answer; I will echo."));

    // The streamed answer is kept too: the tool's result continues the conversation.
    let follow = json!({"model": "standin-small", "stream": true, "previous_response_id": last["response"]["id"],
        "input": [{"type": "function_call_output", "call_id": call["call_id"], "output": "sunny"},
                  {"role": "user", "content": "thanks"}]});
    let r = post(&h, &follow).await;
    let t2 = turn_id(&r);
    let evs = events(&r.bytes().await.unwrap());
    let text: String = evs
        .iter()
        .filter(|e| e["type"] == "response.output_text.delta")
        .map(|e| e["delta"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(text, "Echo: thanks");
    let sent = h.standin.requests().last().unwrap().json();
    let roles: Vec<&str> = sent["messages"].as_array().unwrap().iter().map(|m| m["role"].as_str().unwrap()).collect();
    assert_eq!(roles, ["user", "assistant", "tool", "user"]);
    assert_eq!(sent["messages"][1]["tool_calls"][0]["id"], call["call_id"]);
    assert_eq!(session_of(&h, t2).await, session_of(&h, id).await);

    // A broken chat stream ends the client's with an error event, recorded as failed.
    let r = post(&h, &json!({"model": "m", "stream": true, "input": "go on [[stream_break]]"})).await;
    let id = turn_id(&r);
    let evs = events(&r.bytes().await.unwrap());
    assert_eq!(evs.last().unwrap()["type"], "error");
    assert_eq!(turn(&h, id).await.summary.status, TurnStatus::Failed);
    h.stop().await;
}

/// `claude-*` models on an Anthropic upstream (the stand-in's Messages API), the rest on an
/// OpenAI-compatible one; one attempt each.
fn with_anthropic(c: &mut metaclaw::config::Config) {
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
    c.routing.max_attempts = 1;
}

#[tokio::test]
async fn an_anthropic_upstream_answers_responses_clients() {
    let h = Harness::start(with_anthropic).await;
    let r = post(&h, &json!({"model": "claude-test", "instructions": "be brief", "input": "hello claude"})).await;
    assert_eq!(r.status(), 200);
    let id = turn_id(&r);
    let v: Value = r.json().await.unwrap();
    assert_eq!((v["object"].as_str(), v["status"].as_str()), (Some("response"), Some("completed")));
    assert_eq!(v["output"][0]["content"][0]["text"], "Echo: hello claude");
    assert_eq!(v["usage"]["total_tokens"], 7);
    let sent = h.standin.requests().last().unwrap().clone();
    assert_eq!(sent.path, "/v1/messages");
    assert_eq!(sent.header("anthropic-version"), Some("2023-06-01"));
    let sent = sent.json();
    assert_eq!(sent["system"], "be brief");
    assert_eq!(sent["messages"], json!([{"role": "user", "content": [{"type": "text", "text": "hello claude"}]}]));
    assert!(sent["max_tokens"].as_u64().unwrap() > 0);
    let t = turn(&h, id).await;
    assert_eq!((t.summary.status, t.summary.upstream.as_str()), (TurnStatus::Ok, "claude"));
    assert_eq!(t.response_text.as_deref(), Some("Echo: hello claude"));

    // Streamed, with thinking and a function call, continuing the first answer.
    let weather: Value = serde_json::from_str(WEATHER).unwrap();
    let r = post(
        &h,
        &json!({"model": "claude-test", "stream": true, "tools": [weather], "previous_response_id": v["id"],
        "input": "and the weather? [[tool]] [[thinking]]"}),
    )
    .await;
    assert_eq!(r.status(), 200);
    let id2 = turn_id(&r);
    let evs = events(&r.bytes().await.unwrap());
    assert!(evs.iter().enumerate().all(|(i, e)| e["sequence_number"] == i as u64));
    let last = evs.last().unwrap();
    assert_eq!(last["type"], "response.completed", "{evs:?}");
    let output = last["response"]["output"].as_array().unwrap();
    let types: Vec<&str> = output.iter().map(|i| i["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["reasoning", "function_call"]);
    assert_eq!(
        (output[1]["name"].as_str(), output[1]["arguments"].as_str()),
        (Some("get_weather"), Some("{\"city\":\"Paris\"}"))
    );
    let sent = h.standin.requests().last().unwrap().json();
    let said: Vec<(&str, &str)> = sent["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["role"].as_str().unwrap(), m["content"][0]["text"].as_str().unwrap_or_default()))
        .collect();
    assert_eq!(
        said,
        [
            ("user", "hello claude"),
            ("assistant", "Echo: hello claude"),
            ("user", "and the weather? [[tool]] [[thinking]]")
        ],
        "the kept conversation, then the new input"
    );
    assert_eq!(sent["tools"][0]["name"], "get_weather");
    let t = turn(&h, id2).await;
    assert_eq!((t.summary.status, t.summary.finish_reason.as_deref()), (TurnStatus::Ok, Some("tool_calls")));
    assert_eq!(t.tool_calls[0].name, "get_weather");
    assert_eq!(t.summary.session_id, session_of(&h, id).await);

    // An id MetaClaw made is never sent to an upstream that has the Responses API: the
    // conversation it stands for is.
    let r = post(&h, &json!({"model": "gpt-test", "previous_response_id": v["id"], "input": "and in French?"})).await;
    assert_eq!(r.status(), 200);
    let id3 = turn_id(&r);
    let v3: Value = r.json().await.unwrap();
    assert_eq!(v3["output"][0]["content"][0]["text"], "Echo: and in French?");
    let sent = h.standin.requests().last().unwrap().clone();
    assert_eq!(sent.path, "/v1/responses");
    let sent = sent.json();
    assert!(sent.get("previous_response_id").is_none(), "{sent}");
    assert_eq!(
        sent["input"],
        json!([{"role": "user", "content": "hello claude"}, {"role": "assistant", "content": "Echo: hello claude"},
            {"role": "user", "content": "and in French?"}])
    );
    assert_eq!(session_of(&h, id3).await, session_of(&h, id).await);

    // Its errors come in the Responses shape.
    let r = post(&h, &json!({"model": "claude-test", "input": "[[status:429]]"})).await;
    assert_eq!(r.status(), 429);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"]["type"], "rate_limit_error", "{e}");
    assert_eq!(e["error"]["message"], "stand-in error 429");
    h.stop().await;
}

#[tokio::test]
async fn a_client_leaving_mid_stream_cancels_the_upstream_and_keeps_what_arrived() {
    use futures_util::StreamExt;
    for opts in [Options { record: true, ..Default::default() }, chat_only()] {
        let h = Harness::start_with(|_| {}, Keys::none(), opts).await;
        let r = post(
            &h,
            &json!({"model": "m", "stream": true, "input": "one two three four five six [[chunk_delay_ms:300]]"}),
        )
        .await;
        let id = turn_id(&r);
        let mut s = r.bytes_stream();
        let mut seen = Vec::new();
        // Read until some text has arrived, then go.
        while !String::from_utf8_lossy(&seen).contains("Echo") {
            seen.extend_from_slice(&s.next().await.unwrap().unwrap());
        }
        drop(s);
        common::wait_until("the upstream stream to be dropped", || h.standin.streams_dropped() == 1).await;
        let t = turn(&h, id).await;
        assert_eq!(t.summary.status, TurnStatus::Cancelled);
        assert!(t.response_text.as_deref().unwrap().starts_with("Echo"), "{:?}", t.response_text);
        h.stop().await;
    }
}
