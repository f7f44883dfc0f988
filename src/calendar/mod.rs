//! Calendar accounts: the user's ICS feeds (secret HTTPS/webcal addresses kept in the keyring, or
//! local files watched for changes), CalDAV accounts (iCloud, Fastmail, Nextcloud…) and Google or
//! Microsoft sign-ins, each with the calendars the user ticks. Everything is synced on a timer
//! (incrementally where the source allows), cached in SQLite so a restart or an offline hour keeps
//! the schedule, and read into the busy blocks the scheduler sees through one rule
//! ([`busy::counts`]). Errors stay on the account for the user to see.

mod accounts;
pub mod busy;
pub mod caldav;
mod dav;
pub mod expand;
pub mod fetch;
pub mod google;
pub mod ics;
pub mod lines;
pub mod microsoft;
pub mod oauth;
mod providers;
mod refresh;
pub mod signin;
mod sources;
pub mod tz;
pub mod vtimezone;

use serde::{Deserialize, Serialize};

use crate::secrets::SecretError;
use crate::store::StoreError;
pub use accounts::Calendars;
pub use fetch::FetchError;
pub use ics::{Block, Feed, IcsError};

#[derive(Debug, thiserror::Error)]
pub enum CalendarError {
    #[error("no calendar with id {0}")]
    NotFound(i64),
    #[error("account {0} has no calendar with id {1}")]
    NoEntry(i64, i64),
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error(transparent)]
    Ics(#[from] IcsError),
    #[error("{0}")]
    Secret(String),
    #[error("the address of calendar {0:?} is missing: set {1} or add the calendar again")]
    MissingUrl(String, String),
    #[error("{0}")]
    CalDav(#[from] caldav::CalDavError),
    #[error("the password of {0:?} is missing from the keyring: remove the account and add it again")]
    MissingPassword(String),
    #[error("{0}")]
    OAuth(oauth::OAuthError),
    /// The grant is gone: the user must sign in again.
    #[error("{0}")]
    SignInAgain(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("no sign-in with that id: it ended more than ten minutes ago, was cancelled, or MetaClaw restarted")]
    NoFlow,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<SecretError> for CalendarError {
    fn from(e: SecretError) -> Self {
        Self::Secret(e.to_string())
    }
}

impl From<oauth::OAuthError> for CalendarError {
    fn from(e: oauth::OAuthError) -> Self {
        match e {
            oauth::OAuthError::SignInAgain(_) => Self::SignInAgain(e.to_string()),
            e => Self::OAuth(e),
        }
    }
}

/// What kind of source an account reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[cfg_attr(test, ts(rename = "CalendarKind"))]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Url,
    File,
    Caldav,
    Google,
    Microsoft,
}

impl Kind {
    /// The kind as the database stores it (`env` accounts of old are URL accounts).
    fn from_db(s: &str) -> Self {
        match s {
            "file" => Kind::File,
            "caldav" => Kind::Caldav,
            "google" => Kind::Google,
            "microsoft" => Kind::Microsoft,
            _ => Kind::Url,
        }
    }

    /// The kind's wire form (the database stores it the same way).
    pub fn as_str(self) -> &'static str {
        self.as_db()
    }

    fn as_db(self) -> &'static str {
        match self {
            Kind::Url => "url",
            Kind::File => "file",
            Kind::Caldav => "caldav",
            Kind::Google => "google",
            Kind::Microsoft => "microsoft",
        }
    }

    /// The sign-in provider of a Google or Microsoft account.
    pub fn provider(self) -> Option<oauth::Provider> {
        match self {
            Kind::Google => Some(oauth::Provider::Google),
            Kind::Microsoft => Some(oauth::Provider::Microsoft),
            _ => None,
        }
    }

    /// An account of several calendars the user ticks (not one ICS feed).
    pub fn has_calendars(self) -> bool {
        matches!(self, Kind::Caldav | Kind::Google | Kind::Microsoft)
    }
}

/// How an account is doing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[cfg_attr(test, ts(rename = "CalendarState"))]
#[serde(rename_all = "snake_case")]
pub enum State {
    #[default]
    Ok,
    /// The last sync failed (`last_error` says why); the cached schedule still counts.
    Error,
    /// The sign-in is gone (revoked, expired): the user must sign in again.
    SignInAgain,
}

impl State {
    fn from_db(s: &str) -> Self {
        match s {
            "error" => State::Error,
            "sign_in_again" => State::SignInAgain,
            _ => State::Ok,
        }
    }

    fn as_db(self) -> &'static str {
        match self {
            State::Ok => "ok",
            State::Error => "error",
            State::SignInAgain => "sign_in_again",
        }
    }
}

/// One calendar of an account, and whether its events count as busy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct CalendarEntry {
    pub id: i64,
    pub name: String,
    /// `#rrggbb`.
    pub color: Option<String>,
    /// The user's own calendar (not subscribed, shared read-only or holidays).
    pub own: bool,
    pub included: bool,
    /// Events cached (CalDAV: events and overrides; providers: occurrences in the window).
    pub events: i64,
    pub last_error: Option<String>,
}

