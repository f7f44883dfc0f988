//! A feed's own VTIMEZONE definitions, for TZIDs that are neither IANA nor Windows names (Exchange
//! and older exporters write such names): the STANDARD and DAYLIGHT observances, with their
//! offsets and RRULE/RDATE transitions, give the zone's UTC offset at any instant; the zone is then
//! read as the IANA zone that has the same offsets at every sampled instant of the years around now.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Offset as _, TimeZone as _, Utc};
use rrule::Tz as RTz;

use super::expand::{Budget, Rule};
use super::lines::Comp;

/// The years compared (offsets sampled every 5 days).
const FROM_YEAR: i32 = 2019;
const TO_YEAR: i32 = 2032;

/// One observance's onsets (UTC seconds) with the offset that holds from each.
struct Observance {
    onsets: Vec<(i64, i32)>,
    /// The offset before its first onset.
    from: i32,
}

/// `+0100`, `-0530`, `+013045` → seconds east of UTC.
fn offset(s: &str) -> Option<i32> {
    let s = s.trim();
    let (sign, digits) = match s.as_bytes().first()? {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => (1, s),
    };
    if !matches!(digits.len(), 4 | 6) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let h: i32 = digits[0..2].parse().ok()?;
    let m: i32 = digits[2..4].parse().ok()?;
    let sec: i32 = if digits.len() == 6 { digits[4..6].parse().ok()? } else { 0 };
    (h < 24 && m < 60 && sec < 60).then_some(sign * (h * 3600 + m * 60 + sec))
}

fn local(s: &str) -> Option<NaiveDateTime> {
    NaiveDateTime::parse_from_str(s.trim().trim_end_matches(['Z', 'z']), "%Y%m%dT%H%M%S").ok()
}

fn observance(c: &Comp, budget: &mut Budget) -> Option<Observance> {
    let from = offset(c.value("TZOFFSETFROM")?)?;
    let to = offset(c.value("TZOFFSETTO")?)?;
    let start = local(c.value("DTSTART")?)?;
    // Onsets are wall times in the offset before them.
    let utc_of = |n: NaiveDateTime| n.and_utc().timestamp() - i64::from(from);
    let mut onsets = vec![(utc_of(start), to)];
    // Transitions are computed on wall times (as if UTC), which is what the rules describe.
    let as_utc = |n: NaiveDateTime| RTz::UTC.from_utc_datetime(&n);
    let window_from = as_utc(NaiveDate::from_ymd_opt(FROM_YEAR - 1, 1, 1)?.and_hms_opt(0, 0, 0)?);
    let window_to = as_utc(NaiveDate::from_ymd_opt(TO_YEAR + 1, 1, 1)?.and_hms_opt(0, 0, 0)?);
    // Zone transitions repeat yearly; other rules describe no real zone and are not expanded.
    for r in c.all("RRULE").filter(|r| r.value.to_ascii_uppercase().contains("FREQ=YEARLY")) {
        if let Ok(rule) = Rule::parse(r.value.trim(), as_utc(start)) {
            for d in rule.between(as_utc(start), window_from, window_to, budget) {
                onsets.push((utc_of(d.naive_utc()), to));
            }
        }
    }
    for r in c.all("RDATE") {
        for v in r.value.split(',') {
            if let Some(n) = local(v) {
                onsets.push((utc_of(n), to));
            }
        }
    }
    Some(Observance { onsets, from })
}

/// The zone's offset at each sample instant, from its observances.
fn offsets(obs: &[Observance], samples: &[i64]) -> Vec<i32> {
    let mut all: Vec<(i64, i32)> = obs.iter().flat_map(|o| o.onsets.iter().copied()).collect();
    all.sort_unstable();
    let before = obs.iter().min_by_key(|o| o.onsets.first().map_or(i64::MAX, |x| x.0)).map_or(0, |o| o.from);
    samples
        .iter()
        .map(|t| match all.partition_point(|(at, _)| at <= t) {
            0 => before,
            i => all[i - 1].1,
        })
        .collect()
}

