//! Optional on-policy distillation: a teacher scores the policy's own samples token by token
//! (an OpenAI-compatible `/v1/completions` call with `echo` and `logprobs`), and each response
//! token's advantage gains `-coef · (student logprob − teacher logprob)`, a reverse-KL pull
//! towards the teacher. Only when the teacher splits the text into exactly the student's tokens;
//! otherwise the sample trains on its reward alone.

use serde_json::{json, Value};

use super::data::Sample;
use super::tokens::Tokens;
use crate::config::DistillConfig;

/// Adds the distillation term to every sample the teacher can score.
pub async fn apply(http: &reqwest::Client, cfg: &DistillConfig, tokens: &Tokens, samples: &mut [Sample]) {
    let key = std::env::var("METACLAW_TEACHER_API_KEY").ok().filter(|k| !k.trim().is_empty());
    for s in samples.iter_mut() {
        match teacher_logprobs(http, cfg, key.as_deref(), tokens, s).await {
            Ok(teacher) => {
                s.distill = Some(
                    s.logprobs.iter().zip(&teacher).map(|(st, te)| (-cfg.coef * f64::from(st - te)) as f32).collect(),
                );
            }
            Err(why) => tracing::warn!(turn = s.turn_id, why, "no distillation for this turn"),
        }
    }
}

async fn teacher_logprobs(
    http: &reqwest::Client,
    cfg: &DistillConfig,
    key: Option<&str>,
    tokens: &Tokens,
    s: &Sample,
) -> Result<Vec<f32>, String> {
    let ids: Vec<u32> = s.prompt.iter().chain(&s.response).copied().collect();
    let body = json!({"model": cfg.teacher_model, "prompt": s.text, "max_tokens": 1, "echo": true, "logprobs": 1, "temperature": 0});
    let mut rb = http.post(format!("{}/completions", cfg.teacher_url.trim_end_matches('/'))).json(&body);
    if let Some(k) = key {
        rb = rb.bearer_auth(k);
    }
    let resp = rb.send().await.map_err(|e| format!("the teacher is unreachable: {}", e.without_url()))?;
    if !resp.status().is_success() {
        return Err(format!("the teacher answered HTTP {}", resp.status().as_u16()));
    }
    let v: Value = resp.json().await.map_err(|e| format!("the teacher's answer is not JSON: {e}"))?;
    let lp = &v["choices"][0]["logprobs"];
    let (Some(toks), Some(lps)) = (lp["tokens"].as_array(), lp["token_logprobs"].as_array()) else {
        return Err("the teacher returned no echoed logprobs".into());
    };
    let n = ids.len();
    if toks.len() < n {
        return Err(format!("the teacher echoed {} tokens for the student's {n}: different tokenizers", toks.len()));
    }
    for (i, (id, t)) in ids.iter().zip(toks).enumerate() {
        let ours = tokens.piece(*id);
        let theirs = t.as_str().unwrap_or_default();
        if !ours.contains('\u{FFFD}') && !theirs.contains('\u{FFFD}') && ours != theirs {
            return Err(format!("token {i} differs (teacher {theirs:?}, student {ours:?}): different tokenizers"));
        }
    }
    Ok(lps[s.prompt.len()..n].iter().map(|x| x.as_f64().unwrap_or(0.0) as f32).collect())
}
