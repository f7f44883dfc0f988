//! Reading one VEVENT: its times (with the feed's zones), length, recurrence and what it says
//! about the user's time ([`busy::Facts`]). Checked arithmetic throughout: a value that cannot be
//! read skips its event with a reason, never the feed.

use super::*;

/// TZIDs as the feed resolves them: names we know, then the feed's own VTIMEZONEs.
pub(super) struct Zones {
    pub(super) own: HashMap<String, Option<chrono_tz::Tz>>,
    pub(super) unknown: HashSet<String>,
    /// Rules already read, by text and DTSTART: copies share what expansion learns about them
    /// (a rule found costly once is costly for every event that repeats it).
    pub(super) rules: HashMap<(String, i64, String), Rule>,
}

impl Zones {
    pub(super) fn new(calendars: &[Comp]) -> Self {
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
                    own.insert(id, named.or_else(|| crate::calendar::vtimezone::to_iana(c, &mut budget)));
                }
            }
        }
        Self { own, unknown: HashSet::new(), rules: HashMap::new() }
    }

    pub(super) fn resolve(&mut self, id: &str) -> Option<chrono_tz::Tz> {
        let id = id.trim().trim_matches('"');
        if let Some(z) = tz::resolve(id).or_else(|| self.own.get(id).copied().flatten()).or_else(|| tz::guess(id)) {
            return Some(z);
        }
        self.unknown.insert(id.to_string());
        None
    }
}

pub(super) fn instant(w: When, local: RTz) -> DateTime<RTz> {
    match w {
        When::Utc(n) => RTz::UTC.from_utc_datetime(&n),
        When::Zoned(n, z) => pick(n, z.into()),
        When::Floating(n) => pick(n, local),
        When::Date(d) => pick(d.and_time(chrono::NaiveTime::MIN), local),
    }
}

/// Where an occurrence starting at `s` ends, if that is a representable instant.
pub(super) fn end_of(s: &DateTime<RTz>, span: Span) -> Option<i64> {
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
pub(super) fn pick(naive: NaiveDateTime, zone: RTz) -> DateTime<RTz> {
    zone.from_local_datetime(&naive)
        .earliest()
        .or_else(|| naive.checked_add_signed(Duration::hours(1)).and_then(|n| zone.from_local_datetime(&n).earliest()))
        .unwrap_or_else(|| zone.from_utc_datetime(&naive))
}

pub(super) fn read_when(p: &Prop, zones: &mut Zones) -> Result<When, String> {
    read_value(p.value.trim(), p, zones)
}

pub(super) fn read_value(v: &str, p: &Prop, zones: &mut Zones) -> Result<When, String> {
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
pub(super) fn read_rdate(v: &str, p: &Prop, zones: &mut Zones, local: RTz) -> Result<(When, Option<Span>), String> {
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
pub(super) fn duration(s: &str) -> Result<Span, String> {
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
pub(super) fn facts(c: &Comp, status: &str, all_day: bool, owner: &[String]) -> busy::Facts {
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

pub(super) fn read_event(
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
pub(super) fn in_frame_of(w: When, start: When) -> When {
    match (w, start) {
        (When::Floating(n), When::Zoned(_, z)) => When::Zoned(n, z),
        (When::Floating(n), When::Utc(_)) => When::Utc(n),
        _ => w,
    }
}

/// Whether DTSTART and DTEND are wall times of the same zone (then DTEND − DTSTART is kept in
/// wall-clock time for every occurrence).
pub(super) fn same_frame(start: When, end: When) -> bool {
    match (start, end) {
        (When::Zoned(_, a), When::Zoned(_, b)) => a == b,
        (When::Floating(_), When::Floating(_)) | (When::Date(_), When::Date(_)) => true,
        _ => false,
    }
}

/// DTEND − DTSTART for one occurrence. Both are read as naive wall times when in the same
/// frame, so a meeting over a DST change keeps its written length.
pub(super) fn span(start: When, end: When) -> Duration {
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
