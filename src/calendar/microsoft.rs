//! Microsoft Graph v1.0, read-only: the signed-in address (`/me`), the user's calendars
//! (`/me/calendars`) and the occurrences in a time range (`calendarView`, so Exchange expands
//! recurrences and exceptions; times asked in UTC with `Prefer: outlook.timezone="UTC"`), each
//! read into [`busy::Facts`]. Answers are untrusted: size-limited pages, at most
//! [`MAX_PAGES`], `@odata.nextLink` followed only on the API's own origin (the bearer token
//! never goes elsewhere).

use chrono::{NaiveDate, NaiveDateTime, SecondsFormat, TimeZone as _, Utc};
use serde_json::Value;

use super::busy::{Facts, Response, Show};
use super::google::{hex_color, midnight_ms};
pub use super::google::{ProviderCalendar, ProviderEvent};
use super::oauth::{api_get, check_url, Endpoints, OAuthError};

const SERVICE: &str = "Microsoft Graph service";
/// Pages followed for one listing before giving up.
pub const MAX_PAGES: usize = 50;
const PAGE_LIMIT: usize = 4 * 1024 * 1024;
const SUMMARY_CHARS: usize = 300;

fn bad(reason: &str) -> OAuthError {
    OAuthError::BadAnswer { service: SERVICE, reason: reason.into() }
}

fn endpoint(ep: &Endpoints, segments: &[&str]) -> Result<reqwest::Url, OAuthError> {
    let mut url = check_url(&ep.api_url)?;
    url.path_segments_mut().map_err(|_| bad("the API address cannot take a path"))?.pop_if_empty().extend(segments);
    Ok(url)
}

/// The signed-in address: `/me`'s `mail`, else its `userPrincipalName` (needs `User.Read`).
pub async fn account(http: &reqwest::Client, ep: &Endpoints, access: &str) -> Result<Option<String>, OAuthError> {
    let mut url = endpoint(ep, &["me"])?;
    url.query_pairs_mut().append_pair("$select", "mail,userPrincipalName");
    let v = api_get(http.get(url), access, PAGE_LIMIT, SERVICE).await?;
    let pick = |k: &str| v[k].as_str().filter(|s| s.contains('@') && s.len() <= 320).map(str::to_string);
    Ok(pick("mail").or_else(|| pick("userPrincipalName")))
}

/// Follows `@odata.nextLink` from `url` (same origin only), handing each `value` item to `each`.
async fn pages(
    http: &reqwest::Client,
    ep: &Endpoints,
    access: &str,
    url: reqwest::Url,
    utc: bool,
    mut each: impl FnMut(&Value),
) -> Result<(), OAuthError> {
    let origin = check_url(&ep.api_url)?.origin();
    let mut next = url;
    for _ in 0..MAX_PAGES {
        let mut req = http.get(next.clone());
        if utc {
            req = req.header("prefer", "outlook.timezone=\"UTC\"");
        }
        let page = api_get(req, access, PAGE_LIMIT, SERVICE).await?;
        if let Some(items) = page["value"].as_array() {
            items.iter().for_each(&mut each);
        }
        match page["@odata.nextLink"].as_str() {
            Some(link) => {
                let u = reqwest::Url::parse(link).map_err(|_| bad("a next-page link is not an address"))?;
                if u.origin() != origin {
                    return Err(bad("a next-page link leads to another server"));
                }
                next = u;
            }
            None => return Ok(()),
        }
    }
    Err(bad(&format!("more than {MAX_PAGES} pages")))
}

/// One `/me/calendars` entry. Own: the default calendar, or one the user can edit and share
/// (only an owner can share; holidays are read-only, other people's cannot be shared on).
fn to_calendar(v: &Value) -> Option<ProviderCalendar> {
    let id = v["id"].as_str().filter(|s| !s.is_empty() && s.len() <= 1024)?;
    let name = v["name"].as_str().filter(|s| !s.trim().is_empty()).unwrap_or(id);
    let flag = |k: &str| v[k].as_bool() == Some(true);
    let own = flag("isDefaultCalendar") || (flag("canEdit") && flag("canShare"));
    Some(ProviderCalendar {
        id: id.to_string(),
        name: name.chars().take(SUMMARY_CHARS).collect(),
        color: hex_color(&v["hexColor"]),
        own,
    })
}

