//! Sessions and training runs on the service: `create_session` with its heartbeat,
//! `create_model` (and `load_weights` to resume), and the run's calls — `forward_backward`
//! (protobuf, chunked under the service's limits, JSON for servers that refuse protobuf),
//! `optim_step`, the saves — each numbered by the model's sequence counter.

use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use prost::Message;
use serde_json::{json, Value};

use super::{message_of, network, Body, Outcome, Tinker, SDK_VERSION};
use crate::config::Loss;
use crate::train::backend::{AdamParams, Backend, BackendError, Datum, FwdBwd, RemoteCheckpoint, Result, Trainer};
use crate::train::wire;

/// Datums per `forward_backward` request, and bytes, at most (the service's chunk limits).
const MAX_CHUNK_DATUMS: usize = 1024;
const MAX_CHUNK_BYTES: usize = 5_000_000;
const HEARTBEAT_EVERY: Duration = Duration::from_secs(10);

impl Backend for Arc<Tinker> {
    fn checkpoints<'a>(&'a self, training_run: &'a str) -> BoxFuture<'a, Result<Vec<RemoteCheckpoint>>> {
        async move {
            let op = "list checkpoints";
            self.handshake().await?;
            let mut rb = self.http.get(self.url(&format!("training_runs/{training_run}/checkpoints")));
            if let Some(k) = self.credential().await? {
                rb = rb.header("X-API-Key", k);
            }
            let resp = rb.send().await.map_err(|e| network(op, e))?;
            let status = resp.status();
            let body: Value = resp.json().await.unwrap_or(Value::Null);
            match status.as_u16() {
                200..=299 => serde_json::from_value(body.get("checkpoints").cloned().unwrap_or(json!([])))
                    .map_err(|e| BackendError::Protocol { op, message: e.to_string() }),
                401 | 403 => Err(BackendError::Auth(message_of(&body, status))),
                _ => Err(BackendError::Rejected { op, message: message_of(&body, status) }),
            }
        }
        .boxed()
    }

    fn open<'a>(
        &'a self,
        base_model: &'a str,
        rank: u32,
        from: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Box<dyn Trainer>>> {
        async move {
            self.handshake().await?;
            let s = self
                .call(
                    "create session",
                    "create_session",
                    Body::Json(json!({"tags": ["metaclaw"], "user_metadata": {}, "sdk_version": SDK_VERSION, "type": "create_session"})),
                    None,
                )
                .await?;
            let session = s.get("session_id").and_then(Value::as_str).ok_or_else(|| BackendError::Protocol {
                op: "create session",
                message: format!("no session_id in {s}"),
            })?;
            let heartbeat = tokio::spawn(heartbeat(self.clone(), session.to_string()));
            let guard = Heartbeat(heartbeat);
            let body = json!({
                "session_id": session, "model_seq_id": 0, "base_model": base_model,
                "lora_config": {"rank": rank, "train_unembed": true, "train_mlp": true, "train_attn": true},
                "type": "create_model",
            });
            let created = self.submit("create model", "create_model", Body::Json(body), None).await?.json("create model")?;
            let model_id = created.get("model_id").and_then(Value::as_str).ok_or_else(|| BackendError::Protocol {
                op: "create model",
                message: format!("no model_id in {created}"),
            })?;
            let trainer = TinkerTrainer {
                tinker: self.clone(),
                session: session.to_string(),
                model_id: model_id.to_string(),
                seq: AtomicI32::new(0),
                samplers: Default::default(),
                _heartbeat: guard,
            };
            if let Some(path) = from {
                let body = json!({"model_id": trainer.model_id, "seq_id": trainer.next_seq(), "path": path, "optimizer": true, "type": "load_weights"});
                self.submit("load state", "load_weights", Body::Json(body), None).await?;
            }
            Ok(Box::new(trainer) as Box<dyn Trainer>)
        }
        .boxed()
    }
}

/// Keeps a session alive; errors are only logged (the next call reports a dead session).
async fn heartbeat(t: Arc<Tinker>, session: String) {
    let mut missed = 0u32;
    loop {
        tokio::time::sleep(HEARTBEAT_EVERY).await;
        let mut rb = t
            .http
            .post(t.url("session_heartbeat"))
            .timeout(HEARTBEAT_EVERY)
            .json(&json!({"session_id": session, "type": "session_heartbeat"}));
        if let Ok(Some(k)) = t.credential().await {
            rb = rb.header("X-API-Key", k);
        }
        match rb.send().await {
            Ok(r) if r.status().is_success() => missed = 0,
            _ => {
                missed += 1;
                if missed == 12 {
                    tracing::warn!("the training service has not answered heartbeats for two minutes");
                }
            }
        }
    }
}

