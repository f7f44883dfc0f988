//! Desktop notifications: a new candidate to review (with Approve/Reject actions on Linux),
//! a candidate auto-approved, a part of MetaClaw failing (the upstream at once, learning after it
//! has been failing for a while). Rate-limited per kind and switchable from the tray.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use metaclaw::health::{Component, HealthReport, HealthState};

/// A failing part is told about at most this often (per part).
pub const FAILING_GAP: Duration = Duration::from_secs(30 * 60);
/// Learning (judge, evolver, training) is told about once it has been failing this long: a blip
/// retried in a minute is no news.
pub const LEARNING_FAILING_FOR: Duration = Duration::from_secs(10 * 60);

/// What a notification is about; each kind has its own rate limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Candidate,
    AutoApproved,
    /// A training run finished or failed.
    Training,
    /// A part of MetaClaw keeps failing (its own rate limit: [`FAILING_GAP`]).
    Failing(Component),
}

impl Kind {
    fn gap(self, min_gap: Duration) -> Duration {
        match self {
            Kind::Failing(_) => FAILING_GAP.max(min_gap),
            _ => min_gap,
        }
    }
}

/// What to tell the user about health now, `(kind, title, body)` per part: the upstream as soon
/// as it is failing, learning once it has been failing for [`LEARNING_FAILING_FOR`], the disk
/// when it is nearly full. The notifier's rate limit keeps repeats away.
pub fn health_alerts(h: &HealthReport, now_ms: i64) -> Vec<(Kind, String, String)> {
    let mut out = Vec::new();
    for c in h.components.iter().filter(|c| c.state == HealthState::Failing) {
        let error = c.error.as_deref().unwrap_or("no details");
        let (title, body) = match c.component {
            Component::Upstream => (
                "The upstream is failing".to_string(),
                format!("Your agent's turns fail: {error}. Check Settings or your provider's status."),
            ),
            Component::Disk => ("The disk is nearly full".to_string(), error.to_string()),
            c if c.is_learning() => {
                let since = c_since(h, c).unwrap_or(now_ms);
                if now_ms - since < LEARNING_FAILING_FOR.as_millis() as i64 {
                    continue;
                }
                let minutes = (now_ms - since) / 60_000;
                (
                    format!("Learning is stuck: the {} keeps failing", c.label().to_lowercase()),
                    format!("For {minutes} min: {error}. Open MetaClaw to fix it."),
                )
            }
            _ => continue,
        };
        out.push((Kind::Failing(c.component), title, body));
    }
    out
}

fn c_since(h: &HealthReport, c: Component) -> Option<i64> {
    h.components.iter().find(|x| x.component == c).and_then(|x| x.failing_since_ms)
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
        self.allow_at(kind, Instant::now())
    }

    /// [`Notifier::allow`] at `now`.
    pub fn allow_at(&self, kind: Kind, now: Instant) -> bool {
        let mut last = self.last.lock().expect("notifier");
        if last.get(&kind).is_some_and(|t| now.saturating_duration_since(*t) < kind.gap(self.min_gap)) {
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
        assert!(n.allow(Kind::Training));
        let n = Notifier::new(Duration::ZERO);
        assert!(n.allow(Kind::Candidate) && n.allow(Kind::Candidate));
    }

    #[test]
    fn a_failing_part_is_told_once_per_half_hour_each() {
        let n = Notifier::new(Duration::from_secs(60));
        let t0 = Instant::now();
        let judge = Kind::Failing(Component::Judge);
        assert!(n.allow_at(judge, t0));
        assert!(!n.allow_at(judge, t0 + Duration::from_secs(29 * 60)), "within 30 min: quiet");
        assert!(n.allow_at(Kind::Failing(Component::Evolver), t0 + Duration::from_secs(60)), "each part on its own");
        assert!(n.allow_at(judge, t0 + FAILING_GAP), "after 30 min: told again");
    }

    fn report(c: Component, since_ms: i64) -> HealthReport {
        let failing = metaclaw::health::ComponentHealth {
            component: c,
            state: HealthState::Failing,
            error: Some("not found: check the model name".into()),
            error_at_ms: Some(since_ms),
            next_retry_ms: None,
            failures: 5,
            failing_since_ms: Some(since_ms),
        };
        HealthReport { overall: HealthState::Failing, components: vec![failing] }
    }

    #[test]
    fn learning_is_told_about_only_after_failing_for_a_while() {
        let now = 100 * 60_000;
        assert!(health_alerts(&report(Component::Judge, now - 5 * 60_000), now).is_empty(), "5 min: maybe a blip");
        let alerts = health_alerts(&report(Component::Judge, now - 12 * 60_000), now);
        assert_eq!(alerts.len(), 1);
        let (kind, title, body) = &alerts[0];
        assert_eq!(*kind, Kind::Failing(Component::Judge));
        assert_eq!(title, "Learning is stuck: the judge keeps failing");
        assert_eq!(body, "For 12 min: not found: check the model name. Open MetaClaw to fix it.");
        // The upstream is news at once; calendars are not worth a notification.
        assert_eq!(health_alerts(&report(Component::Upstream, now), now).len(), 1);
        assert!(health_alerts(&report(Component::Calendars, now - 60 * 60_000), now).is_empty());
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
