//! Google Calendar API v3, read-only: the signed-in address (the primary calendar's id), the
//! calendar list, and the occurrences in a time range (`events.list` with `singleEvents=true`,
//! so Google expands recurrences and exceptions), each read into [`busy::Facts`]. Answers are
//! untrusted: size-limited pages, at most [`MAX_PAGES`] of them, nothing that can panic.

use chrono::{DateTime, NaiveDate, SecondsFormat, TimeZone as _, Utc};
use serde_json::Value;

use super::busy::{Facts, Response, Show};
use super::oauth::{api_get, check_url, Endpoints, OAuthError};

const SERVICE: &str = "Google Calendar service";
/// Pages followed for one listing before giving up.
pub const MAX_PAGES: usize = 50;
/// The largest page read.
const PAGE_LIMIT: usize = 4 * 1024 * 1024;
/// The longest summary kept.
const SUMMARY_CHARS: usize = 300;

/// One of the user's calendars.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderCalendar {
    pub id: String,
    pub name: String,
    /// `#rrggbb`.
    pub color: Option<String>,
    /// The user's own (they own it), not holidays, birthdays or other people's.
    pub own: bool,
}

/// One occurrence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderEvent {
    pub summary: String,
    pub start_ms: i64,
    pub end_ms: i64,
    pub facts: Facts,
}

fn bad(reason: &str) -> OAuthError {
    OAuthError::BadAnswer { service: SERVICE, reason: reason.into() }
}

/// `api_url` with path segments added (each percent-encoded: calendar ids hold `#` and `@`).
fn endpoint(ep: &Endpoints, segments: &[&str]) -> Result<reqwest::Url, OAuthError> {
    let mut url = check_url(&ep.api_url)?;
    url.path_segments_mut().map_err(|_| bad("the API address cannot take a path"))?.pop_if_empty().extend(segments);
    Ok(url)
}

/// The signed-in address: the id of the primary calendar (`calendarList/primary`).
pub async fn account(http: &reqwest::Client, ep: &Endpoints, access: &str) -> Result<Option<String>, OAuthError> {
    let url = endpoint(ep, &["users", "me", "calendarList", "primary"])?;
    let v = api_get(http.get(url), access, PAGE_LIMIT, SERVICE).await?;
    Ok(v["id"].as_str().filter(|s| s.contains('@') && s.len() <= 320).map(str::to_string))
}

/// Follows `nextPageToken` from `url`, handing each page's `items` to `each`.
async fn pages(
    http: &reqwest::Client,
    access: &str,
    url: reqwest::Url,
    mut each: impl FnMut(&Value) -> Result<(), OAuthError>,
) -> Result<(), OAuthError> {
    let mut token: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let mut u = url.clone();
        if let Some(t) = &token {
            u.query_pairs_mut().append_pair("pageToken", t);
        }
        let page = api_get(http.get(u), access, PAGE_LIMIT, SERVICE).await?;
        if let Some(items) = page["items"].as_array() {
            for item in items {
                each(item)?;
            }
        }
        match page["nextPageToken"].as_str() {
            Some(t) if !t.is_empty() && t.len() <= 4096 => token = Some(t.to_string()),
            Some(t) if !t.is_empty() => return Err(bad("a page token is too long")),
            _ => return Ok(()),
        }
    }
    Err(bad(&format!("more than {MAX_PAGES} pages")))
}

/// A colour as `#rrggbb`, lowercase, or nothing.
pub(crate) fn hex_color(v: &Value) -> Option<String> {
    let s = v.as_str()?;
    let ok = s.len() == 7 && s.starts_with('#') && s[1..].chars().all(|c| c.is_ascii_hexdigit());
    ok.then(|| s.to_ascii_lowercase())
}

/// One `calendarList` entry. Google's public calendars (holidays, contacts' birthdays) live
/// under `group.v.calendar.google.com` and are never the user's own.
fn to_calendar(v: &Value) -> Option<ProviderCalendar> {
    let id = v["id"].as_str().filter(|s| !s.is_empty() && s.len() <= 1024)?;
    if v["deleted"].as_bool() == Some(true) {
        return None;
    }
    let name = v["summaryOverride"].as_str().or(v["summary"].as_str()).filter(|s| !s.trim().is_empty()).unwrap_or(id);
    let public = id.ends_with("@group.v.calendar.google.com");
    let own = !public && (v["primary"].as_bool() == Some(true) || v["accessRole"].as_str() == Some("owner"));
    Some(ProviderCalendar {
        id: id.to_string(),
        name: name.chars().take(SUMMARY_CHARS).collect(),
        color: hex_color(&v["backgroundColor"]),
        own,
    })
}