struct Heartbeat(tokio::task::JoinHandle<()>);

impl Drop for Heartbeat {
    fn drop(&mut self) {
        self.0.abort();
    }
}

struct TinkerTrainer {
    tinker: Arc<Tinker>,
    session: String,
    model_id: String,
    /// Requests on a model are numbered from 1.
    seq: AtomicI32,
    /// Sampling clients of this session, by model: (sampling session id, next request number).
    samplers: tokio::sync::Mutex<std::collections::HashMap<String, (String, i32)>>,
    _heartbeat: Heartbeat,
}

impl TinkerTrainer {
    fn next_seq(&self) -> i32 {
        self.seq.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// One `forward_backward` request: protobuf, as Tinker takes it, or JSON for servers that
    /// answer 415 to protobuf.
    async fn submit_fwdbwd(&self, chunk: &[Datum], loss: Loss) -> Result<Outcome> {
        let op = "forward_backward";
        if !self.tinker.json_fwdbwd.load(Ordering::Relaxed) {
            let req = wire::ForwardBackwardRequest {
                model_id: self.model_id.clone(),
                seq_id: self.next_seq(),
                data: chunk.iter().map(wire::datum).collect(),
                loss_fn: loss.as_str().into(),
                ..Default::default()
            };
            match self.tinker.submit(op, "forward_backward", Body::Proto(req.encode_to_vec().into()), None).await {
                Err(BackendError::Unsupported { message, .. }) => {
                    tracing::info!(message, "the training service takes forward_backward as JSON");
                    self.tinker.json_fwdbwd.store(true, Ordering::Relaxed);
                }
                other => return other,
            }
        }
        let body = json!({
            "model_id": self.model_id,
            "seq_id": self.next_seq(),
            "forward_backward_input": {"loss_fn": loss.as_str(), "data": chunk.iter().map(wire::datum_json).collect::<Vec<_>>()},
        });
        self.tinker.submit(op, "forward_backward", Body::Json(body), None).await
    }

    async fn save(&self, op: &'static str, path: &str, name: &str) -> Result<String> {
        let mut body = json!({"model_id": self.model_id, "path": name, "seq_id": self.next_seq(), "type": path});
        if path == "save_weights" {
            body["overwrite"] = json!(false);
        }
        let out = self.tinker.submit(op, path, Body::Json(body), Some(self.tinker.save_timeout)).await?.json(op)?;
        out.get("path")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| BackendError::Protocol { op, message: format!("no path in {out}") })
    }
}

impl TinkerTrainer {
    /// A sampling client for `model` in this session (made once), and its next request number.
    async fn sampler(&self, model: &str) -> Result<(String, i32)> {
        let mut samplers = self.samplers.lock().await;
        if let Some((id, seq)) = samplers.get_mut(model) {
            *seq += 1;
            return Ok((id.clone(), *seq - 1));
        }
        let op = "create sampling session";
        let mut body = json!({"session_id": self.session, "sampling_session_seq_id": samplers.len(), "type": "create_sampling_session"});
        if model.starts_with("tinker://") {
            body["model_path"] = json!(model);
        } else {
            body["base_model"] = json!(model);
        }
        let v = self.tinker.call(op, "create_sampling_session", Body::Json(body), None).await?;
        let id = v
            .get("sampling_session_id")
            .and_then(Value::as_str)
            .ok_or_else(|| BackendError::Protocol { op, message: format!("no sampling_session_id in {v}") })?
            .to_string();
        samplers.insert(model.to_string(), (id.clone(), 1));
        Ok((id, 0))
    }
}

