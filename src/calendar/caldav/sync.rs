//! Syncing one calendar: RFC 6578 `sync-collection` with the last token (an empty token for the
//! first sync), else — when the server has no sync support or refuses the token — the ctag and a
//! Depth:1 ETag listing compared with what we hold. Either way only new or changed objects are
//! fetched, with `calendar-multiget`, in batches.

use std::collections::{HashMap, HashSet};

use reqwest::Url;

use super::discover::status_ok;
use super::http::{Answer, PROPFIND_LIMIT, REPORT_LIMIT};
use super::xml::{self, escape, CALDAV, CS, DAV};
use super::{CalDavError, Changes, Client, Credentials, Object, SyncState};

/// Most objects one calendar may hold.
pub const MAX_OBJECTS: usize = 20_000;
/// Objects fetched per calendar-multiget.
const BATCH: usize = 100;
/// Rounds of a truncated (507) sync report before giving up on more.
const MAX_ROUNDS: usize = 50;

const STATE_BODY: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:" xmlns:cs="http://calendarserver.org/ns/">
  <d:prop><cs:getctag/><d:sync-token/></d:prop>
</d:propfind>"#;

const ETAGS_BODY: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:">
  <d:prop><d:getetag/><d:resourcetype/></d:prop>
</d:propfind>"#;

/// What a sync report said: changed hrefs with their ETags, removed hrefs, the new token.
struct Report {
    changed: Vec<(String, Option<String>)>,
    removed: Vec<String>,
    token: Option<String>,
}

/// Why a sync-collection report could not be used.
enum Refused {
    /// The server has no sync support, or does not know the token: compare ETags instead.
    Fallback,
    Error(CalDavError),
}

impl From<CalDavError> for Refused {
    fn from(e: CalDavError) -> Self {
        Refused::Error(e)
    }
}

pub async fn sync(c: &Client, href: &str, creds: &Credentials, state: &SyncState) -> Result<Changes, CalDavError> {
    let url = Url::parse(href).map_err(|_| CalDavError::BadAddress(href.chars().take(80).collect()))?;
    // A server that gave a ctag but never a token has no sync support: don't ask every time.
    let try_report = state.token.is_some() || state.ctag.is_none();
    if try_report {
        match sync_report(c, &url, creds, state.token.as_deref().unwrap_or("")).await {
            Ok(r) => {
                let wanted: Vec<String> = r
                    .changed
                    .into_iter()
                    .filter(|(h, etag)| etag.is_none() || state.etags.get(h) != etag.as_ref())
                    .map(|(h, _)| h)
                    .collect();
                let (changed, mut gone) = multiget(c, &url, creds, &wanted).await?;
                let mut removed = r.removed;
                removed.append(&mut gone);
                return Ok(Changes { changed, removed, token: r.token, ctag: None });
            }
            Err(Refused::Fallback) => {
                tracing::debug!("CalDAV sync-collection refused; comparing ETags instead");
            }
            Err(Refused::Error(e)) => return Err(e),
        }
    }
    by_etags(c, &url, creds, state).await
}

fn answer_xml(a: &Answer) -> Result<xml::Multistatus, CalDavError> {
    Ok(xml::multistatus(&a.body)?)
}

