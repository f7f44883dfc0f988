//! Health: one model of how each part of MetaClaw is doing (upstream, judge, evolver, trainer,
//! calendar refresh, disk), fed by the event bus so the parts don't depend on it, and read as a
//! cheap snapshot by `/api/status`, `metaclaw status`, the UI's pill and the tray.

mod disk;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use tokio::sync::broadcast::error::RecvError;

pub use crate::api::types::health::{Component, ComponentHealth, HealthReport, HealthState};
use crate::clock::now_ms;
use crate::events::{Event, EventBus};
use crate::store::training::RunStatus as TrainRunStatus;
use crate::turn::ScoreSource;

/// Failures in a row after which a component is `failing` rather than `degraded`.
pub const FAILING_AFTER: u32 = 3;
/// Most sources (upstreams, calendars) tracked per component; more are folded into one.
const MAX_SOURCES: usize = 64;
/// An upstream that could not be reached is tried again (a TCP connection) this often, while
/// someone reads the health, so it shows as recovered without waiting for the agent's next turn.
pub const PROBE_EVERY_MS: i64 = 10_000;
/// How long one reachability probe may take.
const PROBE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// Which components are configured (the others are `off`), given by whoever reads the snapshot:
/// the engine's current settings, which can change while it runs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Configured {
    pub upstream: bool,
    pub judge: bool,
    pub evolver: bool,
    pub trainer: bool,
    /// The enabled calendar accounts (a removed one's failures no longer count).
    pub calendars: Vec<i64>,
}

impl Configured {
    fn has(&self, c: Component) -> bool {
        match c {
            Component::Upstream => self.upstream,
            Component::Judge => self.judge,
            Component::Evolver => self.evolver,
            Component::Trainer => self.trainer,
            Component::Calendars => !self.calendars.is_empty(),
            Component::Disk => true,
        }
    }
}

/// One source's record (an upstream, a calendar; most components have one source).
#[derive(Debug, Clone, Default)]
struct Track {
    failures: u32,
    error: Option<String>,
    error_at_ms: Option<i64>,
    next_retry_ms: Option<i64>,
    failing_since_ms: Option<i64>,
    /// The last failure was no answer at all (nothing listening, DNS, timeout): a TCP
    /// connection tells whether it is back.
    unreachable: bool,
}

impl Track {
    fn fail(&mut self, error: String, at: i64, next_retry_ms: Option<i64>) {
        self.failures = self.failures.saturating_add(1);
        self.error = Some(error);
        self.error_at_ms = Some(at);
        self.next_retry_ms = next_retry_ms;
        self.failing_since_ms.get_or_insert(at);
    }

    fn succeed(&mut self) {
        self.unreachable = false;
        self.failures = 0;
        self.next_retry_ms = None;
        self.failing_since_ms = None;
    }

    fn state(&self) -> HealthState {
        match self.failures {
            0 => HealthState::Ok,
            n if n < FAILING_AFTER => HealthState::Degraded,
            _ => HealthState::Failing,
        }
    }
}

/// The engine's health: created once, shared by everything that reads it; cheap to clone.
#[derive(Clone)]
pub struct Health {
    inner: Arc<Inner>,
}

struct Inner {
    tracks: Mutex<HashMap<(Component, String), Track>>,
    /// The home, whose disk is checked on each snapshot.
    home: PathBuf,
}

impl Health {
    pub fn new(home: PathBuf) -> Self {
        Self { inner: Arc::new(Inner { tracks: Mutex::default(), home }) }
    }

    /// Follows `bus` until it closes (the engine stopped); a lagging listener skips what it
    /// missed, the next event of each kind sets things right.
    pub fn listen(&self, bus: &EventBus) -> tokio::task::JoinHandle<()> {
        let me = self.clone();
        let mut rx = bus.subscribe();
        tokio::spawn(async move {
            loop {
                match rx.recv().await {
                    Ok(e) => me.apply(&e),
                    Err(RecvError::Lagged(_)) => continue,
                    Err(RecvError::Closed) => return,
                }
            }
        })
    }

