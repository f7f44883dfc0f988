//! A bounded reader for the WebDAV `multistatus` answers of a CalDAV server, which is untrusted:
//! no DTD or entity expansion (only the five predefined entities and character references),
//! limits on nesting and element count, and every flaw reported as an [`XmlError`], never a panic.

use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::NsReader;

pub const DAV: &str = "DAV:";
pub const CALDAV: &str = "urn:ietf:params:xml:ns:caldav";
pub const CS: &str = "http://calendarserver.org/ns/";
pub const APPLE: &str = "http://apple.com/ns/ical/";

/// Deepest nesting accepted (real answers nest fewer than 10 levels).
const MAX_DEPTH: usize = 48;
/// Most elements accepted in one answer (a 10 000-event multiget has about 70 000).
const MAX_NODES: usize = 250_000;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum XmlError {
    #[error("the server's answer is not well-formed XML ({0})")]
    Malformed(String),
    #[error("the server's answer is not a WebDAV multistatus")]
    NotMultistatus,
    #[error("the server's answer is nested too deeply")]
    TooDeep,
    #[error("the server's answer has too many elements")]
    TooManyElements,
}

/// One element: its namespace, local name, attributes (by local name), text (CDATA included)
/// and children.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Node {
    pub ns: String,
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub text: String,
    pub children: Vec<Node>,
}

impl Node {
    pub fn is(&self, ns: &str, name: &str) -> bool {
        self.ns == ns && self.name == name
    }

    pub fn child(&self, ns: &str, name: &str) -> Option<&Node> {
        self.children.iter().find(|c| c.is(ns, name))
    }

    pub fn children_named<'a>(&'a self, ns: &'a str, name: &'a str) -> impl Iterator<Item = &'a Node> + 'a {
        self.children.iter().filter(move |c| c.is(ns, name))
    }

    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// The text of the first `DAV:href` child, trimmed.
    pub fn href(&self) -> Option<&str> {
        self.child(DAV, "href").map(|h| h.text.trim()).filter(|h| !h.is_empty())
    }
}

/// Parses a whole document into its root element.
pub fn parse(text: &str) -> Result<Node, XmlError> {
    let mut reader = NsReader::from_str(text);
    let mut stack: Vec<Node> = Vec::new();
    let mut root: Option<Node> = None;
    let mut count = 0usize;
    let malformed = |e: &dyn std::fmt::Display| XmlError::Malformed(short(&e.to_string()));
    loop {
        let (ns, event) = reader.read_resolved_event().map_err(|e| malformed(&e))?;
        let ns = match ns {
            ResolveResult::Bound(n) => n.as_ref().to_string(),
            _ => String::new(),
        };
        match event {
            Event::Start(_) | Event::Empty(_) if root.is_some() => {
                return Err(XmlError::Malformed("content after the root element".into()));
            }
            Event::Start(e) => {
                count += 1;
                if count > MAX_NODES {
                    return Err(XmlError::TooManyElements);
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(XmlError::TooDeep);
                }
                let node = element(ns, &e)?;
                stack.push(node);
            }
            Event::Empty(e) => {
                count += 1;
                if count > MAX_NODES {
                    return Err(XmlError::TooManyElements);
                }
                let node = element(ns, &e)?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(node),
                    None => root = Some(node),
                }
            }
            Event::End(_) => {
                let node = stack.pop().ok_or_else(|| XmlError::Malformed("an end tag without a start".into()))?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(node),
                    None => root = Some(node),
                }
            }
            Event::Text(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&t.xml10_content());
                } else if !t.xml10_content().trim().is_empty() {
                    return Err(XmlError::Malformed("text outside the root element".into()));
                }
            }
            Event::CData(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&t.xml10_content());
                }
            }
            Event::GeneralRef(r) => {
                let c = match r.resolve_char_ref().map_err(|e| malformed(&e))? {
                    Some(c) => c,
                    None => match r.as_ref() {
                        "lt" => '<',
                        "gt" => '>',
                        "amp" => '&',
                        "apos" => '\'',
                        "quot" => '"',
                        other => {
                            return Err(XmlError::Malformed(format!("unknown entity &{};", short(other))));
                        }
                    },
                };
                if let Some(top) = stack.last_mut() {
                    top.text.push(c);
                }
            }
            // A DOCTYPE is read past, never expanded; comments and instructions carry nothing.
            Event::DocType(_) | Event::Comment(_) | Event::Decl(_) | Event::PI(_) => {}
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(XmlError::Malformed("the answer ends inside an element".into()));
    }
    root.ok_or_else(|| XmlError::Malformed("the answer is empty".into()))
}

/// Most attributes kept per element (WebDAV uses one or two).
const MAX_ATTRS: usize = 16;

fn element(ns: String, e: &quick_xml::events::BytesStart<'_>) -> Result<Node, XmlError> {
    let mut attrs = Vec::new();
    for a in e.attributes() {
        let a = a.map_err(|e| XmlError::Malformed(short(&e.to_string())))?;
        if a.key.as_ref().starts_with("xmlns") || attrs.len() >= MAX_ATTRS {
            continue;
        }
        let value = a
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(|e| XmlError::Malformed(short(&e.to_string())))?;
        attrs.push((a.key.local_name().as_ref().to_string(), value.into_owned()));
    }
    Ok(Node { ns, name: e.local_name().as_ref().to_string(), attrs, ..Node::default() })
}

