//! The database file: a connection opened with the store's settings, and the file (with its
//! write-ahead log and shared memory) kept readable by its owner only.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use super::StoreError;

/// Opens a connection to the database at `path`: a busy timeout, foreign keys enforced.
pub(super) fn open_conn(path: &Path, flags: OpenFlags) -> Result<Connection, StoreError> {
    let conn =
        Connection::open_with_flags(path, flags).map_err(|source| StoreError::Open { path: path.into(), source })?;
    conn.busy_timeout(Duration::from_secs(5))?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(conn)
}

/// Makes the database file (and any write-ahead log and shared-memory file beside it) readable by
/// its owner only: the turns hold every prompt and answer. SQLite creates `-wal` and `-shm` with
/// the main file's mode, so creating that one 0600 before SQLite opens it covers all three.
#[cfg(unix)]
pub(super) fn restrict_mode(path: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let open_err = |source: std::io::Error| StoreError::Open {
        path: path.into(),
        source: rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CANTOPEN),
            Some(source.to_string()),
        ),
    };
    std::fs::OpenOptions::new().write(true).create(true).truncate(false).mode(0o600).open(path).map_err(open_err)?;
    // A file left from before (or created under a lax umask elsewhere) is tightened too.
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        let p = std::path::PathBuf::from(p);
        if let Ok(meta) = std::fs::metadata(&p) {
            if meta.permissions().mode() & 0o077 != 0 {
                std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).map_err(open_err)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::Store;
    use super::*;

    #[cfg(unix)]
    #[tokio::test]
    async fn database_files_are_owner_only_even_in_an_open_home() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let path = dir.path().join("metaclaw.db");
        // A file from an older build, readable by all, is tightened as well.
        let old = dir.path().join("old.db");
        std::fs::write(&old, b"").unwrap();
        std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o644)).unwrap();
        for p in [&path, &old] {
            let store = Store::open(p, Duration::from_millis(10)).unwrap();
            let mut seen = 0;
            for suffix in ["", "-wal", "-shm"] {
                let mut f = p.as_os_str().to_owned();
                f.push(suffix);
                if let Ok(meta) = std::fs::metadata(&f) {
                    seen += 1;
                    assert_eq!(meta.permissions().mode() & 0o777, 0o600, "{f:?}");
                }
            }
            assert_eq!(seen, 3, "the database, its WAL and its shared memory exist while open");
            store.close().await;
        }
    }
}
