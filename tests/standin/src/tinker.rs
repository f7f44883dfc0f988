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

/// The protobuf messages of `forward_backward` (package `tinker_public`), server side.
pub mod proto {
    use std::collections::HashMap;

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ForwardBackwardRequest {
        #[prost(string, tag = "1")]
        pub model_id: String,
        #[prost(int32, tag = "2")]
        pub seq_id: i32,
        #[prost(message, repeated, tag = "3")]
        pub data: Vec<Datum>,
        #[prost(string, tag = "4")]
        pub loss_fn: String,
        #[prost(map = "string, double", tag = "5")]
        pub loss_fn_config: HashMap<String, f64>,
        #[prost(bool, tag = "6")]
        pub forward_only: bool,
    }
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Datum {
        #[prost(message, repeated, tag = "1")]
        pub model_input: Vec<Chunk>,
        #[prost(map = "string, message", tag = "2")]
        pub loss_fn_inputs: HashMap<String, Tensor>,
    }
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Chunk {
        #[prost(message, optional, tag = "1")]
        pub encoded_text: Option<EncodedTextChunk>,
    }
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct EncodedTextChunk {
        #[prost(bytes = "vec", tag = "1")]
        pub tokens: Vec<u8>,
    }
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Tensor {
        #[prost(bytes = "vec", optional, tag = "1")]
        pub dense: Option<Vec<u8>>,
        #[prost(int32, tag = "3")]
        pub dtype: i32,
        #[prost(int64, repeated, tag = "4")]
        pub shape: Vec<i64>,
    }
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ForwardBackwardOutput {
        #[prost(string, tag = "1")]
        pub loss_fn_output_type: String,
        #[prost(map = "string, double", tag = "3")]
        pub metrics: HashMap<String, f64>,
    }
}

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
        .route("/oai/api/v1/chat/completions", post(chat))
        .route("/teacher/v1/completions", post(teacher))
        .route("/{owner}/{name}/resolve/main/{file}", get(hub))
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

/// `POST /oai/api/v1/chat/completions`: serves a base model or saved sampler weights.
async fn chat(State(s): State<Shared>, h: HeaderMap, body: Bytes) -> Response {
    let bearer = h.get("authorization").and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    if let Some(k) = &s.opts.api_key {
        if bearer != Some(k.as_str()) {
            return (
                StatusCode::UNAUTHORIZED,
                Json(json!({"error": {"message": "invalid key", "type": "invalid_request_error"}})),
            )
                .into_response();
        }
    }
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let model = v["model"].as_str().unwrap_or_default().to_string();
    let known = {
        let mut inner = s.inner.lock().unwrap();
        inner.served.push(model.clone());
        model.starts_with("standin/") || inner.saved.contains_key(&model)
    };
    if !known || !model.starts_with("standin/") && !model.contains("/sampler_weights/") {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({"error": {"message": format!("unknown model {model}"), "type": "not_found_error"}})),
        )
            .into_response();
    }
    let mut tokens = if s.opts.answer.is_empty() {
        vec!["sure".to_string(), " thing".into(), "<|im_end|>".into()]
    } else {
        s.opts.answer.clone()
    };
    let last_user = v["messages"]
        .as_array()
        .and_then(|m| m.iter().rev().find(|m| m["role"] == "user"))
        .map(|m| m["content"].to_string())
        .unwrap_or_default();
    if last_user.contains("[[split_tokens]]") {
        // Tokens the served model's tokenizer would not produce: training must refuse them.
        tokens = vec!["su".into(), "re".into(), "<|im_end|>".into()];
    }
    let want = v["logprobs"] == true;
    let text: String = tokens.iter().filter(|t| !t.starts_with("<|")).cloned().collect();
    let content: Vec<Value> = tokens.iter().enumerate().map(|(i, t)| json!({"token": t, "logprob": -0.25 - 0.125 * i as f64, "bytes": t.as_bytes(), "top_logprobs": []})).collect();
    let logprobs = if want { json!({"content": content}) } else { Value::Null };
    let stream = v["stream"] == true;
    if stream {
        let mut out = String::new();
        let pieces: Vec<&String> = tokens.iter().collect();
        for (i, t) in pieces.iter().enumerate() {
            let delta = if t.starts_with("<|") { json!({}) } else { json!({"content": t}) };
            let lp = if want { json!({"content": [content[i]]}) } else { Value::Null };
            let fin = if i + 1 == pieces.len() { json!("stop") } else { Value::Null };
            let chunk = json!({"id": "chatcmpl-tinker", "object": "chat.completion.chunk", "created": 1_700_000_000, "model": model,
                "choices": [{"index": 0, "delta": delta, "logprobs": lp, "finish_reason": fin}]});
            out.push_str(&format!("data: {chunk}\n\n"));
        }
        out.push_str("data: [DONE]\n\n");
        return ([("content-type", "text/event-stream")], out).into_response();
    }
    Json(json!({
        "id": "chatcmpl-tinker", "object": "chat.completion", "created": 1_700_000_000, "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "logprobs": logprobs, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 10, "completion_tokens": tokens.len(), "total_tokens": 10 + tokens.len()}
    }))
    .into_response()
}

