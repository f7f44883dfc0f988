//! A stand-in for Google's OAuth 2.0 endpoints and Calendar API v3, following their documented
//! wire formats, for MetaClaw's calendar sign-in tests.
//!
//! | endpoint | behaviour |
//! |---|---|
//! | `GET /o/oauth2/v2/auth` | the consent screen, already agreed: `302` to `redirect_uri?code=…&state=…` (or `error=access_denied` when [`GoogleOptions::deny`]) |
//! | `POST /token` | `authorization_code` (the `code_verifier` must match the S256 `code_challenge`, else `invalid_grant`; a code works once) and `refresh_token` (revoked → `invalid_grant`) |
//! | `POST /revoke` | `token=…` revokes a refresh token (and its access tokens) or an access token; unknown → `400 invalid_token` |
//! | `POST /standin/revoke-all` | test control: every grant revoked, as [`GoogleStandin::revoke_all`] |
//! | `GET /calendar/v3/users/me/calendarList[/primary]` | two pages (`nextPageToken`): the primary, a secondary owned one, holidays, a colleague's |
//! | `GET /calendar/v3/calendars/{id}/events` | `singleEvents=true` required; `timeMin`/`timeMax` filter; 4 items a page |
//!
//! API calls need `Authorization: Bearer <access token>` that has not expired or been revoked
//! ([`GoogleStandin::expire_access_tokens`] expires every one, as time would). JSON answers are
//! sent in several writes with pauses, like a real server's chunked bodies.
//!
//! The primary calendar's week (Monday 00:00 UTC [`GoogleOptions::week`], by default the Monday
//! after today, so the events are always inside the window MetaClaw caches; see
//! [`expected_busy_utc`]) holds a daily 09:00 Berlin standup expanded by the server (Wednesday's
//! moved to 10:00; written with Berlin's offset of that day, summer time included), a meeting
//! at UTC−05:00, a declined lunch, a tentative planning, a free block, an all-day free offsite,
//! an all-day out-of-office, a working location, a cancelled sync and focus time.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use base64::Engine as _;
use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};

/// The address the stand-in signs in.
pub const ACCOUNT: &str = "ada@example.com";
/// Items per page of the events listing.
const EVENTS_PAGE: usize = 4;

/// Options for [`spawn`].
#[derive(Debug, Clone)]
pub struct GoogleOptions {
    pub client_id: String,
    /// Google desktop clients send one; checked when set.
    pub client_secret: Option<String>,
    /// `expires_in` of access tokens, in seconds.
    pub expires_in: u64,
    /// The user refuses consent.
    pub deny: bool,
    /// Monday 00:00 UTC (seconds since the epoch) of the week the events are in.
    pub week: i64,
}

impl Default for GoogleOptions {
    fn default() -> Self {
        Self {
            client_id: "standin-client".into(),
            client_secret: Some("standin-secret".into()),
            expires_in: 3600,
            deny: false,
            week: next_week(),
        }
    }
}

/// One request as received (method, path with query, headers, body).
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub uri: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
    /// The form body or query as pairs.
    pub fn form(&self) -> HashMap<String, String> {
        form(&self.body)
    }
}

/// The authorization server shared by the Google and Microsoft stand-ins: codes with their
/// PKCE challenge, refresh tokens, access tokens.
#[derive(Default)]
pub(crate) struct Grants {
    counter: u64,
    /// code → (client_id, redirect_uri, challenge)
    codes: HashMap<String, (String, String, String)>,
    /// refresh token → revoked
    refresh: HashMap<String, bool>,
    /// access token → (live, refresh token it came from)
    access: HashMap<String, (bool, Option<String>)>,
    pub(crate) revoked: Vec<String>,
}

