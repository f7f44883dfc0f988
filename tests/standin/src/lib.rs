//! A stand-in for an OpenAI-compatible LLM API and for Anthropic's Messages API, for MetaClaw's
//! tests and benchmarks.
//!
//! It follows the documented wire formats and answers deterministically, so a response fetched
//! directly and one fetched through the proxy can be compared byte for byte:
//!
//! | endpoint | wire format |
//! |---|---|
//! | `POST /v1/chat/completions` | OpenAI chat completions, JSON and SSE, tool calls, usage, errors |
//! | `GET /v1/models`, `POST /v1/embeddings` | OpenAI |
//! | `POST /v1/messages` | Anthropic Messages (`anthropic-version` required), JSON and SSE, tool use, thinking |
//! | `POST /v1/messages/count_tokens` | Anthropic token counting (`{"input_tokens": N}`, directives ignored) |
//! | `POST /v1/responses` | OpenAI Responses, JSON and SSE (`response.*` events, each in two writes), function calls, reasoning, usage |
//!
//! Behaviour is scripted by directives in the last user message (for both APIs unless noted):
//!
//! | directive | effect |
//! |---|---|
//! | `[[status:N]]` | answer with HTTP status N and an OpenAI/Anthropic error body (`retry-after: 7` on 429) |
//! | `[[delay_ms:N]]` | wait N ms before answering |
//! | `[[tool]]` | call the first tool in `tools` (or `get_weather`) with `{"city":"Paris"}` |
//! | `[[reasoning]]` | OpenAI: include `reasoning_content` |
//! | `[[thinking]]` | Anthropic: put a `thinking` block (with a signature) before the answer |
//! | `[[chunk_delay_ms:N]]` | when streaming, wait N ms between chunks |
//! | `[[stream_break]]` | when streaming, drop the connection after two chunks |
//! | `[[stall_ms:N]]` | when streaming, go silent for N ms after the first chunk |
//! | `[[garbage]]` | answer 200 with a body that is not JSON |
//! | `[[embed_status:N]]`, `[[embed_delay_ms:N]]` | in an embeddings input: fail with N, or delay |
//!
//! A chat completion whose `model` starts with `standin-follower` plays an agent's model that follows
//! injected skills (see [`follower`]).
//!
//! A chat completion whose `model` starts with `standin-judge` or `standin-evolver` plays a role
//! of MetaClaw's learning loop instead of echoing (non-streaming only). Its directives may sit in
//! any message, since MetaClaw quotes the conversation inside its prompts:
//!
//! | role | directive | effect |
//! |---|---|---|
//! | judge | `[[judge_status:N]]` | answer with HTTP status N and an OpenAI error body |
//! | judge | `[[judge_votes:a,b,c]]` | the k-th call with this exact body scores the k-th vote (cycling) |
//! | judge | `[[judge_score:N]]` | score N |
//! | judge | `[[judge_garbage]]` | answer without a `Score:` line |
//! | judge | `[[judge_echo]]` | echo the rubric's `Score:` lines, with no verdict line |
//! | both | `[[judge_delay_ms:N]]`, `[[evolve_delay_ms:N]]` | answer after N ms (a slow upstream) |
//! | both | `[[refuse_response_format]]` | answer 400 to a request with `response_format` |
//! | judge | (none) | score 1; an answer is a reasoning sentence, then `Score: N` on the last line |
//! | evolver | `[[evolve_status:N]]` | answer with HTTP status N and an OpenAI error body |
//! | evolver | `[[evolve:timestamps]]` | a sentence and a fenced `json` block creating `timestamp-offsets` |
//! | evolver | `[[evolve:malformed]]` | truncated, invalid JSON |
//! | evolver | `[[evolve:hostile]]` | creates `helpful-override` (a prompt injection and a fake `sk-live-` key) |
//! | evolver | `[[evolve:risky]]` | creates `quick-setup` (pipes a download into `sh`, silently, a URL the user never wrote) |
//! | evolver | `[[evolve:edit:NAME]]` | edits skill NAME (lowercase letters, digits, hyphens) |
//! | evolver | `[[evolve_edit_ops:NAME[:MODE]]]` | edits skill NAME with operations on the text MetaClaw shows: adds a step after its last line; MODE `noop`, `gut` (removes all but the first line) or `whole` (a whole body instead) |
//! | evolver | `[[evolve:duplicate]]` | creates `timestamps-again`, the same as `timestamp-offsets` |
//! | evolver | `[[evolve:ramble]]`, `[[evolve:prose]]` | a heading repeated to `max_tokens` (finish `length`); prose without JSON |
//! | evolver | (none) | `{"skills": []}`; with several directives, the first in this table wins |
//!
//! Every request is kept (method, path, headers, body) and listed at `GET /_standin/requests`.

