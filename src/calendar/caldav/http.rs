//! One WebDAV request to a CalDAV server: https unless the host is loopback, redirects followed by
//! hand (the method and body kept, at most five, never to a lower scheme or to plain http off
//! loopback), the answer read with a running size limit, and errors in plain words without the
//! password or the URL's path.

use std::time::Duration;

use reqwest::{Method, Url};

use super::{CalDavError, Client, Credentials};

pub const MAX_REDIRECTS: usize = 5;
/// Answers to PROPFIND (discovery, listings).
pub const PROPFIND_LIMIT: usize = 5 * 1024 * 1024;
/// Answers to REPORT (sync-collection, calendar-multiget).
pub const REPORT_LIMIT: usize = 20 * 1024 * 1024;

/// Waiting for a connection to a server.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// One whole request, answer included.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

pub fn build(connect: Duration, total: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .user_agent(concat!("MetaClaw/", env!("CARGO_PKG_VERSION"), " (CalDAV)"))
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(connect)
        .timeout(total)
        .build()
        .expect("reqwest client")
}

/// Whether a URL's host is this machine: 127.0.0.0/8, ::1 or a `localhost` name.
pub fn is_loopback(url: &Url) -> bool {
    let Some(host) = url.host_str() else { return false };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<std::net::IpAddr>() {
        Ok(ip) => ip.to_canonical().is_loopback(),
        Err(_) => {
            let d = bare.trim_end_matches('.').to_ascii_lowercase();
            d == "localhost" || d.ends_with(".localhost")
        }
    }
}

/// What is shown of a URL: its scheme and host (and port).
pub fn shown(url: &Url) -> String {
    match url.port() {
        Some(p) => format!("{}://{}:{p}", url.scheme(), url.host_str().unwrap_or_default()),
        None => format!("{}://{}", url.scheme(), url.host_str().unwrap_or_default()),
    }
}

/// Refuses a URL we may not send credentials to: not http(s), or plain http off loopback.
pub fn check(url: &Url) -> Result<(), CalDavError> {
    match url.scheme() {
        "https" if url.host_str().is_some() => Ok(()),
        "http" if is_loopback(url) => Ok(()),
        "http" => Err(CalDavError::PlainHttp(shown(url))),
        _ => Err(CalDavError::BadAddress(shown(url))),
    }
}

/// Whether a redirect from `from` to `next` may be followed: never from https to http, never to
/// another scheme, never from a server off this machine to this machine, and plain http only on
/// loopback.
pub fn follow(from: &Url, next: &Url) -> Result<(), CalDavError> {
    if from.scheme() == "https" && next.scheme() == "http" {
        return Err(CalDavError::Downgrade);
    }
    if !matches!(next.scheme(), "https" | "http") {
        return Err(CalDavError::BadRedirect(shown(next), "not an http(s) address"));
    }
    if is_loopback(next) && !is_loopback(from) {
        return Err(CalDavError::BadRedirect(shown(next), "a server elsewhere may not send us to this machine"));
    }
    check(next)
}

/// A server's answer, read whole (within the limit).
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    /// Where the request ended up after redirects: relative hrefs resolve against it.
    pub url: Url,
    pub xml: bool,
    pub body: String,
}

