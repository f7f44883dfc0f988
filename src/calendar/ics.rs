//! iCalendar (RFC 5545) feeds to busy intervals: parses VEVENTs, expands RRULE/RDATE/EXDATE
//! with the `rrule` crate, lets RECURRENCE-ID overrides replace (or cancel) the occurrence they
//! stand for, resolves Windows and vendor time-zone names, and keeps only the events that really
//! take the user away: not free/transparent, not cancelled, not declined, all-day only when
//! marked busy.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, TimeZone as _, Utc};
use icalendar::parser::{Component, Property};
use rrule::{RRule, RRuleSet, Tz as RTz, Unvalidated};

use super::tz;

/// Occurrences expanded per recurring event and query, at most.
const MAX_OCCURRENCES: u16 = 5_000;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum IcsError {
    #[error("not an iCalendar file (it does not start with BEGIN:VCALENDAR)")]
    NotIcs,
    #[error("the iCalendar file is malformed: {0}")]
    Malformed(String),
}

/// A time as written in the feed.
#[derive(Debug, Clone, Copy, PartialEq)]
enum When {
    Utc(NaiveDateTime),
    Zoned(NaiveDateTime, chrono_tz::Tz),
    /// No zone: the user's local time.
    Floating(NaiveDateTime),
    Date(NaiveDate),
}

/// One VEVENT, master or override.
#[derive(Debug, Clone)]
struct Event {
    uid: String,
    summary: String,
    start: When,
    /// Length of one occurrence; in wall-clock time when `wall` (a two-day trip over the DST
    /// change is 49 hours, a 09:00-10:00 meeting stays 09:00-10:00), else exact.
    length: Duration,
    wall: bool,
    busy: bool,
    rrules: Vec<String>,
    rdates: Vec<When>,
    exdates: Vec<When>,
    recurrence_id: Option<When>,
}

/// A parsed feed, ready to answer "what is busy between these instants".
#[derive(Debug, Clone)]
pub struct Feed {
    events: Vec<Event>,
    /// The zone for floating times and all-day dates: X-WR-TIMEZONE, else the user's.
    local: RTz,
    /// TZIDs we could not resolve (their times were read in the local zone).
    pub unknown_zones: Vec<String>,
    /// Events skipped because they could not be read, with the reason.
    pub skipped: Vec<String>,
}

/// A busy block, in ms since the epoch.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Block {
    pub summary: String,
    pub start: i64,
    pub end: i64,
}

fn prop<'a>(c: &'a Component<'a>, name: &str) -> Option<&'a Property<'a>> {
    c.properties.iter().find(|p| p.name.as_str().eq_ignore_ascii_case(name))
}

fn param<'a>(p: &'a Property<'a>, key: &str) -> Option<&'a str> {
    p.params.iter().find(|q| q.key.as_str().eq_ignore_ascii_case(key)).and_then(|q| q.val.as_ref()).map(|v| v.as_str())
}

fn value(c: &Component, name: &str) -> Option<String> {
    prop(c, name).map(|p| p.val.as_str().trim().to_string())
}

impl Feed {
    /// Parses a feed. `user_zone` reads floating times when the feed names no zone of its own;
    /// `owner` are the user's addresses, whose PARTSTAT=DECLINED removes an event (when empty,
    /// the calendar's name is used if it is an address, as Google's are).
    pub fn parse(text: &str, user_zone: chrono_tz::Tz, owner: &[String]) -> Result<Feed, IcsError> {
        let trimmed = text.trim_start_matches('\u{feff}').trim_start();
        if !trimmed.get(..15).is_some_and(|s| s.eq_ignore_ascii_case("BEGIN:VCALENDAR")) {
            return Err(IcsError::NotIcs);
        }
        let unfolded = icalendar::parser::unfold(trimmed);
        let cal = icalendar::parser::read_calendar(&unfolded).map_err(|e| {
            IcsError::Malformed(e.lines().take(3).collect::<Vec<_>>().join(" ").chars().take(300).collect())
        })?;
        let root_prop = |name: &str| {
            cal.properties.iter().find(|p| p.name.as_str().eq_ignore_ascii_case(name)).map(|p| p.val.as_str().trim())
        };
        let local = root_prop("X-WR-TIMEZONE").and_then(tz::resolve).unwrap_or(user_zone);
        let mut owner: Vec<String> = owner.iter().map(|s| s.to_ascii_lowercase()).collect();
        if owner.is_empty() {
            if let Some(name) = root_prop("X-WR-CALNAME").filter(|n| n.contains('@') && !n.contains(' ')) {
                owner.push(name.to_ascii_lowercase());
            }
        }
        let mut feed = Feed { events: Vec::new(), local: local.into(), unknown_zones: Vec::new(), skipped: Vec::new() };
        let mut unknown = HashSet::new();
        for c in cal.components.iter().filter(|c| c.name.as_str().eq_ignore_ascii_case("VEVENT")) {
            match read_event(c, &owner, &mut unknown) {
                Ok(Some(e)) => feed.events.push(e),
                Ok(None) => {}
                Err(why) => {
                    let uid = value(c, "UID").unwrap_or_else(|| "(no UID)".into());
                    feed.skipped.push(format!("{uid}: {why}"));
                }
            }
        }
        feed.unknown_zones = unknown.into_iter().collect();
        feed.unknown_zones.sort();
        Ok(feed)
    }

