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

/// TZIDs as the feed resolves them: names we know, then the feed's own VTIMEZONEs.
struct Zones {
    own: HashMap<String, Option<chrono_tz::Tz>>,
    unknown: HashSet<String>,
    /// Rules already read, by text and DTSTART: copies share what expansion learns about them
    /// (a rule found costly once is costly for every event that repeats it).
    rules: HashMap<(String, i64, String), Rule>,
}

impl Zones {
    fn new(calendars: &[Comp]) -> Self {
        // Real files define a handful; a file defining thousands gets the first ones read.
        const MAX_OWN: usize = 32;
        let mut own = HashMap::new();
        let mut budget = Budget::default();
        for c in calendars.iter().flat_map(|c| c.children.iter()).filter(|c| c.name == "VTIMEZONE") {
            if let Some(id) = c.value("TZID") {
                let id = id.trim_matches('"').to_string();
                if tz::resolve(&id).is_none() && !own.contains_key(&id) && own.len() < MAX_OWN {
                    // libical and Thunderbird name the zone they describe.
                    let named = c.value("X-LIC-LOCATION").and_then(tz::resolve);
                    own.insert(id, named.or_else(|| super::vtimezone::to_iana(c, &mut budget)));
                }
            }
        }
        Self { own, unknown: HashSet::new(), rules: HashMap::new() }
    }

