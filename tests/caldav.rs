//! The CalDAV client against a real Radicale server on loopback, seeded over CalDAV: discovery,
//! calendar listing, initial and incremental sync (one changed event fetched alone, deletions,
//! a refused sync token), plain-words errors (wrong password, not a CalDAV server, plain http off
//! loopback, redirect loops), and the busy blocks the synced events give.

mod common;

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use axum::response::IntoResponse;
use common::radicale::{Radicale, EMAIL, PASSWORD, USER};
use metaclaw::calendar::busy::Rules;
use metaclaw::calendar::caldav::{CalDavError, Changes, Client, Credentials, SyncState};
use metaclaw::calendar::Feed;

fn creds() -> Credentials {
    Credentials { user: USER.into(), password: PASSWORD.into() }
}

fn ms(rfc3339: &str) -> i64 {
    rfc3339.parse::<jiff::Timestamp>().unwrap().as_millisecond()
}

/// What the core does with each sync's changes.
fn apply(state: &mut SyncState, ch: &Changes) {
    for o in &ch.changed {
        state.etags.insert(o.href.clone(), o.etag.clone().unwrap_or_default());
    }
    for h in &ch.removed {
        state.etags.remove(h);
    }
    state.token = ch.token.clone();
    state.ctag = ch.ctag.clone();
}