mod anthropic;
pub mod follower;
pub mod google;
pub mod microsoft;
mod responses;
mod roles;
pub mod tinker;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::{Json, Router};
use futures_util::stream;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// Fixed `created` stamp, so answers are reproducible.
pub const CREATED: i64 = 1_700_000_000;

/// One request as the stand-in received it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

#[derive(Clone, Default)]
struct Shared {
    requests: Arc<Mutex<Vec<Recorded>>>,
    /// Streams whose reader went away before the last event.
    dropped: Arc<AtomicUsize>,
    /// Judge calls seen so far per request body (FNV hash), for `[[judge_votes:..]]`.
    judge_calls: Arc<Mutex<HashMap<u64, usize>>>,
    require_key: Option<String>,
    record: bool,
    fail_with: Option<u16>,
    retry_after: Option<u32>,
    retry_after_header: Option<String>,
    split_done: Option<Duration>,
    raw_stream: Option<Vec<Bytes>>,
    chat_only: bool,
}

/// Options for [`spawn`].
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Answer 401 unless `Authorization: Bearer <key>` is sent (or, for the Anthropic endpoints,
    /// `x-api-key: <key>`).
    pub require_key: Option<String>,
    /// Keep requests for `/_standin/requests` (off for benchmarks).
    pub record: bool,
    /// Answer every chat or messages call with this status (an outage), in the endpoint's error
    /// format, with `retry-after` when `retry_after` is set.
    pub fail_with: Option<u16>,
    pub retry_after: Option<u32>,
    /// With `fail_with`: send this `retry-after` value verbatim (garbage, negative, a date…).
    pub retry_after_header: Option<String>,
    /// Like llama.cpp's server: end an OpenAI stream with `data: [DONE]` in a write of its own,
    /// then this long before the chunked terminator (the body's end).
    pub split_done: Option<Duration>,
    /// A hostile upstream: every chat completion or message is answered 200 `text/event-stream`
    /// with exactly these chunks, each in its own write (invalid UTF-8, garbage, truncation…).
    pub raw_stream: Option<Vec<Bytes>>,
    /// Like most local servers: no Responses API (`/v1/responses` is an unknown URL, 404).
    pub chat_only: bool,
}

/// A running stand-in.
pub struct Standin {
    pub addr: SocketAddr,
    shared: Shared,
    task: tokio::task::JoinHandle<()>,
}

impl Standin {
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }
    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.requests.lock().unwrap().clone()
    }
    /// How many streamed answers were abandoned by the reader (the proxy cancelled them).
    pub fn streams_dropped(&self) -> usize {
        self.shared.dropped.load(Ordering::SeqCst)
    }
    pub fn clear(&self) {
        self.shared.requests.lock().unwrap().clear();
    }
}

impl Drop for Standin {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts a stand-in on `addr` (port 0 for a free one).
pub async fn spawn(addr: SocketAddr, opts: Options) -> std::io::Result<Standin> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let shared = Shared {
        requests: Default::default(),
        dropped: Default::default(),
        judge_calls: Default::default(),
        require_key: opts.require_key,
        record: opts.record,
        fail_with: opts.fail_with,
        retry_after: opts.retry_after,
        retry_after_header: opts.retry_after_header,
        split_done: opts.split_done,
        raw_stream: opts.raw_stream,
        chat_only: opts.chat_only,
    };
    let app = router(shared.clone());
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(Standin { addr, shared, task })
}

