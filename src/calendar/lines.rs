//! iCalendar text to components, as forgiving as mainstream calendar clients: unfolds lines,
//! splits each content line into name, parameters and value, and nests BEGIN/END blocks. A line
//! that can't be read (no colon, an END that matches nothing) is skipped with a note naming its
//! line; text after the last END:VCALENDAR is ignored; several VCALENDARs in one file are all
//! read. Only a file cut off inside an event is refused.

/// Components nested deeper than this are skipped (real files nest three levels).
const MAX_DEPTH: usize = 8;

/// One content line: `NAME;PARAM=value:VALUE`.
#[derive(Debug, Clone, PartialEq)]
pub struct Prop {
    /// Upper-cased.
    pub name: String,
    /// Keys upper-cased, values without their quotes.
    pub params: Vec<(String, String)>,
    pub value: String,
    /// The file line the property starts on (1-based).
    pub line: usize,
}

impl Prop {
    pub fn param(&self, key: &str) -> Option<&str> {
        self.params.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v.as_str())
    }
}

/// A BEGIN/END block.
#[derive(Debug, Clone, PartialEq)]
pub struct Comp {
    /// Upper-cased.
    pub name: String,
    pub line: usize,
    pub props: Vec<Prop>,
    pub children: Vec<Comp>,
}

impl Comp {
    fn new(name: String, line: usize) -> Self {
        Self { name, line, props: Vec::new(), children: Vec::new() }
    }

    /// The first property of that name.
    pub fn prop(&self, name: &str) -> Option<&Prop> {
        self.props.iter().find(|p| p.name.eq_ignore_ascii_case(name))
    }

    /// Every property of that name.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Prop> + 'a {
        self.props.iter().filter(move |p| p.name.eq_ignore_ascii_case(name))
    }

    /// A property's value, trimmed.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.prop(name).map(|p| p.value.trim())
    }
}

/// Problems kept in words, at most.
pub const MAX_NOTES: usize = 50;

/// Problems found in a feed: the first [`MAX_NOTES`] in words, the rest only counted, so a hostile
/// feed with a problem on every line never makes a huge answer or holds much memory.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Notes {
    kept: Vec<String>,
    /// Problems found past the first [`MAX_NOTES`].
    pub more: usize,
}

impl Notes {
    pub fn push(&mut self, note: String) {
        if self.kept.len() < MAX_NOTES {
            self.kept.push(note);
        } else {
            self.more += 1;
        }
    }

    pub fn extend(&mut self, notes: impl IntoIterator<Item = String>) {
        for n in notes {
            self.push(n);
        }
    }

    /// Appends other notes, their count included.
    pub fn append(&mut self, other: &Notes) {
        self.extend(other.kept.iter().cloned());
        self.more += other.more;
    }

    /// What to show the user: the kept notes, then how many more there were.
    pub fn to_lines(&self) -> Vec<String> {
        let mut out = self.kept.clone();
        if self.more > 0 {
            out.push(format!("and {} more problems like these", self.more));
        }
        out
    }
}

impl std::ops::Deref for Notes {
    type Target = Vec<String>;
    fn deref(&self) -> &Vec<String> {
        &self.kept
    }
}

/// What a file contains.
#[derive(Debug, Default)]
pub struct Parsed {
    pub calendars: Vec<Comp>,
    /// Lines that were skipped or repaired, with why.
    pub notes: Notes,
}

/// Logical lines (folding undone) with the file line each starts on. Lines end in CRLF, LF, or
/// CR alone (old Mac exports); extra CRs before the LF (a file converted twice) and blank lines
/// (also between a line and its folded continuation) are dropped.
fn unfold(text: &str) -> Vec<(usize, String)> {
    let mut out: Vec<(usize, String)> = Vec::new();
    let eol = if text.contains('\n') { '\n' } else { '\r' };
    for (i, raw) in text.split(eol).enumerate() {
        let line = raw.trim_end_matches('\r');
        if line.is_empty() {
            continue;
        }
        match (line.as_bytes().first(), out.last_mut()) {
            (Some(b' ' | b'\t'), Some(last)) => last.1.push_str(&line[1..]),
            _ => out.push((i + 1, line.to_string())),
        }
    }
    out
}

