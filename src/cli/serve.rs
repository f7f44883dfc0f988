//! `metaclaw serve`: load the config, apply command-line overrides, run the engine until SIGINT
//! or SIGTERM, then shut down cleanly (every acknowledged turn reaches the database).

use std::time::Duration;

use anyhow::{Context, Result};

use metaclaw::api::types::settings::RestartReason;
use metaclaw::config::Config;
use metaclaw::engine::{Engine, Keys};
use metaclaw::home::Home;

use super::ServeArgs;

pub fn run(home: Home, args: ServeArgs) -> Result<()> {
    home.ensure()?;
    let created = home.write_default_config()?;
    let path = home.config_path();
    let mut cfg = Config::load(&path)?;
    // Kept over settings saved while running: what the command line says stays in force.
    let overrides = move |cfg: &mut Config| {
        if let Some(u) = &args.upstream {
            cfg.upstream.base_url = u.clone();
        }
        if let Some(m) = &args.model {
            cfg.upstream.model = Some(m.clone());
        }
        if let Some(p) = args.port {
            cfg.proxy.port = p;
        }
        if let Some(h) = args.host {
            cfg.proxy.host = h;
        }
    };
    overrides(&mut cfg);
    let overrides: metaclaw::engine::Overrides = std::sync::Arc::new(overrides);
    cfg.validate(std::path::Path::new("command-line options")).context("invalid command-line override")?;

    // The level follows log.level while running (METACLAW_LOG, when set, decides alone).
    metaclaw::log::init(&cfg.log.level).context("cannot set up the log")?;
    if created {
        tracing::info!(path = %path.display(), "wrote a default config file");
    }

    let drain = Duration::from_secs(cfg.proxy.drain_timeout_secs);
    // Signals are watched on a thread of their own, so they are seen (and the exit stays bounded)
    // even when every async worker is stuck in synchronous code.
    let stop = tokio_util::sync::CancellationToken::new();
    watch_signals(stop.clone(), drain + SHUTDOWN_GRACE)?;
    let rt =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the async runtime")?;
    let training = cfg.train.active_model().map(|m| {
        let serves = match cfg.train.serve_models.as_slice() {
            [] => "serves no models yet (train.serve_models is empty)".to_string(),
            [all] if all == "*" => "answers every model".to_string(),
            list => format!("answers {}", list.join(", ")),
        };
        format!("Training a LoRA adapter of {m} while you are away; the policy {serves} (`metaclaw train status`)\n")
    });
    let result = rt.block_on(async move {
        let engine = {
            let keys = Keys::lookup(&cfg, &home).await;
            Engine::start_overridden(cfg, home, keys, overrides).await?
        };
        // The one line scripts may rely on: where to point agents.
        // The token stays out of output that may end up in logs; `metaclaw ui` prints the link.
        // One write, errors ignored: whoever reads the address may close the pipe right after.
        let addr = engine.addr();
        let banner = format!(
            "MetaClaw listening on http://{addr}/v1\nWeb UI at http://{addr}/ (run `metaclaw ui` for a signed-in link)\n{}",
            training.unwrap_or_default()
        );
        if std::env::var_os("METACLAW_TEST_BLOCK_WORKERS").is_some() {
            block_workers_for_tests();
        }
        {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(banner.as_bytes()).and_then(|()| out.flush());
        }
        let waiting = tokio::spawn(say_when_restart_needed(engine.restart_needed()));
        stop.cancelled().await;
        waiting.abort();
        tracing::info!(drain_timeout_secs = drain.as_secs(), "shutting down; waiting for answers in flight");
        // Exit is bounded whatever a task is stuck in: the signal thread's watchdog ends the
        // process if the clean shutdown can't finish, and a second signal ends it at once.
        let limit = drain + SHUTDOWN_GRACE;
        if tokio::time::timeout(limit, engine.shutdown()).await.is_err() {
            tracing::error!("shutdown did not finish within {limit:?}; exiting anyway");
        }
        anyhow::Ok(())
    });
    // A task stuck in synchronous code must not keep the process alive.
    rt.shutdown_timeout(Duration::from_secs(2));
    result
}

/// Settings saved while running apply at once, except the listen address ([`RestartReason`]):
/// says once per change that `metaclaw serve` must be restarted.
async fn say_when_restart_needed(mut rx: tokio::sync::watch::Receiver<Vec<RestartReason>>) {
    let mut said = Vec::new();
    // What waits already (a save before this task started) counts too.
    loop {
        let waiting = rx.borrow_and_update().clone();
        if !waiting.is_empty() && waiting != said {
            let what: Vec<&str> = waiting
                .iter()
                .map(|r| match r {
                    RestartReason::ListenAddress => "the listen address (proxy.host, proxy.port)",
                })
                .collect();
            let line = format!(
                "Saved settings applied, except {}: restart `metaclaw serve` for {}.\n",
                what.join(", "),
                if waiting.len() > 1 { "them" } else { "it" }
            );
            use std::io::Write;
            let _ = std::io::stdout().lock().write_all(line.as_bytes());
        }
        said = waiting;
        if rx.changed().await.is_err() {
            return;
        }
    }
}

/// Beyond the drain timeout: stopping background work and committing the last turns.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(20);

/// Starts the thread that waits for SIGINT or SIGTERM (on its own small runtime): the first one
/// cancels `stop` and arms a watchdog that ends the process if shutting down takes longer than
/// `limit` (and a little); a second one ends it at once. Returns once the handlers are installed.
fn watch_signals(stop: tokio_util::sync::CancellationToken, limit: Duration) -> Result<()> {
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<std::io::Result<()>>();
    std::thread::Builder::new()
        .name("metaclaw-signals".into())
        .spawn(move || {
            let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                    return;
                }
            };
            rt.block_on(async move {
                let mut signals = match Signals::install() {
                    Ok(s) => s,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                let _ = ready_tx.send(Ok(()));
                signals.next().await;
                stop.cancel();
                std::thread::spawn(move || {
                    std::thread::sleep(limit + Duration::from_secs(5));
                    eprintln!("metaclaw: shutdown did not finish within {limit:?}; exiting");
                    std::process::exit(3);
                });
                signals.next().await;
                eprintln!("metaclaw: second signal: exiting without waiting");
                std::process::exit(130);
            });
        })
        .context("cannot start the signal thread")?;
    ready_rx.recv().context("the signal thread stopped")?.context("cannot install the signal handlers")
}

/// SIGINT and SIGTERM, installed once so none is missed between the first and the second.
struct Signals {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
}

impl Signals {
    fn install() -> std::io::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Ok(Self { term: signal(SignalKind::terminate())?, int: signal(SignalKind::interrupt())? })
        }
        #[cfg(not(unix))]
        Ok(Self {})
    }

    async fn next(&mut self) {
        #[cfg(unix)]
        tokio::select! {
            _ = self.term.recv() => {}
            _ = self.int.recv() => {}
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Test hook (`METACLAW_TEST_BLOCK_WORKERS`): parks every async worker in synchronous code for an
/// hour, as a task stuck in a blocking call would, and returns once all of them are stuck.
fn block_workers_for_tests() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let workers = tokio::runtime::Handle::current().metrics().num_workers();
    let stuck = std::sync::Arc::new(AtomicUsize::new(0));
    for _ in 0..workers {
        let stuck = stuck.clone();
        tokio::spawn(async move {
            stuck.fetch_add(1, Ordering::SeqCst);
            std::thread::sleep(Duration::from_secs(3600));
        });
    }
    while stuck.load(Ordering::SeqCst) < workers {
        std::thread::sleep(Duration::from_millis(10));
    }
}
