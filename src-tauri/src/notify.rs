//! Desktop notifications: a new candidate to review (with Approve/Reject actions on Linux),
//! a candidate auto-approved, an upstream failing repeatedly. Rate-limited per kind and
//! switchable from the tray.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// What a notification is about; each kind has its own rate limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Candidate,
    AutoApproved,
    UpstreamFailing,
}

/// What the user clicked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Approve,
    Reject,
    Open,
}

pub struct Notifier {
    last: Mutex<HashMap<Kind, Instant>>,
    min_gap: Duration,
}

impl Notifier {
    pub fn new(min_gap: Duration) -> Self {
        Self { last: Mutex::new(HashMap::new()), min_gap }
    }

    /// Whether a notification of `kind` may go out now (and records it if so).
    pub fn allow(&self, kind: Kind) -> bool {
        let mut last = self.last.lock().expect("notifier");
        let now = Instant::now();
        if last.get(&kind).is_some_and(|t| now.duration_since(*t) < self.min_gap) {
            return false;
        }
        last.insert(kind, now);
        true
    }

    /// Shows a notification; `on_action` gets what the user clicked (Linux reports actions;
    /// elsewhere nothing comes back and the tray's Review item remains the way in).
    pub fn show(
        &self,
        kind: Kind,
        summary: &str,
        body: &str,
        with_review_actions: bool,
        on_action: impl FnOnce(Action) + Send + 'static,
    ) {
        if !self.allow(kind) {
            tracing::debug!(?kind, "notification rate-limited");
            return;
        }
        let mut n = notify_rust::Notification::new();
        n.appname("MetaClaw").summary(summary).body(body).timeout(notify_rust::Timeout::Milliseconds(15_000));
        #[cfg(all(unix, not(target_os = "macos")))]
        if with_review_actions {
            n.action("approve", "Approve").action("reject", "Reject").action("default", "Open review");
        }
        #[cfg(not(all(unix, not(target_os = "macos"))))]
        let _ = with_review_actions;
        std::thread::spawn(move || match n.show() {
            #[cfg(all(unix, not(target_os = "macos")))]
            Ok(handle) => handle.wait_for_action(|a| match a {
                "approve" => on_action(Action::Approve),
                "reject" => on_action(Action::Reject),
                "default" => on_action(Action::Open),
                _ => {}
            }),
            #[cfg(not(all(unix, not(target_os = "macos"))))]
            Ok(_) => drop(on_action),
            Err(e) => tracing::warn!(error = %e, "could not show a notification"),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_is_rate_limited_on_its_own() {
        let n = Notifier::new(Duration::from_secs(60));
        assert!(n.allow(Kind::Candidate));
        assert!(!n.allow(Kind::Candidate));
        assert!(n.allow(Kind::UpstreamFailing));
        let n = Notifier::new(Duration::ZERO);
        assert!(n.allow(Kind::Candidate) && n.allow(Kind::Candidate));
    }
}
