//! Talking to upstreams, in one place: the routing table and the connection pool, credentials,
//! building a turn's request, sending with failover, the background [`complete`] used by the
//! judge, the evolver and replays, and the embeddings call.
//!
//! The wire [`Protocol`] and the upstreams' settings are the config's ([`crate::config`]); this
//! module reads them and the config never reads this one.

mod auth;
pub mod complete;
pub mod embed;
mod error;
mod headers;
mod pool;
mod request;
mod routes;
mod send;

pub use auth::{authorise, stored_credentials, ANTHROPIC_VERSION};
pub use complete::{complete, LlmError};
pub use error::UpstreamError;
pub use headers::{forward_request_headers, passthrough_path_ok, redact_userinfo, relay_response_headers};
pub use pool::http_client;
pub use request::{turn_body, turn_path};
pub use routes::{from_config, Routes, SharedRoutes, Upstream};
pub use send::{read_bounded, send, send_error, send_turn, send_with_failover, Bounded, Sent, MAX_ANSWER_BYTES};

pub use crate::config::{Auth, Protocol};
