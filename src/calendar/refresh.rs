//! Syncing: `test` (one account now, its outcome kept on the account), the refresher (every
//! account on the cadence, file accounts when their file changes), and the busy blocks the
//! scheduler reads from what is loaded.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt as _;
use tokio::task::JoinHandle;

use super::sources::Part;
use super::{merge, Busy, CalendarError, Calendars, Kind, State, TestReport};
use crate::clock::now_ms;
use crate::store::calendars as db;

/// What one sync of an account brought.
pub(super) struct Synced {
    /// The account's schedules now; `None`: unchanged (an ICS feed answered 304).
    pub parts: Option<Vec<Part>>,
    /// A calendar of the account that failed while the others synced.
    pub error: Option<String>,
    /// CalDAV objects fetched.
    pub fetched: Option<i64>,
}

impl Calendars {
    /// Syncs an account now (every included calendar) and reports what happened; the outcome
    /// is also kept on the account.
    pub async fn test(&self, id: i64) -> Result<TestReport, CalendarError> {
        // Only an account that exists gets a lock (ids from callers are untrusted).
        self.row(id).await?;
        let lock = self.sync_lock(id);
        let _held = lock.lock().await;
        let row = self.row(id).await?;
        let outcome = match Kind::from_db(&row.kind) {
            Kind::Url | Kind::File => self.sync_ics(&row).await.map(|f| Synced {
                parts: f.map(|f| vec![Part { entry: None, schedule: super::sources::Schedule::Feed(f) }]),
                error: None,
                fetched: None,
            }),
            Kind::Caldav => self.sync_caldav(&row).await,
            Kind::Google | Kind::Microsoft => self.sync_provider(&row).await,
        };
        let (error, state, synced) = match outcome {
            Ok(s) => (s.error.clone(), if s.error.is_some() { State::Error } else { State::Ok }, Some(s)),
            Err(e @ CalendarError::SignInAgain(_)) => (Some(e.to_string()), State::SignInAgain, None),
            Err(e) => (Some(e.to_string()), State::Error, None),
        };
        let fetched = synced.as_ref().and_then(|s| s.fetched);
        let parts = synced.and_then(|s| s.parts);
        let events = parts.as_ref().map(|p| p.iter().map(|p| p.schedule.len() as i64).sum());
        // On failure `last_sync` stays and the cached schedule still counts.
        db::record_outcome(&self.store, id, error.clone(), state.as_db(), now_ms(), events).await?;
        if let Some(parts) = parts {
            if let Some(l) = self.loaded.write().expect("calendars").get_mut(&id) {
                l.parts = parts;
            }
            self.changed();
        }
        let (mut n, mut zones, mut skipped) = (0, Vec::new(), Vec::new());
        if let Some(l) = self.loaded.read().expect("calendars").get(&id) {
            for p in &l.parts {
                n += p.schedule.len() as i64;
                if let Some(f) = p.schedule.feed() {
                    zones.extend(f.unknown_zones.iter().cloned());
                    skipped.extend(f.skipped.to_lines());
                }
            }
        }
        zones.sort();
        zones.dedup();
        Ok(TestReport { ok: error.is_none(), events: n, error, unknown_zones: zones, skipped, fetched })
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
        let error = match std::panic::AssertUnwindSafe(self.test(id)).catch_unwind().await {
            Ok(Ok(r)) if !r.ok => {
                tracing::warn!(calendar = id, error = r.error.as_deref().unwrap_or(""), "calendar refresh failed");
                Some(r.error.unwrap_or_else(|| "the calendar could not be read".into()))
            }
            Ok(Ok(_)) => None,
            Ok(Err(e)) => {
                tracing::warn!(calendar = id, error = %e, "calendar refresh failed");
                Some(e.to_string())
            }
            Err(_) => {
                tracing::error!(calendar = id, "calendar refresh panicked; the other calendars go on");
                Some("reading this calendar crashed; it is left out".into())
            }
        };
        self.events.publish(crate::events::Event::CalendarRefreshed { calendar: id, error });
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

    /// Busy blocks of the enabled accounts' included calendars overlapping `[from, to)`, sorted
    /// by start. Each feed expands within its own time budget; a schedule that panics is left
    /// out (and logged).
    pub fn busy(&self, from: i64, to: i64) -> Vec<Busy> {
        let parts: Vec<(i64, super::sources::Schedule)> = self
            .loaded
            .read()
            .expect("calendars")
            .iter()
            .filter(|(_, l)| l.enabled)
            .flat_map(|(id, l)| l.parts.iter().map(move |p| (*id, p.schedule.clone())))
            .collect();
        let mut out: Vec<Busy> = Vec::new();
        for (id, s) in &parts {
            match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| s.busy(from, to, &self.rules))) {
                Ok(blocks) => out.extend(blocks.into_iter().map(|(summary, start, end)| Busy {
                    calendar: *id,
                    summary,
                    start,
                    end,
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

    /// Refreshes accounts every `every`, and file accounts whenever their file changes.
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
    pub(super) fn watch(&self, file: &Path) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn syncing_accounts_that_do_not_exist_keeps_no_lock_for_them() {
        let d = tempfile::tempdir().unwrap();
        let store = crate::store::Store::open(&d.path().join("t.db"), Duration::from_millis(10)).unwrap();
        let cals = Calendars::open(
            store.clone(),
            crate::secrets::Vault::memory(),
            chrono_tz::UTC,
            crate::events::EventBus::default(),
            &crate::config::CalendarConfig::default(),
        )
        .await
        .unwrap();
        for id in 0..1000 {
            assert!(matches!(cals.test(id).await, Err(CalendarError::NotFound(_))));
        }
        assert!(cals.syncing.lock().unwrap().is_empty(), "a lock per unknown id would grow without bound");
        store.close().await;
    }
}
