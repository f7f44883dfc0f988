//! `POST /v1/chat/completions` (OpenAI clients): validate, assign the session, inject skills,
//! forward to the model's upstreams (translating for Anthropic ones), relay and record.

use std::sync::Arc;
use std::time::Instant;

use tracing::Instrument;

use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::{Map, Value};

use super::error::{Protocol, ProxyError};
use super::guard::TurnGuard;
use super::{forward, inject, request, ProxyState};
use crate::config::Kind;
use crate::skills::{query_parts, Injected, Semantic};
use crate::translate::openai_to_anthropic;
use crate::turn::{now_ms, RawResponse, TurnRecord, TurnStatus, TurnType};
use crate::upstream::forward_request_headers;

pub async fn chat_completions(State(st): State<Arc<ProxyState>>, headers: HeaderMap, body: Body) -> Response {
    let t0 = Instant::now();
    // One span per request; the turn's own fields are logged when it finishes.
    let span = tracing::info_span!("request", protocol = "openai");
    match handle(&st, t0, headers, body).instrument(span).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

/// Picks and injects the skills for a `main` turn; returns what was injected and the
/// generation served.
pub(super) async fn select_skills(
    st: &ProxyState,
    turn_type: TurnType,
    messages: &[Value],
    apply: impl FnOnce(&str),
) -> (Vec<Injected>, i64) {
    let library = st.skills.snapshot();
    let cfg = st.skills.config();
    if turn_type != TurnType::Main || !cfg.enabled {
        return (Vec::new(), library.generation);
    }
    // Semantic retrieval (opt-in) waits for the request's embedding, with a short timeout.
    let query = if st.skills.semantic_on() { query_parts(messages).into_iter().next() } else { None };
    let qvec = match query {
        Some((text, _)) => st.skills.embed_query(&text).await,
        None => None,
    };
    let vectors = st.skills.vectors();
    let semantic = qvec.as_deref().map(|q| Semantic { query: q, vectors: &vectors, weight: cfg.embedding_weight });
    let sel = library.select(messages, cfg, semantic);
    if !sel.injected.is_empty() {
        apply(&sel.block);
    }
    (sel.injected, library.generation)
}

/// A fresh record for a turn; the upstream, request and answer are filled in as it goes.
pub(super) fn new_record(
    st: &ProxyState,
    session: crate::session::Resolved,
    protocol: Protocol,
    model: Option<String>,
    stream: bool,
    skills: Vec<Injected>,
    generation: i64,
) -> TurnRecord {
    let started_at_ms = now_ms();
    TurnRecord {
        id: st.store.next_turn_id(),
        session_id: session.id,
        session_source: session.source,
        session_done: session.done,
        turn_type: session.turn_type,
        protocol: protocol.as_str(),
        upstream: String::new(),
        attempts: 0,
        model,
        stream,
        started_at_ms,
        finished_at_ms: started_at_ms,
        status: TurnStatus::Failed,
        http_status: None,
        error: None,
        latency_ms: 0.0,
        upstream_ms: 0.0,
        overhead_ms: 0.0,
        request: Value::Null,
        response: RawResponse::None,
        skills,
        generation,
    }
}

fn with_model(body: &Map<String, Value>, model: &Option<String>) -> Map<String, Value> {
    let mut b = body.clone();
    if let Some(m) = model {
        b.insert("model".into(), Value::String(m.clone()));
    }
    b
}

async fn handle(st: &Arc<ProxyState>, t0: Instant, headers: HeaderMap, body: Body) -> Result<Response, ProxyError> {
    let raw = request::read_body(&headers, body, st.max_body_mib).await?;
    let t_parse = Instant::now();
    let mut req = request::parse(&raw, &headers)?;
    let session = st.sessions.resolve(req.hints.clone(), req.messages(), now_ms());
    let messages = req.messages().to_vec();
    let placement = st.skills.config().placement;
    let mut block = None;
    let (skills, generation) = select_skills(st, session.turn_type, &messages, |b| block = Some(b.to_string())).await;
    if let Some(b) = block {
        inject(&mut req.body, &b, placement);
        req.edited = true;
    }
    let stream = req.stream();
    let model = req.model().map(str::to_string);
    let record = new_record(st, session, Protocol::OpenAi, model.clone(), stream, skills, generation);
    let mut guard = TurnGuard::new(record, t0, st.store.clone(), st.metrics.clone());
    if st.log_bodies {
        tracing::debug!(body = %serde_json::Value::Object(req.body.clone()), "request");
    }

    let routes = st.routes.load_full();
    let candidates = routes.candidates(model.as_deref());
    // Unedited requests to an OpenAI upstream go out byte for byte.
    let original: Option<Bytes> = (!req.edited).then_some(raw);
    let fwd = forward_request_headers(&headers);
    guard.add_own(t_parse.elapsed());
    let sent = forward::send_with_failover(st, &candidates, |up| {
        let (path, bytes) = match up.kind {
            Kind::Openai => match (&up.model, &original) {
                (None, Some(b)) => ("chat/completions", b.clone()),
                (m, _) => {
                    ("chat/completions", Bytes::from(serde_json::to_vec(&with_model(&req.body, m)).expect("JSON")))
                }
            },
            Kind::Anthropic => {
                let a = openai_to_anthropic(&req.body)
                    .map_err(|e| ProxyError::bad(format!("{e} (upstream {})", up.name), None))?;
                ("messages", Bytes::from(serde_json::to_vec(&with_model(&a, &up.model)).expect("JSON")))
            }
        };
        let rb = st
            .client
            .post(up.url(path))
            .headers(fwd.clone())
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(bytes);
        forward::authorise(rb, up, &headers, Protocol::OpenAi)
    })
    .await;
    guard.set_request(Value::Object(req.body));
    match sent {
        Ok(sent) => Ok(forward::respond(guard, sent, Protocol::OpenAi, stream, model.as_deref().unwrap_or("")).await),
        Err((e, attempts)) => {
            forward::record_failure(guard, &candidates, &e, attempts);
            Err(e)
        }
    }
}
