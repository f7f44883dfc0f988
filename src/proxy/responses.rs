//! `POST /v1/responses` (OpenAI Responses API clients such as Codex CLI and the Agents SDK): the
//! same turn as a chat completion — session, skills (into `instructions`), routing with
//! failover, recording — relayed unchanged (JSON or the `response.*` event stream) and recorded in
//! the Chat Completions form every turn is judged and learnt from. A `previous_response_id` chain
//! is one session. Errors come in the Responses error shape (`{"error": {"message", "type",
//! "param", "code"}}`), the same as OpenAI's.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{OriginalUri, Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::{json, Map, Value};
use tracing::Instrument;

use super::error::{Protocol, ProxyError};
use super::forward;
use super::guard::TurnGuard;
use super::intake::{new_record, select_skills};
use super::{request, ProxyState};
use crate::clock::now_ms;
use crate::session::Resolved;
use crate::skills::Placement;
use crate::translate::responses::{chat_request, input_messages};
use crate::turn::{SessionSource, TurnType};
use crate::upstream::{forward_request_headers, read_bounded, relay_response_headers};
use answer::{respond, whole};
use outgoing::{expand_kept, no_responses_api, Outgoing, Route};

mod answer;
mod outgoing;

pub async fn responses(State(st): State<Arc<ProxyState>>, headers: HeaderMap, body: Body) -> Response {
    let t0 = Instant::now();
    // One span per request; the turn's own fields are logged when it finishes.
    let span = tracing::info_span!("request", protocol = "responses");
    match handle(&st, t0, headers, body).instrument(span).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

/// Checks the fields MetaClaw reads; everything else is the upstream's to judge.
fn validate(body: &Map<String, Value>) -> Result<(), ProxyError> {
    let kind = |k: &'static str, ok: fn(&Value) -> bool, what: &str| match body.get(k) {
        Some(v) if !v.is_null() && !ok(v) => Err(ProxyError::bad(format!("`{k}` must be {what}"), Some(k))),
        _ => Ok(()),
    };
    kind("model", Value::is_string, "a string")?;
    kind("input", |v| v.is_string() || v.is_array(), "a string or an array of input items")?;
    kind("instructions", Value::is_string, "a string")?;
    kind("tools", Value::is_array, "an array")?;
    kind("stream", Value::is_boolean, "true or false")?;
    kind("store", Value::is_boolean, "true or false")?;
    kind("previous_response_id", Value::is_string, "a string")?;
    for (i, item) in body.get("input").and_then(Value::as_array).into_iter().flatten().enumerate() {
        if !item.is_object() {
            return Err(ProxyError::bad(format!("input[{i}] must be an object"), Some("input")));
        }
    }
    Ok(())
}

/// Puts the skills block into a Responses request: after the `instructions` (their own cached
/// prefix kept), or with late placement as a system message right before the latest user input.
fn inject_responses(body: &mut Map<String, Value>, block: &str, placement: Placement) {
    if placement == Placement::Late {
        let item = json!({"role": "system", "content": block});
        match body.get_mut("input") {
            Some(Value::Array(items)) => {
                if let Some(i) = items.iter().rposition(|m| m["role"] == "user") {
                    items.insert(i, item);
                    return;
                }
            }
            Some(Value::String(s)) => {
                let text = std::mem::take(s);
                body.insert("input".into(), json!([item, {"role": "user", "content": text}]));
                return;
            }
            _ => {}
        }
    }
    match body.get_mut("instructions") {
        Some(Value::String(s)) if !s.is_empty() => {
            s.push_str("\n\n");
            s.push_str(block);
        }
        _ => {
            body.insert("instructions".into(), Value::String(block.to_string()));
        }
    }
}

const ENDPOINT: &str = "/v1/responses";

/// A Responses turn taken in and ready to forward.
struct Taken {
    raw: Bytes,
    body: Map<String, Value>,
    edited: bool,
    guard: TurnGuard,
    t_parse: Instant,
    model: Option<String>,
    session_id: String,
}

/// Reads and checks the request, assigns the session, injects the skills and opens the record.
async fn take_in(st: &ProxyState, t0: Instant, headers: &HeaderMap, body: Body) -> Result<Taken, ProxyError> {
    st.metrics.last_request.store(now_ms(), std::sync::atomic::Ordering::Relaxed);
    let raw = request::read_body(headers, body, st.max_body_mib).await?;
    let t_parse = Instant::now();
    let value: Value = serde_json::from_slice(&raw)
        .map_err(|e| ProxyError::bad(format!("the request body is not valid JSON: {e}"), None))?;
    let Value::Object(mut body) = value else {
        return Err(ProxyError::bad("the request body must be a JSON object", None));
    };
    validate(&body)?;
    let (mut hints, mut edited) = request::take_hints(&mut body, headers)?;
    if let Some(why) = crate::session::add_agent_hints(&mut hints, headers, &body) {
        tracing::debug!(why, "an agent's housekeeping call: recorded as a side turn");
    }
    let messages = input_messages(&body);
    // A response MetaClaw relayed continues its session; anything else is placed as chat turns are.
    let chained = body.get("previous_response_id").and_then(Value::as_str).and_then(|p| st.responses.session_of(p));
    let session = match chained {
        Some(id) if hints.id.is_none() => Resolved {
            id,
            source: SessionSource::Inferred,
            turn_type: hints.turn_type.unwrap_or(TurnType::Main),
            done: hints.done,
        },
        _ => st.sessions.resolve(hints, &messages, now_ms()),
    };
    let caller = crate::agent::Caller::of(headers);
    let mut block = None;
    let served =
        select_skills(st, (session.turn_type, &session.id), &caller, &messages, |b| block = Some(b.text().to_string()))
            .await;
    if let Some(b) = block {
        inject_responses(&mut body, &b, st.skills.config().placement);
        edited = true;
    }
    if st.log_bodies {
        tracing::debug!(body = %serde_json::Value::Object(body.clone()), "request");
    }
    let stream = body.get("stream").and_then(Value::as_bool).unwrap_or(false);
    let model = body.get("model").and_then(Value::as_str).map(str::to_string);
    let session_id = session.id.clone();
    let mut record = new_record(st, session, caller, Protocol::OpenAi, model.clone(), stream, served);
    record.protocol = "responses";
    let mut guard = TurnGuard::new(record, t0, st.store.clone(), st.metrics.clone(), st.events.clone());
    guard.set_request(Value::Object(chat_request(&body)));
    Ok(Taken { raw, body, edited, guard, t_parse, model, session_id })
}

