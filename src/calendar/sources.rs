//! What an account holds in memory and where it comes from: an ICS feed (fetched with
//! ETag/If-Modified-Since, or read from a file), CalDAV calendars (their cached objects read as
//! one feed by the same parser) and provider events (with the facts the provider states). Busy
//! blocks of every kind come out of [`Schedule::busy`], through [`busy::counts`].

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::busy::{self, Facts, Response, Show};
use super::{fetch, CalendarError, Calendars, Feed, IcsError, Kind};
use crate::secrets::SecretName;
use crate::store::calendars::{self as db, AccountRow, EntryRow, EventRow, ObjectRow};

/// An account in memory: whether it counts, and its schedules.
pub(super) struct Loaded {
    pub enabled: bool,
    pub parts: Vec<Part>,
}

/// One schedule of an account: the feed of an ICS account (`entry: None`), or one included
/// calendar of an account with calendars.
pub(super) struct Part {
    pub entry: Option<i64>,
    pub schedule: Schedule,
}

#[derive(Clone)]
pub(super) enum Schedule {
    /// iCalendar text (ICS feeds and CalDAV objects), expanded on demand.
    Feed(Arc<Feed>),
    /// Occurrences a provider expanded itself (Google, Microsoft).
    Events(Arc<Vec<Occurrence>>),
}

/// One provider occurrence.
#[derive(Debug, Clone)]
pub(super) struct Occurrence {
    pub summary: String,
    pub start: i64,
    pub end: i64,
    pub facts: Facts,
}

impl Schedule {
    /// Busy blocks `(summary, start, end)` overlapping `[from, to)` under `rules`.
    pub fn busy(&self, from: i64, to: i64, rules: &busy::Rules) -> Vec<(String, i64, i64)> {
        match self {
            Schedule::Feed(f) => {
                f.busy_under(from, to, rules).into_iter().map(|b| (b.summary, b.start, b.end)).collect()
            }
            Schedule::Events(v) => v
                .iter()
                .filter(|o| o.end > from && o.start < to && busy::counts(&o.facts, rules))
                .map(|o| (o.summary.clone(), o.start, o.end))
                .collect(),
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Schedule::Feed(f) => f.len(),
            Schedule::Events(v) => v.len(),
        }
    }

    pub fn feed(&self) -> Option<&Arc<Feed>> {
        match self {
            Schedule::Feed(f) => Some(f),
            Schedule::Events(_) => None,
        }
    }
}

/// Parses a feed off the async workers; a panic while parsing is an error, not a crash.
pub(super) async fn parse_feed(body: String, zone: chrono_tz::Tz, owner: Vec<String>) -> Result<Feed, CalendarError> {
    tokio::task::spawn_blocking(move || Feed::parse(&body, zone, &owner))
        .await
        .unwrap_or_else(|e| Err(IcsError::Malformed(format!("reading the feed failed ({e})"))))
        .map_err(CalendarError::from)
}

/// Parses a local file's feed: text that is not iCalendar gets the same message as a path that
/// cannot be read, so the API never tells what a file holds.
pub(super) async fn parse_local(
    body: String,
    zone: chrono_tz::Tz,
    owner: Vec<String>,
    path: &Path,
) -> Result<Feed, CalendarError> {
    match parse_feed(body, zone, owner).await {
        Err(CalendarError::Ics(IcsError::NotIcs)) => Err(fetch::unreadable(path).into()),
        other => other,
    }
}

/// A CalDAV calendar's objects as one feed (the parser takes several VCALENDARs in one text).
/// An empty calendar is an empty feed; an object that is not iCalendar at all is left out (and
/// logged), so one bad object never hides the calendar's other events.
pub(super) async fn parse_objects(
    objects: &[ObjectRow],
    zone: chrono_tz::Tz,
    owner: Vec<String>,
) -> Result<Feed, CalendarError> {
    let is_ics = |o: &&ObjectRow| {
        let t = o.ics.trim_start_matches('\u{feff}').trim_start();
        t.get(..15).is_some_and(|head| head.eq_ignore_ascii_case("BEGIN:VCALENDAR"))
    };
    let bad = objects.iter().filter(|o| !is_ics(o)).count();
    if bad > 0 {
        tracing::warn!(objects = bad, "calendar objects that are not iCalendar were left out");
    }
    let text: String =
        objects.iter().filter(is_ics).map(|o| o.ics.trim_start_matches('\u{feff}')).collect::<Vec<_>>().join("\r\n");
    let text = if text.trim().is_empty() { "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n".into() } else { text };
    parse_feed(text, zone, owner).await
}

