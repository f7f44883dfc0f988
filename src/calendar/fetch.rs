//! Getting a feed's text: HTTPS (and `webcal://`) with ETag / If-Modified-Since, or a local file.
//! Both are read with a running size limit; local files must be regular files (never a device or
//! a pipe, whatever a symlink points at); redirects never lead to a lower scheme or from a public
//! address to a local one. Errors say what the user can do about them and never contain the
//! feed's secret address.

use std::future::Future;
use std::io::Read as _;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// The largest feed we accept.
pub const MAX_BYTES: usize = 20 * 1024 * 1024;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum FetchError {
    #[error("the calendar server refused access (HTTP {0}); the secret address may have been reset: copy the current one and add the calendar again")]
    Refused(u16),
    #[error("the calendar was not found (HTTP 404); it may have been deleted or unpublished")]
    NotFound,
    #[error("the calendar server answered HTTP {0}")]
    Status(u16),
    #[error("could not reach the calendar server: {0}")]
    Network(String),
    #[error("the feed is larger than {} MB", MAX_BYTES / 1024 / 1024)]
    TooLarge,
    #[error("could not read {path}: {reason}")]
    File { path: String, reason: String },
    #[error("{0:?} is not a calendar address: use https://, webcal:// or a path to an .ics file")]
    BadSource(String),
    #[error("{0:?} is not a full path: give the calendar file's absolute path (starting with /)")]
    RelativePath(String),
}

/// What a conditional GET returned.
#[derive(Debug)]
pub enum Fetched {
    /// 304: the cached copy is current.
    Unchanged,
    New {
        body: String,
        etag: Option<String>,
        last_modified: Option<String>,
    },
}

/// `webcal://` and `webcals://` are HTTPS; `http://` is allowed (local servers); anything else
/// is refused.
pub fn normalise_url(source: &str) -> Result<reqwest::Url, FetchError> {
    let s = source.trim();
    let lower = s.to_ascii_lowercase();
    let fixed = if let Some(rest) = lower.strip_prefix("webcals://").or_else(|| lower.strip_prefix("webcal://")) {
        format!("https://{}", &s[s.len() - rest.len()..])
    } else {
        s.to_string()
    };
    let url = reqwest::Url::parse(&fixed).map_err(|_| FetchError::BadSource(redact_source(s)))?;
    match url.scheme() {
        "https" | "http" if url.host_str().is_some() => Ok(url),
        _ => Err(FetchError::BadSource(redact_source(s))),
    }
}

/// What may be shown of a source: the host of a URL (its path and query are the secret), or the
/// path of a file.
pub fn redact_source(source: &str) -> String {
    match reqwest::Url::parse(source.trim()) {
        Ok(u) if u.host_str().is_some() => format!("{}://{}", u.scheme(), u.host_str().unwrap_or_default()),
        _ if source.contains("://") => "(unreadable address)".into(),
        _ => source.trim().to_string(),
    }
}

