//! The shell's life cycle: start the engine, create the tray, keep it current from the admin API
//! and the engine's events, open the UI window on demand, hide instead of closing, and stop the
//! engine cleanly (every recorded turn on disk) on quit.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use metaclaw::api::client::Client;
use metaclaw::api::types::learning::{ApproveArg, CandidateAction, CandidateFilter, CandidateStatus, RejectArg};
use metaclaw::api::types::train::{TrainRunStatus, TrainState};
use metaclaw::config::Config;
use metaclaw::engine::{Engine, Keys};
use metaclaw::events::Event;
use metaclaw::home::Home;
use tauri::webview::NewWindowResponse;
use tauri::{AppHandle, Manager, RunEvent, WebviewUrl, WebviewWindowBuilder};
use tauri_plugin_autostart::{MacosLauncher, ManagerExt};

use crate::notify::{Action, Kind, Notifier};
use crate::origin::{self, Navigation};
use crate::prefs::Prefs;
use crate::tray::{self, Item, View};

/// Shared by the tray, the window and the background tasks.
pub struct Shell {
    engine: Mutex<Option<Engine>>,
    home: Home,
    base: String,
    token: String,
    /// The engine's admin API.
    api: Client,
    view: Mutex<View>,
    prefs: Mutex<Prefs>,
    notifier: Notifier,
}

pub fn run() -> anyhow::Result<()> {
    let hidden = std::env::args().any(|a| a == "--hidden");
    let home = Home::from_env().context("finding the MetaClaw home")?;
    let cfg = Config::load(&home.config_path())?;
    let app = tauri::Builder::default()
        // First, so a second launch only focuses the first.
        .plugin(tauri_plugin_single_instance::init(|app, _argv, _cwd| open_window(app)))
        .plugin(tauri_plugin_autostart::init(MacosLauncher::LaunchAgent, Some(vec!["--hidden"])))
        .plugin(tauri_plugin_updater::Builder::new().build())
        .setup(move |app| {
            #[cfg(target_os = "macos")]
            app.set_activation_policy(tauri::ActivationPolicy::Accessory);
            let engine = tauri::async_runtime::block_on(async {
                let keys = Keys::lookup(&cfg, &home).await;
                Engine::start(cfg, home.clone(), keys).await
            })?;
            let base = origin::engine_origin(engine.addr());
            // The start-at-login calls, for the engine's own pages only: its port is known now.
            app.add_capability(origin::capability(&base)).context("granting the UI its native calls")?;
            let token = engine.admin_token().to_string();
            let events = engine.events();
            let restarts = engine.restart_needed();
            let mut prefs = Prefs::load(&home);
            if crate::firstrun::should_register_now(prefs.autostart_decided) {
                match app.autolaunch().enable() {
                    Ok(()) => tracing::info!("start at login registered (first run); the tray can turn it off"),
                    Err(e) => tracing::warn!(error = %e, "could not register start at login"),
                }
                prefs.autostart_decided = true;
                if let Err(e) = prefs.save(&home) {
                    tracing::warn!(error = %e, "could not save the desktop preferences");
                }
            }
            let view = View {
                address: base.clone(),
                healthy: true,
                notifications: prefs.notifications,
                autostart: app.autolaunch().is_enabled().unwrap_or(false),
                ..Default::default()
            };
            let shell = Arc::new(Shell {
                engine: Mutex::new(Some(engine)),
                home,
                api: Client::new(base.clone(), token.clone()),
                base,
                token,
                view: Mutex::new(view.clone()),
                prefs: Mutex::new(prefs),
                notifier: Notifier::new(Duration::from_secs(30)),
            });
            app.manage(shell.clone());
            tray::create(app.handle(), &view, on_menu)?;
            tracing::info!(address = %shell.base, "MetaClaw desktop is running");
            {
                use std::io::Write;
                let _ = writeln!(std::io::stdout().lock(), "MetaClaw listening on {}/v1", shell.base);
            }
            let handle = app.handle().clone();
            let auto_update = shell.prefs.lock().expect("prefs").auto_update;
            crate::update::start(&handle, shell.api.clone(), events.clone(), auto_update, show_update);
            tauri::async_runtime::spawn(refresh_loop(handle.clone(), shell.clone()));
            tauri::async_runtime::spawn(event_loop(handle.clone(), shell, events.subscribe()));
            tauri::async_runtime::spawn(restart_on_new_address(handle.clone(), restarts));
            tauri::async_runtime::spawn(quit_on_signal(handle));
            if !hidden {
                open_window(app.handle());
            }
            Ok(())
        })
        .build(tauri::generate_context!())
        .context("starting the desktop shell")?;
    app.run(|app, event| match event {
        // Close to tray: closing the window destroys its webview (and WebKit's processes, most of
        // the app's memory) while the engine keeps serving; "Open MetaClaw" builds a new one in
        // a few hundred milliseconds. No window left is not a reason to quit.
        RunEvent::ExitRequested { api, code: None, .. } => api.prevent_exit(),
        RunEvent::Exit => stop_engine(app),
        _ => {}
    });
    Ok(())
}