fn iana_offset(z: chrono_tz::Tz, t: i64) -> i32 {
    DateTime::<Utc>::from_timestamp(t, 0)
        .map(|u| z.offset_from_utc_datetime(&u.naive_utc()).fix().local_minus_utc())
        .unwrap_or(i32::MIN)
}

/// The IANA zone a VTIMEZONE describes, if one has the same offsets at every sampled instant of
/// the years around now. `budget` is shared by all the zones of a feed.
pub fn to_iana(vtz: &Comp, budget: &mut Budget) -> Option<chrono_tz::Tz> {
    let obs: Vec<Observance> = vtz
        .children
        .iter()
        .filter(|c| c.name == "STANDARD" || c.name == "DAYLIGHT")
        .filter_map(|c| observance(c, budget))
        .collect();
    if obs.is_empty() {
        return None;
    }
    let first = NaiveDate::from_ymd_opt(FROM_YEAR, 1, 3)?.and_hms_opt(12, 0, 0)?.and_utc().timestamp();
    let last = NaiveDate::from_ymd_opt(TO_YEAR, 12, 31)?.and_hms_opt(0, 0, 0)?.and_utc().timestamp();
    let samples: Vec<i64> = (0..).map(|i| first + i * 5 * 86_400).take_while(|t| *t <= last).collect();
    let want = offsets(&obs, &samples);
    // A cheap filter first: four instants of one year.
    let probes: Vec<usize> = [0usize, 20, 40, 60].into_iter().filter(|i| *i < samples.len()).collect();
    let exact = chrono_tz::TZ_VARIANTS
        .iter()
        .copied()
        .filter(|z| probes.iter().all(|&i| iana_offset(*z, samples[i]) == want[i]))
        .find(|z| samples.iter().zip(&want).all(|(t, w)| iana_offset(*z, *t) == *w));
    exact.or_else(|| nearest(&samples, &want))
}

