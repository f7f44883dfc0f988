//! Upstream credentials and protocol headers, written once for both protocols: the stored key or
//! the caller's own (`auth = "passthrough"`), as a bearer token or `x-api-key`, and Anthropic's
//! version header.

use http::HeaderMap;

use super::error::UpstreamError;
use super::routes::Upstream;
use crate::config::{Auth, Protocol};

/// The Anthropic API version sent when the client didn't say (and on every background call).
pub const ANTHROPIC_VERSION: &str = "2023-06-01";

/// How a credential arrived: as a bearer token (`authorization`) or any other way.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Via {
    Bearer,
    Other,
}

/// The caller's credential, for `auth = "passthrough"` upstreams.
fn caller_credential(client: &HeaderMap) -> Option<(Via, String)> {
    if let Some(k) = client.get("x-api-key").and_then(|v| v.to_str().ok()) {
        return Some((Via::Other, k.trim().to_string()));
    }
    client
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(|k| (Via::Bearer, k.trim().to_string()))
}

/// Adds `key` the way `up`'s protocol wants it, and the Anthropic version unless the client set one.
fn with_key(
    mut rb: reqwest::RequestBuilder,
    up: &Upstream,
    key: Option<(Via, String)>,
    client_sets_version: bool,
) -> reqwest::RequestBuilder {
    match up.kind {
        Protocol::OpenAi => {
            if let Some((_, k)) = key {
                rb = rb.bearer_auth(k);
            }
        }
        Protocol::Anthropic => {
            match key {
                // An OAuth token the caller sent as a bearer token stays one.
                Some((Via::Bearer, k)) => rb = rb.bearer_auth(k),
                Some((Via::Other, k)) => rb = rb.header("x-api-key", k),
                None => {}
            }
            if !client_sets_version {
                rb = rb.header("anthropic-version", ANTHROPIC_VERSION);
            }
        }
    }
    rb
}

/// Adds the credentials and protocol headers `up` needs for a request a client (speaking
/// `client_protocol`, with headers `client`) sent through the proxy.
pub fn authorise(
    rb: reqwest::RequestBuilder,
    up: &Upstream,
    client: &HeaderMap,
    client_protocol: Protocol,
) -> Result<reqwest::RequestBuilder, UpstreamError> {
    let key = match up.auth {
        Auth::Key => up.key.clone().map(|k| (Via::Other, k)),
        Auth::Passthrough => match caller_credential(client) {
            Some(c) => Some(c),
            None => {
                return Err(UpstreamError::NoCallerCredential { upstream: up.name.clone(), client: client_protocol })
            }
        },
    };
    Ok(with_key(rb, up, key, client.contains_key("anthropic-version")))
}

/// Adds `up`'s stored key (if any) and protocol headers, for MetaClaw's own background calls.
pub fn stored_credentials(rb: reqwest::RequestBuilder, up: &Upstream) -> reqwest::RequestBuilder {
    with_key(rb, up, up.key.clone().map(|k| (Via::Other, k)), false)
}