fn shell(app: &AppHandle) -> Arc<Shell> {
    app.state::<Arc<Shell>>().inner().clone()
}

/// Shows (creating on first use) the window with the engine's UI.
fn open_window(app: &AppHandle) {
    if let Some(w) = app.get_webview_window(origin::WINDOW) {
        let _ = w.show();
        let _ = w.unminimize();
        let _ = w.set_focus();
        return;
    }
    let Some(s) = app.try_state::<Arc<Shell>>().map(|s| s.inner().clone()) else { return };
    let url = match format!("{}/", s.base).parse() {
        Ok(u) => WebviewUrl::External(u),
        Err(_) => return,
    };
    // The UI finds the engine and its token here, and the start-at-login switch (the only
    // native call it may make; see origin::capability), on the engine's origin only.
    let init = origin::init_script(&s.base, &s.token);
    let (nav_origin, popup_origin) = (s.base.clone(), s.base.clone());
    let built = WebviewWindowBuilder::new(app, origin::WINDOW, url)
        .title("MetaClaw")
        .inner_size(1180.0, 780.0)
        .min_inner_size(720.0, 480.0)
        .initialization_script(&init)
        // The window holding the admin token never leaves the engine's origin: web links open in
        // the user's browser, other schemes nowhere.
        .on_navigation(move |url| match origin::navigation(url, &nav_origin) {
            Navigation::Allow => true,
            Navigation::OpenInBrowser => {
                origin::open_in_browser(url);
                false
            }
            Navigation::Deny => {
                tracing::warn!(%url, "refused a navigation away from the engine's UI");
                false
            }
        })
        .on_new_window(move |url, _| {
            if origin::navigation(&url, &popup_origin) != Navigation::Deny {
                origin::open_in_browser(&url);
            }
            NewWindowResponse::Deny
        })
        .build();
    if let Err(e) = built {
        tracing::error!(error = %e, "could not open the MetaClaw window");
    }
}

fn open_review(app: &AppHandle) {
    open_window(app);
    if let Some(w) = app.get_webview_window(origin::WINDOW) {
        let _ = w.eval("location.hash = '#/review'");
    }
}

fn on_menu(app: &AppHandle, item: Item) {
    let s = shell(app);
    match item {
        Item::Status => {}
        Item::Open => open_window(app),
        Item::Review => open_review(app),
        Item::Update => crate::update::install_now(app),
        Item::CopyUrl => copy_to_clipboard(&format!("{}/v1", s.base)),
        Item::Pause => {
            let paused = s.view.lock().expect("view").paused;
            let (app, s) = (app.clone(), s.clone());
            tauri::async_runtime::spawn(async move {
                if let Err(e) = s.api.pause_learning(!paused).await {
                    tracing::warn!(error = %e, "could not switch learning");
                }
                refresh(&app, &s).await;
            });
        }
        Item::Autostart => {
            let al = app.autolaunch();
            let on = al.is_enabled().unwrap_or(false);
            let r = if on { al.disable() } else { al.enable() };
            if let Err(e) = r {
                tracing::warn!(error = %e, "could not change start at login");
            }
            let mut v = s.view.lock().expect("view");
            v.autostart = al.is_enabled().unwrap_or(on);
            let _ = tray::update(app, &v);
        }
        Item::Notifications => {
            let mut p = s.prefs.lock().expect("prefs");
            p.notifications = !p.notifications;
            if let Err(e) = p.save(&s.home) {
                tracing::warn!(error = %e, "could not save the notification preference");
            }
            let mut v = s.view.lock().expect("view");
            v.notifications = p.notifications;
            let _ = tray::update(app, &v);
        }
        Item::Quit => {
            stop_engine(app);
            app.exit(0);
        }
    }
}

