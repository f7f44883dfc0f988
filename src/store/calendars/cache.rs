//! What each calendar holds, cached: CalDAV objects with their ETags (`calendar_objects`) and
//! provider event occurrences (`calendar_events`).

use rusqlite::{params, Connection};

use crate::store::{Store, StoreError};

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

pub(super) fn put_objects(c: &Connection, entry: i64, objects: &[ObjectRow]) -> Result<(), StoreError> {
    let mut q = c.prepare(
        "INSERT INTO calendar_objects(entry_id, href, etag, ics) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT(entry_id, href) DO UPDATE SET etag = excluded.etag, ics = excluded.ics",
    )?;
    for o in objects {
        q.execute(params![entry, o.href, o.etag, o.ics])?;
    }
    Ok(())
}

pub(super) fn put_events(c: &Connection, entry: i64, events: &[EventRow]) -> Result<(), StoreError> {
    let mut q = c.prepare(
        "INSERT INTO calendar_events(entry_id, summary, start_ms, end_ms, all_day, cancelled, show, response)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    for e in events {
        q.execute(params![entry, e.summary, e.start_ms, e.end_ms, e.all_day, e.cancelled, e.show, e.response])?;
    }
    Ok(())
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