    fn resolve(&mut self, id: &str) -> Option<chrono_tz::Tz> {
        let id = id.trim().trim_matches('"');
        if let Some(z) = tz::resolve(id).or_else(|| self.own.get(id).copied().flatten()).or_else(|| tz::guess(id)) {
            return Some(z);
        }
        self.unknown.insert(id.to_string());
        None
    }
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

fn instant(w: When, local: RTz) -> DateTime<RTz> {
    match w {
        When::Utc(n) => RTz::UTC.from_utc_datetime(&n),
        When::Zoned(n, z) => pick(n, z.into()),
        When::Floating(n) => pick(n, local),
        When::Date(d) => pick(d.and_time(chrono::NaiveTime::MIN), local),
    }
}

/// Where an occurrence starting at `s` ends, if that is a representable instant.
fn end_of(s: &DateTime<RTz>, span: Span) -> Option<i64> {
    let tz = s.timezone();
    let days = chrono::Days::new(span.days.unsigned_abs());
    let shifted = |n: NaiveDateTime| if span.days >= 0 { n.checked_add_days(days) } else { n.checked_sub_days(days) };
    if span.wall {
        let n = shifted(s.naive_local())?.checked_add_signed(span.exact)?;
        Some(pick(n, tz).timestamp_millis())
    } else {
        let base = if span.days == 0 { *s } else { pick(shifted(s.naive_local())?, tz) };
        base.timestamp_millis().checked_add(span.exact.num_milliseconds())
    }
}

/// A wall-clock time in a zone; a nonexistent local time (a DST gap) moves forward by the gap,
/// like calendars do.
fn pick(naive: NaiveDateTime, zone: RTz) -> DateTime<RTz> {
    zone.from_local_datetime(&naive)
        .earliest()
        .or_else(|| naive.checked_add_signed(Duration::hours(1)).and_then(|n| zone.from_local_datetime(&n).earliest()))
        .unwrap_or_else(|| zone.from_utc_datetime(&naive))
}

fn read_when(p: &Prop, zones: &mut Zones) -> Result<When, String> {
    read_value(p.value.trim(), p, zones)
}

fn read_value(v: &str, p: &Prop, zones: &mut Zones) -> Result<When, String> {
    let bad = || format!("line {}: {} {v:?} is not a date or date-time", p.line, p.name);
    // A date, also with a `Z` (older Google birthday feeds). `VALUE=DATE` on a date-time is read
    // as the date-time written, which says more (as python-icalendar and Ical.Net read it).
    let declared_date = p.param("VALUE").is_some_and(|t| t.eq_ignore_ascii_case("DATE"));
    let digits = v.get(..8).filter(|d| d.bytes().all(|b| b.is_ascii_digit()));
    match (digits, v.get(8..)) {
        (Some(d), Some("" | "Z" | "z")) => {
            return NaiveDate::parse_from_str(d, "%Y%m%d").map(When::Date).map_err(|_| bad());
        }
        _ if declared_date && !v.contains(['T', 't']) => return Err(bad()),
        _ => {}
    }
    if let Some(utc) = v.strip_suffix('Z').or_else(|| v.strip_suffix('z')) {
        return NaiveDateTime::parse_from_str(utc, "%Y%m%dT%H%M%S").map(When::Utc).map_err(|_| bad());
    }
    let naive = NaiveDateTime::parse_from_str(v, "%Y%m%dT%H%M%S").map_err(|_| bad())?;
    match p.param("TZID") {
        Some(id) => Ok(zones.resolve(id).map_or(When::Floating(naive), |z| When::Zoned(naive, z))),
        None => Ok(When::Floating(naive)),
    }
}

/// One RDATE value: a date, a date-time, or (VALUE=PERIOD) `start/end` or `start/duration`.
fn read_rdate(v: &str, p: &Prop, zones: &mut Zones, local: RTz) -> Result<(When, Option<Span>), String> {
    let Some((a, b)) = v.split_once('/') else { return Ok((read_value(v, p, zones)?, None)) };
    let start = read_value(a.trim(), p, zones)?;
    let b = b.trim();
    let span = if b.starts_with(['P', 'p', '+', '-']) {
        duration(b).map_err(|why| format!("line {}: RDATE period {v:?}: {why}", p.line))?
    } else {
        let end = read_value(b, p, zones)?;
        Span::exact(instant(end, local).signed_duration_since(instant(start, local)))
    };
    Ok((start, Some(span)))
}

/// RFC 5545 durations (`P1W`, `P1D`, `PT1H30M`, `-PT15M`, `P1DT2H`): weeks and days nominal,
/// hours, minutes and seconds exact. Every step is checked; `Err` says what is wrong.
fn duration(s: &str) -> Result<Span, String> {
    let t = s.trim();
    let (neg, rest) = match t.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let bad = || format!("{s:?} is not a duration");
    let big = || format!("DURATION {s:?} is longer than ten years");
    let rest = rest.strip_prefix(['P', 'p']).ok_or_else(bad)?;
    let (mut days, mut secs, mut num, mut in_time, mut any) = (0i64, 0i64, String::new(), false, false);
    for ch in rest.chars() {
        match ch.to_ascii_uppercase() {
            '0'..='9' => num.push(ch),
            'T' if num.is_empty() && !in_time => in_time = true,
            u @ ('W' | 'D' | 'H' | 'M' | 'S') => {
                let n: i64 = num.parse().map_err(|_| if num.is_empty() { bad() } else { big() })?;
                num.clear();
                any = true;
                match (u, in_time) {
                    ('W', false) => days = n.checked_mul(7).and_then(|w| days.checked_add(w)).ok_or_else(big)?,
                    ('D', false) => days = days.checked_add(n).ok_or_else(big)?,
                    ('H', true) => secs = n.checked_mul(3600).and_then(|h| secs.checked_add(h)).ok_or_else(big)?,
                    ('M', true) => secs = n.checked_mul(60).and_then(|m| secs.checked_add(m)).ok_or_else(big)?,
                    ('S', true) => secs = secs.checked_add(n).ok_or_else(big)?,
                    _ => return Err(bad()),
                }
            }
            _ => return Err(bad()),
        }
    }
    if !any || !num.is_empty() {
        return Err(bad());
    }
    if days > MAX_LENGTH_DAYS || secs > MAX_LENGTH_DAYS * 86_400 {
        return Err(big());
    }
    let exact = Duration::try_seconds(secs).ok_or_else(big)?;
    Ok(if neg { Span { days: -days, exact: -exact, wall: false } } else { Span { days, exact, wall: false } })
}

/// What the event says about the user's time, for [`busy::counts`]: Outlook's busy status first,
/// then TRANSP (TRANSPARENT always frees), then a tentative STATUS; the user's own PARTSTAT when
/// `owner` names them.
fn facts(c: &Comp, status: &str, all_day: bool, owner: &[String]) -> busy::Facts {
    let transp = c.value("TRANSP").map(|t| t.trim().to_ascii_uppercase());
    let cdo = c.value("X-MICROSOFT-CDO-BUSYSTATUS").map(|t| t.trim().to_ascii_uppercase());
    let show = match (cdo.as_deref(), transp.as_deref()) {
        (_, Some("TRANSPARENT")) | (Some("FREE"), _) => Show::Free,
        (Some("BUSY"), _) => Show::Busy,
        (Some("OOF"), _) => Show::OutOfOffice,
        (Some("TENTATIVE"), _) => Show::Tentative,
        (Some("WORKINGELSEWHERE"), _) => Show::WorkingElsewhere,
        // An unknown busy status says nothing; TRANSP alone is read only without one.
        (None, Some("OPAQUE")) => Show::Busy,
        _ if status == "TENTATIVE" => Show::Tentative,
        _ => Show::Unstated,
    };
    let mine = c.all("ATTENDEE").find(|p| {
        let addr = p.value.trim().trim_start_matches("mailto:").trim_start_matches("MAILTO:").to_ascii_lowercase();
        owner.contains(&addr)
    });
    let response = match mine.and_then(|p| p.param("PARTSTAT")).map(|s| s.trim().to_ascii_uppercase()).as_deref() {
        Some("DECLINED") => Response::Declined,
        Some("TENTATIVE") => Response::Tentative,
        Some("ACCEPTED") => Response::Accepted,
        _ => Response::None,
    };
    busy::Facts { all_day, cancelled: status == "CANCELLED", show, response }
}

/// RFC 5545 durations as exact time (`P1D` = 24 h); `None` when unreadable or absurd.
pub fn parse_duration(s: &str) -> Option<Duration> {
    let span = duration(s).ok()?;
    Duration::try_days(span.days)?.checked_add(&span.exact)
}

fn read_event(
    c: &Comp,
    owner: &[String],
    zones: &mut Zones,
    local: RTz,
    notes: &mut Vec<String>,
) -> Result<Option<Event>, String> {
    let status = c.value("STATUS").unwrap_or_default().to_ascii_uppercase();
    let uid = c.value("UID").unwrap_or_default().to_string();
    let rid_prop = c.prop("RECURRENCE-ID");
    let recurrence_id = rid_prop.map(|p| read_when(p, zones)).transpose()?;
    let this_and_future =
        rid_prop.and_then(|p| p.param("RANGE")).is_some_and(|r| r.eq_ignore_ascii_case("THISANDFUTURE"));
    // A cancelled master has nothing to show; a cancelled override still replaces its occurrence.
    if status == "CANCELLED" && recurrence_id.is_none() {
        return Ok(None);
    }
    let start = read_when(c.prop("DTSTART").ok_or("no DTSTART")?, zones)?;
    let all_day = matches!(start, When::Date(_));
    let span = if let Some(end) = c.prop("DTEND") {
        let end = read_when(end, zones)?;
        let length = span(start, end);
        if length > Duration::days(MAX_LENGTH_DAYS) {
            return Err("DTEND is more than ten years after DTSTART".into());
        }
        Span { days: 0, exact: length, wall: same_frame(start, end) }
    } else if let Some(d) = c.prop("DURATION") {
        let mut s = duration(d.value.trim()).map_err(|why| format!("line {}: {why}", d.line))?;
        // All-day events keep to calendar days.
        s.wall = all_day;
        s
    } else if all_day {
        Span { days: 1, exact: Duration::zero(), wall: true }
    } else {
        Span::exact(Duration::zero())
    };
    if span.too_long() {
        return Err("it lasts more than ten years".into());
    }
    let facts = facts(c, &status, all_day, owner);
    let first = instant(start, local);
    let mut rrules = Vec::new();
    // An empty RRULE (calendarlabs.com exports one on every event) repeats nothing.
    for p in c.all("RRULE").filter(|p| !p.value.trim().is_empty()) {
        let key = (p.value.trim().to_string(), first.timestamp_millis(), format!("{:?}", first.timezone()));
        if let Some(r) = zones.rules.get(&key) {
            rrules.push(r.clone());
            continue;
        }
        match Rule::parse(p.value.trim(), first) {
            Ok(r) => {
                zones.rules.insert(key, r.clone());
                rrules.push(r);
            }
            // A rule we refuse: the series counts only its first occurrence.
            Err(why) => notes.push(format!("event {uid}, line {}: {why}; only its first occurrence counts", p.line)),
        }
    }
    // RDATE and EXDATE: every line, every comma-separated value; a bad value is skipped alone.
    let mut rdates = Vec::new();
    for p in c.all("RDATE") {
        for v in p.value.split(',').map(str::trim).filter(|v| !v.is_empty()) {
            match read_rdate(v, p, zones, local) {
                Ok((w, Some(s))) if s.too_long() => {
                    notes.push(format!("event {uid}, line {}: RDATE {v:?} lasts more than ten years; skipped", p.line));
                    let _ = w;
                }
                Ok(r) => rdates.push(r),
                Err(why) => notes.push(format!("event {uid}, {why}; that date is skipped")),
            }
        }
    }
    let mut exdates = Vec::new();
    for p in c.all("EXDATE") {
        for v in p.value.split(',').map(str::trim).filter(|v| !v.is_empty()) {
            match read_value(v, p, zones) {
                Ok(w) => exdates.push(w),
                Err(why) => notes.push(format!("event {uid}, {why}; that exception is skipped")),
            }
        }
    }
    // A floating EXDATE, RDATE or RECURRENCE-ID on a zoned or UTC event (Outlook writes them) is in
    // the event's zone, as clients read it.
    let recurrence_id = recurrence_id.map(|w| in_frame_of(w, start));
    let exdates = exdates.into_iter().map(|w| in_frame_of(w, start)).collect();
    let rdates = rdates.into_iter().map(|(w, s)| (in_frame_of(w, start), s)).collect();
    Ok(Some(Event {
        uid,
        summary: c.value("SUMMARY").map(unescape).unwrap_or_else(|| "(busy)".into()),
        start,
        span,
        facts,
        rrules,
        rdates,
        exdates,
        recurrence_id,
        this_and_future,
        sequence: c.value("SEQUENCE").and_then(|v| v.parse().ok()).unwrap_or(0),
    }))
}

/// A floating time read in the zone (or as UTC) of `start`; other times unchanged.
fn in_frame_of(w: When, start: When) -> When {
    match (w, start) {
        (When::Floating(n), When::Zoned(_, z)) => When::Zoned(n, z),
        (When::Floating(n), When::Utc(_)) => When::Utc(n),
        _ => w,
    }
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
        When::Date(d) => d.and_time(chrono::NaiveTime::MIN),
    };
    let utc =
        |n: NaiveDateTime, z: chrono_tz::Tz| z.from_local_datetime(&n).earliest().map(|t| t.naive_utc()).unwrap_or(n);
    match (start, end) {
        (When::Zoned(a, za), When::Zoned(b, zb)) if za != zb => utc(b, zb) - utc(a, za),
        (When::Utc(a), When::Zoned(b, z)) => utc(b, z) - a,
        (When::Zoned(a, z), When::Utc(b)) => b - utc(a, z),
        (s, e) => naive(e) - naive(s),
    }
}