/// The updater's line in the tray (update.rs).
fn show_update(app: &AppHandle, line: Option<tray::UpdateLine>) {
    let s = shell(app);
    let mut v = s.view.lock().expect("view");
    v.update = line;
    let _ = tray::update(app, &v);
}

/// Copies text with the platform's clipboard tool (the tray has no webview to copy from).
fn copy_to_clipboard(text: &str) {
    use std::io::Write;
    let tools: &[(&str, &[&str])] = if cfg!(target_os = "macos") {
        &[("pbcopy", &[])]
    } else if cfg!(target_os = "windows") {
        &[("clip", &[])]
    } else {
        &[("wl-copy", &[]), ("xclip", &["-selection", "clipboard"]), ("xsel", &["--clipboard", "--input"])]
    };
    for (tool, args) in tools {
        if let Ok(mut child) = std::process::Command::new(tool).args(*args).stdin(std::process::Stdio::piped()).spawn()
        {
            if let Some(mut stdin) = child.stdin.take() {
                let _ = stdin.write_all(text.as_bytes());
            }
            let _ = child.wait();
            return;
        }
    }
    tracing::warn!("no clipboard tool found (install wl-clipboard or xclip); the proxy URL is {text}");
}

/// Stops the engine once: in-flight requests finish and every recorded turn is committed.
fn stop_engine(app: &AppHandle) {
    let Some(s) = app.try_state::<Arc<Shell>>().map(|s| s.inner().clone()) else { return };
    let engine = s.engine.lock().expect("engine").take();
    if let Some(engine) = engine {
        tauri::async_runtime::block_on(engine.shutdown());
    }
}

/// Saved settings apply live in the engine, except a new listen address: then the app restarts
/// itself (the engine stops cleanly first, every turn on disk) and comes back on the new address,
/// its window included.
async fn restart_on_new_address(
    app: AppHandle,
    mut rx: tokio::sync::watch::Receiver<Vec<metaclaw::api::types::settings::RestartReason>>,
) {
    use metaclaw::api::types::settings::RestartReason;
    // What waits already (a save between the engine's start and this task) counts too.
    loop {
        let waiting = rx.borrow_and_update().contains(&RestartReason::ListenAddress);
        if waiting {
            // A taken or foreign address would leave no app at all after the restart: stay.
            let home = shell(&app).home.clone();
            let target =
                Config::load(&home.config_path()).map(|c| std::net::SocketAddr::new(c.proxy.host, c.proxy.port));
            let usable = match target.as_ref().map(std::net::TcpListener::bind) {
                Ok(Ok(probe)) => {
                    drop(probe);
                    true
                }
                Ok(Err(e)) => {
                    tracing::error!(error = %e, address = ?target, "the new listen address can't be used; MetaClaw stays where it listens");
                    false
                }
                Err(e) => {
                    tracing::error!(error = %e, "the saved config can't be read; MetaClaw stays where it listens");
                    false
                }
            };
            if usable {
                tracing::info!("the listen address changed in the settings; restarting MetaClaw on it");
                let handle = app.clone();
                // Off the async runtime: stopping the engine blocks until every turn is on disk.
                let _ = std::thread::spawn(move || {
                    stop_engine(&handle);
                    handle.restart();
                })
                .join();
                return;
            }
        }
        if rx.changed().await.is_err() {
            return;
        }
    }
}

/// SIGTERM (logout, shutdown, `kill`) and Ctrl-C quit as cleanly as the tray's Quit.
async fn quit_on_signal(app: AppHandle) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) else {
            return;
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    }
    #[cfg(not(unix))]
    if tokio::signal::ctrl_c().await.is_err() {
        return;
    }
    tracing::info!("quitting on a signal");
    let handle = app.clone();
    // Off the async runtime: stopping the engine blocks until every turn is on disk.
    let _ = std::thread::spawn(move || {
        stop_engine(&handle);
        handle.exit(0);
    })
    .join();
}