/// The user's calendars, every page of `users/me/calendarList`.
pub async fn calendars(
    http: &reqwest::Client,
    ep: &Endpoints,
    access: &str,
) -> Result<Vec<ProviderCalendar>, OAuthError> {
    let mut url = endpoint(ep, &["users", "me", "calendarList"])?;
    url.query_pairs_mut().append_pair("maxResults", "250");
    let mut out = Vec::new();
    pages(http, access, url, |item| {
        out.extend(to_calendar(item));
        Ok(())
    })
    .await?;
    Ok(out)
}

fn rfc3339(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms).unwrap_or_default().to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Midnight starting `date` in `zone` (the first valid instant when midnight is skipped).
pub(crate) fn midnight_ms(date: NaiveDate, zone: chrono_tz::Tz) -> Option<i64> {
    let mut t = date.and_hms_opt(0, 0, 0)?;
    for _ in 0..4 {
        if let Some(at) = zone.from_local_datetime(&t).earliest() {
            return Some(at.timestamp_millis());
        }
        t += chrono::Duration::minutes(30);
    }
    None
}

/// A `start`/`end` object: `dateTime` (RFC 3339, with an offset) or an all-day `date` read in
/// `zone`. The flag says all-day.
fn when(v: &Value, zone: chrono_tz::Tz) -> Option<(i64, bool)> {
    if let Some(dt) = v["dateTime"].as_str() {
        return Some((DateTime::parse_from_rfc3339(dt).ok()?.timestamp_millis(), false));
    }
    let date = NaiveDate::parse_from_str(v["date"].as_str()?, "%Y-%m-%d").ok()?;
    Some((midnight_ms(date, zone)?, true))
}

/// One event of `events.list` as an occurrence, or `None` when it has no usable times.
///
/// Facts: `status: cancelled`; an all-day `date`; how it shows the time: out of office
/// (`eventType: outOfOffice`), working elsewhere (`workingLocation`), free (`transparency:
/// transparent`), tentative (`status: tentative`), otherwise busy (`opaque`, Google's default
/// when the field is absent); the user's own answer from the attendee marked `self`.
pub fn to_event(v: &Value, zone: chrono_tz::Tz) -> Option<ProviderEvent> {
    let (start_ms, all_day) = when(&v["start"], zone)?;
    let end_ms = match when(&v["end"], zone) {
        Some((e, _)) => e.max(start_ms),
        None if all_day => start_ms + 24 * 3600 * 1000,
        None => start_ms,
    };
    let status = v["status"].as_str().unwrap_or("confirmed");
    let show = match (v["eventType"].as_str(), v["transparency"].as_str()) {
        (Some("outOfOffice"), _) => Show::OutOfOffice,
        (Some("workingLocation"), _) => Show::WorkingElsewhere,
        (_, Some("transparent")) => Show::Free,
        _ if status == "tentative" => Show::Tentative,
        _ => Show::Busy,
    };
    let me = v["attendees"].as_array().and_then(|a| a.iter().find(|p| p["self"].as_bool() == Some(true)));
    let response = match me.and_then(|p| p["responseStatus"].as_str()) {
        Some("accepted") => Response::Accepted,
        Some("declined") => Response::Declined,
        Some("tentative") => Response::Tentative,
        _ => Response::None,
    };
    Some(ProviderEvent {
        summary: v["summary"].as_str().unwrap_or("").chars().take(SUMMARY_CHARS).collect(),
        start_ms,
        end_ms,
        facts: Facts { all_day, cancelled: status == "cancelled", show, response },
    })
}

