//! CalDAV accounts: adding one (discover, list, tick the user's own event calendars, first sync,
//! password to the keyring, all or nothing) and syncing it incrementally, one calendar at a time,
//! with each calendar's objects and sync state cached in SQLite.

use std::sync::Arc;

use super::accounts::secret_of;
use super::caldav::{Credentials, Discovered, SyncState};
use super::refresh::Synced;
use super::sources::{parse_objects, Loaded, Part, Schedule};
use super::{feed_warnings, split_owner, Account, CalendarError, Calendars, NewAccount};
use crate::clock::now_ms;
use crate::store::calendars::{self as db, AccountRow, Content, EntryRow, Listed, NewAccountRow, NewEntry, ObjectRow};

fn required(v: Option<String>, what: &str) -> Result<String, CalendarError> {
    v.map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| CalendarError::BadRequest(format!("`{what}` is required for a CalDAV account")))
}

/// The principal and home as kept on the account (`server`).
fn encode(d: &Discovered) -> String {
    serde_json::json!({"principal": d.principal, "home": d.home}).to_string()
}

fn decode(s: Option<&str>) -> Option<Discovered> {
    let v: serde_json::Value = serde_json::from_str(s?).ok()?;
    Some(Discovered { principal: v["principal"].as_str()?.to_string(), home: v["home"].as_str()?.to_string() })
}

/// The sync state of a calendar from its cached objects. An object the server listed without an
/// ETag is kept with an empty one: it is still known, so a listing without it is its removal,
/// and the sync fetches it again whenever the server lists it without an ETag (or with another).
fn sync_state(token: Option<String>, ctag: Option<String>, cached: &[ObjectRow]) -> SyncState {
    let etags = cached.iter().map(|o| (o.href.clone(), o.etag.clone().unwrap_or_default())).collect();
    SyncState { token, ctag, etags }
}

fn objects_of(changed: Vec<super::caldav::Object>) -> Vec<ObjectRow> {
    changed.into_iter().map(|o| ObjectRow { href: o.href, etag: o.etag, ics: o.ics }).collect()
}