/// Splits one content line; `Err` says why it can't be read.
pub fn content_line(text: &str, line: usize) -> Result<Prop, String> {
    let name_end = text.find([';', ':']).ok_or_else(|| {
        format!("line {line}: {:?} has no \":\" between a property name and its value; skipped", clip(text))
    })?;
    // A vCard-style group (`GROUP1.X-TEST`) is dropped; `_` is allowed (Lotus Notes writes
    // `X-LOTUS-CHILD_UID`).
    let name = text[..name_end].rsplit('.').next().unwrap_or_default();
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        return Err(format!("line {line}: {:?} does not start with a property name; skipped", clip(text)));
    }
    let mut params = Vec::new();
    let bytes = text.as_bytes();
    let mut i = name_end;
    while i < bytes.len() && bytes[i] == b';' {
        i += 1;
        let key_start = i;
        while i < bytes.len() && !matches!(bytes[i], b'=' | b';' | b':') {
            i += 1;
        }
        let key = text[key_start..i].trim().to_ascii_uppercase();
        let mut val = String::new();
        if i < bytes.len() && bytes[i] == b'=' {
            i += 1;
            let mut quoted = false;
            let start = i;
            while i < bytes.len() {
                match bytes[i] {
                    b'"' => quoted = !quoted,
                    b';' | b':' if !quoted => break,
                    _ => {}
                }
                i += 1;
            }
            val = text[start..i].replace('"', "");
        }
        if !key.is_empty() {
            params.push((key, val));
        }
    }
    if i >= bytes.len() || bytes[i] != b':' {
        // A quote closed after the value (`TZID="W. Europe Standard Time:20200609T090000"`, seen
        // in Outlook files): read the line without its quotes, as clients do.
        if text.contains('"') {
            if let Ok(p) = content_line(&text.replace('"', ""), line) {
                return Ok(p);
            }
        }
        return Err(format!("line {line}: {:?} has no \":\" before its value; skipped", clip(text)));
    }
    Ok(Prop { name: name.to_ascii_uppercase(), params, value: text[i + 1..].to_string(), line })
}

fn clip(s: &str) -> String {
    let mut c: String = s.chars().take(60).collect();
    if c.len() < s.len() {
        c.push('…');
    }
    c
}