/// Occurrences overlapping [from_ms, to_ms), recurrences expanded by Google
/// (`singleEvents=true`), all pages, all-day dates read in `zone`.
pub async fn events(
    http: &reqwest::Client,
    ep: &Endpoints,
    access: &str,
    calendar_id: &str,
    from_ms: i64,
    to_ms: i64,
    zone: chrono_tz::Tz,
) -> Result<Vec<ProviderEvent>, OAuthError> {
    let mut url = endpoint(ep, &["calendars", calendar_id, "events"])?;
    url.query_pairs_mut()
        .append_pair("singleEvents", "true")
        .append_pair("timeMin", &rfc3339(from_ms))
        .append_pair("timeMax", &rfc3339(to_ms))
        .append_pair("maxResults", "2500");
    let mut out = Vec::new();
    pages(http, access, url, |item| {
        if let Some(e) = to_event(item, zone) {
            if e.start_ms < to_ms && (e.end_ms > from_ms || (e.end_ms == e.start_ms && e.start_ms >= from_ms)) {
                out.push(e);
            }
        }
        Ok(())
    })
    .await?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const UTC: chrono_tz::Tz = chrono_tz::UTC;

    #[test]
    fn google_events_read_into_facts() {
        let e = to_event(
            &json!({"summary": "1:1", "start": {"dateTime": "2026-12-07T10:00:00+01:00"},
                    "end": {"dateTime": "2026-12-07T10:30:00+01:00"},
                    "attendees": [{"email": "x@y", "responseStatus": "accepted"},
                                  {"email": "me@y", "self": true, "responseStatus": "declined"}]}),
            UTC,
        )
        .unwrap();
        assert_eq!(e.start_ms, DateTime::parse_from_rfc3339("2026-12-07T09:00:00Z").unwrap().timestamp_millis());
        assert_eq!(e.end_ms - e.start_ms, 30 * 60 * 1000);
        assert_eq!(e.facts, Facts { all_day: false, cancelled: false, show: Show::Busy, response: Response::Declined });
        let day = to_event(
            &json!({"start": {"date": "2026-12-07"}, "end": {"date": "2026-12-08"}, "transparency": "transparent"}),
            chrono_tz::Europe::Berlin,
        )
        .unwrap();
        assert!(day.facts.all_day);
        assert_eq!(day.facts.show, Show::Free);
        assert_eq!(day.start_ms, DateTime::parse_from_rfc3339("2026-12-06T23:00:00Z").unwrap().timestamp_millis());
        let ooo = json!({"eventType": "outOfOffice", "start": {"dateTime": "2026-12-07T10:00:00Z"}, "end": {"dateTime": "2026-12-07T11:00:00Z"}});
        assert_eq!(to_event(&ooo, UTC).unwrap().facts.show, Show::OutOfOffice);
        let loc = json!({"eventType": "workingLocation", "start": {"date": "2026-12-07"}, "end": {"date": "2026-12-08"}, "transparency": "transparent"});
        assert_eq!(to_event(&loc, UTC).unwrap().facts.show, Show::WorkingElsewhere);
    }

    #[test]
    fn hostile_google_events_are_skipped_not_panicked_on() {
        for v in [
            json!(null),
            json!([]),
            json!({"start": "x"}),
            json!({"start": {"dateTime": "yesterday"}}),
            json!({"start": {"date": "2026-02-30"}}),
            json!({"start": {"dateTime": 5}}),
        ] {
            assert!(to_event(&v, UTC).is_none(), "{v}");
        }
        let backwards =
            json!({"start": {"dateTime": "2026-12-07T10:00:00Z"}, "end": {"dateTime": "2026-12-01T10:00:00Z"}});
        let e = to_event(&backwards, UTC).unwrap();
        assert_eq!(e.end_ms, e.start_ms);
    }

    #[test]
    fn only_owned_calendars_are_the_users_own() {
        let c = |v: Value| to_calendar(&v).unwrap();
        assert!(c(json!({"id": "me@x.com", "primary": true, "accessRole": "owner", "backgroundColor": "#9FE1E7"})).own);
        assert!(!c(json!({"id": "en.usa#holiday@group.v.calendar.google.com", "accessRole": "reader"})).own);
        assert!(!c(json!({"id": "boss@x.com", "accessRole": "writer"})).own);
        assert_eq!(c(json!({"id": "a@b", "backgroundColor": "#9FE1E7"})).color.as_deref(), Some("#9fe1e7"));
        assert_eq!(c(json!({"id": "a@b", "backgroundColor": "red"})).color, None);
        assert!(to_calendar(&json!({"id": "a@b", "deleted": true})).is_none());
    }
}
