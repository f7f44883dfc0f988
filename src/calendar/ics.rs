//! iCalendar (RFC 5545) feeds to busy intervals: reads VEVENTs (through the forgiving line reader
//! in [`super::lines`]), expands RRULE/RDATE/EXDATE within a budget ([`super::expand`]), lets
//! RECURRENCE-ID overrides replace (or cancel) the occurrence they stand for (RANGE=THISANDFUTURE:
//! and the later ones), resolves Windows, vendor and the feed's own VTIMEZONE names, and keeps only
//! the events that really take the user away: not free/transparent, not cancelled, not declined,
//! all-day only when marked busy. A bad event is skipped with a note naming its line; the rest of
//! the feed is kept. All date arithmetic is checked.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, TimeZone as _, Utc};
use rrule::Tz as RTz;

use super::busy::{self, Response, Show};
use super::expand::{Budget, Rule};
use super::lines::{Comp, Prop};
use super::tz;

/// The longest event read: ten years. Longer DURATIONs (or DTENDs) are refused for that event.
const MAX_LENGTH_DAYS: i64 = 3_653;

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

/// How long an occurrence lasts: `days` are nominal (calendar days in the event's zone, so a
/// day across a DST change is 23 or 25 hours), `exact` is added as elapsed time, unless `wall`
/// (DTEND in the same zone as DTSTART: the whole length is wall-clock time, so a 09:00-10:00
/// meeting stays 09:00-10:00 and a two-day trip over the DST change is 49 hours).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Span {
    days: i64,
    exact: Duration,
    wall: bool,
}

impl Span {
    fn exact(d: Duration) -> Self {
        Self { days: 0, exact: d, wall: false }
    }

    /// An upper bound in milliseconds, for widening query windows.
    fn max_ms(&self) -> i64 {
        self.days.saturating_mul(25 * 3_600_000).saturating_add(self.exact.num_milliseconds()).max(0)
    }

    fn too_long(&self) -> bool {
        self.days > MAX_LENGTH_DAYS
            || self.exact > Duration::days(MAX_LENGTH_DAYS)
            || self.max_ms() > MAX_LENGTH_DAYS * 90_000_000
    }
}

/// One VEVENT, master or override.
#[derive(Debug, Clone)]
struct Event {
    uid: String,
    summary: String,
    start: When,
    span: Span,
    facts: busy::Facts,
    rrules: Vec<Rule>,
    /// RDATEs; a PERIOD value carries its own length.
    rdates: Vec<(When, Option<Span>)>,
    exdates: Vec<When>,
    recurrence_id: Option<When>,
    /// RECURRENCE-ID;RANGE=THISANDFUTURE: this override also changes every later occurrence.
    this_and_future: bool,
    /// SEQUENCE: of two versions of one event in a feed, the higher is the current one.
    sequence: i64,
}

/// A parsed feed, ready to answer "what is busy between these instants".
#[derive(Debug, Clone)]
pub struct Feed {
    events: Vec<Event>,
    /// The zone for floating times and all-day dates: X-WR-TIMEZONE, else the user's.
    local: RTz,
    /// TZIDs we could not resolve (their times were read in the local zone).
    pub unknown_zones: Vec<String>,
    /// Events and lines skipped because they could not be read, with the reason and the line
    /// (the first few in words, the rest counted).
    pub skipped: super::lines::Notes,
}

/// A busy block, in ms since the epoch.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Block {
    pub summary: String,
    pub start: i64,
    pub end: i64,
}

/// A feed's bytes as text: UTF-8 (its byte-order mark is dropped by [`Feed::parse`]), or UTF-16
/// as Windows Calendar saves it (with a byte-order mark, or recognised by its first letters);
/// anything unreadable becomes U+FFFD.
pub fn decode(bytes: &[u8]) -> String {
    let utf16 = |body: &[u8], le: bool| -> String {
        let units = body.chunks_exact(2).map(|c| {
            if le {
                u16::from_le_bytes([c[0], c[1]])
            } else {
                u16::from_be_bytes([c[0], c[1]])
            }
        });
        char::decode_utf16(units).map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER)).collect()
    };
    match bytes {
        [0xFF, 0xFE, rest @ ..] => utf16(rest, true),
        [0xFE, 0xFF, rest @ ..] => utf16(rest, false),
        [b'B', 0, b'E', 0, ..] => utf16(bytes, true),
        [0, b'B', 0, b'E', ..] => utf16(bytes, false),
        _ => String::from_utf8_lossy(bytes).into_owned(),
    }
}