fn router(shared: Shared) -> Router {
    Router::new()
        .route("/_standin/requests", get(list_requests).delete(clear_requests))
        .fallback(any(dispatch))
        .layer(axum::middleware::map_response(allow_any_origin))
        .with_state(shared)
}

/// Like the public APIs it stands in for, every answer allows any origin (MetaClaw must not pass
/// this on to its own clients).
async fn allow_any_origin(mut r: Response) -> Response {
    r.headers_mut().insert("access-control-allow-origin", axum::http::HeaderValue::from_static("*"));
    r.headers_mut().insert("access-control-expose-headers", axum::http::HeaderValue::from_static("*"));
    r
}

async fn list_requests(State(s): State<Shared>) -> Json<Vec<Recorded>> {
    Json(s.requests.lock().unwrap().clone())
}

async fn clear_requests(State(s): State<Shared>) -> StatusCode {
    s.requests.lock().unwrap().clear();
    StatusCode::NO_CONTENT
}

fn error(status: u16, message: &str, kind: &str) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut r = (status, Json(json!({"error": {"message": message, "type": kind, "param": null, "code": null}})))
        .into_response();
    if status == StatusCode::TOO_MANY_REQUESTS {
        r.headers_mut().insert("retry-after", "7".parse().unwrap());
    }
    r
}

async fn dispatch(State(s): State<Shared>, req: Request) -> Response {
    let method = req.method().to_string();
    let path = req.uri().path().to_string();
    let headers = req.headers().clone();
    let body = axum::body::to_bytes(req.into_body(), 64 << 20).await.unwrap_or_default();
    if s.record {
        s.requests.lock().unwrap().push(Recorded {
            method: method.clone(),
            path: path.clone(),
            headers: headers.iter().map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string())).collect(),
            body: String::from_utf8_lossy(&body).into_owned(),
        });
    }
    if let (Some(status), "POST", "/v1/chat/completions" | "/v1/messages" | "/v1/responses") =
        (s.fail_with, method.as_str(), path.as_str())
    {
        let message = format!("stand-in outage {status}");
        let mut r = if path == "/v1/messages" {
            let kind = if status == 529 {
                "overloaded_error"
            } else if status == 429 {
                "rate_limit_error"
            } else {
                "api_error"
            };
            (
                StatusCode::from_u16(status).unwrap(),
                Json(json!({"type": "error", "error": {"type": kind, "message": message}})),
            )
                .into_response()
        } else {
            error(status, &message, "server_error")
        };
        r.headers_mut().remove("retry-after");
        if let Some(ra) = s.retry_after {
            r.headers_mut().insert("retry-after", ra.to_string().parse().unwrap());
        }
        if let Some(v) = s.retry_after_header.as_deref().and_then(|v| v.parse().ok()) {
            r.headers_mut().insert("retry-after", v);
        }
        return r;
    }
    if let (Some(chunks), "POST", "/v1/chat/completions" | "/v1/messages" | "/v1/responses") =
        (&s.raw_stream, method.as_str(), path.as_str())
    {
        let chunks = chunks.clone();
        let body = stream::iter(chunks.into_iter().map(Ok::<_, std::io::Error>));
        return Response::builder()
            .status(200)
            .header("content-type", "text/event-stream")
            .body(Body::from_stream(body))
            .unwrap();
    }
    // Anthropic's endpoints check their own key headers and answer with their own error bodies.
    match (method.as_str(), path.as_str()) {
        ("POST", "/v1/messages") => {
            return anthropic::messages(&headers, &body, s.require_key.as_deref(), s.dropped.clone()).await
        }
        ("POST", "/v1/messages/count_tokens") => {
            return anthropic::count_tokens(&headers, &body, s.require_key.as_deref())
        }
        _ => {}
    }
    if let Some(key) = &s.require_key {
        let ok = headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(format!("Bearer {key}").as_str());
        if !ok {
            return error(401, "Incorrect API key provided.", "invalid_request_error");
        }
    }
    match (method.as_str(), path.as_str()) {
        ("POST", "/v1/chat/completions") => match roles::answer(&body, &s.judge_calls).await {
            Some(r) => r,
            None => match follower::answer(&body, s.dropped.clone()) {
                Some(r) => r,
                None => chat(&headers, &body, s.dropped.clone(), s.split_done).await,
            },
        },
        ("GET", "/v1/models") => Json(json!({"object": "list", "data": [
            {"id": "standin-small", "object": "model", "created": CREATED, "owned_by": "standin"},
            {"id": "standin-large", "object": "model", "created": CREATED, "owned_by": "standin"},
            {"id": "standin-judge", "object": "model", "created": CREATED, "owned_by": "standin"},
            {"id": "standin-follower", "object": "model", "created": CREATED, "owned_by": "standin"}]}))
        .into_response(),
        ("POST", "/v1/embeddings") => embeddings(&body),
        ("POST", "/v1/responses") if !s.chat_only => responses::create(&body, s.dropped.clone()).await,
        _ => error(404, &format!("Unknown request URL: {method} {path}"), "invalid_request_error"),
    }
}

