//! The accounts: opening them from the cache, listing them with their calendars, adding ICS
//! addresses and files, renaming, enabling, ticking calendars, and removing an account with its
//! secrets.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use tokio::sync::Notify;

use super::sources::{parse_feed, parse_local, Loaded, Part, Schedule};
use super::{
    busy, caldav, feed_warnings, fetch, oauth, signin, slugify, split_owner, Account, CalendarEntry, CalendarError,
    FetchError, Kind, NewAccount, State,
};
use crate::clock::now_ms;
use crate::config::CalendarConfig;
use crate::events::{Event, EventBus};
use crate::secrets::{SecretName, Vault};
use crate::store::calendars::{self as db, AccountRow, EntryRow, NewAccountRow};
use crate::store::Store;

/// The accounts, their cached schedules and the refresher.
pub struct Calendars {
    pub(super) store: Store,
    pub(super) vault: Vault,
    pub(super) zone: chrono_tz::Tz,
    pub(super) client: fetch::Clients,
    /// CalDAV servers.
    pub(super) dav: caldav::Client,
    /// Google's and Microsoft's token endpoints and calendar APIs.
    pub(super) http: reqwest::Client,
    pub(super) cfg: CalendarConfig,
    pub(super) rules: busy::Rules,
    pub(super) loaded: RwLock<HashMap<i64, Loaded>>,
    /// Access tokens of signed-in accounts and when they expire: in memory only.
    pub(super) tokens: Mutex<HashMap<i64, (String, i64)>>,
    /// One sync of an account at a time (the refresher, `test` and ticking a calendar).
    pub(super) syncing: Mutex<HashMap<i64, Arc<tokio::sync::Mutex<()>>>>,
    pub(super) flows: signin::Flows,
    pub(super) events: EventBus,
    /// The file watcher, installed as soon as a file account exists (before `add` returns, so
    /// a change right after `add` is never missed).
    pub(super) watcher: Mutex<Option<notify::RecommendedWatcher>>,
    /// The files the watcher reports changes of.
    pub(super) watched: Arc<RwLock<Vec<PathBuf>>>,
    /// Set by the watcher when a watched file changes; one permit however many events.
    pub(super) file_changed: Arc<Notify>,
    pub(super) spawned: std::sync::atomic::AtomicBool,
}

/// Where an account's password (CalDAV) or refresh token (Google, Microsoft) is kept.
pub(super) fn secret_of(slug: &str) -> SecretName {
    SecretName::calendar_secret(slug)
}

impl Calendars {
    /// Stores a new account whose password or refresh token is already in the vault under
    /// `slug`; if storing fails, that secret is deleted again, so a failed add leaves nothing.
    pub(super) async fn insert_with_secret(
        &self,
        slug: &str,
        row: NewAccountRow,
        entries: Vec<db::NewEntry>,
    ) -> Result<i64, CalendarError> {
        match db::insert_account(&self.store, row, entries).await {
            Ok(id) => Ok(id),
            Err(e) => {
                let _ = self.vault.delete(&secret_of(slug)).await;
                Err(e.into())
            }
        }
    }

    /// Loads every account's cached schedule (no network); [`Calendars::spawn`] refreshes them.
    pub async fn open(
        store: Store,
        vault: Vault,
        zone: chrono_tz::Tz,
        events: EventBus,
        cfg: &CalendarConfig,
    ) -> Result<Arc<Self>, CalendarError> {
        let me = Arc::new(Self {
            store,
            vault,
            zone,
            client: fetch::Clients::default(),
            dav: caldav::Client::new(),
            http: oauth::http_client(),
            cfg: cfg.clone(),
            rules: cfg.rules(),
            loaded: RwLock::new(HashMap::new()),
            tokens: Mutex::new(HashMap::new()),
            syncing: Mutex::new(HashMap::new()),
            flows: signin::Flows::default(),
            events,
            watcher: Mutex::new(None),
            watched: Arc::new(RwLock::new(Vec::new())),
            file_changed: Arc::new(Notify::new()),
            spawned: std::sync::atomic::AtomicBool::new(false),
        });
        for row in db::accounts(&me.store).await? {
            let parts = me.load_cached(&row).await?;
            me.loaded.write().expect("calendars").insert(row.id, Loaded { enabled: row.enabled, parts });
            if Kind::from_db(&row.kind) == Kind::File {
                me.watch(Path::new(&row.display));
            }
        }
        Ok(me)
    }