/// A conditional GET of a feed.
pub async fn get(
    client: &reqwest::Client,
    url: &reqwest::Url,
    etag: Option<&str>,
    last_modified: Option<&str>,
) -> Result<Fetched, FetchError> {
    let mut req = client.get(url.clone()).header("accept", "text/calendar, */*;q=0.5");
    if let Some(e) = etag {
        req = req.header("if-none-match", e);
    }
    if let Some(m) = last_modified {
        req = req.header("if-modified-since", m);
    }
    let resp = req.send().await.map_err(network)?;
    let status = resp.status().as_u16();
    match status {
        304 => return Ok(Fetched::Unchanged),
        401 | 403 => return Err(FetchError::Refused(status)),
        404 | 410 => return Err(FetchError::NotFound),
        200..=299 => {}
        _ => return Err(FetchError::Status(status)),
    }
    let header = |name: &str| resp.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
    let (etag, last_modified) = (header("etag"), header("last-modified"));
    if resp.content_length().is_some_and(|n| n as usize > MAX_BYTES) {
        return Err(FetchError::TooLarge);
    }
    // Read chunk by chunk with a running limit: a chunked (or lying) feed never gets buffered
    // past the limit.
    let mut resp = resp;
    let mut bytes: Vec<u8> = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(network)? {
        if bytes.len() + chunk.len() > MAX_BYTES {
            return Err(FetchError::TooLarge);
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(Fetched::New { body: super::ics::decode(&bytes), etag, last_modified })
}

fn network(e: reqwest::Error) -> FetchError {
    let e = e.without_url();
    let mut msg = e.to_string();
    let mut src = std::error::Error::source(&e);
    while let Some(s) = src {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        src = s.source();
    }
    FetchError::Network(msg)
}

/// `open(2)` flag that keeps opening a FIFO from blocking (the file is refused right after).
#[cfg(target_os = "linux")]
const O_NONBLOCK: i32 = 0o4000;
#[cfg(any(target_os = "macos", target_os = "ios", target_os = "freebsd"))]
const O_NONBLOCK: i32 = 0x0004;

/// Reads a local feed file: it must be an absolute path to a regular file (a symlink may lead to
/// one, never to a device, pipe or directory), and at most [`MAX_BYTES`] are read.
pub async fn read_file(path: &std::path::Path) -> Result<String, FetchError> {
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || read_file_blocking(&path))
        .await
        .unwrap_or_else(|e| Err(FetchError::File { path: String::new(), reason: format!("reading stopped: {e}") }))
}

/// The one message for a local path that cannot be used, whatever the cause (missing, not
/// readable, not a regular file, not `.ics`, not iCalendar inside), so the API never tells
/// whether a path exists or what it holds.
pub fn unreadable(path: &std::path::Path) -> FetchError {
    FetchError::File {
        path: path.display().to_string(),
        reason: "it is not a readable calendar file (an existing, regular file whose name ends in .ics is needed)"
            .into(),
    }
}

fn read_file_blocking(path: &std::path::Path) -> Result<String, FetchError> {
    let refuse = || unreadable(path);
    if !path.is_absolute() {
        return Err(FetchError::RelativePath(path.display().to_string()));
    }
    // Only `.ics` files: never /etc/shadow or /proc/self/environ, whatever the caller asks.
    if !path.extension().is_some_and(|e| e.eq_ignore_ascii_case("ics")) {
        return Err(refuse());
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.read(true);
    #[cfg(any(target_os = "linux", target_os = "macos", target_os = "ios", target_os = "freebsd"))]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.custom_flags(O_NONBLOCK);
    }
    let file = opts.open(path).map_err(|_| refuse())?;
    // The opened file itself, wherever a symlink led: only regular files.
    let meta = file.metadata().map_err(|_| refuse())?;
    if !meta.is_file() {
        return Err(refuse());
    }
    if meta.len() > MAX_BYTES as u64 {
        return Err(FetchError::TooLarge);
    }
    let mut bytes = Vec::new();
    file.take(MAX_BYTES as u64 + 1).read_to_end(&mut bytes).map_err(|_| refuse())?;
    if bytes.len() > MAX_BYTES {
        return Err(FetchError::TooLarge);
    }
    Ok(super::ics::decode(&bytes))
}

/// Whether an address is this machine or a private network: loopback, RFC 1918, link-local,
/// unique-local, unspecified (IPv4-mapped IPv6 included).
pub fn is_local_ip(ip: IpAddr) -> bool {
    match ip.to_canonical() {
        IpAddr::V4(v4) => {
            v4.is_loopback() || v4.is_private() || v4.is_link_local() || v4.is_unspecified() || v4.octets()[0] == 0
        }
        IpAddr::V6(v6) => {
            v6.is_loopback()
                || v6.is_unspecified()
                || (v6.segments()[0] & 0xfe00) == 0xfc00
                || (v6.segments()[0] & 0xffc0) == 0xfe80
        }
    }
}

/// Whether a URL names this machine or a private network by address or as `localhost`.
fn is_local_url(u: &reqwest::Url) -> bool {
    let Some(host) = u.host_str() else { return true };
    is_local_name(host)
}

/// Whether a host (an address, or a name) is local by its text alone.
fn is_local_name(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<IpAddr>() {
        Ok(ip) => is_local_ip(ip),
        Err(_) => {
            let d = bare.trim_end_matches('.').to_ascii_lowercase();
            d == "localhost" || d.ends_with(".localhost")
        }
    }
}

/// Why a redirect from `original` (through `previous`) to `next` is refused, if it is.
pub fn refuse_redirect(original: &reqwest::Url, previous: &reqwest::Url, next: &reqwest::Url) -> Option<&'static str> {
    if !matches!(next.scheme(), "https" | "http") {
        return Some("the calendar server redirected to an address that is not http(s)");
    }
    if previous.scheme() == "https" && next.scheme() == "http" {
        return Some("the calendar server redirected from https to plain http");
    }
    if is_local_url(next) && !is_local_url(original) {
        return Some("the calendar server redirected to a local or private address");
    }
    None
}

