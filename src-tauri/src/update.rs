//! Signed updates: looks for a new release at launch and every six hours (tauri-plugin-updater's
//! `latest.json`), checks the download's minisign signature against MetaClaw's release key before
//! anything else, shows "Update available" in the tray, and installs only between training steps,
//! then restarts. A tampered or unsigned download is refused in plain words and nothing is replaced.
//!
//! The release key and address are `plugins.updater` in tauri.conf.json. `METACLAW_UPDATE_URL`
//! overrides the address; `METACLAW_UPDATE_PUBKEY` overrides the key in debug builds only (the
//! tests sign with a throwaway key), never in a release build.

use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use metaclaw::api::client::Client;
use metaclaw::events::{Event, EventBus};
use metaclaw::train::TrainState;
use tauri::{AppHandle, Manager, Url};
use tauri_plugin_updater::{Error as PluginError, Update, UpdaterExt};

use crate::tray::UpdateLine;

/// How often to look again after the check at launch.
const EVERY: Duration = Duration::from_secs(6 * 3600);
/// The largest download taken: a release is tens of megabytes; this bounds what a broken or
/// hostile server can make the app hold in memory.
const MAX_PAYLOAD: u64 = 512 * 1024 * 1024;

/// Where updates come from.
#[derive(Debug, Clone, PartialEq)]
pub struct Source {
    pub endpoint: Url,
    /// The minisign public key, base64 of the `.pub` file (what `cargo tauri signer generate` prints).
    pub pubkey: String,
}

/// Why there are no updates, said once in the log.
#[derive(Debug, Clone, PartialEq)]
pub enum Off {
    NoEndpoint,
    NoKey,
    BadEndpoint(String),
}

impl std::fmt::Display for Off {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Off::NoEndpoint => {
                f.write_str("updates are off: this build has no update address (plugins.updater.endpoints)")
            }
            Off::NoKey => f.write_str("updates are off: this build has no release key (plugins.updater.pubkey)"),
            Off::BadEndpoint(u) => write!(f, "updates are off: the update address {u:?} is not a URL"),
        }
    }
}

/// The source from the built-in config and the environment's overrides.
pub fn source(
    endpoints: &[String],
    pubkey: &str,
    env_url: Option<String>,
    env_key: Option<String>,
    key_override_allowed: bool,
) -> Result<Source, Off> {
    let endpoint = env_url.filter(|u| !u.is_empty()).or_else(|| endpoints.first().cloned()).ok_or(Off::NoEndpoint)?;
    let endpoint = endpoint.parse::<Url>().map_err(|_| Off::BadEndpoint(endpoint.clone()))?;
    let key = env_key.filter(|k| key_override_allowed && !k.trim().is_empty()).unwrap_or_else(|| pubkey.to_string());
    if key.trim().is_empty() {
        return Err(Off::NoKey);
    }
    Ok(Source { endpoint, pubkey: key.trim().to_string() })
}

fn source_of(app: &AppHandle) -> Result<Source, Off> {
    let cfg = app.config().plugins.0.get("updater").cloned().unwrap_or_default();
    let endpoints: Vec<String> = cfg["endpoints"]
        .as_array()
        .map(|a| a.iter().filter_map(|v| v.as_str().map(String::from)).collect())
        .unwrap_or_default();
    source(
        &endpoints,
        cfg["pubkey"].as_str().unwrap_or(""),
        std::env::var("METACLAW_UPDATE_URL").ok(),
        std::env::var("METACLAW_UPDATE_PUBKEY").ok(),
        cfg!(debug_assertions),
    )
}

/// What went wrong, in words for the user.
#[derive(Debug)]
pub enum UpdateError {
    /// The server could not be asked, or answered nonsense.
    Check(String),
    Download(String),
    /// The signature does not match the release key: nothing was replaced.
    Refused {
        version: String,
        why: String,
    },
    /// The payload was genuine but could not be put in place: the running version stays.
    Install {
        version: String,
        why: String,
    },
}

impl std::fmt::Display for UpdateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UpdateError::Check(e) => write!(f, "could not check for updates: {e}"),
            UpdateError::Download(e) => write!(f, "could not download the update: {e}"),
            UpdateError::Refused { version, why } => write!(
                f,
                "the update to version {version} was refused: {why}. Nothing was changed; MetaClaw keeps \
                 running this version"
            ),
            UpdateError::Install { version, why } => {
                write!(f, "could not install version {version}: {why}. MetaClaw keeps running this version")
            }
        }
    }
}

