//! The calendar tables' SQL, and the only code that touches them: accounts, each account's
//! calendars (which the user ticks), the CalDAV objects cached per calendar with their ETags, and
//! the provider events cached per calendar. Secrets (addresses, passwords, tokens) never come here.

use rusqlite::{params, Connection, OptionalExtension, Row};

use super::{Store, StoreError};

/// One account as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountRow {
    pub id: i64,
    pub slug: String,
    pub name: String,
    /// `url`, `file`, `caldav`, `google` or `microsoft`.
    pub kind: String,
    pub display: String,
    pub path: Option<String>,
    /// Comma-separated addresses of the user.
    pub owner: String,
    pub enabled: bool,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub last_sync: Option<i64>,
    pub last_error: Option<String>,
    pub events: i64,
    pub user: Option<String>,
    /// `ok`, `error` or `sign_in_again`.
    pub state: String,
    /// A CalDAV account's principal and calendar home (absolute URLs, as JSON).
    pub server: Option<String>,
}

const ACCOUNT_COLS: &str = "id, slug, name, kind, display, path, owner, enabled, etag, last_modified, last_sync, \
                            last_error, events, user, state, server";

fn account_row(r: &Row) -> rusqlite::Result<AccountRow> {
    Ok(AccountRow {
        id: r.get(0)?,
        slug: r.get(1)?,
        name: r.get(2)?,
        kind: r.get(3)?,
        display: r.get(4)?,
        path: r.get(5)?,
        owner: r.get(6)?,
        enabled: r.get(7)?,
        etag: r.get(8)?,
        last_modified: r.get(9)?,
        last_sync: r.get(10)?,
        last_error: r.get(11)?,
        events: r.get(12)?,
        user: r.get(13)?,
        state: r.get(14)?,
        server: r.get(15)?,
    })
}

/// One calendar of an account.
#[derive(Debug, Clone, PartialEq)]
pub struct EntryRow {
    pub id: i64,
    pub account_id: i64,
    /// The CalDAV collection's URL, or the provider's calendar id.
    pub remote_id: String,
    pub name: String,
    pub color: Option<String>,
    pub own: bool,
    pub included: bool,
    pub events: i64,
    pub last_error: Option<String>,
    pub last_sync: Option<i64>,
    pub sync_token: Option<String>,
    pub ctag: Option<String>,
}

const ENTRY_COLS: &str =
    "id, account_id, remote_id, name, color, own, included, events, last_error, last_sync, sync_token, ctag";

fn entry_row(r: &Row) -> rusqlite::Result<EntryRow> {
    Ok(EntryRow {
        id: r.get(0)?,
        account_id: r.get(1)?,
        remote_id: r.get(2)?,
        name: r.get(3)?,
        color: r.get(4)?,
        own: r.get(5)?,
        included: r.get(6)?,
        events: r.get(7)?,
        last_error: r.get(8)?,
        last_sync: r.get(9)?,
        sync_token: r.get(10)?,
        ctag: r.get(11)?,
    })
}

/// A CalDAV resource (one iCalendar object) as fetched.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectRow {
    pub href: String,
    pub etag: Option<String>,
    pub ics: String,
}

/// One provider event occurrence, with what the provider says about it.
#[derive(Debug, Clone, PartialEq)]
pub struct EventRow {
    pub summary: String,
    pub start_ms: i64,
    pub end_ms: i64,
    pub all_day: bool,
    pub cancelled: bool,
    /// `busy::Show` in words (see `calendar::sources`).
    pub show: String,
    /// `busy::Response` in words.
    pub response: String,
}

/// A new account.
#[derive(Debug, Clone, Default)]
pub struct NewAccountRow {
    pub slug: String,
    pub name: String,
    pub kind: String,
    pub display: String,
    pub path: Option<String>,
    pub owner: String,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub body: Option<String>,
    pub events: i64,
    pub user: Option<String>,
    pub server: Option<String>,
    pub now: i64,
}

/// What a calendar holds when it is stored.
#[derive(Debug, Clone, Default)]
pub enum Content {
    /// Not synced (not included).
    #[default]
    Nothing,
    /// CalDAV objects and where the incremental sync stands.
    Objects { objects: Vec<ObjectRow>, token: Option<String>, ctag: Option<String> },
    /// Provider events for the cached window.
    Events(Vec<EventRow>),
}