impl Grants {
    fn next(&mut self, prefix: &str) -> String {
        self.counter += 1;
        format!("{prefix}-{}-{:x}", self.counter, fnv(&format!("{prefix}{}", self.counter)))
    }
    pub(crate) fn code(&mut self, client_id: &str, redirect_uri: &str, challenge: &str) -> String {
        let code = self.next("code");
        self.codes.insert(code.clone(), (client_id.into(), redirect_uri.into(), challenge.into()));
        code
    }
    /// An access token (and a refresh token when `with_refresh`).
    pub(crate) fn issue(&mut self, from: Option<String>, with_refresh: bool) -> (String, Option<String>) {
        let refresh = with_refresh.then(|| self.next("refresh"));
        if let Some(r) = &refresh {
            self.refresh.insert(r.clone(), false);
        }
        let access = self.next("access");
        self.access.insert(access.clone(), (true, refresh.clone().or(from)));
        (access, refresh)
    }
    /// Redeems a code: single use, same client and redirect, the verifier's S256 must match.
    pub(crate) fn redeem(
        &mut self,
        code: &str,
        client_id: &str,
        redirect_uri: &str,
        verifier: &str,
    ) -> Result<(), &'static str> {
        let Some((cid, uri, challenge)) = self.codes.remove(code) else { return Err("Malformed auth code.") };
        if cid != client_id {
            return Err("The code was issued to another client.");
        }
        if uri != redirect_uri {
            return Err("redirect_uri does not match the authorization request.");
        }
        if !(43..=128).contains(&verifier.len()) || s256(verifier) != challenge {
            return Err("Invalid code verifier.");
        }
        Ok(())
    }
    pub(crate) fn refresh_ok(&self, token: &str) -> bool {
        self.refresh.get(token) == Some(&false)
    }
    pub(crate) fn access_ok(&self, token: &str) -> bool {
        matches!(self.access.get(token), Some((true, _)))
    }
    /// Revokes a refresh token (with its access tokens) or an access token.
    pub(crate) fn revoke(&mut self, token: &str) -> bool {
        self.revoked.push(token.to_string());
        if let Some(r) = self.refresh.get_mut(token) {
            *r = true;
            for (live, from) in self.access.values_mut() {
                if from.as_deref() == Some(token) {
                    *live = false;
                }
            }
            return true;
        }
        match self.access.get_mut(token) {
            Some((live, _)) => {
                *live = false;
                true
            }
            None => false,
        }
    }
    pub(crate) fn revoke_all(&mut self) {
        self.refresh.values_mut().for_each(|r| *r = true);
        self.expire_all();
    }
    pub(crate) fn expire_all(&mut self) {
        self.access.values_mut().for_each(|(live, _)| *live = false);
    }
}

pub(crate) fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf29ce484222325u64, |h, b| (h ^ b as u64).wrapping_mul(0x100000001b3))
}

/// base64url(SHA-256(verifier)), RFC 7636.
pub(crate) fn s256(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// Pairs of an `application/x-www-form-urlencoded` text (a form body or a query).
pub(crate) fn form(text: &str) -> HashMap<String, String> {
    let decode = |s: &str| {
        let s = s.replace('+', " ");
        let b = s.as_bytes();
        let mut out = Vec::with_capacity(b.len());
        let mut i = 0;
        while i < b.len() {
            let hex = |c: u8| (c as char).to_digit(16);
            if b[i] == b'%' && i + 2 < b.len() {
                if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                    out.push((h * 16 + l) as u8);
                    i += 3;
                    continue;
                }
            }
            out.push(b[i]);
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    };
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

/// Percent-encodes a query value.
pub(crate) fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A JSON answer sent in three writes with short pauses, as a real server's chunked body.
pub(crate) fn split_json(status: u16, v: &Value) -> Response {
    let text = serde_json::to_vec(v).unwrap_or_default();
    let cut = [text.len() / 3, 2 * text.len() / 3];
    let parts = vec![
        Bytes::copy_from_slice(&text[..cut[0]]),
        Bytes::copy_from_slice(&text[cut[0]..cut[1]]),
        Bytes::copy_from_slice(&text[cut[1]..]),
    ];
    let body = futures_util::stream::unfold(parts.into_iter().enumerate(), |mut it| async move {
        let (i, chunk) = it.next()?;
        if i > 0 {
            tokio::time::sleep(Duration::from_millis(3)).await;
        }
        Some((Ok::<_, std::io::Error>(chunk), it))
    });
    Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::OK))
        .header("content-type", "application/json; charset=UTF-8")
        .body(Body::from_stream(body))
        .unwrap()
}