/// Why a signature check failed, in words.
fn refusal(e: &PluginError) -> String {
    match e {
        PluginError::SignedVersionMismatch { signed, .. } => {
            format!("it is signed as version {signed}, not the version the server announced")
        }
        PluginError::MissingSignedVersion => "its signature does not say which version it is".into(),
        PluginError::Minisign(_) => {
            "it is not signed with MetaClaw's release key (the download may have been tampered with)".into()
        }
        PluginError::Base64(_) | PluginError::SignatureUtf8(_) => "it has no valid signature".into(),
        other => format!("its signature could not be checked ({other})"),
    }
}

/// Why an install failed, in words.
fn install_failure(e: &PluginError) -> String {
    match e {
        PluginError::InvalidUpdaterFormat | PluginError::BinaryNotFoundInArchive => {
            "the download is not a MetaClaw build for this kind of install".into()
        }
        PluginError::AuthenticationFailed | PluginError::PackageInstallFailed | PluginError::DebInstallFailed => {
            "installing the package needs an administrator's password, and none was given; install it with \
             your package manager or try again from the tray"
                .into()
        }
        PluginError::TempDirNotOnSameMountPoint | PluginError::TempDirNotFound => {
            "there is no writable place beside the app to stage it".into()
        }
        other => other.to_string(),
    }
}

/// Waits until no training step runs: training's state is anything but `training`. `state`
/// answers the engine's training state (None when the engine did not answer: after three
/// unanswered asks in a row it is taken as not training); `wait` returns when it may have changed.
pub async fn between_steps<S, SF, W, WF>(mut state: S, mut wait: W)
where
    S: FnMut() -> SF,
    SF: Future<Output = Option<TrainState>>,
    W: FnMut() -> WF,
    WF: Future<Output = ()>,
{
    let mut unanswered = 0;
    loop {
        match state().await {
            Some(TrainState::Training) => unanswered = 0,
            Some(_) => return,
            None => {
                unanswered += 1;
                if unanswered >= 3 {
                    return;
                }
            }
        }
        wait().await;
    }
}

/// Shows the updater's line in the tray.
type Show = Box<dyn Fn(&AppHandle, Option<UpdateLine>) + Send + Sync>;

/// The updater's state, managed by the app.
pub struct Updates {
    api: Client,
    events: EventBus,
    /// Install as soon as an update is verified (the tray's item otherwise).
    auto: bool,
    /// The verified update and where its download is kept (not in memory: the app idles in the
    /// tray for hours), waiting for the user or the step boundary.
    ready: Mutex<Option<(Update, PathBuf)>>,
    installing: std::sync::atomic::AtomicBool,
    /// Shows a line in the tray.
    show: Show,
}

/// Starts the checks: at launch, then every six hours.
pub fn start(
    app: &AppHandle,
    api: Client,
    events: EventBus,
    auto: bool,
    show: impl Fn(&AppHandle, Option<UpdateLine>) + Send + Sync + 'static,
) {
    let src = match source_of(app) {
        Ok(s) => s,
        Err(off) => {
            tracing::info!("{off}");
            return;
        }
    };
    let updates = Arc::new(Updates {
        api,
        events,
        auto,
        ready: Mutex::new(None),
        installing: false.into(),
        show: Box::new(show),
    });
    app.manage(updates.clone());
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        loop {
            if !updates.installing.load(std::sync::atomic::Ordering::SeqCst) {
                if let Err(e) = check_once(&app, &updates, &src).await {
                    tracing::warn!("{e}");
                    if let UpdateError::Refused { version, .. } = &e {
                        (updates.show)(&app, Some(UpdateLine::Refused(version.clone())));
                    }
                }
            }
            tokio::time::sleep(EVERY).await;
        }
    });
}

