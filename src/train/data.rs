//! Training data: which turns a step may use, their advantages, and the datums sent to the
//! service.
//!
//! Only the dataset's query split is eligible (turns served under the current skill generation,
//! never used as support, with a judge reward), and only turns the policy itself sampled (the
//! serving endpoint reported their tokens). A turn is trained on at most once: `train_samples`
//! is keyed by turn, and a turn that cannot be used is recorded there as skipped, with why.

use std::collections::HashMap;

use rusqlite::Connection;
use serde_json::Value;

use super::backend::Datum;
use super::tokens::{Sampled, Tokens};
use crate::store::{turns, StoreError};

/// A turn ready to be tokenized.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub turn_id: i64,
    pub reward: f64,
    /// The conversation as it was sent upstream (skills included).
    pub messages: Vec<Value>,
    pub tools: Option<Value>,
    /// The tokens the policy reported sampling (empty when the endpoint returned no logprobs).
    pub sampled: Vec<Sampled>,
    /// The adapter (or base model) the policy served the turn with.
    pub policy_model: Option<String>,
    /// The answer as an assistant message (for turns without sampled tokens).
    pub answer: Value,
}

/// A tokenized turn with its advantage.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub turn_id: i64,
    pub reward: f64,
    pub prompt: Vec<u32>,
    pub response: Vec<u32>,
    pub logprobs: Vec<f32>,
    pub advantage: f32,
    /// Per response token: `-coef·(student − teacher)` from distillation, if any.
    pub distill: Option<Vec<f32>>,
    /// The rendered prompt and the sampled response, as text (for a distillation teacher).
    pub text: String,
    /// The endpoint reported no logprobs: the service computes them under this adapter (or base
    /// model) before the sample is used; `logprobs` is empty until then.
    pub needs_logprobs: Option<String>,
}

impl Sample {
    pub fn tokens(&self) -> usize {
        self.prompt.len() + self.response.len()
    }
}

/// Eligible turns, oldest first, at most `limit`: served by the policy (with or without sampled
/// tokens), in the query split, not yet looked at.
pub fn eligible(conn: &Connection, limit: u32) -> Result<Vec<Candidate>, StoreError> {
    let ids = turns::trainable(conn, crate::dataset::current_generation(conn)?, limit)?;
    candidates(conn, &ids)
}

