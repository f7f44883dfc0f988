//! Google and Microsoft calendar sign-in end to end against the local stand-ins
//! (tests/standin/src/google.rs, microsoft.rs): the test plays the browser, following the
//! authorization URL to the stand-in's consent redirect and bringing it to MetaClaw's loopback
//! listener; PKCE and `state` are checked for real; tokens are refreshed and revoked; calendars
//! and expanded occurrences are read across pages and decided busy by the one rule.

use std::time::Duration;

use metaclaw::calendar::busy::{self, Rules};
use metaclaw::calendar::oauth::{self, Endpoints, OAuthError, Provider, Tokens};
use metaclaw::calendar::{google, microsoft};
use metaclaw_standin::google::{GoogleOptions, GoogleStandin};
use metaclaw_standin::microsoft::{MicrosoftOptions, MicrosoftStandin};

const WAIT: Duration = Duration::from_secs(30);

fn ms(rfc3339: &str) -> i64 {
    rfc3339.parse::<jiff::Timestamp>().unwrap().as_millisecond()
}

fn iso(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms).unwrap().strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn google_ep(g: &GoogleStandin) -> Endpoints {
    Endpoints {
        client_id: "standin-client".into(),
        client_secret: Some("standin-secret".into()),
        auth_url: g.auth_url(),
        token_url: g.token_url(),
        revoke_url: Some(g.revoke_url()),
        api_url: g.api_url(),
        scopes: Vec::new(),
    }
}

fn microsoft_ep(m: &MicrosoftStandin) -> Endpoints {
    Endpoints {
        client_id: "standin-ms-client".into(),
        client_secret: None,
        auth_url: m.auth_url(),
        token_url: m.token_url(),
        revoke_url: None,
        api_url: m.api_url(),
        scopes: Vec::new(),
    }
}

/// A browser that does not follow redirects, so the test sees each hop.
fn browser() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// Opens the authorization URL as the browser would; the stand-in's consent answers a 302 to the
/// redirect URI. Returns that location.
async fn consent(url: &str) -> String {
    let r = browser().get(url).send().await.unwrap();
    assert_eq!(r.status(), 302, "{}", r.text().await.unwrap_or_default());
    r.headers()["location"].to_str().unwrap().to_string()
}

/// Brings the redirect to MetaClaw's loopback listener: (status, page).
async fn land(location: &str) -> (u16, String) {
    let r = browser().get(location).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// A whole sign-in; `tamper` may change the authorization URL before the browser opens it and
/// the redirect before it lands.
async fn sign_in(
    provider: Provider,
    ep: &Endpoints,
    tamper_url: impl FnOnce(String) -> String,
    tamper_redirect: impl FnOnce(String) -> String,
) -> (Result<Tokens, OAuthError>, u16, String) {
    let flow = oauth::start(provider, ep).await.unwrap();
    let url = tamper_url(flow.url.clone());
    let waiting = tokio::spawn(flow.finish(WAIT));
    let location = tamper_redirect(consent(&url).await);
    let (status, page) = land(&location).await;
    (waiting.await.unwrap(), status, page)
}

fn query(url: &str) -> std::collections::HashMap<String, String> {
    reqwest::Url::parse(url).unwrap().query_pairs().into_owned().collect()
}

#[tokio::test]
async fn google_sign_in_runs_end_to_end_through_the_loopback_listener() {
    let g = metaclaw_standin::google::spawn(GoogleOptions::default()).await.unwrap();
    let ep = google_ep(&g);
    let before = metaclaw::clock::now_ms();
    let flow = oauth::start(Provider::Google, &ep).await.unwrap();
    let q = query(&flow.url);
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["access_type"], "offline");
    assert_eq!(q["scope"], "https://www.googleapis.com/auth/calendar.readonly");
    let redirect = flow.redirect_uri.clone();
    let url = flow.url.clone();
    let waiting = tokio::spawn(flow.finish(WAIT));
    let location = consent(&url).await;
    assert!(location.starts_with(&redirect), "{location}");
    let (status, page) = land(&location).await;
    assert_eq!(status, 200);
    assert!(page.contains("close this tab"), "{page}");
    let tokens = waiting.await.unwrap().unwrap();
    assert!(tokens.access.starts_with("access-"));
    assert!(tokens.refresh.as_deref().is_some_and(|r| r.starts_with("refresh-")));
    assert_eq!(tokens.account.as_deref(), Some(metaclaw_standin::google::ACCOUNT));
    assert!(tokens.expires_at_ms >= before + 3_500_000, "expires_in honoured");
    // The exchange sent the verifier whose S256 the authorization URL carried.
    let exchange = g.requests().into_iter().find(|r| r.uri == "/token").unwrap().form();
    assert_eq!(oauth::pkce_challenge(&exchange["code_verifier"]), q["code_challenge"]);
    assert_eq!(exchange["redirect_uri"], redirect);
    // The listener closed after the one valid callback.
    assert!(browser().get(&location).send().await.is_err(), "the loopback listener is gone");
}

