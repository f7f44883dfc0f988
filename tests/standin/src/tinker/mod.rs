//! A stand-in for a Tinker-compatible training service, following Tinker's documented wire
//! format: `POST /api/v1/*` with `X-API-Key` (optionally traded for a JWT at
//! `/api/v1/auth/token` when `client/config` says `pjwt_auth_enabled`), submitted requests that
//! answer `{request_id}` and are collected through `retrieve_future` (which says `try_again`,
//! with a queue state, before the result), `forward_backward` as protobuf
//! (`tinker_public.ForwardBackwardRequest`) with a protobuf result, and the OpenAI-compatible
//! sampling endpoint under `/oai/api/v1` that serves base models and saved sampler weights, with
//! `logprobs`. It also plays a Hugging Face hub (`/{repo}/resolve/main/{file}`) for tokenizer
//! downloads.
//!
//! Training is simulated, but strictly: sequence numbers must increase, datums must be
//! well-formed, an optimiser step needs gradients, and every model keeps its *lineage* (the
//! batches applied to its weights), which save/load carry along. Tests read the lineage of the
//! adapter being served to prove that each turn was trained exactly once.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use prost::Message;
use serde_json::{json, Value};

pub mod proto;
mod sampling;
mod tokenizer;

pub use tokenizer::write_tokenizer;

/// One datum as received, decoded.
#[derive(Debug, Clone, PartialEq)]
pub struct Received {
    pub model_id: String,
    pub tokens: Vec<i32>,
    pub target: Vec<i64>,
    pub logprobs: Vec<f32>,
    pub advantages: Vec<f32>,
}

/// Options for [`spawn`].
#[derive(Debug, Clone, Default)]
pub struct TinkerOptions {
    /// Calls without `X-API-Key: <key>` (or the JWT traded for it) get 401.
    pub api_key: Option<String>,
    /// Ask clients to trade the key for a JWT first.
    pub jwt: bool,
    /// `try_again` answers before each future's result.
    pub pending_polls: usize,
    /// The first submit of each of these endpoints answers 503 once.
    pub fail_once: Vec<&'static str>,
    /// The first `save_weights_for_sampler` never finishes (its future stays pending).
    pub stall_first_sampler_save: bool,
    /// Take `forward_backward` only as JSON (an older server): protobuf gets 415.
    pub json_forward_backward: bool,
    /// The sampling endpoint returns no `logprobs`, even when asked.
    pub no_logprobs: bool,
    /// Folder with tokenizer files, served at `/{owner}/{name}/resolve/main/{file}`.
    pub hub_dir: Option<PathBuf>,
    /// What the sampling endpoint answers: the sampled tokens, in order (the text is their
    /// concatenation). Default: `["sure", " thing", "<|im_end|>"]`.
    pub answer: Vec<String>,
}

#[derive(Debug, Clone, Default)]
struct Model {
    base: String,
    last_seq: i32,
    /// Batches (each a list of datum fingerprints) applied to the weights, oldest first.
    lineage: Vec<Vec<u64>>,
    /// Gradients accumulated since the last optimiser step.
    pending: Vec<u64>,
}

struct Future {
    polls_left: usize,
    stalled: bool,
    held: bool,
    result: Result<Outcome, (String, String)>,
}

enum Outcome {
    Json(Value),
    Proto(Vec<u8>),
    /// A sampling result: the prompt's logprobs (protobuf `SampleResponse` or JSON).
    Sample(Vec<Option<f32>>),
}

#[derive(Default)]
struct Inner {
    sessions: usize,
    heartbeats: usize,
    models: HashMap<String, Model>,
    /// Saved states and sampler weights: path → lineage.
    saved: HashMap<String, (String, Vec<Vec<u64>>)>,
    futures: HashMap<String, Future>,
    next_id: usize,
    received: Vec<Received>,
    /// The `model` of every sampling request, in order.
    served: Vec<String>,
    failed_once: Vec<String>,
    sampler_saves: usize,
    ops: Vec<String>,
    /// JWTs handed out (a key alone is refused once JWTs are on).
    jwts: Vec<String>,
    /// Sampling sessions: id → the model they sample from.
    samplers: HashMap<String, String>,
}

