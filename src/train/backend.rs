//! The training backend: what policy training needs from a cloud LoRA service, independent of
//! any one provider. [`super::tinker`] implements it for Tinker and Tinker-compatible servers.

use futures_util::future::BoxFuture;

use crate::config::Loss;

/// One training example, in the Tinker convention: the model reads `input`; position `i` is
/// scored on predicting `target[i]`, weighted by `advantages[i]`, against the sampler's
/// `logprobs[i]`. All four have the same length.
#[derive(Debug, Clone, PartialEq)]
pub struct Datum {
    pub input: Vec<u32>,
    pub target: Vec<u32>,
    pub logprobs: Vec<f32>,
    pub advantages: Vec<f32>,
}

/// Adam hyper-parameters (Tinker's defaults but the learning rate).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct AdamParams {
    pub learning_rate: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub weight_decay: f64,
    pub grad_clip_norm: f64,
}

impl AdamParams {
    pub fn with_lr(learning_rate: f64) -> Self {
        Self { learning_rate, beta1: 0.9, beta2: 0.95, eps: 1e-12, weight_decay: 0.0, grad_clip_norm: 0.0 }
    }
}

/// What a forward-backward pass reported: metrics named `name:reduction` (e.g. `loss:sum`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FwdBwd {
    pub metrics: std::collections::BTreeMap<String, f64>,
}

/// A checkpoint the service holds.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct RemoteCheckpoint {
    pub checkpoint_id: String,
    pub checkpoint_type: String,
    pub tinker_path: String,
    #[serde(default)]
    pub time: Option<String>,
}

/// Why a backend call failed.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    #[error("no Tinker API key: `metaclaw key set tinker` (or set TINKER_API_KEY)")]
    NoKey,
    #[error("the training service refused the key ({0}); check it with `metaclaw key set tinker`")]
    Auth(String),
    #[error("the training service rejected {op}: {message}")]
    Rejected { op: &'static str, message: String },
    #[error("the training service does not take {op} in this encoding: {message}")]
    Unsupported { op: &'static str, message: String },
    #[error("{op} failed on the training service ({category}): {message}")]
    Failed { op: &'static str, category: String, message: String },
    #[error("cannot reach the training service for {op}: {message}")]
    Network { op: &'static str, message: String },
    #[error("{op} did not finish within {secs} s")]
    Timeout { op: &'static str, secs: u64 },
    #[error("the training service answered {op} with something unexpected: {message}")]
    Protocol { op: &'static str, message: String },
}

impl BackendError {
    /// Worth trying again later (the service or the network, not the request).
    pub fn transient(&self) -> bool {
        matches!(self, Self::Network { .. } | Self::Timeout { .. })
            || matches!(self, Self::Failed { category, .. } if category != "user")
    }
}

pub type Result<T> = std::result::Result<T, BackendError>;

/// A cloud LoRA service.
pub trait Backend: Send + Sync {
    /// Opens a session and a LoRA training run of `base_model`; with `from`, loads that saved
    /// state (weights and optimiser) into it first.
    fn open<'a>(
        &'a self,
        base_model: &'a str,
        rank: u32,
        from: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Box<dyn Trainer>>>;
    /// The checkpoints the service holds for a training run (a trainer's `model_id`).
    fn checkpoints<'a>(&'a self, training_run: &'a str) -> BoxFuture<'a, Result<Vec<RemoteCheckpoint>>>;
}

/// One LoRA training run on the service, alive while its session is.
pub trait Trainer: Send + Sync {
    fn model_id(&self) -> &str;
    /// Accumulates gradients for `data` under `loss`.
    fn forward_backward<'a>(&'a self, data: &'a [Datum], loss: Loss) -> BoxFuture<'a, Result<FwdBwd>>;
    /// Applies the accumulated gradients.
    fn optim_step(&self, adam: AdamParams) -> BoxFuture<'_, Result<()>>;
    /// Saves weights and optimiser state; returns the path to resume from.
    fn save_state<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<String>>;
    /// Saves weights for sampling; returns the path the serving endpoint takes as `model`.
    fn save_for_sampler<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<String>>;
    /// Each token's logprob given the ones before it (the first has none), under `model`: sampler
    /// weights (`tinker://…`) or a base model.
    fn logprobs<'a>(&'a self, model: &'a str, tokens: &'a [u32]) -> BoxFuture<'a, Result<Vec<Option<f32>>>>;
}
