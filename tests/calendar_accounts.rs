//! Calendar accounts through the real admin API (real SQLite, loopback HTTP): a CalDAV account
//! against a real Radicale (added with a password, its calendars listed and the user's own
//! ticked, busy blocks, an incremental sync that fetches only the changed event, deletion, a
//! wrong password storing nothing, ticks changing busy time, the cached schedule surviving a
//! restart without the server), Google and Microsoft sign-ins against the stand-ins (the test
//! plays the browser; refresh after expiry, "sign in again" when revoked, revoke on removal), and
//! the CLI adding a CalDAV account with the password on stdin.

mod common;

use std::time::Duration;

use common::radicale::{Radicale, EMAIL, PASSWORD, USER};
use common::Harness;
use metaclaw::api::client::ClientError;
use metaclaw::api::types::calendars::{
    CalendarAccount, CalendarAdd, CalendarEntry, CalendarKind, CalendarState, SignInArg, SignInProvider, SignInStart,
    SignInState,
};
use metaclaw::api::types::scheduler::{Reason, TimeRange};
use metaclaw::engine::{Hooks, Keys};
use metaclaw::secrets::SecretName;
use metaclaw_standin::google::GoogleOptions;
use metaclaw_standin::microsoft::MicrosoftOptions;
use metaclaw_standin::Options;
use serde_json::{json, Value};

fn ms(rfc3339: &str) -> i64 {
    rfc3339.parse::<jiff::Timestamp>().unwrap().as_millisecond()
}

fn iso(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms).unwrap().strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// A raw call, for the tests that check the HTTP status itself: (status, the JSON answer).
async fn send(h: &Harness, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut rb = h.http.request(method, h.url(path)).bearer_auth(&h.token);
    if let Some(b) = body {
        rb = rb.json(&b);
    }
    let r = rb.send().await.unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (status, if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap() })
}

/// A raw call whose answer must be `status`, read as `T`.
async fn expect<T: serde::de::DeserializeOwned>(
    h: &Harness,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
    status: u16,
) -> T {
    let (s, v) = send(h, method, path, body).await;
    assert_eq!(s, status, "{path}: {v}");
    serde_json::from_value(v).unwrap()
}

/// What the API refused a call with: the HTTP status and its message.
fn refusal<T: std::fmt::Debug>(r: Result<T, ClientError>) -> (u16, String) {
    match r {
        Err(e @ ClientError::Api { .. }) => (e.status().unwrap(), e.to_string()),
        other => panic!("expected the API to refuse, got {other:?}"),
    }
}

async fn tick(h: &Harness, id: i64, cid: i64, included: bool) -> CalendarAccount {
    h.client().include_calendar(id, cid, included).await.unwrap()
}

/// Busy blocks in `[from, to)` as (summary, start, end).
async fn busy(h: &Harness, from: &str, to: &str) -> Vec<(String, String, String)> {
    let period = TimeRange { from: Some(ms(from)), to: Some(ms(to)) };
    h.client().busy(&period).await.unwrap().into_iter().map(|b| (b.summary, iso(b.start), iso(b.end))).collect()
}

fn calendar<'a>(account: &'a CalendarAccount, name: &str) -> &'a CalendarEntry {
    account.calendars.iter().find(|c| c.name == name).unwrap_or_else(|| panic!("no {name}: {account:?}"))
}

