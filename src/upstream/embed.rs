//! Embeddings calls: one request to an upstream's OpenAI-compatible `/v1/embeddings`, with its
//! stored key and a time limit, answered as one vector per input, in order (the vector maths and
//! the cache live with the skills).

use std::time::Duration;

use serde_json::{json, Value};

use super::auth::stored_credentials;
use super::routes::Upstream;

#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    #[error("the embeddings call to {0} failed: {1}")]
    Call(String, String),
    #[error("the embeddings call to {0} took longer than {1:?}")]
    Timeout(String, Duration),
    #[error("the embeddings answer from {0} is not what the OpenAI API returns: {1}")]
    Shape(String, String),
}

/// Embeds `inputs` with `model` on `up` within `limit`: one vector each, in the inputs' order.
pub async fn embeddings(
    client: &reqwest::Client,
    up: &Upstream,
    model: &str,
    inputs: &[String],
    limit: Duration,
) -> Result<Vec<Vec<f32>>, EmbedError> {
    let url = up.url("embeddings");
    let rb = stored_credentials(client.post(&url).json(&json!({"model": model, "input": inputs})), up);
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
                let v =
                    d["embedding"].as_array().map(|a| a.iter().filter_map(Value::as_f64).map(|x| x as f32).collect());
                Ok((
                    d["index"].as_u64().unwrap_or(0) as usize,
                    v.ok_or_else(|| EmbedError::Shape(url.clone(), "an item has no `embedding`".into()))?,
                ))
            })
            .collect::<Result<_, EmbedError>>()?;
        data.sort_by_key(|(i, _)| *i);
        if data.len() != inputs.len() {
            return Err(EmbedError::Shape(url.clone(), format!("{} vectors for {} inputs", data.len(), inputs.len())));
        }
        Ok(data.into_iter().map(|(_, v)| v).collect())
    };
    tokio::time::timeout(limit, call).await.map_err(|_| EmbedError::Timeout(url.clone(), limit))?
}