    /// Number of VEVENTs read (masters and overrides).
    pub fn len(&self) -> usize {
        self.events.len()
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    fn instant(&self, w: When) -> DateTime<RTz> {
        let local = self.local;
        match w {
            When::Utc(n) => RTz::UTC.from_utc_datetime(&n),
            When::Zoned(n, z) => pick(n, z.into()),
            When::Floating(n) => pick(n, local),
            When::Date(d) => pick(d.and_hms_opt(0, 0, 0).expect("midnight"), local),
        }
    }

    /// Where an occurrence starting at `s` ends.
    fn end_of(&self, e: &Event, s: &DateTime<RTz>) -> i64 {
        if e.wall {
            pick(s.naive_local() + e.length, s.timezone()).timestamp_millis()
        } else {
            s.timestamp_millis() + e.length.num_milliseconds()
        }
    }

    /// Busy blocks overlapping `[from, to)` (ms since the epoch), sorted by start.
    pub fn busy(&self, from: i64, to: i64) -> Vec<Block> {
        let (Some(from_t), Some(to_t)) =
            (DateTime::<Utc>::from_timestamp_millis(from), DateTime::from_timestamp_millis(to))
        else {
            return Vec::new();
        };
        // Overrides by series: the instants of the occurrences they replace.
        let mut replaced: HashMap<&str, HashSet<i64>> = HashMap::new();
        for e in self.events.iter().filter(|e| e.recurrence_id.is_some()) {
            let rid = self.instant(e.recurrence_id.expect("filtered")).timestamp_millis();
            replaced.entry(e.uid.as_str()).or_default().insert(rid);
        }
        let mut out = Vec::new();
        for e in &self.events {
            let starts: Vec<DateTime<RTz>> =
                if e.recurrence_id.is_none() && (!e.rrules.is_empty() || !e.rdates.is_empty()) {
                    match self.expand(e, from_t - e.length, to_t) {
                        Ok(v) => v,
                        Err(why) => {
                            tracing::debug!(uid = %e.uid, %why, "recurrence not expanded; using the first occurrence");
                            vec![self.instant(e.start)]
                        }
                    }
                } else {
                    vec![self.instant(e.start)]
                };
            let skip = if e.recurrence_id.is_none() { replaced.get(e.uid.as_str()) } else { None };
            for s in starts {
                let start = s.timestamp_millis();
                if skip.is_some_and(|r| r.contains(&start)) || !e.busy {
                    continue;
                }
                let end = self.end_of(e, &s);
                if end > from && start < to && end > start {
                    out.push(Block { summary: e.summary.clone(), start, end });
                }
            }
        }
        out.sort_by_key(|b| (b.start, b.end));
        out
    }

    fn expand(&self, e: &Event, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<DateTime<RTz>>, String> {
        let start = self.instant(e.start);
        let mut set = RRuleSet::new(start);
        for r in &e.rrules {
            let rule: RRule<Unvalidated> = r.parse().map_err(|e: rrule::RRuleError| e.to_string())?;
            let rule = match rule.clone().validate(start) {
                Ok(v) => v,
                // UNTIL written as a local or date value where RFC 5545 wants UTC: read it as UTC.
                Err(_) => fix_until(r)
                    .parse::<RRule<Unvalidated>>()
                    .map_err(|e| e.to_string())?
                    .validate(start)
                    .map_err(|e| e.to_string())?,
            };
            set = set.rrule(rule);
        }
        for d in &e.rdates {
            set = set.rdate(self.instant(*d));
        }
        for d in &e.exdates {
            set = set.exdate(self.instant(*d));
        }
        let tz = start.timezone();
        let result = set.after(from.with_timezone(&tz)).before(to.with_timezone(&tz)).all(MAX_OCCURRENCES);
        Ok(result.dates)
    }
}

/// A wall-clock time in a zone; a nonexistent local time (a DST gap) moves forward by the gap,
/// like calendars do.
fn pick(naive: NaiveDateTime, zone: RTz) -> DateTime<RTz> {
    zone.from_local_datetime(&naive)
        .earliest()
        .or_else(|| zone.from_local_datetime(&(naive + Duration::hours(1))).earliest())
        .unwrap_or_else(|| zone.from_utc_datetime(&naive))
}

/// `UNTIL=20250301` or `UNTIL=20250301T100000` → a UTC form the `rrule` crate accepts.
fn fix_until(rule: &str) -> String {
    rule.split(';')
        .map(|part| match part.split_once('=') {
            Some((k, v)) if k.eq_ignore_ascii_case("UNTIL") && !v.ends_with('Z') => {
                if v.len() == 8 {
                    format!("UNTIL={v}T235959Z")
                } else {
                    format!("UNTIL={v}Z")
                }
            }
            _ => part.to_string(),
        })
        .collect::<Vec<_>>()
        .join(";")
}

fn read_when(p: &Property, unknown: &mut HashSet<String>) -> Result<When, String> {
    read_value(p.val.as_str().trim(), p, unknown)
}

fn read_value(v: &str, p: &Property, unknown: &mut HashSet<String>) -> Result<When, String> {
    let bad = || format!("{}: {v:?} is not a date or date-time", p.name.as_str());
    if param(p, "VALUE").is_some_and(|t| t.eq_ignore_ascii_case("DATE")) || v.len() == 8 {
        return NaiveDate::parse_from_str(v, "%Y%m%d").map(When::Date).map_err(|_| bad());
    }
    if let Some(utc) = v.strip_suffix('Z').or_else(|| v.strip_suffix('z')) {
        return NaiveDateTime::parse_from_str(utc, "%Y%m%dT%H%M%S").map(When::Utc).map_err(|_| bad());
    }
    let naive = NaiveDateTime::parse_from_str(v, "%Y%m%dT%H%M%S").map_err(|_| bad())?;
    match param(p, "TZID") {
        Some(id) => match tz::resolve(id) {
            Some(z) => Ok(When::Zoned(naive, z)),
            None => {
                unknown.insert(id.to_string());
                Ok(When::Floating(naive))
            }
        },
        None => Ok(When::Floating(naive)),
    }
}

/// Multi-valued properties (EXDATE, RDATE): every line, every comma-separated value.
fn read_list(c: &Component, name: &str, unknown: &mut HashSet<String>) -> Result<Vec<When>, String> {
    let mut out = Vec::new();
    for p in c.properties.iter().filter(|p| p.name.as_str().eq_ignore_ascii_case(name)) {
        if param(p, "VALUE").is_some_and(|t| t.eq_ignore_ascii_case("PERIOD")) {
            continue;
        }
        for v in p.val.as_str().split(',').map(str::trim).filter(|v| !v.is_empty()) {
            out.push(read_value(v, p, unknown)?);
        }
    }
    Ok(out)
}

/// RFC 5545 durations: `P1W`, `P1D`, `PT1H30M`, `-PT15M`, `P1DT2H`.
pub fn parse_duration(s: &str) -> Option<Duration> {
    let (neg, rest) = match s.trim().strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.trim().strip_prefix('+').unwrap_or(s.trim())),
    };
    let rest = rest.strip_prefix('P')?;
    let (mut total, mut num, mut in_time, mut any) = (Duration::zero(), String::new(), false, false);
    for ch in rest.chars() {
        match ch {
            '0'..='9' => num.push(ch),
            'T' if num.is_empty() => in_time = true,
            'W' | 'D' | 'H' | 'M' | 'S' => {
                let n: i64 = num.parse().ok()?;
                num.clear();
                any = true;
                total += match (ch, in_time) {
                    ('W', false) => Duration::weeks(n),
                    ('D', false) => Duration::days(n),
                    ('H', true) => Duration::hours(n),
                    ('M', true) => Duration::minutes(n),
                    ('S', true) => Duration::seconds(n),
                    _ => return None,
                };
            }
            _ => return None,
        }
    }
    (any && num.is_empty()).then_some(if neg { -total } else { total })
}

