//! Finding a user's calendars: the server address (or an email's domain, RFC 6764: its DNS SRV/TXT
//! records, then `/.well-known/caldav`) → `current-user-principal` → `calendar-home-set` → the calendar
//! collections in it, with their names, colours, components and the user's privileges.

use reqwest::Url;

use super::http::{shown, PROPFIND_LIMIT};
use super::xml::{self, Node, APPLE, CALDAV, CS, DAV};
use super::{srv, CalDavError, Client, Credentials, Discovered, RemoteCalendar};

/// Most calendars listed for one account (the rest are ignored).
pub const MAX_CALENDARS: usize = 500;

const PRINCIPAL_BODY: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">
  <d:prop><d:current-user-principal/><c:calendar-home-set/><d:resourcetype/></d:prop>
</d:propfind>"#;

const HOME_BODY: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">
  <d:prop><c:calendar-home-set/></d:prop>
</d:propfind>"#;

const LIST_BODY: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav" xmlns:cs="http://calendarserver.org/ns/" xmlns:a="http://apple.com/ns/ical/">
  <d:prop>
    <d:resourcetype/><d:displayname/><a:calendar-color/><c:supported-calendar-component-set/>
    <d:current-user-privilege-set/><cs:getctag/><d:sync-token/>
  </d:prop>
</d:propfind>"#;

/// The addresses to ask, in order: for an email, its domain's well-known address; for a server
/// root, the well-known address then the root; for a path, the path then the well-known address.
pub fn candidates(server: &str) -> Result<Vec<Url>, CalDavError> {
    let s = server.trim();
    let bad = || CalDavError::BadAddress(s.chars().take(80).collect());
    if s.is_empty() || s.chars().any(char::is_whitespace) {
        return Err(bad());
    }
    if !s.contains("://") && !s.contains('/') {
        if let Some((_, domain)) = s.rsplit_once('@') {
            let url = Url::parse(&format!("https://{domain}/.well-known/caldav")).map_err(|_| bad())?;
            return Ok(vec![url]);
        }
    }
    let text = if s.contains("://") { s.to_string() } else { format!("https://{s}") };
    let mut url = Url::parse(&text).map_err(|_| bad())?;
    if url.host_str().is_none() || !matches!(url.scheme(), "https" | "http") {
        return Err(bad());
    }
    let _ = url.set_username("");
    let _ = url.set_password(None);
    url.set_query(None);
    url.set_fragment(None);
    let well_known = url.join("/.well-known/caldav").map_err(|_| bad())?;
    Ok(if url.path() == "/" || url.path().is_empty() { vec![well_known, url] } else { vec![url, well_known] })
}

/// The domain of an email address (what [`candidates`] treats as one).
fn email_domain(server: &str) -> Option<&str> {
    let s = server.trim();
    if s.contains("://") || s.contains('/') {
        return None;
    }
    s.rsplit_once('@').map(|(_, d)| d).filter(|d| !d.is_empty())
}

fn resolve(base: &Url, href: &str) -> Option<Url> {
    base.join(href).ok()
}

/// Finds the principal and calendar home from a server or email address.
pub async fn discover(c: &Client, server: &str, creds: &Credentials) -> Result<Discovered, CalDavError> {
    let mut candidates = candidates(server)?;
    let host = shown(&candidates[0]);
    // The address the domain's DNS names comes first; if it cannot be reached, the well-known
    // address is still tried.
    let from_dns = match email_domain(server) {
        Some(domain) => srv::lookup(&c.dns, domain).await,
        None => None,
    };
    let soft = usize::from(from_dns.is_some());
    if let Some(url) = from_dns {
        candidates.insert(0, url);
    }
    let mut forbidden = false;
    let mut found: Option<(Url, Option<Url>)> = None;
    for (i, url) in candidates.iter().enumerate() {
        let a = match c.request("PROPFIND", url, Some("0"), Some(PRINCIPAL_BODY), creds, PROPFIND_LIMIT).await {
            Ok(a) => a,
            Err(CalDavError::Network { .. } | CalDavError::Timeout(_) | CalDavError::Tls { .. }) if i < soft => {
                continue
            }
            // 404s and the like mean "try the next address"; anything about the connection or
            // the credentials is the same for every address.
            Err(CalDavError::NotFound | CalDavError::Status(_) | CalDavError::TooLarge(_)) => continue,
            Err(e) => return Err(e),
        };
        if a.status == 403 {
            forbidden = true;
            continue;
        }
        // Some servers leave out the content type: any 207 that reads as a multistatus will do.
        if a.status != 207 || !(a.xml || a.body.trim_start().starts_with('<')) {
            continue;
        }
        let Ok(m) = xml::multistatus(&a.body) else { continue };
        let href_of = |ns: &str, name: &str| {
            m.responses.iter().find_map(|r| r.prop(ns, name).and_then(Node::href).and_then(|h| resolve(&a.url, h)))
        };
        let principal = href_of(DAV, "current-user-principal");
        let home = href_of(CALDAV, "calendar-home-set");
        if principal.is_some() || home.is_some() {
            found = Some((principal.unwrap_or_else(|| a.url.clone()), home));
            break;
        }
    }
    let Some((principal, home)) = found else {
        return Err(if forbidden { CalDavError::Forbidden } else { CalDavError::NotCalDav(host) });
    };
    let home = match home {
        Some(h) => h,
        None => {
            let a = c.request("PROPFIND", &principal, Some("0"), Some(HOME_BODY), creds, PROPFIND_LIMIT).await?;
            status_ok(a.status)?;
            let m = xml::multistatus(&a.body)?;
            m.responses
                .iter()
                .find_map(|r| r.prop(CALDAV, "calendar-home-set").and_then(Node::href).and_then(|h| resolve(&a.url, h)))
                .ok_or_else(|| CalDavError::NotCalDav(host.clone()))?
        }
    };
    Ok(Discovered { principal: principal.to_string(), home: home.to_string() })
}

