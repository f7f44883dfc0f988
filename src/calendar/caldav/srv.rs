//! RFC 6764 DNS discovery of a CalDAV server from an email's domain: `_caldavs._tcp` SRV (and
//! `_caldav._tcp` only for a server on loopback), with the TXT `path=` as the context path. Every
//! DNS failure is quiet (the caller falls back to `/.well-known/caldav`) and the whole lookup is
//! bounded in time.

use std::net::SocketAddr;
use std::time::Duration;

use hickory_resolver::config::{NameServerConfig, ResolverConfig, ResolverOpts};
use hickory_resolver::name_server::TokioConnectionProvider;
use hickory_resolver::proto::rr::rdata::SRV;
use hickory_resolver::proto::xfer::Protocol;
use hickory_resolver::TokioResolver;
use reqwest::Url;

use super::http::is_loopback;

/// The longest the whole DNS step may take, all queries included.
pub const DNS_BUDGET: Duration = Duration::from_secs(5);
/// Each query waits this long per attempt.
const QUERY_TIMEOUT: Duration = Duration::from_secs(2);
const ATTEMPTS: usize = 2;
/// Longest context path taken from a TXT record.
const MAX_PATH: usize = 512;

/// Where DNS questions go: the system's configuration (`/etc/resolv.conf`), or given name
/// servers over UDP (tests).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Nameservers {
    #[default]
    System,
    Given(Vec<SocketAddr>),
}

fn resolver(ns: &Nameservers) -> Option<TokioResolver> {
    let mut builder = match ns {
        Nameservers::System => TokioResolver::builder_tokio().ok()?,
        Nameservers::Given(addrs) => {
            let servers = addrs.iter().map(|a| NameServerConfig::new(*a, Protocol::Udp)).collect::<Vec<_>>();
            let config = ResolverConfig::from_parts(None, vec![], servers);
            TokioResolver::builder_with_config(config, TokioConnectionProvider::default())
                .with_options(ResolverOpts::default())
        }
    };
    let opts = builder.options_mut();
    opts.timeout = QUERY_TIMEOUT;
    opts.attempts = ATTEMPTS;
    Some(builder.build())
}

/// The CalDAV context URL the domain's DNS names, if any: `https://target:port/path` from
/// `_caldavs._tcp.<domain>`, else `http://…` from `_caldav._tcp.<domain>` when its target is
/// loopback. `None` on any failure, a "." target (no service), or when [`DNS_BUDGET`] runs out.
pub async fn lookup(ns: &Nameservers, domain: &str) -> Option<Url> {
    let domain = domain.trim_end_matches('.');
    if domain.is_empty() || domain.starts_with('[') || domain.parse::<std::net::IpAddr>().is_ok() {
        return None;
    }
    let r = resolver(ns)?;
    tokio::time::timeout(DNS_BUDGET, async {
        match service(&r, "_caldavs", "https", domain).await {
            Some(url) => Some(url),
            None => service(&r, "_caldav", "http", domain).await.filter(is_loopback),
        }
    })
    .await
    .ok()
    .flatten()
}

/// One service's URL: its best SRV record's target and port, and its TXT context path (else the
/// well-known address on that server, RFC 6764 §5).
async fn service(r: &TokioResolver, label: &str, scheme: &str, domain: &str) -> Option<Url> {
    let name = format!("{label}._tcp.{domain}.");
    let records = r.srv_lookup(name.as_str()).await.ok()?;
    let best = choose(records.iter())?;
    let target = best.target().to_ascii();
    let target = target.trim_end_matches('.');
    // A "." target: the service is decidedly not offered here.
    if target.is_empty() {
        return None;
    }
    let path = match r.txt_lookup(name.as_str()).await {
        Ok(txt) => txt.iter().flat_map(|t| t.txt_data().iter()).find_map(|s| context_path(s)),
        Err(_) => None,
    };
    let mut url = Url::parse(&format!("{scheme}://{target}:{}/", best.port())).ok()?;
    url.set_path(path.as_deref().unwrap_or("/.well-known/caldav"));
    Some(url)
}

/// The record to use: the lowest priority, then the highest weight (the first of equals).
fn choose<'a>(records: impl Iterator<Item = &'a SRV>) -> Option<&'a SRV> {
    records.fold(None, |best: Option<&SRV>, r| match best {
        Some(b) if (b.priority(), std::cmp::Reverse(b.weight())) <= (r.priority(), std::cmp::Reverse(r.weight())) => {
            Some(b)
        }
        _ => Some(r),
    })
}

/// `path=/…` from one TXT string: an absolute path of visible ASCII, bounded.
fn context_path(s: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(s).ok()?;
    let (key, value) = text.split_once('=')?;
    if !key.trim().eq_ignore_ascii_case("path") {
        return None;
    }
    let value = value.trim();
    let fine = value.starts_with('/') && value.len() <= MAX_PATH && value.bytes().all(|b| b.is_ascii_graphic());
    fine.then(|| value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_resolver::proto::rr::Name;

    fn srv(priority: u16, weight: u16, target: &str) -> SRV {
        SRV::new(priority, weight, 443, Name::from_ascii(target).unwrap())
    }

    #[test]
    fn the_lowest_priority_then_the_highest_weight_wins() {
        let rs = [srv(20, 90, "c."), srv(10, 5, "a."), srv(10, 60, "b."), srv(10, 60, "d.")];
        assert_eq!(choose(rs.iter()).unwrap().target().to_ascii(), "b.");
        assert!(choose([].iter()).is_none());
    }

    #[test]
    fn only_absolute_visible_paths_are_taken_from_txt() {
        assert_eq!(context_path(b"path=/dav/ada/").as_deref(), Some("/dav/ada/"));
        assert_eq!(context_path(b"PATH = /x").as_deref(), Some("/x"));
        assert_eq!(context_path(b"path=relative"), None);
        assert_eq!(context_path(b"path=/a b"), None);
        assert_eq!(context_path(b"other=/x"), None);
        assert_eq!(context_path(&[b'p', b'a', b't', b'h', b'=', b'/', 0xff]), None);
        assert_eq!(context_path(format!("path=/{}", "a".repeat(600)).as_bytes()), None);
    }
}
