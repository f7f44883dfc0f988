//! Upkeep run on the writer outside the turn batches: optimising (and vacuuming) the database,
//! and erasing every recorded conversation with what was learned from it.

use super::{candidates, effect, evolution, judge, scheduler, sessions, turns, Store, StoreError};

impl Store {
    /// Optimises the database and truncates its log; also vacuums it when a quarter or more of
    /// it is free. Returns whether it vacuumed.
    pub async fn optimise(&self) -> Result<bool, StoreError> {
        self.maintain(|c| {
            c.execute_batch("PRAGMA optimize; PRAGMA wal_checkpoint(TRUNCATE);")?;
            let pages: i64 = c.query_row("PRAGMA page_count", [], |r| r.get(0))?;
            let free: i64 = c.query_row("PRAGMA freelist_count", [], |r| r.get(0))?;
            let vacuum = pages > 256 && free * 4 > pages;
            if vacuum {
                c.execute_batch("VACUUM;")?;
            }
            Ok(vacuum)
        })
        .await
    }

    /// Deletes every recorded conversation and everything learned from it (scores, evolution
    /// runs, candidates, job runs), then gives the space back. Skills and their generations stay.
    pub async fn erase_recorded(&self) -> Result<(), StoreError> {
        self.flush().await?;
        self.write(|c| {
            candidates::clear(c)?;
            evolution::clear(c)?;
            judge::clear(c)?;
            effect::clear(c)?;
            turns::clear(c)?;
            sessions::clear(c)?;
            turns::clear_blobs(c)?;
            scheduler::clear_runs(c)
        })
        .await?;
        self.maintain(|c| {
            c.execute_batch("PRAGMA wal_checkpoint(TRUNCATE); VACUUM;")?;
            Ok(())
        })
        .await
    }
}
