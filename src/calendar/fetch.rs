//! Getting a feed's text: HTTPS (and `webcal://`) with ETag / If-Modified-Since, or a local file.
//! Errors say what the user can do about them and never contain the feed's secret address.

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
    let bytes = resp.bytes().await.map_err(network)?;
    if bytes.len() > MAX_BYTES {
        return Err(FetchError::TooLarge);
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

/// Reads a local feed file.
pub async fn read_file(path: &std::path::Path) -> Result<String, FetchError> {
    let err = |reason: String| FetchError::File { path: path.display().to_string(), reason };
    let meta = tokio::fs::metadata(path).await.map_err(|e| err(e.to_string()))?;
    if meta.len() as usize > MAX_BYTES {
        return Err(FetchError::TooLarge);
    }
    let bytes = tokio::fs::read(path).await.map_err(|e| err(e.to_string()))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// The HTTP client feeds are fetched with.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .user_agent(concat!("MetaClaw/", env!("CARGO_PKG_VERSION"), " (calendar)"))
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(60))
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
}