/// Reads a whole file. `Err` only when an event is cut off by the end of the file (a partial
/// download: the cached copy is better than half a schedule).
pub fn parse(text: &str) -> Result<Parsed, String> {
    let mut out = Parsed::default();
    let mut stack: Vec<Comp> = Vec::new();
    // A component nested too deep: its name and depth, skipped until its END.
    let mut skipping: Option<(String, usize)> = None;
    let mut ignored_after: Option<(usize, usize)> = None;
    for (line, text) in unfold(text) {
        if text.trim().is_empty() {
            continue;
        }
        if stack.is_empty() && !text.trim().eq_ignore_ascii_case("BEGIN:VCALENDAR") {
            if !out.calendars.is_empty() {
                ignored_after.get_or_insert((line, 0)).1 += 1;
            }
            continue;
        }
        if let Some((name, depth)) = &mut skipping {
            let t = text.trim().to_ascii_uppercase();
            let end = t.strip_prefix("END:");
            if t.strip_prefix("BEGIN:") == Some(name.as_str()) {
                *depth += 1;
                continue;
            } else if end == Some(name.as_str()) {
                *depth -= 1;
                if *depth == 0 {
                    skipping = None;
                }
                continue;
            } else if !end.is_some_and(|e| stack.iter().any(|c| c.name == e)) {
                continue;
            }
            // The END of a component still open outside (a misspelt END left the skipped one
            // open): stop skipping and close it, so END:VCALENDAR is never swallowed.
            skipping = None;
        }
        let prop = match content_line(&text, line) {
            Ok(p) => p,
            Err(note) => {
                out.notes.push(note);
                continue;
            }
        };
        match prop.name.as_str() {
            "BEGIN" => {
                let name = prop.value.trim().to_ascii_uppercase();
                if stack.len() >= MAX_DEPTH {
                    out.notes.push(format!("line {line}: {name} is nested too deep; skipped"));
                    skipping = Some((name, 1));
                    continue;
                }
                // A new event inside an unfinished one: its END:VEVENT is missing or misspelt.
                if name == "VEVENT" && stack.last().is_some_and(|c| c.name == "VEVENT") {
                    let open = stack.pop().expect("checked");
                    out.notes.push(format!(
                        "line {line}: the event from line {} has no END:VEVENT; it ends where the next begins",
                        open.line
                    ));
                    attach(&mut stack, &mut out, open);
                }
                stack.push(Comp::new(name, line));
            }
            "END" => {
                let name = prop.value.trim().to_ascii_uppercase();
                match stack.iter().rposition(|c| c.name == name) {
                    Some(at) => {
                        while stack.len() > at + 1 {
                            let open = stack.pop().expect("deeper than at");
                            out.notes.push(format!(
                                "line {line}: END:{name} closes the {} from line {} that had no END:{}",
                                open.name, open.line, open.name
                            ));
                            attach(&mut stack, &mut out, open);
                        }
                        let done = stack.pop().expect("at is on the stack");
                        attach(&mut stack, &mut out, done);
                    }
                    None => out.notes.push(format!("line {line}: END:{name} matches no BEGIN:{name}; skipped")),
                }
            }
            _ => {
                if let Some(c) = stack.last_mut() {
                    c.props.push(prop);
                }
            }
        }
    }
    if let Some(open) = stack.iter().find(|c| !matches!(c.name.as_str(), "VCALENDAR" | "VTIMEZONE" | "VALARM")) {
        return Err(format!(
            "the file ends inside the {} that begins at line {} (it may have been cut off while downloading)",
            open.name, open.line
        ));
    }
    while let Some(open) = stack.pop() {
        out.notes.push(format!(
            "the {} from line {} has no END:{}; read up to the end of the file",
            open.name, open.line, open.name
        ));
        attach(&mut stack, &mut out, open);
    }
    if let Some((line, n)) = ignored_after {
        out.notes.push(format!("{n} line(s) after END:VCALENDAR, from line {line}, were ignored"));
    }
    Ok(out)
}

