//! `POST /v1/chat/completions` (OpenAI clients): validate, assign the session, inject skills,
//! forward to the model's upstreams (translating for Anthropic ones), relay and record.

use std::sync::Arc;
use std::time::Instant;

use tracing::Instrument;

use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::error::{Protocol, ProxyError};
use super::intake::{intake, Intake};
use super::{forward, inject, ProxyState};

pub async fn chat_completions(State(st): State<Arc<ProxyState>>, headers: HeaderMap, body: Body) -> Response {
    let t0 = Instant::now();
    // One span per request; the turn's own fields are logged when it finishes.
    let span = tracing::info_span!("request", protocol = "openai");
    match handle(&st, t0, headers, body).instrument(span).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn handle(st: &Arc<ProxyState>, t0: Instant, headers: HeaderMap, body: Body) -> Result<Response, ProxyError> {
    let Intake { forward: original, req, mut guard, t_parse, stream, model } =
        intake(st, t0, &headers, body, Protocol::OpenAi, |_| Ok(()), inject).await?;
    if st.log_bodies {
        tracing::debug!(body = %serde_json::Value::Object(req.body.clone()), "request");
    }

    let routes = st.routes.load_full();
    let candidates = routes.candidates(model.as_deref());
    // To an OpenAI upstream the client's bytes go out as they came (with the skills block spliced
    // in when that was the only edit).
    guard.add_own(t_parse.elapsed());
    let sent = forward::send_turn(st, &candidates, &headers, Protocol::OpenAi, &req.body, original).await;
    guard.set_request(Value::Object(req.body));
    forward::conclude(guard, sent, &candidates, Protocol::OpenAi, stream, model.as_deref()).await
}
