//! `[train]`: policy training on a Tinker-compatible cloud LoRA service, and serving the
//! trained adapter.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// The loss the service computes on each batch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[cfg_attr(test, ts(rename = "TrainLoss"))]
#[serde(rename_all = "snake_case")]
pub enum Loss {
    #[default]
    ImportanceSampling,
    Ppo,
    Cispo,
}

impl Loss {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ImportanceSampling => "importance_sampling",
            Self::Ppo => "ppo",
            Self::Cispo => "cispo",
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(deny_unknown_fields, default)]
pub struct TrainConfig {
    /// Train (and serve) a LoRA adapter of `base_model`. Needs a Tinker key
    /// (`metaclaw key set tinker` or `TINKER_API_KEY`) unless the server needs none.
    pub enabled: bool,
    /// The trainable base model, e.g. "Qwen/Qwen3-8B".
    pub base_model: Option<String>,
    /// The Tinker(-compatible) service; self-hosted ones (e.g. SkyRL's) work the same way.
    pub base_url: String,
    /// Its OpenAI-compatible endpoint that serves adapters; default `<base_url>/oai/api/v1`.
    pub serve_url: Option<String>,
    /// Client models answered by the policy: `["*"]` for all, or names (prefixes end in `*`).
    /// Empty: train, but serve nothing.
    pub serve_models: Vec<String>,
    pub lora_rank: u32,
    pub learning_rate: f64,
    pub loss: Loss,
    /// A step waits until this many usable turns are ready…
    pub min_batch: u32,
    /// …and takes at most this many.
    pub max_batch: u32,
    pub max_steps_per_day: u32,
    /// Estimated spend per day (tokens × `usd_per_million_tokens`), at most.
    pub max_spend_per_day_usd: f64,
    /// Training price used for the estimate.
    pub usd_per_million_tokens: f64,
    /// A folder with `tokenizer.json` and `tokenizer_config.json`; default: downloaded once from
    /// `hub_url` into the MetaClaw home.
    pub tokenizer_dir: Option<PathBuf>,
    /// The tokenizer's repository on the hub; default: `base_model`.
    pub tokenizer_repo: Option<String>,
    pub hub_url: String,
    /// One save (for sampling, or of the full state) may take this long before it is retried.
    pub save_timeout_secs: u64,
    /// Saves are tried this many times before the run stops (the step is kept, and served as
    /// soon as a save succeeds).
    pub save_attempts: u32,
    /// Optional on-policy distillation from a teacher with the same tokenizer.
    pub distill: Option<DistillConfig>,
}

/// A teacher whose per-token logprobs pull the policy towards it (reverse KL).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct DistillConfig {
    /// An OpenAI-compatible `/v1` base URL with a `completions` endpoint (echo + logprobs).
    pub teacher_url: String,
    pub teacher_model: String,
    /// Weight of the reverse-KL term per token.
    #[serde(default = "one")]
    pub coef: f64,
}

fn one() -> f64 {
    1.0
}

pub const TINKER_BASE_URL: &str = "https://tinker.thinkingmachines.dev/services/tinker-prod";

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            base_model: None,
            base_url: TINKER_BASE_URL.into(),
            serve_url: None,
            serve_models: vec!["*".into()],
            lora_rank: 32,
            learning_rate: 1e-4,
            loss: Loss::ImportanceSampling,
            min_batch: 4,
            max_batch: 32,
            max_steps_per_day: 24,
            max_spend_per_day_usd: 2.0,
            usd_per_million_tokens: 0.4,
            tokenizer_dir: None,
            tokenizer_repo: None,
            hub_url: "https://huggingface.co".into(),
            save_timeout_secs: 200,
            save_attempts: 3,
            distill: None,
        }
    }
}

impl TrainConfig {
    /// The endpoint that serves adapters.
    pub fn serve_url(&self) -> String {
        match &self.serve_url {
            Some(u) => u.trim_end_matches('/').to_string(),
            None => format!("{}/oai/api/v1", self.base_url.trim_end_matches('/')),
        }
    }

    /// The base model, when training is on.
    pub fn active_model(&self) -> Option<&str> {
        self.base_model.as_deref().filter(|_| self.enabled)
    }

    /// Checks values that parse but make no sense: `(key, reason)`.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        if self.enabled && self.base_model.as_deref().is_none_or(|m| m.trim().is_empty()) {
            return Err(("train.base_model", "training is enabled: name the trainable base model".into()));
        }
        if !(1..=512).contains(&self.lora_rank) {
            return Err(("train.lora_rank", format!("{} is outside 1..=512", self.lora_rank)));
        }
        if !(self.learning_rate > 0.0 && self.learning_rate < 1.0) {
            return Err(("train.learning_rate", format!("{} is outside (0, 1)", self.learning_rate)));
        }
        if self.min_batch == 0 || self.min_batch > self.max_batch {
            return Err(("train.min_batch", format!("{} must be 1..=max_batch ({})", self.min_batch, self.max_batch)));
        }
        if self.max_batch > 1024 {
            return Err(("train.max_batch", format!("{} is over 1024", self.max_batch)));
        }
        if self.max_spend_per_day_usd < 0.0 || self.usd_per_million_tokens < 0.0 {
            return Err(("train.max_spend_per_day_usd", "prices and limits must not be negative".into()));
        }
        if self.save_timeout_secs == 0 || self.save_attempts == 0 {
            return Err(("train.save_timeout_secs", "save timeout and attempts must be at least 1".into()));
        }
        if let Some(d) = &self.distill {
            if !(d.coef > 0.0 && d.coef.is_finite()) {
                return Err(("train.distill.coef", format!("{} must be positive", d.coef)));
            }
        }
        Ok(())
    }
}