fn attach(stack: &mut [Comp], out: &mut Parsed, c: Comp) {
    match stack.last_mut() {
        Some(parent) => parent.children.push(c),
        None => out.calendars.push(c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_lines_with_quoted_parameters() {
        let p = content_line(r#"DTSTART;TZID="W. Europe Standard Time:x";VALUE=DATE-TIME:20261019T090000"#, 3).unwrap();
        assert_eq!(p.name, "DTSTART");
        assert_eq!(p.param("tzid"), Some("W. Europe Standard Time:x"));
        assert_eq!(p.param("VALUE"), Some("DATE-TIME"));
        assert_eq!(p.value, "20261019T090000");
        assert_eq!(p.line, 3);
        let e = content_line("this line has no colon", 7).unwrap_err();
        assert!(e.starts_with("line 7:") && e.contains("no \":\""), "{e}");
        assert!(!e.contains("Many0") && !e.contains("Eof"));
    }

    #[test]
    fn folded_lines_keep_the_line_they_start_on() {
        let p = parse(
            "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nSUMMARY:a long\r\n  title\r\nbroken line\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
        )
        .unwrap();
        let ev = &p.calendars[0].children[0];
        assert_eq!(ev.value("SUMMARY"), Some("a long title"));
        assert_eq!(p.notes.len(), 1);
        assert!(p.notes[0].starts_with("line 5:"), "{:?}", p.notes);
    }

    #[test]
    fn misspelt_ends_trailing_text_and_several_calendars() {
        let text = "BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:1\nEND:VEVENTT\nBEGIN:VEVENT\nUID:2\nEND:VEVENT\nEND:VCALENDAR\nBEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:3\nEND:VEVENT\nEND:VCALENDAR\n-- exported by Podio --\n";
        let p = parse(text).unwrap();
        assert_eq!(p.calendars.len(), 2);
        let uids: Vec<&str> =
            p.calendars.iter().flat_map(|c| c.children.iter()).filter_map(|e| e.value("UID")).collect();
        assert_eq!(uids, ["1", "2", "3"]);
        assert!(p.notes.iter().any(|n| n.starts_with("line 4:") && n.contains("END:VEVENTT")), "{:?}", p.notes);
        assert!(p.notes.iter().any(|n| n.contains("after END:VCALENDAR, from line 14")), "{:?}", p.notes);
    }

    #[test]
    fn lotus_names_groups_and_quotes_closed_after_the_value_are_read() {
        let p = content_line("X-LOTUS-CHILD_UID:0A1B2C", 1).unwrap();
        assert_eq!((p.name.as_str(), p.value.as_str()), ("X-LOTUS-CHILD_UID", "0A1B2C"));
        let p = content_line("group1.X-Note;VALUE=TEXT:grouped", 2).unwrap();
        assert_eq!((p.name.as_str(), p.value.as_str()), ("X-NOTE", "grouped"));
        let p = content_line(r#"DTSTART;TZID="W. Europe Standard Time:20261022T090000""#, 3).unwrap();
        assert_eq!(p.param("TZID"), Some("W. Europe Standard Time"));
        assert_eq!(p.value, "20261022T090000");
        // Still refused, with the line: no colon at all, or none outside quotes once they are gone.
        assert!(content_line(r#"ORGANIZER;CN="Sixt SE""#, 4).unwrap_err().starts_with("line 4:"));
        assert!(content_line("X-APPLE-RADIUS=49.9", 5).unwrap_err().starts_with("line 5:"));
    }

    #[test]
    fn blank_lines_extra_carriage_returns_and_mac_line_ends_are_read() {
        for text in [
            "BEGIN:VCALENDAR\r\r\nBEGIN:VEVENT\r\r\nSUMMARY:a\r\r\n\r\r\n  b\r\r\nEND:VEVENT\r\r\nEND:VCALENDAR\r\r\n",
            "BEGIN:VCALENDAR\rBEGIN:VEVENT\rSUMMARY:a\r  b\rEND:VEVENT\rEND:VCALENDAR\r",
            "BEGIN:VCALENDAR\nBEGIN:VEVENT\nSUMMARY:a\n\n\n  b\nEND:VEVENT\nEND:VCALENDAR",
        ] {
            let p = parse(text).unwrap();
            assert!(p.notes.is_empty(), "{text:?}: {:?}", p.notes);
            assert_eq!(p.calendars[0].children[0].value("SUMMARY"), Some("a b"), "{text:?}");
            assert_eq!(p.calendars[0].children[0].line, 2, "{text:?}");
        }
    }

    #[test]
    fn a_misspelt_end_inside_deep_nesting_never_swallows_the_end_of_the_calendar() {
        let mut text = String::from("BEGIN:VCALENDAR\n");
        for i in 0..12 {
            text.push_str(&format!("BEGIN:VTODO\nUID:t{i}\nEND:VTOOD\nBEGIN:VEVENT\nUID:e{i}\nEND:VEVENT\n"));
        }
        text.push_str("END:VCALENDAR\n");
        let p = parse(&text).unwrap();
        assert_eq!(p.calendars.len(), 1);
        assert!(p.notes.iter().any(|n| n.contains("nested too deep")), "{:?}", p.notes);
        assert!(p.notes.iter().any(|n| n.contains("END:VTOOD matches no BEGIN:VTOOD")), "{:?}", p.notes);
    }

    #[test]
    fn a_file_cut_off_inside_an_event_is_refused() {
        let e = parse("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:1\r\n").unwrap_err();
        assert!(e.contains("line 2") && e.contains("cut off"), "{e}");
        let p = parse("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:1\r\nEND:VEVENT\r\n").unwrap();
        assert_eq!(p.calendars[0].children.len(), 1);
    }
}
