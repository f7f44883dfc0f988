//! Time-zone names as calendars write them: IANA names, Outlook's Windows names (mapped to IANA
//! after CLDR's windowsZones table), and vendor-prefixed ids such as
//! `/mozilla.org/20070129_1/Europe/Berlin`.

use chrono_tz::Tz;

/// Windows time-zone ids (as Outlook and Exchange write TZID) and their primary IANA zone.
const WINDOWS: &[(&str, &str)] = &[
    ("Dateline Standard Time", "Etc/GMT+12"),
    ("UTC-11", "Etc/GMT+11"),
    ("Aleutian Standard Time", "America/Adak"),
    ("Hawaiian Standard Time", "Pacific/Honolulu"),
    ("Marquesas Standard Time", "Pacific/Marquesas"),
    ("Alaskan Standard Time", "America/Anchorage"),
    ("UTC-09", "Etc/GMT+9"),
    ("Pacific Standard Time (Mexico)", "America/Tijuana"),
    ("UTC-08", "Etc/GMT+8"),
    ("Pacific Standard Time", "America/Los_Angeles"),
    ("US Mountain Standard Time", "America/Phoenix"),
    ("Mountain Standard Time (Mexico)", "America/Mazatlan"),
    ("Mountain Standard Time", "America/Denver"),
    ("Yukon Standard Time", "America/Whitehorse"),
    ("Central America Standard Time", "America/Guatemala"),
    ("Central Standard Time", "America/Chicago"),
    ("Easter Island Standard Time", "Pacific/Easter"),
    ("Central Standard Time (Mexico)", "America/Mexico_City"),
    ("Canada Central Standard Time", "America/Regina"),
    ("SA Pacific Standard Time", "America/Bogota"),
    ("Eastern Standard Time (Mexico)", "America/Cancun"),
    ("Eastern Standard Time", "America/New_York"),
    ("Haiti Standard Time", "America/Port-au-Prince"),
    ("Cuba Standard Time", "America/Havana"),
    ("US Eastern Standard Time", "America/Indianapolis"),
    ("Turks And Caicos Standard Time", "America/Grand_Turk"),
    ("Paraguay Standard Time", "America/Asuncion"),
    ("Atlantic Standard Time", "America/Halifax"),
    ("Venezuela Standard Time", "America/Caracas"),
    ("Central Brazilian Standard Time", "America/Cuiaba"),
    ("SA Western Standard Time", "America/La_Paz"),
    ("Pacific SA Standard Time", "America/Santiago"),
    ("Newfoundland Standard Time", "America/St_Johns"),
    ("Tocantins Standard Time", "America/Araguaina"),
    ("E. South America Standard Time", "America/Sao_Paulo"),
    ("SA Eastern Standard Time", "America/Cayenne"),
    ("Argentina Standard Time", "America/Buenos_Aires"),
    ("Greenland Standard Time", "America/Godthab"),
    ("Montevideo Standard Time", "America/Montevideo"),
    ("Magallanes Standard Time", "America/Punta_Arenas"),
    ("Saint Pierre Standard Time", "America/Miquelon"),
    ("Bahia Standard Time", "America/Bahia"),
    ("UTC-02", "Etc/GMT+2"),
    ("Azores Standard Time", "Atlantic/Azores"),
    ("Cape Verde Standard Time", "Atlantic/Cape_Verde"),
    ("UTC", "Etc/UTC"),
    ("Coordinated Universal Time", "Etc/UTC"),
    ("GMT Standard Time", "Europe/London"),
    ("Greenwich Standard Time", "Atlantic/Reykjavik"),
    ("Sao Tome Standard Time", "Africa/Sao_Tome"),
    ("Morocco Standard Time", "Africa/Casablanca"),
    ("W. Europe Standard Time", "Europe/Berlin"),
    ("Central Europe Standard Time", "Europe/Budapest"),
    ("Romance Standard Time", "Europe/Paris"),
    ("Central European Standard Time", "Europe/Warsaw"),
    ("W. Central Africa Standard Time", "Africa/Lagos"),
    ("Jordan Standard Time", "Asia/Amman"),
    ("GTB Standard Time", "Europe/Bucharest"),
    ("Middle East Standard Time", "Asia/Beirut"),
    ("Egypt Standard Time", "Africa/Cairo"),
    ("E. Europe Standard Time", "Europe/Chisinau"),
    ("Syria Standard Time", "Asia/Damascus"),
    ("West Bank Standard Time", "Asia/Hebron"),
    ("South Africa Standard Time", "Africa/Johannesburg"),
    ("FLE Standard Time", "Europe/Kiev"),
    ("Israel Standard Time", "Asia/Jerusalem"),
    ("South Sudan Standard Time", "Africa/Juba"),
    ("Kaliningrad Standard Time", "Europe/Kaliningrad"),
    ("Sudan Standard Time", "Africa/Khartoum"),
    ("Libya Standard Time", "Africa/Tripoli"),
    ("Namibia Standard Time", "Africa/Windhoek"),
    ("Arabic Standard Time", "Asia/Baghdad"),
    ("Turkey Standard Time", "Europe/Istanbul"),
    ("Arab Standard Time", "Asia/Riyadh"),
    ("Belarus Standard Time", "Europe/Minsk"),
    ("Russian Standard Time", "Europe/Moscow"),
    ("E. Africa Standard Time", "Africa/Nairobi"),
    ("Volgograd Standard Time", "Europe/Volgograd"),
    ("Iran Standard Time", "Asia/Tehran"),
    ("Arabian Standard Time", "Asia/Dubai"),
    ("Astrakhan Standard Time", "Europe/Astrakhan"),
    ("Azerbaijan Standard Time", "Asia/Baku"),
    ("Russia Time Zone 3", "Europe/Samara"),
    ("Mauritius Standard Time", "Indian/Mauritius"),
    ("Saratov Standard Time", "Europe/Saratov"),
    ("Georgian Standard Time", "Asia/Tbilisi"),
    ("Caucasus Standard Time", "Asia/Yerevan"),
    ("Afghanistan Standard Time", "Asia/Kabul"),
    ("West Asia Standard Time", "Asia/Tashkent"),
    ("Ekaterinburg Standard Time", "Asia/Yekaterinburg"),
    ("Pakistan Standard Time", "Asia/Karachi"),
    ("Qyzylorda Standard Time", "Asia/Qyzylorda"),
    ("India Standard Time", "Asia/Calcutta"),
    ("Sri Lanka Standard Time", "Asia/Colombo"),
    ("Nepal Standard Time", "Asia/Katmandu"),
    ("Central Asia Standard Time", "Asia/Almaty"),
    ("Bangladesh Standard Time", "Asia/Dhaka"),
    ("Omsk Standard Time", "Asia/Omsk"),
    ("Myanmar Standard Time", "Asia/Rangoon"),
    ("SE Asia Standard Time", "Asia/Bangkok"),
    ("Altai Standard Time", "Asia/Barnaul"),
    ("W. Mongolia Standard Time", "Asia/Hovd"),
    ("North Asia Standard Time", "Asia/Krasnoyarsk"),
    ("N. Central Asia Standard Time", "Asia/Novosibirsk"),
    ("Tomsk Standard Time", "Asia/Tomsk"),
    ("China Standard Time", "Asia/Shanghai"),
    ("North Asia East Standard Time", "Asia/Irkutsk"),
    ("Singapore Standard Time", "Asia/Singapore"),
    ("W. Australia Standard Time", "Australia/Perth"),
    ("Taipei Standard Time", "Asia/Taipei"),
    ("Ulaanbaatar Standard Time", "Asia/Ulaanbaatar"),
    ("Aus Central W. Standard Time", "Australia/Eucla"),
    ("Transbaikal Standard Time", "Asia/Chita"),
    ("Tokyo Standard Time", "Asia/Tokyo"),
    ("North Korea Standard Time", "Asia/Pyongyang"),
    ("Korea Standard Time", "Asia/Seoul"),
    ("Yakutsk Standard Time", "Asia/Yakutsk"),
    ("Cen. Australia Standard Time", "Australia/Adelaide"),
    ("AUS Central Standard Time", "Australia/Darwin"),
    ("E. Australia Standard Time", "Australia/Brisbane"),
    ("AUS Eastern Standard Time", "Australia/Sydney"),
    ("West Pacific Standard Time", "Pacific/Port_Moresby"),
    ("Tasmania Standard Time", "Australia/Hobart"),
    ("Vladivostok Standard Time", "Asia/Vladivostok"),
    ("Lord Howe Standard Time", "Australia/Lord_Howe"),
    ("Bougainville Standard Time", "Pacific/Bougainville"),
    ("Russia Time Zone 10", "Asia/Srednekolymsk"),
    ("Magadan Standard Time", "Asia/Magadan"),
    ("Norfolk Standard Time", "Pacific/Norfolk"),
    ("Sakhalin Standard Time", "Asia/Sakhalin"),
    ("Central Pacific Standard Time", "Pacific/Guadalcanal"),
    ("Russia Time Zone 11", "Asia/Kamchatka"),
    ("New Zealand Standard Time", "Pacific/Auckland"),
    ("UTC+12", "Etc/GMT-12"),
    ("Fiji Standard Time", "Pacific/Fiji"),
    ("Chatham Islands Standard Time", "Pacific/Chatham"),
    ("UTC+13", "Etc/GMT-13"),
    ("Tonga Standard Time", "Pacific/Tongatapu"),
    ("Samoa Standard Time", "Pacific/Apia"),
    ("Line Islands Standard Time", "Pacific/Kiritimati"),
];

