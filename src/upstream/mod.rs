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
pub use routes::{from_config, Routes, SharedRoutes, TurnUrl, Upstream};
pub use send::{read_bounded, send, send_error, send_turn, send_with_failover, Bounded, Sent, MAX_ANSWER_BYTES};

pub use crate::config::{Auth, Protocol};

#[cfg(test)]
mod tests {
    /// `config` is read by `upstream`, never the other way round (no import cycle): the wire
    /// protocol and the upstream settings are the config's own types.
    #[test]
    fn the_config_never_imports_upstream() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/config");
        let mut checked = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                assert!(!text.contains("crate::upstream"), "{} imports crate::upstream", path.display());
                checked += 1;
            }
        }
        assert!(checked >= 3, "read {checked} files in {}", dir.display());
    }
}
