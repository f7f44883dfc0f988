//! Why a call to an upstream failed, in words that name the upstream (never its credentials); the
//! proxy turns these into its own errors, in the caller's protocol.

use crate::config::Protocol;

#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// The routing table has no upstream for the request.
    #[error("{0}")]
    NoUpstream(String),
    /// The upstream takes the caller's own credentials and the caller sent none.
    #[error(
        "the upstream {upstream} uses the caller's own credentials (auth = \"passthrough\"); send them as {}",
        if *client == Protocol::Anthropic { "`x-api-key`" } else { "`Authorization: Bearer …`" }
    )]
    NoCallerCredential { upstream: String, client: Protocol },
    /// The request could not be put in the upstream's protocol.
    #[error("{message} (upstream {upstream})")]
    Translate { upstream: String, message: String },
    /// No response headers in time.
    #[error("{message}")]
    Timeout {
        message: String,
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// No connection, or the exchange broke off.
    #[error("{message}")]
    Unreachable {
        message: String,
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
}