fn read_event(c: &Component, owner: &[String], unknown: &mut HashSet<String>) -> Result<Option<Event>, String> {
    let status = value(c, "STATUS").unwrap_or_default().to_ascii_uppercase();
    let uid = value(c, "UID").unwrap_or_default();
    let recurrence_id = prop(c, "RECURRENCE-ID").map(|p| read_when(p, unknown)).transpose()?;
    // A cancelled master has nothing to show; a cancelled override still replaces its occurrence.
    if status == "CANCELLED" && recurrence_id.is_none() {
        return Ok(None);
    }
    let start = read_when(prop(c, "DTSTART").ok_or("no DTSTART")?, unknown)?;
    let all_day = matches!(start, When::Date(_));
    let (length, wall) = if let Some(end) = prop(c, "DTEND") {
        let end = read_when(end, unknown)?;
        (span(start, end), same_frame(start, end))
    } else if let Some(d) = value(c, "DURATION") {
        (parse_duration(&d).ok_or_else(|| format!("DURATION {d:?} is not a duration"))?, all_day)
    } else if all_day {
        (Duration::days(1), true)
    } else {
        (Duration::zero(), false)
    };
    let transp = value(c, "TRANSP").map(|t| t.to_ascii_uppercase());
    let cdo = value(c, "X-MICROSOFT-CDO-BUSYSTATUS").map(|t| t.to_ascii_uppercase());
    let marked_busy = matches!(cdo.as_deref(), Some("BUSY" | "OOF"));
    let marked_free = matches!(cdo.as_deref(), Some("FREE")) || transp.as_deref() == Some("TRANSPARENT");
    let declined = c.properties.iter().filter(|p| p.name.as_str().eq_ignore_ascii_case("ATTENDEE")).any(|p| {
        let addr =
            p.val.as_str().trim().trim_start_matches("mailto:").trim_start_matches("MAILTO:").to_ascii_lowercase();
        param(p, "PARTSTAT").is_some_and(|s| s.eq_ignore_ascii_case("DECLINED")) && owner.contains(&addr)
    });
    let busy = status != "CANCELLED"
        && !declined
        && if all_day { marked_busy || (cdo.is_none() && transp.as_deref() == Some("OPAQUE")) } else { !marked_free };
    Ok(Some(Event {
        uid,
        summary: value(c, "SUMMARY").unwrap_or_else(|| "(busy)".into()),
        start,
        length,
        wall,
        busy,
        rrules: c
            .properties
            .iter()
            .filter(|p| p.name.as_str().eq_ignore_ascii_case("RRULE"))
            .map(|p| p.val.as_str().trim().to_string())
            .collect(),
        rdates: read_list(c, "RDATE", unknown)?,
        exdates: read_list(c, "EXDATE", unknown)?,
        recurrence_id,
    }))
}