#[derive(Clone)]
struct Shared {
    opts: Arc<TinkerOptions>,
    inner: Arc<Mutex<Inner>>,
    hold: Arc<AtomicBool>,
    polls: Arc<AtomicUsize>,
}

/// A running Tinker stand-in.
pub struct TinkerStandin {
    pub addr: SocketAddr,
    shared: Shared,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TinkerStandin {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TinkerStandin {
    /// The service's base URL (`[train] base_url`).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }
    /// Every datum received by `forward_backward`, in order.
    pub fn received(&self) -> Vec<Received> {
        self.shared.inner.lock().unwrap().received.clone()
    }
    /// The `model` of every sampling request, in order.
    pub fn served(&self) -> Vec<String> {
        self.shared.inner.lock().unwrap().served.clone()
    }
    /// The batches (datum fingerprints) baked into saved weights at `path`.
    pub fn lineage(&self, path: &str) -> Option<Vec<Vec<u64>>> {
        self.shared.inner.lock().unwrap().saved.get(path).map(|(_, l)| l.clone())
    }
    /// The endpoints called, in order (`create_model`, `forward_backward`, …).
    pub fn ops(&self) -> Vec<String> {
        self.shared.inner.lock().unwrap().ops.clone()
    }
    pub fn heartbeats(&self) -> usize {
        self.shared.inner.lock().unwrap().heartbeats
    }
    /// While on, `forward_backward` futures stay pending (a slow step).
    pub fn hold_forward_backward(&self, on: bool) {
        self.shared.hold.store(on, Ordering::SeqCst);
    }
    /// `retrieve_future` calls so far.
    pub fn polls(&self) -> usize {
        self.shared.polls.load(Ordering::SeqCst)
    }
}

/// A datum's fingerprint (FNV-1a over its tokens and targets).
pub fn fingerprint(tokens: &[i32], target: &[i64]) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in tokens.iter().flat_map(|t| t.to_le_bytes()).chain(target.iter().flat_map(|t| t.to_le_bytes())) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100000001b3);
    }
    h
}

pub async fn spawn(opts: TinkerOptions) -> std::io::Result<TinkerStandin> {
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    let addr = listener.local_addr()?;
    let shared =
        Shared { opts: Arc::new(opts), inner: Default::default(), hold: Default::default(), polls: Default::default() };
    let app = Router::new()
        .route("/api/v1/client/config", post(client_config))
        .route("/api/v1/auth/token", post(auth_token))
        .route("/api/v1/retrieve_future", post(retrieve))
        .route("/api/v1/training_runs/{id}/checkpoints", get(checkpoints))
        .route("/api/v1/{op}", post(api))
        .route("/oai/api/v1/chat/completions", post(sampling::chat))
        .route("/teacher/v1/completions", post(sampling::teacher))
        .route("/{owner}/{name}/resolve/main/{file}", get(sampling::hub))
        .with_state(shared.clone());
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(TinkerStandin { addr, shared, task })
}

fn jwt_for(key: &str) -> String {
    // Not signed: a stand-in. The payload carries `exp` as Tinker's does.
    let exp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() + 3600;
    let payload = format!("{{\"sub\":\"{}\",\"exp\":{exp}}}", key.len());
    format!("eyJhbGciOiJub25lIn0.{}.sig", b64url(payload.as_bytes()))
}