/// A calendar to store with its account.
#[derive(Debug, Clone, Default)]
pub struct NewEntry {
    pub remote_id: String,
    pub name: String,
    pub color: Option<String>,
    pub own: bool,
    pub included: bool,
    pub events: i64,
    pub error: Option<String>,
    pub content: Content,
}

pub async fn accounts(store: &Store) -> Result<Vec<AccountRow>, StoreError> {
    store
        .read(|c| {
            let mut q = c.prepare(&format!("SELECT {ACCOUNT_COLS} FROM calendars ORDER BY id"))?;
            let v = q.query_map([], account_row)?.collect::<Result<Vec<_>, _>>()?;
            Ok(v)
        })
        .await
}

pub async fn account(store: &Store, id: i64) -> Result<Option<AccountRow>, StoreError> {
    store
        .read(move |c| {
            Ok(c.query_row(&format!("SELECT {ACCOUNT_COLS} FROM calendars WHERE id = ?1"), [id], account_row)
                .optional()?)
        })
        .await
}

/// The cached feed text of an ICS account.
pub async fn body(store: &Store, id: i64) -> Result<Option<String>, StoreError> {
    store
        .read(move |c| {
            Ok(c.query_row("SELECT body FROM calendars WHERE id = ?1", [id], |r| r.get::<_, Option<String>>(0))
                .optional()?
                .flatten())
        })
        .await
}

pub async fn slugs(store: &Store) -> Result<Vec<String>, StoreError> {
    store
        .read(|c| {
            let mut q = c.prepare("SELECT slug FROM calendars")?;
            let v = q.query_map([], |r| r.get(0))?.collect::<Result<Vec<String>, _>>()?;
            Ok(v)
        })
        .await
}

fn insert_entry(c: &Connection, account_id: i64, e: &NewEntry, now: i64) -> Result<i64, StoreError> {
    let synced = !matches!(e.content, Content::Nothing) && e.error.is_none();
    let (token, ctag) = match &e.content {
        Content::Objects { token, ctag, .. } => (token.clone(), ctag.clone()),
        _ => (None, None),
    };
    c.execute(
        "INSERT INTO calendar_entries(account_id, remote_id, name, color, own, included, events, last_error, last_sync, sync_token, ctag)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
            account_id,
            e.remote_id,
            e.name,
            e.color,
            e.own,
            e.included,
            e.events,
            e.error,
            synced.then_some(now),
            token,
            ctag
        ],
    )?;
    let id = c.last_insert_rowid();
    match &e.content {
        Content::Nothing => {}
        Content::Objects { objects, .. } => put_objects(c, id, objects)?,
        Content::Events(events) => put_events(c, id, events)?,
    }
    Ok(id)
}

fn put_objects(c: &Connection, entry: i64, objects: &[ObjectRow]) -> Result<(), StoreError> {
    let mut q = c.prepare(
        "INSERT INTO calendar_objects(entry_id, href, etag, ics) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT(entry_id, href) DO UPDATE SET etag = excluded.etag, ics = excluded.ics",
    )?;
    for o in objects {
        q.execute(params![entry, o.href, o.etag, o.ics])?;
    }
    Ok(())
}

fn put_events(c: &Connection, entry: i64, events: &[EventRow]) -> Result<(), StoreError> {
    let mut q = c.prepare(
        "INSERT INTO calendar_events(entry_id, summary, start_ms, end_ms, all_day, cancelled, show, response)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    for e in events {
        q.execute(params![entry, e.summary, e.start_ms, e.end_ms, e.all_day, e.cancelled, e.show, e.response])?;
    }
    Ok(())
}

