//! A stand-in for the Microsoft identity platform v2 (authorize and token endpoints under
//! `/{tenant}/oauth2/v2.0/`) and Microsoft Graph v1.0 (`/v1.0/me`, `/me/calendars`,
//! `/me/calendars/{id}/calendarView`), following their documented wire formats, for MetaClaw's
//! calendar sign-in tests.
//!
//! | endpoint | behaviour |
//! |---|---|
//! | `GET /{tenant}/oauth2/v2.0/authorize` | consent already given: `302` to `redirect_uri?code=…&state=…` (or `error=access_denied`) |
//! | `POST /{tenant}/oauth2/v2.0/token` | a public client (no secret): `authorization_code` with `code_verifier` checked against the S256 challenge, `refresh_token` (needs `scope`; answers a new refresh token, as Microsoft does; a revoked one → `invalid_grant` `AADSTS70008`) |
//! | `GET /v1.0/me` | `mail` null, `userPrincipalName` set (MetaClaw must fall back) |
//! | `GET /v1.0/me/calendars` | two pages (`@odata.nextLink`): the default calendar, holidays, birthdays, a colleague's shared one |
//! | `GET /v1.0/me/calendars/{id}/calendarView` | `startDateTime`/`endDateTime` required; 4 items a page; times in UTC with `Prefer: outlook.timezone="UTC"`, otherwise in "Pacific Standard Time" |
//!
//! There is no revocation endpoint (Microsoft has none for one grant);
//! [`MicrosoftStandin::revoke_all`] plays the user removing the app's consent.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::{json, Value};

use crate::google::{bearer, date, form, redirect, rfc3339_at, rfc3339_secs, split_json, with_query, Grants, Seen};

/// The signed-in user's principal name (their `mail` is null).
pub const ACCOUNT: &str = "grace@contoso.example";
pub const DEFAULT_CALENDAR: &str = "AAMkADdefault=";
const VIEW_PAGE: usize = 4;

/// Options for [`spawn`].
#[derive(Debug, Clone)]
pub struct MicrosoftOptions {
    pub client_id: String,
    pub expires_in: u64,
    pub deny: bool,
    /// Monday 00:00 UTC (seconds since the epoch) of the week the events are in; by default the
    /// Monday after today ([`crate::google::next_week`]).
    pub week: i64,
}

impl Default for MicrosoftOptions {
    fn default() -> Self {
        Self { client_id: "standin-ms-client".into(), expires_in: 3600, deny: false, week: crate::google::next_week() }
    }
}

#[derive(Clone)]
struct Shared {
    opts: Arc<MicrosoftOptions>,
    grants: Arc<Mutex<Grants>>,
    seen: Arc<Mutex<Vec<Seen>>>,
    addr: SocketAddr,
}