/// A loopback HTTP server answering every request with `answer`.
async fn serve(answer: fn() -> axum::response::Response) -> String {
    let app = axum::Router::new().fallback(move || async move { answer() });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

#[tokio::test]
async fn discovery_finds_the_principal_and_home_from_the_root_or_a_path() {
    let r = Radicale::start().await;
    r.seed().await;
    let c = Client::new();
    let from_root = c.discover(&r.url("/"), &creds()).await.unwrap();
    assert_eq!(from_root.principal, r.url("/ada/"));
    assert_eq!(from_root.home, r.url("/ada/"));
    let from_path = c.discover(&r.url("/ada/work/"), &creds()).await.unwrap();
    assert_eq!(from_path, from_root);
    // Without a scheme or a trailing slash, as people type it.
    let bare = c.discover(r.base.trim_start_matches("http://"), &creds()).await;
    // https is assumed: a plain-http server there fails the TLS handshake, and says so.
    let err = bare.unwrap_err();
    assert!(matches!(err, CalDavError::Tls { .. }), "{err:?}");
    assert!(err.to_string().contains("secure connection (TLS)"), "{err}");
}

#[tokio::test]
async fn calendars_are_listed_with_names_colours_and_which_are_the_users_own() {
    let r = Radicale::start().await;
    r.seed().await;
    let c = Client::new();
    let d = c.discover(&r.base, &creds()).await.unwrap();
    let mut cals = c.calendars(&d, &creds()).await.unwrap();
    cals.sort_by(|a, b| a.name.cmp(&b.name));
    let got: Vec<_> = cals.iter().map(|c| (c.name.as_str(), c.color.as_deref(), c.own, c.events)).collect();
    assert_eq!(
        got,
        [
            ("Holidays", None, false, false),
            ("Personal", Some("#1badf8"), true, true),
            ("Work", Some("#ff2968"), true, true),
        ]
    );
    assert_eq!(cals[2].href, r.url("/ada/work/"));
}

#[tokio::test]
async fn a_calendar_shared_read_only_is_listed_but_not_the_users_own() {
    let r = Radicale::start_with_read_only_calendar().await;
    r.seed().await;
    let c = Client::new();
    let d = c.discover(&r.base, &creds()).await.unwrap();
    let cals = c.calendars(&d, &creds()).await.unwrap();
    let team = cals.iter().find(|c| c.name == "Team").unwrap_or_else(|| panic!("{cals:?} {}", r.log()));
    assert_eq!((team.own, team.events, team.color.as_deref()), (false, true, Some("#2ca02c")));
    assert!(cals.iter().find(|c| c.name == "Work").unwrap().own, "{cals:?}");
    // It can still be read.
    let ch = c.sync(&team.href, &creds(), &SyncState::default()).await.unwrap();
    assert_eq!(ch.changed.len(), 1);
    assert_eq!(ch.changed[0].href, r.url("/ada/team/standup.ics"));
}

#[tokio::test]
async fn sync_is_incremental_one_changed_event_alone_then_a_deletion() {
    let r = Radicale::start().await;
    r.seed().await;
    let c = Client::new();
    let work = r.url("/ada/work/");
    let mut state = SyncState::default();

    let first = c.sync(&work, &creds(), &state).await.unwrap();
    let mut hrefs: Vec<_> = first.changed.iter().map(|o| o.href.clone()).collect();
    hrefs.sort();
    let expected: Vec<String> =
        ["allday.ics", "declined.ics", "tentative.ics", "weekly.ics"].iter().map(|n| format!("{work}{n}")).collect();
    assert_eq!(hrefs, expected);
    assert!(first.removed.is_empty());
    assert!(first.token.is_some(), "Radicale supports sync-collection");
    assert!(first.changed.iter().all(|o| o.ics.contains("BEGIN:VCALENDAR") && o.etag.is_some()));
    apply(&mut state, &first);

    // Nothing changed: nothing fetched.
    let again = c.sync(&work, &creds(), &state).await.unwrap();
    assert!(again.changed.is_empty() && again.removed.is_empty(), "{again:?}");
    apply(&mut state, &again);

    // One event changes on the server: exactly that one comes back.
    let moved = common::radicale::seed_events()[3]
        .1
        .replace("DTSTART:20260108T160000Z", "DTSTART:20260108T170000Z")
        .replace("DTEND:20260108T170000Z", "DTEND:20260108T180000Z");
    r.put("/ada/work/tentative.ics", &moved).await;
    let one = c.sync(&work, &creds(), &state).await.unwrap();
    assert_eq!(one.changed.len(), 1, "{one:?}");
    assert_eq!(one.changed[0].href, format!("{work}tentative.ics"));
    assert!(one.changed[0].ics.contains("DTSTART:20260108T170000Z"), "{}", one.changed[0].ics);
    assert!(one.removed.is_empty());
    assert_ne!(one.token, state.token);
    apply(&mut state, &one);

    r.delete("/ada/work/declined.ics").await;
    let gone = c.sync(&work, &creds(), &state).await.unwrap();
    assert!(gone.changed.is_empty(), "{gone:?}");
    assert_eq!(gone.removed, [format!("{work}declined.ics")]);
    apply(&mut state, &gone);
    assert_eq!(state.etags.len(), 3);
}

#[tokio::test]
async fn an_invalid_sync_token_falls_back_to_comparing_etags() {
    let r = Radicale::start().await;
    r.seed().await;
    let c = Client::new();
    let work = r.url("/ada/work/");
    let mut state = SyncState::default();
    let first = c.sync(&work, &creds(), &state).await.unwrap();
    apply(&mut state, &first);

    r.put("/ada/work/allday.ics", &common::radicale::seed_events()[2].1.replace("Offsite", "Offsite (moved room)"))
        .await;
    r.delete("/ada/work/weekly.ics").await;
    state.token = state.token.take().map(Tamper::pop_last_hex);

    let ch = c.sync(&work, &creds(), &state).await.unwrap();
    let changed: Vec<_> = ch.changed.iter().map(|o| o.href.clone()).collect();
    assert_eq!(changed, [format!("{work}allday.ics")], "only the changed event is fetched");
    assert!(ch.changed[0].ics.contains("Offsite (moved room)"));
    assert_eq!(ch.removed, [format!("{work}weekly.ics")]);
    assert!(ch.token.is_some() && ch.token != state.token, "a fresh token replaces the refused one: {:?}", ch.token);
    apply(&mut state, &ch);

    // The fresh token works: nothing more to do.
    let after = c.sync(&work, &creds(), &state).await.unwrap();
    assert!(after.changed.is_empty() && after.removed.is_empty(), "{after:?}");

    // A server that gives a ctag and no token is asked for its ctag alone while it stays the same,
    // and lists its ETags once it moves: only the changed event is fetched.
    assert!(ch.ctag.is_some(), "the fallback reads Radicale's getctag");
    let no_token = SyncState { token: None, ..state.clone() };
    let quiet = c.sync(&work, &creds(), &no_token).await.unwrap();
    assert!(quiet.changed.is_empty() && quiet.removed.is_empty(), "{quiet:?}");
    assert_eq!(quiet.ctag, no_token.ctag);
    r.put("/ada/work/tentative.ics", &common::radicale::seed_events()[3].1.replace("Maybe lunch talk", "Lunch talk"))
        .await;
    let moved = c.sync(&work, &creds(), &no_token).await.unwrap();
    assert_eq!(moved.changed.iter().map(|o| o.href.clone()).collect::<Vec<_>>(), [format!("{work}tentative.ics")]);
    assert!(moved.removed.is_empty() && moved.ctag != no_token.ctag, "{moved:?}");

    // With no state at all, a refused token still yields everything.
    let full = c
        .sync(
            &work,
            &creds(),
            &SyncState { token: state.token.clone().map(|t| t.pop_last_hex()), ..Default::default() },
        )
        .await
        .unwrap();
    assert_eq!(full.changed.len(), 3, "{full:?}");
}

trait Tamper {
    fn pop_last_hex(self) -> String;
}

impl Tamper for String {
    /// The same token with its last hex digit changed: well-formed, but unknown to the server.
    fn pop_last_hex(mut self) -> String {
        let last = self.pop().unwrap();
        self.push(if last == '0' { '1' } else { '0' });
        self
    }
}

#[tokio::test]
async fn the_synced_events_give_the_busy_blocks_the_scheduler_sees() {
    let r = Radicale::start().await;
    r.seed().await;
    let c = Client::new();
    let ch = c.sync(&r.url("/ada/work/"), &creds(), &SyncState::default()).await.unwrap();
    let text: String = ch.changed.iter().map(|o| o.ics.as_str()).collect::<Vec<_>>().join("\r\n");
    let feed = Feed::parse(&text, chrono_tz::UTC, &[EMAIL.to_string()]).unwrap();
    let spans = |rules: &Rules| {
        feed.busy_under(ms("2026-01-05T00:00:00Z"), ms("2026-01-20T00:00:00Z"), rules)
            .iter()
            .map(|b| (b.start, b.end))
            .collect::<Vec<_>>()
    };
    let span = |a: &str, b: &str| (ms(a), ms(b));
    assert_eq!(
        spans(&Rules::default()),
        [
            span("2026-01-05T10:00:00Z", "2026-01-05T11:00:00Z"),
            // The declined invitation on the 6th is not busy.
            span("2026-01-07T00:00:00Z", "2026-01-08T00:00:00Z"),
            span("2026-01-08T16:00:00Z", "2026-01-08T17:00:00Z"),
            // The 12th's occurrence moved to the 13th.
            span("2026-01-13T14:00:00Z", "2026-01-13T15:00:00Z"),
            span("2026-01-19T10:00:00Z", "2026-01-19T11:00:00Z"),
        ]
    );
    let strict = spans(&Rules { tentative_busy: false });
    assert!(!strict.contains(&span("2026-01-08T16:00:00Z", "2026-01-08T17:00:00Z")), "{strict:?}");
    assert_eq!(strict.len(), 4);
}

#[tokio::test]
async fn a_wrong_password_is_said_in_plain_words_and_never_shown() {
    let r = Radicale::start().await;
    let c = Client::new();
    let wrong = Credentials { user: USER.into(), password: "hunter2-wrong".into() };
    let err = c.discover(&r.base, &wrong).await.unwrap_err();
    assert_eq!(err, CalDavError::Unauthorized);
    let msg = err.to_string();
    assert!(msg.contains("wrong user name or password"), "{msg}");
    assert!(!msg.contains("hunter2") && !format!("{err:?}").contains("hunter2"));
    assert!(!format!("{wrong:?}").contains("hunter2"), "Debug hides the password");
    let sync = c.sync(&r.url("/ada/work/"), &wrong, &SyncState::default()).await.unwrap_err();
    assert_eq!(sync, CalDavError::Unauthorized);
}

#[tokio::test]
async fn a_server_that_is_not_caldav_is_named_so() {
    let c = Client::new();
    let html =
        serve(|| (StatusCode::OK, axum::response::Html("<html><body>Welcome</body></html>")).into_response()).await;
    let err = c.discover(&html, &creds()).await.unwrap_err();
    assert!(matches!(err, CalDavError::NotCalDav(_)), "{err:?}");
    assert!(err.to_string().contains("is not a CalDAV server"), "{err}");
    let refuses = serve(|| StatusCode::METHOD_NOT_ALLOWED.into_response()).await;
    let err = c.discover(&format!("{refuses}/dav/"), &creds()).await.unwrap_err();
    assert!(matches!(err, CalDavError::NotCalDav(_)), "{err:?}");
    // XML that is not a multistatus, sent as one.
    let fake = serve(|| {
        (
            StatusCode::MULTI_STATUS,
            [("content-type", "application/xml")],
            "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY a \"b\">]><x>&a;</x>",
        )
            .into_response()
    })
    .await;
    let err = c.discover(&fake, &creds()).await.unwrap_err();
    assert!(matches!(err, CalDavError::NotCalDav(_)), "{err:?}");
}

#[tokio::test]
async fn plain_http_to_a_server_off_this_machine_is_refused_without_connecting() {
    let c = Client::new();
    let started = Instant::now();
    // 192.0.2.1 (TEST-NET-1) never answers: a connection attempt would wait for the timeout.
    for server in ["http://192.0.2.1:5232/", "http://caldav.example.com/dav/"] {
        let err = c.discover(server, &creds()).await.unwrap_err();
        assert!(matches!(err, CalDavError::PlainHttp(_)), "{server}: {err:?}");
        assert!(err.to_string().contains("plain http is refused"), "{err}");
        let err = c.sync(server, &creds(), &SyncState::default()).await.unwrap_err();
        assert!(matches!(err, CalDavError::PlainHttp(_)), "{server}: {err:?}");
    }
    assert!(started.elapsed() < Duration::from_secs(2), "no connection was attempted");
}

#[tokio::test]
async fn an_answer_larger_than_the_limit_is_refused_as_it_streams() {
    let c = Client::new();
    // 21 MB in 1 MB chunks, without a content-length: the running limit stops it.
    let huge = serve(|| {
        let chunks = (0..21).map(|_| Ok::<_, std::io::Error>(bytes::Bytes::from(vec![b' '; 1024 * 1024])));
        (
            StatusCode::MULTI_STATUS,
            [("content-type", "application/xml")],
            axum::body::Body::from_stream(futures_util::stream::iter(chunks)),
        )
            .into_response()
    })
    .await;
    let err = c.sync(&format!("{huge}/cal/"), &creds(), &SyncState::default()).await.unwrap_err();
    assert_eq!(err, CalDavError::TooLarge(20));
    assert!(err.to_string().contains("larger than 20 MB"), "{err}");
}

#[tokio::test]
async fn a_server_that_never_answers_times_out_in_plain_words() {
    // Accepts connections and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            held.push(s);
        }
    });
    let c = Client::with_timeouts(Duration::from_millis(500), Duration::from_millis(500));
    let err = c.sync(&format!("http://{addr}/cal/"), &creds(), &SyncState::default()).await.unwrap_err();
    assert_eq!(err, CalDavError::Timeout(format!("http://{addr}")));
    assert!(err.to_string().contains("did not answer in time"), "{err}");
}