/// A `302` to `location`.
pub(crate) fn redirect(location: &str) -> Response {
    Response::builder().status(StatusCode::FOUND).header("location", location).body(Body::empty()).unwrap()
}

/// `redirect_uri` with query pairs added (`?` or `&`; a bare origin gets its `/`).
pub(crate) fn with_query(redirect_uri: &str, pairs: &[(&str, &str)]) -> String {
    let mut base = redirect_uri.to_string();
    if base.matches('/').count() == 2 {
        base.push('/');
    }
    let q: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={}", enc(v))).collect();
    format!("{base}{}{}", if base.contains('?') { '&' } else { '?' }, q.join("&"))
}

pub(crate) fn bearer(headers: &HeaderMap) -> Option<String> {
    headers.get("authorization")?.to_str().ok()?.strip_prefix("Bearer ").map(str::to_string)
}

#[derive(Clone)]
struct Shared {
    opts: Arc<GoogleOptions>,
    grants: Arc<Mutex<Grants>>,
    seen: Arc<Mutex<Vec<Seen>>>,
}

/// A running Google stand-in.
pub struct GoogleStandin {
    pub addr: SocketAddr,
    shared: Shared,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for GoogleStandin {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl GoogleStandin {
    /// Monday 00:00 UTC (seconds since the epoch) of the week the events are in.
    pub fn week(&self) -> i64 {
        self.shared.opts.week
    }
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }
    pub fn auth_url(&self) -> String {
        format!("{}/o/oauth2/v2/auth", self.base_url())
    }
    pub fn token_url(&self) -> String {
        format!("{}/token", self.base_url())
    }
    pub fn revoke_url(&self) -> String {
        format!("{}/revoke", self.base_url())
    }
    pub fn api_url(&self) -> String {
        format!("{}/calendar/v3", self.base_url())
    }
    /// Every request so far.
    pub fn requests(&self) -> Vec<Seen> {
        self.shared.seen.lock().unwrap().clone()
    }
    /// Tokens sent to `/revoke`, in order.
    pub fn revoked(&self) -> Vec<String> {
        self.shared.grants.lock().unwrap().revoked.clone()
    }
    /// Every access token issued so far stops working (they expired).
    pub fn expire_access_tokens(&self) {
        self.shared.grants.lock().unwrap().expire_all();
    }
    /// The user removed the app's access in their account settings.
    pub fn revoke_all(&self) {
        self.shared.grants.lock().unwrap().revoke_all();
    }
}

/// Starts a Google stand-in on 127.0.0.1 (a free port).
pub async fn spawn(opts: GoogleOptions) -> std::io::Result<GoogleStandin> {
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    let addr = listener.local_addr()?;
    let shared = Shared { opts: Arc::new(opts), grants: Default::default(), seen: Default::default() };
    let app = Router::new().fallback(dispatch).with_state(shared.clone());
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(GoogleStandin { addr, shared, task })
}

fn oauth_error(status: u16, error: &str, description: &str) -> Response {
    split_json(status, &json!({"error": error, "error_description": description}))
}

/// Google's API error body.
fn api_error(status: u16, message: &str) -> Response {
    let reason = match status {
        401 => "authError",
        404 => "notFound",
        _ => "badRequest",
    };
    split_json(
        status,
        &json!({"error": {"code": status, "message": message, "errors": [{"domain": "global", "reason": reason, "message": message}]}}),
    )
}

async fn dispatch(State(s): State<Shared>, req: Request) -> Response {
    let method = req.method().to_string();
    let uri: Uri = req.uri().clone();
    let headers = req.headers().clone();
    let body = axum::body::to_bytes(req.into_body(), 1 << 20).await.unwrap_or_default();
    let body = String::from_utf8_lossy(&body).into_owned();
    s.seen.lock().unwrap().push(Seen {
        method: method.clone(),
        uri: uri.to_string(),
        headers: headers.iter().map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string())).collect(),
        body: body.clone(),
    });
    let query = form(uri.query().unwrap_or(""));
    let path = uri.path();
    match (method.as_str(), path) {
        ("GET", "/o/oauth2/v2/auth") => authorize(&s, &query),
        ("POST", "/token") => token(&s, &headers, &form(&body)),
        ("POST", "/revoke") => {
            let f = form(&body);
            let token = f.get("token").or(query.get("token")).cloned().unwrap_or_default();
            if s.grants.lock().unwrap().revoke(&token) {
                split_json(200, &json!({}))
            } else {
                oauth_error(400, "invalid_token", "Token expired or revoked")
            }
        }
        // For tests that run the stand-in as a process (the browser tests): the user removes the
        // app's access in their account settings, as `GoogleStandin::revoke_all`.
        ("POST", "/standin/revoke-all") => {
            s.grants.lock().unwrap().revoke_all();
            split_json(200, &json!({}))
        }
        ("GET", p) if p.starts_with("/calendar/v3/") => {
            match bearer(&headers) {
                Some(t) if s.grants.lock().unwrap().access_ok(&t) => {}
                _ => return api_error(401, "Request had invalid authentication credentials."),
            }
            api(&p["/calendar/v3".len()..], &query, s.opts.week)
        }
        _ => api_error(404, "Not Found"),
    }
}