impl Trainer for TinkerTrainer {
    fn logprobs<'a>(&'a self, model: &'a str, tokens: &'a [u32]) -> BoxFuture<'a, Result<Vec<Option<f32>>>> {
        async move {
            let op = "compute logprobs";
            let (sampler, seq) = self.sampler(model).await?;
            let body = json!({
                "sampling_session_id": sampler, "seq_id": seq, "num_samples": 1,
                "prompt": {"chunks": [{"type": "encoded_text", "tokens": tokens}]},
                "prompt_logprobs": true, "topk_prompt_logprobs": 0,
                "sampling_params": {"max_tokens": 1, "temperature": 1.0, "top_k": -1, "top_p": 1.0},
                "type": "sample",
            });
            let lps: Vec<Option<f32>> = match self.tinker.submit(op, "asample", Body::Json(body), None).await? {
                Outcome::Proto(b) => wire::SampleResponse::decode(b)
                    .map_err(|e| BackendError::Protocol { op, message: e.to_string() })?
                    .prompt_logprobs
                    .unwrap_or_default()
                    .chunks_exact(4)
                    .map(|c| Some(f32::from_le_bytes(c.try_into().expect("four bytes"))).filter(|x| x.is_finite()))
                    .collect(),
                Outcome::Json(v) => v["prompt_logprobs"]
                    .as_array()
                    .map(|a| a.iter().map(|x| x.as_f64().map(|f| f as f32)).collect())
                    .unwrap_or_default(),
            };
            if lps.len() != tokens.len() {
                return Err(BackendError::Protocol {
                    op,
                    message: format!("{} prompt logprobs for {} tokens", lps.len(), tokens.len()),
                });
            }
            Ok(lps)
        }
        .boxed()
    }

    fn model_id(&self) -> &str {
        &self.model_id
    }

    fn forward_backward<'a>(&'a self, data: &'a [Datum], loss: Loss) -> BoxFuture<'a, Result<FwdBwd>> {
        async move {
            let mut out = FwdBwd::default();
            let mut chunks: Vec<&[Datum]> = Vec::new();
            let (mut start, mut bytes) = (0, 0);
            for (i, d) in data.iter().enumerate() {
                let b = wire::approx_bytes(d);
                if i > start && (i - start >= MAX_CHUNK_DATUMS || bytes + b > MAX_CHUNK_BYTES) {
                    chunks.push(&data[start..i]);
                    (start, bytes) = (i, 0);
                }
                bytes += b;
            }
            chunks.push(&data[start..]);
            let mut counts: std::collections::BTreeMap<String, f64> = Default::default();
            for chunk in chunks {
                let metrics = match self.submit_fwdbwd(chunk, loss).await? {
                    Outcome::Proto(b) => wire::ForwardBackwardOutput::decode(b)
                        .map_err(|e| BackendError::Protocol { op: "forward_backward", message: e.to_string() })?
                        .metrics
                        .into_iter()
                        .collect::<Vec<_>>(),
                    Outcome::Json(v) => v
                        .get("metrics")
                        .and_then(Value::as_object)
                        .map(|m| m.iter().filter_map(|(k, v)| Some((k.clone(), v.as_f64()?))).collect())
                        .unwrap_or_default(),
                };
                let n = chunk.len() as f64;
                for (k, v) in metrics {
                    let entry = out.metrics.entry(k.clone());
                    match k.rsplit_once(':').map(|(_, r)| r) {
                        Some("mean") | Some("slack") => {
                            *entry.or_default() += v * n;
                            *counts.entry(k).or_default() += n;
                        }
                        Some("min") => {
                            let e = entry.or_insert(v);
                            *e = e.min(v);
                        }
                        Some("max") => {
                            let e = entry.or_insert(v);
                            *e = e.max(v);
                        }
                        _ => *entry.or_default() += v,
                    }
                }
            }
            for (k, n) in counts {
                if let Some(v) = out.metrics.get_mut(&k) {
                    *v /= n.max(1.0);
                }
            }
            Ok(out)
        }
        .boxed()
    }

    fn optim_step(&self, adam: AdamParams) -> BoxFuture<'_, Result<()>> {
        async move {
            let body = json!({"model_id": self.model_id, "seq_id": self.next_seq(), "adam_params": adam, "type": "optim_step"});
            self.tinker.submit("optim_step", "optim_step", Body::Json(body), None).await?;
            Ok(())
        }
        .boxed()
    }

    fn save_state<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<String>> {
        self.save("save state", "save_weights", name).boxed()
    }

    fn save_for_sampler<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<String>> {
        self.save("save for sampling", "save_weights_for_sampler", name).boxed()
    }
}