#[tokio::test]
async fn a_calendar_with_more_objects_than_the_limit_is_refused() {
    let many = serve(|| {
        let mut body = String::from(r#"<?xml version="1.0"?><d:multistatus xmlns:d="DAV:">"#);
        for i in 0..20_001 {
            body.push_str(&format!("<d:response><d:href>/cal/{i}.ics</d:href><d:propstat><d:prop><d:getetag>\"{i}\"</d:getetag></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>"));
        }
        body.push_str("<d:sync-token>t1</d:sync-token></d:multistatus>");
        (StatusCode::MULTI_STATUS, [("content-type", "application/xml")], body).into_response()
    })
    .await;
    let err = Client::new().sync(&format!("{many}/cal/"), &creds(), &SyncState::default()).await.unwrap_err();
    assert_eq!(err, CalDavError::TooMany(20_000));
}

#[tokio::test]
async fn a_redirect_loop_stops_after_five() {
    let c = Client::new();
    let looping = serve(|| (StatusCode::MOVED_PERMANENTLY, [("location", "/again")]).into_response()).await;
    let err = c.discover(&format!("{looping}/dav/"), &creds()).await.unwrap_err();
    assert_eq!(err, CalDavError::TooManyRedirects);
    assert!(err.to_string().contains("redirected more than 5 times"), "{err}");
}

/// A tiny DNS server on 127.0.0.1 (UDP) answering from `zone` (name with its final dot, record
/// type → answers; anything else NXDOMAIN), or never answering when `silent`. Every question's
/// name is noted in the returned list.
async fn dns_stub(
    zone: Vec<(&'static str, hickory_resolver::proto::rr::RecordType, hickory_resolver::proto::rr::RData)>,
    silent: bool,
) -> (std::net::SocketAddr, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use hickory_resolver::proto::op::{Message, MessageType, ResponseCode};
    use hickory_resolver::proto::rr::{Name, Record};
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = socket.local_addr().unwrap();
    let asked = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let noted = asked.clone();
    tokio::spawn(async move {
        let mut buf = vec![0u8; 4096];
        while let Ok((n, from)) = socket.recv_from(&mut buf).await {
            let Ok(q) = Message::from_vec(&buf[..n]) else { continue };
            let Some(query) = q.queries().first().cloned() else { continue };
            let name = query.name().to_ascii().to_ascii_lowercase();
            noted.lock().unwrap().push(name.clone());
            if silent {
                continue;
            }
            let mut a = Message::new();
            a.set_id(q.id())
                .set_message_type(MessageType::Response)
                .set_op_code(q.op_code())
                .set_recursion_desired(q.recursion_desired())
                .set_recursion_available(true)
                .set_authoritative(true)
                .add_query(query.clone());
            let answers = zone
                .iter()
                .filter(|(n, t, _)| *n == name && *t == query.query_type())
                .map(|(n, _, d)| Record::from_rdata(Name::from_ascii(n).unwrap(), 60, d.clone()))
                .collect::<Vec<_>>();
            if answers.is_empty() {
                a.set_response_code(ResponseCode::NXDomain);
            }
            a.add_answers(answers);
            let _ = socket.send_to(&a.to_vec().unwrap(), from).await;
        }
    });
    (addr, asked)
}

fn srv_to(port: u16, target: &str) -> hickory_resolver::proto::rr::RData {
    use hickory_resolver::proto::rr::{rdata::SRV, Name, RData};
    RData::SRV(SRV::new(0, 0, port, Name::from_ascii(target).unwrap()))
}

#[tokio::test]
async fn dns_srv_and_txt_lead_an_email_address_to_the_principal() {
    use hickory_resolver::proto::rr::{rdata::TXT, RData, RecordType};
    let r = Radicale::start().await;
    r.seed().await;
    let port: u16 = r.base.rsplit(':').next().unwrap().parse().unwrap();
    // No _caldavs record; plain _caldav is taken because its target is loopback.
    let (ns, asked) = dns_stub(
        vec![
            ("_caldav._tcp.example.test.", RecordType::SRV, srv_to(port, "127.0.0.1.")),
            ("_caldav._tcp.example.test.", RecordType::TXT, RData::TXT(TXT::new(vec!["path=/".into()]))),
        ],
        false,
    )
    .await;
    let c = Client::with_timeouts(Duration::from_secs(5), Duration::from_secs(10)).with_nameservers(vec![ns]);
    let d = c.discover("ada@example.test", &creds()).await.unwrap();
    assert_eq!(d.principal, r.url("/ada/"));
    assert_eq!(d.home, r.url("/ada/"));
    let asked = asked.lock().unwrap().clone();
    assert!(asked.contains(&"_caldavs._tcp.example.test.".to_string()), "{asked:?}");
}

#[tokio::test]
async fn a_plain_caldav_srv_record_off_loopback_is_ignored() {
    use hickory_resolver::proto::rr::RecordType;
    let (ns, asked) =
        dns_stub(vec![("_caldav._tcp.example.test.", RecordType::SRV, srv_to(80, "dav.example.test."))], false).await;
    let c = Client::with_timeouts(Duration::from_secs(2), Duration::from_secs(5)).with_nameservers(vec![ns]);
    let err = c.discover("ada@example.test", &creds()).await.unwrap_err();
    // Never plain http to another machine: the well-known https address is what failed.
    assert!(!matches!(err, CalDavError::PlainHttp(_)), "{err:?}");
    assert!(err.to_string().contains("example.test"), "{err}");
    assert!(!err.to_string().contains("dav.example.test"), "{err}");
    assert!(asked.lock().unwrap().contains(&"_caldav._tcp.example.test.".to_string()));
}

#[tokio::test]
async fn an_srv_dot_target_falls_back_to_the_well_known_address() {
    use hickory_resolver::proto::rr::RecordType;
    // "." says there is no such service: no address is built from the record.
    let (ns, asked) = dns_stub(
        vec![
            ("_caldavs._tcp.example.test.", RecordType::SRV, srv_to(443, ".")),
            ("_caldav._tcp.example.test.", RecordType::SRV, srv_to(80, ".")),
        ],
        false,
    )
    .await;
    let c = Client::with_timeouts(Duration::from_secs(2), Duration::from_secs(5)).with_nameservers(vec![ns]);
    let started = Instant::now();
    let err = c.discover("ada@example.test", &creds()).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(4), "{:?}", started.elapsed());
    assert!(err.to_string().contains("example.test"), "{err}");
    let asked = asked.lock().unwrap().clone();
    assert!(asked.contains(&"_caldavs._tcp.example.test.".to_string()), "{asked:?}");
}

#[tokio::test]
async fn a_resolver_that_never_answers_costs_at_most_the_dns_bound() {
    let (ns, asked) = dns_stub(vec![], true).await;
    let c = Client::with_timeouts(Duration::from_secs(2), Duration::from_secs(5)).with_nameservers(vec![ns]);
    let started = Instant::now();
    let err = c.discover("ada@example.test", &creds()).await.unwrap_err();
    let took = started.elapsed();
    // 5 s of DNS at most, then the well-known address (which does not resolve).
    assert!(took < Duration::from_secs(9), "took {took:?}");
    assert!(took >= Duration::from_secs(3), "the stub was not waited for: {took:?}");
    assert!(!asked.lock().unwrap().is_empty());
    assert!(err.to_string().contains("example.test"), "{err}");
}
