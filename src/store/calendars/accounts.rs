//! Calendar accounts (the `calendars` table): storing one with its calendars in one go, renaming,
//! switching and removing it, how its syncs went, and an ICS account's cached feed text.

use rusqlite::{params, OptionalExtension, Row};

use super::entries::{insert_entry, NewEntry};
use crate::store::{Store, StoreError};

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