async fn handle(st: &Arc<ProxyState>, t0: Instant, headers: HeaderMap, body: Body) -> Result<Response, ProxyError> {
    let Taken { raw, body, edited, mut guard, t_parse, model, session_id } = match take_in(st, t0, &headers, body).await
    {
        Ok(t) => t,
        Err(e) => {
            super::guard::refused(&st.metrics, ENDPOINT, &headers, &e);
            return Err(e);
        }
    };
    let routes = st.routes.load_full();
    let candidates = routes.candidates(model.as_deref());
    // A response id MetaClaw made is never sent on: the conversation it stands for is.
    let expanded = expand_kept(st, &body);
    let sent_body = expanded.as_ref().unwrap_or(&body);
    let out = Outgoing {
        st,
        headers: &headers,
        fwd: forward_request_headers(&headers),
        body: sent_body,
        original: (!edited && expanded.is_none()).then_some(raw),
    };
    guard.add_own(t_parse.elapsed());
    let sent = match out.send(&candidates).await {
        // An upstream without a Responses API: from now on it is asked in Chat Completions.
        Ok((s, Route::Native)) if matches!(s.resp.status().as_u16(), 404 | 405) => {
            let (status, tried, attempts) = (s.resp.status(), s.upstream, s.attempts);
            let h = s.resp.headers().clone();
            let bytes = read_bounded(s.resp, 1 << 20).await.unwrap_or_default();
            if !no_responses_api(status, &bytes) {
                guard.set_upstream(&tried, attempts);
                guard.set_request(Value::Object(chat_request(sent_body)));
                let mut headers = relay_response_headers(&h, true);
                guard.stamp(&mut headers);
                return Ok(whole(st, guard, status, headers, bytes, &Route::Native, &session_id, &body, &tried.name));
            }
            tracing::info!(upstream = %tried.name, %status, "the upstream has no Responses API; asking it in Chat Completions");
            st.responses.set_chat_only(&tried.name);
            out.send(&candidates).await.map(|(mut s, r)| {
                s.attempts += attempts;
                (s, r)
            })
        }
        other => other,
    };
    match sent {
        Ok((sent, route)) => {
            guard.set_request(Value::Object(route.chat().cloned().unwrap_or_else(|| chat_request(sent_body))));
            Ok(respond(st, guard, sent, route, &session_id, &body).await)
        }
        Err((e, attempts)) => {
            guard.set_request(Value::Object(chat_request(sent_body)));
            forward::record_failure(guard, &candidates, &e, attempts);
            Err(e)
        }
    }
}

/// `GET /v1/responses/{id}`: a response MetaClaw made and keeps, or else the upstream's answer.
pub async fn get_response(
    State(st): State<Arc<ProxyState>>,
    Path(id): Path<String>,
    uri: OriginalUri,
    req: axum::extract::Request,
) -> Response {
    match st.responses.kept(&id) {
        Some(k) => axum::Json(k.response.clone()).into_response(),
        None => super::passthrough(State(st), uri, req).await,
    }
}

/// `DELETE /v1/responses/{id}`: forgets a response MetaClaw keeps, or else asks the upstream.
pub async fn delete_response(
    State(st): State<Arc<ProxyState>>,
    Path(id): Path<String>,
    uri: OriginalUri,
    req: axum::extract::Request,
) -> Response {
    if st.responses.delete(&id) {
        return axum::Json(json!({"id": id, "object": "response", "deleted": true})).into_response();
    }
    super::passthrough(State(st), uri, req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn skills_go_after_the_instructions_or_before_the_latest_user_input() {
        let mut b = obj(json!({"instructions": "be brief", "input": "hi"}));
        inject_responses(&mut b, "K", Placement::System);
        assert_eq!(b["instructions"], "be brief\n\nK");
        assert_eq!(b["input"], "hi");
        let mut b = obj(json!({"input": "hi"}));
        inject_responses(&mut b, "K", Placement::System);
        assert_eq!(b["instructions"], "K");
        let mut b = obj(json!({"input": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"},
            {"role": "user", "content": "c"}, {"type": "function_call_output", "call_id": "x", "output": "y"}]}));
        inject_responses(&mut b, "K", Placement::Late);
        assert_eq!(b["input"][2], json!({"role": "system", "content": "K"}));
        assert_eq!(b["input"][3]["content"], "c");
        assert!(b.get("instructions").is_none());
        let mut b = obj(json!({"input": "hi"}));
        inject_responses(&mut b, "K", Placement::Late);
        assert_eq!(b["input"], json!([{"role": "system", "content": "K"}, {"role": "user", "content": "hi"}]));
    }
}