    /// Books one event.
    pub fn apply(&self, e: &Event) {
        let now = now_ms();
        match e {
            Event::UpstreamFailed { upstream: _, error, status } => {
                self.fail(Component::Upstream, "", error.clone(), now, None);
                if let Some(t) =
                    self.inner.tracks.lock().expect("health").get_mut(&(Component::Upstream, String::new()))
                {
                    t.unreachable = *status == 0;
                }
            }
            Event::TurnRecorded { status, .. } if (200..300).contains(status) => self.succeed(Component::Upstream, ""),
            Event::TurnScored { source: ScoreSource::Judge, .. } => self.succeed(Component::Judge, ""),
            Event::JudgeFailed { error, retry_at_ms, .. } => {
                self.fail(Component::Judge, "", error.clone(), now, *retry_at_ms)
            }
            Event::EvolverRan { error: Some(error), retry_at_ms, .. } => {
                self.fail(Component::Evolver, "", error.clone(), now, *retry_at_ms)
            }
            Event::EvolverRan { error: None, .. } => self.succeed(Component::Evolver, ""),
            Event::TrainRunEnded { status: TrainRunStatus::Failed, detail, .. } => {
                self.fail(Component::Trainer, "", format!("the last training run failed: {detail}"), now, None)
            }
            Event::TrainRunEnded { status: TrainRunStatus::Done, .. } => self.succeed(Component::Trainer, ""),
            Event::CalendarRefreshed { calendar, error: Some(error) } => {
                self.fail(Component::Calendars, &calendar.to_string(), error.clone(), now, None)
            }
            Event::CalendarRefreshed { calendar, error: None } => {
                self.succeed(Component::Calendars, &calendar.to_string())
            }
            _ => {}
        }
    }

    fn fail(&self, c: Component, source: &str, error: String, at: i64, next_retry_ms: Option<i64>) {
        let mut tracks = self.inner.tracks.lock().expect("health");
        let key = if tracks.len() >= MAX_SOURCES && !tracks.contains_key(&(c, source.to_string())) {
            (c, String::from("…"))
        } else {
            (c, source.to_string())
        };
        tracks.entry(key).or_default().fail(clip(error), at, next_retry_ms);
    }

    fn succeed(&self, c: Component, source: &str) {
        if let Some(t) = self.inner.tracks.lock().expect("health").get_mut(&(c, source.to_string())) {
            t.succeed();
        }
    }

    /// While the upstream is failing because it could not be reached, tries a TCP connection to
    /// each of `base_urls` (in the background, at most every [`PROBE_EVERY_MS`]); one that
    /// connects marks the upstream ok again. Called when health is read; cheap otherwise.
    pub fn probe_upstream(&self, base_urls: impl FnOnce() -> Vec<String>) {
        let now = now_ms();
        {
            let mut tracks = self.inner.tracks.lock().expect("health");
            let Some(t) = tracks.get_mut(&(Component::Upstream, String::new())) else { return };
            if t.failures == 0 || !t.unreachable || t.next_retry_ms.is_some_and(|at| now < at) {
                return;
            }
            t.next_retry_ms = Some(now + PROBE_EVERY_MS);
        }
        let targets: Vec<(String, u16)> = base_urls()
            .iter()
            .filter_map(|u| reqwest::Url::parse(u).ok())
            .filter_map(|u| Some((u.host_str()?.trim_matches(['[', ']']).to_string(), u.port_or_known_default()?)))
            .collect();
        let me = self.clone();
        tokio::spawn(async move {
            for (host, port) in targets {
                let connect = tokio::net::TcpStream::connect((host.as_str(), port));
                if let Ok(Ok(_)) = tokio::time::timeout(PROBE_TIMEOUT, connect).await {
                    tracing::info!(host, port, "the upstream answers again");
                    me.succeed(Component::Upstream, "");
                    return;
                }
            }
        });
    }

