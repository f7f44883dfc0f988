//! `POST /v1/chat/completions`: validate, assign the session, forward, relay (streaming or not)
//! and record the turn.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::Value;

use super::error::ProxyError;
use super::guard::TurnGuard;
use super::relay::Relay;
use super::{inject, request, send, with_key, ProxyState};
use crate::skills::{query_parts, Semantic};
use crate::turn::{now_ms, RawResponse, TurnRecord, TurnStatus, TurnType};
use crate::upstream::{forward_request_headers, relay_response_headers};

pub async fn chat_completions(State(st): State<Arc<ProxyState>>, headers: HeaderMap, body: Body) -> Response {
    let t0 = Instant::now();
    match handle(&st, t0, headers, body).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn handle(st: &Arc<ProxyState>, t0: Instant, headers: HeaderMap, body: Body) -> Result<Response, ProxyError> {
    let raw = request::read_body(&headers, body, st.max_body_mib).await?;
    let t_parse = Instant::now();
    let mut req = request::parse(&raw, &headers)?;
    let up = st.upstream.load_full();
    if let Some(m) = &up.model {
        if req.model() != Some(m.as_str()) {
            req.body.insert("model".into(), Value::String(m.clone()));
            req.edited = true;
        }
    }
    let started_at_ms = now_ms();
    let session = st.sessions.resolve(req.hints.clone(), req.messages(), started_at_ms);
    // The library snapshot this turn is served under: its skills and its generation.
    let library = st.skills.snapshot();
    let cfg = st.skills.config();
    let mut skills = Vec::new();
    if session.turn_type == TurnType::Main && cfg.enabled {
        // Semantic retrieval (opt-in) waits for the request's embedding, with a short timeout.
        let query = if st.skills.semantic_on() { query_parts(req.messages()).into_iter().next() } else { None };
        let qvec = match query {
            Some((text, _)) => st.skills.embed_query(&text).await,
            None => None,
        };
        let vectors = st.skills.vectors();
        let semantic = qvec.as_deref().map(|q| Semantic { query: q, vectors: &vectors, weight: cfg.embedding_weight });
        let sel = library.select(req.messages(), cfg, semantic);
        if !sel.injected.is_empty() {
            inject(&mut req.body, &sel.block, cfg.placement);
            req.edited = true;
            skills = sel.injected;
        }
    }
    let stream = req.stream();
    let model = req.model().map(str::to_string);
    let upstream_body: Bytes =
        if req.edited { serde_json::to_vec(&req.body).expect("JSON values serialise").into() } else { raw };
    if st.log_bodies {
        tracing::debug!(body = %String::from_utf8_lossy(&upstream_body), "request to upstream");
    }

    let id = st.store.next_turn_id();
    let record = TurnRecord {
        id,
        session_id: session.id.clone(),
        session_source: session.source,
        session_done: session.done,
        turn_type: session.turn_type,
        protocol: "openai",
        upstream: up.name.clone(),
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
        request: Value::Object(req.body),
        response: RawResponse::None,
        skills,
        generation: library.generation,
    };
    let mut guard = TurnGuard::new(record, t0, st.store.clone(), st.metrics.clone());

    let rb = st
        .client
        .post(up.url("chat/completions"))
        .headers(forward_request_headers(&headers))
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(upstream_body);
    let rb = with_key(rb, &up);
    // Reading the body is the client's time; MetaClaw's own starts once it is read.
    guard.add_own(t_parse.elapsed());
    let t_send = Instant::now();
    let resp = match send(&up, rb).await {
        Ok(r) => r,
        Err(e) => {
            guard.finish(TurnStatus::Failed, Some(e.status().as_u16()), Some(e.to_string()), Some(RawResponse::None));
            return Err(e);
        }
    };
    let t_headers = Instant::now();
    tracing::debug!(turn = id, upstream_ms = ?(t_headers - t_send), "upstream answered");

    let status = resp.status();
    let is_sse = resp
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"));
    let mut out_headers = relay_response_headers(resp.headers(), status.is_success() && is_sse);
    out_headers.insert("x-metaclaw-turn-id", HeaderValue::from(id));
    if let Ok(v) = HeaderValue::from_str(&session.id) {
        out_headers.insert("x-metaclaw-session-id", v);
    }

    if status.is_success() && is_sse {
        let relay = Relay::new(Box::pin(resp.bytes_stream()), up.stream_idle_timeout, guard, status.as_u16());
        let mut out = Response::new(Body::from_stream(relay));
        *out.status_mut() = status;
        *out.headers_mut() = out_headers;
        return Ok(out);
    }

    let body = match resp.bytes().await {
        Ok(b) => b,
        Err(e) => {
            let err = super::send_error(&up, e);
            guard.finish(
                TurnStatus::Failed,
                Some(err.status().as_u16()),
                Some(err.to_string()),
                Some(RawResponse::None),
            );
            return Err(err);
        }
    };
    let t_body = Instant::now();
    let mut out = Response::new(Body::from(body.clone()));
    *out.status_mut() = status;
    *out.headers_mut() = out_headers;
    guard.add_own(t_body.elapsed());
    if status.is_success() {
        guard.finish(TurnStatus::Ok, Some(status.as_u16()), None, Some(RawResponse::Json(body)));
    } else {
        let msg = format!("the upstream answered {status}");
        guard.finish(TurnStatus::UpstreamError, Some(status.as_u16()), Some(msg), Some(RawResponse::Json(body)));
    }
    Ok(out)
}