/// Looks a host name up: the system's resolver, or a test's.
pub type Lookup =
    Arc<dyn Fn(String) -> Pin<Box<dyn Future<Output = std::io::Result<Vec<SocketAddr>>> + Send>> + Send + Sync>;

fn system_lookup() -> Lookup {
    Arc::new(|host: String| Box::pin(async move { Ok(tokio::net::lookup_host((host.as_str(), 0)).await?.collect()) }))
}

/// The message when a public feed's name leads to a local address.
pub const LOCAL_BY_DNS: &str = "the calendar server's name leads to a local or private address";

/// A DNS resolver that refuses local and private addresses (loopback, RFC 1918, link-local,
/// unspecified, …) for every name but `localhost` ones, so a public feed — or a redirect from
/// one — never reaches this machine or its network by a name that resolves there.
struct PublicOnly(Lookup);

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let (lookup, host) = (self.0.clone(), name.as_str().to_string());
        Box::pin(async move {
            let addrs = lookup(host.clone()).await?;
            let named_local = is_local_name(&host);
            let public: Vec<SocketAddr> = addrs.into_iter().filter(|a| named_local || !is_local_ip(a.ip())).collect();
            if public.is_empty() {
                return Err(LOCAL_BY_DNS.into());
            }
            Ok(Box::new(public.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// The HTTP clients feeds are fetched with: one for public feeds, whose names must resolve to
/// public addresses, and one for feeds the user configured on this machine or a local network
/// (by address, `localhost`, or a name that resolves only to local addresses).
#[derive(Clone)]
pub struct Clients {
    public: reqwest::Client,
    local: reqwest::Client,
    lookup: Lookup,
}

impl Default for Clients {
    fn default() -> Self {
        Self::with_lookup(system_lookup())
    }
}

impl Clients {
    /// The clients, resolving names with `lookup` (tests give their own).
    pub fn with_lookup(lookup: Lookup) -> Self {
        Self { public: build(Some(Arc::new(PublicOnly(lookup.clone())))), local: build(None), lookup }
    }

    /// The client for a feed: the local one when the feed's own address is local.
    pub async fn for_url(&self, url: &reqwest::Url) -> &reqwest::Client {
        if is_local_url(url) {
            return &self.local;
        }
        let host = url.host_str().unwrap_or_default().to_string();
        match (self.lookup)(host).await {
            Ok(addrs) if !addrs.is_empty() && addrs.iter().all(|a| is_local_ip(a.ip())) => &self.local,
            _ => &self.public,
        }
    }
}

/// The HTTP client feeds are fetched with: at most 10 redirects, none to a lower scheme or from
/// a public address to a local or private one.
fn build(resolver: Option<Arc<PublicOnly>>) -> reqwest::Client {
    let policy = reqwest::redirect::Policy::custom(|attempt| {
        if attempt.previous().len() > 10 {
            return attempt.error("the calendar server redirected more than 10 times");
        }
        let (Some(original), Some(previous)) = (attempt.previous().first(), attempt.previous().last()) else {
            return attempt.follow();
        };
        match refuse_redirect(original, previous, attempt.url()) {
            Some(why) => attempt.error(why),
            None => attempt.follow(),
        }
    });
    let mut b = reqwest::Client::builder()
        .user_agent(concat!("MetaClaw/", env!("CARGO_PKG_VERSION"), " (calendar)"))
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(60))
        .redirect(policy);
    if let Some(r) = resolver {
        b = b.dns_resolver(r);
    }
    b.build().expect("reqwest client")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webcal_becomes_https_and_secrets_are_hidden() {
        let u = normalise_url("webcal://p42-caldav.icloud.com/published/2/SECRET").unwrap();
        assert_eq!(u.as_str(), "https://p42-caldav.icloud.com/published/2/SECRET");
        assert!(normalise_url("ftp://x/y").is_err());
        assert!(normalise_url("not a url").is_err());
        let shown = redact_source("https://calendar.google.com/calendar/ical/ada%40x/private-abc123/basic.ics");
        assert_eq!(shown, "https://calendar.google.com");
        let err = normalise_url("gopher://host/private-abc123").unwrap_err().to_string();
        assert!(!err.contains("abc123"), "{err}");
    }

    #[test]
    fn redirects_to_local_addresses_or_plain_http_are_refused() {
        let u = |s: &str| reqwest::Url::parse(s).unwrap();
        let public = u("https://calendar.example.com/feed.ics");
        for local in [
            "https://127.0.0.1:8080/x",
            "https://localhost/x",
            "https://10.1.2.3/x",
            "https://192.168.0.10/x",
            "https://169.254.169.254/latest",
            "https://[::1]/x",
            "https://[::ffff:127.0.0.1]/x",
            "https://[fd00::1]/x",
        ] {
            assert!(refuse_redirect(&public, &public, &u(local)).is_some(), "{local}");
        }
        assert!(refuse_redirect(&public, &public, &u("http://calendar.example.com/x")).is_some(), "https to http");
        assert!(refuse_redirect(&public, &public, &u("https://cdn.example.net/x")).is_none());
        // A local server may redirect within the local network.
        let local = u("http://127.0.0.1:9000/a.ics");
        assert!(refuse_redirect(&local, &local, &u("http://127.0.0.1:9000/b.ics")).is_none());
    }

    #[test]
    fn a_public_name_that_resolves_to_a_local_address_is_refused() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        // A server on loopback, reached by a public-looking name that resolves to it.
        let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
        let port = listener.local_addr().unwrap().port();
        rt.spawn(async move {
            use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
            while let Ok((mut s, _)) = listener.accept().await {
                let mut req = Vec::new();
                let mut buf = [0u8; 1024];
                while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                    match s.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => req.extend_from_slice(&buf[..n]),
                    }
                }
                let body = "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n";
                let answer =
                    format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}", body.len());
                let _ = s.write_all(answer.as_bytes()).await;
            }
        });
        let lookup: Lookup = Arc::new(move |host: String| {
            Box::pin(async move {
                Ok(match host.as_str() {
                    "rebind.example.com" => vec![SocketAddr::from(([127, 0, 0, 1], 0))],
                    "mixed.example.com" => {
                        vec![SocketAddr::from(([10, 0, 0, 7], 0)), SocketAddr::from(([93, 184, 216, 34], 0))]
                    }
                    _ => vec![SocketAddr::from(([127, 0, 0, 1], 0))],
                })
            })
        });
        let clients = Clients::with_lookup(lookup.clone());
        // The resolver itself: local addresses are dropped for public names, kept for localhost.
        let resolver = PublicOnly(lookup);
        let resolve = |name: &str| {
            let name: reqwest::dns::Name = name.parse().unwrap();
            rt.block_on(reqwest::dns::Resolve::resolve(&resolver, name)).map(|a| a.map(|a| a.ip()).collect::<Vec<_>>())
        };
        assert!(resolve("rebind.example.com").unwrap_err().to_string().contains(LOCAL_BY_DNS));
        assert_eq!(resolve("mixed.example.com").unwrap(), vec![IpAddr::from([93, 184, 216, 34])]);
        assert_eq!(resolve("localhost").unwrap(), vec![IpAddr::from([127, 0, 0, 1])]);
        // End to end: the public client refuses; a feed configured on loopback still works.
        let public = reqwest::Url::parse(&format!("http://rebind.example.com:{port}/feed.ics")).unwrap();
        let err = rt.block_on(get(&clients.public, &public, None, None)).unwrap_err();
        assert!(err.to_string().contains(LOCAL_BY_DNS), "{err}");
        let direct = reqwest::Url::parse(&format!("http://127.0.0.1:{port}/feed.ics")).unwrap();
        let c = rt.block_on(clients.for_url(&direct)).clone();
        let got = rt.block_on(get(&c, &direct, None, None));
        assert!(matches!(got, Ok(Fetched::New { .. })), "{got:?}");
        let named = reqwest::Url::parse(&format!("http://localhost:{port}/feed.ics")).unwrap();
        let c = rt.block_on(clients.for_url(&named)).clone();
        let got = rt.block_on(get(&c, &named, None, None));
        assert!(matches!(got, Ok(Fetched::New { .. })), "{got:?}");
    }

    #[cfg(unix)]
    #[test]
    fn local_files_must_be_absolute_regular_files() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let d = tempfile::tempdir().unwrap();
        let good = d.path().join("a.ics");
        std::fs::write(&good, "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n").unwrap();
        assert!(rt.block_on(read_file(&good)).is_ok());
        let rel = rt.block_on(read_file(std::path::Path::new("a.ics"))).unwrap_err();
        assert!(matches!(rel, FetchError::RelativePath(_)), "{rel}");
        // Devices, directories and symlinks to devices are refused, quickly, with one message.
        let link = d.path().join("zero.ics");
        std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
        let missing = d.path().join("missing.ics");
        let mut messages = Vec::new();
        for p in [std::path::Path::new("/dev/zero"), d.path(), &link, &missing] {
            let e = rt.block_on(read_file(p)).unwrap_err();
            assert!(matches!(e, FetchError::File { .. }), "{}: {e}", p.display());
            messages.push(e.to_string().replace(&p.display().to_string(), "PATH"));
        }
        messages.dedup();
        assert_eq!(messages.len(), 1, "the message tells what exists: {messages:?}");
    }

    #[cfg(unix)]
    #[test]
    fn local_files_without_the_ics_extension_are_refused_with_the_same_message() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let d = tempfile::tempdir().unwrap();
        let upper = d.path().join("B.ICS");
        std::fs::write(&upper, "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n").unwrap();
        assert!(rt.block_on(read_file(&upper)).is_ok(), "the extension is case-insensitive");
        let txt = d.path().join("secret.txt");
        std::fs::write(&txt, "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n").unwrap();
        let missing = d.path().join("missing.ics");
        let mut messages = Vec::new();
        for p in
            [std::path::Path::new("/etc/passwd"), std::path::Path::new("/proc/self/environ"), &txt, &missing, d.path()]
        {
            let e = rt.block_on(read_file(p)).unwrap_err();
            assert!(matches!(e, FetchError::File { .. }), "{}: {e}", p.display());
            messages.push(e.to_string().replace(&p.display().to_string(), "PATH"));
        }
        messages.dedup();
        assert_eq!(messages.len(), 1, "the message tells what exists: {messages:?}");
        // A FIFO would block a plain open(2).
        let fifo = d.path().join("pipe.ics");
        if std::process::Command::new("mkfifo").arg(&fifo).status().is_ok_and(|s| s.success()) {
            assert!(rt.block_on(read_file(&fifo)).is_err());
        }
    }
}