fn short(s: &str) -> String {
    s.chars().take(120).collect()
}

/// One `DAV:response` of a multistatus.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Response {
    /// As the server wrote it (relative or absolute, percent-encoded).
    pub href: String,
    /// The response-level status (e.g. 404 for a removed member in a sync report).
    pub status: Option<u16>,
    /// The properties found (from every propstat with a 2xx status).
    pub found: Vec<Node>,
}

impl Response {
    pub fn prop(&self, ns: &str, name: &str) -> Option<&Node> {
        self.found.iter().find(|p| p.is(ns, name))
    }

    /// A found property's text, trimmed; `None` when missing or empty.
    pub fn text(&self, ns: &str, name: &str) -> Option<String> {
        self.prop(ns, name).map(|p| p.text.trim().to_string()).filter(|t| !t.is_empty())
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Multistatus {
    pub responses: Vec<Response>,
    pub sync_token: Option<String>,
}

/// `HTTP/1.1 404 Not Found` → 404.
pub fn status_code(line: &str) -> Option<u16> {
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Reads a `DAV:multistatus` answer.
pub fn multistatus(text: &str) -> Result<Multistatus, XmlError> {
    let root = parse(text)?;
    if !root.is(DAV, "multistatus") {
        return Err(XmlError::NotMultistatus);
    }
    let mut out = Multistatus::default();
    for r in root.children_named(DAV, "response") {
        let Some(href) = r.href() else { continue };
        let status = r.child(DAV, "status").and_then(|s| status_code(&s.text));
        let mut found = Vec::new();
        for ps in r.children_named(DAV, "propstat") {
            let ok = ps.child(DAV, "status").and_then(|s| status_code(&s.text)).is_none_or(|c| (200..300).contains(&c));
            if let (true, Some(prop)) = (ok, ps.child(DAV, "prop")) {
                found.extend(prop.children.iter().cloned());
            }
        }
        out.responses.push(Response { href: href.to_string(), status, found });
    }
    out.sync_token = root.child(DAV, "sync-token").map(|t| t.text.trim().to_string()).filter(|t| !t.is_empty());
    Ok(out)
}

/// Escapes text for an XML element's content.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_prefix_cdata_and_404_propstats_are_read() {
        let text = r#"<?xml version="1.0"?>
<x:multistatus xmlns:x="DAV:" xmlns:cal="urn:ietf:params:xml:ns:caldav">
  <x:response>
    <x:href>/cal/a.ics</x:href>
    <x:propstat><x:prop><x:getetag>"e1"</x:getetag>
      <cal:calendar-data><![CDATA[BEGIN:VCALENDAR
END:VCALENDAR
]]></cal:calendar-data></x:prop><x:status>HTTP/1.1 200 OK</x:status></x:propstat>
    <x:propstat><x:prop><x:displayname/></x:prop><x:status>HTTP/1.1 404 Not Found</x:status></x:propstat>
  </x:response>
  <response xmlns="DAV:"><href>/cal/b&amp;c.ics</href><status>HTTP/1.1 404 Not Found</status></response>
  <x:sync-token>tok&#65;</x:sync-token>
</x:multistatus>"#;
        let m = multistatus(text).unwrap();
        assert_eq!(m.responses.len(), 2);
        let a = &m.responses[0];
        assert_eq!(a.text(DAV, "getetag").as_deref(), Some("\"e1\""));
        assert!(a.text(CALDAV, "calendar-data").unwrap().starts_with("BEGIN:VCALENDAR\nEND:VCALENDAR"));
        assert!(a.prop(DAV, "displayname").is_none(), "a 404 propstat is not a found property");
        assert_eq!(m.responses[1].href, "/cal/b&c.ics");
        assert_eq!(m.responses[1].status, Some(404));
        assert_eq!(m.sync_token.as_deref(), Some("tokA"));
    }

    #[test]
    fn entities_are_never_expanded_and_flaws_are_errors() {
        let bomb = r#"<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>
<d:multistatus xmlns:d="DAV:"><d:response><d:href>&b;</d:href></d:response></d:multistatus>"#;
        assert!(matches!(multistatus(bomb), Err(XmlError::Malformed(_))));
        for bad in ["", "<html><body>hi</body></html>", "<d:multistatus xmlns:d=\"DAV:\">", "<a></b>", "<a/><b/>"] {
            assert!(multistatus(bad).is_err(), "{bad:?}");
        }
        assert_eq!(multistatus("<html><body>hi</body></html>"), Err(XmlError::NotMultistatus));
        let deep = "<a>".repeat(10_000);
        assert_eq!(parse(&deep), Err(XmlError::TooDeep));
        let wide = format!("<a>{}</a>", "<b/>".repeat(MAX_NODES + 1));
        assert_eq!(parse(&wide), Err(XmlError::TooManyElements));
    }
}