#[tokio::test]
async fn microsoft_sign_in_runs_end_to_end_and_reads_the_address_from_me() {
    let m = metaclaw_standin::microsoft::spawn(MicrosoftOptions::default()).await.unwrap();
    let ep = microsoft_ep(&m);
    let (tokens, status, _) = sign_in(Provider::Microsoft, &ep, |u| u, |l| l).await;
    assert_eq!(status, 200);
    let tokens = tokens.unwrap();
    assert!(tokens.refresh.is_some());
    // `mail` is null: the principal name is the address.
    assert_eq!(tokens.account.as_deref(), Some(metaclaw_standin::microsoft::ACCOUNT));
    let seen = m.requests();
    let authorize = seen.iter().find(|r| r.uri.contains("/oauth2/v2.0/authorize")).unwrap();
    let scope = query(&format!("http://x{}", authorize.uri))["scope"].clone();
    assert!(scope.split(' ').any(|s| s == "offline_access") && scope.contains("Calendars.Read"), "{scope}");
    let exchange = seen.iter().find(|r| r.uri.ends_with("/oauth2/v2.0/token")).unwrap().form();
    assert!(!exchange.contains_key("client_secret"), "a public client sends no secret");
}

#[tokio::test]
async fn a_redirect_with_the_wrong_state_is_refused() {
    let g = metaclaw_standin::google::spawn(GoogleOptions::default()).await.unwrap();
    let (result, status, page) = sign_in(
        Provider::Google,
        &google_ep(&g),
        |u| u,
        |location| {
            let state = query(&location)["state"].clone();
            location.replace(&format!("state={state}"), "state=forged-by-another-page")
        },
    )
    .await;
    assert!(matches!(result, Err(OAuthError::StateMismatch)), "{result:?}");
    assert_eq!(status, 400);
    assert!(page.contains("did not match"), "{page}");
    assert!(!g.requests().iter().any(|r| r.uri == "/token"), "the code was never exchanged");
}

#[tokio::test]
async fn a_pkce_verifier_that_does_not_match_the_challenge_is_refused() {
    let g = metaclaw_standin::google::spawn(GoogleOptions::default()).await.unwrap();
    // An attacker's challenge in the URL: MetaClaw's own verifier no longer matches it.
    let foreign = oauth::pkce_challenge("an-attackers-verifier-that-is-long-enough-to-be-valid");
    let (result, status, page) = sign_in(
        Provider::Google,
        &google_ep(&g),
        |url| {
            let challenge = query(&url)["code_challenge"].clone();
            url.replace(&format!("code_challenge={challenge}"), &format!("code_challenge={foreign}"))
        },
        |l| l,
    )
    .await;
    match result {
        Err(OAuthError::Refused(why)) => assert!(why.contains("invalid_grant"), "{why}"),
        other => panic!("expected the token endpoint to refuse, got {other:?}"),
    }
    assert_eq!(status, 400, "the browser is told the sign-in failed");
    assert!(page.contains("Sign-in failed") && page.contains("invalid_grant"), "{page}");
    // The same for Microsoft, whose token endpoint words it differently.
    let m = metaclaw_standin::microsoft::spawn(MicrosoftOptions::default()).await.unwrap();
    let (result, _, _) = sign_in(
        Provider::Microsoft,
        &microsoft_ep(&m),
        |url| {
            let challenge = query(&url)["code_challenge"].clone();
            url.replace(&format!("code_challenge={challenge}"), &format!("code_challenge={foreign}"))
        },
        |l| l,
    )
    .await;
    assert!(matches!(&result, Err(OAuthError::Refused(w)) if w.contains("invalid_grant")), "{result:?}");
}