/// A running Microsoft stand-in.
pub struct MicrosoftStandin {
    pub addr: SocketAddr,
    shared: Shared,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for MicrosoftStandin {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl MicrosoftStandin {
    /// Monday 00:00 UTC (seconds since the epoch) of the week the events are in.
    pub fn week(&self) -> i64 {
        self.shared.opts.week
    }
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }
    pub fn auth_url(&self) -> String {
        format!("{}/common/oauth2/v2.0/authorize", self.base_url())
    }
    pub fn token_url(&self) -> String {
        format!("{}/common/oauth2/v2.0/token", self.base_url())
    }
    pub fn api_url(&self) -> String {
        format!("{}/v1.0", self.base_url())
    }
    pub fn requests(&self) -> Vec<Seen> {
        self.shared.seen.lock().unwrap().clone()
    }
    pub fn expire_access_tokens(&self) {
        self.shared.grants.lock().unwrap().expire_all();
    }
    /// The user removed the app's consent: every refresh and access token stops working.
    pub fn revoke_all(&self) {
        self.shared.grants.lock().unwrap().revoke_all();
    }
}

/// Starts a Microsoft stand-in on 127.0.0.1 (a free port).
pub async fn spawn(opts: MicrosoftOptions) -> std::io::Result<MicrosoftStandin> {
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    let addr = listener.local_addr()?;
    let shared = Shared { opts: Arc::new(opts), grants: Default::default(), seen: Default::default(), addr };
    let app = Router::new().fallback(dispatch).with_state(shared.clone());
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(MicrosoftStandin { addr, shared, task })
}

fn oauth_error(status: u16, error: &str, description: &str, codes: &[u32]) -> Response {
    split_json(
        status,
        &json!({"error": error, "error_description": description, "error_codes": codes,
                "timestamp": "2026-12-06 10:00:00Z", "trace_id": "00000000-0000-0000-0000-000000000000"}),
    )
}

fn graph_error(status: u16, code: &str, message: &str) -> Response {
    split_json(status, &json!({"error": {"code": code, "message": message}}))
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
    let mut parts = path.trim_start_matches('/').splitn(2, '/');
    let (first, rest) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    match (method.as_str(), rest) {
        ("GET", "oauth2/v2.0/authorize") if !first.is_empty() => authorize(&s, &query),
        ("POST", "oauth2/v2.0/token") if !first.is_empty() => token(&s, &headers, &form(&body)),
        ("GET", _) if first == "v1.0" => {
            match bearer(&headers) {
                Some(t) if s.grants.lock().unwrap().access_ok(&t) => {}
                _ => {
                    return graph_error(
                        401,
                        "InvalidAuthenticationToken",
                        "Access token has expired or is not yet valid.",
                    )
                }
            }
            graph(&s, &format!("/{rest}"), &query, &headers)
        }
        _ => graph_error(404, "UnknownError", "Not Found"),
    }
}

fn authorize(s: &Shared, q: &HashMap<String, String>) -> Response {
    let get = |k: &str| q.get(k).map(String::as_str).unwrap_or("");
    if get("client_id") != s.opts.client_id {
        return (StatusCode::BAD_REQUEST, "AADSTS700016: Application not found in the directory").into_response();
    }
    let redirect_uri = get("redirect_uri");
    if !redirect_uri.starts_with("http://127.0.0.1:") && !redirect_uri.starts_with("http://localhost:") {
        return (StatusCode::BAD_REQUEST, "AADSTS50011: The redirect URI does not match").into_response();
    }
    let scopes: Vec<&str> = get("scope").split(' ').collect();
    if get("response_type") != "code"
        || get("code_challenge_method") != "S256"
        || get("code_challenge").len() != 43
        || !scopes.contains(&"Calendars.Read")
        || !scopes.contains(&"offline_access")
    {
        return (StatusCode::BAD_REQUEST, "AADSTS900144: invalid request").into_response();
    }
    let state = get("state");
    if s.opts.deny {
        return redirect(&with_query(
            redirect_uri,
            &[
                ("error", "access_denied"),
                ("error_description", "AADSTS65004: User declined to consent"),
                ("state", state),
            ],
        ));
    }
    let code = s.grants.lock().unwrap().code(&s.opts.client_id, redirect_uri, get("code_challenge"));
    redirect(&with_query(redirect_uri, &[("code", &code), ("state", state), ("session_state", "standin")]))
}

fn token(s: &Shared, headers: &HeaderMap, f: &HashMap<String, String>) -> Response {
    let get = |k: &str| f.get(k).map(String::as_str).unwrap_or("");
    if !headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"))
    {
        return oauth_error(400, "invalid_request", "AADSTS900144: The request body must contain a form.", &[900144]);
    }
    if get("client_id") != s.opts.client_id {
        return oauth_error(400, "unauthorized_client", "AADSTS700016: Application not found.", &[700016]);
    }
    if f.contains_key("client_secret") {
        return oauth_error(
            400,
            "invalid_request",
            "AADSTS700025: Client is public so neither 'client_assertion' nor 'client_secret' should be presented.",
            &[700025],
        );
    }
    let scope = "https://graph.microsoft.com/Calendars.Read https://graph.microsoft.com/User.Read";
    let mut g = s.grants.lock().unwrap();
    let (access, refresh) = match get("grant_type") {
        "authorization_code" => {
            if let Err(why) = g.redeem(get("code"), get("client_id"), get("redirect_uri"), get("code_verifier")) {
                let text = format!("AADSTS501481: The Code_Verifier does not match the code_challenge supplied in the authorization request. ({why})");
                return oauth_error(400, "invalid_grant", &text, &[501481]);
            }
            g.issue(None, true)
        }
        "refresh_token" => {
            if get("scope").is_empty() {
                return oauth_error(
                    400,
                    "invalid_request",
                    "AADSTS90014: The required field 'scope' is missing.",
                    &[90014],
                );
            }
            let r = get("refresh_token").to_string();
            if !g.refresh_ok(&r) {
                return oauth_error(
                    400,
                    "invalid_grant",
                    "AADSTS70008: The provided authorization code or refresh token has expired due to inactivity.",
                    &[70008],
                );
            }
            g.issue(Some(r), true)
        }
        _ => return oauth_error(400, "unsupported_grant_type", "AADSTS70003: unsupported grant type.", &[70003]),
    };
    split_json(
        200,
        &json!({"token_type": "Bearer", "scope": scope, "expires_in": s.opts.expires_in, "ext_expires_in": s.opts.expires_in,
                "access_token": access, "refresh_token": refresh}),
    )
}

fn calendars() -> Vec<Value> {
    let owner = json!({"name": "Grace Hopper", "address": ACCOUNT});
    vec![
        json!({"id": DEFAULT_CALENDAR, "name": "Calendar", "color": "auto", "hexColor": "#4A8CFF", "isDefaultCalendar": true,
               "canShare": true, "canViewPrivateItems": true, "canEdit": true, "owner": owner}),
        json!({"id": "AAMkADholidays=", "name": "United States holidays", "color": "lightGreen", "hexColor": "",
               "isDefaultCalendar": false, "canShare": false, "canEdit": false, "owner": owner}),
        json!({"id": "AAMkADbirthdays=", "name": "Birthdays", "color": "lightPink", "hexColor": "#FF8CC1",
               "isDefaultCalendar": false, "canShare": false, "canEdit": false, "owner": owner}),
        json!({"id": "AAMkADalan/shared=", "name": "Alan's calendar", "color": "lightBlue", "hexColor": "#5DB3EE",
               "isDefaultCalendar": false, "canShare": false, "canEdit": true,
               "owner": {"name": "Alan Turing", "address": "alan@contoso.example"}}),
    ]
}

fn event(subject: &str, show_as: &str, response: &str, start: &str, end: &str) -> Value {
    json!({"id": format!("ev-{}", crate::google::fnv(&format!("{subject}{start}"))), "subject": subject,
           "showAs": show_as, "isAllDay": false, "isCancelled": false, "type": "singleInstance",
           "responseStatus": {"response": response, "time": "0001-01-01T00:00:00Z"},
           "start": {"dateTime": format!("{start}.0000000"), "timeZone": "UTC"},
           "end": {"dateTime": format!("{end}.0000000"), "timeZone": "UTC"}})
}

fn all_day(subject: &str, show_as: &str, date: &str, next: &str) -> Value {
    let mut e = event(subject, show_as, "organizer", &format!("{date}T00:00:00"), &format!("{next}T00:00:00"));
    e["isAllDay"] = json!(true);
    e
}

/// The default calendar's occurrences in the week of `week` (Monday 00:00 UTC), series expanded.
pub fn default_events(week: i64) -> Vec<Value> {
    // Graph's UTC `dateTime` without offset, `d` days and `h`:`m` into the week.
    let at = |d: i64, h: i64, m: i64| {
        let t = rfc3339_at(week + d * 86400 + h * 3600 + m * 60, 0);
        t.trim_end_matches('Z').to_string()
    };
    let day = |d: i64| date(week.div_euclid(86400) + d);
    let mut out = Vec::new();
    for (d, hour) in [(0, 16), (1, 17), (2, 16)] {
        let mut e = event("Weekly sync", "busy", "accepted", &at(d, hour, 0), &at(d, hour, 30));
        e["type"] = json!(if hour == 17 { "exception" } else { "occurrence" });
        e["seriesMasterId"] = json!("ev-weekly-sync");
        out.push(e);
    }
    out.push(event("Budget", "busy", "declined", &at(0, 10, 0), &at(0, 11, 0)));
    out.push(event("1:1", "tentative", "tentativelyAccepted", &at(1, 10, 0), &at(1, 10, 30)));
    out.push(event("Gym", "free", "organizer", &at(2, 12, 0), &at(2, 13, 0)));
    out.push(all_day("Vacation", "oof", &day(3), &day(4)));
    out.push(all_day("Remote day", "workingElsewhere", &day(4), &day(5)));
    let mut cancelled = event("Retro", "busy", "accepted", &at(4, 14, 0), &at(4, 15, 0));
    cancelled["isCancelled"] = json!(true);
    out.push(cancelled);
    out.push(all_day("Holiday", "free", &day(0), &day(1)));
    out.push(event("Review", "busy", "organizer", &at(4, 9, 0), &at(4, 10, 0)));
    out
}

/// What MetaClaw should count busy in the default calendar from Monday to Saturday 00:00 UTC of
/// `week`, tentative counting, all-day dates read in UTC: (start, end) as RFC 3339 UTC, in order.
pub fn expected_busy_utc(week: i64) -> Vec<(String, String)> {
    let span = |d: i64, h: i64, m: i64, minutes: i64| {
        let s = week + d * 86400 + h * 3600 + m * 60;
        (rfc3339_at(s, 0), rfc3339_at(s + minutes * 60, 0))
    };
    vec![
        span(0, 16, 0, 30),
        span(1, 10, 0, 30),
        span(1, 17, 0, 30),
        span(2, 16, 0, 30),
        span(3, 0, 0, 24 * 60),
        span(4, 9, 0, 60),
    ]
}

/// A UTC `dateTime` shown in "Pacific Standard Time", always at UTC−8: the stand-in keeps no summer
/// time (MetaClaw asks for UTC; only a test leaving that out sees this).
fn to_pacific(v: &mut Value) {
    if let Some(secs) = v["dateTime"].as_str().and_then(rfc3339_secs) {
        let local = rfc3339_at(secs, -8 * 3600);
        v["dateTime"] = json!(format!("{}.0000000", &local[..19]));
        v["timeZone"] = json!("Pacific Standard Time");
    }
}

fn graph(s: &Shared, path: &str, q: &HashMap<String, String>, headers: &HeaderMap) -> Response {
    let base = format!("http://{}/v1.0", s.addr);
    let page_of = |items: Vec<Value>, size: usize, link: &dyn Fn(usize) -> String| {
        let skip: usize = q.get("$skiptoken").and_then(|t| t.parse().ok()).unwrap_or(0);
        let page: Vec<Value> = items.iter().skip(skip).take(size).cloned().collect();
        let mut v = json!({"@odata.context": format!("{base}/$metadata#Collection"), "value": page});
        if skip + size < items.len() {
            v["@odata.nextLink"] = json!(link(skip + size));
        }
        split_json(200, &v)
    };
    if path == "/me" {
        return split_json(
            200,
            &json!({"@odata.context": format!("{base}/$metadata#users/$entity"), "displayName": "Grace Hopper",
                    "mail": null, "userPrincipalName": ACCOUNT, "id": "00000000-0000-0000-0000-00000000cafe"}),
        );
    }
    if path == "/me/calendars" {
        return page_of(calendars(), 2, &|n| format!("{base}/me/calendars?$top=2&$skiptoken={n}"));
    }
    let Some(id) = path.strip_prefix("/me/calendars/").and_then(|r| r.strip_suffix("/calendarView")) else {
        return graph_error(404, "ResourceNotFound", "Resource not found for the segment.");
    };
    let id = form(&format!("x={id}")).remove("x").unwrap_or_default();
    let (Some(start), Some(end)) = (q.get("startDateTime").cloned(), q.get("endDateTime").cloned()) else {
        return graph_error(400, "ErrorInvalidParameter", "This request requires a time window specified by the query string parameters StartDateTime and EndDateTime.");
    };
    let (Some(from), Some(to)) = (rfc3339_secs(&start), rfc3339_secs(&end)) else {
        return graph_error(
            400,
            "ErrorInvalidParameter",
            "The value of StartDateTime or EndDateTime is not a valid date.",
        );
    };
    let events = match id.as_str() {
        DEFAULT_CALENDAR => default_events(s.opts.week),
        "AAMkADholidays=" | "AAMkADbirthdays=" | "AAMkADalan/shared=" => Vec::new(),
        _ => return graph_error(404, "ErrorItemNotFound", "The specified object was not found in the store."),
    };
    let utc = headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.replace(' ', "").eq_ignore_ascii_case("outlook.timezone=\"UTC\""));
    let inside: Vec<Value> = events
        .into_iter()
        .filter(|e| {
            let at = |k: &str| e[k]["dateTime"].as_str().and_then(rfc3339_secs);
            at("end").is_some_and(|x| x > from) && at("start").is_some_and(|x| x < to)
        })
        .map(|mut e| {
            // All-day events keep their midnight dates whatever the zone asked for.
            if !utc && e["isAllDay"] != json!(true) {
                to_pacific(&mut e["start"]);
                to_pacific(&mut e["end"]);
            }
            e
        })
        .collect();
    let link_base = format!(
        "{base}/me/calendars/{}/calendarView?startDateTime={}&endDateTime={}",
        crate::google::enc(&id),
        crate::google::enc(&start),
        crate::google::enc(&end)
    );
    page_of(inside, VIEW_PAGE, &|n| format!("{link_base}&$skiptoken={n}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pacific_time_is_eight_hours_behind_utc_in_december() {
        let mut v = json!({"dateTime": "2026-12-07T03:30:00.0000000", "timeZone": "UTC"});
        to_pacific(&mut v);
        assert_eq!(v, json!({"dateTime": "2026-12-06T19:30:00.0000000", "timeZone": "Pacific Standard Time"}));
    }
}