/// Words the stand-in's "embedding model" treats as meaning the same thing, so tests can show
/// semantic matches that share no word.
const CONCEPTS: &[(&str, &str)] = &[
    ("automobile", "car"),
    ("vehicle", "car"),
    ("sluggish", "slow"),
    ("laggy", "slow"),
    ("snappier", "slow"),
    ("invoice", "bill"),
    ("receipt", "bill"),
];

/// `POST /v1/embeddings`: a deterministic bag-of-concepts vector (64 dimensions, unit length)
/// per input. `[[embed_status:N]]` in an input fails the call; `[[embed_delay_ms:N]]` delays it.
fn embeddings(body: &Bytes) -> Response {
    let Ok(req) = serde_json::from_slice::<Value>(body) else {
        return error(400, "We could not parse the JSON body of your request.", "invalid_request_error");
    };
    let inputs: Vec<String> = match &req["input"] {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect(),
        _ => return error(400, "'input' is a required property", "invalid_request_error"),
    };
    if let Some(status) = inputs.iter().find_map(|i| directive(i, "embed_status")) {
        return error(status as u16, &format!("stand-in error {status}"), "server_error");
    }
    if let Some(ms) = inputs.iter().find_map(|i| directive(i, "embed_delay_ms")) {
        std::thread::sleep(Duration::from_millis(ms));
    }
    let data: Vec<Value> = inputs
        .iter()
        .enumerate()
        .map(|(i, text)| {
            let mut v = [0f32; 64];
            for w in text.split(|c: char| !c.is_alphanumeric()).filter(|w| w.len() > 2) {
                let w = w.to_lowercase();
                let w = w.trim_end_matches('s');
                let canon = CONCEPTS.iter().find(|(k, _)| *k == w).map(|(_, c)| *c).unwrap_or(w);
                v[(fnv(canon.as_bytes()) % 64) as usize] += 1.0;
            }
            let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-6);
            json!({"object": "embedding", "index": i, "embedding": v.iter().map(|x| x / norm).collect::<Vec<_>>()})
        })
        .collect();
    Json(json!({"object": "list", "data": data, "model": req["model"], "usage": {"prompt_tokens": 1, "total_tokens": 1}}))
        .into_response()
}

/// Directives found in the last user message.
#[derive(Debug, Default)]
pub(crate) struct Script {
    pub(crate) status: Option<u16>,
    pub(crate) delay_ms: u64,
    pub(crate) tool: bool,
    pub(crate) reasoning: bool,
    pub(crate) chunk_delay_ms: u64,
    pub(crate) stream_break: bool,
    pub(crate) stall_ms: u64,
    pub(crate) garbage: bool,
}

fn directive(text: &str, name: &str) -> Option<u64> {
    let start = text.find(&format!("[[{name}:"))? + name.len() + 3;
    let end = text[start..].find("]]")? + start;
    text[start..end].trim().parse().ok()
}