#[tokio::test]
async fn access_denied_in_the_browser_is_a_clear_error() {
    let g = metaclaw_standin::google::spawn(GoogleOptions { deny: true, ..Default::default() }).await.unwrap();
    let (result, status, page) = sign_in(Provider::Google, &google_ep(&g), |u| u, |l| l).await;
    assert!(matches!(result, Err(OAuthError::Denied)), "{result:?}");
    assert_eq!(status, 400);
    assert!(page.contains("not granted"), "{page}");
}

#[tokio::test]
async fn the_loopback_listener_answers_only_the_callback_and_gives_up_on_time() {
    let g = metaclaw_standin::google::spawn(GoogleOptions::default()).await.unwrap();
    let flow = oauth::start(Provider::Google, &google_ep(&g)).await.unwrap();
    let base = flow.redirect_uri.clone();
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    let waiting = tokio::spawn(flow.finish(Duration::from_millis(800)));
    // A favicon fetch, a bare visit and a preconnect that never speaks do not end the flow.
    assert_eq!(land(&format!("{base}/favicon.ico")).await.0, 404);
    assert_eq!(land(&format!("{base}/")).await.0, 404);
    let _silent = tokio::net::TcpStream::connect(base.trim_start_matches("http://")).await.unwrap();
    assert!(matches!(waiting.await.unwrap(), Err(OAuthError::TimedOut)));
    assert!(browser().get(format!("{base}/?state=x&code=y")).send().await.is_err(), "closed after the timeout");
}

#[tokio::test]
async fn refresh_renews_access_and_a_revoked_grant_means_sign_in_again() {
    let g = metaclaw_standin::google::spawn(GoogleOptions { expires_in: 5, ..Default::default() }).await.unwrap();
    let ep = google_ep(&g);
    let (tokens, _, _) = sign_in(Provider::Google, &ep, |u| u, |l| l).await;
    let tokens = tokens.unwrap();
    let refresh = tokens.refresh.clone().unwrap();
    let http = oauth::http_client();
    // The access token expires: the API says 401, a refresh brings a working one.
    g.expire_access_tokens();
    let err = google::calendars(&http, &ep, &tokens.access).await.unwrap_err();
    assert!(matches!(err, OAuthError::Unauthorized), "{err:?}");
    let renewed = oauth::refresh(&ep, &refresh).await.unwrap();
    assert_ne!(renewed.access, tokens.access);
    assert_eq!(renewed.refresh, None, "Google keeps the refresh token");
    assert!(!google::calendars(&http, &ep, &renewed.access).await.unwrap().is_empty());
    // Revoked on removal: the stand-in saw it, and the grant is dead.
    oauth::revoke(&ep, &refresh).await.unwrap();
    assert_eq!(g.revoked(), vec![refresh.clone()]);
    let err = oauth::refresh(&ep, &refresh).await.unwrap_err();
    assert!(matches!(err, OAuthError::SignInAgain(_)), "{err:?}");
    assert!(!err.to_string().contains(&refresh), "no token in error text: {err}");
    assert!(matches!(google::calendars(&http, &ep, &renewed.access).await, Err(OAuthError::Unauthorized)));
    // Revoking again is not an error (already gone).
    oauth::revoke(&ep, &refresh).await.unwrap();

    // Microsoft: refresh rotates the refresh token; consent removed → sign in again; no revoke
    // endpoint, so revoke has nothing to call.
    let m = metaclaw_standin::microsoft::spawn(MicrosoftOptions::default()).await.unwrap();
    let mep = microsoft_ep(&m);
    let (tokens, _, _) = sign_in(Provider::Microsoft, &mep, |u| u, |l| l).await;
    let first = tokens.unwrap().refresh.unwrap();
    let renewed = oauth::refresh(&mep, &first).await.unwrap();
    assert!(renewed.refresh.as_deref().is_some_and(|r| r != first));
    let sent = m.requests().into_iter().rfind(|r| r.uri.ends_with("/token")).unwrap().form();
    assert!(sent["scope"].contains("offline_access"), "Microsoft needs the scope on refresh");
    m.revoke_all();
    let err = oauth::refresh(&mep, renewed.refresh.as_deref().unwrap()).await.unwrap_err();
    assert!(matches!(err, OAuthError::SignInAgain(_)), "{err:?}");
    oauth::revoke(&mep, &first).await.unwrap();
}