/// The IANA zone closest to a definition no zone matches exactly (old DST rules, such as the US
/// ones before 2007 that RFC 5545's examples and older Outlook exports carry): the one that has
/// the same offset at the most sampled instants, if that is at least nine in ten. A zone is
/// dropped as soon as it misses more than one in five of every tenth sample, so most cost a few
/// lookups.
fn nearest(samples: &[i64], want: &[i32]) -> Option<chrono_tz::Tz> {
    let allowed = samples.len() / 10;
    let coarse: Vec<(i64, i32)> = samples.iter().copied().zip(want.iter().copied()).step_by(10).collect();
    let close = |z: chrono_tz::Tz| {
        let mut misses = 0;
        coarse.iter().all(|(t, w)| {
            misses += usize::from(iana_offset(z, *t) != *w);
            misses <= coarse.len() / 5
        })
    };
    let mut best: Option<(usize, chrono_tz::Tz)> = None;
    for z in chrono_tz::TZ_VARIANTS.iter().copied().filter(|z| close(*z)) {
        let limit = best.map_or(allowed, |(m, _)| m.saturating_sub(1).min(allowed));
        let mut misses = 0;
        for (t, w) in samples.iter().zip(want) {
            if iana_offset(z, *t) != *w {
                misses += 1;
                if misses > limit {
                    break;
                }
            }
        }
        if misses <= limit && best.is_none_or(|(m, _)| misses < m) {
            best = Some((misses, z));
        }
    }
    best.map(|(_, z)| z)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vtz(text: &str) -> Comp {
        let p = super::super::lines::parse(&format!("BEGIN:VCALENDAR\n{text}\nEND:VCALENDAR\n")).unwrap();
        p.calendars[0].children[0].clone()
    }

    fn same_offsets(a: chrono_tz::Tz, b: chrono_tz::Tz) -> bool {
        let t0 = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap().and_hms_opt(0, 0, 0).unwrap().and_utc().timestamp();
        (0..365).all(|d| iana_offset(a, t0 + d * 86_400 + 3_600) == iana_offset(b, t0 + d * 86_400 + 3_600))
    }

    #[test]
    fn custom_zone_names_resolve_through_their_own_rules() {
        let berlin = vtz("BEGIN:VTIMEZONE\nTZID:Customized Time Zone 1\nBEGIN:STANDARD\nDTSTART:16010101T030000\nTZOFFSETFROM:+0200\nTZOFFSETTO:+0100\nRRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=10\nEND:STANDARD\nBEGIN:DAYLIGHT\nDTSTART:16010101T020000\nTZOFFSETFROM:+0100\nTZOFFSETTO:+0200\nRRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=3\nEND:DAYLIGHT\nEND:VTIMEZONE");
        assert!(same_offsets(to_iana(&berlin, &mut Budget::default()).unwrap(), chrono_tz::Europe::Berlin));
        let eastern = vtz("BEGIN:VTIMEZONE\nTZID:(UTC-05:00) Eastern Time (US & Canada)\nBEGIN:DAYLIGHT\nTZOFFSETFROM:-0500\nTZOFFSETTO:-0400\nDTSTART:20070311T020000\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU\nEND:DAYLIGHT\nBEGIN:STANDARD\nTZOFFSETFROM:-0400\nTZOFFSETTO:-0500\nDTSTART:20071104T020000\nRRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU\nEND:STANDARD\nEND:VTIMEZONE");
        assert!(same_offsets(to_iana(&eastern, &mut Budget::default()).unwrap(), chrono_tz::America::New_York));
        let india = vtz("BEGIN:VTIMEZONE\nTZID:India\nBEGIN:STANDARD\nDTSTART:16010101T000000\nTZOFFSETFROM:+0530\nTZOFFSETTO:+0530\nEND:STANDARD\nEND:VTIMEZONE");
        assert_eq!(iana_offset(to_iana(&india, &mut Budget::default()).unwrap(), 1_800_000_000), 19_800);
        let fiction = vtz("BEGIN:VTIMEZONE\nTZID:Mars\nBEGIN:STANDARD\nDTSTART:19700101T000000\nTZOFFSETFROM:+0117\nTZOFFSETTO:+0117\nEND:STANDARD\nEND:VTIMEZONE");
        assert_eq!(to_iana(&fiction, &mut Budget::default()), None);
    }

    #[test]
    fn a_zone_with_old_dst_rules_reads_as_the_nearest_real_zone() {
        // US Eastern as RFC 5545's examples define it: the rules before 2007 (first Sunday in
        // April to last Sunday in October), which no zone follows today.
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/calendars/corpus-old-us-rules.ics"
        ))
        .unwrap();
        let p = super::super::lines::parse(&text).unwrap();
        let old = p.calendars[0].children.iter().find(|c| c.name == "VTIMEZONE").unwrap();
        let z = to_iana(old, &mut Budget::default()).expect("a nearest zone");
        assert!(same_offsets(z, chrono_tz::America::New_York), "{z:?}");
        // Off by more than one sample in ten: none.
        let odd = vtz("BEGIN:VTIMEZONE\nTZID:Half\nBEGIN:STANDARD\nDTSTART:19700101T000000\nTZOFFSETFROM:-0400\nTZOFFSETTO:-0500\nRRULE:FREQ=YEARLY;BYMONTH=12;BYDAY=1SU\nEND:STANDARD\nBEGIN:DAYLIGHT\nDTSTART:19700101T000000\nTZOFFSETFROM:-0500\nTZOFFSETTO:-0400\nRRULE:FREQ=YEARLY;BYMONTH=6;BYDAY=1SU\nEND:DAYLIGHT\nEND:VTIMEZONE");
        assert_eq!(to_iana(&odd, &mut Budget::default()), None);
    }
}