    /// Every component's health now (a lock, a few small copies and one `statvfs`).
    pub fn snapshot(&self, configured: &Configured) -> HealthReport {
        let tracks = self.inner.tracks.lock().expect("health");
        let mut components: Vec<ComponentHealth> = Component::ALL
            .into_iter()
            .filter(|c| *c != Component::Disk)
            .map(|c| {
                // The component's worst source speaks for it; the latest error if none fails.
                let mine = tracks
                    .iter()
                    .filter(|((k, source), _)| {
                        *k == c
                            && (c != Component::Calendars
                                || source.parse().is_ok_and(|id: i64| configured.calendars.contains(&id)))
                    })
                    .map(|(_, t)| t);
                let worst = mine.clone().max_by_key(|t| (t.state(), t.error_at_ms));
                let latest = mine.max_by_key(|t| t.error_at_ms);
                let t = match worst {
                    Some(w) if w.failures > 0 => w,
                    _ => latest.unwrap_or(&EMPTY),
                };
                let on = configured.has(c);
                ComponentHealth {
                    component: c,
                    state: if on { t.state() } else { HealthState::Off },
                    error: t.error.clone(),
                    error_at_ms: t.error_at_ms,
                    next_retry_ms: if on { t.next_retry_ms } else { None },
                    failures: t.failures,
                    failing_since_ms: t.failing_since_ms,
                }
            })
            .collect();
        drop(tracks);
        components.push(disk::health(&self.inner.home));
        let overall = components.iter().map(|c| c.state).max().unwrap_or(HealthState::Ok).max(HealthState::Ok);
        HealthReport { overall, components }
    }
}

static EMPTY: Track = Track {
    failures: 0,
    error: None,
    error_at_ms: None,
    next_retry_ms: None,
    failing_since_ms: None,
    unreachable: false,
};

/// An error from an LLM call or a proxied turn, with what it most likely means first, in plain
/// words ("the key was refused — openai answered 401: …"). Unknown errors pass unchanged.
pub fn plain(raw: &str) -> String {
    let l = raw.to_ascii_lowercase();
    let status = l.find("answered ").and_then(|i| l[i + 9..].get(..3)).and_then(|d| d.parse::<u16>().ok());
    let hint = match status {
        Some(401) => Some("the key was refused: check it in Settings"),
        Some(402) => Some("the upstream wants payment: check your account's credit"),
        Some(403) => Some("the key is not allowed to do this: check its permissions"),
        Some(404) => Some("not found: check the model name and the upstream address"),
        Some(429) => Some("the upstream is limiting requests (too many, or no credit left)"),
        Some(500..=599) => Some("the upstream is having trouble (a server error)"),
        _ if l.contains("connection refused") => {
            Some("nothing answers at the upstream's address: is the server running?")
        }
        _ if l.contains("dns") || l.contains("failed to lookup") || l.contains("name or service not known") => {
            Some("can't find the upstream's host: check the address")
        }
        _ if l.contains("certificate") || l.contains("tls") => Some("the upstream's TLS certificate was not accepted"),
        _ if l.contains("timed out") || l.contains("took longer") || l.contains("timeout") => {
            Some("the upstream took too long to answer")
        }
        _ => None,
    };
    match hint {
        Some(h) => clip(format!("{h} ({raw})")),
        None => clip(raw.to_string()),
    }
}

/// Whether a proxied turn's outcome is the upstream's fault: no answer at all, a server error,
/// or a refusal the user must fix (key, payment, model, rate limit). A 400 is the agent's.
pub fn upstream_at_fault(failed: bool, http_status: Option<u16>) -> bool {
    failed || matches!(http_status, Some(401..=404 | 408 | 429 | 500..=599))
}

/// Errors are for reading, not for storing whole upstream pages: at most 500 characters.
fn clip(mut s: String) -> String {
    if s.len() > 500 {
        let cut = (0..=500).rev().find(|i| s.is_char_boundary(*i)).unwrap_or(0);
        s.truncate(cut);
        s.push('…');
    }
    s
}

#[cfg(test)]
mod tests;