/// Stores an account with its calendars (and what they hold) in one transaction: all or nothing.
pub async fn insert_account(store: &Store, a: NewAccountRow, entries: Vec<NewEntry>) -> Result<i64, StoreError> {
    store
        .write(move |c| {
            c.execute(
                "INSERT INTO calendars(slug, name, kind, display, path, owner, etag, last_modified, body, last_sync, events, created_at, user, server)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?10, ?12, ?13)",
                params![
                    a.slug,
                    a.name,
                    a.kind,
                    a.display,
                    a.path,
                    a.owner,
                    a.etag,
                    a.last_modified,
                    a.body,
                    a.now,
                    a.events,
                    a.user,
                    a.server
                ],
            )?;
            let id = c.last_insert_rowid();
            for e in &entries {
                insert_entry(c, id, e, a.now)?;
            }
            Ok(id)
        })
        .await
}

pub async fn rename(store: &Store, id: i64, name: String) -> Result<(), StoreError> {
    store
        .write(move |c| Ok(c.execute("UPDATE calendars SET name = ?1 WHERE id = ?2", params![name, id]).map(|_| ())?))
        .await
}

pub async fn set_enabled(store: &Store, id: i64, enabled: bool) -> Result<(), StoreError> {
    store
        .write(move |c| {
            Ok(c.execute("UPDATE calendars SET enabled = ?1 WHERE id = ?2", params![enabled, id]).map(|_| ())?)
        })
        .await
}

/// Deletes an account with its calendars, objects and events.
pub async fn delete_account(store: &Store, id: i64) -> Result<(), StoreError> {
    store
        .write(move |c| {
            // Explicit, so the cascade does not depend on the connection's foreign-key setting.
            c.execute(
                "DELETE FROM calendar_objects WHERE entry_id IN (SELECT id FROM calendar_entries WHERE account_id = ?1)",
                [id],
            )?;
            c.execute(
                "DELETE FROM calendar_events WHERE entry_id IN (SELECT id FROM calendar_entries WHERE account_id = ?1)",
                [id],
            )?;
            c.execute("DELETE FROM calendar_entries WHERE account_id = ?1", [id])?;
            c.execute("DELETE FROM calendars WHERE id = ?1", [id])?;
            Ok(())
        })
        .await
}

/// Keeps the outcome of a sync on the account: the error (none = success, which also sets
/// `last_sync`), the state, and the event count when known.
pub async fn record_outcome(
    store: &Store,
    id: i64,
    error: Option<String>,
    state: &'static str,
    now: i64,
    events: Option<i64>,
) -> Result<(), StoreError> {
    store
        .write(move |c| {
            c.execute(
                "UPDATE calendars SET last_error = ?1, state = ?2,
                        last_sync = CASE WHEN ?1 IS NULL THEN ?3 ELSE last_sync END,
                        events = COALESCE(?4, events)
                 WHERE id = ?5",
                params![error, state, now, events, id],
            )?;
            Ok(())
        })
        .await
}

/// Keeps an ICS account's newly fetched feed.
pub async fn save_feed(
    store: &Store,
    id: i64,
    body: String,
    etag: Option<String>,
    last_modified: Option<String>,
    events: i64,
) -> Result<(), StoreError> {
    store
        .write(move |c| {
            c.execute(
                "UPDATE calendars SET body = ?1, etag = ?2, last_modified = ?3, events = ?4 WHERE id = ?5",
                params![body, etag, last_modified, events, id],
            )?;
            Ok(())
        })
        .await
}

/// The calendars of one account, or of every account.
pub async fn entries(store: &Store, account: Option<i64>) -> Result<Vec<EntryRow>, StoreError> {
    store
        .read(move |c| {
            let mut q = c.prepare(&format!(
                "SELECT {ENTRY_COLS} FROM calendar_entries WHERE ?1 IS NULL OR account_id = ?1 ORDER BY account_id, id"
            ))?;
            let v = q.query_map([account], entry_row)?.collect::<Result<Vec<_>, _>>()?;
            Ok(v)
        })
        .await
}

pub async fn entry(store: &Store, id: i64) -> Result<Option<EntryRow>, StoreError> {
    store
        .read(move |c| {
            Ok(c.query_row(&format!("SELECT {ENTRY_COLS} FROM calendar_entries WHERE id = ?1"), [id], entry_row)
                .optional()?)
        })
        .await
}