#[cfg(test)]
mod corpus;

#[cfg(test)]
mod tests {
    use super::*;

    const BERLIN: chrono_tz::Tz = chrono_tz::Europe::Berlin;

    fn ms(s: &str) -> i64 {
        s.parse::<DateTime<Utc>>().unwrap().timestamp_millis()
    }

    fn cal(events: &str) -> String {
        format!("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n{events}END:VCALENDAR\r\n")
    }

    fn blocks(feed: &Feed, from: &str, to: &str) -> Vec<(String, i64, i64)> {
        feed.busy(ms(from), ms(to)).into_iter().map(|b| (b.summary, b.start, b.end)).collect()
    }

    #[test]
    fn tentative_meetings_follow_the_tentative_rule_and_working_elsewhere_is_free() {
        let text = cal("BEGIN:VEVENT\r\nUID:maybe\r\nDTSTART:20261020T090000Z\r\nDTEND:20261020T100000Z\r\nSUMMARY:Maybe\r\nATTENDEE;PARTSTAT=TENTATIVE:mailto:Me@Example.org\r\nEND:VEVENT\r\n\
             BEGIN:VEVENT\r\nUID:pencil\r\nDTSTART:20261020T110000Z\r\nDTEND:20261020T120000Z\r\nSUMMARY:Pencilled\r\nSTATUS:TENTATIVE\r\nEND:VEVENT\r\n\
             BEGIN:VEVENT\r\nUID:away\r\nDTSTART:20261020T130000Z\r\nDTEND:20261020T140000Z\r\nSUMMARY:Office B\r\nX-MICROSOFT-CDO-BUSYSTATUS:WORKINGELSEWHERE\r\nEND:VEVENT\r\n");
        let feed = Feed::parse(&text, BERLIN, &["me@example.org".to_string()]).unwrap();
        let (from, to) = (ms("2026-10-20T00:00:00Z"), ms("2026-10-21T00:00:00Z"));
        let names = |rules: &busy::Rules| -> Vec<String> {
            feed.busy_under(from, to, rules).into_iter().map(|b| b.summary).collect()
        };
        assert_eq!(names(&busy::Rules { tentative_busy: true }), ["Maybe", "Pencilled"]);
        assert!(names(&busy::Rules { tentative_busy: false }).is_empty());
    }

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
    fn absurd_durations_skip_their_event_and_never_panic() {
        for d in [
            "P999999999999999999W",
            "PT9999999999999999H",
            "P99999999W",
            "P99999999999999999999D",
            "PT9223372036854775807S",
        ] {
            assert!(parse_duration(d).is_none(), "{d}");
            let text = cal(&format!(
                "BEGIN:VEVENT\r\nUID:bad\r\nDTSTART:20261020T090000Z\r\nDURATION:{d}\r\nSUMMARY:Bad\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:allday\r\nDTSTART;VALUE=DATE:20261021\r\nDURATION:{d}\r\nTRANSP:OPAQUE\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:good\r\nDTSTART:20261022T090000Z\r\nDURATION:PT1H\r\nSUMMARY:Good\r\nEND:VEVENT\r\n"
            ));
            let feed = Feed::parse(&text, BERLIN, &[]).unwrap();
            assert_eq!(feed.len(), 1, "{d}: {:?}", feed.skipped);
            assert_eq!(feed.skipped.len(), 2, "{:?}", feed.skipped);
            assert!(feed.skipped[0].contains("line 6") && feed.skipped[0].contains("event bad"), "{:?}", feed.skipped);
            let got = blocks(&feed, "2026-10-19T00:00:00Z", "2026-11-16T00:00:00Z");
            assert_eq!(got, vec![("Good".into(), ms("2026-10-22T09:00:00Z"), ms("2026-10-22T10:00:00Z"))]);
        }
        // Extreme queries never panic either.
        let feed = Feed::parse(&cal("BEGIN:VEVENT\r\nUID:x\r\nDTSTART:20261022T090000Z\r\nDURATION:P3000D\r\nRRULE:FREQ=DAILY\r\nEND:VEVENT\r\n"), BERLIN, &[]).unwrap();
        let _ = feed.busy(i64::MIN, i64::MAX);
        let _ = feed.busy(-8_000_000_000_000_000, 8_000_000_000_000_000);
        let _ = feed.busy(253_402_300_000_000, 253_402_300_000_000 + 86_400_000);
    }