async fn refresh(app: &AppHandle, s: &Shell) {
    let status = s.api.status().await;
    let mut v = s.view.lock().expect("view").clone();
    match status {
        Ok(st) => {
            v.healthy = true;
            v.turns_today = st.turns_today;
            v.pending = st.candidates_pending;
            v.paused = st.learning_paused;
            v.training = st.training == metaclaw::train::TrainState::Training;
            v.health = Some(st.health.overall);
            v.problem = (st.health.overall > metaclaw::health::HealthState::Ok).then(|| st.health.summary());
            if s.prefs.lock().expect("prefs").notifications {
                for (kind, title, body) in crate::notify::health_alerts(&st.health, metaclaw::clock::now_ms()) {
                    s.notifier.show(kind, &title, &body, false, |_| {});
                }
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, "the engine did not answer");
            v.healthy = false;
        }
    }
    // The Settings view can switch start-at-login too.
    v.autostart = app.autolaunch().is_enabled().unwrap_or(v.autostart);
    let mut current = s.view.lock().expect("view");
    if *current != v {
        *current = v.clone();
        let _ = tray::update(app, &v);
    }
}

async fn refresh_loop(app: AppHandle, s: Arc<Shell>) {
    loop {
        refresh(&app, &s).await;
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
}

async fn event_loop(app: AppHandle, s: Arc<Shell>, mut rx: tokio::sync::broadcast::Receiver<Event>) {
    use tokio::sync::broadcast::error::RecvError;
    loop {
        let e = match rx.recv().await {
            Ok(e) => e,
            Err(RecvError::Lagged(_)) => continue,
            Err(RecvError::Closed) => return,
        };
        let notify = s.prefs.lock().expect("prefs").notifications;
        match e {
            Event::CandidateProposed { id, name, action } => {
                refresh(&app, &s).await;
                if notify {
                    let (app2, s2) = (app.clone(), s.clone());
                    let verb = if action == CandidateAction::Edit { "an edit of" } else { "a new skill," };
                    s.notifier.show(
                        Kind::Candidate,
                        "A skill to review",
                        &format!("MetaClaw proposes {verb} “{name}”."),
                        true,
                        move |a| {
                            let approve = match a {
                                Action::Approve => true,
                                Action::Reject => false,
                                Action::Open => return open_review(&app2),
                            };
                            tauri::async_runtime::spawn(async move {
                                let done = if approve {
                                    s2.api.approve(id, &ApproveArg::default()).await
                                } else {
                                    s2.api.reject(id, &RejectArg::default()).await
                                };
                                if let Err(e) = done {
                                    tracing::warn!(error = %e, "notification action failed");
                                }
                                refresh(&app2, &s2).await;
                            });
                        },
                    );
                }
            }
            Event::CandidateDecided { status, .. } => {
                refresh(&app, &s).await;
                if notify && status == CandidateStatus::Approved {
                    // Only automatic approvals are news: the user made the others.
                    let approved = CandidateFilter { status: Some(CandidateStatus::Approved), ..Default::default() };
                    if let Ok(c) = s.api.candidates(&approved).await {
                        let auto = c.candidates.into_iter().next().filter(|c| c.decided_by.as_deref() != Some("user"));
                        if let Some(c) = auto {
                            let name = c.name;
                            s.notifier.show(
                                Kind::AutoApproved,
                                "Skill approved automatically",
                                &format!("“{name}” now applies to your agent."),
                                false,
                                |_| {},
                            );
                        }
                    }
                }
            }
            // Health (the tray's icon, tooltip and failing notifications) follows at once.
            Event::UpstreamFailed { .. } | Event::JudgeFailed { .. } | Event::EvolverRan { error: Some(_), .. } => {
                refresh(&app, &s).await
            }
            Event::GenerationChanged { .. } | Event::SchedulerChanged { .. } => refresh(&app, &s).await,
            Event::TrainChanged { state, .. } => {
                let v = {
                    let mut v = s.view.lock().expect("view");
                    v.training = state == TrainState::Training;
                    v.clone()
                };
                let _ = tray::update(&app, &v);
            }
            Event::TrainRunEnded { status, detail, .. } => {
                refresh(&app, &s).await;
                let title = match status {
                    TrainRunStatus::Failed => Some("Training failed"),
                    TrainRunStatus::Done if !detail.starts_with("no batch") => Some("Training finished"),
                    _ => None,
                };
                if let (true, Some(title)) = (notify, title) {
                    s.notifier.show(Kind::Training, title, &detail, false, |_| {});
                }
            }
            _ => {}
        }
    }
}