fn authorize(s: &Shared, q: &HashMap<String, String>) -> Response {
    let get = |k: &str| q.get(k).map(String::as_str).unwrap_or("");
    if get("client_id") != s.opts.client_id {
        return (StatusCode::BAD_REQUEST, "Error 401: invalid_client").into_response();
    }
    let redirect_uri = get("redirect_uri");
    if !(redirect_uri.starts_with("http://127.0.0.1:") || redirect_uri.starts_with("http://[::1]:")) {
        return (StatusCode::BAD_REQUEST, "Error 400: redirect_uri_mismatch").into_response();
    }
    if get("response_type") != "code" || get("code_challenge_method") != "S256" || get("code_challenge").len() != 43 {
        return (StatusCode::BAD_REQUEST, "Error 400: invalid_request").into_response();
    }
    if !get("scope").split(' ').any(|sc| sc == "https://www.googleapis.com/auth/calendar.readonly") {
        return (StatusCode::BAD_REQUEST, "Error 400: invalid_scope").into_response();
    }
    let state = get("state");
    if s.opts.deny {
        return redirect(&with_query(redirect_uri, &[("error", "access_denied"), ("state", state)]));
    }
    let offline = get("access_type") == "offline";
    let code = s.grants.lock().unwrap().code(&s.opts.client_id, redirect_uri, get("code_challenge"));
    // Remember whether a refresh token was asked for, in the code itself.
    let code = if offline { format!("{code}.offline") } else { code };
    redirect(&with_query(redirect_uri, &[("state", state), ("code", &code), ("scope", get("scope"))]))
}