/// The user's calendars, every page of `/me/calendars`.
pub async fn calendars(
    http: &reqwest::Client,
    ep: &Endpoints,
    access: &str,
) -> Result<Vec<ProviderCalendar>, OAuthError> {
    let mut url = endpoint(ep, &["me", "calendars"])?;
    url.query_pairs_mut().append_pair("$top", "100");
    let mut out = Vec::new();
    pages(http, ep, access, url, false, |item| out.extend(to_calendar(item))).await?;
    Ok(out)
}

/// A Graph `dateTimeTimeZone`: a local `dateTime` (up to 7 fraction digits) in `timeZone`
/// (UTC when asked with the Prefer header; IANA or Windows names otherwise). All-day events
/// keep only the date, read in `zone`.
fn when(v: &Value, all_day: bool, zone: chrono_tz::Tz) -> Option<i64> {
    let text = v["dateTime"].as_str()?;
    if all_day {
        let date = NaiveDate::parse_from_str(text.get(..10)?, "%Y-%m-%d").ok()?;
        return midnight_ms(date, zone);
    }
    let local = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f").ok()?;
    let tz = match v["timeZone"].as_str().map(str::trim) {
        None | Some("") | Some("UTC") | Some("Etc/UTC") | Some("GMT") => chrono_tz::UTC,
        Some(name) => super::tz::resolve(name).unwrap_or(chrono_tz::UTC),
    };
    Some(tz.from_local_datetime(&local).earliest()?.timestamp_millis())
}

/// One `calendarView` item as an occurrence, or `None` when it has no usable times.
/// Facts: `isCancelled`, `isAllDay`, `showAs` (free, tentative, busy, oof, workingElsewhere;
/// `unknown` says nothing), the user's `responseStatus.response`.
pub fn to_event(v: &Value, zone: chrono_tz::Tz) -> Option<ProviderEvent> {
    let all_day = v["isAllDay"].as_bool() == Some(true);
    let start_ms = when(&v["start"], all_day, zone)?;
    let end_ms = match when(&v["end"], all_day, zone) {
        Some(e) => e.max(start_ms),
        None if all_day => start_ms + 24 * 3600 * 1000,
        None => start_ms,
    };
    let show = match v["showAs"].as_str() {
        Some("free") => Show::Free,
        Some("tentative") => Show::Tentative,
        Some("busy") => Show::Busy,
        Some("oof") => Show::OutOfOffice,
        Some("workingElsewhere") => Show::WorkingElsewhere,
        _ => Show::Unstated,
    };
    let response = match v["responseStatus"]["response"].as_str() {
        Some("accepted") => Response::Accepted,
        Some("declined") => Response::Declined,
        Some("tentativelyAccepted") => Response::Tentative,
        _ => Response::None,
    };
    Some(ProviderEvent {
        summary: v["subject"].as_str().unwrap_or("").chars().take(SUMMARY_CHARS).collect(),
        start_ms,
        end_ms,
        facts: Facts { all_day, cancelled: v["isCancelled"].as_bool() == Some(true), show, response },
    })
}

