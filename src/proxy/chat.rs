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
use super::intake::{intake, Intake};
use super::{forward, inject, ProxyState};
use crate::config::Kind;
use crate::translate::openai_to_anthropic;
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

fn with_model(body: &Map<String, Value>, model: &Option<String>) -> Map<String, Value> {
    let mut b = body.clone();
    if let Some(m) = model {
        b.insert("model".into(), Value::String(m.clone()));
    }
    b
}

async fn handle(st: &Arc<ProxyState>, t0: Instant, headers: HeaderMap, body: Body) -> Result<Response, ProxyError> {
    let Intake { raw, req, mut guard, t_parse, stream, model } =
        intake(st, t0, &headers, body, Protocol::OpenAi, |_| Ok(()), inject).await?;
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
    forward::conclude(guard, sent, &candidates, Protocol::OpenAi, stream, model.as_deref()).await
}