fn token(s: &Shared, headers: &HeaderMap, f: &HashMap<String, String>) -> Response {
    let get = |k: &str| f.get(k).map(String::as_str).unwrap_or("");
    if !headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"))
    {
        return oauth_error(400, "invalid_request", "Invalid content type.");
    }
    if get("client_id") != s.opts.client_id {
        return oauth_error(401, "invalid_client", "The OAuth client was not found.");
    }
    if let Some(secret) = &s.opts.client_secret {
        if get("client_secret") != secret {
            return oauth_error(401, "invalid_client", "Unauthorized");
        }
    }
    let mut g = s.grants.lock().unwrap();
    match get("grant_type") {
        "authorization_code" => {
            let raw = get("code");
            let (code, offline) = match raw.strip_suffix(".offline") {
                Some(c) => (c, true),
                None => (raw, false),
            };
            if let Err(why) = g.redeem(code, get("client_id"), get("redirect_uri"), get("code_verifier")) {
                return oauth_error(400, "invalid_grant", why);
            }
            let (access, refresh) = g.issue(None, offline);
            let mut v = json!({"access_token": access, "expires_in": s.opts.expires_in, "token_type": "Bearer",
                               "scope": "https://www.googleapis.com/auth/calendar.readonly"});
            if let Some(r) = refresh {
                v["refresh_token"] = json!(r);
            }
            split_json(200, &v)
        }
        "refresh_token" => {
            let r = get("refresh_token");
            if !g.refresh_ok(r) {
                return oauth_error(400, "invalid_grant", "Token has been expired or revoked.");
            }
            let (access, _) = g.issue(Some(r.to_string()), false);
            split_json(
                200,
                &json!({"access_token": access, "expires_in": s.opts.expires_in, "token_type": "Bearer",
                        "scope": "https://www.googleapis.com/auth/calendar.readonly"}),
            )
        }
        _ => oauth_error(400, "unsupported_grant_type", "Invalid grant_type."),
    }
}

/// Percent-decodes one path segment.
fn segment(s: &str) -> String {
    form(&format!("x={}", s.replace('+', "%2B"))).remove("x").unwrap_or_default()
}

fn calendar_list() -> Vec<Value> {
    vec![
        json!({"kind": "calendar#calendarListEntry", "id": ACCOUNT, "summary": ACCOUNT, "timeZone": "Europe/Berlin",
               "backgroundColor": "#9FE1E7", "foregroundColor": "#000000", "accessRole": "owner", "primary": true, "selected": true}),
        json!({"kind": "calendar#calendarListEntry", "id": "c_0a1b2c3d@group.calendar.google.com", "summary": "Side project",
               "backgroundColor": "#F83A22", "accessRole": "owner"}),
        json!({"kind": "calendar#calendarListEntry", "id": "en.usa#holiday@group.v.calendar.google.com",
               "summary": "Holidays in United States", "backgroundColor": "#16A765", "accessRole": "reader"}),
        json!({"kind": "calendar#calendarListEntry", "id": "grace@example.com", "summary": "Grace Hopper",
               "summaryOverride": "Grace", "backgroundColor": "#7BD148", "accessRole": "reader"}),
    ]
}

fn timed(id: &str, summary: &str, start: &str, end: &str) -> Value {
    json!({"kind": "calendar#event", "id": id, "status": "confirmed", "summary": summary,
           "start": {"dateTime": start}, "end": {"dateTime": end}})
}

fn all_day(id: &str, summary: &str, date: &str, next: &str) -> Value {
    json!({"kind": "calendar#event", "id": id, "status": "confirmed", "summary": summary,
           "start": {"date": date}, "end": {"date": next}})
}

fn attending(mut v: Value, response: &str) -> Value {
    v["attendees"] = json!([
        {"email": "boss@example.com", "organizer": true, "responseStatus": "accepted"},
        {"email": ACCOUNT, "self": true, "responseStatus": response}
    ]);
    v
}

/// Monday 00:00 UTC after today (UTC; a Monday gives the next one), in seconds since the epoch:
/// the stand-ins' default week, always 1 to 7 days ahead, so its events fall inside the window
/// MetaClaw caches (1 day back to 21 days ahead) whatever the date the tests run on.
pub fn next_week() -> i64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
    week_after(now)
}

/// Monday 00:00 UTC after the day of `now` (seconds since the epoch).
pub fn week_after(now: i64) -> i64 {
    let today = now.div_euclid(86400);
    // 1970-01-01 was a Thursday: (days + 3) % 7 is 0 on Mondays.
    (today + 7 - (today + 3).rem_euclid(7)) * 86400
}