    fn account_of(row: AccountRow, entries: &[EntryRow]) -> Account {
        let kind = Kind::from_db(&row.kind);
        let calendars: Vec<CalendarEntry> = entries
            .iter()
            .filter(|e| e.account_id == row.id)
            .map(|e| CalendarEntry {
                id: e.id,
                name: e.name.clone(),
                color: e.color.clone(),
                own: e.own,
                included: e.included,
                events: if e.included { e.events } else { 0 },
                last_error: e.last_error.clone(),
            })
            .collect();
        let events = if kind.has_calendars() {
            calendars.iter().filter(|c| c.included).map(|c| c.events).sum()
        } else {
            row.events
        };
        Account {
            id: row.id,
            name: row.name,
            kind,
            display: row.display,
            owner: split_owner(&row.owner),
            enabled: row.enabled,
            last_sync: row.last_sync,
            last_error: row.last_error,
            events,
            env_var: (kind == Kind::Url).then(|| SecretName::calendar(&row.slug).env_var().to_string()),
            warnings: Vec::new(),
            user: row.user,
            state: State::from_db(&row.state),
            calendars,
        }
    }

    /// The enabled accounts' ids (health watches only their refreshes).
    pub fn enabled_ids(&self) -> Vec<i64> {
        self.loaded.read().expect("calendars").iter().filter(|(_, l)| l.enabled).map(|(id, _)| *id).collect()
    }

    pub async fn list(&self) -> Result<Vec<Account>, CalendarError> {
        let rows = db::accounts(&self.store).await?;
        let entries = db::entries(&self.store, None).await?;
        Ok(rows.into_iter().map(|r| Self::account_of(r, &entries)).collect())
    }

    pub async fn get(&self, id: i64) -> Result<Account, CalendarError> {
        let row = self.row(id).await?;
        let entries = db::entries(&self.store, Some(id)).await?;
        Ok(Self::account_of(row, &entries))
    }

    pub(super) async fn row(&self, id: i64) -> Result<AccountRow, CalendarError> {
        db::account(&self.store, id).await?.ok_or(CalendarError::NotFound(id))
    }

    /// A slug no account has yet, from `name`.
    pub(super) async fn free_slug(&self, name: &str) -> Result<String, CalendarError> {
        let base = slugify(name);
        let taken = db::slugs(&self.store).await?;
        Ok((1..)
            .map(|n| if n == 1 { base.clone() } else { format!("{base}-{n}") })
            .find(|s| !taken.contains(s))
            .unwrap_or(base))
    }

    /// Adds an account: an ICS address or file, or a CalDAV account. The source is read once
    /// first, so a wrong address or password is refused up front and nothing is kept.
    pub async fn add(&self, new: NewAccount) -> Result<Account, CalendarError> {
        match new.kind {
            Some(Kind::Caldav) => self.add_caldav(new).await,
            Some(Kind::Google | Kind::Microsoft) => Err(CalendarError::BadRequest(
                "Google and Microsoft accounts are added by signing in: POST /api/calendars/signin with \
                 {\"provider\": \"google\"} or {\"provider\": \"microsoft\"}"
                    .into(),
            )),
            Some(Kind::Url | Kind::File) | None => self.add_ics(new).await,
        }
    }

