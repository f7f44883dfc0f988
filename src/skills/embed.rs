//! Optional semantic retrieval: skill and request embeddings from the upstream's
//! OpenAI-compatible `/v1/embeddings`. Skill vectors are cached in SQLite by content hash and
//! model; a request's vector is fetched with a short timeout, and any failure falls back to the
//! lexical score alone.

use std::time::Duration;

use serde_json::{json, Value};

use crate::upstream::Upstream;

#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    #[error("the embeddings call to {0} failed: {1}")]
    Call(String, String),
    #[error("the embeddings call to {0} took longer than {1:?}")]
    Timeout(String, Duration),
    #[error("the embeddings answer from {0} is not what the OpenAI API returns: {1}")]
    Shape(String, String),
}

/// Calls `/v1/embeddings` on an upstream with one model.
#[derive(Clone)]
pub struct Embedder {
    pub model: String,
    client: reqwest::Client,
    upstream: Upstream,
    timeout: Duration,
}

/// Inputs per call when embedding the library.
pub const BATCH: usize = 64;

impl Embedder {
    pub fn new(model: String, client: reqwest::Client, upstream: Upstream, timeout: Duration) -> Self {
        Self { model, client, upstream, timeout }
    }

    /// Embeds `inputs` (one vector each, in order), within `timeout`.
    pub async fn embed(&self, inputs: &[String], timeout: Option<Duration>) -> Result<Vec<Vec<f32>>, EmbedError> {
        let url = self.upstream.url("embeddings");
        let mut rb = self.client.post(&url).json(&json!({"model": self.model, "input": inputs}));
        if let Some(k) = &self.upstream.key {
            rb = rb.bearer_auth(k);
        }
        let limit = timeout.unwrap_or(self.timeout);
        let call = async {
            let r = rb.send().await.map_err(|e| EmbedError::Call(url.clone(), e.to_string()))?;
            let status = r.status();
            let body: Value = r.json().await.map_err(|e| EmbedError::Shape(url.clone(), e.to_string()))?;
            if !status.is_success() {
                let msg = body["error"]["message"].as_str().unwrap_or("no message").to_string();
                return Err(EmbedError::Call(url.clone(), format!("{status}: {msg}")));
            }
            let mut data: Vec<(usize, Vec<f32>)> = body["data"]
                .as_array()
                .ok_or_else(|| EmbedError::Shape(url.clone(), "no `data` array".into()))?
                .iter()
                .map(|d| {
                    let v = d["embedding"]
                        .as_array()
                        .map(|a| a.iter().filter_map(Value::as_f64).map(|x| x as f32).collect());
                    Ok((
                        d["index"].as_u64().unwrap_or(0) as usize,
                        v.ok_or_else(|| EmbedError::Shape(url.clone(), "an item has no `embedding`".into()))?,
                    ))
                })
                .collect::<Result<_, EmbedError>>()?;
            data.sort_by_key(|(i, _)| *i);
            if data.len() != inputs.len() {
                return Err(EmbedError::Shape(
                    url.clone(),
                    format!("{} vectors for {} inputs", data.len(), inputs.len()),
                ));
            }
            Ok(data.into_iter().map(|(_, v)| normalise(v)).collect())
        };
        tokio::time::timeout(limit, call).await.map_err(|_| EmbedError::Timeout(url.clone(), limit))?
    }
}

/// Scales to unit length, so a dot product is the cosine similarity.
pub fn normalise(mut v: Vec<f32>) -> Vec<f32> {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if n > 0.0 {
        v.iter_mut().for_each(|x| *x /= n);
    }
    v
}

pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// The text embedded for a skill: what it is for, and the start of how.
pub fn skill_text(s: &super::Skill) -> String {
    let body: String = s.body.chars().take(1000).collect();
    format!("{}: {}\n{}", s.name.replace('-', " "), s.description, body)
}

/// Vectors as stored in SQLite (little-endian f32).
pub fn to_blob(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

pub fn from_blob(b: &[u8]) -> Vec<f32> {
    b.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blobs_round_trip_and_vectors_normalise() {
        let v = normalise(vec![3.0, 4.0]);
        assert_eq!(v, vec![0.6, 0.8]);
        assert_eq!(from_blob(&to_blob(&v)), v);
        assert!((dot(&v, &v) - 1.0).abs() < 1e-6);
    }
}