/// `YYYY-MM-DD` of a day (days since the epoch).
pub(crate) fn date(days: i64) -> String {
    let (y, m, d) = civil(days);
    format!("{y:04}-{m:02}-{d:02}")
}

/// RFC 3339 of `secs` written at `offset` seconds east of UTC (`Z` for 0).
pub(crate) fn rfc3339_at(secs: i64, offset: i64) -> String {
    let local = secs + offset;
    let rem = local.rem_euclid(86400);
    let zone = match offset {
        0 => "Z".to_string(),
        o => format!("{}{:02}:{:02}", if o < 0 { '-' } else { '+' }, o.abs() / 3600, o.abs() % 3600 / 60),
    };
    format!("{}T{:02}:{:02}:{:02}{zone}", date(local.div_euclid(86400)), rem / 3600, rem % 3600 / 60, rem % 60)
}

/// Civil date of a day (Howard Hinnant's algorithm).
pub(crate) fn civil(days: i64) -> (i64, i64, i64) {
    let z = days + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Berlin's offset from UTC in seconds on a weekday (days since the epoch): summer time from
/// the last Sunday of March to the last Sunday of October (the EU rule). Weekdays only, so the
/// hour of the switch never matters.
pub fn berlin_offset(days: i64) -> i64 {
    let (y, _, _) = civil(days);
    let last_sunday = |month: i64| {
        let end = rfc3339_secs(&format!("{y:04}-{:02}-01T00:00:00Z", month + 1)).unwrap_or(0) / 86400 - 1;
        end - (end + 4).rem_euclid(7)
    };
    if days > last_sunday(3) && days < last_sunday(10) {
        7200
    } else {
        3600
    }
}

/// The primary calendar's occurrences in the week of `week` (Monday 00:00 UTC), recurrences
/// already expanded.
pub fn primary_events(week: i64) -> Vec<Value> {
    let day0 = week.div_euclid(86400);
    // An instant `d` days and `h`:`m` UTC into the week.
    let at = |d: i64, h: i64, m: i64| rfc3339_at(week + d * 86400 + h * 3600 + m * 60, 0);
    let day = |d: i64| date(day0 + d);
    let mut out = Vec::new();
    for (d, hour) in [(0, 9), (1, 9), (2, 10), (3, 9), (4, 9)] {
        let off = berlin_offset(day0 + d);
        let local = |h: i64, m: i64| rfc3339_at(week + d * 86400 + h * 3600 + m * 60 - off, off);
        let mut e = timed(
            &format!("standup_{}T{:02}0000Z", day(d).replace('-', ""), 9 - off / 3600),
            "Standup",
            &local(hour, 0),
            &local(hour, 15),
        );
        e["recurringEventId"] = json!("standup");
        e["originalStartTime"] = json!({"dateTime": local(9, 0), "timeZone": "Europe/Berlin"});
        e["start"]["timeZone"] = json!("Europe/Berlin");
        out.push(e);
    }
    let ny = -5 * 3600;
    let review = |h: i64| rfc3339_at(week + 19 * 3600 + h * 3600, ny);
    out.push(attending(timed("review", "Design review", &review(0), &review(1)), "accepted"));
    out.push(attending(timed("lunch", "Lunch with Bob", &at(1, 12, 0), &at(1, 13, 0)), "declined"));
    out.push(attending(timed("planning", "Planning (maybe)", &at(1, 15, 0), &at(1, 16, 0)), "tentative"));
    let mut free = timed("free", "Reading time", &at(2, 13, 0), &at(2, 14, 0));
    free["transparency"] = json!("transparent");
    out.push(free);
    let mut offsite = all_day("offsite", "Offsite", &day(3), &day(4));
    offsite["transparency"] = json!("transparent");
    out.push(offsite);
    let mut vacation = all_day("vacation", "Vacation", &day(4), &day(5));
    vacation["eventType"] = json!("outOfOffice");
    out.push(vacation);
    let mut office = all_day("office", "Office", &day(0), &day(1));
    office["eventType"] = json!("workingLocation");
    office["transparency"] = json!("transparent");
    out.push(office);
    let mut cancelled = timed("sync", "Sync", &at(3, 10, 0), &at(3, 11, 0));
    cancelled["status"] = json!("cancelled");
    out.push(cancelled);
    let mut focus = timed("focus", "Focus time", &at(3, 14, 0), &at(3, 16, 0));
    focus["eventType"] = json!("focusTime");
    out.push(focus);
    out.push(timed("sunday", "Next week", &at(6, 10, 0), &at(6, 11, 0)));
    out
}

/// What MetaClaw should count busy in the primary calendar from Monday to Saturday 00:00 UTC of
/// `week`, tentative counting, all-day dates read in UTC: (start, end) as RFC 3339 UTC, in order.
pub fn expected_busy_utc(week: i64) -> Vec<(String, String)> {
    let day0 = week.div_euclid(86400);
    let span = |d: i64, h: i64, m: i64, minutes: i64| {
        let s = week + d * 86400 + h * 3600 + m * 60;
        (rfc3339_at(s, 0), rfc3339_at(s + minutes * 60, 0))
    };
    // The standup at `hour` Berlin time on day `d`, in UTC.
    let standup = |d: i64, hour: i64| {
        let s = week + d * 86400 + hour * 3600 - berlin_offset(day0 + d);
        (rfc3339_at(s, 0), rfc3339_at(s + 15 * 60, 0))
    };
    let mut out = vec![
        standup(0, 9),
        span(0, 19, 0, 60),
        standup(1, 9),
        span(1, 15, 0, 60),
        standup(2, 10),
        standup(3, 9),
        span(3, 14, 0, 120),
        span(4, 0, 0, 24 * 60),
        standup(4, 9),
    ];
    out.sort();
    out
}

/// Seconds since the epoch of an RFC 3339 time or a date (midnight UTC), for filtering.
fn instant(v: &Value) -> Option<i64> {
    if let Some(dt) = v["dateTime"].as_str() {
        return rfc3339_secs(dt);
    }
    rfc3339_secs(&format!("{}T00:00:00Z", v["date"].as_str()?))
}

/// A small RFC 3339 reader (`YYYY-MM-DDTHH:MM:SS` + `Z` or `±HH:MM`), enough for the fixtures
/// and MetaClaw's `timeMin`/`timeMax`.
pub(crate) fn rfc3339_secs(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 19 {
        return None;
    }
    let n = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, mo, d, h, mi, sec) = (n(0..4)?, n(5..7)?, n(8..10)?, n(11..13)?, n(14..16)?, n(17..19)?);
    let mut rest = &s[19..];
    if let Some(r) = rest.strip_prefix('.') {
        rest = r.trim_start_matches(|c: char| c.is_ascii_digit());
    }
    let offset = match rest {
        "" | "Z" | "z" => 0,
        o if o.len() == 6 => {
            let sign = if o.starts_with('-') { -1 } else { 1 };
            sign * (o.get(1..3)?.parse::<i64>().ok()? * 3600 + o.get(4..6)?.parse::<i64>().ok()? * 60)
        }
        _ => return None,
    };
    // Days from civil (Howard Hinnant's algorithm).
    let y2 = if mo <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146097 + doe - 719468;
    Some(days * 86400 + h * 3600 + mi * 60 + sec - offset)
}