fn show_db(s: Show) -> &'static str {
    match s {
        Show::Busy => "busy",
        Show::Free => "free",
        Show::Tentative => "tentative",
        Show::OutOfOffice => "out_of_office",
        Show::WorkingElsewhere => "working_elsewhere",
        Show::Unstated => "unstated",
    }
}

fn show_from_db(s: &str) -> Show {
    match s {
        "busy" => Show::Busy,
        "free" => Show::Free,
        "tentative" => Show::Tentative,
        "out_of_office" => Show::OutOfOffice,
        "working_elsewhere" => Show::WorkingElsewhere,
        _ => Show::Unstated,
    }
}

fn response_db(r: Response) -> &'static str {
    match r {
        Response::Accepted => "accepted",
        Response::Declined => "declined",
        Response::Tentative => "tentative",
        Response::None => "none",
    }
}

fn response_from_db(s: &str) -> Response {
    match s {
        "accepted" => Response::Accepted,
        "declined" => Response::Declined,
        "tentative" => Response::Tentative,
        _ => Response::None,
    }
}

/// A provider's occurrence as the cache keeps it.
pub(super) fn event_row(summary: String, start: i64, end: i64, f: &Facts) -> EventRow {
    EventRow {
        summary,
        start_ms: start,
        end_ms: end,
        all_day: f.all_day,
        cancelled: f.cancelled,
        show: show_db(f.show).into(),
        response: response_db(f.response).into(),
    }
}

pub(super) fn occurrences(rows: Vec<EventRow>) -> Vec<Occurrence> {
    rows.into_iter()
        .map(|r| Occurrence {
            facts: Facts {
                all_day: r.all_day,
                cancelled: r.cancelled,
                show: show_from_db(&r.show),
                response: response_from_db(&r.response),
            },
            summary: r.summary,
            start: r.start_ms,
            end: r.end_ms,
        })
        .collect()
}

impl Calendars {
    /// An account's cached schedules, read from the database (no network). A cache that no
    /// longer parses is left out (and logged), never an error that stops the engine.
    pub(super) async fn load_cached(&self, row: &AccountRow) -> Result<Vec<Part>, CalendarError> {
        let kind = Kind::from_db(&row.kind);
        if !kind.has_calendars() {
            let Some(body) = db::body(&self.store, row.id).await? else { return Ok(Vec::new()) };
            return Ok(match parse_feed(body, self.zone, super::split_owner(&row.owner)).await {
                Ok(f) => vec![Part { entry: None, schedule: Schedule::Feed(Arc::new(f)) }],
                Err(e) => {
                    tracing::warn!(calendar = %row.name, error = %e, "the cached feed could not be read");
                    Vec::new()
                }
            });
        }
        let mut parts = Vec::new();
        for e in db::entries(&self.store, Some(row.id)).await?.into_iter().filter(|e| e.included) {
            if let Some(p) = self.cached_part(row, &e).await? {
                parts.push(p);
            }
        }
        Ok(parts)
    }

    /// One calendar's cached schedule; `None` when nothing was ever synced or it can't be read.
    pub(super) async fn cached_part(&self, row: &AccountRow, e: &EntryRow) -> Result<Option<Part>, CalendarError> {
        if Kind::from_db(&row.kind) == Kind::Caldav {
            if e.sync_token.is_none() && e.ctag.is_none() && e.last_sync.is_none() {
                return Ok(None);
            }
            let objects = db::objects(&self.store, e.id).await?;
            return Ok(match parse_objects(&objects, self.zone, super::split_owner(&row.owner)).await {
                Ok(f) => Some(Part { entry: Some(e.id), schedule: Schedule::Feed(Arc::new(f)) }),
                Err(err) => {
                    tracing::warn!(calendar = %e.name, error = %err, "the cached calendar could not be read");
                    None
                }
            });
        }
        if e.last_sync.is_none() {
            return Ok(None);
        }
        let rows = db::events(&self.store, e.id).await?;
        Ok(Some(Part { entry: Some(e.id), schedule: Schedule::Events(Arc::new(occurrences(rows))) }))
    }

    /// Syncs one included calendar of an account now and keeps the outcome on it.
    pub(super) async fn sync_entry(&self, row: &AccountRow, e: &EntryRow) -> Result<Part, CalendarError> {
        match Kind::from_db(&row.kind) {
            Kind::Caldav => {
                let creds = self.dav_credentials(row).await?;
                self.sync_dav_entry(row, e, &creds).await.map(|(part, _)| part)
            }
            Kind::Google | Kind::Microsoft => self.sync_provider_entry(row, e).await,
            Kind::Url | Kind::File => Err(CalendarError::BadRequest("an ICS feed has no calendars to tick".into())),
        }
    }