/// Specific turns (also an unfinished step's, whatever their eligibility now).
pub fn candidates(conn: &Connection, ids: &[i64]) -> Result<Vec<Candidate>, StoreError> {
    let mut out = Vec::new();
    for &id in ids {
        let Some((score, sampled, policy_model)) = turns::policy_facts(conn, id)? else { continue };
        let Some(t) = turns::get_turn(conn, id)? else { continue };
        let mut answer =
            serde_json::json!({"role": "assistant", "content": t.response_text.clone().unwrap_or_default()});
        if !t.tool_calls.is_empty() {
            answer["tool_calls"] = t
                .tool_calls
                .iter()
                .map(|c| serde_json::json!({"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}))
                .collect();
        }
        out.push(Candidate {
            turn_id: id,
            reward: score as f64,
            tools: t.params.get("tools").filter(|v| !v.is_null()).cloned(),
            messages: t.messages,
            sampled: sampled.and_then(|s| serde_json::from_str(&s).ok()).unwrap_or_default(),
            policy_model,
            answer,
        });
    }
    Ok(out)
}

/// How many turns are eligible now.
pub fn eligible_count(conn: &Connection) -> Result<i64, StoreError> {
    turns::trainable_count(conn, crate::dataset::current_generation(conn)?)
}

/// Judged query turns that cannot be trained on because another upstream answered them (the
/// policy was down or refused, or their model is not routed to the policy).
pub fn unsampled_count(conn: &Connection) -> Result<i64, StoreError> {
    turns::not_policy_served_count(conn, crate::dataset::current_generation(conn)?)
}

/// Tokenizes candidates. Returns the usable samples and, for the rest, why not.
pub fn tokenize(tokens: &Tokens, candidates: Vec<Candidate>) -> (Vec<Sample>, Vec<(i64, String)>) {
    let (mut ok, mut skipped) = (Vec::new(), Vec::new());
    for c in candidates {
        if c.reward == 0.0 {
            skipped.push((c.turn_id, "reward 0: no evidence either way".into()));
            continue;
        }
        if holds_secret(&c) {
            skipped.push((
                c.turn_id,
                "it holds a credential (a key, token or password), so it stays on this machine".into(),
            ));
            continue;
        }
        let rendered = match tokens.render(&c.messages, c.tools.as_ref(), true) {
            Ok(r) => r,
            Err(e) => {
                skipped.push((c.turn_id, e.to_string()));
                continue;
            }
        };
        let prompt = match tokens.encode(&rendered) {
            Ok(p) if !p.is_empty() => p,
            Ok(_) => {
                skipped.push((c.turn_id, "the prompt renders to no tokens".into()));
                continue;
            }
            Err(e) => {
                skipped.push((c.turn_id, e.to_string()));
                continue;
            }
        };
        if c.sampled.is_empty() {
            match (&c.policy_model, rerendered(tokens, &c, &prompt)) {
                (Some(model), Ok((response, text))) => ok.push(Sample {
                    turn_id: c.turn_id,
                    reward: c.reward,
                    prompt,
                    response,
                    logprobs: Vec::new(),
                    advantage: 0.0,
                    distill: None,
                    text,
                    needs_logprobs: Some(model.clone()),
                }),
                (None, _) => {
                    skipped.push((c.turn_id, "no sampled tokens and no record of the adapter that served it".into()))
                }
                (_, Err(reason)) => skipped.push((c.turn_id, reason)),
            }
            continue;
        }
        match tokens.align(&c.sampled) {
            Ok(r) => {
                let mut text = rendered;
                for s in &c.sampled {
                    text.push_str(&String::from_utf8_lossy(s.bytes.as_deref().unwrap_or(s.token.as_bytes())));
                }
                ok.push(Sample {
                    turn_id: c.turn_id,
                    reward: c.reward,
                    prompt,
                    response: r.tokens,
                    logprobs: r.logprobs,
                    advantage: 0.0,
                    distill: None,
                    text,
                    needs_logprobs: None,
                })
            }
            Err(reason) => skipped.push((c.turn_id, reason)),
        }
    }
    (ok, skipped)
}

/// True when any text of a turn (its messages, tools, answer or sampled tokens) holds a
/// credential of a well-known shape: such a turn is never sent to the training service (redacting
/// it instead would change the tokens the policy was scored on).
fn holds_secret(c: &Candidate) -> bool {
    fn walk(v: &Value) -> bool {
        match v {
            Value::String(s) => crate::secrets::contains_secret(s),
            Value::Array(a) => a.iter().any(walk),
            Value::Object(m) => m.values().any(walk),
            _ => false,
        }
    }
    let sampled: String = c.sampled.iter().map(|s| s.token.as_str()).collect();
    c.messages.iter().any(walk)
        || c.tools.as_ref().is_some_and(walk)
        || walk(&c.answer)
        || crate::secrets::contains_secret(&sampled)
}

/// The answer's tokens when the endpoint reported none: the conversation rendered with the answer,
/// past the prompt, up to and including the end-of-turn token. The template must render the
/// prompt as a prefix of that, or the turn is refused.
fn rerendered(tokens: &Tokens, c: &Candidate, prompt: &[u32]) -> Result<(Vec<u32>, String), String> {
    let mut conversation = c.messages.clone();
    conversation.push(c.answer.clone());
    let text = tokens.render(&conversation, c.tools.as_ref(), false).map_err(|e| e.to_string())?;
    let all = tokens.encode(&text).map_err(|e| e.to_string())?;
    if all.len() <= prompt.len() || all[..prompt.len()] != *prompt {
        return Err("the chat template renders the answered conversation with a different prompt".into());
    }
    let mut response = all[prompt.len()..].to_vec();
    if let Some(end) = tokens.eos_id().and_then(|eos| response.iter().position(|t| *t == eos)) {
        response.truncate(end + 1);
    }
    Ok((response, text))
}

/// Advantages. Samples sharing a prompt form a group and are centred and scaled within it
/// (GRPO); the others are normalised across the batch. A group (or batch) whose rewards are all
/// equal has no contrast; it keeps the raw reward rather than teaching nothing.
pub fn assign_advantages(samples: &mut [Sample]) {
    let mut groups: HashMap<&[u32], Vec<usize>> = HashMap::new();
    for (i, s) in samples.iter().enumerate() {
        groups.entry(s.prompt.as_slice()).or_default().push(i);
    }
    let mut singles = Vec::new();
    let mut grouped = Vec::new();
    for (_, idx) in groups {
        if idx.len() > 1 {
            grouped.push(idx);
        } else {
            singles.extend(idx);
        }
    }
    let normalise = |samples: &mut [Sample], idx: &[usize]| {
        let n = idx.len() as f64;
        let mean = idx.iter().map(|&i| samples[i].reward).sum::<f64>() / n;
        let var = idx.iter().map(|&i| (samples[i].reward - mean).powi(2)).sum::<f64>() / n;
        let std = var.sqrt();
        for &i in idx {
            let r = samples[i].reward;
            samples[i].advantage = if std > 1e-6 { ((r - mean) / std) as f32 } else { r as f32 };
        }
    };
    for g in &grouped {
        normalise(samples, g);
    }
    if !singles.is_empty() {
        normalise(samples, &singles);
    }
}

/// The datum for one sample, in the Tinker convention: the model reads `all[..-1]` and is scored
/// on `all[1..]`; prompt positions carry zero advantage and zero logprob.
pub fn datum(s: &Sample) -> Datum {
    let p = s.prompt.len();
    let mut all = Vec::with_capacity(s.tokens());
    all.extend_from_slice(&s.prompt);
    all.extend_from_slice(&s.response);
    let n = all.len() - 1;
    let mut logprobs = vec![0.0f32; p - 1];
    logprobs.extend(s.logprobs.iter().map(|x| if x.is_finite() { *x } else { 0.0 }));
    let mut advantages = vec![0.0f32; p - 1];
    match &s.distill {
        Some(kl) => advantages.extend(kl.iter().map(|k| s.advantage + k)),
        None => advantages.extend(std::iter::repeat_n(s.advantage, s.response.len())),
    }
    debug_assert_eq!(logprobs.len(), n);
    debug_assert_eq!(advantages.len(), n);
    Datum { input: all[..n].to_vec(), target: all[1..].to_vec(), logprobs, advantages }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(id: i64, prompt: &[u32], reward: f64) -> Sample {
        Sample {
            turn_id: id,
            reward,
            prompt: prompt.to_vec(),
            response: vec![9, 8],
            logprobs: vec![-0.5, -0.25],
            advantage: 0.0,
            distill: None,
            text: String::new(),
            needs_logprobs: None,
        }
    }

    #[test]
    fn groups_are_relative_and_singletons_batch_normalised() {
        let mut s = vec![
            sample(1, &[1, 2], 1.0),
            sample(2, &[1, 2], -1.0),
            sample(3, &[3], 1.0),
            sample(4, &[4], -1.0),
            sample(5, &[5], 1.0),
        ];
        assign_advantages(&mut s);
        assert_eq!((s[0].advantage, s[1].advantage), (1.0, -1.0));
        // Singletons: mean 1/3, population std 0.943.
        assert!((s[2].advantage - std::f32::consts::FRAC_1_SQRT_2).abs() < 1e-3, "{}", s[2].advantage);
        assert!((s[3].advantage + std::f32::consts::SQRT_2).abs() < 1e-3, "{}", s[3].advantage);
        let mut same = vec![sample(1, &[1], 1.0), sample(2, &[2], 1.0)];
        assign_advantages(&mut same);
        assert_eq!((same[0].advantage, same[1].advantage), (1.0, 1.0));
    }

    #[test]
    fn a_turn_holding_a_credential_is_never_sent_for_training() {
        let turn = |user: &str, answer: &str| Candidate {
            turn_id: 1,
            reward: 1.0,
            messages: vec![serde_json::json!({"role": "user", "content": [{"type": "text", "text": user}]})],
            tools: None,
            sampled: vec![],
            policy_model: None,
            answer: serde_json::json!({"role": "assistant", "content": answer}),
        };
        assert!(!holds_secret(&turn("deploy commit 9264edb1f0a3c5e7d9b2a4c6e8f0a1b3c5d7e9f1", "Done.")));
        assert!(holds_secret(&turn("use AKIAIOSFODNN7EXAMPLE to deploy", "Done.")));
        assert!(holds_secret(&turn("clone it", "git clone https://bob:hunter22@git.example/r.git")));
    }

    #[test]
    fn datum_shifts_by_one_and_masks_the_prompt() {
        let mut s = sample(1, &[1, 2, 3], 1.0);
        s.advantage = 0.5;
        let d = datum(&s);
        assert_eq!(d.input, vec![1, 2, 3, 9]);
        assert_eq!(d.target, vec![2, 3, 9, 8]);
        assert_eq!(d.logprobs, vec![0.0, 0.0, -0.5, -0.25]);
        assert_eq!(d.advantages, vec![0.0, 0.0, 0.5, 0.5]);
        s.distill = Some(vec![0.2, -0.1]);
        assert_eq!(datum(&s).advantages, vec![0.0, 0.0, 0.7, 0.4]);
    }
}