fn api(path: &str, q: &HashMap<String, String>, week: i64) -> Response {
    let page_of = |items: Vec<Value>, size: usize, kind: &str| {
        let start: usize =
            q.get("pageToken").and_then(|t| t.strip_prefix("p")).and_then(|n| n.parse().ok()).unwrap_or(0);
        let page: Vec<Value> = items.iter().skip(start).take(size).cloned().collect();
        let mut v = json!({"kind": kind, "etag": "\"p1\"", "items": page});
        if start + size < items.len() {
            v["nextPageToken"] = json!(format!("p{}", start + size));
        }
        split_json(200, &v)
    };
    if path == "/users/me/calendarList/primary" {
        return split_json(200, &calendar_list()[0]);
    }
    if path == "/users/me/calendarList" {
        return page_of(calendar_list(), 2, "calendar#calendarList");
    }
    let Some(rest) = path.strip_prefix("/calendars/").and_then(|r| r.strip_suffix("/events")) else {
        return api_error(404, "Not Found");
    };
    let id = segment(rest);
    if q.get("singleEvents").map(String::as_str) != Some("true") {
        return api_error(400, "this stand-in only lists expanded occurrences (singleEvents=true)");
    }
    let (Some(min), Some(max)) =
        (q.get("timeMin").and_then(|t| rfc3339_secs(t)), q.get("timeMax").and_then(|t| rfc3339_secs(t)))
    else {
        return api_error(400, "Bad Request: timeMin and timeMax are required RFC 3339 times");
    };
    let events = match id.as_str() {
        ACCOUNT => primary_events(week),
        "c_0a1b2c3d@group.calendar.google.com" | "en.usa#holiday@group.v.calendar.google.com" | "grace@example.com" => {
            Vec::new()
        }
        _ => return api_error(404, "Not Found"),
    };
    // Google's filter: the end after timeMin, the start before timeMax.
    let inside: Vec<Value> = events
        .into_iter()
        .filter(|e| instant(&e["end"]).is_some_and(|end| end > min) && instant(&e["start"]).is_some_and(|st| st < max))
        .collect();
    page_of(inside, EVENTS_PAGE, "calendar#events")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_reader_matches_known_instants() {
        assert_eq!(rfc3339_secs("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(rfc3339_secs("2026-12-07T09:00:00+01:00"), Some(1_796_601_600 + 8 * 3600));
        assert_eq!(rfc3339_secs("2026-12-07T00:00:00.0000000"), Some(1_796_601_600));
        assert_eq!(s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
        assert_eq!(form("a=1+2&b=%41%zz&c")["a"], "1 2");
        assert_eq!(form("b=%41%zz")["b"], "A%zz");
    }

    #[test]
    fn the_week_is_the_monday_after_today_and_berlin_keeps_summer_time() {
        let monday = 1_796_601_600; // 2026-12-07T00:00:00Z
        assert_eq!(week_after(monday - 1), monday, "Sunday 23:59:59");
        assert_eq!(week_after(monday - 6 * 86400), monday, "Tuesday");
        assert_eq!(week_after(monday), monday + 7 * 86400, "a Monday gives the next one");
        assert_eq!(rfc3339_at(monday + 8 * 3600, 3600), "2026-12-07T09:00:00+01:00");
        assert_eq!(rfc3339_at(monday - 3600, -5 * 3600), "2026-12-06T18:00:00-05:00");
        let day = |s: &str| rfc3339_secs(&format!("{s}T00:00:00Z")).unwrap() / 86400;
        assert_eq!(berlin_offset(day("2026-12-07")), 3600);
        assert_eq!(berlin_offset(day("2026-03-27")), 3600, "Friday before the switch (Sunday 29th)");
        assert_eq!(berlin_offset(day("2026-03-30")), 7200);
        assert_eq!(berlin_offset(day("2026-10-23")), 7200, "Friday before the switch (Sunday 25th)");
        assert_eq!(berlin_offset(day("2026-10-26")), 3600);
        // Every fixture time reads back as the instant it was written for.
        for e in primary_events(week_after(day("2031-06-18") * 86400)) {
            assert!(instant(&e["start"]).is_some() && instant(&e["end"]).is_some(), "{e}");
        }
        assert_eq!(expected_busy_utc(monday)[0], ("2026-12-07T08:00:00Z".into(), "2026-12-07T08:15:00Z".into()));
        let june = week_after(day("2031-06-18") * 86400);
        assert_eq!(date(june / 86400), "2031-06-23");
        assert_eq!(expected_busy_utc(june)[0], ("2031-06-23T07:00:00Z".into(), "2031-06-23T07:15:00Z".into()));
    }
}
