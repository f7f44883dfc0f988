//! Which headers cross the proxy: the client's that may go upstream, the upstream's that may come
//! back, plus the checks that keep a passthrough path under the upstream's base and credentials in
//! an upstream's address out of anything written down.

use http::header::{self, HeaderMap, HeaderName};

/// Client headers that are MetaClaw's business or the connection's, never forwarded upstream:
/// the proxy key and every other `x-metaclaw-*` header, session hints, credentials (the upstream
/// gets its own), and `content-type` (MetaClaw sets the one it sends, so there is never two).
fn is_local_request_header(name: &HeaderName) -> bool {
    name.as_str().starts_with("x-metaclaw-")
        || matches!(
            name.as_str(),
            "host"
                | "content-length"
                | "transfer-encoding"
                | "connection"
                | "keep-alive"
                | "proxy-connection"
                | "proxy-authorization"
                | "te"
                | "trailer"
                | "upgrade"
                | "authorization"
                | "x-api-key"
                | "cookie"
                | "accept-encoding"
                | "x-session-id"
                | "x-turn-type"
                | "x-session-done"
                | "x-memory-scope"
                | "x-user-id"
                | "x-workspace-id"
                | "x-agent-id"
                | "content-type"
        )
}

/// The client's headers worth forwarding (OpenAI-Organization, OpenAI-Beta, user agents, …).
pub fn forward_request_headers(client: &HeaderMap) -> HeaderMap {
    // Sized once (a collected map grows step by step, reallocating each time).
    let mut out = HeaderMap::with_capacity(client.len());
    out.extend(client.iter().filter(|(n, _)| !is_local_request_header(n)).map(|(n, v)| (n.clone(), v.clone())));
    out
}

/// Upstream response headers to relay to the client (everything but the connection's own).
/// CORS headers (`access-control-*`) never pass: an upstream that allows every origin must not
/// let a web page read answers through MetaClaw.
pub fn relay_response_headers(upstream: &HeaderMap, streaming: bool) -> HeaderMap {
    // Room for MetaClaw's own headers too (see the proxy's turn guard).
    let mut out = HeaderMap::with_capacity(upstream.len() + 4);
    let relayed = upstream
        .iter()
        .filter(|(n, _)| {
            let hop_by_hop = matches!(
                n.as_str(),
                "connection" | "keep-alive" | "transfer-encoding" | "te" | "trailer" | "upgrade" | "proxy-connection"
            );
            // A relayed stream is re-chunked, so its length is not ours to promise.
            let stream_length = streaming && *n == header::CONTENT_LENGTH;
            let cors = n.as_str().starts_with("access-control-");
            !hop_by_hop && !stream_length && !cors
        })
        .map(|(n, v)| (n.clone(), v.clone()));
    out.extend(relayed);
    out
}

/// True when a passthrough path (the part after `/v1/`, query included) stays under the
/// upstream's base path: no `.` or `..` segment, percent-encoded or not, and no backslash (which
/// URL parsers read as a slash).
pub fn passthrough_path_ok(path_q: &str) -> bool {
    let path = path_q.split(['?', '#']).next().unwrap_or("");
    if path.contains('\\') || path.to_ascii_lowercase().contains("%5c") {
        return false;
    }
    path.split('/').all(|seg| {
        let lower = seg.to_ascii_lowercase();
        let dots = lower.replace("%2e", ".");
        dots != "." && dots != ".."
    })
}

/// `text` with the user name and password of every URL in it replaced by `***`, so an upstream
/// address with credentials never reaches an error body, a log or the database.
pub fn redact_userinfo(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        let end = tail.find(|c: char| matches!(c, '/' | '?' | '#') || c.is_whitespace() || c == ')' || c == '"');
        let authority = &tail[..end.unwrap_or(tail.len())];
        match authority.rfind('@') {
            Some(at) => {
                out.push_str("***");
                out.push_str(&authority[at..]);
            }
            None => out.push_str(authority),
        }
        rest = &tail[authority.len()..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::header::HeaderName;

    #[test]
    fn private_headers_stay_local() {
        let mut h = HeaderMap::new();
        for (k, v) in [
            ("authorization", "Bearer client"),
            ("x-session-id", "s"),
            ("accept-encoding", "gzip"),
            ("openai-organization", "org"),
            ("user-agent", "OpenAI/Python"),
        ] {
            h.insert(HeaderName::from_static(k), v.parse().unwrap());
        }
        let f = forward_request_headers(&h);
        assert_eq!(f.len(), 2);
        assert!(f.contains_key("openai-organization") && f.contains_key("user-agent"));
    }

    #[test]
    fn the_proxy_key_metaclaw_headers_and_the_content_type_stay_local() {
        let mut h = HeaderMap::new();
        for (k, v) in [
            ("x-metaclaw-key", "k12345678"),
            ("x-metaclaw-anything", "1"),
            ("x-turn-type", "side"),
            ("x-session-done", "1"),
            ("content-type", "application/json"),
            ("x-api-key", "k"),
            ("anthropic-beta", "b"),
        ] {
            h.insert(HeaderName::from_static(k), v.parse().unwrap());
        }
        let f = forward_request_headers(&h);
        assert_eq!(f.keys().map(|k| k.as_str()).collect::<Vec<_>>(), ["anthropic-beta"]);
    }

    #[test]
    fn cors_headers_from_an_upstream_are_never_relayed() {
        let mut h = HeaderMap::new();
        for (k, v) in [
            ("access-control-allow-origin", "*"),
            ("access-control-allow-credentials", "true"),
            ("access-control-expose-headers", "x-request-id"),
            ("x-request-id", "r1"),
            ("content-type", "application/json"),
        ] {
            h.insert(HeaderName::from_static(k), v.parse().unwrap());
        }
        let r = relay_response_headers(&h, false);
        assert_eq!(r.keys().map(|k| k.as_str()).collect::<Vec<_>>(), ["x-request-id", "content-type"]);
    }

    #[test]
    fn passthrough_paths_with_dot_segments_are_refused() {
        for ok in ["embeddings", "files/abc/content?x=..", "a.b/c..d/...", "models/gpt-4.1", "x%2e"] {
            assert!(passthrough_path_ok(ok), "{ok}");
        }
        for bad in [
            "..",
            "../x",
            "a/../../x",
            "./x",
            "a/.",
            "%2e%2e/x",
            "%2E%2E/x",
            "%2e./x",
            ".%2e/x",
            "%2E./x",
            "a/%2e",
            "..\\x",
            "a%5c..%5cx",
        ] {
            assert!(!passthrough_path_ok(bad), "{bad}");
        }
    }

    #[test]
    fn userinfo_in_urls_is_redacted() {
        assert_eq!(
            redact_userinfo("cannot reach the upstream gw (https://alice:s3cret@gw.example/v1): error for url (https://alice:s3cret@gw.example/v1/chat)"),
            "cannot reach the upstream gw (https://***@gw.example/v1): error for url (https://***@gw.example/v1/chat)"
        );
        assert_eq!(redact_userinfo("http://h:1/x?a=b@c"), "http://h:1/x?a=b@c");
        assert_eq!(redact_userinfo("no url here"), "no url here");
        assert_eq!(redact_userinfo("http://tok@h"), "http://***@h");
    }
}
