//! The connection pool: the one HTTP client every upstream call goes through.

use std::time::Duration;

use crate::config::UpstreamConfig;

/// The HTTP client for upstream calls: pooled, no overall timeout (streams may be long), and no
/// automatic decompression so bytes are relayed as they come.
pub fn http_client(cfg: &UpstreamConfig) -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(cfg.connect_timeout_secs))
        .pool_idle_timeout(Duration::from_secs(90))
        .tcp_nodelay(true)
        .user_agent(concat!("metaclaw/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("the TLS backend initialises")
}
