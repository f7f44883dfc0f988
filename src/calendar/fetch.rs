//! Getting a feed's text: HTTPS (and `webcal://`) with ETag / If-Modified-Since, or a local file.
//! Both are read with a running size limit; local files must be regular files (never a device or
//! a pipe, whatever a symlink points at); redirects never lead to a lower scheme or from a public
//! address to a local one. Errors say what the user can do about them and never contain the
//! feed's secret address.

use std::io::Read as _;
use std::net::IpAddr;
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
    Ok(Fetched::New { body: String::from_utf8_lossy(&bytes).into_owned(), etag, last_modified })
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

fn read_file_blocking(path: &std::path::Path) -> Result<String, FetchError> {
    // One message whatever the cause, so the API never tells whether a path exists.
    let refuse = || FetchError::File {
        path: path.display().to_string(),
        reason: "it is not a readable calendar file (an existing, regular .ics file is needed)".into(),
    };
    if !path.is_absolute() {
        return Err(FetchError::RelativePath(path.display().to_string()));
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
    Ok(String::from_utf8_lossy(&bytes).into_owned())
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

/// The HTTP client feeds are fetched with: at most 10 redirects, none to a lower scheme or from
/// a public address to a local or private one.
pub fn client() -> reqwest::Client {
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
    reqwest::Client::builder()
        .user_agent(concat!("MetaClaw/", env!("CARGO_PKG_VERSION"), " (calendar)"))
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(60))
        .redirect(policy)
        .build()
        .expect("reqwest client")
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
        // A FIFO would block a plain open(2).
        let fifo = d.path().join("pipe.ics");
        if std::process::Command::new("mkfifo").arg(&fifo).status().is_ok_and(|s| s.success()) {
            assert!(rt.block_on(read_file(&fifo)).is_err());
        }
    }
}