#[tokio::test]
async fn google_calendars_are_listed_across_pages_with_the_users_own_marked() {
    let g = metaclaw_standin::google::spawn(GoogleOptions::default()).await.unwrap();
    let ep = google_ep(&g);
    let (tokens, _, _) = sign_in(Provider::Google, &ep, |u| u, |l| l).await;
    let list = google::calendars(&oauth::http_client(), &ep, &tokens.unwrap().access).await.unwrap();
    let shown: Vec<(&str, &str, bool)> = list.iter().map(|c| (c.id.as_str(), c.name.as_str(), c.own)).collect();
    assert_eq!(
        shown,
        vec![
            ("ada@example.com", "ada@example.com", true),
            ("c_0a1b2c3d@group.calendar.google.com", "Side project", true),
            ("en.usa#holiday@group.v.calendar.google.com", "Holidays in United States", false),
            ("grace@example.com", "Grace", false),
        ]
    );
    assert_eq!(list[0].color.as_deref(), Some("#9fe1e7"));
    let pages = g.requests().into_iter().filter(|r| r.uri.contains("/users/me/calendarList?")).count();
    assert_eq!(pages, 2);
}

/// The busy intervals (RFC 3339 pairs) of provider events under `rules`.
fn busy_of(events: &[google::ProviderEvent], rules: &Rules) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> =
        events.iter().filter(|e| busy::counts(&e.facts, rules)).map(|e| (iso(e.start_ms), iso(e.end_ms))).collect();
    out.sort();
    out
}

/// The weeks the provider tests read: the stand-ins' default (the Monday after today) and one in
/// summer time years ahead (Monday 2031-06-23), so neither the date the tests run on nor the
/// season decides whether they pass.
fn weeks() -> [i64; 2] {
    [metaclaw_standin::google::next_week(), ms("2031-06-23T00:00:00Z") / 1000]
}

/// Monday to Saturday 00:00 UTC of `week` (seconds), in milliseconds.
fn week_ms(week: i64) -> (i64, i64) {
    (week * 1000, (week + 5 * 86400) * 1000)
}

#[tokio::test]
async fn google_occurrences_across_pages_follow_the_one_busy_rule() {
    for week in weeks() {
        google_week_follows_the_one_busy_rule(week).await;
    }
}