/// A calendar account as the UI and CLI see it: never its secret address, password or token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[cfg_attr(test, ts(rename = "CalendarAccount"))]
pub struct Account {
    pub id: i64,
    pub name: String,
    pub kind: Kind,
    /// The host of a URL, the path of a file, the CalDAV server's host, or the signed-in address.
    pub display: String,
    /// The user's addresses, whose declined invitations don't count as busy.
    pub owner: Vec<String>,
    pub enabled: bool,
    pub last_sync: Option<i64>,
    pub last_error: Option<String>,
    /// Events (masters and overrides) in the cached feed, or in the included calendars.
    pub events: i64,
    /// Environment variable that may hold a URL account's address (headless servers).
    pub env_var: Option<String>,
    /// What the user should know about the feed just added: time zones read in their own zone,
    /// events or lines that were skipped. Only in the answer to `add`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(test, ts(as = "Option<Vec<String>>", optional))]
    pub warnings: Vec<String>,
    /// The CalDAV user name, or the signed-in address.
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub state: State,
    /// The account's calendars (none for ICS addresses and files).
    #[serde(default)]
    pub calendars: Vec<CalendarEntry>,
}

/// A busy block of one account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[cfg_attr(test, ts(rename = "BusyBlock"))]
pub struct Busy {
    pub calendar: i64,
    pub summary: String,
    pub start: i64,
    pub end: i64,
}

/// The outcome of testing an account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[cfg_attr(test, ts(rename = "CalendarTest"))]
pub struct TestReport {
    pub ok: bool,
    pub events: i64,
    pub error: Option<String>,
    /// Time zones the feed names that we could not resolve (read in the user's zone).
    pub unknown_zones: Vec<String>,
    /// Events that could not be read, with why.
    pub skipped: Vec<String>,
    /// CalDAV: how many calendar objects this sync fetched (only the changed ones).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub fetched: Option<i64>,
}

/// A new account: an ICS address or file (`source`), or a CalDAV account (`kind: "caldav"`,
/// `server`, `user`, `password`). Google and Microsoft accounts come from a sign-in
/// ([`signin`]).
#[derive(Clone, Default, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[cfg_attr(test, ts(rename = "CalendarAdd"))]
pub struct NewAccount {
    /// `https://…`, `webcal://…`, a path to an `.ics` file, or `env` (the address is in
    /// `METACLAW_CALENDAR_<NAME>_URL`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[cfg_attr(test, ts(as = "Option<String>", optional))]
    pub source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(test, ts(as = "Option<Vec<String>>", optional))]
    pub owner: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub kind: Option<Kind>,
    /// CalDAV: the server's address (any URL on it) or the user's email address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub server: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub user: Option<String>,
    /// CalDAV: an app-specific password; kept in the vault (OS keyring, else the secrets file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub password: Option<String>,
}

impl std::fmt::Debug for NewAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewAccount")
            .field("source", &fetch::redact_source(&self.source))
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("server", &self.server)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "(hidden)"))
            .finish()
    }
}

fn slugify(name: &str) -> String {
    let s: String = name
        .trim()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' })
        .collect::<String>()
        .split('-')
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    if s.is_empty() {
        "calendar".into()
    } else {
        s
    }
}

fn split_owner(s: &str) -> Vec<String> {
    s.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect()
}

/// What to tell the user about a feed they add: zones read in their own zone, skipped parts.
fn feed_warnings(feed: &Feed) -> Vec<String> {
    let mut out: Vec<String> = feed
        .unknown_zones
        .iter()
        .map(|z| format!("unknown time zone {z:?}: its times are read in your own zone"))
        .collect();
    out.extend(feed.skipped.iter().map(|s| format!("skipped: {s}")));
    if feed.skipped.more > 0 {
        out.push(format!("and {} more problems like these", feed.skipped.more));
    }
    out
}

/// Sorts and merges intervals that overlap or touch.
pub fn merge(it: impl Iterator<Item = (i64, i64)>) -> Vec<(i64, i64)> {
    let mut v: Vec<(i64, i64)> = it.filter(|(s, e)| e > s).collect();
    v.sort_unstable();
    let mut out: Vec<(i64, i64)> = Vec::with_capacity(v.len());
    for (s, e) in v {
        match out.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => out.push((s, e)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merging_and_slugs() {
        assert_eq!(
            merge([(5, 6), (1, 3), (3, 4), (2, 2), (10, 12), (11, 11)].into_iter()),
            vec![(1, 4), (5, 6), (10, 12)]
        );
        assert_eq!(slugify("Work (Google)"), "work-google");
        assert_eq!(slugify("  "), "calendar");
    }

    #[test]
    fn warnings_of_a_feed_with_a_problem_on_every_line_are_capped() {
        let mut ics = String::from("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n");
        for _ in 0..20_000 {
            ics.push_str("BEGIN:VEVENT\r\n");
        }
        ics.push_str("END:VEVENT\r\nEND:VCALENDAR\r\n");
        let feed = Feed::parse(&ics, chrono_tz::UTC, &[]).unwrap();
        assert!(feed.skipped.len() <= lines::MAX_NOTES, "{}", feed.skipped.len());
        assert!(feed.skipped.more > 10_000, "{}", feed.skipped.more);
        let warnings = feed_warnings(&feed);
        assert!(warnings.len() <= lines::MAX_NOTES + 2, "{}", warnings.len());
        let last = warnings.last().unwrap();
        assert!(last.starts_with("and ") && last.ends_with("more problems like these"), "{last}");
        assert!(warnings.iter().map(String::len).sum::<usize>() < 20_000);
    }

    #[test]
    fn a_new_caldav_account_never_shows_its_password() {
        let n: NewAccount = serde_json::from_value(serde_json::json!(
            {"kind": "caldav", "server": "https://dav.example", "user": "ada", "password": "hunter22"}
        ))
        .unwrap();
        assert_eq!(n.kind, Some(Kind::Caldav));
        assert!(!format!("{n:?}").contains("hunter22"));
    }
}