    #[test]
    fn day_durations_are_calendar_days_and_hours_are_exact() {
        // The EU DST change is on 2026-10-25 (25 hours long in Berlin).
        let text = cal("BEGIN:VEVENT\r\nUID:d\r\nDTSTART;TZID=Europe/Berlin:20261024T100000\r\nDURATION:P1D\r\nSUMMARY:Day\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:h\r\nDTSTART;TZID=Europe/Berlin:20261024T100000\r\nDURATION:PT24H\r\nSUMMARY:Hours\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:dh\r\nDTSTART;TZID=Europe/Berlin:20261024T100000\r\nDURATION:P1DT1H\r\nSUMMARY:Both\r\nEND:VEVENT\r\n");
        let feed = Feed::parse(&text, BERLIN, &[]).unwrap();
        let got = blocks(&feed, "2026-10-19T00:00:00Z", "2026-11-16T00:00:00Z");
        let start = ms("2026-10-24T08:00:00Z");
        let end = |s: &str| got.iter().find(|b| b.0 == s).unwrap().2;
        assert_eq!(end("Day"), ms("2026-10-25T09:00:00Z"), "10:00 the next day, Berlin winter time");
        assert_eq!(end("Hours"), start + 24 * 3_600_000);
        assert_eq!(end("Both"), ms("2026-10-25T10:00:00Z"));
    }