fn iso(ms: i64) -> String {
    chrono::DateTime::<Utc>::from_timestamp_millis(ms).unwrap_or_default().to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Occurrences overlapping [from_ms, to_ms) from `calendarView` (recurrences expanded by
/// Exchange), all pages, times in UTC, all-day dates read in `zone`.
pub async fn events(
    http: &reqwest::Client,
    ep: &Endpoints,
    access: &str,
    calendar_id: &str,
    from_ms: i64,
    to_ms: i64,
    zone: chrono_tz::Tz,
) -> Result<Vec<ProviderEvent>, OAuthError> {
    let mut url = endpoint(ep, &["me", "calendars", calendar_id, "calendarView"])?;
    url.query_pairs_mut()
        .append_pair("startDateTime", &iso(from_ms))
        .append_pair("endDateTime", &iso(to_ms))
        .append_pair("$select", "subject,start,end,showAs,isAllDay,isCancelled,responseStatus")
        .append_pair("$top", "500");
    let mut out = Vec::new();
    pages(http, ep, access, url, true, |item| {
        if let Some(e) = to_event(item, zone) {
            if e.start_ms < to_ms && (e.end_ms > from_ms || (e.end_ms == e.start_ms && e.start_ms >= from_ms)) {
                out.push(e);
            }
        }
    })
    .await?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at(s: &str) -> i64 {
        chrono::DateTime::parse_from_rfc3339(s).unwrap().timestamp_millis()
    }

    #[test]
    fn graph_events_read_into_facts() {
        let e = to_event(
            &json!({"subject": "Standup", "showAs": "tentative", "isAllDay": false, "isCancelled": false,
                    "responseStatus": {"response": "tentativelyAccepted"},
                    "start": {"dateTime": "2026-12-07T09:00:00.0000000", "timeZone": "UTC"},
                    "end": {"dateTime": "2026-12-07T09:15:00.0000000", "timeZone": "UTC"}}),
            chrono_tz::UTC,
        )
        .unwrap();
        assert_eq!((e.start_ms, e.end_ms), (at("2026-12-07T09:00:00Z"), at("2026-12-07T09:15:00Z")));
        assert_eq!(
            e.facts,
            Facts { all_day: false, cancelled: false, show: Show::Tentative, response: Response::Tentative }
        );
        // The Prefer header ignored: a Windows zone name is still read right.
        let w = to_event(
            &json!({"showAs": "busy", "start": {"dateTime": "2026-12-07T09:00:00", "timeZone": "W. Europe Standard Time"},
                    "end": {"dateTime": "2026-12-07T10:00:00", "timeZone": "W. Europe Standard Time"}}),
            chrono_tz::UTC,
        )
        .unwrap();
        assert_eq!(w.start_ms, at("2026-12-07T08:00:00Z"));
        let day = to_event(
            &json!({"showAs": "oof", "isAllDay": true,
                    "start": {"dateTime": "2026-12-07T00:00:00.0000000", "timeZone": "UTC"},
                    "end": {"dateTime": "2026-12-08T00:00:00.0000000", "timeZone": "UTC"}}),
            chrono_tz::America::New_York,
        )
        .unwrap();
        assert_eq!((day.start_ms, day.end_ms), (at("2026-12-07T05:00:00Z"), at("2026-12-08T05:00:00Z")));
        assert_eq!(day.facts.show, Show::OutOfOffice);
    }

    #[test]
    fn hostile_graph_events_are_skipped_not_panicked_on() {
        for v in [
            json!(null),
            json!({"start": {"dateTime": "2026-12-07"}}),
            json!({"isAllDay": true, "start": {"dateTime": "2026"}}),
            json!({"isAllDay": true, "start": {"dateTime": "2026-12-0é7"}}),
            json!({"start": {"dateTime": "é2026-12-07T00:00:00"}}),
        ] {
            assert!(to_event(&v, chrono_tz::UTC).is_none(), "{v}");
        }
    }

    #[test]
    fn the_default_and_shareable_calendars_are_the_users_own() {
        let c = |v: Value| to_calendar(&v).unwrap();
        assert!(c(json!({"id": "A", "name": "Calendar", "isDefaultCalendar": true})).own);
        assert!(c(json!({"id": "B", "name": "Side", "canEdit": true, "canShare": true})).own);
        assert!(!c(json!({"id": "C", "name": "United States holidays", "canEdit": false})).own);
        assert!(!c(json!({"id": "D", "name": "Boss", "canEdit": true, "canShare": false})).own);
    }
}
