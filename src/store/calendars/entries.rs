//! An account's calendars (`calendar_entries`): which ones the user ticks, kept in line with what
//! the server or provider lists, and how each one's sync went.

use rusqlite::{params, Connection, OptionalExtension, Row};

use super::cache::{put_events, put_objects, EventRow, ObjectRow};
use crate::store::{Store, StoreError};

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

pub(super) fn insert_entry(c: &Connection, account_id: i64, e: &NewEntry, now: i64) -> Result<i64, StoreError> {
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
