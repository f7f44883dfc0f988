//! A read-only CalDAV client (RFC 4791, RFC 6578, RFC 6764): finds a user's calendars from a
//! server address or an email address, lists them with their names and colours, and syncs their
//! events incrementally. Everything the server sends is untrusted: answers are read with a running
//! size limit, XML without entity expansion, counts are bounded, and every request has a timeout.
//! HTTPS is required except for servers on loopback; redirects are followed by hand (at most 5,
//! never to a lower scheme). The password never appears in `Debug`, errors or logs.

mod discover;
mod http;
mod srv;
mod sync;
pub mod xml;

use std::collections::HashMap;

pub use http::is_loopback;
use srv::Nameservers;

/// A user name and an (app-specific) password.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub user: String,
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials").field("user", &self.user).field("password", &"(hidden)").finish()
    }
}

/// Where the user's calendars are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discovered {
    /// Absolute URL of the user's principal.
    pub principal: String,
    /// Absolute URL of the calendar home (the collection holding the calendars).
    pub home: String,
}

/// A calendar collection in the user's calendar home.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteCalendar {
    /// Absolute URL of the collection.
    pub href: String,
    /// The display name, else the last path segment.
    pub name: String,
    /// `#rrggbb` (Apple's calendar-color, alpha dropped).
    pub color: Option<String>,
    /// The user's own, writable calendar (not subscribed, shared read-only or holidays).
    pub own: bool,
    /// Holds events (VEVENT).
    pub events: bool,
}

/// What the last sync of a calendar left: the server's sync token, its ctag, and each object's
/// ETag by absolute URL. The caller keeps it up to date from each [`Changes`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncState {
    pub token: Option<String>,
    pub ctag: Option<String>,
    pub etags: HashMap<String, String>,
}

/// What changed since the state given to [`Client::sync`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    /// New or changed resources, fetched.
    pub changed: Vec<Object>,
    /// Absolute URLs of resources gone.
    pub removed: Vec<String>,
    pub token: Option<String>,
    pub ctag: Option<String>,
}

/// One calendar object resource: its absolute URL, ETag and iCalendar text as the server sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object {
    pub href: String,
    pub etag: Option<String>,
    pub ics: String,
}

/// What went wrong, in words a user can act on. Never contains the password or a URL's path.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CalDavError {
    #[error("wrong user name or password (the server answered 401); many providers (iCloud, Fastmail) need an app-specific password")]
    Unauthorized,
    #[error("the server refused access (HTTP 403): this account may not read that calendar")]
    Forbidden,
    #[error("not found on the server (HTTP 404): check the server address")]
    NotFound,
    #[error("{0} is not a CalDAV server (or not at that address): check the address your provider gives for CalDAV")]
    NotCalDav(String),
    #[error("secure connection (TLS) to {host} failed: the server may not speak https at that address, or its certificate is not trusted ({why})")]
    Tls { host: String, why: String },
    #[error("the server redirected more than {} times", http::MAX_REDIRECTS)]
    TooManyRedirects,
    #[error("the server redirected from https to plain http, which is refused")]
    Downgrade,
    #[error("the server redirected to {0}: {1}")]
    BadRedirect(String, &'static str),
    #[error("the server at {0} did not answer in time")]
    Timeout(String),
    #[error("plain http is refused for {0}: use https (plain http is only allowed for a server on this machine)")]
    PlainHttp(String),
    #[error("{0:?} is not a server address (https://…) or an email address")]
    BadAddress(String),
    #[error("could not reach {host}: {why}")]
    Network { host: String, why: String },
    #[error("the server answered HTTP {0}")]
    Status(u16),
    #[error("the server's answer is larger than {0} MB")]
    TooLarge(usize),
    #[error("the calendar has more than {0} events, more than MetaClaw reads")]
    TooMany(usize),
    #[error(transparent)]
    Xml(#[from] xml::XmlError),
}

/// A CalDAV client with its own HTTP client (timeouts, no automatic redirects).
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    dns: Nameservers,
}

impl Default for Client {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("caldav::Client")
    }
}

impl Client {
    /// Connections wait 10 s, whole requests 60 s.
    pub fn new() -> Self {
        Self::with_timeouts(http::CONNECT_TIMEOUT, http::REQUEST_TIMEOUT)
    }

    /// A client with other timeouts (tests).
    pub fn with_timeouts(connect: std::time::Duration, request: std::time::Duration) -> Self {
        Self { http: http::build(connect, request), dns: Nameservers::System }
    }

    /// The same client asking these name servers (UDP) instead of the system's (tests).
    pub fn with_nameservers(mut self, addrs: Vec<std::net::SocketAddr>) -> Self {
        self.dns = Nameservers::Given(addrs);
        self
    }

    /// Finds the principal and calendar home. `server` is an https URL (any path on the server;
    /// plain http only for loopback) or an email address (then the domain's `_caldavs._tcp` SRV
    /// and TXT records, `_caldav._tcp` only for a loopback target, then
    /// `https://<domain>/.well-known/caldav`; DNS takes at most 5 s).
    pub async fn discover(&self, server: &str, creds: &Credentials) -> Result<Discovered, CalDavError> {
        discover::discover(self, server, creds).await
    }

    /// The calendars in the user's calendar home (at most [`discover::MAX_CALENDARS`]).
    pub async fn calendars(&self, d: &Discovered, creds: &Credentials) -> Result<Vec<RemoteCalendar>, CalDavError> {
        discover::calendars(self, d, creds).await
    }

    /// What changed in a calendar since `state`: RFC 6578 sync-collection with the state's token
    /// (an initial sync when there is none); when the server has no sync support or refuses the
    /// token, the ctag, then a Depth:1 ETag listing compared with `state.etags`. Only new or
    /// changed objects are fetched (calendar-multiget).
    pub async fn sync(
        &self,
        calendar_href: &str,
        creds: &Credentials,
        state: &SyncState,
    ) -> Result<Changes, CalDavError> {
        sync::sync(self, calendar_href, creds, state).await
    }
}