pub async fn set_included(store: &Store, entry: i64, included: bool) -> Result<(), StoreError> {
    store
        .write(move |c| {
            c.execute("UPDATE calendar_entries SET included = ?1 WHERE id = ?2", params![included, entry])?;
            Ok(())
        })
        .await
}

/// A calendar the account has now, as the server or provider lists it.
#[derive(Debug, Clone)]
pub struct Listed {
    pub remote_id: String,
    pub name: String,
    pub color: Option<String>,
    pub own: bool,
    /// Whether it counts when it is new to us.
    pub include_if_new: bool,
}

/// Brings an account's calendars in line with what the server lists: names, colours and
/// ownership follow, new ones are added (included when `include_if_new`), gone ones are
/// forgotten with what they held. The user's ticks on the others are kept.
pub async fn reconcile_entries(store: &Store, account: i64, listed: Vec<Listed>) -> Result<(), StoreError> {
    store
        .write(move |c| {
            let existing: Vec<(i64, String)> = {
                let mut q = c.prepare("SELECT id, remote_id FROM calendar_entries WHERE account_id = ?1")?;
                let v = q.query_map([account], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<Vec<_>, _>>()?;
                v
            };
            for (id, remote) in &existing {
                if !listed.iter().any(|l| &l.remote_id == remote) {
                    c.execute("DELETE FROM calendar_objects WHERE entry_id = ?1", [id])?;
                    c.execute("DELETE FROM calendar_events WHERE entry_id = ?1", [id])?;
                    c.execute("DELETE FROM calendar_entries WHERE id = ?1", [id])?;
                }
            }
            for l in &listed {
                if existing.iter().any(|(_, r)| r == &l.remote_id) {
                    c.execute(
                        "UPDATE calendar_entries SET name = ?1, color = ?2, own = ?3 WHERE account_id = ?4 AND remote_id = ?5",
                        params![l.name, l.color, l.own, account, l.remote_id],
                    )?;
                } else {
                    let e = NewEntry {
                        remote_id: l.remote_id.clone(),
                        name: l.name.clone(),
                        color: l.color.clone(),
                        own: l.own,
                        included: l.include_if_new,
                        ..NewEntry::default()
                    };
                    insert_entry(c, account, &e, 0)?;
                }
            }
            Ok(())
        })
        .await
}

/// The cached CalDAV objects of a calendar.
pub async fn objects(store: &Store, entry: i64) -> Result<Vec<ObjectRow>, StoreError> {
    store
        .read(move |c| {
            let mut q = c.prepare("SELECT href, etag, ics FROM calendar_objects WHERE entry_id = ?1 ORDER BY href")?;
            let v = q
                .query_map([entry], |r| Ok(ObjectRow { href: r.get(0)?, etag: r.get(1)?, ics: r.get(2)? }))?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(v)
        })
        .await
}

/// Applies one incremental CalDAV sync to a calendar's cache, with its new sync state, in one
/// transaction.
pub async fn apply_objects(
    store: &Store,
    entry: i64,
    changed: Vec<ObjectRow>,
    removed: Vec<String>,
    token: Option<String>,
    ctag: Option<String>,
) -> Result<(), StoreError> {
    store
        .write(move |c| {
            put_objects(c, entry, &changed)?;
            let mut q = c.prepare("DELETE FROM calendar_objects WHERE entry_id = ?1 AND href = ?2")?;
            for href in &removed {
                q.execute(params![entry, href])?;
            }
            c.execute(
                "UPDATE calendar_entries SET sync_token = ?1, ctag = ?2 WHERE id = ?3",
                params![token, ctag, entry],
            )?;
            Ok(())
        })
        .await
}

/// Forgets a calendar's cached objects and sync state (it was excluded, or must sync afresh).
pub async fn clear_objects(store: &Store, entry: i64) -> Result<(), StoreError> {
    store
        .write(move |c| {
            c.execute("DELETE FROM calendar_objects WHERE entry_id = ?1", [entry])?;
            c.execute("DELETE FROM calendar_events WHERE entry_id = ?1", [entry])?;
            c.execute("UPDATE calendar_entries SET sync_token = NULL, ctag = NULL, events = 0 WHERE id = ?1", [entry])?;
            Ok(())
        })
        .await
}

/// The cached provider events of a calendar.
pub async fn events(store: &Store, entry: i64) -> Result<Vec<EventRow>, StoreError> {
    store
        .read(move |c| {
            let mut q = c.prepare(
                "SELECT summary, start_ms, end_ms, all_day, cancelled, show, response FROM calendar_events
                 WHERE entry_id = ?1 ORDER BY start_ms",
            )?;
            let v = q
                .query_map([entry], |r| {
                    Ok(EventRow {
                        summary: r.get(0)?,
                        start_ms: r.get(1)?,
                        end_ms: r.get(2)?,
                        all_day: r.get(3)?,
                        cancelled: r.get(4)?,
                        show: r.get(5)?,
                        response: r.get(6)?,
                    })
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(v)
        })
        .await
}

/// Replaces a calendar's cached provider events (one window's worth).
pub async fn replace_events(store: &Store, entry: i64, events: Vec<EventRow>) -> Result<(), StoreError> {
    store
        .write(move |c| {
            c.execute("DELETE FROM calendar_events WHERE entry_id = ?1", [entry])?;
            put_events(c, entry, &events)?;
            Ok(())
        })
        .await
}

/// Keeps the outcome of one calendar's sync: the error (none = success, which also sets
/// `last_sync`) and its event count when known.
pub async fn record_entry(
    store: &Store,
    entry: i64,
    error: Option<String>,
    now: i64,
    events: Option<i64>,
) -> Result<(), StoreError> {
    store
        .write(move |c| {
            c.execute(
                "UPDATE calendar_entries SET last_error = ?1,
                        last_sync = CASE WHEN ?1 IS NULL THEN ?2 ELSE last_sync END,
                        events = COALESCE(?3, events)
                 WHERE id = ?4",
                params![error, now, events, entry],
            )?;
            Ok(())
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_account_with_its_calendars_is_stored_and_removed_whole() {
        let d = tempfile::tempdir().unwrap();
        let store = Store::open(&d.path().join("t.db"), std::time::Duration::from_millis(10)).unwrap();
        let objs = vec![ObjectRow { href: "/c/1.ics".into(), etag: Some("\"1\"".into()), ics: "X".into() }];
        let id = insert_account(
            &store,
            NewAccountRow { slug: "a".into(), name: "A".into(), kind: "caldav".into(), now: 5, ..Default::default() },
            vec![
                NewEntry {
                    remote_id: "/c/".into(),
                    name: "Work".into(),
                    own: true,
                    included: true,
                    content: Content::Objects { objects: objs, token: Some("t1".into()), ctag: None },
                    ..Default::default()
                },
                NewEntry { remote_id: "/h/".into(), name: "Holidays".into(), ..Default::default() },
            ],
        )
        .await
        .unwrap();
        let e = entries(&store, Some(id)).await.unwrap();
        assert_eq!(e.len(), 2);
        assert_eq!((e[0].included, e[0].sync_token.as_deref(), e[0].last_sync), (true, Some("t1"), Some(5)));
        assert_eq!((e[1].included, e[1].last_sync), (false, None));
        assert_eq!(objects(&store, e[0].id).await.unwrap().len(), 1);

        // The server renames one calendar, drops the other, adds a third.
        let listed = |id: &str, name: &str| Listed {
            remote_id: id.into(),
            name: name.into(),
            color: None,
            own: true,
            include_if_new: true,
        };
        reconcile_entries(&store, id, vec![listed("/c/", "Job"), listed("/n/", "New")]).await.unwrap();
        let e2 = entries(&store, Some(id)).await.unwrap();
        assert_eq!(
            e2.iter().map(|e| (e.name.as_str(), e.included)).collect::<Vec<_>>(),
            [("Job", true), ("New", true)]
        );
        assert_eq!(e2[0].id, e[0].id, "the ticked calendar keeps its id and cache");
        assert_eq!(objects(&store, e[0].id).await.unwrap().len(), 1);

        delete_account(&store, id).await.unwrap();
        assert!(account(&store, id).await.unwrap().is_none());
        assert!(entries(&store, None).await.unwrap().is_empty());
        assert!(objects(&store, e[0].id).await.unwrap().is_empty());
        store.close().await;
    }
}
