//! The shell's own preferences (notifications on or off), in `desktop.json` in the MetaClaw home,
//! written atomically. Start-at-login lives with the OS (the autostart plugin).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Prefs {
    pub notifications: bool,
    /// Start-at-login was registered on a first run (firstrun.rs); the user's later choice
    /// stands and is never overridden.
    pub autostart_decided: bool,
    /// Install a verified update without waiting for the tray's "Update available" item (still
    /// only between training steps; update.rs).
    pub auto_update: bool,
}

impl Default for Prefs {
    fn default() -> Self {
        Self { notifications: true, autostart_decided: false, auto_update: false }
    }
}

impl Prefs {
    pub fn path(home: &metaclaw::home::Home) -> PathBuf {
        home.root().join("desktop.json")
    }

    pub fn load(home: &metaclaw::home::Home) -> Self {
        std::fs::read_to_string(Self::path(home)).ok().and_then(|t| serde_json::from_str(&t).ok()).unwrap_or_default()
    }

    pub fn save(&self, home: &metaclaw::home::Home) -> anyhow::Result<()> {
        let text = serde_json::to_string_pretty(self)?;
        metaclaw::home::write_atomic(&Self::path(home), text.as_bytes(), 0o600)?;
        Ok(())
    }
}