fn utc(c: &mut metaclaw::config::Config) {
    c.scheduler.timezone = Some("UTC".into());
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

const JAN: (&str, &str) = ("2026-01-05T00:00:00Z", "2026-01-27T00:00:00Z");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn caldav_accounts_sync_incrementally_follow_ticks_and_keep_their_schedule_across_a_restart() {
    let r = Radicale::start().await;
    r.seed().await;
    let keys = Keys::none();
    let vault = keys.vault.clone();
    let mut h = Harness::start_with(utc, keys.clone(), Options { record: true, ..Default::default() }).await;
    let mut c = h.client();

    // A wrong password: refused in plain words, nothing kept, the password never echoed.
    let wrong = CalendarAdd {
        kind: Some(CalendarKind::Caldav),
        server: Some(r.base.clone()),
        user: Some(USER.into()),
        password: Some("wrong-hunter22".into()),
        ..Default::default()
    };
    let (s, msg) = refusal(c.add_calendar(&wrong).await);
    assert_eq!(s, 400, "{msg}");
    assert!(msg.contains("wrong user name or password"), "{msg}");
    assert!(!msg.contains("hunter22"), "{msg}");
    assert!(c.calendars().await.unwrap().is_empty(), "a failed add stores nothing");
    assert_eq!(vault.get(&SecretName::calendar_secret("work-dav")).await.unwrap().0, None);

    // Added: calendars listed with colours, the user's own ticked, the subscribed one left out.
    let body = json!({"kind": "caldav", "server": r.base, "user": USER, "password": PASSWORD,
                      "name": "Work DAV", "owner": [EMAIL]});
    let acct: CalendarAccount = expect(&h, reqwest::Method::POST, "/api/calendars", Some(body), 201).await;
    let id = acct.id;
    assert_eq!((acct.kind, acct.user.as_deref(), acct.state), (CalendarKind::Caldav, Some(USER), CalendarState::Ok));
    assert_eq!(acct.display, "127.0.0.1");
    assert_eq!(acct.calendars.len(), 2, "{acct:?}");
    let work = calendar(&acct, "Work");
    assert_eq!((work.included, work.own), (true, true));
    assert_eq!(work.color.as_deref(), Some("#ff2968"));
    assert_eq!(work.events, 5, "four events and one override: {acct:?}");
    assert!(calendar(&acct, "Personal").included);
    let work_id = work.id;
    assert_eq!(vault.get(&SecretName::calendar_secret("work-dav")).await.unwrap().0.as_deref(), Some(PASSWORD));

    // What the scheduler sees: the declined invitation is free, the moved occurrence moved, the
    // all-day busy day and the tentative meeting count.
    let want = vec![
        ("Weekly sync", "2026-01-05T10:00:00Z", "2026-01-05T11:00:00Z"),
        ("Offsite", "2026-01-07T00:00:00Z", "2026-01-08T00:00:00Z"),
        ("Maybe lunch talk", "2026-01-08T16:00:00Z", "2026-01-08T17:00:00Z"),
        ("Weekly sync (moved)", "2026-01-13T14:00:00Z", "2026-01-13T15:00:00Z"),
        ("Weekly sync", "2026-01-19T10:00:00Z", "2026-01-19T11:00:00Z"),
        ("Weekly sync", "2026-01-26T10:00:00Z", "2026-01-26T11:00:00Z"),
    ];
    let as_owned = |v: &[(&str, &str, &str)]| {
        v.iter().map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string())).collect::<Vec<_>>()
    };
    assert_eq!(busy(&h, JAN.0, JAN.1).await, as_owned(&want));

    // The scheduler sees the meeting: its simulation opens a "meeting" window over it.
    let (nine, noon) = (ms("2026-01-05T09:00:00Z"), ms("2026-01-05T12:00:00Z"));
    let sim = c.simulate(&TimeRange { from: Some(nine), to: Some(noon) }).await.unwrap();
    let meeting = sim.windows.iter().find(|w| w.reason == Reason::Meeting);
    let meeting = meeting.unwrap_or_else(|| panic!("{sim:?}"));
    assert_eq!(iso(meeting.start), "2026-01-05T10:00:00Z", "{sim:?}");
    assert_eq!(iso(meeting.end), "2026-01-05T11:00:00Z", "{sim:?}");

    // Nothing changed on the server: nothing is fetched.
    let t = c.test_calendar(id).await.unwrap();
    assert_eq!((t.ok, t.fetched), (true, Some(0)), "{t:?}");

    // One event changes on the server: only it is fetched, and busy time follows.
    let moved = common::radicale::seed_events().into_iter().find(|(n, _)| *n == "tentative.ics").unwrap().1;
    r.put(
        "/ada/work/tentative.ics",
        &moved.replace("20260108T160000Z", "20260108T180000Z").replace("20260108T170000Z", "20260108T190000Z"),
    )
    .await;
    let t = c.test_calendar(id).await.unwrap();
    assert_eq!((t.ok, t.fetched), (true, Some(1)), "{t:?}");
    let got = busy(&h, JAN.0, JAN.1).await;
    assert!(
        got.contains(&("Maybe lunch talk".into(), "2026-01-08T18:00:00Z".into(), "2026-01-08T19:00:00Z".into())),
        "{got:?}"
    );
    assert_eq!(got.len(), want.len());

    // An event deleted on the server leaves.
    r.delete("/ada/work/allday.ics").await;
    let t = c.test_calendar(id).await.unwrap();
    assert_eq!((t.ok, t.fetched), (true, Some(0)), "{t:?}");
    let got = busy(&h, JAN.0, JAN.1).await;
    assert!(!got.iter().any(|b| b.0 == "Offsite"), "{got:?}");
    assert_eq!(got.len(), want.len() - 1);
    let acct = c.calendar(id).await.unwrap();
    assert_eq!(calendar(&acct, "Work").events, 4, "{acct:?}");

    // Unticked, the work calendar stops counting; ticked again, it counts at once.
    let acct = tick(&h, id, work_id, false).await;
    assert!(!calendar(&acct, "Work").included);
    assert!(busy(&h, JAN.0, JAN.1).await.is_empty());
    let acct = tick(&h, id, work_id, true).await;
    assert!(calendar(&acct, "Work").included);
    assert_eq!(busy(&h, JAN.0, JAN.1).await.len(), want.len() - 1);
    // A calendar of another account, or none, is refused.
    let (s, _) = refusal(c.include_calendar(id, 999, true).await);
    assert_eq!(s, 404);

    // The password is in no file of the home (database, WAL, config, logs).
    h.flush().await;
    for f in walk(h.home.path()) {
        let bytes = std::fs::read(&f).unwrap();
        assert!(!bytes.windows(PASSWORD.len()).any(|w| w == PASSWORD.as_bytes()), "the password is in {}", f.display());
    }

    // The server goes away and the engine restarts: the cached schedule still counts, and a
    // sync says what went wrong on the account.
    drop(r);
    h.restart_hooked(utc, keys.clone(), Hooks::default()).await;
    c = h.client();
    assert_eq!(busy(&h, JAN.0, JAN.1).await.len(), want.len() - 1, "the cache survives a restart offline");
    let t = c.test_calendar(id).await.unwrap();
    assert!(!t.ok, "{t:?}");
    let acct = c.calendar(id).await.unwrap();
    assert_eq!(acct.state, CalendarState::Error, "{acct:?}");
    assert!(acct.last_error.as_deref().unwrap().contains("could not reach"), "{acct:?}");
    assert_eq!(busy(&h, JAN.0, JAN.1).await.len(), want.len() - 1, "a failed sync keeps the schedule");

    // Removal forgets the account, its cache and its password.
    let (s, _) = send(&h, reqwest::Method::DELETE, &format!("/api/calendars/{id}"), None).await;
    assert_eq!(s, 204);
    assert!(c.calendars().await.unwrap().is_empty());
    assert!(busy(&h, JAN.0, JAN.1).await.is_empty());
    assert_eq!(vault.get(&SecretName::calendar_secret("work-dav")).await.unwrap().0, None);
    h.stop().await;
}