pub(crate) fn script(text: &str) -> Script {
    Script {
        status: directive(text, "status").map(|s| s as u16),
        delay_ms: directive(text, "delay_ms").unwrap_or(0),
        tool: text.contains("[[tool]]"),
        reasoning: text.contains("[[reasoning]]"),
        chunk_delay_ms: directive(text, "chunk_delay_ms").unwrap_or(0),
        stream_break: text.contains("[[stream_break]]"),
        stall_ms: directive(text, "stall_ms").unwrap_or(0),
        garbage: text.contains("[[garbage]]"),
    }
}

fn text_of(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts.iter().filter_map(|p| p["text"].as_str()).collect::<Vec<_>>().join(" "),
        _ => String::new(),
    }
}

/// FNV-1a, for reproducible ids.
pub(crate) fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf29ce484222325u64, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x100000001b3))
}

pub(crate) fn words(s: &str) -> i64 {
    s.split_whitespace().count() as i64
}

async fn chat(_headers: &HeaderMap, body: &Bytes, dropped: Arc<AtomicUsize>, split_done: Option<Duration>) -> Response {
    let Ok(req) = serde_json::from_slice::<Value>(body) else {
        return error(400, "We could not parse the JSON body of your request.", "invalid_request_error");
    };
    let Some(messages) = req["messages"].as_array() else {
        return error(400, "'messages' is a required property", "invalid_request_error");
    };
    let last_user =
        messages.iter().rev().find(|m| m["role"] == "user").map(|m| text_of(&m["content"])).unwrap_or_default();
    let sc = script(&last_user);
    if sc.delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(sc.delay_ms)).await;
    }
    if let Some(status) = sc.status {
        return error(
            status,
            &format!("stand-in error {status}"),
            if status == 429 { "rate_limit_error" } else { "server_error" },
        );
    }
    if sc.garbage {
        return (StatusCode::OK, "<html>not json</html>").into_response();
    }
    let model = req["model"].as_str().unwrap_or("standin-small").to_string();
    let id = format!("chatcmpl-{:016x}", fnv(body));
    let reply = format!("Echo: {}", last_user.replace("[[", "(").replace("]]", ")"));
    let prompt_tokens: i64 = messages.iter().map(|m| words(&text_of(&m["content"]))).sum();
    let tool = sc.tool.then(|| {
        let name = req["tools"][0]["function"]["name"].as_str().unwrap_or("get_weather").to_string();
        (format!("call_{:08x}", fnv(id.as_bytes()) as u32), name)
    });
    let reasoning = sc.reasoning.then(|| "The user wants an answer; I will echo.".to_string());
    let completion_tokens = if tool.is_some() { 5 } else { words(&reply) };
    let usage = json!({"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens, "total_tokens": prompt_tokens + completion_tokens});

    if req["stream"] == true {
        let include_usage = req["stream_options"]["include_usage"] == true;
        let plan = StreamPlan { id, model, reply, tool, reasoning, usage: include_usage.then_some(usage), script: sc };
        return stream_response(plan, dropped, split_done);
    }

    let mut message = json!({"role": "assistant", "content": reply, "refusal": null});
    if let Some(r) = &reasoning {
        message["reasoning_content"] = json!(r);
    }
    let finish = if let Some((call_id, name)) = &tool {
        message["content"] = Value::Null;
        message["tool_calls"] = json!([{"id": call_id, "type": "function", "function": {"name": name, "arguments": "{\"city\":\"Paris\"}"}}]);
        "tool_calls"
    } else {
        "stop"
    };
    Json(json!({
        "id": id, "object": "chat.completion", "created": CREATED, "model": model,
        "system_fingerprint": "fp_standin",
        "choices": [{"index": 0, "message": message, "logprobs": null, "finish_reason": finish}],
        "usage": usage,
        "x_standin_extra": {"kept": true}
    }))
    .into_response()
}

struct StreamPlan {
    id: String,
    model: String,
    reply: String,
    tool: Option<(String, String)>,
    reasoning: Option<String>,
    usage: Option<Value>,
    script: Script,
}

/// Counts a stream as dropped unless it reached its end.
pub(crate) struct DropWatch {
    pub(crate) finished: bool,
    pub(crate) dropped: Arc<AtomicUsize>,
}

impl DropWatch {
    pub(crate) fn finish(mut self) {
        self.finished = true;
    }
}

impl Drop for DropWatch {
    fn drop(&mut self) {
        if !self.finished {
            self.dropped.fetch_add(1, Ordering::SeqCst);
        }
    }
}

fn stream_response(p: StreamPlan, dropped: Arc<AtomicUsize>, split_done: Option<Duration>) -> Response {
    let chunk = |delta: Value, finish: Option<&str>, with_usage_null: bool| {
        let mut c = json!({"id": p.id, "object": "chat.completion.chunk", "created": CREATED, "model": p.model,
            "system_fingerprint": "fp_standin",
            "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]});
        if with_usage_null {
            c["usage"] = Value::Null;
        }
        format!("data: {c}\n\n")
    };
    let u = p.usage.is_some();
    let mut events = vec![chunk(json!({"role": "assistant", "content": ""}), None, u)];
    if let Some(r) = &p.reasoning {
        events.push(chunk(json!({"reasoning_content": r}), None, u));
    }
    let finish = if let Some((call_id, name)) = &p.tool {
        events.push(chunk(json!({"tool_calls": [{"index": 0, "id": call_id, "type": "function", "function": {"name": name, "arguments": ""}}]}), None, u));
        for piece in ["{\"city\"", ":\"Par", "is\"}"] {
            events.push(chunk(json!({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}), None, u));
        }
        "tool_calls"
    } else {
        let words: Vec<&str> = p.reply.split_inclusive(' ').collect();
        for w in words {
            events.push(chunk(json!({"content": w}), None, u));
        }
        "stop"
    };
    events.push(chunk(json!({}), Some(finish), u));
    if let Some(usage) = &p.usage {
        let c = json!({"id": p.id, "object": "chat.completion.chunk", "created": CREATED, "model": p.model,
            "system_fingerprint": "fp_standin", "choices": [], "usage": usage});
        events.push(format!("data: {c}\n\n"));
    }
    events.push("data: [DONE]\n\n".to_string());

    sse_response_ending(events, p.script, dropped, split_done)
}

/// Sends `events` as `text/event-stream`, paced, stalled or broken as the script says, counting
/// an abandoned stream in `dropped`. Shared by the OpenAI and Anthropic sides.
pub(crate) fn sse_response(events: Vec<String>, sc: Script, dropped: Arc<AtomicUsize>) -> Response {
    sse_response_ending(events, sc, dropped, None)
}

/// [`sse_response`], with `end_gap` between the last event and the end of the body.
fn sse_response_ending(
    events: Vec<String>,
    sc: Script,
    dropped: Arc<AtomicUsize>,
    end_gap: Option<Duration>,
) -> Response {
    let watch = DropWatch { finished: false, dropped };
    let body = stream::unfold((events.into_iter(), 0usize, watch), move |(mut it, n, mut watch)| async move {
        if n == usize::MAX {
            return None;
        }
        if sc.stream_break && n == 2 {
            // Let the headers and first events go out, as a network break mid-answer would.
            tokio::time::sleep(Duration::from_millis(100)).await;
            watch.finished = true;
            return Some((Err(std::io::Error::other("stand-in broke the stream")), (it, usize::MAX, watch)));
        }
        if n == 1 && sc.stall_ms > 0 {
            tokio::time::sleep(Duration::from_millis(sc.stall_ms)).await;
        }
        if n > 0 && sc.chunk_delay_ms > 0 {
            tokio::time::sleep(Duration::from_millis(sc.chunk_delay_ms)).await;
        }
        let Some(e) = it.next() else {
            if let Some(gap) = end_gap {
                tokio::time::sleep(gap).await;
            }
            watch.finish();
            return None;
        };
        Some((Ok::<_, std::io::Error>(Bytes::from(e)), (it, n + 1, watch)))
    });
    Response::builder()
        .status(200)
        .header("content-type", "text/event-stream; charset=utf-8")
        .header("cache-control", "no-cache")
        .body(Body::from_stream(body))
        .unwrap()
}