async fn google_week_follows_the_one_busy_rule(week: i64) {
    let g = metaclaw_standin::google::spawn(GoogleOptions { week, ..Default::default() }).await.unwrap();
    let ep = google_ep(&g);
    let (tokens, _, _) = sign_in(Provider::Google, &ep, |u| u, |l| l).await;
    let access = tokens.unwrap().access;
    let http = oauth::http_client();
    let (from, to) = week_ms(week);
    let events = google::events(&http, &ep, &access, "ada@example.com", from, to, chrono_tz::UTC).await.unwrap();
    assert_eq!(events.len(), 14, "every occurrence in the week, none from the next");
    assert_eq!(busy_of(&events, &Rules::default()), metaclaw_standin::google::expected_busy_utc(week));
    // Tentative off: the maybe-planning (Tuesday 15:00 UTC) drops out, nothing else changes.
    let strict = busy_of(&events, &Rules { tentative_busy: false });
    assert_eq!(strict.len(), 8);
    let planning = from + 86_400_000 + 15 * 3_600_000;
    assert!(!strict.contains(&(iso(planning), iso(planning + 3_600_000))));
    // Recurrences expanded by Google; the request asked for that and for the window.
    let pages: Vec<_> = g.requests().into_iter().filter(|r| r.uri.contains("/events?")).collect();
    assert_eq!(pages.len(), 4, "4 items a page");
    let q = query(&format!("http://x{}", pages[0].uri));
    assert_eq!(q["singleEvents"], "true");
    assert_eq!((q["timeMin"].clone(), q["timeMax"].clone()), (iso(from), iso(to)));
    assert!(pages[1].uri.contains("pageToken="));
    // All-day dates are read in the user's zone: Berlin's Friday starts on Thursday in UTC
    // (23:00 in winter, 22:00 in summer).
    let berlin =
        google::events(&http, &ep, &access, "ada@example.com", from, to, chrono_tz::Europe::Berlin).await.unwrap();
    let vacation = berlin.iter().find(|e| e.summary == "Vacation").unwrap();
    let friday = |d: i64| {
        use chrono::TimeZone as _;
        let day = chrono::DateTime::from_timestamp_millis(from + d * 86_400_000).unwrap().date_naive();
        chrono_tz::Europe::Berlin.from_local_datetime(&day.and_hms_opt(0, 0, 0).unwrap()).unwrap().timestamp_millis()
    };
    assert_eq!((iso(vacation.start_ms), iso(vacation.end_ms)), (iso(friday(4)), iso(friday(5))));
    assert!(vacation.start_ms < from + 4 * 86_400_000, "before Friday 00:00 UTC");
    // An unknown calendar id (encoded in the path) is a plain error, not a panic.
    let err = google::events(&http, &ep, &access, "nobody#x@y", from, to, chrono_tz::UTC).await.unwrap_err();
    assert!(matches!(err, OAuthError::Status { status: 404, .. }), "{err:?}");
}

#[tokio::test]
async fn microsoft_calendars_and_calendar_view_follow_the_one_busy_rule() {
    for week in weeks() {
        microsoft_week_follows_the_one_busy_rule(week).await;
    }
}

async fn microsoft_week_follows_the_one_busy_rule(week: i64) {
    let m = metaclaw_standin::microsoft::spawn(MicrosoftOptions { week, ..Default::default() }).await.unwrap();
    let ep = microsoft_ep(&m);
    let (tokens, _, _) = sign_in(Provider::Microsoft, &ep, |u| u, |l| l).await;
    let access = tokens.unwrap().access;
    let http = oauth::http_client();
    let list = microsoft::calendars(&http, &ep, &access).await.unwrap();
    let shown: Vec<(&str, bool)> = list.iter().map(|c| (c.name.as_str(), c.own)).collect();
    assert_eq!(
        shown,
        vec![("Calendar", true), ("United States holidays", false), ("Birthdays", false), ("Alan's calendar", false)]
    );
    assert_eq!(list[0].color.as_deref(), Some("#4a8cff"));
    assert_eq!(list[1].color, None);
    let (from, to) = week_ms(week);
    let events = microsoft::events(&http, &ep, &access, &list[0].id, from, to, chrono_tz::UTC).await.unwrap();
    assert_eq!(events.len(), 11);
    assert_eq!(busy_of(&events, &Rules::default()), metaclaw_standin::microsoft::expected_busy_utc(week));
    assert_eq!(busy_of(&events, &Rules { tentative_busy: false }).len(), 5);
    let views: Vec<_> = m.requests().into_iter().filter(|r| r.uri.contains("/calendarView")).collect();
    assert_eq!(views.len(), 3, "followed @odata.nextLink");
    assert!(views.iter().all(|r| r.header("prefer") == Some("outlook.timezone=\"UTC\"")));
    // A shared calendar's id with a slash is encoded, not taken as a path.
    let alan = list.iter().find(|c| c.name == "Alan's calendar").unwrap();
    assert!(microsoft::events(&http, &ep, &access, &alan.id, from, to, chrono_tz::UTC).await.unwrap().is_empty());
}