/// Names Outlook shows (and some exports write as TZID) that hold no city, and Lotus Notes names.
const DISPLAY: &[(&str, &str)] = &[
    ("Eastern Time (US & Canada)", "America/New_York"),
    ("Eastern Time (US and Canada)", "America/New_York"),
    ("Central Time (US & Canada)", "America/Chicago"),
    ("Central Time (US and Canada)", "America/Chicago"),
    ("Mountain Time (US & Canada)", "America/Denver"),
    ("Mountain Time (US and Canada)", "America/Denver"),
    ("Pacific Time (US & Canada)", "America/Los_Angeles"),
    ("Pacific Time (US and Canada)", "America/Los_Angeles"),
    ("Atlantic Time (Canada)", "America/Halifax"),
    ("Coordinated Universal Time", "Etc/UTC"),
    ("Western/Central Europe", "Europe/Berlin"),
    ("Central European", "Europe/Berlin"),
];

/// Resolves a TZID to a zone, or `None` when it names nothing we know (the caller tries the
/// feed's own VTIMEZONE, then [`guess`], then falls back to the calendar's or the user's zone
/// and says so).
pub fn resolve(tzid: &str) -> Option<Tz> {
    let id = tzid.trim().trim_matches('"');
    if let Ok(tz) = id.parse::<Tz>() {
        return Some(tz);
    }
    if let Some((_, iana)) = WINDOWS.iter().find(|(w, _)| w.eq_ignore_ascii_case(id)) {
        return iana.parse().ok();
    }
    // Outlook's display names: "(UTC-05:00) Eastern Time (US & Canada)".
    let display = strip_offset(id).map_or(id, |(_, rest)| rest);
    if let Some((_, iana)) = DISPLAY.iter().find(|(d, _)| d.eq_ignore_ascii_case(display)) {
        return iana.parse().ok();
    }
    // Vendor prefixes (`/mozilla.org/20070129_1/Europe/Berlin`, `/citadel.org/…/Europe/Rome`):
    // try each suffix of two or three path segments.
    let parts: Vec<&str> = id.split('/').filter(|p| !p.is_empty()).collect();
    (2..=3.min(parts.len())).rev().find_map(|n| parts[parts.len() - n..].join("/").parse().ok())
}