fn b64url(bytes: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for c in bytes.chunks(3) {
        let n =
            (u32::from(c[0]) << 16) | (u32::from(*c.get(1).unwrap_or(&0)) << 8) | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..=c.len() {
            out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

fn unauthorized() -> Response {
    (StatusCode::UNAUTHORIZED, Json(json!({"detail": "invalid API key"}))).into_response()
}

fn authorised(s: &Shared, h: &HeaderMap) -> bool {
    let Some(key) = &s.opts.api_key else { return true };
    let sent = h.get("x-api-key").and_then(|v| v.to_str().ok()).unwrap_or_default();
    if s.opts.jwt {
        s.inner.lock().unwrap().jwts.iter().any(|j| j == sent)
    } else {
        sent == key
    }
}

async fn client_config(State(s): State<Shared>) -> Json<Value> {
    Json(json!({"pjwt_auth_enabled": s.opts.jwt}))
}

async fn auth_token(State(s): State<Shared>, h: HeaderMap) -> Response {
    match &s.opts.api_key {
        Some(k) if h.get("x-api-key").and_then(|v| v.to_str().ok()) == Some(k.as_str()) => {
            let jwt = jwt_for(k);
            s.inner.lock().unwrap().jwts.push(jwt.clone());
            Json(json!({"jwt": jwt})).into_response()
        }
        _ => unauthorized(),
    }
}

fn user_error(m: impl Into<String>) -> Result<Outcome, (String, String)> {
    Err(("user".into(), m.into()))
}

fn le<T: Copy, const N: usize>(b: &[u8], f: fn([u8; N]) -> T) -> Vec<T> {
    b.chunks_exact(N).map(|c| f(c.try_into().unwrap())).collect()
}

async fn api(State(s): State<Shared>, Path(op): Path<String>, h: HeaderMap, body: Bytes) -> Response {
    if !authorised(&s, &h) {
        return unauthorized();
    }
    let mut inner = s.inner.lock().unwrap();
    inner.ops.push(op.clone());
    if s.opts.fail_once.contains(&op.as_str()) && !inner.failed_once.contains(&op) {
        inner.failed_once.push(op.clone());
        return (StatusCode::SERVICE_UNAVAILABLE, Json(json!({"detail": "overloaded, try again"}))).into_response();
    }
    let proto = h.get("content-type").and_then(|v| v.to_str().ok()) == Some("application/x-protobuf");
    let v: Value = if proto { Value::Null } else { serde_json::from_slice(&body).unwrap_or(Value::Null) };
    let (mut held, mut stalled) = (false, false);
    let result = match op.as_str() {
        "create_sampling_session" => {
            let model = v["model_path"].as_str().or(v["base_model"].as_str()).unwrap_or_default().to_string();
            let known = inner.saved.contains_key(&model) && model.contains("/sampler_weights/")
                || model.starts_with("standin/") && v["model_path"].is_null();
            if !known {
                return (
                    StatusCode::NOT_FOUND,
                    Json(json!({"detail": format!("no sampler weights or base model {model:?}")})),
                )
                    .into_response();
            }
            let id = format!("{}:sample:{}", v["session_id"].as_str().unwrap_or_default(), inner.samplers.len());
            inner.samplers.insert(id.clone(), model);
            return Json(json!({"sampling_session_id": id, "type": "create_sampling_session"})).into_response();
        }
        "asample" => {
            let sampler = v["sampling_session_id"].as_str().unwrap_or_default();
            let tokens = v["prompt"]["chunks"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|c| c["tokens"].as_array().cloned().unwrap_or_default())
                .count();
            if !inner.samplers.contains_key(sampler) {
                user_error(format!("unknown sampling session {sampler:?}"))
            } else if v["prompt_logprobs"] != true || tokens == 0 {
                user_error("this stand-in only computes prompt logprobs")
            } else {
                // The first token has no logprob; every other one scores -0.5.
                Ok(Outcome::Sample((0..tokens).map(|i| (i > 0).then_some(-0.5)).collect()))
            }
        }
        "create_session" => {
            inner.sessions += 1;
            return Json(json!({"session_id": format!("session-{}", inner.sessions), "type": "create_session"}))
                .into_response();
        }
        "session_heartbeat" => {
            inner.heartbeats += 1;
            return Json(json!({"type": "session_heartbeat"})).into_response();
        }
        "create_model" => {
            let (Some(session), Some(base)) = (v["session_id"].as_str(), v["base_model"].as_str()) else {
                return (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    Json(json!({"detail": "session_id and base_model are required"})),
                )
                    .into_response();
            };
            if v["lora_config"]["rank"].as_u64().is_none() {
                return (StatusCode::UNPROCESSABLE_ENTITY, Json(json!({"detail": "lora_config.rank is required"})))
                    .into_response();
            }
            let id = format!("{session}:train:{}", inner.models.len());
            inner.models.insert(id.clone(), Model { base: base.into(), ..Default::default() });
            Ok(Outcome::Json(json!({"model_id": id, "type": "create_model"})))
        }
        "forward_backward" => {
            if proto == s.opts.json_forward_backward {
                let want = if proto { "JSON" } else { "application/x-protobuf" };
                return (
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    Json(json!({"detail": format!("forward_backward takes {want}")})),
                )
                    .into_response();
            }
            held = s.hold.load(Ordering::SeqCst);
            let req = if proto {
                proto::ForwardBackwardRequest::decode(body.as_ref())
                    .map_err(|e| format!("not a ForwardBackwardRequest: {e}"))
            } else {
                request_from_json(&v)
            };
            match req {
                Err(e) => user_error(e),
                Ok(req) => forward_backward(&mut inner, req),
            }
        }
        "optim_step" => with_model(&mut inner, &v, |m| {
            if m.pending.is_empty() {
                return user_error("optim_step without gradients");
            }
            if v["adam_params"]["learning_rate"].as_f64().is_none_or(|lr| lr <= 0.0) {
                return user_error("adam_params.learning_rate must be positive");
            }
            let batch = std::mem::take(&mut m.pending);
            m.lineage.push(batch);
            Ok(Outcome::Json(json!({"metrics": {}})))
        }),
        "save_weights" | "save_weights_for_sampler" => {
            let kind = if op == "save_weights" { "weights" } else { "sampler_weights" };
            if kind == "sampler_weights" {
                inner.sampler_saves += 1;
                stalled = s.opts.stall_first_sampler_save && inner.sampler_saves == 1;
            }
            let name = v["path"].as_str().unwrap_or_default().to_string();
            let id = v["model_id"].as_str().unwrap_or_default().to_string();
            let r = with_model(&mut inner, &v, |m| Ok(Outcome::Json(json!({"lineage": m.lineage, "base": m.base}))));
            match r {
                Ok(Outcome::Json(state)) if !name.is_empty() => {
                    let path = format!("tinker://{id}/{kind}/{name}");
                    if inner.saved.contains_key(&path) && kind == "weights" {
                        user_error(format!("{path} exists"))
                    } else {
                        let lineage = serde_json::from_value(state["lineage"].clone()).unwrap();
                        inner.saved.insert(path.clone(), (state["base"].as_str().unwrap().into(), lineage));
                        Ok(Outcome::Json(json!({"path": path, "type": op})))
                    }
                }
                Ok(_) => user_error("path (a name) is required"),
                Err(e) => Err(e),
            }
        }
        "load_weights" => {
            let path = v["path"].as_str().unwrap_or_default().to_string();
            match inner.saved.get(&path).cloned() {
                None => user_error(format!("no checkpoint {path}")),
                Some(_) if !path.contains("/weights/") => user_error("load_weights takes a state, not sampler weights"),
                Some((base, lineage)) => with_model(&mut inner, &v, |m| {
                    if m.last_seq != 1 || !m.lineage.is_empty() {
                        return user_error("load_weights must be a model's first request");
                    }
                    if m.base != base {
                        return user_error("the checkpoint is of another base model");
                    }
                    m.lineage = lineage;
                    Ok(Outcome::Json(json!({"path": path, "type": "load_weights"})))
                }),
            }
        }
        _ => return (StatusCode::NOT_FOUND, Json(json!({"detail": format!("unknown endpoint {op}")}))).into_response(),
    };
    inner.next_id += 1;
    let request_id = format!("req-{}", inner.next_id);
    inner.futures.insert(request_id.clone(), Future { polls_left: s.opts.pending_polls, stalled, held, result });
    Json(json!({"request_id": request_id, "model_id": v["model_id"]})).into_response()
}

/// The JSON form older SDKs send (`forward_backward_input` with `TensorData` lists), as the
/// protobuf request.
fn request_from_json(v: &Value) -> Result<proto::ForwardBackwardRequest, String> {
    let input = &v["forward_backward_input"];
    let data = input["data"].as_array().ok_or("forward_backward_input.data is required")?;
    let mut out = Vec::new();
    for d in data {
        let tokens: Vec<u8> = d["model_input"]["chunks"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|c| c["tokens"].as_array().cloned().unwrap_or_default())
            .flat_map(|t| (t.as_i64().unwrap_or(-1) as i32).to_le_bytes())
            .collect();
        let mut inputs = HashMap::new();
        for (k, t) in d["loss_fn_inputs"].as_object().ok_or("loss_fn_inputs is required")? {
            let values = t["data"].as_array().ok_or(format!("{k}.data is required"))?;
            let (dtype, dense): (i32, Vec<u8>) = match t["dtype"].as_str() {
                Some("int64") => (2, values.iter().flat_map(|x| x.as_i64().unwrap_or(0).to_le_bytes()).collect()),
                Some("float32") => {
                    (1, values.iter().flat_map(|x| (x.as_f64().unwrap_or(0.0) as f32).to_le_bytes()).collect())
                }
                other => return Err(format!("{k}: dtype {other:?}")),
            };
            let shape = t["shape"].as_array().map(|s| s.iter().filter_map(Value::as_i64).collect()).unwrap_or_default();
            inputs.insert(k.clone(), proto::Tensor { dense: Some(dense), dtype, shape });
        }
        out.push(proto::Datum {
            model_input: vec![proto::Chunk { encoded_text: Some(proto::EncodedTextChunk { tokens }) }],
            loss_fn_inputs: inputs,
        });
    }
    Ok(proto::ForwardBackwardRequest {
        model_id: v["model_id"].as_str().unwrap_or_default().into(),
        seq_id: v["seq_id"].as_i64().unwrap_or(0) as i32,
        data: out,
        loss_fn: input["loss_fn"].as_str().unwrap_or_default().into(),
        ..Default::default()
    })
}

/// Checks the model and the request's sequence number, then runs `f` on the model.
fn with_model(
    inner: &mut Inner,
    v: &Value,
    f: impl FnOnce(&mut Model) -> Result<Outcome, (String, String)>,
) -> Result<Outcome, (String, String)> {
    let id = v["model_id"].as_str().unwrap_or_default();
    let seq = v["seq_id"].as_i64().unwrap_or(0) as i32;
    let Some(m) = inner.models.get_mut(id) else { return user_error(format!("unknown model {id:?}")) };
    if seq <= m.last_seq {
        return user_error(format!("seq_id {seq} is not after {}", m.last_seq));
    }
    m.last_seq = seq;
    f(m)
}

fn forward_backward(inner: &mut Inner, req: proto::ForwardBackwardRequest) -> Result<Outcome, (String, String)> {
    if !["importance_sampling", "ppo", "cispo", "cross_entropy"].contains(&req.loss_fn.as_str()) {
        return user_error(format!("unknown loss_fn {:?}", req.loss_fn));
    }
    let mut got = Vec::new();
    for (i, d) in req.data.iter().enumerate() {
        let tokens: Vec<i32> = d
            .model_input
            .iter()
            .filter_map(|c| c.encoded_text.as_ref())
            .flat_map(|c| le(&c.tokens, i32::from_le_bytes))
            .collect();
        for k in d.loss_fn_inputs.keys() {
            if !["target_tokens", "logprobs", "advantages", "weights"].contains(&k.as_str()) {
                return user_error(format!("datum {i}: unknown loss_fn_inputs key {k:?}"));
            }
        }
        let field =
            |k: &str| d.loss_fn_inputs.get(k).and_then(|t| t.dense.clone().map(|b| (t.dtype, b, t.shape.clone())));
        let (Some((2, tgt, ts)), Some((1, lp, _)), Some((1, adv, _))) =
            (field("target_tokens"), field("logprobs"), field("advantages"))
        else {
            return user_error(format!(
                "datum {i}: target_tokens (int64), logprobs and advantages (float32) are required"
            ));
        };
        let r = Received {
            model_id: req.model_id.clone(),
            target: le(&tgt, i64::from_le_bytes),
            logprobs: le(&lp, f32::from_le_bytes),
            advantages: le(&adv, f32::from_le_bytes),
            tokens,
        };
        let n = r.tokens.len();
        if n == 0 || r.target.len() != n || r.logprobs.len() != n || r.advantages.len() != n || ts != [n as i64] {
            return user_error(format!(
                "datum {i}: lengths differ (input {n}, target {}, logprobs {}, advantages {})",
                r.target.len(),
                r.logprobs.len(),
                r.advantages.len()
            ));
        }
        if r.tokens[1..] != r.target[..n - 1].iter().map(|t| *t as i32).collect::<Vec<_>>() {
            return user_error(format!("datum {i}: targets are not the inputs shifted by one"));
        }
        got.push(r);
    }
    let v = json!({"model_id": req.model_id, "seq_id": req.seq_id});
    let loss: f64 = got.iter().flat_map(|r| r.advantages.iter()).map(|a| f64::from(a.abs()) * 0.5).sum();
    let prints: Vec<u64> = got.iter().map(|r| fingerprint(&r.tokens, &r.target)).collect();
    let out = with_model(inner, &v, |m| {
        m.pending.extend(prints);
        Ok(Outcome::Proto(
            proto::ForwardBackwardOutput {
                loss_fn_output_type: "scalar".into(),
                metrics: HashMap::from([("loss:sum".to_string(), loss)]),
            }
            .encode_to_vec(),
        ))
    });
    if out.is_ok() {
        inner.received.extend(got);
    }
    out
}

async fn retrieve(State(s): State<Shared>, h: HeaderMap, Json(v): Json<Value>) -> Response {
    if !authorised(&s, &h) {
        return unauthorized();
    }
    s.polls.fetch_add(1, Ordering::SeqCst);
    let id = v["request_id"].as_str().unwrap_or_default().to_string();
    let mut inner = s.inner.lock().unwrap();
    let Some(f) = inner.futures.get_mut(&id) else {
        return (StatusCode::NOT_FOUND, Json(json!({"detail": format!("unknown request {id}")}))).into_response();
    };
    if f.held && s.hold.load(Ordering::SeqCst) || f.stalled {
        return Json(json!({"type": "try_again", "request_id": id, "queue_state": "active"})).into_response();
    }
    if f.polls_left > 0 {
        f.polls_left -= 1;
        let state = if f.polls_left % 2 == 0 { "active" } else { "paused_capacity" };
        return Json(json!({"type": "try_again", "request_id": id, "queue_state": state})).into_response();
    }
    let f = inner.futures.remove(&id).unwrap();
    let proto = h.get("accept").and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("application/x-protobuf"));
    match f.result {
        Ok(Outcome::Json(v)) => Json(v).into_response(),
        Ok(Outcome::Proto(b)) if proto => ([("content-type", "application/x-protobuf")], b).into_response(),
        Ok(Outcome::Sample(lps)) if proto => {
            let bytes = lps.iter().flat_map(|x| x.unwrap_or(f32::NAN).to_le_bytes()).collect();
            (
                [("content-type", "application/x-protobuf")],
                proto::SampleResponse { prompt_logprobs: Some(bytes) }.encode_to_vec(),
            )
                .into_response()
        }
        Ok(Outcome::Sample(lps)) => {
            Json(json!({"prompt_logprobs": lps, "sequences": [], "type": "sample"})).into_response()
        }
        Ok(Outcome::Proto(b)) => {
            let out = proto::ForwardBackwardOutput::decode(b.as_slice()).unwrap();
            Json(json!({"loss_fn_output_type": out.loss_fn_output_type, "loss_fn_outputs": [], "metrics": out.metrics}))
                .into_response()
        }
        Err((category, message)) => Json(json!({"error": message, "category": category})).into_response(),
    }
}

async fn checkpoints(State(s): State<Shared>, Path(id): Path<String>, h: HeaderMap) -> Response {
    if !authorised(&s, &h) {
        return unauthorized();
    }
    let inner = s.inner.lock().unwrap();
    let list: Vec<Value> = inner
        .saved
        .keys()
        .filter(|p| p.starts_with(&format!("tinker://{id}/")))
        .map(|p| {
            let rest = p.trim_start_matches(&format!("tinker://{id}/"));
            let kind = if rest.starts_with("weights/") { "training" } else { "sampler" };
            json!({"checkpoint_id": rest, "checkpoint_type": kind, "tinker_path": p, "time": "2026-11-25T00:00:00Z", "public": false})
        })
        .collect();
    Json(json!({"checkpoints": list})).into_response()
}