async fn check_once(app: &AppHandle, updates: &Arc<Updates>, src: &Source) -> Result<(), UpdateError> {
    let updater = app
        .updater_builder()
        .endpoints(vec![src.endpoint.clone()])
        .and_then(|b| b.pubkey(src.pubkey.clone()).timeout(Duration::from_secs(60)).build())
        .map_err(|e| UpdateError::Check(e.to_string()))?;
    let Some(update) = updater.check().await.map_err(|e| UpdateError::Check(e.to_string()))? else {
        tracing::info!(endpoint = %src.endpoint, "MetaClaw is up to date");
        return Ok(());
    };
    let version = update.version.clone();
    if updates.ready.lock().expect("ready").as_ref().is_some_and(|(u, _)| u.version == version) {
        return Ok(()); // already downloaded and verified, waiting for the tray's item
    }
    tracing::info!(version, "an update is available; downloading it");
    let staged = staging_file(app, &version)?;
    download(&update, &staged).await.inspect_err(|_| {
        let _ = std::fs::remove_file(&staged);
    })?;
    let bytes = tokio::fs::read(&staged).await.map_err(|e| UpdateError::Download(e.to_string()))?;
    if let Err(e) = update.verify(&bytes) {
        let _ = std::fs::remove_file(&staged);
        return Err(UpdateError::Refused { version, why: refusal(&e) });
    }
    drop(bytes);
    tracing::info!(version, "update available: version {version}, signature verified");
    *updates.ready.lock().expect("ready") = Some((update, staged));
    (updates.show)(app, Some(UpdateLine::Available(version)));
    if updates.auto {
        install_now(app);
    }
    Ok(())
}

/// Where a download waits to be installed: the app's cache folder (owner-only), one file per
/// version.
fn staging_file(app: &AppHandle, version: &str) -> Result<PathBuf, UpdateError> {
    let err = |e: String| UpdateError::Download(format!("no folder to keep it in: {e}"));
    let dir = app.path().app_cache_dir().map_err(|e| err(e.to_string()))?.join("updates");
    std::fs::create_dir_all(&dir).map_err(|e| err(e.to_string()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).map_err(|e| err(e.to_string()))?;
    }
    // The version is a parsed semver; keep only its own characters all the same.
    let name: String = version.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+')).collect();
    Ok(dir.join(format!("metaclaw-{name}.update")))
}

/// Downloads the payload into `to`, at most [`MAX_PAYLOAD`] bytes.
async fn download(update: &Update, to: &std::path::Path) -> Result<(), UpdateError> {
    use tokio::io::AsyncWriteExt;
    let err = |e: reqwest::Error| UpdateError::Download(e.to_string());
    let client = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(30))
        .read_timeout(Duration::from_secs(60))
        .build()
        .map_err(err)?;
    let resp = client.get(update.download_url.as_str()).send().await.map_err(err)?;
    if !resp.status().is_success() {
        return Err(UpdateError::Download(format!("the server answered {}", resp.status())));
    }
    let too_big = || UpdateError::Download(format!("it is larger than {} MB", MAX_PAYLOAD / 1024 / 1024));
    if resp.content_length().is_some_and(|n| n > MAX_PAYLOAD) {
        return Err(too_big());
    }
    let io = |e: std::io::Error| UpdateError::Download(format!("{}: {e}", to.display()));
    let mut file = tokio::fs::OpenOptions::new().write(true).create(true).truncate(true).open(to).await.map_err(io)?;
    let (mut resp, mut taken) = (resp, 0u64);
    while let Some(chunk) = resp.chunk().await.map_err(err)? {
        taken += chunk.len() as u64;
        if taken > MAX_PAYLOAD {
            return Err(too_big());
        }
        file.write_all(&chunk).await.map_err(io)?;
    }
    file.flush().await.map_err(io)?;
    Ok(())
}

/// Installs the verified update (the tray's "Update available" item): waits for the training
/// step boundary, puts the new build in place, waits again if a run started meanwhile, restarts.
pub fn install_now(app: &AppHandle) {
    let Some(updates) = app.try_state::<Arc<Updates>>().map(|s| s.inner().clone()) else { return };
    let Some((update, staged)) = updates.ready.lock().expect("ready").clone() else { return };
    if updates.installing.swap(true, std::sync::atomic::Ordering::SeqCst) {
        return;
    }
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let version = update.version.clone();
        (updates.show)(&app, Some(UpdateLine::Installing(version.clone())));
        wait_for_step_boundary(&updates).await;
        let installed = {
            // Verified again as it is installed: the file may have changed since.
            let (update, staged) = (update.clone(), staged.clone());
            tauri::async_runtime::spawn_blocking(move || {
                let bytes = std::fs::read(&staged)?;
                let done = update.install(&bytes);
                if matches!(done, Ok(()) | Err(PluginError::Minisign(_) | PluginError::SignedVersionMismatch { .. })) {
                    let _ = std::fs::remove_file(&staged);
                }
                done
            })
            .await
        };
        let failed = match installed {
            Ok(Ok(())) => None,
            Ok(Err(e @ (PluginError::Minisign(_) | PluginError::SignedVersionMismatch { .. }))) => {
                Some(UpdateError::Refused { version: version.clone(), why: refusal(&e) })
            }
            Ok(Err(e)) => Some(UpdateError::Install { version: version.clone(), why: install_failure(&e) }),
            Err(e) => Some(UpdateError::Install { version: version.clone(), why: e.to_string() }),
        };
        if let Some(e) = failed {
            tracing::error!("{e}");
            let line = if let UpdateError::Refused { .. } = e {
                *updates.ready.lock().expect("ready") = None;
                UpdateLine::Refused(version)
            } else {
                UpdateLine::Available(version)
            };
            updates.installing.store(false, std::sync::atomic::Ordering::SeqCst);
            (updates.show)(&app, Some(line));
            return;
        }
        // The running process is untouched by the new file; a run that started while it was
        // written finishes its step before the restart.
        wait_for_step_boundary(&updates).await;
        tracing::info!(version, "installed version {version}; restarting");
        app.request_restart();
    });
}