/// A leading `(UTC+01:00)` / `(GMT-05:00)` / `UTC+01` / `GMT+5` and the text after it.
fn strip_offset(id: &str) -> Option<(i32, &str)> {
    let (inner, rest) = match id.strip_prefix('(') {
        Some(r) => {
            let end = r.find(')')?;
            (&r[..end], r[end + 1..].trim())
        }
        None => (id, ""),
    };
    let inner = inner.trim();
    let body = inner.get(..3).filter(|p| p.eq_ignore_ascii_case("UTC") || p.eq_ignore_ascii_case("GMT"))?;
    let num = inner[body.len()..].trim();
    if num.is_empty() {
        return Some((0, rest));
    }
    let sign = match num.as_bytes()[0] {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let digits = num[1..].trim();
    let (h, m) = match digits.split_once([':', '.']) {
        Some((h, m)) => (h, m),
        None if digits.len() == 4 && digits.bytes().all(|b| b.is_ascii_digit()) => digits.split_at(2),
        None => (digits, "0"),
    };
    let (h, m): (i32, i32) = (h.parse().ok()?, m.parse().ok()?);
    (h <= 14 && m < 60).then_some((sign * (h * 60 + m), rest))
}

/// A zone for a TZID that names none exactly, read loosely: a city in it
/// ("Amsterdam, Belgrade, Berlin", "Pacific Time (US & Canada), Tijuana", "US-Eastern"), else the
/// fixed offset it starts with ("(UTC-03:00) Brasília", "UTC+01"). Used only when the feed does
/// not define the name itself.
pub fn guess(tzid: &str) -> Option<Tz> {
    let id = tzid.trim().trim_matches('"');
    // "US-Eastern", "America-Chicago": a slash written as a dash.
    if let Some(tz) = id.split_once('-').and_then(|(a, b)| format!("{a}/{b}").parse::<Tz>().ok()) {
        return Some(tz);
    }
    let (offset, rest) = match strip_offset(id) {
        Some((o, rest)) => (Some(o), rest),
        None => (None, id),
    };
    let city = |name: &str| -> Option<Tz> {
        let want = name.trim().replace(' ', "_");
        if want.len() < 3 {
            return None;
        }
        chrono_tz::TZ_VARIANTS
            .iter()
            .copied()
            .find(|z| z.name().rsplit('/').next().is_some_and(|last| last.eq_ignore_ascii_case(&want)))
    };
    if let Some(tz) = rest.split([',', ';']).find_map(city) {
        return Some(tz);
    }
    // Etc/GMT+5 is five hours *behind* UTC.
    match offset? {
        0 => Some(Tz::Etc__UTC),
        m if m % 60 == 0 => format!("Etc/GMT{:+}", -m / 60).parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iana_windows_and_prefixed_names() {
        assert_eq!(resolve("Europe/Berlin"), Some(Tz::Europe__Berlin));
        assert_eq!(resolve("W. Europe Standard Time"), Some(Tz::Europe__Berlin));
        assert_eq!(resolve("\"Pacific Standard Time\""), Some(Tz::America__Los_Angeles));
        assert_eq!(resolve("China Standard Time"), Some(Tz::Asia__Shanghai));
        assert_eq!(resolve("/mozilla.org/20070129_1/Europe/Berlin"), Some(Tz::Europe__Berlin));
        assert_eq!(
            resolve("/citadel.org/20190914_1/America/Argentina/Buenos_Aires"),
            Some(Tz::America__Argentina__Buenos_Aires)
        );
        assert_eq!(resolve("Mars/Olympus_Mons"), None);
        assert_eq!(resolve("(UTC-05:00) Eastern Time (US & Canada)"), Some(Tz::America__New_York));
        assert_eq!(resolve("Western/Central Europe"), Some(Tz::Europe__Berlin));
        for (w, iana) in WINDOWS {
            assert!(iana.parse::<Tz>().is_ok(), "{w} maps to {iana}, which chrono-tz doesn't know");
        }
    }

    #[test]
    fn outlook_display_names_cities_and_offsets_are_guessed() {
        let cases = [
            ("Amsterdam, Belgrade, Berlin, Brussels, Budapest, Madrid, Paris, Prague, Stockholm", "Europe/Amsterdam"),
            ("Pacific Time (US & Canada), Tijuana", "America/Tijuana"),
            ("(GMT+10:00) Canberra, Melbourne, Sydney", "Australia/Canberra"),
            ("Kuala Lumpur, Singapore", "Asia/Kuala_Lumpur"),
            ("US-Eastern", "US/Eastern"),
            ("America-Chicago", "America/Chicago"),
            ("(UTC-03:00) Brasília", "Etc/GMT+3"),
            ("(GMT +01:00)", "Etc/GMT-1"),
            ("UTC+11", "Etc/GMT-11"),
            ("(UTC) Dublin, Edinburgh, Lisbon, London", "Europe/Dublin"),
        ];
        for (id, want) in cases {
            assert_eq!(guess(id).map(|z| z.name()), Some(want), "{id}");
        }
        for id in [
            "Nowhere/Middle",
            "LOLOLOL",
            "(UTC+05:45) Somewhere",
            "UTC+99",
            "Europe/Germany",
            "(UTC",
            "UTC+1é1",
            "GMT-é",
        ] {
            assert_eq!(guess(id), None, "{id}");
        }
    }
}
