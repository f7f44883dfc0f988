//! `[proxy]`: where the proxy listens, who may call it, and the bounds it holds every request
//! and connection to, with the checks on them.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(deny_unknown_fields, default)]
pub struct ProxyConfig {
    /// Address to listen on. Keep the loopback default unless you set `api_key`.
    pub host: IpAddr,
    /// Port for the proxy, the admin API and the web UI. `0` picks a free port.
    pub port: u16,
    /// Deprecated: a key in the config file is a secret in a plain file. Kept so old files still
    /// work (with a warning at start); use `METACLAW_PROXY_API_KEY` or `metaclaw key set proxy`.
    /// When no key is set, only loopback clients are accepted.
    pub api_key: Option<String>,
    /// Largest request body accepted, in MiB; larger ones get 413.
    pub max_body_mib: u32,
    /// Longest wait for a request's headers (also how long an idle keep-alive socket stays open).
    pub header_timeout_secs: u64,
    /// Longest wait for a whole request body once its headers arrived; then 408.
    pub body_timeout_secs: u64,
    /// Connections served at once; more wait until one closes.
    pub max_connections: u32,
    /// At shutdown, longest wait for answers still streaming; then they are recorded as cut off.
    pub drain_timeout_secs: u64,
}

impl Default for ProxyConfig {
    fn default() -> Self {
        Self {
            host: IpAddr::from([127, 0, 0, 1]),
            port: 30000,
            api_key: None,
            max_body_mib: 32,
            header_timeout_secs: 10,
            body_timeout_secs: 60,
            max_connections: 1024,
            drain_timeout_secs: 30,
        }
    }
}

impl ProxyConfig {
    /// The first value that parses but makes no sense, as (key, reason).
    pub(super) fn problem(&self) -> Option<(&'static str, String)> {
        if self.max_body_mib == 0 || self.max_body_mib > 1024 {
            return Some(("proxy.max_body_mib", format!("{} is outside 1..=1024", self.max_body_mib)));
        }
        if !(1..=300).contains(&self.header_timeout_secs) {
            return Some(("proxy.header_timeout_secs", format!("{} is outside 1..=300", self.header_timeout_secs)));
        }
        if !(1..=3600).contains(&self.body_timeout_secs) {
            return Some(("proxy.body_timeout_secs", format!("{} is outside 1..=3600", self.body_timeout_secs)));
        }
        if !(1..=65536).contains(&self.max_connections) {
            return Some(("proxy.max_connections", format!("{} is outside 1..=65536", self.max_connections)));
        }
        if let d @ 3601.. = self.drain_timeout_secs {
            return Some(("proxy.drain_timeout_secs", format!("{d} is more than 3600")));
        }
        if matches!(&self.api_key, Some(k) if k.len() < 8) {
            return Some(("proxy.api_key", "must be at least 8 characters".into()));
        }
        None
    }
}
