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
    /// A training run finished or failed.
    Training,
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

/// Against a stand-in `org.freedesktop.Notifications` on a real session bus: what MetaClaw sends,
/// and that the user's click comes back as an action. `scripts/test.sh` runs it under
/// `dbus-run-session`.
#[cfg(all(test, target_os = "linux"))]
mod on_dbus {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use super::*;

    type Calls = Arc<Mutex<Vec<(String, String, String, Vec<String>)>>>;

    struct Standin {
        calls: Calls,
    }

    #[zbus::interface(name = "org.freedesktop.Notifications")]
    impl Standin {
        #[allow(clippy::too_many_arguments)]
        fn notify(
            &self,
            app_name: String,
            _replaces_id: u32,
            _app_icon: String,
            summary: String,
            body: String,
            actions: Vec<String>,
            _hints: HashMap<String, zbus::OwnedVariant>,
            _expire_timeout: i32,
        ) -> u32 {
            let mut calls = self.calls.lock().unwrap();
            calls.push((app_name, summary, body, actions));
            calls.len() as u32
        }
        fn get_capabilities(&self) -> Vec<String> {
            vec!["actions".into(), "body".into()]
        }
        fn get_server_information(&self) -> (String, String, String, String) {
            ("standin".into(), "metaclaw".into(), "1".into(), "1.2".into())
        }
        fn close_notification(&self, _id: u32) {}
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "needs a D-Bus session bus: scripts/test.sh runs it under dbus-run-session"]
    async fn a_candidate_notification_reaches_the_desktop_and_its_approve_action_comes_back() {
        let calls = Calls::default();
        let conn = zbus::connection::Builder::session()
            .name("org.freedesktop.Notifications")
            .serve_at("/org/freedesktop/Notifications", Standin { calls: calls.clone() })
            .build()
            .await
            .expect("a session bus (run under dbus-run-session)");

        let n = Notifier::new(Duration::from_secs(60));
        let (tx, rx) = std::sync::mpsc::channel();
        n.show(Kind::Candidate, "A skill to review", "MetaClaw proposes “timestamp-offsets”.", true, move |a| {
            tx.send(a).unwrap();
        });
        for _ in 0..100 {
            if !calls.lock().unwrap().is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let (app, summary, body, actions) = calls.lock().unwrap().first().cloned().expect("the notification arrived");
        assert_eq!((app.as_str(), summary.as_str()), ("MetaClaw", "A skill to review"));
        assert!(body.contains("timestamp-offsets"));
        assert_eq!(actions, ["approve", "Approve", "reject", "Reject", "default", "Open review"]);

        // The user clicks Approve.
        tokio::time::sleep(Duration::from_millis(200)).await;
        conn.emit_signal(
            None::<&str>,
            "/org/freedesktop/Notifications",
            "org.freedesktop.Notifications",
            "ActionInvoked",
            &(1u32, "approve"),
        )
        .await
        .unwrap();
        let action = tokio::task::spawn_blocking(move || rx.recv_timeout(Duration::from_secs(5))).await.unwrap();
        assert_eq!(action, Ok(Action::Approve));

        // A second candidate within the rate limit is not shown.
        n.show(Kind::Candidate, "Another", "…", true, |_| {});
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(calls.lock().unwrap().len(), 1, "rate-limited");
    }
}