impl Client {
    /// Sends `method` to `url` with the credentials, following redirects by hand. Depth is sent
    /// when given, the body as `application/xml`. A 401 is always [`CalDavError::Unauthorized`].
    pub(super) async fn request(
        &self,
        method: &str,
        url: &Url,
        depth: Option<&str>,
        body: Option<&str>,
        creds: &Credentials,
        limit: usize,
    ) -> Result<Answer, CalDavError> {
        let method = Method::from_bytes(method.as_bytes()).expect("a valid method");
        let mut url = url.clone();
        url.set_fragment(None);
        let _ = url.set_username("");
        let _ = url.set_password(None);
        check(&url)?;
        let mut hops = 0;
        loop {
            let mut req = self.http.request(method.clone(), url.clone()).basic_auth(&creds.user, Some(&creds.password));
            if let Some(d) = depth {
                req = req.header("depth", d);
            }
            if let Some(b) = body {
                req = req.header("content-type", "application/xml; charset=utf-8").body(b.to_string());
            }
            let resp = req.send().await.map_err(|e| network(&url, e))?;
            let status = resp.status().as_u16();
            if matches!(status, 301 | 302 | 303 | 307 | 308) {
                hops += 1;
                if hops > MAX_REDIRECTS {
                    return Err(CalDavError::TooManyRedirects);
                }
                let mut next = resp
                    .headers()
                    .get("location")
                    .and_then(|l| l.to_str().ok())
                    .and_then(|l| url.join(l).ok())
                    .ok_or(CalDavError::Status(status))?;
                let _ = next.set_username("");
                let _ = next.set_password(None);
                next.set_fragment(None);
                follow(&url, &next)?;
                url = next;
                continue;
            }
            if status == 401 {
                return Err(CalDavError::Unauthorized);
            }
            let xml = resp
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.to_ascii_lowercase().contains("xml"));
            if resp.content_length().is_some_and(|n| n > limit as u64) {
                return Err(CalDavError::TooLarge(limit / 1024 / 1024));
            }
            let mut resp = resp;
            let mut bytes = Vec::new();
            while let Some(chunk) = resp.chunk().await.map_err(|e| network(&url, e))? {
                if bytes.len() + chunk.len() > limit {
                    return Err(CalDavError::TooLarge(limit / 1024 / 1024));
                }
                bytes.extend_from_slice(&chunk);
            }
            return Ok(Answer { status, url, xml, body: String::from_utf8_lossy(&bytes).into_owned() });
        }
    }
}

/// A transport error in words: timeouts, TLS, or the cause chain, without the URL.
fn network(url: &Url, e: reqwest::Error) -> CalDavError {
    let host = shown(url);
    if e.is_timeout() {
        return CalDavError::Timeout(host);
    }
    let connect = e.is_connect();
    let e = e.without_url();
    let mut chain = Vec::new();
    // rustls reports a failed handshake as an io::Error of kind InvalidData inside the connect
    // error; a TCP failure has another kind (refused, unreachable, timed out).
    let mut invalid_data = false;
    let mut src: Option<&dyn std::error::Error> = std::error::Error::source(&e);
    while let Some(s) = src {
        chain.push(s.to_string());
        invalid_data |=
            s.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::InvalidData);
        src = s.source();
    }
    let why = if chain.is_empty() { e.to_string() } else { chain.join(": ") };
    let lower = why.to_ascii_lowercase();
    let tls_words = ["certificate", "tls", "ssl", "handshake", "corrupt message", "alert"];
    if url.scheme() == "https" && ((connect && invalid_data) || tls_words.iter().any(|w| lower.contains(w))) {
        return CalDavError::Tls { host, why };
    }
    if lower.contains("timed out") {
        return CalDavError::Timeout(host);
    }
    CalDavError::Network { host, why }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_on_loopback() {
        let u = |s: &str| Url::parse(s).unwrap();
        for ok in ["https://caldav.example.com/", "http://127.0.0.1:5232/", "http://localhost/", "http://[::1]:80/"] {
            assert!(check(&u(ok)).is_ok(), "{ok}");
        }
        for bad in ["http://caldav.example.com/", "http://192.168.1.2/", "http://10.0.0.1/"] {
            assert!(matches!(check(&u(bad)), Err(CalDavError::PlainHttp(_))), "{bad}");
        }
        assert!(check(&u("ftp://x/")).is_err());
    }

    #[test]
    fn redirects_never_lower_the_scheme_or_reach_this_machine() {
        let u = |s: &str| Url::parse(s).unwrap();
        let public = u("https://caldav.example.com/");
        assert_eq!(follow(&public, &u("http://caldav.example.com/dav/")), Err(CalDavError::Downgrade));
        assert!(matches!(follow(&public, &u("https://127.0.0.1/")), Err(CalDavError::BadRedirect(..))));
        assert!(matches!(follow(&public, &u("file:///etc/passwd")), Err(CalDavError::BadRedirect(..))));
        assert!(follow(&public, &u("https://p42-caldav.example.com/1234/")).is_ok());
        let local = u("http://127.0.0.1:5232/");
        assert!(follow(&local, &u("http://localhost:5232/ada/")).is_ok());
        assert!(matches!(follow(&local, &u("http://caldav.example.com/")), Err(CalDavError::PlainHttp(_))));
    }
}