/// A provider that misbehaves: every path answers what `answer` says for (path, query); requests
/// are counted.
async fn hostile(
    answer: impl Fn(&str, &str) -> (u16, String) + Send + Sync + 'static,
) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let hits = std::sync::Arc::new(AtomicUsize::new(0));
    let (count, answer) = (hits.clone(), std::sync::Arc::new(answer));
    let app = axum::Router::new().fallback(move |req: axum::extract::Request| {
        let (count, answer) = (count.clone(), answer.clone());
        async move {
            count.fetch_add(1, Ordering::SeqCst);
            let (status, body) = answer(req.uri().path(), req.uri().query().unwrap_or(""));
            axum::response::Response::builder()
                .status(status)
                .header("content-type", "application/json")
                .body(axum::body::Body::from(body))
                .unwrap()
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (base, hits)
}

fn ep_at(base: &str, token_path: &str) -> Endpoints {
    Endpoints {
        client_id: "c".into(),
        client_secret: None,
        auth_url: format!("{base}/auth"),
        token_url: format!("{base}{token_path}"),
        revoke_url: None,
        api_url: format!("{base}/v1.0"),
        scopes: Vec::new(),
    }
}

#[tokio::test]
async fn hostile_provider_answers_end_in_plain_errors_without_hanging_or_leaking_the_token() {
    use std::sync::atomic::Ordering;
    let http = oauth::http_client();
    // A next-page link to another server: never followed (the bearer token stays home).
    let (elsewhere, elsewhere_hits) = hostile(|_, _| (200, r#"{"value": []}"#.into())).await;
    let link = format!("{elsewhere}/v1.0/me/calendars?$skiptoken=1");
    let (base, _) =
        hostile(move |_, _| (200, serde_json::json!({"value": [], "@odata.nextLink": link}).to_string())).await;
    let err = microsoft::calendars(&http, &ep_at(&base, "/t"), "secret-access").await.unwrap_err();
    assert!(err.to_string().contains("another server"), "{err}");
    assert_eq!(elsewhere_hits.load(Ordering::SeqCst), 0);
    // Endless pages: given up after 50.
    let (base, hits) = hostile(|_, q| (200, format!(r#"{{"items": [], "nextPageToken": "t{}"}}"#, q.len()))).await;
    let err = google::calendars(&http, &ep_at(&base, "/t"), "secret-access").await.unwrap_err();
    assert!(err.to_string().contains("more than 50 pages"), "{err}");
    assert_eq!(hits.load(Ordering::SeqCst), google::MAX_PAGES);
    // A page too large to hold.
    let (base, _) = hostile(|_, _| (200, format!(r#"{{"items": [], "x": "{}"}}"#, "a".repeat(5 << 20)))).await;
    let err = google::calendars(&http, &ep_at(&base, "/t"), "secret-access").await.unwrap_err();
    assert!(matches!(err, OAuthError::TooLarge(_)), "{err:?}");
    // Garbage where JSON belongs, items of the wrong shapes.
    let (base, _) = hostile(|_, _| (200, "<html>".into())).await;
    assert!(matches!(google::calendars(&http, &ep_at(&base, "/t"), "a").await, Err(OAuthError::BadAnswer { .. })));
    let (base, _) =
        hostile(|_, _| (200, r#"{"value": [1, "x", {"id": 5}, {"start": {}}, {"start": {"dateTime": []}}]}"#.into()))
            .await;
    let ep = ep_at(&base, "/t");
    assert!(microsoft::calendars(&http, &ep, "a").await.unwrap().is_empty());
    assert!(microsoft::events(&http, &ep, "a", "id", 0, i64::MAX / 4, chrono_tz::UTC).await.unwrap().is_empty());
    // Token endpoints: not JSON, no access token, too large; never an error quoting the grant.
    for body in ["not json".to_string(), r#"{"token_type": "Bearer"}"#.into(), "x".repeat(1 << 20)] {
        let (base, _) = hostile(move |_, _| (200, body.clone())).await;
        let err = oauth::refresh(&ep_at(&base, "/common/oauth2/v2.0/token"), "secret-refresh").await.unwrap_err();
        assert!(matches!(err, OAuthError::BadAnswer { .. } | OAuthError::TooLarge(_)), "{err:?}");
        assert!(!err.to_string().contains("secret-refresh"), "{err}");
    }
    // Plain http to a server that is not this machine is refused before anything is sent.
    let mut remote = ep_at("http://calendar.example.com", "/t");
    remote.client_id = "c".into();
    assert!(matches!(oauth::refresh(&remote, "r").await, Err(OAuthError::BadEndpoint(_))));
    assert!(matches!(oauth::start(Provider::Google, &remote).await, Err(OAuthError::BadEndpoint(_))));
}