    #[test]
    fn rdate_periods_expand() {
        let text = cal("BEGIN:VEVENT\r\nUID:p\r\nDTSTART:20261020T090000Z\r\nDTEND:20261020T100000Z\r\nRDATE;VALUE=PERIOD:20261021T130000Z/20261021T160000Z,20261022T080000Z/PT30M\r\nRDATE:20261023T090000Z\r\nSUMMARY:Series\r\nEND:VEVENT\r\n");
        let feed = Feed::parse(&text, BERLIN, &[]).unwrap();
        assert!(feed.skipped.is_empty(), "{:?}", feed.skipped);
        let got: Vec<(i64, i64)> =
            blocks(&feed, "2026-10-19T00:00:00Z", "2026-11-16T00:00:00Z").into_iter().map(|b| (b.1, b.2)).collect();
        assert_eq!(
            got,
            vec![
                (ms("2026-10-20T09:00:00Z"), ms("2026-10-20T10:00:00Z")),
                (ms("2026-10-21T13:00:00Z"), ms("2026-10-21T16:00:00Z")),
                (ms("2026-10-22T08:00:00Z"), ms("2026-10-22T08:30:00Z")),
                (ms("2026-10-23T09:00:00Z"), ms("2026-10-23T10:00:00Z")),
            ]
        );
    }