impl Calendars {
    /// Adds a CalDAV account: finds the calendars, ticks the user's own event calendars, syncs
    /// them once, keeps the password in the keyring. A wrong address or password stores nothing.
    pub(super) async fn add_caldav(&self, new: NewAccount) -> Result<Account, CalendarError> {
        let server = required(new.server.clone(), "server")?;
        let user = required(new.user.clone(), "user")?;
        let password = new
            .password
            .clone()
            .filter(|p| !p.is_empty())
            .ok_or_else(|| CalendarError::BadRequest("`password` is required for a CalDAV account".into()))?;
        let creds = Credentials { user: user.clone(), password };
        let found = self.dav.discover(&server, &creds).await?;
        let remote = self.dav.calendars(&found, &creds).await?;
        let mut owner = new.owner.clone();
        if user.contains('@') && !owner.contains(&user) {
            owner.push(user.clone());
        }
        let mut entries = Vec::new();
        let mut warnings = Vec::new();
        for rc in remote.into_iter().filter(|c| c.events) {
            let mut e = NewEntry {
                remote_id: rc.href.clone(),
                name: rc.name.clone(),
                color: rc.color.clone(),
                own: rc.own,
                included: rc.own,
                ..NewEntry::default()
            };
            if e.included {
                match self.dav.sync(&rc.href, &creds, &SyncState::default()).await {
                    Ok(ch) => {
                        let objects = objects_of(ch.changed);
                        // A calendar whose events can't be read keeps its error; the others go on.
                        match parse_objects(&objects, self.zone, owner.clone()).await {
                            Ok(feed) => {
                                warnings.extend(feed_warnings(&feed).into_iter().map(|w| format!("{}: {w}", rc.name)));
                                e.events = feed.len() as i64;
                                e.content = Content::Objects { objects, token: ch.token, ctag: ch.ctag };
                            }
                            Err(err) => e.error = Some(err.to_string()),
                        }
                    }
                    Err(err) => e.error = Some(err.to_string()),
                }
            }
            entries.push(e);
        }
        if entries.is_empty() {
            warnings.push("the server lists no event calendars for this user".into());
        }
        let host = reqwest::Url::parse(&found.home).ok().and_then(|u| u.host_str().map(str::to_string));
        let display = host.clone().unwrap_or_else(|| server.clone());
        let name = match new.name.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
            Some(n) => n.to_string(),
            None => host.unwrap_or_else(|| "CalDAV".into()),
        };
        let slug = self.free_slug(&name).await?;
        self.vault.set(&secret_of(&slug), &creds.password).await?;
        let row = NewAccountRow {
            slug: slug.clone(),
            name,
            kind: "caldav".into(),
            display,
            owner: owner.join(","),
            events: entries.iter().filter(|e| e.included).map(|e| e.events).sum(),
            user: Some(user),
            server: Some(encode(&found)),
            now: now_ms(),
            ..NewAccountRow::default()
        };
        let id = self.insert_with_secret(&slug, row, entries).await?;
        let row = self.row(id).await?;
        let parts = self.load_cached(&row).await?;
        self.loaded.write().expect("calendars").insert(id, Loaded { enabled: true, parts });
        self.changed();
        let mut account = self.get(id).await?;
        account.warnings = warnings;
        Ok(account)
    }

    /// The account's user name and its password from the keyring.
    pub(super) async fn dav_credentials(&self, row: &AccountRow) -> Result<Credentials, CalendarError> {
        let (password, _) = self.vault.get(&secret_of(&row.slug)).await?;
        let password = password.ok_or_else(|| CalendarError::MissingPassword(row.name.clone()))?;
        Ok(Credentials { user: row.user.clone().unwrap_or_default(), password })
    }

    /// Syncs a CalDAV account: the calendar list (new calendars, renamed, gone), then each
    /// included calendar incrementally. A calendar that fails keeps its cached events and its
    /// error; the others go on.
    pub(super) async fn sync_caldav(&self, row: &AccountRow) -> Result<Synced, CalendarError> {
        let creds = self.dav_credentials(row).await?;
        let found = decode(row.server.as_deref()).ok_or_else(|| {
            CalendarError::BadRequest(format!("{:?} lost its server address: add it again", row.name))
        })?;
        let listed = self.dav.calendars(&found, &creds).await?;
        let listed = listed
            .into_iter()
            .filter(|c| c.events)
            .map(|c| Listed { remote_id: c.href, name: c.name, color: c.color, own: c.own, include_if_new: c.own })
            .collect();
        db::reconcile_entries(&self.store, row.id, listed).await?;
        let mut parts = Vec::new();
        let (mut error, mut fetched) = (None, 0);
        for e in db::entries(&self.store, Some(row.id)).await?.into_iter().filter(|e| e.included) {
            match self.sync_dav_entry(row, &e, &creds).await {
                Ok((part, n)) => {
                    parts.push(part);
                    fetched += n;
                }
                Err(err) => {
                    let msg = err.to_string();
                    db::record_entry(&self.store, e.id, Some(msg.clone()), now_ms(), None).await?;
                    error.get_or_insert(format!("{}: {msg}", e.name));
                    if let Some(p) = self.loaded_part(row.id, e.id) {
                        parts.push(p);
                    } else if let Some(p) = self.cached_part(row, &e).await? {
                        parts.push(p);
                    }
                }
            }
        }
        Ok(Synced { parts: Some(parts), error, fetched: Some(fetched) })
    }

    /// The schedule of one calendar as loaded now.
    pub(super) fn loaded_part(&self, account: i64, entry: i64) -> Option<Part> {
        let loaded = self.loaded.read().expect("calendars");
        let p = loaded.get(&account)?.parts.iter().find(|p| p.entry == Some(entry))?;
        Some(Part { entry: p.entry, schedule: p.schedule.clone() })
    }

    /// One incremental sync of one CalDAV calendar: only changed objects are fetched; an
    /// unchanged calendar keeps its parsed feed. Returns the schedule and the objects fetched.
    pub(super) async fn sync_dav_entry(
        &self,
        row: &AccountRow,
        e: &EntryRow,
        creds: &Credentials,
    ) -> Result<(Part, i64), CalendarError> {
        let cached = db::objects(&self.store, e.id).await?;
        let state = sync_state(e.sync_token.clone(), e.ctag.clone(), &cached);
        let ch = self.dav.sync(&e.remote_id, creds, &state).await?;
        let fetched = ch.changed.len() as i64;
        let unchanged = ch.changed.is_empty() && ch.removed.is_empty();
        let same_state = ch.token == e.sync_token && ch.ctag == e.ctag;
        if unchanged && e.last_sync.is_some() {
            if let Some(p) = self.loaded_part(row.id, e.id) {
                if !same_state {
                    db::apply_objects(&self.store, e.id, Vec::new(), Vec::new(), ch.token, ch.ctag).await?;
                }
                db::record_entry(&self.store, e.id, None, now_ms(), Some(p.schedule.len() as i64)).await?;
                return Ok((p, 0));
            }
        }
        db::apply_objects(&self.store, e.id, objects_of(ch.changed), ch.removed, ch.token, ch.ctag).await?;
        let objects = db::objects(&self.store, e.id).await?;
        let feed = parse_objects(&objects, self.zone, split_owner(&row.owner)).await?;
        db::record_entry(&self.store, e.id, None, now_ms(), Some(feed.len() as i64)).await?;
        Ok((Part { entry: Some(e.id), schedule: Schedule::Feed(Arc::new(feed)) }, fetched))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_home_kept_on_the_account_reads_back() {
        let d =
            Discovered { principal: "http://127.0.0.1:5232/ada/".into(), home: "http://127.0.0.1:5232/ada/".into() };
        assert_eq!(decode(Some(&encode(&d))), Some(d));
        assert_eq!(decode(Some("not json")), None);
        assert_eq!(decode(None), None);
    }

    #[test]
    fn objects_cached_without_an_etag_stay_in_the_sync_state_so_their_removal_is_seen() {
        let row = |href: &str, etag: Option<&str>| ObjectRow {
            href: href.into(),
            etag: etag.map(str::to_string),
            ics: "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n".into(),
        };
        let cached = [row("https://h/cal/a.ics", Some("\"1\"")), row("https://h/cal/b.ics", None)];
        let state = sync_state(Some("t".into()), None, &cached);
        assert_eq!(state.etags.len(), 2, "{:?}", state.etags);
        assert_eq!(state.etags["https://h/cal/a.ics"], "\"1\"");
        // Known, with no ETag to match: gone when a listing leaves it out, fetched again when a
        // listing names it (an empty ETag never equals a server's).
        assert_eq!(state.etags["https://h/cal/b.ics"], "");
        assert_eq!(state.token.as_deref(), Some("t"));
    }
}
