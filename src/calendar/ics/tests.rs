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
    let text =
        String::from_utf16(&bytes[2..].chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect::<Vec<_>>())
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