/// Whether DTSTART and DTEND are wall times of the same zone (then DTEND − DTSTART is kept in
/// wall-clock time for every occurrence).
fn same_frame(start: When, end: When) -> bool {
    match (start, end) {
        (When::Zoned(_, a), When::Zoned(_, b)) => a == b,
        (When::Floating(_), When::Floating(_)) | (When::Date(_), When::Date(_)) => true,
        _ => false,
    }
}

/// DTEND − DTSTART for one occurrence. Both are read as naive wall times when in the same
/// frame, so a meeting over a DST change keeps its written length.
fn span(start: When, end: When) -> Duration {
    let naive = |w: When| match w {
        When::Utc(n) | When::Zoned(n, _) | When::Floating(n) => n,
        When::Date(d) => d.and_hms_opt(0, 0, 0).expect("midnight"),
    };
    match (start, end) {
        (When::Zoned(a, za), When::Zoned(b, zb)) if za != zb => {
            let a = za.from_local_datetime(&a).earliest().map(|t| t.naive_utc()).unwrap_or(a);
            let b = zb.from_local_datetime(&b).earliest().map(|t| t.naive_utc()).unwrap_or(b);
            b - a
        }
        (When::Utc(a), When::Zoned(b, z)) => {
            z.from_local_datetime(&b).earliest().map(|t| t.naive_utc()).unwrap_or(b) - a
        }
        (When::Zoned(a, z), When::Utc(b)) => {
            b - z.from_local_datetime(&a).earliest().map(|t| t.naive_utc()).unwrap_or(a)
        }
        (s, e) => naive(e) - naive(s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("PT1H30M"), Some(Duration::minutes(90)));
        assert_eq!(parse_duration("P1W"), Some(Duration::weeks(1)));
        assert_eq!(parse_duration("P1DT2H"), Some(Duration::hours(26)));
        assert_eq!(parse_duration("-PT15M"), Some(Duration::minutes(-15)));
        assert_eq!(parse_duration("P"), None);
        assert_eq!(parse_duration("PT1X"), None);
        assert_eq!(parse_duration("1H"), None);
    }

    #[test]
    fn rejects_what_is_not_a_calendar() {
        let z = chrono_tz::Tz::UTC;
        assert_eq!(Feed::parse("<html>login</html>", z, &[]).unwrap_err(), IcsError::NotIcs);
        assert!(matches!(Feed::parse("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\n", z, &[]), Err(IcsError::Malformed(_))));
    }

    #[test]
    fn until_in_local_form_is_read_as_utc() {
        assert_eq!(fix_until("FREQ=DAILY;UNTIL=20250301"), "FREQ=DAILY;UNTIL=20250301T235959Z");
        assert_eq!(
            fix_until("FREQ=DAILY;UNTIL=20250301T100000;BYDAY=MO"),
            "FREQ=DAILY;UNTIL=20250301T100000Z;BYDAY=MO"
        );
    }
}
