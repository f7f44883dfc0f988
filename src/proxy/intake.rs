//! Taking a turn in, the same for both client protocols: read and check the body, assign the
//! session, pick and inject the skills, and open the turn's record.

mod splice;

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::http::HeaderMap;
use bytes::Bytes;
use serde_json::{Map, Value};

use super::error::{Protocol, ProxyError};
use super::guard::TurnGuard;
use super::request::{self, ChatRequest};
use super::ProxyState;
use crate::agent::Caller;
use crate::clock::now_ms;
use crate::skills::{query_parts, Block, Injected, Placement, Semantic};
use crate::turn::{RawResponse, TurnRecord, TurnStatus, TurnType};

/// A turn taken in and ready to forward.
pub(super) struct Intake {
    /// The bytes to send an upstream of the client's protocol: the body as received when nothing
    /// was edited, or with the skills block spliced into it (see [`splice`]); `None` when
    /// the edited body must be serialised.
    pub forward: Option<Bytes>,
    pub req: ChatRequest,
    pub guard: TurnGuard,
    /// When the body had been read: MetaClaw's own time starts here.
    pub t_parse: Instant,
    pub stream: bool,
    pub model: Option<String>,
}

/// Reads, validates (with `validate` for the protocol's own rules), assigns the session, injects
/// the skills (with the protocol's `inject`) and opens the record. A request refused here is
/// logged and counted (no turn is recorded for it).
pub(super) async fn intake(
    st: &ProxyState,
    t0: Instant,
    headers: &HeaderMap,
    body: Body,
    protocol: Protocol,
    validate: impl Fn(&Map<String, Value>) -> Result<(), ProxyError>,
    inject: impl Fn(&mut Map<String, Value>, &str, Placement),
) -> Result<Intake, ProxyError> {
    let taken = take_in(st, t0, headers, body, protocol, validate, inject).await;
    if let Err(e) = &taken {
        let endpoint = match protocol {
            Protocol::OpenAi => "/v1/chat/completions",
            Protocol::Anthropic => "/v1/messages",
        };
        super::guard::refused(&st.metrics, endpoint, headers, e);
    }
    taken
}

async fn take_in(
    st: &ProxyState,
    t0: Instant,
    headers: &HeaderMap,
    body: Body,
    protocol: Protocol,
    validate: impl Fn(&Map<String, Value>) -> Result<(), ProxyError>,
    inject: impl Fn(&mut Map<String, Value>, &str, Placement),
) -> Result<Intake, ProxyError> {
    st.metrics.last_request.store(now_ms(), std::sync::atomic::Ordering::Relaxed);
    let raw = request::read_body(headers, body, st.max_body_mib).await?;
    let t_parse = Instant::now();
    let mut req = request::parse(&raw, headers)?;
    // Edited already: MetaClaw's session hints were taken out of the body.
    let hinted = req.edited;
    validate(&req.body)?;
    if let Some(why) = crate::session::add_agent_hints(&mut req.hints, headers, &req.body) {
        tracing::debug!(why, "an agent's housekeeping call: recorded as a side turn");
    }
    let session = st.sessions.resolve(req.hints.clone(), req.messages(), now_ms());
    let caller = Caller::of(headers);
    let mut block = None;
    // The messages are borrowed for the choice: the body is edited only once it is made.
    let served =
        select_skills(st, (session.turn_type, &session.id), &caller, req.messages(), |b| block = Some(b.clone())).await;
    let mut forward = (!req.edited).then(|| raw.clone());
    if let Some(b) = block {
        let placement = st.skills.config().placement;
        inject(&mut req.body, b.text(), placement);
        req.edited = true;
        forward = None;
        if protocol == Protocol::OpenAi && placement == Placement::System && !hinted {
            // The block's escaped form is made once and kept with it for later requests.
            forward = splice::system_block_appended(&raw, b.escaped_appendix());
        }
    }
    let stream = req.stream();
    let model = req.model().map(str::to_string);
    let record = new_record(st, session, caller, protocol, model.clone(), stream, served);
    let guard = TurnGuard::new(record, t0, st.store.clone(), st.metrics.clone(), st.events.clone());
    Ok(Intake { forward, req, guard, t_parse, stream, model })
}

/// Picks and injects the skills for a `main` turn (none when the client turned injection off);
/// returns what was injected, the generation served and the skills held out.
pub(super) async fn select_skills(
    st: &ProxyState,
    (turn_type, session): (TurnType, &str),
    caller: &Caller,
    messages: &[Value],
    apply: impl FnOnce(&Arc<Block>),
) -> (Vec<Injected>, i64, Vec<String>) {
    let library = st.skills.snapshot();
    let cfg = st.skills.config();
    if turn_type != TurnType::Main || !cfg.enabled || caller.inject_off {
        return (Vec::new(), library.generation, Vec::new());
    }
    // Semantic retrieval (opt-in) waits for the request's embedding, with a short timeout.
    let query = if st.skills.semantic_on() { query_parts(messages).into_iter().next() } else { None };
    let qvec = match query {
        Some((text, _)) => st.skills.embed_query(&text).await,
        None => None,
    };
    let vectors = st.skills.vectors();
    let semantic = qvec.as_deref().map(|q| Semantic { query: q, vectors: &vectors, weight: cfg.embedding_weight });
    let mut sel = library.select_for(messages, cfg, semantic, Some(&caller.agent));
    let held_out = st.holdout.apply(&library, session, &mut sel.injected);
    if !held_out.is_empty() {
        sel.block = Arc::new(Block::new(crate::effect::holdout::block_text(&library, &sel.injected)));
    }
    if !sel.injected.is_empty() {
        apply(&sel.block);
    }
    (sel.injected, library.generation, held_out)
}

/// A fresh record for a turn; the upstream, request and answer are filled in as it goes.
pub(super) fn new_record(
    st: &ProxyState,
    session: crate::session::Resolved,
    caller: Caller,
    protocol: Protocol,
    model: Option<String>,
    stream: bool,
    (skills, generation, held_out): (Vec<Injected>, i64, Vec<String>),
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
        policy_model: None,
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
        agent: caller.agent,
        inject_off: caller.inject_off,
        held_out,
    }
}
