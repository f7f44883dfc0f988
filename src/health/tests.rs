use super::*;

fn all_on() -> Configured {
    Configured { upstream: true, judge: true, evolver: true, trainer: true, calendars: vec![7] }
}

fn state(h: &Health, c: Component) -> ComponentHealth {
    h.snapshot(&all_on()).components.into_iter().find(|x| x.component == c).unwrap()
}

#[test]
fn a_component_is_degraded_then_failing_then_ok_again() {
    let h = Health::new(std::env::temp_dir());
    assert_eq!(state(&h, Component::Judge).state, HealthState::Ok);
    let fail = || Event::JudgeFailed { turn_id: 1, error: "judge down".into(), retry_at_ms: Some(42) };
    h.apply(&fail());
    let j = state(&h, Component::Judge);
    assert_eq!((j.state, j.failures, j.next_retry_ms), (HealthState::Degraded, 1, Some(42)));
    h.apply(&fail());
    h.apply(&fail());
    let j = state(&h, Component::Judge);
    assert_eq!((j.state, j.error.as_deref()), (HealthState::Failing, Some("judge down")));
    assert!(j.failing_since_ms.is_some());
    assert_eq!(h.snapshot(&all_on()).overall, HealthState::Failing);
    h.apply(&Event::TurnScored { turn_id: 1, score: 1, source: crate::turn::ScoreSource::Judge });
    let j = state(&h, Component::Judge);
    assert_eq!((j.state, j.failures, j.failing_since_ms), (HealthState::Ok, 0, None));
    assert_eq!(j.error.as_deref(), Some("judge down"), "the last error stays for reading");
}

#[test]
fn unconfigured_components_are_off_and_do_not_count() {
    let h = Health::new(std::env::temp_dir());
    for _ in 0..3 {
        h.apply(&Event::EvolverRan {
            run_id: 1,
            outcome: Some(crate::evolve::Outcome::Failed),
            error: Some("x".into()),
            retry_at_ms: None,
        });
    }
    let off = Configured { upstream: true, ..Default::default() };
    let r = h.snapshot(&off);
    let e = r.components.iter().find(|c| c.component == Component::Evolver).unwrap();
    assert_eq!(e.state, HealthState::Off);
    assert_ne!(r.overall, HealthState::Failing);
}

#[test]
fn a_removed_calendar_no_longer_counts() {
    let h = Health::new(std::env::temp_dir());
    for _ in 0..3 {
        h.apply(&Event::CalendarRefreshed { calendar: 9, error: Some("gone".into()) });
    }
    h.apply(&Event::CalendarRefreshed { calendar: 7, error: None });
    assert_eq!(state(&h, Component::Calendars).state, HealthState::Ok);
    let with_9 = Configured { calendars: vec![7, 9], ..all_on() };
    let c = h.snapshot(&with_9).components.into_iter().find(|c| c.component == Component::Calendars).unwrap();
    assert_eq!((c.state, c.error.as_deref()), (HealthState::Failing, Some("gone")));
}

#[test]
fn only_2xx_turns_clear_upstream_failures() {
    let h = Health::new(std::env::temp_dir());
    let failed = Event::UpstreamFailed { upstream: "u".into(), status: 502, error: "down".into() };
    let recorded =
        |status| Event::TurnRecorded { turn_id: 1, session_id: "s".into(), model: "m".into(), status, skills: 0 };
    h.apply(&failed);
    h.apply(&recorded(502));
    assert_eq!(state(&h, Component::Upstream).state, HealthState::Degraded);
    h.apply(&recorded(200));
    assert_eq!(state(&h, Component::Upstream).state, HealthState::Ok);
}

#[test]
fn plain_errors_say_what_a_status_means_first() {
    assert!(plain("openai answered 401: bad key").starts_with("the key was refused"));
    assert!(plain("standin answered 404: no such model").starts_with("not found: check the model name"));
    assert!(plain("the upstream u answered 500 Internal Server Error").starts_with("the upstream is having trouble"));
    assert!(plain("calling u failed: error sending request: Connection refused (os error 111)")
        .starts_with("nothing answers at the upstream's address"));
    assert_eq!(plain("something else"), "something else");
    assert!(plain(&"é".repeat(600)).chars().count() <= 501);
}

#[test]
fn upstream_fault_excludes_the_agents_bad_requests() {
    assert!(upstream_at_fault(true, None));
    assert!(upstream_at_fault(false, Some(503)));
    assert!(upstream_at_fault(false, Some(401)));
    assert!(!upstream_at_fault(false, Some(400)));
    assert!(!upstream_at_fault(false, None));
}

#[test]
fn the_disk_is_degraded_then_failing_as_it_fills() {
    let d = std::path::Path::new("/home/me/.metaclaw");
    assert_eq!(disk::judge(10 << 30, d), (HealthState::Ok, None));
    let (s, e) = disk::judge(1 << 30, d);
    assert_eq!(s, HealthState::Degraded);
    assert!(e.unwrap().contains("1.0 GB free"));
    let (s, e) = disk::judge(100 << 20, d);
    assert_eq!(s, HealthState::Failing);
    assert!(e.unwrap().contains("100 MB free on the disk that holds /home/me/.metaclaw"));
}

#[test]
fn the_summary_names_the_worst_part() {
    let h = Health::new(std::env::temp_dir());
    assert_eq!(h.snapshot(&all_on()).summary(), "healthy");
    h.apply(&Event::JudgeFailed { turn_id: 1, error: "judge down".into(), retry_at_ms: None });
    for _ in 0..3 {
        h.apply(&Event::UpstreamFailed { upstream: "u".into(), status: 0, error: "refused".into() });
    }
    assert_eq!(h.snapshot(&all_on()).summary(), "upstream failing: refused (and 1 more)");
}