/// Plays the browser: opens the sign-in URL at the stand-in, follows its consent redirect to
/// MetaClaw's loopback listener.
async fn play_browser(url: &str) {
    let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let r = browser.get(url).send().await.unwrap();
    assert_eq!(r.status(), 302, "{}", r.text().await.unwrap_or_default());
    let location = r.headers()["location"].to_str().unwrap().to_string();
    let r = browser.get(&location).send().await.unwrap();
    assert_eq!(r.status(), 200);
}

/// Signs in through the API and waits for the account.
async fn sign_in(h: &Harness, provider: SignInProvider) -> CalendarAccount {
    let arg = json!(SignInArg { provider, name: None });
    let started: SignInStart = expect(h, reqwest::Method::POST, "/api/calendars/signin", Some(arg), 200).await;
    let c = h.client();
    let status = c.signin_status(&started.flow).await.unwrap();
    assert_eq!(status.state, SignInState::Waiting, "{status:?}");
    play_browser(&started.url).await;
    // The flow finishes on its own task; the deadline only bounds a slow machine.
    for _ in 0..600 {
        let status = c.signin_status(&started.flow).await.unwrap();
        match status.state {
            SignInState::Done => return status.account.unwrap_or_else(|| panic!("done without an account")),
            SignInState::Failed => panic!("sign-in failed: {status:?}"),
            SignInState::Waiting => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    panic!("the sign-in did not finish");
}

/// Monday to Saturday 00:00 UTC of the stand-ins' week (`week`: Monday 00:00 UTC in seconds),
/// which is always the Monday after the day the stand-in started: inside the engine's window.
fn week_span(week: i64) -> (String, String) {
    (iso(week * 1000), iso((week + 5 * 86400) * 1000))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn google_accounts_sign_in_refresh_ask_to_sign_in_again_when_revoked_and_revoke_on_removal() {
    let g = metaclaw_standin::google::spawn(GoogleOptions::default()).await.unwrap();
    let h = Harness::start(|c| {
        utc(c);
        c.calendar.google.client_id = "standin-client".into();
        c.calendar.google.client_secret = "standin-secret".into();
        c.calendar.google.auth_url = g.auth_url();
        c.calendar.google.token_url = g.token_url();
        c.calendar.google.revoke_url = g.revoke_url();
        c.calendar.google.api_url = g.api_url();
    })
    .await;
    let c = h.client();

    // A provider without a client id says how to register one.
    let (s, msg) = refusal(c.start_signin(&SignInArg { provider: SignInProvider::Microsoft, name: None }).await);
    assert_eq!(s, 400);
    assert!(msg.contains("calendar.microsoft.client_id"), "{msg}");
    // The redirect to register is the one the sign-in listener uses (http://127.0.0.1:<port>,
    // the port ignored for loopback), not localhost, which would not match.
    assert!(msg.contains("(redirect http://127.0.0.1)") && !msg.contains("localhost"), "{msg}");

    let acct = sign_in(&h, SignInProvider::Google).await;
    let id = acct.id;
    assert_eq!((acct.kind, acct.user.as_deref()), (CalendarKind::Google, Some(metaclaw_standin::google::ACCOUNT)));
    assert_eq!(acct.display, metaclaw_standin::google::ACCOUNT);
    let primary = calendar(&acct, metaclaw_standin::google::ACCOUNT);
    assert_eq!((primary.own, primary.included), (true, true), "{acct:?}");
    assert!(!calendar(&acct, "Holidays in United States").included, "{acct:?}");
    assert_eq!(acct.calendars.len(), 4);
    // The listed accounts carry it too, with no secret in sight (in the raw answer, every field
    // the UI gets, not only those this client reads).
    let list = c.calendars().await.unwrap();
    assert_eq!(list[0].id, id);
    let raw = h.admin("/api/calendars").await.to_string();
    assert!(!raw.contains("refresh-") && !raw.contains("access-"), "{raw}");

    let want = metaclaw_standin::google::expected_busy_utc(g.week());
    let dec = week_span(g.week());
    let dec = (dec.0.as_str(), dec.1.as_str());
    let spans = |v: Vec<(String, String, String)>| v.into_iter().map(|(_, s, e)| (s, e)).collect::<Vec<_>>();
    assert_eq!(spans(busy(&h, dec.0, dec.1).await), want);

    // The access token expired: the sync refreshes it and goes on.
    g.expire_access_tokens();
    let t = c.test_calendar(id).await.unwrap();
    assert!(t.ok, "{t:?}");
    assert!(g
        .requests()
        .iter()
        .any(|r| r.uri == "/token" && r.form().get("grant_type").map(String::as_str) == Some("refresh_token")));
    assert_eq!(spans(busy(&h, dec.0, dec.1).await), want);

    // The user revoked the app: "sign in again", and the cached schedule still counts.
    g.revoke_all();
    g.expire_access_tokens();
    let t = c.test_calendar(id).await.unwrap();
    assert!(!t.ok, "{t:?}");
    let acct = c.calendar(id).await.unwrap();
    assert_eq!(acct.state, CalendarState::SignInAgain, "{acct:?}");
    assert!(acct.last_error.as_deref().unwrap().contains("sign in again"), "{acct:?}");
    assert_eq!(spans(busy(&h, dec.0, dec.1).await), want);

    // Signing in again as the same address revives that account (its ticks kept), no second one.
    let side = calendar(&acct, "Side project").id;
    tick(&h, id, side, false).await;
    let again = sign_in(&h, SignInProvider::Google).await;
    assert_eq!(again.id, id, "{again:?}");
    assert_eq!(again.state, CalendarState::Ok, "{again:?}");
    assert!(!calendar(&again, "Side project").included, "{again:?}");
    assert_eq!(c.calendars().await.unwrap().len(), 1);
    assert_eq!(spans(busy(&h, dec.0, dec.1).await), want);

    // Removal revokes the grant (best effort) and forgets the account.
    let before = g.revoked().len();
    let (s, _) = send(&h, reqwest::Method::DELETE, &format!("/api/calendars/{id}"), None).await;
    assert_eq!(s, 204);
    assert!(g.revoked().len() > before, "the refresh token was sent to the revocation endpoint");
    assert!(c.calendars().await.unwrap().is_empty());
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn microsoft_accounts_sign_in_and_their_ticked_calendars_decide_busy_time() {
    let m = metaclaw_standin::microsoft::spawn(MicrosoftOptions::default()).await.unwrap();
    let h = Harness::start(|c| {
        utc(c);
        c.calendar.microsoft.client_id = MicrosoftOptions::default().client_id;
        c.calendar.microsoft.auth_url = m.auth_url();
        c.calendar.microsoft.token_url = m.token_url();
        c.calendar.microsoft.api_url = m.api_url();
    })
    .await;
    let acct = sign_in(&h, SignInProvider::Microsoft).await;
    let id = acct.id;
    assert_eq!(
        (acct.kind, acct.user.as_deref()),
        (CalendarKind::Microsoft, Some(metaclaw_standin::microsoft::ACCOUNT))
    );
    let default = calendar(&acct, "Calendar");
    assert!(default.included, "{acct:?}");
    assert!(!calendar(&acct, "United States holidays").included, "{acct:?}");
    let want = metaclaw_standin::microsoft::expected_busy_utc(m.week());
    let dec = week_span(m.week());
    let dec = (dec.0.as_str(), dec.1.as_str());
    let spans = |v: Vec<(String, String, String)>| v.into_iter().map(|(_, s, e)| (s, e)).collect::<Vec<_>>();
    assert_eq!(spans(busy(&h, dec.0, dec.1).await), want);

    // Unticking the default calendar frees the week; ticking it again reads it back.
    let cid = default.id;
    tick(&h, id, cid, false).await;
    assert!(busy(&h, dec.0, dec.1).await.is_empty());
    let acct = tick(&h, id, cid, true).await;
    assert!(calendar(&acct, "Calendar").included);
    assert_eq!(spans(busy(&h, dec.0, dec.1).await), want);

    // Revoked consent (Microsoft has no revocation endpoint): sign in again.
    m.revoke_all();
    m.expire_access_tokens();
    let c = h.client();
    let t = c.test_calendar(id).await.unwrap();
    assert!(!t.ok, "{t:?}");
    assert_eq!(c.calendar(id).await.unwrap().state, CalendarState::SignInAgain);
    // Removal still works without a revocation endpoint.
    let (s, _) = send(&h, reqwest::Method::DELETE, &format!("/api/calendars/{id}"), None).await;
    assert_eq!(s, 204);
    h.stop().await;
}

const BIN: &str = env!("CARGO_BIN_EXE_metaclaw");

/// Runs the CLI against the harness's engine with `stdin` piped in: (success, stdout, stderr).
fn cli(h: &Harness, args: &[&str], stdin: &str) -> (bool, String, String) {
    use std::io::Write as _;
    let mut child = std::process::Command::new(BIN)
        .args(args)
        .env("METACLAW_HOME", h.home.path())
        .env("METACLAW_NO_KEYRING", "1")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_adds_a_caldav_account_with_the_password_from_stdin_and_ticks_its_calendars() {
    let r = Radicale::start().await;
    r.seed().await;
    let h = Harness::start(utc).await;
    let (ok, _, err) = cli(&h, &["calendar", "add", "caldav", &r.base, "--user", USER], "not it\n");
    assert!(!ok && err.contains("wrong user name or password"), "{err}");
    let (ok, out, err) = cli(
        &h,
        &["calendar", "add", "caldav", &r.base, "--user", USER, "--name", "Radicale"],
        &format!("{PASSWORD}\n"),
    );
    assert!(ok && out.contains("added CalDAV account 1") && out.contains("[x]"), "{out}{err}");
    assert!(out.contains("Work") && out.contains("Personal"), "{out}");
    let (ok, out, err) = cli(&h, &["calendar", "exclude", "radicale", "Work"], "");
    assert!(ok, "{out}{err}");
    let line = out.lines().find(|l| l.contains("Work")).unwrap();
    assert!(line.contains("[ ]"), "{out}");
    let (ok, out, _) = cli(&h, &["calendar", "list"], "");
    assert!(ok && out.contains("Radicale") && out.contains("caldav"), "{out}");
    assert!(out.lines().any(|l| l.contains("[x]") && l.contains("Personal")), "{out}");
    let (ok, out, err) = cli(&h, &["calendar", "include", "1", "Work"], "");
    assert!(ok && out.lines().any(|l| l.contains("[x]") && l.contains("Work")), "{out}{err}");
    let (ok, out, err) = cli(&h, &["calendar", "test", "1"], "");
    assert!(ok && out.contains("ok: 5 events (0 fetched)"), "{out}{err}");
    let (ok, _, err) = cli(&h, &["calendar", "include", "1", "Nope"], "");
    assert!(!ok && err.contains("no calendar \"Nope\""), "{err}");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tentative_setting_decides_whether_tentative_meetings_count_for_every_account() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("team.ics");
    std::fs::write(
        &path,
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\n\
         BEGIN:VEVENT\r\nUID:a@t\r\nDTSTART:20260105T100000Z\r\nDTEND:20260105T110000Z\r\nSUMMARY:Sure\r\nEND:VEVENT\r\n\
         BEGIN:VEVENT\r\nUID:b@t\r\nDTSTART:20260105T140000Z\r\nDTEND:20260105T150000Z\r\nSUMMARY:Maybe\r\nSTATUS:TENTATIVE\r\nEND:VEVENT\r\n\
         END:VCALENDAR\r\n",
    )
    .unwrap();
    for (tentative_busy, want) in [(true, vec!["Sure", "Maybe"]), (false, vec!["Sure"])] {
        let h = Harness::start(|c| {
            utc(c);
            c.calendar.tentative_busy = tentative_busy;
        })
        .await;
        let body = json!({"source": path.display().to_string()});
        let _: CalendarAccount = expect(&h, reqwest::Method::POST, "/api/calendars", Some(body), 201).await;
        let got: Vec<String> = busy(&h, JAN.0, JAN.1).await.into_iter().map(|b| b.0).collect();
        assert_eq!(got, want, "tentative_busy = {tentative_busy}");
        h.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_signs_in_with_google_without_a_browser_and_waits_for_the_account() {
    use tokio::io::AsyncBufReadExt as _;
    let g = metaclaw_standin::google::spawn(GoogleOptions::default()).await.unwrap();
    let h = Harness::start(|c| {
        utc(c);
        c.calendar.google.client_id = "standin-client".into();
        c.calendar.google.client_secret = "standin-secret".into();
        c.calendar.google.auth_url = g.auth_url();
        c.calendar.google.token_url = g.token_url();
        c.calendar.google.revoke_url = g.revoke_url();
        c.calendar.google.api_url = g.api_url();
    })
    .await;
    let mut child = tokio::process::Command::new(BIN)
        .args(["calendar", "add", "google", "--no-browser", "--name", "Mine"])
        .env("METACLAW_HOME", h.home.path())
        .env("METACLAW_NO_KEYRING", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let mut printed = Vec::new();
    let url = loop {
        let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line()).await.unwrap().unwrap();
        let line = line.unwrap_or_else(|| panic!("the CLI ended without a sign-in address: {printed:?}"));
        printed.push(line.clone());
        if line.starts_with("http") {
            break line;
        }
    };
    assert!(printed[0].contains("open this address"), "{printed:?}");
    play_browser(&url).await;
    while let Some(line) = lines.next_line().await.unwrap() {
        printed.push(line);
    }
    let status = tokio::time::timeout(Duration::from_secs(60), child.wait()).await.unwrap().unwrap();
    assert!(status.success(), "{printed:?}");
    let out = printed.join("\n");
    assert!(out.contains("added google account 1 \"Mine\""), "{out}");
    assert!(out.lines().any(|l| l.contains("[x]") && l.contains(metaclaw_standin::google::ACCOUNT)), "{out}");
    h.stop().await;
}