async fn wait_for_step_boundary(updates: &Updates) {
    let rx = Arc::new(tokio::sync::Mutex::new(updates.events.subscribe()));
    let mut said = false;
    between_steps(
        || async { updates.api.status().await.ok().map(|s| s.training) },
        || {
            if !said {
                tracing::info!("waiting for the training step to finish before updating");
                said = true;
            }
            let rx = rx.clone();
            async move {
                let mut rx = rx.lock().await;
                let changed = async {
                    loop {
                        match rx.recv().await {
                            Ok(Event::TrainChanged { .. } | Event::TrainRunEnded { .. }) => return,
                            Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                            Err(tokio::sync::broadcast::error::RecvError::Closed) => {
                                return std::future::pending().await
                            }
                        }
                    }
                };
                let _ = tokio::time::timeout(Duration::from_secs(30), changed).await;
            }
        },
    )
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;

    #[test]
    fn the_release_key_can_be_overridden_only_in_debug_builds() {
        let eps = vec!["https://example.org/latest.json".to_string()];
        let s = source(&eps, "RELEASEKEY", None, Some("TESTKEY".into()), false).unwrap();
        assert_eq!(s.pubkey, "RELEASEKEY", "a release build never takes a key from the environment");
        let s = source(&eps, "RELEASEKEY", Some("http://127.0.0.1:9/latest.json".into()), Some("TESTKEY".into()), true)
            .unwrap();
        assert_eq!((s.pubkey.as_str(), s.endpoint.as_str()), ("TESTKEY", "http://127.0.0.1:9/latest.json"));
    }

    #[test]
    fn updates_are_off_without_an_address_or_a_key() {
        assert_eq!(source(&[], "K", None, None, false), Err(Off::NoEndpoint));
        assert_eq!(source(&["https://x.org/l.json".into()], " ", None, None, false), Err(Off::NoKey));
        assert_eq!(source(&["not a url".into()], "K", None, None, false), Err(Off::BadEndpoint("not a url".into())));
    }

    #[test]
    fn a_refused_update_says_nothing_was_changed() {
        let e = UpdateError::Refused { version: "0.2.0".into(), why: "it has no valid signature".into() };
        assert_eq!(
            e.to_string(),
            "the update to version 0.2.0 was refused: it has no valid signature. Nothing was changed; MetaClaw keeps \
             running this version"
        );
    }

    /// Runs [`between_steps`] over a scripted sequence of states; answers how many waits it took.
    fn waits_for(states: &[Option<TrainState>]) -> usize {
        let states = Mutex::new(states.iter().copied().collect::<VecDeque<_>>());
        let waits = Mutex::new(0);
        tauri::async_runtime::block_on(between_steps(
            || {
                let s = states.lock().unwrap().pop_front().expect("asked past the script");
                async move { s }
            },
            || {
                *waits.lock().unwrap() += 1;
                async {}
            },
        ));
        let n = *waits.lock().unwrap();
        n
    }

    #[test]
    fn an_update_waits_while_a_training_step_runs() {
        use TrainState::*;
        assert_eq!(waits_for(&[Some(Idle)]), 0);
        assert_eq!(waits_for(&[Some(Training), Some(Training), Some(Waiting)]), 2);
        assert_eq!(waits_for(&[Some(Training), Some(Paused)]), 1);
        // An engine that stops answering is not held to: after three asks in a row.
        assert_eq!(waits_for(&[None, None, None]), 2);
        assert_eq!(waits_for(&[None, Some(Training), None, None, Some(Off)]), 4);
    }
}