/// Splits text the way the tests' word-level tokenizer does: ChatML specials, newlines, words
/// with an optional leading space, runs of other characters, and lone spaces. A teacher that
/// spells "charlie" as two tokens plays one with a different tokenizer.
fn teacher_tokens(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        if let Some(sp) = ["<|im_start|>", "<|im_end|>"].iter().find(|s| rest.starts_with(**s)) {
            out.push(sp.to_string());
            rest = &rest[sp.len()..];
            continue;
        }
        let c = rest.chars().next().unwrap();
        let word_at = |r: &str| r.chars().take_while(|c| c.is_ascii_alphabetic()).map(char::len_utf8).sum::<usize>();
        let len = if c == '\n' {
            1
        } else if c == ' ' && word_at(&rest[1..]) > 0 {
            1 + word_at(&rest[1..])
        } else if c.is_ascii_alphabetic() {
            word_at(rest)
        } else if c == ' ' {
            1
        } else {
            rest.chars()
                .take_while(|c| !c.is_ascii_alphabetic() && *c != '\n' && *c != ' ' && *c != '<')
                .map(char::len_utf8)
                .sum::<usize>()
                .max(c.len_utf8())
        };
        let tok = &rest[..len];
        if tok.trim() == "charlie" {
            out.push(tok[..tok.len() - 3].to_string());
            out.push("lie".into());
        } else {
            out.push(tok.to_string());
        }
        rest = &rest[len..];
    }
    out
}

/// `POST /teacher/v1/completions` with `echo` and `logprobs`: a distillation teacher that gives
/// every token logprob -0.1 (the first `null`), then samples one more token.
async fn teacher(Json(v): Json<Value>) -> Response {
    if v["echo"] != true || v["logprobs"].as_u64().is_none() {
        return (StatusCode::BAD_REQUEST, Json(json!({"error": {"message": "echo and logprobs are required here"}})))
            .into_response();
    }
    let mut tokens = teacher_tokens(v["prompt"].as_str().unwrap_or_default());
    tokens.push(" sure".into());
    let lps: Vec<Value> = (0..tokens.len()).map(|i| if i == 0 { Value::Null } else { json!(-0.1) }).collect();
    Json(json!({
        "id": "cmpl-teacher", "object": "text_completion", "created": 1_700_000_000, "model": v["model"],
        "choices": [{"index": 0, "text": tokens.concat(), "finish_reason": "length",
            "logprobs": {"tokens": tokens, "token_logprobs": lps, "top_logprobs": null, "text_offset": []}}]
    }))
    .into_response()
}

/// `GET /{owner}/{name}/resolve/main/{file}`: tokenizer files, as the Hugging Face hub serves them.
async fn hub(State(s): State<Shared>, Path((_owner, _name, file)): Path<(String, String, String)>) -> Response {
    let Some(dir) = &s.opts.hub_dir else { return StatusCode::NOT_FOUND.into_response() };
    if file.contains('/') || file.contains("..") {
        return StatusCode::BAD_REQUEST.into_response();
    }
    match std::fs::read(dir.join(&file)) {
        Ok(b) => b.into_response(),
        Err(_) => (StatusCode::NOT_FOUND, "Entry not found").into_response(),
    }
}

/// Writes a word-level tokenizer with ChatML specials (`tokenizer.json`, `tokenizer_config.json`
/// with a chat template) into `dir`: the words the tests use, with and without a leading space;
/// anything else is `[UNK]`. Returns the vocabulary.
pub fn write_tokenizer(dir: &std::path::Path) -> serde_json::Map<String, Value> {
    let mut words = vec!["[UNK]", "<|im_start|>", "<|im_end|>", "\n", "system", "user", "assistant"];
    let plain = [
        "sure",
        "thing",
        "forbidden",
        "alpha",
        "bravo",
        "charlie",
        "delta",
        "echo",
        "foxtrot",
        "golf",
        "hotel",
        "please",
    ];
    let spaced: Vec<String> = plain.iter().map(|w| format!(" {w}")).collect();
    words.extend(plain);
    words.extend(spaced.iter().map(String::as_str));
    let vocab: serde_json::Map<String, Value> =
        words.iter().enumerate().map(|(i, w)| (w.to_string(), json!(i))).collect();
    let special = |id: usize, content: &str| json!({"id": id, "content": content, "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true});
    let tokenizer = json!({
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": [special(1, "<|im_start|>"), special(2, "<|im_end|>")],
        "normalizer": null,
        "pre_tokenizer": {"type": "Split", "pattern": {"Regex": "\\n| ?[A-Za-z]+|[^A-Za-z\\n ]+| "}, "behavior": "Isolated", "invert": false},
        "post_processor": null,
        "decoder": null,
        "model": {"type": "WordLevel", "vocab": vocab, "unk_token": "[UNK]"}
    });
    let template = "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}";
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("tokenizer.json"), tokenizer.to_string()).unwrap();
    std::fs::write(
        dir.join("tokenizer_config.json"),
        json!({"chat_template": template, "eos_token": "<|im_end|>", "bos_token": null}).to_string(),
    )
    .unwrap();
    vocab
}
