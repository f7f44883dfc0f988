//! The process's log on stderr, whose level follows `log.level` while the engine runs: the
//! binary installs it once ([`init`]) and each applied change of the setting goes through
//! [`set_level`]. `METACLAW_LOG`, when set, decides alone (a saved level doesn't change it).

use std::sync::OnceLock;

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{reload, EnvFilter, Registry};

/// Why the log could not be set up or changed.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("a log is already set up in this process")]
    AlreadySet,
    #[error("could not change the log level: {0}")]
    Reload(String),
}

/// The handle that changes the filter of the log [`init`] set up.
static HANDLE: OnceLock<reload::Handle<EnvFilter, Registry>> = OnceLock::new();

/// The filter for a configured level: MetaClaw's own events at `level`.
fn filter_for(level: &str) -> EnvFilter {
    EnvFilter::new(format!("metaclaw={level}"))
}

/// Sets up the process's log on stderr at `level` (colour codes only on a terminal), or as
/// `METACLAW_LOG` says when it is set, in which case the level never changes afterwards.
pub fn init(level: &str) -> Result<(), LogError> {
    let (filter, live) = match EnvFilter::try_from_env("METACLAW_LOG") {
        Ok(f) => (f, false),
        Err(_) => (filter_for(level), true),
    };
    let (layer, handle) = reload::Layer::new(filter);
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr).with_ansi(ansi);
    tracing_subscriber::registry().with(layer).with(fmt).try_init().map_err(|_| LogError::AlreadySet)?;
    if live {
        let _ = HANDLE.set(handle);
    }
    Ok(())
}

/// Puts `level` in force for the log [`init`] set up; nothing when there is none (a library
/// user's own log, a test) or when `METACLAW_LOG` decides.
pub fn set_level(level: &str) -> Result<(), LogError> {
    match HANDLE.get() {
        Some(h) => h.reload(filter_for(level)).map_err(|e| LogError::Reload(e.to_string())),
        None => Ok(()),
    }
}