/// How two hrefs for the same resource compare: the path with percent-escapes decoded and
/// without a trailing slash (servers differ in what they escape).
pub(super) fn key(u: &Url) -> String {
    let p = u.path().trim_end_matches('/').as_bytes();
    let mut out = Vec::with_capacity(p.len());
    let mut i = 0;
    while i < p.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (p[i], p.get(i + 1).copied().and_then(hex), p.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The same resource.
fn same(a: &Url, b: &Url) -> bool {
    key(a) == key(b)
}

async fn sync_report(c: &Client, url: &Url, creds: &Credentials, token: &str) -> Result<Report, Refused> {
    let mut out = Report { changed: Vec::new(), removed: Vec::new(), token: None };
    let mut token = token.to_string();
    let mut seen = HashSet::new();
    for _ in 0..MAX_ROUNDS {
        let body = format!(
            r#"<?xml version="1.0" encoding="utf-8"?>
<d:sync-collection xmlns:d="DAV:"><d:sync-token>{}</d:sync-token><d:sync-level>1</d:sync-level><d:prop><d:getetag/></d:prop></d:sync-collection>"#,
            escape(&token)
        );
        let a = c.request("REPORT", url, Some("0"), Some(&body), creds, REPORT_LIMIT).await?;
        match a.status {
            207 => {}
            // RFC 6578: 403 (or 409) with DAV:valid-sync-token for a token the server no longer
            // knows; servers without sync support answer 400, 403, 405, 415 or 501.
            403 if a.body.contains("valid-sync-token") => return Err(Refused::Fallback),
            400 | 405 | 409 | 412 | 415 | 422 | 501 => return Err(Refused::Fallback),
            s => return Err(status_ok(s).err().unwrap_or(CalDavError::Status(s)).into()),
        }
        let m = answer_xml(&a)?;
        let Some(new_token) = m.sync_token.clone() else { return Err(Refused::Fallback) };
        let mut truncated = false;
        for r in &m.responses {
            let Ok(h) = a.url.join(&r.href) else { continue };
            if same(&h, url) {
                truncated |= r.status == Some(507);
                continue;
            }
            if !seen.insert(h.to_string()) {
                continue;
            }
            if seen.len() > MAX_OBJECTS {
                return Err(CalDavError::TooMany(MAX_OBJECTS).into());
            }
            if matches!(r.status, Some(404 | 410)) {
                out.removed.push(h.to_string());
            } else {
                out.changed.push((h.to_string(), r.text(DAV, "getetag")));
            }
        }
        out.token = Some(new_token.clone());
        if !truncated || new_token == token {
            return Ok(out);
        }
        token = new_token;
    }
    Ok(out)
}

/// The fallback: ctag unchanged → nothing to do; else list ETags and fetch what differs.
async fn by_etags(c: &Client, url: &Url, creds: &Credentials, state: &SyncState) -> Result<Changes, CalDavError> {
    let a = c.request("PROPFIND", url, Some("0"), Some(STATE_BODY), creds, PROPFIND_LIMIT).await?;
    status_ok(a.status)?;
    let m = answer_xml(&a)?;
    let own = m.responses.iter().find(|r| a.url.join(&r.href).is_ok_and(|h| same(&h, url)));
    let ctag = own.and_then(|r| r.text(CS, "getctag"));
    let token = own.and_then(|r| r.text(DAV, "sync-token"));
    if ctag.is_some() && ctag == state.ctag && !state.etags.is_empty() {
        return Ok(Changes { changed: Vec::new(), removed: Vec::new(), token, ctag });
    }
    let a = c.request("PROPFIND", url, Some("1"), Some(ETAGS_BODY), creds, REPORT_LIMIT).await?;
    status_ok(a.status)?;
    let m = answer_xml(&a)?;
    let mut listed: HashMap<String, Option<String>> = HashMap::new();
    for r in &m.responses {
        let Ok(h) = a.url.join(&r.href) else { continue };
        let collection = r.prop(DAV, "resourcetype").is_some_and(|t| t.child(DAV, "collection").is_some());
        if same(&h, url) || collection || matches!(r.status, Some(404 | 410)) {
            continue;
        }
        listed.insert(h.to_string(), r.text(DAV, "getetag"));
        if listed.len() > MAX_OBJECTS {
            return Err(CalDavError::TooMany(MAX_OBJECTS));
        }
    }
    let mut wanted: Vec<String> = listed
        .iter()
        .filter(|(h, etag)| etag.is_none() || state.etags.get(*h) != etag.as_ref())
        .map(|(h, _)| h.clone())
        .collect();
    wanted.sort();
    let mut removed: Vec<String> = state.etags.keys().filter(|h| !listed.contains_key(*h)).cloned().collect();
    removed.sort();
    let (changed, mut gone) = multiget(c, url, creds, &wanted).await?;
    removed.append(&mut gone);
    Ok(Changes { changed, removed, token, ctag })
}

/// Fetches the objects at `hrefs` (absolute URLs); those the server no longer has come back as
/// removed.
async fn multiget(
    c: &Client,
    url: &Url,
    creds: &Credentials,
    hrefs: &[String],
) -> Result<(Vec<Object>, Vec<String>), CalDavError> {
    let mut objects = Vec::new();
    let mut gone = Vec::new();
    for batch in hrefs.chunks(BATCH) {
        let mut body = String::from(
            r#"<?xml version="1.0" encoding="utf-8"?>
<c:calendar-multiget xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:prop><d:getetag/><c:calendar-data/></d:prop>"#,
        );
        for h in batch {
            let path = Url::parse(h).map(|u| u.path().to_string()).unwrap_or_else(|_| h.clone());
            body.push_str(&format!("<d:href>{}</d:href>", escape(&path)));
        }
        body.push_str("</c:calendar-multiget>");
        let a = c.request("REPORT", url, Some("1"), Some(&body), creds, REPORT_LIMIT).await?;
        status_ok(a.status)?;
        let m = answer_xml(&a)?;
        // Answers are matched to what we asked by decoded path, and keep the href as we asked
        // it: the caller's ETags are keyed by it.
        let asked: HashMap<String, &String> =
            batch.iter().filter_map(|h| Url::parse(h).ok().map(|u| (key(&u), h))).collect();
        let mut answered = HashSet::new();
        for r in &m.responses {
            let Ok(u) = a.url.join(&r.href) else { continue };
            let Some(&h) = asked.get(&key(&u)) else { continue };
            let h = h.clone();
            if !answered.insert(h.clone()) {
                continue;
            }
            match r.prop(CALDAV, "calendar-data").map(|p| p.text.clone()).filter(|t| !t.trim().is_empty()) {
                Some(ics) => objects.push(Object { href: h, etag: r.text(DAV, "getetag"), ics }),
                None if matches!(r.status, Some(404 | 410)) => gone.push(h),
                None => tracing::debug!("CalDAV multiget: no calendar data for one object"),
            }
        }
    }
    Ok((objects, gone))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hrefs_compare_by_decoded_path() {
        let u = |s: &str| Url::parse(s).unwrap();
        assert_eq!(key(&u("https://h/cal/a%40b.ics")), key(&u("https://h/cal/a@b.ics")));
        assert_eq!(key(&u("https://h/cal/")), key(&u("https://h/cal")));
        assert_ne!(key(&u("https://h/cal/a.ics")), key(&u("https://h/cal/b.ics")));
        assert_eq!(key(&u("https://h/a%zz%4")), "/a%zz%4", "broken escapes are kept as they are");
        assert_eq!(key(&u("https://h/%C3%A9t%C3%A9")), "/été");
    }
}
