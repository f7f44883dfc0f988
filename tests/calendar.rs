//! Calendars end to end: provider-style ICS fixtures expand to the expected busy blocks; feeds
//! served over real loopback HTTP (ETag/304, 401, 404, garbage) are added, refreshed and their
//! errors kept on the account; local files are watched; secret addresses never reach the
//! database.

mod common;

use std::sync::atomic::{AtomicU32, AtomicU8, Ordering};
use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use common::Harness;
use metaclaw::api::client::ClientError;
use metaclaw::api::types::calendars::{CalendarAccount, CalendarAdd, CalendarKind, CalendarPatch, CalendarState};
use metaclaw::api::types::scheduler::TimeRange;
use metaclaw::calendar::Feed;
use serde_json::{json, Value};

fn ms(rfc3339: &str) -> i64 {
    rfc3339.parse::<jiff::Timestamp>().unwrap().as_millisecond()
}

fn iso(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms).unwrap().strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn fixture(name: &str) -> (String, Value) {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/calendars");
    let ics = std::fs::read_to_string(format!("{dir}/{name}.ics")).unwrap();
    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{dir}/{name}.expected.json")).unwrap()).unwrap();
    (ics, expected)
}

fn check_fixture(name: &str) {
    let (ics, exp) = fixture(name);
    let zone: chrono_tz::Tz = exp["zone"].as_str().unwrap().parse().unwrap();
    let owner: Vec<String> = serde_json::from_value(exp["owner"].clone()).unwrap();
    let feed = Feed::parse(&ics, zone, &owner).unwrap_or_else(|e| panic!("{name}: {e}"));
    // A feed with defects lists, in order, what must be reported as skipped (each note names
    // its line); the others must read cleanly.
    let want_skipped: Vec<String> = serde_json::from_value(exp["skipped"].clone()).unwrap_or_default();
    assert_eq!(feed.skipped.len(), want_skipped.len(), "{name}: skipped {:?}", feed.skipped);
    for (got, want) in feed.skipped.iter().zip(&want_skipped) {
        assert!(got.contains(want.as_str()), "{name}: {got:?} should mention {want:?}");
        for jargon in ["Many0", "Satisfy", "Eof"] {
            assert!(!got.contains(jargon), "{name}: parser jargon in {got:?}");
        }
    }
    assert!(feed.unknown_zones.is_empty(), "{name}: unknown zones {:?}", feed.unknown_zones);
    let got: Vec<(String, String, String)> = feed
        .busy(ms(exp["from"].as_str().unwrap()), ms(exp["to"].as_str().unwrap()))
        .into_iter()
        .map(|b| (b.summary, iso(b.start), iso(b.end)))
        .collect();
    let want: Vec<(String, String, String)> = exp["busy"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["summary"].as_str().unwrap().into(),
                b["start"].as_str().unwrap().into(),
                b["end"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(got, want, "{name}: busy blocks differ");
}

#[test]
fn google_style_feed() {
    check_fixture("google");
}

#[test]
fn outlook_style_feed_with_windows_zone_names() {
    check_fixture("outlook");
}

#[test]
fn icloud_style_feed() {
    check_fixture("icloud");
}

#[test]
fn fastmail_style_feed() {
    check_fixture("fastmail");
}

#[test]
fn exchange_feed_with_custom_zone_names_uses_its_own_vtimezones() {
    check_fixture("exchange");
}

#[test]
fn thunderbird_feed_with_two_calendars_periods_day_durations_and_this_and_future() {
    check_fixture("thunderbird");
}

#[test]
fn podio_feed_with_defects_keeps_every_readable_event() {
    check_fixture("podio");
}

/// A feed server: `/feed/<secret>.ics` answers with ETag and 304; its mode switches to 401,
/// 404 or garbage.
#[derive(Clone, Default)]
struct FeedServer {
    mode: Arc<AtomicU8>,
    full: Arc<AtomicU32>,
    not_modified: Arc<AtomicU32>,
    body: Arc<std::sync::Mutex<String>>,
}

const OK: u8 = 0;
const UNAUTHORIZED: u8 = 1;
const GONE: u8 = 2;
const GARBAGE: u8 = 3;

async fn serve_feed(State(s): State<FeedServer>, headers: HeaderMap) -> axum::response::Response {
    match s.mode.load(Ordering::SeqCst) {
        UNAUTHORIZED => return (StatusCode::UNAUTHORIZED, "login required").into_response(),
        GONE => return (StatusCode::NOT_FOUND, "no such calendar").into_response(),
        GARBAGE => return ([("content-type", "text/html")], "<html><body>Sign in</body></html>").into_response(),
        _ => {}
    }
    let body = s.body.lock().unwrap().clone();
    let etag = format!("\"{:x}\"", body.len() * 31 + body.bytes().map(|b| b as usize).sum::<usize>());
    if headers.get("if-none-match").and_then(|v| v.to_str().ok()) == Some(etag.as_str()) {
        s.not_modified.fetch_add(1, Ordering::SeqCst);
        return StatusCode::NOT_MODIFIED.into_response();
    }
    s.full.fetch_add(1, Ordering::SeqCst);
    ([("content-type", "text/calendar; charset=utf-8"), ("etag", etag.as_str())], body).into_response()
}

async fn feed_server() -> (FeedServer, String) {
    let s = FeedServer::default();
    *s.body.lock().unwrap() = fixture("google").0;
    let app = axum::Router::new()
        .route("/feed/private-s3cr3t-t0ken/basic.ics", axum::routing::get(serve_feed))
        .with_state(s.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (s, format!("http://{addr}/feed/private-s3cr3t-t0ken/basic.ics"))
}

async fn post(h: &Harness, path: &str, body: Value) -> reqwest::Response {
    h.http.post(h.url(path)).bearer_auth(&h.token).json(&body).send().await.unwrap()
}

/// Adds an account by its source (and name) over raw HTTP, to see the 201; the answer typed.
async fn add(h: &Harness, source: &str, name: Option<&str>) -> CalendarAccount {
    let mut body = json!({"source": source});
    if let Some(n) = name {
        body["name"] = json!(n);
    }
    let r = post(h, "/api/calendars", body).await;
    assert_eq!(r.status(), 201, "{source}");
    r.json().await.unwrap()
}

/// What the client's `add_calendar` is refused with: the HTTP status and the API's message.
async fn refused(h: &Harness, source: &str, name: Option<&str>) -> (u16, String) {
    let add = CalendarAdd { source: source.to_string(), name: name.map(String::from), ..Default::default() };
    match h.client().add_calendar(&add).await {
        Err(e @ ClientError::Api { .. }) => (e.status().unwrap(), e.to_string()),
        other => panic!("{source}: expected the API to refuse, got {other:?}"),
    }
}

fn range(from: i64, to: i64) -> TimeRange {
    TimeRange { from: Some(from), to: Some(to) }
}

#[tokio::test]
async fn url_feeds_are_added_refreshed_with_etags_and_errors_are_kept_on_the_account() {
    let (server, url) = feed_server().await;
    let h = Harness::start(|c| c.scheduler.timezone = Some("Europe/Berlin".into())).await;

    let c = h.client();
    // Wrong addresses are refused up front, in words.
    server.mode.store(UNAUTHORIZED, Ordering::SeqCst);
    let (status, msg) = refused(&h, &url, Some("Work")).await;
    assert_eq!(status, 400);
    assert!(msg.contains("HTTP 401") && msg.contains("secret address"), "{msg}");
    assert!(!msg.contains("s3cr3t"), "the secret address leaked into an error: {msg}");
    server.mode.store(GONE, Ordering::SeqCst);
    let (_, msg) = refused(&h, &url, None).await;
    assert!(msg.contains("404"), "{msg}");
    server.mode.store(GARBAGE, Ordering::SeqCst);
    let (_, msg) = refused(&h, &url, None).await;
    assert!(msg.contains("not an iCalendar file"), "{msg}");
    let (status, _) = refused(&h, "ftp://example.com/cal.ics", None).await;
    assert_eq!(status, 400);
    assert!(c.calendars().await.unwrap().is_empty(), "nothing was kept");

    // A good feed: added, tested (304 the second time), busy blocks served.
    server.mode.store(OK, Ordering::SeqCst);
    let acct = add(&h, &url, Some("Work")).await;
    let id = acct.id;
    assert_eq!(acct.display, "http://127.0.0.1");
    assert_eq!(acct.kind, CalendarKind::Url);
    assert_eq!(acct.env_var.as_deref(), Some("METACLAW_CALENDAR_WORK_URL"));
    assert!(acct.events > 5, "{acct:?}");
    assert_eq!(server.full.load(Ordering::SeqCst), 1);
    let t = c.test_calendar(id).await.unwrap();
    assert!(t.ok, "{t:?}");
    assert_eq!(server.not_modified.load(Ordering::SeqCst), 1, "the second fetch is conditional");
    assert_eq!(server.full.load(Ordering::SeqCst), 1);
    let (from, to) = (ms("2026-10-19T00:00:00Z"), ms("2026-11-16T00:00:00Z"));
    let busy = c.busy(&range(from, to)).await.unwrap();
    let expected = fixture("google").1["busy"].as_array().unwrap().len();
    assert_eq!(busy.len(), expected, "{busy:?}");
    assert_eq!(busy[1].summary, "Team sync");
    assert_eq!(busy[1].calendar, id);

    // The feed starts failing: the error shows on the account, the cached schedule stays.
    server.mode.store(UNAUTHORIZED, Ordering::SeqCst);
    let t = c.test_calendar(id).await.unwrap();
    assert!(!t.ok);
    assert!(t.error.as_deref().unwrap().contains("401"), "{t:?}");
    let acct = c.calendar(id).await.unwrap();
    assert!(acct.last_error.as_deref().unwrap().contains("401"), "{acct:?}");
    assert_eq!(acct.state, CalendarState::Error);
    let busy = c.busy(&range(from, to)).await.unwrap();
    assert_eq!(busy.len(), expected, "the cached feed still counts");

    // Disabled: no busy time; renamed; bad ranges are refused.
    let patch = CalendarPatch { enabled: Some(false), name: Some("Old work".into()) };
    let acct = c.update_calendar(id, &patch).await.unwrap();
    assert_eq!((acct.name.as_str(), acct.enabled), ("Old work", false));
    assert!(c.busy(&range(from, to)).await.unwrap().is_empty());
    let e = c.busy(&range(to, from)).await.unwrap_err();
    assert_eq!(e.status(), Some(400), "{e}");

    // The secret address is in no file of the home (database, WAL, config, logs).
    h.flush().await;
    for entry in walk(h.home.path()) {
        let bytes = std::fs::read(&entry).unwrap();
        assert!(!bytes.windows(12).any(|w| w == b"s3cr3t-t0ken"), "secret address found in {}", entry.display());
    }

    // Removal forgets the account (and its keyring entry).
    let r = h.http.delete(h.url(&format!("/api/calendars/{id}"))).bearer_auth(&h.token).send().await.unwrap();
    assert_eq!(r.status(), 204);
    assert!(c.calendars().await.unwrap().is_empty());
    h.stop().await;
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[tokio::test]
async fn local_files_are_watched_and_the_cache_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("family.ics");
    std::fs::write(&path, fixture("fastmail").0).unwrap();
    let mut h = Harness::start(|c| c.scheduler.timezone = Some("Europe/Berlin".into())).await;
    let acct = add(&h, &path.display().to_string(), None).await;
    assert_eq!((acct.kind, acct.name.as_str()), (CalendarKind::File, "family"));
    let (from, to) = (ms("2026-10-19T00:00:00Z"), ms("2026-11-16T00:00:00Z"));
    let n = fixture("fastmail").1["busy"].as_array().unwrap().len();
    let c = h.client();
    assert_eq!(c.busy(&range(from, to)).await.unwrap().len(), n);

    // Replace the file (as editors do: write a temp file, rename): the new schedule shows.
    let one = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:x@1\r\nDTSTART:20261102T090000Z\r\nDTEND:20261102T100000Z\r\nSUMMARY:Only this\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    let tmp = dir.path().join(".family.ics.tmp");
    std::fs::write(&tmp, one).unwrap();
    std::fs::rename(&tmp, &path).unwrap();
    // The watcher is installed before `add` answers, so this change is never missed; the
    // deadline only bounds a slow machine.
    let mut seen = 0;
    for _ in 0..600 {
        let v = c.busy(&range(from, to)).await.unwrap();
        seen = v.len();
        if seen == 1 {
            assert_eq!(v[0].summary, "Only this");
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(seen, 1, "the watcher did not pick up the changed file");

    // Offline (file gone) after a restart: the cached copy still gives the schedule.
    std::fs::remove_file(&path).unwrap();
    h.restart(|c| c.scheduler.timezone = Some("Europe/Berlin".into())).await;
    let c = h.client();
    assert_eq!(c.busy(&range(from, to)).await.unwrap().len(), 1);
    let t = c.test_calendar(acct.id).await.unwrap();
    assert!(!t.ok);
    assert!(t.error.as_deref().unwrap().contains("family.ics"), "{t:?}");
    h.stop().await;
}

fn ics(name: &str) -> String {
    std::fs::read_to_string(format!("{}/tests/data/calendars/{name}.ics", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// Two workers, like the 2-core machines the engine froze on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_feed_never_freezes_the_engine_and_busy_time_answers_quickly() {
    let (server, url) = feed_server().await;
    *server.body.lock().unwrap() = ics("hostile");
    let h = Harness::start(|c| c.scheduler.timezone = Some("Europe/Berlin".into())).await;
    let acct = add(&h, &url, Some("Hostile")).await;
    // What was skipped is said at `add`, in words.
    let warnings = acct.warnings.join("\n");
    for want in ["spin-forever", "every second without end", "huge-weeks", "huge-hours", "huge-all-day", "ten years"] {
        assert!(warnings.contains(want), "{want} missing from {warnings}");
    }

    // Several busy queries at once (both workers), and the engine keeps answering meanwhile.
    let (from, to) = (ms("2026-10-19T00:00:00Z"), ms("2026-11-16T00:00:00Z"));
    let started = std::time::Instant::now();
    let queries: Vec<_> = (0..4)
        .map(|_| {
            let c = h.client();
            tokio::spawn(async move {
                let period = range(from, to);
                let q = tokio::time::timeout(std::time::Duration::from_secs(60), c.busy(&period));
                q.await.expect("busy time answers within a minute").unwrap()
            })
        })
        .collect();
    let health = h.http.get(h.url("/healthz")).timeout(std::time::Duration::from_secs(20)).send().await;
    assert!(health.is_ok_and(|r| r.status() == 200), "/healthz did not answer while busy time was computed");
    for q in queries {
        let blocks = q.await.unwrap();
        assert_eq!(blocks.len(), 29, "28 days of the daily rule and the one good event: {blocks:?}");
        assert!(blocks.iter().any(|b| b.summary == "Still here"));
        assert!(blocks.iter().all(|b| b.summary != "Forever" && b.summary != "All-day forever"));
    }
    let took = started.elapsed();
    assert!(took < std::time::Duration::from_secs(30), "busy time took {took:?}");
    // The scheduler's sampling and the simulation still answer (a decision with its reason).
    let c = h.client();
    let v = c.scheduler().await.unwrap();
    assert!(!v.decision.explanation.is_empty(), "{v:?}");
    let now = metaclaw::clock::now_ms();
    let sim = c.simulate(&range(now - 7 * 86_400_000, now)).await.unwrap();
    assert_eq!((sim.from, sim.to), (now - 7 * 86_400_000, now));
    // Ranges that overflow or lie in year 9000 are refused, not computed.
    for q in ["from=-9223372036854775808&to=9223372036854775807", "from=221845392000000&to=221845392086400"] {
        let r = h.http.get(h.url(&format!("/api/calendars/busy?{q}"))).bearer_auth(&h.token).send().await.unwrap();
        assert_eq!(r.status(), 400, "{q}");
    }
    eprintln!("four concurrent busy queries over the hostile feed took {took:?}");
    h.stop().await;
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_paths_must_be_absolute_regular_files_and_errors_do_not_tell_what_exists() {
    let dir = tempfile::tempdir().unwrap();
    let h = Harness::start(|c| c.scheduler.timezone = Some("Europe/Berlin".into())).await;
    let (status, m) = refused(&h, "calendars/family.ics", None).await;
    assert_eq!(status, 400);
    assert!(m.contains("absolute path"), "{m}");
    let link = dir.path().join("zero.ics");
    std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
    let missing = dir.path().join("missing.ics");
    let mut seen = Vec::new();
    for p in [std::path::Path::new("/dev/zero"), dir.path(), &link, &missing] {
        let (status, m) = refused(&h, &p.display().to_string(), None).await;
        assert_eq!(status, 400, "{}", p.display());
        seen.push(m.replace(&p.display().to_string(), "PATH"));
    }
    seen.dedup();
    assert_eq!(seen.len(), 1, "the messages tell which paths exist: {seen:?}");
    assert!(h.client().calendars().await.unwrap().is_empty());

    // A zone the feed names but we can't resolve is said at `add`, not only in `calendar test`.
    let path = dir.path().join("mars.ics");
    std::fs::write(&path, "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:m\r\nDTSTART;TZID=Mars/Olympus_Mons:20261020T090000\r\nDTEND;TZID=Mars/Olympus_Mons:20261020T100000\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n").unwrap();
    let acct = add(&h, &path.display().to_string(), None).await;
    assert!(acct.warnings.iter().any(|w| w.contains("unknown time zone \"Mars/Olympus_Mons\"")), "{acct:?}");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_chunked_feed_is_refused_at_the_size_limit() {
    async fn endless() -> axum::response::Response {
        let chunk = axum::body::Bytes::from(vec![b'x'; 64 * 1024]);
        let stream = futures_util::stream::repeat(chunk).map(Ok::<_, std::convert::Infallible>);
        axum::response::Response::new(axum::body::Body::from_stream(stream))
    }
    use futures_util::StreamExt as _;
    let app = axum::Router::new().route("/endless.ics", axum::routing::get(endless));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let h = Harness::start(|_| {}).await;
    let r = h
        .http
        .post(h.url("/api/calendars"))
        .bearer_auth(&h.token)
        .json(&json!({"source": format!("http://{addr}/endless.ics")}))
        .timeout(std::time::Duration::from_secs(50))
        .send()
        .await
        .expect("the engine answers before the feed ends (it never does)");
    assert_eq!(r.status(), 400);
    let m = r.json::<Value>().await.unwrap()["error"]["message"].as_str().unwrap().to_string();
    assert!(m.contains("larger than 20 MB"), "{m}");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_calendar_that_turns_bad_never_stops_the_refresher_or_the_other_calendars() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.ics"), dir.path().join("b.ics"));
    std::fs::write(&a, fixture("fastmail").0).unwrap();
    std::fs::write(&b, fixture("fastmail").0).unwrap();
    let h = Harness::start(|c| c.scheduler.timezone = Some("Europe/Berlin".into())).await;
    for p in [&a, &b] {
        assert_eq!(post(&h, "/api/calendars", json!({"source": p.display().to_string()})).await.status(), 201);
    }
    let event = |uid: &str, extra: &str, summary: &str| {
        format!(
            "BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTART:20261102T090000Z\r\n{extra}\r\nSUMMARY:{summary}\r\nEND:VEVENT\r\n"
        )
    };
    // `a` now holds events whose arithmetic overflows (this used to kill the refresher task).
    let bad = format!(
        "BEGIN:VCALENDAR\r\n{}{}{}END:VCALENDAR\r\n",
        event("w", "DURATION:P999999999999999999W", "Forever"),
        event("h", "DURATION:PT9999999999999999H", "Forever in hours"),
        event("ok", "DURATION:PT1H", "A still counts"),
    );
    std::fs::write(&a, bad).unwrap();
    let (from, to) = (ms("2026-10-19T00:00:00Z"), ms("2026-11-16T00:00:00Z"));
    let c = h.client();
    let summaries =
        || async { c.busy(&range(from, to)).await.unwrap().into_iter().map(|b| b.summary).collect::<Vec<_>>() };
    let mut got = Vec::new();
    for _ in 0..600 {
        got = summaries().await;
        if got.contains(&"A still counts".to_string()) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(got.contains(&"A still counts".to_string()), "{got:?}");
    assert!(!got.iter().any(|s| s.starts_with("Forever")), "{got:?}");
    // The refresher is alive: a later change to `b` is still picked up.
    std::fs::write(&b, format!("BEGIN:VCALENDAR\r\n{}END:VCALENDAR\r\n", event("b", "DURATION:PT30M", "B changed")))
        .unwrap();
    for _ in 0..600 {
        got = summaries().await;
        if got.contains(&"B changed".to_string()) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(got, ["B changed", "A still counts"], "the refresher stopped after the bad feed");
    h.stop().await;
}