    /// One refresh of an ICS account. `Ok(None)`: unchanged (304).
    pub(super) async fn sync_ics(&self, row: &AccountRow) -> Result<Option<Arc<Feed>>, CalendarError> {
        let kind = Kind::from_db(&row.kind);
        let owner = super::split_owner(&row.owner);
        let (body, etag, modified) = match kind {
            Kind::File => {
                let p = PathBuf::from(row.path.clone().unwrap_or_default());
                (fetch::read_file(&p).await?, None, None)
            }
            _ => {
                let secret = SecretName::calendar(&row.slug);
                let (url, _) = self.vault.get(&secret).await?;
                let url = url.ok_or_else(|| CalendarError::MissingUrl(row.name.clone(), secret.env_var().into()))?;
                let url = fetch::normalise_url(&url)?;
                let client = self.client.for_url(&url).await;
                match fetch::get(client, &url, row.etag.as_deref(), row.last_modified.as_deref()).await? {
                    fetch::Fetched::Unchanged => return Ok(None),
                    fetch::Fetched::New { body, etag, last_modified } => (body, etag, last_modified),
                }
            }
        };
        let feed = Arc::new(match (kind, &row.path) {
            (Kind::File, Some(p)) => parse_local(body.clone(), self.zone, owner, Path::new(p)).await?,
            _ => parse_feed(body.clone(), self.zone, owner).await?,
        });
        db::save_feed(&self.store, row.id, body, etag, modified, feed.len() as i64).await?;
        Ok(Some(feed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_local_file_that_is_not_icalendar_gets_the_same_message_as_a_missing_one() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let d = tempfile::tempdir().unwrap();
        let (secret, missing) = (d.path().join("secret.ics"), d.path().join("missing.ics"));
        std::fs::write(&secret, "root:x:0:0:root:/root:/bin/bash\n").unwrap();
        let body = rt.block_on(fetch::read_file(&secret)).unwrap();
        let not_ics = rt.block_on(parse_local(body, chrono_tz::UTC, Vec::new(), &secret)).unwrap_err().to_string();
        let gone = CalendarError::from(rt.block_on(fetch::read_file(&missing)).unwrap_err()).to_string();
        assert_eq!(not_ics.replace("secret.ics", "X"), gone.replace("missing.ics", "X"));
        assert!(!not_ics.contains("iCalendar"), "{not_ics}");
    }

    #[tokio::test]
    async fn one_caldav_object_that_is_not_icalendar_does_not_hide_the_others() {
        let obj = |href: &str, ics: &str| ObjectRow { href: href.into(), etag: None, ics: ics.into() };
        let good = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTART:20260105T100000Z\r\n\
                    DTEND:20260105T110000Z\r\nSUMMARY:Kept\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
        let objects = [
            obj("/a", "<html>Sign in</html>"),
            obj("/b", good),
            obj("/c", &format!("\u{feff}{good}")),
            obj("/d", "ééééééééééééééééé not a calendar"),
        ];
        let feed = parse_objects(&objects, chrono_tz::UTC, Vec::new()).await.unwrap();
        assert_eq!(feed.len(), 2);
        assert!(parse_objects(&[], chrono_tz::UTC, Vec::new()).await.unwrap().is_empty());
    }

    #[test]
    fn provider_events_follow_the_one_busy_rule_and_the_tentative_setting() {
        let at = |show, response, all_day| Occurrence {
            summary: "x".into(),
            start: 10,
            end: 20,
            facts: Facts { all_day, cancelled: false, show, response },
        };
        let rows: Vec<EventRow> = [
            at(Show::Busy, Response::Accepted, false),
            at(Show::Tentative, Response::None, false),
            at(Show::Busy, Response::Declined, false),
            at(Show::Unstated, Response::None, true),
            at(Show::Free, Response::None, false),
        ]
        .iter()
        .map(|o| event_row(o.summary.clone(), o.start, o.end, &o.facts))
        .collect();
        let s = Schedule::Events(Arc::new(occurrences(rows)));
        assert_eq!(s.busy(0, 100, &busy::Rules { tentative_busy: true }).len(), 2);
        assert_eq!(s.busy(0, 100, &busy::Rules { tentative_busy: false }).len(), 1);
        assert!(s.busy(20, 100, &busy::Rules::default()).is_empty(), "end is exclusive");
    }
}
