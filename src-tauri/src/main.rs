//! MetaClaw's desktop shell: starts the engine in-process, keeps a tray icon with the status and
//! the actions that matter, opens the engine's own web UI in a window, and raises notifications.
//! It knows nothing of proxying: it talks to the engine through the admin API and its event bus.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod firstrun;
mod notify;
mod origin;
mod prefs;
mod shell;
mod tray;
mod update;

fn main() {
    // The UI is forms and lists: WebKitGTK's accelerated compositing buys nothing here and, under
    // software rendering, doubles the web process's memory (~220 → ~115 MB measured). Before any
    // thread starts; a user's own setting wins.
    #[cfg(target_os = "linux")]
    if std::env::var_os("WEBKIT_DISABLE_COMPOSITING_MODE").is_none() {
        std::env::set_var("WEBKIT_DISABLE_COMPOSITING_MODE", "1");
    }
    // MetaClaw's log at the configured level, which follows `log.level` while the app runs
    // (`METACLAW_LOG`, when set, decides alone); an unreadable config is reported by the shell.
    let level = metaclaw::home::Home::from_env()
        .ok()
        .and_then(|home| metaclaw::config::Config::load(&home.config_path()).ok())
        .map_or_else(|| "info".to_string(), |cfg| cfg.log.level);
    if let Err(e) = metaclaw::log::init(&level) {
        eprintln!("metaclaw-desktop: {e}");
    }
    if let Err(e) = shell::run() {
        eprintln!("metaclaw-desktop: {e:#}");
        std::process::exit(1);
    }
}
