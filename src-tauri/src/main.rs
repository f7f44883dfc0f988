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
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("METACLAW_LOG").unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
    if let Err(e) = shell::run() {
        eprintln!("metaclaw-desktop: {e:#}");
        std::process::exit(1);
    }
}
