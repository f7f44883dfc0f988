//! Calendar accounts: the user's ICS feeds (secret HTTPS/webcal addresses kept in the keyring, or
//! local files watched for changes), fetched on a timer with ETag/If-Modified-Since, cached in
//! SQLite so a restart or an offline hour keeps the schedule, and expanded into the busy blocks
//! the scheduler reads. Errors stay on the account for the user to see.

pub mod busy;
pub mod caldav;
pub mod expand;
pub mod fetch;
pub mod ics;
pub mod lines;
pub mod tz;
pub mod vtimezone;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use futures_util::FutureExt as _;
use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::events::{Event, EventBus};
use crate::secrets::{SecretError, SecretName, Vault};
use crate::store::{Store, StoreError};
use crate::turn::now_ms;
pub use fetch::FetchError;
pub use ics::{Block, Feed, IcsError};

#[derive(Debug, thiserror::Error)]
pub enum CalendarError {
    #[error("no calendar with id {0}")]
    NotFound(i64),
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error(transparent)]
    Ics(#[from] IcsError),
    #[error("{0}")]
    Secret(String),
    #[error("the address of calendar {0:?} is missing: set {1} or add the calendar again")]
    MissingUrl(String, String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<SecretError> for CalendarError {
    fn from(e: SecretError) -> Self {
        Self::Secret(e.to_string())
    }
}

/// What kind of source an account reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Url,
    File,
}

/// A calendar account as the UI and CLI see it: never its secret address.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Account {
    pub id: i64,
    pub name: String,
    pub kind: Kind,
    /// The host of a URL, or the path of a file.
    pub display: String,
    /// The user's addresses, whose declined invitations don't count as busy.
    pub owner: Vec<String>,
    pub enabled: bool,
    pub last_sync: Option<i64>,
    pub last_error: Option<String>,
    /// Events (masters and overrides) in the cached feed.
    pub events: i64,
    /// Environment variable that may hold a URL account's address (headless servers).
    pub env_var: Option<String>,
    /// What the user should know about the feed just added: time zones read in their own zone,
    /// events or lines that were skipped. Only in the answer to `add`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// A busy block of one account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Busy {
    pub calendar: i64,
    pub summary: String,
    pub start: i64,
    pub end: i64,
}

/// The outcome of testing an account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestReport {
    pub ok: bool,
    pub events: i64,
    pub error: Option<String>,
    /// Time zones the feed names that we could not resolve (read in the user's zone).
    pub unknown_zones: Vec<String>,
    /// Events that could not be read, with why.
    pub skipped: Vec<String>,
}

/// A new account.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct NewAccount {
    /// `https://…`, `webcal://…`, a path to an `.ics` file, or `env` (the address is in
    /// `METACLAW_CALENDAR_<NAME>_URL`).
    pub source: String,
    pub name: Option<String>,
    #[serde(default)]
    pub owner: Vec<String>,
}

struct Loaded {
    enabled: bool,
    feed: Option<Arc<Feed>>,
}

/// The accounts, their parsed feeds and the refresher.
pub struct Calendars {
    store: Store,
    vault: Vault,
    zone: chrono_tz::Tz,
    client: fetch::Clients,
    loaded: RwLock<HashMap<i64, Loaded>>,
    events: EventBus,
    /// The file watcher, installed as soon as a file account exists (before `add` returns, so
    /// a change right after `add` is never missed).
    watcher: std::sync::Mutex<Option<notify::RecommendedWatcher>>,
    /// The files the watcher reports changes of.
    watched: Arc<RwLock<Vec<PathBuf>>>,
    /// Set by the watcher when a watched file changes; one permit however many events.
    file_changed: Arc<Notify>,
    spawned: std::sync::atomic::AtomicBool,
}

/// Parses a feed off the async workers; a panic while parsing is an error, not a crash.
async fn parse_feed(body: String, zone: chrono_tz::Tz, owner: Vec<String>) -> Result<Feed, CalendarError> {
    tokio::task::spawn_blocking(move || Feed::parse(&body, zone, &owner))
        .await
        .unwrap_or_else(|e| Err(IcsError::Malformed(format!("reading the feed failed ({e})"))))
        .map_err(CalendarError::from)
}

