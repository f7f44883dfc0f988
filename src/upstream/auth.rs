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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn up(kind: Protocol, auth: Auth, key: Option<&str>) -> Upstream {
        Upstream {
            name: "u".into(),
            kind,
            auth,
            base_url: "http://127.0.0.1:9/v1".into(),
            key: key.map(str::to_string),
            model: None,
            models: Vec::new(),
            default: true,
            timeout: Duration::from_secs(1),
            stream_idle_timeout: Duration::from_secs(1),
            logprobs: false,
            parsed_url: Default::default(),
            plain: None,
        }
    }

    /// The headers `rb` would send, as (name, value) pairs of the ones credentials touch.
    fn sent(rb: reqwest::RequestBuilder) -> Vec<(String, String)> {
        let req = rb.build().unwrap();
        ["authorization", "x-api-key", "anthropic-version"]
            .iter()
            .filter_map(|n| req.headers().get(*n).map(|v| (n.to_string(), v.to_str().unwrap().to_string())))
            .collect()
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        pairs.iter().map(|(k, v)| (http::HeaderName::from_static(k), v.parse().unwrap())).collect()
    }

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
    }

    #[test]
    fn each_protocol_gets_its_own_credential_header_and_anthropic_its_version() {
        let c = reqwest::Client::new();
        let rb = || c.post("http://127.0.0.1:9/v1/x");
        let none = HeaderMap::new();
        let oa = up(Protocol::OpenAi, Auth::Key, Some("sk-1"));
        let an = up(Protocol::Anthropic, Auth::Key, Some("sk-2"));
        assert_eq!(
            sent(authorise(rb(), &oa, &none, Protocol::OpenAi).unwrap()),
            pairs(&[("authorization", "Bearer sk-1")])
        );
        let anthropic = pairs(&[("x-api-key", "sk-2"), ("anthropic-version", ANTHROPIC_VERSION)]);
        assert_eq!(sent(authorise(rb(), &an, &none, Protocol::Anthropic).unwrap()), anthropic);
        // MetaClaw's own background calls send exactly what a proxied request would.
        assert_eq!(sent(stored_credentials(rb(), &oa)), pairs(&[("authorization", "Bearer sk-1")]));
        assert_eq!(sent(stored_credentials(rb(), &an)), anthropic);
        // A client that names its Anthropic version keeps it (it is forwarded with its headers).
        let v = headers(&[("anthropic-version", "2099-01-01")]);
        assert_eq!(sent(authorise(rb(), &an, &v, Protocol::Anthropic).unwrap()), pairs(&[("x-api-key", "sk-2")]));
    }

    #[test]
    fn passthrough_forwards_the_callers_credential_as_it_came_or_says_how_to_send_one() {
        let c = reqwest::Client::new();
        let rb = || c.post("http://127.0.0.1:9/v1/x");
        let an = up(Protocol::Anthropic, Auth::Passthrough, None);
        let oauth = headers(&[("authorization", "Bearer tok")]);
        let key = headers(&[("x-api-key", " k ")]);
        assert_eq!(
            sent(authorise(rb(), &an, &oauth, Protocol::Anthropic).unwrap()),
            pairs(&[("authorization", "Bearer tok"), ("anthropic-version", ANTHROPIC_VERSION)])
        );
        assert_eq!(
            sent(authorise(rb(), &an, &key, Protocol::Anthropic).unwrap()),
            pairs(&[("x-api-key", "k"), ("anthropic-version", ANTHROPIC_VERSION)])
        );
        let oa = up(Protocol::OpenAi, Auth::Passthrough, None);
        assert_eq!(
            sent(authorise(rb(), &oa, &key, Protocol::OpenAi).unwrap()),
            pairs(&[("authorization", "Bearer k")])
        );
        let err = authorise(rb(), &oa, &HeaderMap::new(), Protocol::Anthropic).unwrap_err();
        assert!(err.to_string().contains("send them as `x-api-key`"), "{err}");
        let err = authorise(rb(), &oa, &HeaderMap::new(), Protocol::OpenAi).unwrap_err();
        assert!(err.to_string().contains("`Authorization: Bearer …`"), "{err}");
    }
}