/// TEXT values: `\,` `\;` `\n` `\\` unescaped.
fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut it = s.chars();
    while let Some(c) = it.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match it.next() {
            Some('n' | 'N') => out.push('\n'),
            Some(o) => out.push(o),
            None => out.push('\\'),
        }
    }
    out
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
        let parsed = super::lines::parse(trimmed).map_err(IcsError::Malformed)?;
        let root_prop = |name: &str| parsed.calendars.iter().find_map(|c| c.value(name));
        let local =
            root_prop("X-WR-TIMEZONE").and_then(|z| tz::resolve(z).or_else(|| tz::guess(z))).unwrap_or(user_zone);
        let mut owner: Vec<String> = owner.iter().map(|s| s.to_ascii_lowercase()).collect();
        if owner.is_empty() {
            if let Some(name) = root_prop("X-WR-CALNAME").filter(|n| n.contains('@') && !n.contains(' ')) {
                owner.push(name.to_ascii_lowercase());
            }
        }
        let local: RTz = local.into();
        let mut feed = Feed { events: Vec::new(), local, unknown_zones: Vec::new(), skipped: parsed.notes.clone() };
        let mut zones = Zones::new(&parsed.calendars);
        for c in parsed.calendars.iter().flat_map(|c| c.children.iter()).filter(|c| c.name == "VEVENT") {
            let mut notes = Vec::new();
            match read_event(c, &owner, &mut zones, local, &mut notes) {
                Ok(Some(e)) => feed.events.push(e),
                Ok(None) => {}
                Err(why) => {
                    let uid = c.value("UID").unwrap_or("no UID");
                    feed.skipped.push(if why.starts_with("line ") {
                        format!("event {uid}, {why}; the event is skipped")
                    } else {
                        format!("event {uid} at line {}: {why}; the event is skipped", c.line)
                    });
                }
            }
            feed.skipped.extend(notes);
        }
        feed.drop_older_versions();
        feed.unknown_zones = zones.unknown.into_iter().collect();
        feed.unknown_zones.sort();
        feed.preflight();
        Ok(feed)
    }

    /// Keeps only the latest version of an event written more than once (the same UID and
    /// RECURRENCE-ID with different SEQUENCEs), as clients do. Copies with the same SEQUENCE are
    /// all kept: some exporters give unrelated events one UID.
    fn drop_older_versions(&mut self) {
        let key = |e: &Event| (e.uid.clone(), e.recurrence_id.map(|w| format!("{w:?}")));
        let mut latest: HashMap<(String, Option<String>), i64> = HashMap::new();
        for e in self.events.iter().filter(|e| !e.uid.is_empty()) {
            let top = latest.entry(key(e)).or_insert(e.sequence);
            *top = (*top).max(e.sequence);
        }
        self.events.retain(|e| e.uid.is_empty() || latest.get(&key(e)).is_none_or(|top| e.sequence == *top));
    }

    /// Expands every rule once over the days the scheduler asks about, within one budget, so rules
    /// that never match or repeat too often are found (and said) now, and never starve the
    /// others' expansion later.
    fn preflight(&mut self) {
        let now = Utc::now();
        let (Some(lo), Some(hi)) =
            (now.checked_sub_signed(Duration::days(2)), now.checked_add_signed(Duration::days(9)))
        else {
            return;
        };
        let mut budget = Budget::default();
        let mut notes = Vec::new();
        for e in self.events.iter().filter(|e| e.recurrence_id.is_none()) {
            let first = instant(e.start, self.local);
            let (lo, hi) = (lo.with_timezone(&first.timezone()), hi.with_timezone(&first.timezone()));
            for r in &e.rrules {
                let _ = r.between(first, lo, hi, &mut budget);
                if r.is_costly() {
                    notes.push(format!(
                        "event {}: its RRULE repeats too often or never matches; it is not expanded",
                        e.uid
                    ));
                } else if budget.exhausted && !r.is_cheap() {
                    notes.push(format!(
                        "event {}: its RRULE could not be expanded within the time allowed; some of its occurrences may be missing",
                        e.uid
                    ));
                }
            }
        }
        self.skipped.extend(notes);
    }

    /// Number of VEVENTs read (masters and overrides).
    pub fn len(&self) -> usize {
        self.events.len()
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    fn instant(&self, w: When) -> DateTime<RTz> {
        instant(w, self.local)
    }

    /// Busy blocks overlapping `[from, to)` (ms since the epoch) under the default rules.
    pub fn busy(&self, from: i64, to: i64) -> Vec<Block> {
        self.busy_under(from, to, &busy::Rules::default())
    }

    /// Busy blocks overlapping `[from, to)` (ms since the epoch), sorted by start, with what
    /// counts as busy decided by `rules`. The work is bounded whatever the feed (see
    /// [`super::expand`]).
    pub fn busy_under(&self, from: i64, to: i64, rules: &busy::Rules) -> Vec<Block> {
        let (Some(from_t), Some(to_t)) =
            (DateTime::<Utc>::from_timestamp_millis(from), DateTime::<Utc>::from_timestamp_millis(to))
        else {
            return Vec::new();
        };
        let mut budget = Budget::default();
        // Overrides by series: the instants of the occurrences they replace, and the
        // THISANDFUTURE ones in order.
        let mut replaced: HashMap<&str, HashSet<i64>> = HashMap::new();
        let mut future: HashMap<&str, Vec<(DateTime<RTz>, &Event)>> = HashMap::new();
        // The days written in the RECURRENCE-IDs: an all-day series' occurrence is replaced by the
        // override of its day even when Exchange writes the RECURRENCE-ID as a zoned midnight.
        let mut replaced_days: HashMap<&str, HashSet<NaiveDate>> = HashMap::new();
        for e in &self.events {
            if let Some(rid) = e.recurrence_id {
                let day = match rid {
                    When::Utc(n) | When::Zoned(n, _) | When::Floating(n) => n.date(),
                    When::Date(d) => d,
                };
                replaced_days.entry(e.uid.as_str()).or_default().insert(day);
                let rid = self.instant(rid);
                replaced.entry(e.uid.as_str()).or_default().insert(rid.timestamp_millis());
                if e.this_and_future {
                    future.entry(e.uid.as_str()).or_default().push((rid, e));
                }
            }
        }
        for v in future.values_mut() {
            v.sort_by_key(|(rid, _)| *rid);
        }
        let mut out = Vec::new();
        // Events whose rules are known to be cheap first, so a costly rule found late never
        // takes the budget of the others.
        let known = |e: &&Event| e.rrules.iter().all(|r| r.is_cheap() || r.is_costly());
        let order = self.events.iter().filter(known).chain(self.events.iter().filter(|e| !known(e)));
        for e in order {
            let is_master = e.recurrence_id.is_none();
            let later = if is_master { future.get(e.uid.as_str()) } else { None };
            // Widen the window by the longest length and the largest THISANDFUTURE shift.
            let mut margin = e.span.max_ms();
            for (rid, o) in later.into_iter().flatten() {
                let shift = (self.instant(o.start).timestamp_millis() - rid.timestamp_millis()).abs();
                margin = margin.max(o.span.max_ms().saturating_add(shift));
            }
            let margin = Duration::milliseconds(margin.min(MAX_LENGTH_DAYS * 90_000_000));
            let (Some(lo), Some(hi)) = (from_t.checked_sub_signed(margin), to_t.checked_add_signed(margin)) else {
                continue;
            };
            let mut starts: Vec<(DateTime<RTz>, Span)> = Vec::new();
            if is_master && (!e.rrules.is_empty() || !e.rdates.is_empty()) {
                let first = self.instant(e.start);
                let (lo, hi) = (lo.with_timezone(&first.timezone()), hi.with_timezone(&first.timezone()));
                for r in &e.rrules {
                    starts.extend(r.between(first, lo, hi, &mut budget).into_iter().map(|d| (d, e.span)));
                }
                // DTSTART is always an occurrence, even where the rule would not give it (as
                // libical, Outlook and Google read it; Apple's holiday feeds rely on it).
                if first >= lo && first < hi {
                    starts.push((first, e.span));
                }
                for (d, span) in &e.rdates {
                    let d = self.instant(*d);
                    if d >= lo && d < hi {
                        starts.push((d, span.unwrap_or(e.span)));
                    }
                }
                let ex: HashSet<i64> = e.exdates.iter().map(|d| self.instant(*d).timestamp_millis()).collect();
                // An EXDATE date on a timed series removes that day's occurrences.
                let ex_days: HashSet<NaiveDate> = match e.start {
                    When::Date(_) => HashSet::new(),
                    _ => e.exdates.iter().filter_map(|d| if let When::Date(d) = d { Some(*d) } else { None }).collect(),
                };
                starts.retain(|(d, _)| !ex.contains(&d.timestamp_millis()) && !ex_days.contains(&d.date_naive()));
                starts.sort_by_key(|(d, _)| *d);
                starts.dedup_by_key(|(d, _)| *d);
            } else {
                starts.push((self.instant(e.start), e.span));
            }
            let skip = if is_master { replaced.get(e.uid.as_str()) } else { None };
            let skip_days = match e.start {
                When::Date(_) if is_master => replaced_days.get(e.uid.as_str()),
                _ => None,
            };
            for (s, span) in starts {
                let start = s.timestamp_millis();
                if skip.is_some_and(|r| r.contains(&start)) || skip_days.is_some_and(|r| r.contains(&s.date_naive())) {
                    continue;
                }
                // A THISANDFUTURE override before this occurrence: moved, and its properties.
                let (s, span, facts, summary) = match later.and_then(|v| v.iter().rev().find(|(rid, _)| *rid < s)) {
                    Some((rid, o)) => {
                        let shift = self.instant(o.start).signed_duration_since(*rid);
                        match s.checked_add_signed(shift) {
                            Some(moved) => (moved, o.span, o.facts, &o.summary),
                            None => continue,
                        }
                    }
                    None => (s, span, e.facts, &e.summary),
                };
                if !busy::counts(&facts, rules) {
                    continue;
                }
                let start = s.timestamp_millis();
                let Some(end) = end_of(&s, span) else { continue };
                if end > from && start < to && end > start {
                    out.push(Block { summary: summary.clone(), start, end });
                }
            }
        }
        if budget.exhausted {
            tracing::warn!("a calendar repeats too often to expand in full; some occurrences were left out");
        }
        out.sort_by_key(|b| (b.start, b.end));
        out
    }
}

mod read;

pub use read::parse_duration;
use read::*;

#[cfg(test)]
mod corpus;

#[cfg(test)]
mod tests;
