//! The disk component: free space on the disk that holds MetaClaw's home (the database, the
//! skills, training checkpoints). Read on each snapshot: one `statvfs`, no cache.

use std::path::Path;

use super::{Component, ComponentHealth, HealthState};

/// Below this, the disk is `degraded` (the store and checkpoints still fit, for now).
pub const LOW_BYTES: u64 = 2 << 30;
/// Below this, `failing`: writes will soon fail.
pub const CRITICAL_BYTES: u64 = 256 << 20;

/// The disk's health for `home` (its nearest existing ancestor if it is not there yet).
pub fn health(home: &Path) -> ComponentHealth {
    let mut h = ComponentHealth {
        component: Component::Disk,
        state: HealthState::Ok,
        error: None,
        error_at_ms: None,
        next_retry_ms: None,
        failures: 0,
        failing_since_ms: None,
    };
    let dir = home.ancestors().find(|p| p.exists()).unwrap_or(home);
    match free_bytes(dir) {
        Some(free) => {
            let (state, error) = judge(free, dir);
            h.state = state;
            if error.is_some() {
                h.error = error;
                h.error_at_ms = Some(crate::clock::now_ms());
                h.failures = u32::from(state == HealthState::Failing);
            }
        }
        None => h.state = HealthState::Off,
    }
    h
}

/// The state and the plain-words warning for `free` bytes left on `dir`'s disk.
pub fn judge(free: u64, dir: &Path) -> (HealthState, Option<String>) {
    let left = if free >= 1 << 30 {
        format!("{:.1} GB", free as f64 / (1u64 << 30) as f64)
    } else {
        format!("{} MB", free >> 20)
    };
    if free < CRITICAL_BYTES {
        let e = format!(
            "only {left} free on the disk that holds {}: recording turns and learning will fail; free some space",
            dir.display()
        );
        (HealthState::Failing, Some(e))
    } else if free < LOW_BYTES {
        let e = format!("only {left} free on the disk that holds {}; free some space soon", dir.display());
        (HealthState::Degraded, Some(e))
    } else {
        (HealthState::Ok, None)
    }
}

#[cfg(unix)]
fn free_bytes(dir: &Path) -> Option<u64> {
    let s = rustix::fs::statvfs(dir).ok()?;
    Some(s.f_bavail.saturating_mul(s.f_frsize))
}

#[cfg(not(unix))]
fn free_bytes(_dir: &Path) -> Option<u64> {
    None
}