    async fn add_ics(&self, new: NewAccount) -> Result<Account, CalendarError> {
        let source = new.source.trim();
        if source.is_empty() {
            return Err(CalendarError::BadRequest(
                "`source` is required: an https:// or webcal:// address, or a path to an .ics file".into(),
            ));
        }
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
        let slug = self.free_slug(&name).await?;
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
            (None, None) => return Err(CalendarError::BadRequest("a source is an address or a path".into())),
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
        let row = NewAccountRow {
            slug,
            name,
            kind: kind.as_db().into(),
            display,
            path: path.as_ref().map(|p| p.display().to_string()),
            owner: new.owner.join(","),
            etag,
            last_modified: modified,
            body: Some(body),
            events: feed.len() as i64,
            now: now_ms(),
            ..NewAccountRow::default()
        };
        let id = db::insert_account(&self.store, row, Vec::new()).await?;
        let parts = vec![Part { entry: None, schedule: Schedule::Feed(Arc::new(feed)) }];
        self.loaded.write().expect("calendars").insert(id, Loaded { enabled: true, parts });
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
        self.row(id).await?;
        if let Some(n) = name.map(|n| n.trim().to_string()).filter(|n| !n.is_empty()) {
            db::rename(&self.store, id, n).await?;
        }
        if let Some(e) = enabled {
            db::set_enabled(&self.store, id, e).await?;
            if let Some(l) = self.loaded.write().expect("calendars").get_mut(&id) {
                l.enabled = e;
            }
            self.changed();
        }
        self.get(id).await
    }

    /// Ticks or unticks one calendar of an account. A calendar ticked is synced at once (an
    /// error is kept on it and its cached events, if any, count); one unticked stops counting.
    pub async fn set_included(&self, id: i64, entry: i64, included: bool) -> Result<Account, CalendarError> {
        let row = self.row(id).await?;
        let e = db::entry(&self.store, entry)
            .await?
            .filter(|e| e.account_id == id)
            .ok_or(CalendarError::NoEntry(id, entry))?;
        let lock = self.sync_lock(id);
        let _held = lock.lock().await;
        db::set_included(&self.store, entry, included).await?;
        if !included {
            if let Some(l) = self.loaded.write().expect("calendars").get_mut(&id) {
                l.parts.retain(|p| p.entry != Some(entry));
            }
        } else if !e.included {
            let e = EntryRow { included: true, ..e };
            let part = match self.sync_entry(&row, &e).await {
                Ok(part) => Some(part),
                Err(err) => {
                    db::record_entry(&self.store, entry, Some(err.to_string()), now_ms(), None).await?;
                    self.cached_part(&row, &e).await?
                }
            };
            if let (Some(part), Some(l)) = (part, self.loaded.write().expect("calendars").get_mut(&id)) {
                l.parts.retain(|p| p.entry != Some(entry));
                l.parts.push(part);
            }
        }
        self.changed();
        self.get(id).await
    }

    /// Removes an account, its cache and its secrets; a Google or Microsoft grant is revoked
    /// (best effort: a failure is logged and never stops the removal).
    pub async fn remove(&self, id: i64) -> Result<(), CalendarError> {
        let row = self.row(id).await?;
        let kind = Kind::from_db(&row.kind);
        if let Some(p) = kind.provider() {
            self.revoke(&row, p).await;
        }
        let secret = if kind == Kind::Url { SecretName::calendar(&row.slug) } else { secret_of(&row.slug) };
        if matches!(kind, Kind::Url | Kind::Caldav | Kind::Google | Kind::Microsoft) {
            if let Err(e) = self.vault.delete(&secret).await {
                tracing::warn!(calendar = %row.name, error = %e, "could not remove the calendar's secret from the keyring");
            }
        }
        db::delete_account(&self.store, id).await?;
        self.loaded.write().expect("calendars").remove(&id);
        self.tokens.lock().expect("calendar tokens").remove(&id);
        self.syncing.lock().expect("calendar sync locks").remove(&id);
        if let Some(p) = &row.path {
            self.watched.write().expect("watched files").retain(|f| f != Path::new(p));
        }
        self.changed();
        Ok(())
    }

    /// The lock that keeps one account's syncs apart.
    pub(super) fn sync_lock(&self, id: i64) -> Arc<tokio::sync::Mutex<()>> {
        self.syncing.lock().expect("calendar sync locks").entry(id).or_default().clone()
    }

    pub(super) fn changed(&self) {
        self.events.publish(Event::CalendarsChanged);
    }
}