/// Parses a local file's feed: text that is not iCalendar gets the same message as a path that
/// cannot be read, so the API never tells what a file holds.
async fn parse_local(
    body: String,
    zone: chrono_tz::Tz,
    owner: Vec<String>,
    path: &Path,
) -> Result<Feed, CalendarError> {
    match parse_feed(body, zone, owner).await {
        Err(CalendarError::Ics(IcsError::NotIcs)) => Err(fetch::unreadable(path).into()),
        other => other,
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

struct Row {
    id: i64,
    slug: String,
    name: String,
    kind: Kind,
    path: Option<String>,
    etag: Option<String>,
    last_modified: Option<String>,
    owner: Vec<String>,
}

fn split_owner(s: &str) -> Vec<String> {
    s.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect()
}

impl Calendars {
    /// Loads every account's cached feed (no network); [`Calendars::spawn`] refreshes them.
    pub async fn open(
        store: Store,
        vault: Vault,
        zone: chrono_tz::Tz,
        events: EventBus,
    ) -> Result<Arc<Self>, CalendarError> {
        let rows = store
            .read(|c| {
                let mut q = c.prepare("SELECT id, enabled, body, owner FROM calendars")?;
                let rows = q
                    .query_map([], |r| {
                        Ok((
                            r.get::<_, i64>(0)?,
                            r.get::<_, bool>(1)?,
                            r.get::<_, Option<String>>(2)?,
                            r.get::<_, String>(3)?,
                        ))
                    })?
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(rows)
            })
            .await?;
        let mut loaded = HashMap::new();
        for (id, enabled, body, owner) in rows {
            let feed = match body {
                Some(b) => parse_feed(b, zone, split_owner(&owner)).await.ok().map(Arc::new),
                None => None,
            };
            loaded.insert(id, Loaded { enabled, feed });
        }
        let me = Arc::new(Self {
            store,
            vault,
            zone,
            client: fetch::Clients::default(),
            loaded: RwLock::new(loaded),
            events,
            watcher: std::sync::Mutex::new(None),
            watched: Arc::new(RwLock::new(Vec::new())),
            file_changed: Arc::new(Notify::new()),
            spawned: std::sync::atomic::AtomicBool::new(false),
        });
        for a in me.list().await?.into_iter().filter(|a| a.kind == Kind::File) {
            me.watch(Path::new(&a.display));
        }
        Ok(me)
    }

    pub async fn list(&self) -> Result<Vec<Account>, CalendarError> {
        Ok(self
            .store
            .read(|c| {
                let mut q = c.prepare(
                    "SELECT id, name, kind, display, owner, enabled, last_sync, last_error, events, slug FROM calendars ORDER BY id",
                )?;
                let rows = q
                    .query_map([], |r| {
                        let kind: String = r.get(2)?;
                        let kind = if kind == "file" { Kind::File } else { Kind::Url };
                        let slug: String = r.get(9)?;
                        Ok(Account {
                            id: r.get(0)?,
                            name: r.get(1)?,
                            kind,
                            display: r.get(3)?,
                            owner: split_owner(&r.get::<_, String>(4)?),
                            enabled: r.get(5)?,
                            last_sync: r.get(6)?,
                            last_error: r.get(7)?,
                            events: r.get(8)?,
                            env_var: (kind == Kind::Url).then(|| SecretName::calendar(&slug).env_var().to_string()),
                            warnings: Vec::new(),
                        })
                    })?
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(rows)
            })
            .await?)
    }

    pub async fn get(&self, id: i64) -> Result<Account, CalendarError> {
        self.list().await?.into_iter().find(|a| a.id == id).ok_or(CalendarError::NotFound(id))
    }

    /// Adds an account after fetching and parsing its feed once, so a wrong address is refused
    /// up front rather than discovered later.
    pub async fn add(&self, new: NewAccount) -> Result<Account, CalendarError> {
        let source = new.source.trim();
        let from_env = source.eq_ignore_ascii_case("env");
        let is_url = from_env || source.contains("://");
        let name = match new.name.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
            Some(n) => n.to_string(),
            None if from_env => return Err(FetchError::BadSource("env (give the calendar a --name)".into()).into()),
            None if is_url => fetch::normalise_url(source)?.host_str().unwrap_or("calendar").to_string(),
            None => {
                Path::new(source).file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or("calendar".into())
            }
        };
        let base = slugify(&name);
        let taken: Vec<String> = self
            .store
            .read(|c| {
                let mut q = c.prepare("SELECT slug FROM calendars")?;
                let v = q.query_map([], |r| r.get(0))?.collect::<Result<Vec<String>, _>>()?;
                Ok(v)
            })
            .await?;
        let slug = (1..)
            .map(|n| if n == 1 { base.clone() } else { format!("{base}-{n}") })
            .find(|s| !taken.contains(s))
            .expect("a free slug");
        let secret = SecretName::calendar(&slug);
        let (kind, display, path, url) = if from_env {
            let (url, _) = self.vault.get(&secret).await?;
            let url = url.ok_or_else(|| CalendarError::MissingUrl(name.clone(), secret.env_var().into()))?;
            let parsed = fetch::normalise_url(&url)?;
            (Kind::Url, fetch::redact_source(parsed.as_str()), None, Some(parsed))
        } else if is_url {
            let parsed = fetch::normalise_url(source)?;
            (Kind::Url, fetch::redact_source(parsed.as_str()), None, Some(parsed))
        } else {
            // Only absolute paths: a relative one would resolve against the server's directory.
            let p = PathBuf::from(source);
            if !p.is_absolute() {
                return Err(FetchError::RelativePath(source.to_string()).into());
            }
            (Kind::File, p.display().to_string(), Some(p), None)
        };
        // Fetch and parse first: a wrong address is refused before anything is kept.
        let (body, etag, modified) = match (&url, &path) {
            (Some(u), _) => match fetch::get(self.client.for_url(u).await, u, None, None).await? {
                fetch::Fetched::New { body, etag, last_modified } => (body, etag, last_modified),
                fetch::Fetched::Unchanged => (String::new(), None, None),
            },
            (None, Some(p)) => (fetch::read_file(p).await?, None, None),
            (None, None) => unreachable!("a source is a URL or a path"),
        };
        let feed = match &path {
            Some(p) => parse_local(body.clone(), self.zone, new.owner.clone(), p).await?,
            None => parse_feed(body.clone(), self.zone, new.owner.clone()).await?,
        };
        let warnings = feed_warnings(&feed);
        if let (Some(u), false) = (&url, from_env) {
            self.vault.set(&secret, u.as_str()).await.map_err(|e| {
                CalendarError::Secret(format!(
                    "{e}. On a headless server, set {} to the address and add the calendar with the source `env` and --name {name:?}",
                    secret.env_var()
                ))
            })?;
        }
        let (n, owner) = (feed.len() as i64, new.owner.join(","));
        let kind_s = if kind == Kind::File { "file" } else { "url" };
        let path_s = path.as_ref().map(|p| p.display().to_string());
        let (slug2, name2, display2) = (slug.clone(), name.clone(), display.clone());
        let id = self
            .store
            .write(move |c| {
                c.execute(
                    "INSERT INTO calendars(slug, name, kind, display, path, owner, etag, last_modified, body, last_sync, events, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?10)",
                    params![slug2, name2, kind_s, display2, path_s, owner, etag, modified, body, now_ms(), n],
                )?;
                Ok(c.last_insert_rowid())
            })
            .await?;
        self.loaded.write().expect("calendars").insert(id, Loaded { enabled: true, feed: Some(Arc::new(feed)) });
        if let Some(p) = &path {
            // Installed before we answer: a change right after `add` is seen.
            self.watch(p);
        }
        self.changed();
        let mut account = self.get(id).await?;
        account.warnings = warnings;
        Ok(account)
    }

    /// Renames or enables/disables an account.
    pub async fn update(&self, id: i64, name: Option<String>, enabled: Option<bool>) -> Result<Account, CalendarError> {
        self.get(id).await?;
        self.store
            .write(move |c| {
                if let Some(n) = name.map(|n| n.trim().to_string()).filter(|n| !n.is_empty()) {
                    c.execute("UPDATE calendars SET name = ?1 WHERE id = ?2", params![n, id])?;
                }
                if let Some(e) = enabled {
                    c.execute("UPDATE calendars SET enabled = ?1 WHERE id = ?2", params![e, id])?;
                }
                Ok(())
            })
            .await?;
        if let Some(e) = enabled {
            if let Some(l) = self.loaded.write().expect("calendars").get_mut(&id) {
                l.enabled = e;
            }
            self.changed();
        }
        self.get(id).await
    }

    /// Removes an account, its cached feed and its address in the keyring.
    pub async fn remove(&self, id: i64) -> Result<(), CalendarError> {
        let row = self.row(id).await?;
        if row.kind == Kind::Url {
            if let Err(e) = self.vault.delete(&SecretName::calendar(&row.slug)).await {
                tracing::warn!(calendar = %row.name, error = %e, "could not remove the calendar's address from the keyring");
            }
        }
        self.store.write(move |c| Ok(c.execute("DELETE FROM calendars WHERE id = ?1", [id])?)).await?;
        self.loaded.write().expect("calendars").remove(&id);
        if let Some(p) = &row.path {
            self.watched.write().expect("watched files").retain(|f| f != Path::new(p));
        }
        self.changed();
        Ok(())
    }

    async fn row(&self, id: i64) -> Result<Row, CalendarError> {
        self.store
            .read(move |c| {
                Ok(c.query_row(
                    "SELECT id, slug, name, kind, path, etag, last_modified, owner FROM calendars WHERE id = ?1",
                    [id],
                    |r| {
                        Ok(Row {
                            id: r.get(0)?,
                            slug: r.get(1)?,
                            name: r.get(2)?,
                            kind: if r.get::<_, String>(3)? == "file" { Kind::File } else { Kind::Url },
                            path: r.get(4)?,
                            etag: r.get(5)?,
                            last_modified: r.get(6)?,
                            owner: split_owner(&r.get::<_, String>(7)?),
                        })
                    },
                )
                .optional()?)
            })
            .await?
            .ok_or(CalendarError::NotFound(id))
    }

    /// Fetches an account now and reports what happened; the outcome is also kept on the account.
    pub async fn test(&self, id: i64) -> Result<TestReport, CalendarError> {
        let row = self.row(id).await?;
        let outcome = self.sync(&row).await;
        let (error, feed) = match outcome {
            Ok(feed) => (None, feed),
            Err(e) => (Some(e.to_string()), None),
        };
        let (last_error, now) = (error.clone(), now_ms());
        let events = feed.as_ref().map(|f| f.len() as i64);
        self.store
            .write(move |c| {
                c.execute("UPDATE calendars SET last_error = ?1, last_sync = CASE WHEN ?1 IS NULL THEN ?2 ELSE last_sync END, events = COALESCE(?3, events) WHERE id = ?4", params![last_error, now, events, id])?;
                Ok(())
            })
            .await?;
        if let Some(f) = &feed {
            if let Some(l) = self.loaded.write().expect("calendars").get_mut(&id) {
                l.feed = Some(f.clone());
            }
            self.changed();
        }
        let current = self.loaded.read().expect("calendars").get(&id).and_then(|l| l.feed.clone());
        Ok(TestReport {
            ok: error.is_none(),
            events: current.as_ref().map_or(0, |f| f.len() as i64),
            error,
            unknown_zones: current.as_ref().map(|f| f.unknown_zones.clone()).unwrap_or_default(),
            skipped: current.as_ref().map(|f| f.skipped.to_lines()).unwrap_or_default(),
        })
    }

    /// One refresh of one account. `Ok(None)`: unchanged (304).
    async fn sync(&self, row: &Row) -> Result<Option<Arc<Feed>>, CalendarError> {
        let (body, etag, modified) = match row.kind {
            Kind::File => {
                let p = PathBuf::from(row.path.clone().unwrap_or_default());
                (fetch::read_file(&p).await?, None, None)
            }
            Kind::Url => {
                let secret = SecretName::calendar(&row.slug);
                let (url, _) = self.vault.get(&secret).await?;
                let url = url.ok_or_else(|| CalendarError::MissingUrl(row.name.clone(), secret.env_var().into()))?;
                let url = fetch::normalise_url(&url)?;
                let client = self.client.for_url(&url).await;
                match fetch::get(client, &url, row.etag.as_deref(), row.last_modified.as_deref()).await? {
                    fetch::Fetched::Unchanged => return Ok(None),
                    fetch::Fetched::New { body, etag, last_modified } => (body, etag, last_modified),
                }
            }
        };
        let feed = Arc::new(match (row.kind, &row.path) {
            (Kind::File, Some(p)) => parse_local(body.clone(), self.zone, row.owner.clone(), Path::new(p)).await?,
            _ => parse_feed(body.clone(), self.zone, row.owner.clone()).await?,
        });
        let (id, n) = (row.id, feed.len() as i64);
        self.store
            .write(move |c| {
                c.execute(
                    "UPDATE calendars SET body = ?1, etag = ?2, last_modified = ?3, events = ?4 WHERE id = ?5",
                    params![body, etag, modified, n, id],
                )?;
                Ok(())
            })
            .await?;
        Ok(Some(feed))
    }

    /// Refreshes every enabled account (errors are kept on the account). One account failing,
    /// even by a panic, never stops the others or the refresher.
    pub async fn refresh_all(&self) {
        let ids: Vec<i64> =
            self.loaded.read().expect("calendars").iter().filter(|(_, l)| l.enabled).map(|(id, _)| *id).collect();
        for id in ids {
            self.refresh_one(id).await;
        }
    }

    async fn refresh_one(&self, id: i64) {
        match std::panic::AssertUnwindSafe(self.test(id)).catch_unwind().await {
            Ok(Ok(r)) if !r.ok => {
                tracing::warn!(calendar = id, error = r.error.as_deref().unwrap_or(""), "calendar refresh failed")
            }
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::warn!(calendar = id, error = %e, "calendar refresh failed"),
            Err(_) => tracing::error!(calendar = id, "calendar refresh panicked; the other calendars go on"),
        }
    }

    /// [`Calendars::busy`] on a blocking thread, so a slow expansion never holds an async worker;
    /// a failure costs the busy time, never the caller.
    pub async fn busy_blocking(self: &Arc<Self>, from: i64, to: i64) -> Vec<Busy> {
        let me = self.clone();
        tokio::task::spawn_blocking(move || me.busy(from, to)).await.unwrap_or_else(|e| {
            tracing::error!(error = %e, "computing busy time failed");
            Vec::new()
        })
    }

    /// [`Calendars::busy_intervals`] on a blocking thread.
    pub async fn busy_intervals_blocking(self: &Arc<Self>, from: i64, to: i64) -> Vec<(i64, i64)> {
        merge(self.busy_blocking(from, to).await.iter().map(|b| (b.start, b.end)))
    }

    /// Busy blocks of the enabled accounts overlapping `[from, to)`, sorted by start. Each feed
    /// expands within its own time budget; a feed that panics is left out (and logged).
    pub fn busy(&self, from: i64, to: i64) -> Vec<Busy> {
        let feeds: Vec<(i64, Arc<Feed>)> = self
            .loaded
            .read()
            .expect("calendars")
            .iter()
            .filter(|(_, l)| l.enabled)
            .filter_map(|(id, l)| l.feed.clone().map(|f| (*id, f)))
            .collect();
        let mut out: Vec<Busy> = Vec::new();
        for (id, f) in &feeds {
            match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f.busy(from, to))) {
                Ok(blocks) => out.extend(blocks.into_iter().map(|b| Busy {
                    calendar: *id,
                    summary: b.summary,
                    start: b.start,
                    end: b.end,
                })),
                Err(_) => tracing::error!(calendar = id, "expanding this calendar failed; it is left out"),
            }
        }
        out.sort_by_key(|b| (b.start, b.end, b.calendar));
        out
    }

    /// Busy time as merged `(start, end)` intervals: back-to-back and overlapping meetings join.
    pub fn busy_intervals(&self, from: i64, to: i64) -> Vec<(i64, i64)> {
        merge(self.busy(from, to).iter().map(|b| (b.start, b.end)))
    }

    fn changed(&self) {
        self.events.publish(Event::CalendarsChanged);
    }

    /// Refreshes URL accounts every `every`, and file accounts whenever their file changes.
    pub fn spawn(self: &Arc<Self>, every: Duration) -> JoinHandle<()> {
        let me = self.clone();
        let first = !self.spawned.swap(true, std::sync::atomic::Ordering::SeqCst);
        debug_assert!(first, "the refresher is spawned once");
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tokio::select! {
                    _ = tick.tick() => me.refresh_all().await,
                    _ = me.file_changed.notified() => me.refresh_files().await,
                }
            }
        })
    }

    async fn refresh_files(&self) {
        let Ok(accounts) = self.list().await else { return };
        for a in accounts.into_iter().filter(|a| a.kind == Kind::File && a.enabled) {
            self.refresh_one(a.id).await;
        }
    }

    /// Starts watching a file account's file (its directory, so editors' rename-into-place is
    /// seen). Synchronous: when this returns, changes are reported.
    fn watch(&self, file: &Path) {
        use notify::Watcher;
        let Some(dir) = file.parent().map(Path::to_path_buf) else { return };
        {
            let mut w = self.watched.write().expect("watched files");
            if w.iter().any(|f| f == file) {
                return;
            }
            w.push(file.to_path_buf());
        }
        let mut guard = self.watcher.lock().expect("calendar watcher");
        if guard.is_none() {
            let (wanted, changed) = (self.watched.clone(), self.file_changed.clone());
            match notify::recommended_watcher(move |ev: notify::Result<notify::Event>| {
                if let Ok(e) = ev {
                    let files = wanted.read().expect("watched files");
                    if !matches!(e.kind, notify::EventKind::Access(_)) && e.paths.iter().any(|p| files.contains(p)) {
                        changed.notify_one();
                    }
                }
            }) {
                Ok(w) => *guard = Some(w),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot watch calendar files; they refresh on the timer");
                    return;
                }
            }
        }
        if let Some(w) = guard.as_mut() {
            if let Err(e) = w.watch(&dir, notify::RecursiveMode::NonRecursive) {
                tracing::warn!(dir = %dir.display(), error = %e, "cannot watch calendar files");
            }
        }
    }
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
    fn a_local_file_that_is_not_icalendar_gets_the_same_message_as_a_missing_one() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let d = tempfile::tempdir().unwrap();
        let (secret, missing) = (d.path().join("secret.ics"), d.path().join("missing.ics"));
        std::fs::write(&secret, "root:x:0:0:root:/root:/bin/bash\n").unwrap();
        let body = rt.block_on(fetch::read_file(&secret)).unwrap();
        let not_ics = rt.block_on(parse_local(body, chrono_tz::UTC, Vec::new(), &secret)).unwrap_err().to_string();
        let gone = CalendarError::from(rt.block_on(fetch::read_file(&missing)).unwrap_err()).to_string();
        assert_eq!(not_ics.replace("secret.ics", "X"), gone.replace("missing.ics", "X"));
        assert!(!not_ics.contains("iCalendar"), "{not_ics}");
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
}