    #[test]
    fn this_and_future_overrides_move_the_later_occurrences() {
        // Daily 09:00-10:00 UTC; from the 22nd on, 14:00-15:30 and renamed.
        let text = cal("BEGIN:VEVENT\r\nUID:s\r\nDTSTART:20261020T090000Z\r\nDTEND:20261020T100000Z\r\nRRULE:FREQ=DAILY;COUNT=5\r\nSUMMARY:Old\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:s\r\nRECURRENCE-ID;RANGE=THISANDFUTURE:20261022T090000Z\r\nDTSTART:20261022T140000Z\r\nDTEND:20261022T153000Z\r\nSUMMARY:New\r\nEND:VEVENT\r\n");
        let feed = Feed::parse(&text, BERLIN, &[]).unwrap();
        let got = blocks(&feed, "2026-10-19T00:00:00Z", "2026-11-16T00:00:00Z");
        let want: Vec<(String, i64, i64)> = [
            ("Old", "2026-10-20T09:00:00Z", "2026-10-20T10:00:00Z"),
            ("Old", "2026-10-21T09:00:00Z", "2026-10-21T10:00:00Z"),
            ("New", "2026-10-22T14:00:00Z", "2026-10-22T15:30:00Z"),
            ("New", "2026-10-23T14:00:00Z", "2026-10-23T15:30:00Z"),
            ("New", "2026-10-24T14:00:00Z", "2026-10-24T15:30:00Z"),
        ]
        .into_iter()
        .map(|(s, a, b)| (s.to_string(), ms(a), ms(b)))
        .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn a_secondly_rule_from_1970_answers_quickly() {
        let text = cal("BEGIN:VEVENT\r\nUID:spin\r\nDTSTART:19700101T000000Z\r\nDTEND:19700101T000001Z\r\nRRULE:FREQ=SECONDLY\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:spin2\r\nDTSTART:19700101T000000Z\r\nDTEND:19700101T000001Z\r\nRRULE:FREQ=SECONDLY;UNTIL=20991231T000000Z\r\nEND:VEVENT\r\n");
        let feed = Feed::parse(&text, BERLIN, &[]).unwrap();
        assert!(feed.skipped.iter().any(|s| s.contains("every second without end")), "{:?}", feed.skipped);
        let t = std::time::Instant::now();
        let _ = feed.busy(ms("2026-10-19T00:00:00Z"), ms("2026-11-16T00:00:00Z"));
        assert!(t.elapsed() < std::time::Duration::from_secs(3), "{:?}", t.elapsed());
    }

    #[test]
    fn a_daily_block_with_a_huge_count_from_1970_is_busy_every_day() {
        let text = cal("BEGIN:VEVENT\r\nUID:standup\r\nDTSTART:19700101T090000Z\r\nDTEND:19700101T091500Z\r\nRRULE:FREQ=DAILY;COUNT=1000000000\r\nEND:VEVENT\r\n");
        let feed = Feed::parse(&text, BERLIN, &[]).unwrap();
        assert!(feed.skipped.is_empty(), "{:?}", feed.skipped);
        let got = feed.busy(ms("2026-10-19T00:00:00Z"), ms("2026-11-16T00:00:00Z"));
        assert_eq!(got.len(), 28, "{got:?}");
        assert_eq!(got[0].start, ms("2026-10-19T09:00:00Z"));
    }

    #[test]
    fn many_rules_that_never_match_stay_within_the_query_budget() {
        let events: String = (0..300)
            .map(|i| format!("BEGIN:VEVENT\r\nUID:n{i}\r\nDTSTART:19700101T090000Z\r\nDTEND:19700101T100000Z\r\nRRULE:FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30\r\nEND:VEVENT\r\n"))
            .collect();
        let zones: String = (0..200)
            .map(|i| format!("BEGIN:VTIMEZONE\r\nTZID:Zone {i}\r\nBEGIN:STANDARD\r\nDTSTART:16010101T000000\r\nTZOFFSETFROM:+0117\r\nTZOFFSETTO:+0117\r\nRRULE:FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n"))
            .collect();
        let t = std::time::Instant::now();
        let feed = Feed::parse(&cal(&(zones + &events)), BERLIN, &[]).unwrap();
        let _ = feed.busy(ms("2026-10-19T00:00:00Z"), ms("2026-11-16T00:00:00Z"));
        assert!(t.elapsed() < std::time::Duration::from_secs(20), "{:?}", t.elapsed());
        eprintln!("300 never-matching rules and 200 custom zones: {:?}", t.elapsed());
    }

    #[test]
    fn rejects_what_is_not_a_calendar() {
        let z = chrono_tz::Tz::UTC;
        assert_eq!(Feed::parse("<html>login</html>", z, &[]).unwrap_err(), IcsError::NotIcs);
        let e = Feed::parse("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\n", z, &[]).unwrap_err();
        assert!(matches!(&e, IcsError::Malformed(m) if m.contains("line 2")), "{e}");
    }

    #[test]
    fn one_bad_line_or_event_never_rejects_the_feed() {
        let text = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:1\r\nDTSTART:20261020T090000Z\r\nDTEND:20261020T100000Z\r\nSUMMARY:Kept\\, with comma\r\nthis line has no colon\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:2\r\nDTSTART:2026-10-21\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:3\r\nDTSTART:20261022T090000Z\r\nDTEND:20261022T100000Z\r\nEXDATE:garbage\r\nSUMMARY:Also kept\r\nEND:VEVENTS\r\nEND:VCALENDAR\r\ntrailing Podio text\r\n";
        let feed = Feed::parse(text, BERLIN, &[]).unwrap();
        let got: Vec<String> =
            blocks(&feed, "2026-10-19T00:00:00Z", "2026-11-16T00:00:00Z").into_iter().map(|b| b.0).collect();
        assert_eq!(got, ["Kept, with comma", "Also kept"]);
        let joined = feed.skipped.join("\n");
        for want in ["line 8:", "event 2, line 12:", "line 18:", "line 20:", "after END:VCALENDAR"] {
            assert!(joined.contains(want), "{want} missing from {joined}");
        }
        for jargon in ["Many0", "Satisfy", "Eof", "nom"] {
            assert!(!joined.contains(jargon), "{joined}");
        }
    }

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(format!("{}/tests/data/calendars/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
    }

    #[test]
    fn feeds_saved_as_utf16_are_read() {
        let bytes = fixture("corpus-utf16.ics");
        let feed = Feed::parse(&decode(&bytes), BERLIN, &[]).unwrap();
        let got = blocks(&feed, "2026-10-19T00:00:00Z", "2026-11-16T00:00:00Z");
        assert_eq!(got, vec![("Café with Zoë".into(), ms("2026-10-20T09:00:00Z"), ms("2026-10-20T10:00:00Z"))]);
        // Big-endian, and without a byte-order mark, the same.
        let text = String::from_utf16(
            &bytes[2..].chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect::<Vec<_>>(),
        )
        .unwrap();
        let be: Vec<u8> = [0xFE, 0xFF].into_iter().chain(text.encode_utf16().flat_map(u16::to_be_bytes)).collect();
        let bare: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
        for b in [be, bare] {
            assert_eq!(decode(&b), text);
        }
        assert_eq!(decode(b"BEGIN:VCALENDAR\xff"), "BEGIN:VCALENDAR\u{fffd}");
        // An odd byte count or a lone surrogate is replaced, never a panic.
        assert_eq!(decode(&[0xFF, 0xFE, b'B', 0, 0x00, 0xD8, b'x']), "B\u{fffd}");
    }

    #[test]
    fn loosely_written_dates_and_empty_rrules_are_read_as_clients_do() {
        let text = decode(&fixture("corpus-loose-dates.ics"));
        let feed = Feed::parse(&text, BERLIN, &[]).unwrap();
        assert!(feed.skipped.is_empty(), "{:?}", feed.skipped);
        let got = blocks(&feed, "2026-10-19T00:00:00Z", "2026-11-16T00:00:00Z");
        let want: Vec<(String, i64, i64)> = [
            ("Festival (VALUE=DATE with a time after the date)", "2026-10-20T10:00:00Z", "2026-10-22T10:00:00Z"),
            ("Birthday (an RDATE date with a Z)", "2026-10-22T22:00:00Z", "2026-10-23T22:00:00Z"),
            ("Holiday (an empty RRULE)", "2026-10-25T23:00:00Z", "2026-10-26T23:00:00Z"),
            ("Birthday (an RDATE date with a Z)", "2026-10-26T23:00:00Z", "2026-10-27T23:00:00Z"),
        ]
        .into_iter()
        .map(|(s, a, b)| (s.to_string(), ms(a), ms(b)))
        .collect();
        assert_eq!(got, want);
        // A broken date is still refused with its line: nine digits, or VALUE=DATE on words.
        let bad = cal("BEGIN:VEVENT\r\nUID:x\r\nDTSTART:199700819T220000Z\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:y\r\nDTSTART;VALUE=DATE:Next Year\r\nEND:VEVENT\r\n");
        let feed = Feed::parse(&bad, BERLIN, &[]).unwrap();
        assert_eq!(feed.len(), 0);
        assert!(feed.skipped[0].contains("line 5: DTSTART \"199700819T220000Z\" is not a date"), "{:?}", feed.skipped);
        assert!(feed.skipped[1].contains("line 9: DTSTART \"Next Year\" is not a date"), "{:?}", feed.skipped);
    }

    #[test]
    fn odd_line_ends_quote_slips_and_lotus_names_are_read() {
        for (name, want) in [
            (
                "corpus-crcrlf.ics",
                ("Planning with a blank line inside the fold", "2026-10-20T09:00:00Z", "2026-10-20T10:00:00Z"),
            ),
            ("corpus-cr-only.ics", ("Review", "2026-10-21T09:00:00Z", "2026-10-21T10:00:00Z")),
            ("corpus-quote-slip.ics", ("Timesheets", "2026-10-22T07:00:00Z", "2026-10-22T07:30:00Z")),
        ] {
            let feed = Feed::parse(&decode(&fixture(name)), BERLIN, &[]).unwrap();
            assert!(feed.skipped.is_empty() && feed.unknown_zones.is_empty(), "{name}: {:?}", feed.skipped);
            let got = blocks(&feed, "2026-10-19T00:00:00Z", "2026-11-16T00:00:00Z");
            assert_eq!(got, vec![(want.0.to_string(), ms(want.1), ms(want.2))], "{name}");
        }
    }

    #[test]
    fn zones_named_as_outlook_and_lotus_show_them_are_read_in_that_zone() {
        let feed = Feed::parse(&decode(&fixture("corpus-display-zones.ics")), BERLIN, &[]).unwrap();
        assert!(feed.unknown_zones.is_empty() && feed.skipped.is_empty(), "{:?}", feed.unknown_zones);
        let got: Vec<(String, i64)> =
            blocks(&feed, "2026-10-19T00:00:00Z", "2026-11-16T00:00:00Z").into_iter().map(|b| (b.0, b.1)).collect();
        let want: Vec<(String, i64)> = [
            ("New York stand-up", "2026-10-21T13:00:00Z"),
            ("Berlin review", "2026-10-22T07:00:00Z"),
            ("São Paulo sync", "2026-10-23T12:00:00Z"),
            ("Notes meeting", "2026-10-27T08:00:00Z"),
        ]
        .into_iter()
        .map(|(s, a)| (s.to_string(), ms(a)))
        .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn a_files_zone_with_old_dst_rules_reads_as_the_nearest_real_zone() {
        let feed = Feed::parse(&decode(&fixture("corpus-old-us-rules.ics")), BERLIN, &[]).unwrap();
        assert!(feed.unknown_zones.is_empty(), "{:?}", feed.unknown_zones);
        let got = blocks(&feed, "2026-10-19T00:00:00Z", "2026-11-16T00:00:00Z");
        assert_eq!(got, vec![("Board call".into(), ms("2026-10-20T13:00:00Z"), ms("2026-10-20T14:00:00Z"))]);
    }

    #[test]
    fn floating_and_date_exdates_and_an_off_rule_dtstart_are_read_as_clients_do() {
        let feed = Feed::parse(&decode(&fixture("corpus-series-exceptions.ics")), BERLIN, &[]).unwrap();
        assert!(feed.skipped.is_empty() && feed.unknown_zones.is_empty(), "{:?}", feed.skipped);
        let got = blocks(&feed, "2026-10-19T00:00:00Z", "2026-11-16T00:00:00Z");
        let (sync, run, vote) =
            ("Weekly sync (a floating EXDATE)", "Evening run (an EXDATE date)", "Election day (DTSTART off the rule)");
        let want: Vec<(String, i64, i64)> = [
            (vote, "2026-10-19T22:00:00Z", "2026-10-20T22:00:00Z"),
            (run, "2026-10-20T16:00:00Z", "2026-10-20T17:00:00Z"),
            (run, "2026-10-22T16:00:00Z", "2026-10-22T17:00:00Z"),
            (sync, "2026-10-30T08:00:00Z", "2026-10-30T09:00:00Z"),
            (vote, "2026-11-02T23:00:00Z", "2026-11-03T23:00:00Z"),
            (sync, "2026-11-06T08:00:00Z", "2026-11-06T09:00:00Z"),
            (sync, "2026-11-13T08:00:00Z", "2026-11-13T09:00:00Z"),
        ]
        .into_iter()
        .map(|(s, a, b)| (s.to_string(), ms(a), ms(b)))
        .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn an_all_day_override_with_a_zoned_midnight_recurrence_id_replaces_its_day() {
        let feed = Feed::parse(&decode(&fixture("corpus-allday-moved.ics")), BERLIN, &[]).unwrap();
        assert!(feed.skipped.is_empty() && feed.unknown_zones.is_empty(), "{:?}", feed.skipped);
        let got: Vec<(String, i64)> =
            blocks(&feed, "2026-10-19T00:00:00Z", "2026-11-16T00:00:00Z").into_iter().map(|b| (b.0, b.1)).collect();
        let want: Vec<(String, i64)> = [
            ("Site visit", "2026-10-19T22:00:00Z"),
            ("Site visit (moved)", "2026-10-28T23:00:00Z"),
            ("Site visit", "2026-11-02T23:00:00Z"),
            ("Site visit", "2026-11-09T23:00:00Z"),
        ]
        .into_iter()
        .map(|(s, a)| (s.to_string(), ms(a)))
        .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn of_two_versions_of_an_event_the_higher_sequence_wins() {
        let feed = Feed::parse(&decode(&fixture("corpus-two-versions.ics")), BERLIN, &[]).unwrap();
        let got: Vec<(String, i64)> =
            blocks(&feed, "2026-10-19T00:00:00Z", "2026-11-16T00:00:00Z").into_iter().map(|b| (b.0, b.1)).collect();
        let want: Vec<(String, i64)> = [
            ("Same UID, no SEQUENCE: one", "2026-10-20T08:00:00Z"),
            ("Retro (moved, SEQUENCE 2)", "2026-10-21T13:00:00Z"),
            ("Same UID, no SEQUENCE: two", "2026-10-22T08:00:00Z"),
        ]
        .into_iter()
        .map(|(s, a)| (s.to_string(), ms(a)))
        .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn a_custom_tzid_uses_the_files_vtimezone() {
        let text = "BEGIN:VCALENDAR\r\nBEGIN:VTIMEZONE\r\nTZID:Customized Time Zone\r\nBEGIN:STANDARD\r\nDTSTART:16010101T020000\r\nTZOFFSETFROM:-0400\r\nTZOFFSETTO:-0500\r\nRRULE:FREQ=YEARLY;BYDAY=1SU;BYMONTH=11\r\nEND:STANDARD\r\nBEGIN:DAYLIGHT\r\nDTSTART:16010101T020000\r\nTZOFFSETFROM:-0500\r\nTZOFFSETTO:-0400\r\nRRULE:FREQ=YEARLY;BYDAY=2SU;BYMONTH=3\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE\r\nBEGIN:VEVENT\r\nUID:m\r\nDTSTART;TZID=\"Customized Time Zone\":20261030T090000\r\nDTEND;TZID=\"Customized Time Zone\":20261030T100000\r\nSUMMARY:NY meeting\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
        let feed = Feed::parse(text, BERLIN, &[]).unwrap();
        assert!(feed.unknown_zones.is_empty(), "{:?}", feed.unknown_zones);
        let got = blocks(&feed, "2026-10-19T00:00:00Z", "2026-11-16T00:00:00Z");
        assert_eq!(got, vec![("NY meeting".into(), ms("2026-10-30T13:00:00Z"), ms("2026-10-30T14:00:00Z"))]);
    }
}