/// 207 goes on; errors in words.
pub fn status_ok(status: u16) -> Result<(), CalDavError> {
    match status {
        207 => Ok(()),
        403 => Err(CalDavError::Forbidden),
        404 | 410 => Err(CalDavError::NotFound),
        s => Err(CalDavError::Status(s)),
    }
}

/// Lists the calendars in the home.
pub async fn calendars(c: &Client, d: &Discovered, creds: &Credentials) -> Result<Vec<RemoteCalendar>, CalDavError> {
    let home = Url::parse(&d.home).map_err(|_| CalDavError::BadAddress(d.home.chars().take(80).collect()))?;
    let a = c.request("PROPFIND", &home, Some("1"), Some(LIST_BODY), creds, PROPFIND_LIMIT).await?;
    if a.status == 207 && !a.xml && !a.body.trim_start().starts_with('<') {
        return Err(CalDavError::NotCalDav(shown(&home)));
    }
    status_ok(a.status)?;
    let m = xml::multistatus(&a.body)?;
    let mut out = Vec::new();
    for r in &m.responses {
        let Some(url) = resolve(&a.url, &r.href) else { continue };
        if url.path().trim_end_matches('/') == a.url.path().trim_end_matches('/') {
            continue;
        }
        let Some(types) = r.prop(DAV, "resourcetype") else { continue };
        let calendar = types.child(CALDAV, "calendar").is_some();
        let subscribed = types.child(CS, "subscribed").is_some();
        if !calendar && !subscribed {
            continue;
        }
        let shared_in = types.child(CS, "shared").is_some();
        let writable = r.prop(DAV, "current-user-privilege-set").is_none_or(|set| {
            set.children_named(DAV, "privilege")
                .flat_map(|p| p.children.iter())
                .any(|p| p.ns == DAV && matches!(p.name.as_str(), "all" | "write" | "write-content" | "bind"))
        });
        // No component set stated: any component, events included.
        let events = calendar && r.prop(CALDAV, "supported-calendar-component-set").is_none_or(has_vevent);
        let name = r.text(DAV, "displayname").unwrap_or_else(|| {
            url.path_segments().and_then(|s| s.rev().find(|s| !s.is_empty())).unwrap_or("").to_string()
        });
        out.push(RemoteCalendar {
            href: url.to_string(),
            name: name.chars().take(200).collect(),
            color: r.text(APPLE, "calendar-color").as_deref().and_then(colour),
            own: calendar && !subscribed && !shared_in && writable,
            events,
        });
        if out.len() >= MAX_CALENDARS {
            tracing::warn!("the CalDAV server lists more than {MAX_CALENDARS} calendars; the rest are ignored");
            break;
        }
    }
    Ok(out)
}

/// Whether a `supported-calendar-component-set` names VEVENT (`<c:comp name="VEVENT"/>`), or
/// names nothing.
fn has_vevent(set: &Node) -> bool {
    let mut comps = set.children_named(CALDAV, "comp").peekable();
    comps.peek().is_none() || comps.any(|c| c.attr("name").is_some_and(|n| n.eq_ignore_ascii_case("VEVENT")))
}

/// `#RRGGBB` or `#RRGGBBAA` → `#rrggbb`.
pub fn colour(s: &str) -> Option<String> {
    let hex = s.trim().strip_prefix('#')?;
    if !(hex.len() == 6 || hex.len() == 8) || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    Some(format!("#{}", hex[..6].to_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_become_candidates() {
        let c = |s: &str| candidates(s).unwrap().iter().map(Url::to_string).collect::<Vec<_>>();
        assert_eq!(c("ada@example.com"), ["https://example.com/.well-known/caldav"]);
        assert_eq!(
            c("caldav.example.com"),
            ["https://caldav.example.com/.well-known/caldav", "https://caldav.example.com/"]
        );
        assert_eq!(
            c("https://u:p@dav.example.com/remote.php/dav"),
            ["https://dav.example.com/remote.php/dav", "https://dav.example.com/.well-known/caldav"]
        );
        assert!(candidates("not an address").is_err());
        assert!(candidates("ftp://x/").is_err());
    }

    #[test]
    fn colours_drop_alpha() {
        assert_eq!(colour("#FF2968FF").as_deref(), Some("#ff2968"));
        assert_eq!(colour("#0088cc").as_deref(), Some("#0088cc"));
        assert_eq!(colour("red"), None);
        assert_eq!(colour("#12345"), None);
    }
}
