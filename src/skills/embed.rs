//! Optional semantic retrieval: skill and request embeddings from the upstream's
//! OpenAI-compatible `/v1/embeddings` (the call itself is [`crate::upstream::embed`]). Skill
//! vectors are cached in SQLite by content hash and model; a request's vector is fetched with a
//! short timeout, and any failure falls back to the lexical score alone.

use std::time::Duration;

pub use crate::upstream::embed::EmbedError;
use crate::upstream::{embed::embeddings, Upstream};

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

    /// Embeds `inputs` (one unit vector each, in order), within `timeout`.
    pub async fn embed(&self, inputs: &[String], timeout: Option<Duration>) -> Result<Vec<Vec<f32>>, EmbedError> {
        let limit = timeout.unwrap_or(self.timeout);
        let vectors = embeddings(&self.client, &self.upstream, &self.model, inputs, limit).await?;
        Ok(vectors.into_iter().map(normalise).collect())
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
