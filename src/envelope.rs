//! Agent envelopes: the scaffolding agents wrap around the user's words (OpenClaw's internal
//! runtime context, chat gateways' "untrusted metadata" blocks, system event lines, channel
//! headers), taken off the text MetaClaw reads for retrieval, session inference, judging and
//! evolution. What is forwarded and recorded is never changed.

use std::borrow::Cow;

/// OpenClaw's delimiters around runtime context the user didn't write (they nest).
const INTERNAL_BEGIN: &str = "<<<BEGIN_OPENCLAW_INTERNAL_CONTEXT>>>";
const INTERNAL_END: &str = "<<<END_OPENCLAW_INTERNAL_CONTEXT>>>";
/// The header of OpenClaw's runtime context when it comes without delimiters (older releases):
/// then the whole message is runtime context.
const INTERNAL_HEADER: &str = "OpenClaw runtime context (internal):";

/// Lines that introduce a fenced block of metadata about the message (not the message itself).
const METADATA_HEADERS: &[&str] = &[
    "Conversation info (untrusted metadata):",
    "Sender (untrusted metadata):",
    "Thread starter (untrusted, for context):",
    "Replied message (untrusted, for context):",
    "Forwarded message context (untrusted metadata):",
    "Chat history since last reply (untrusted, for context):",
];

/// Lines that frame messages queued while the agent was busy.
const QUEUE_MARKER: &str = "[Queued messages while agent was busy]";
/// How OpenClaw's runtime line (agent, session, host, model, …) after the user's words begins.
const RUNTIME_PREFIX: &str = "Runtime: agent=";

/// The user's own words in `text`: every known envelope removed, blank runs collapsed, trimmed.
/// Text without an envelope comes back as it was (borrowed).
pub fn user_words(text: &str) -> Cow<'_, str> {
    if !might_have_envelope(text) {
        return Cow::Borrowed(text);
    }
    let text = strip_internal_blocks(text);
    if starts_with_header(&text, INTERNAL_HEADER) {
        return Cow::Owned(String::new());
    }
    let mut out: Vec<&str> = Vec::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let trimmed = line.trim();
        if METADATA_HEADERS.contains(&trimmed) {
            // The header, then (after blank lines) its fenced block, if there is one.
            while lines.peek().is_some_and(|l| l.trim().is_empty()) {
                lines.next();
            }
            if lines.peek().is_some_and(|l| l.trim_start().starts_with("```")) {
                lines.next();
                for l in lines.by_ref() {
                    if l.trim_start().starts_with("```") {
                        break;
                    }
                }
            }
            continue;
        }
        let frames_queued = trimmed == "---" && lines.peek().is_some_and(|l| is_queue_line(l.trim()));
        if is_system_event(trimmed) || is_queue_line(trimmed) || frames_queued || is_runtime_line(trimmed) {
            continue;
        }
        out.push(strip_channel_header(line));
    }
    Cow::Owned(collapse_blank_lines(&out))
}

/// A cheap first look, so plain messages cost nothing: one pass per marker with searchers built
/// once (a `str::contains` sets its searcher up again on every call, most of its cost on a short
/// message).
fn might_have_envelope(text: &str) -> bool {
    static MARKERS: std::sync::LazyLock<[memchr::memmem::Finder<'static>; 6]> = std::sync::LazyLock::new(|| {
        ["(untrusted", "OPENCLAW_INTERNAL_CONTEXT", INTERNAL_HEADER, "System: [", QUEUE_MARKER, RUNTIME_PREFIX]
            .map(memchr::memmem::Finder::new)
    });
    text.trim_start().starts_with('[') || MARKERS.iter().any(|f| f.find(text.as_bytes()).is_some())
}

/// Removes `<<<BEGIN…>>> … <<<END…>>>` blocks, nested ones whole; an unterminated block runs to
/// the end (a cut-off block must not leak into the query).
fn strip_internal_blocks(text: &str) -> Cow<'_, str> {
    if !text.contains(INTERNAL_BEGIN) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut depth = 0usize;
    loop {
        let begin = rest.find(INTERNAL_BEGIN);
        let end = rest.find(INTERNAL_END);
        match (depth, begin, end) {
            (0, Some(b), _) => {
                out.push_str(&rest[..b]);
                depth = 1;
                rest = &rest[b + INTERNAL_BEGIN.len()..];
            }
            (0, None, _) => {
                out.push_str(rest);
                break;
            }
            (_, Some(b), Some(e)) if b < e => {
                depth += 1;
                rest = &rest[b + INTERNAL_BEGIN.len()..];
            }
            (_, _, Some(e)) => {
                depth -= 1;
                rest = &rest[e + INTERNAL_END.len()..];
            }
            (_, _, None) => break,
        }
    }
    Cow::Owned(out)
}

/// True if `text`, after an optional leading `[timestamp]`, starts with `header`.
fn starts_with_header(text: &str, header: &str) -> bool {
    strip_channel_header(text.trim_start()).trim_start().starts_with(header)
}

/// OpenClaw's system event lines (`System: [time] …`, `System (untrusted): [time] …`).
fn is_system_event(line: &str) -> bool {
    line.strip_prefix("System: [").or_else(|| line.strip_prefix("System (untrusted): [")).is_some()
}

/// OpenClaw's runtime line (`Runtime: agent=main | session=… | host=… | model=…`), which
/// `openclaw agent --local` (2026.9) puts after the user's words.
fn is_runtime_line(line: &str) -> bool {
    line.starts_with(RUNTIME_PREFIX) && line.contains(" | session=")
}

/// The frame of queued messages: the marker and `Queued #n (from …)` (with the `---` before it).
fn is_queue_line(line: &str) -> bool {
    line == QUEUE_MARKER || line.strip_prefix("Queued #").is_some_and(|r| r.contains("(from "))
}

/// A channel header at the start of a line (`[Telegram Mara +1m Sun 2026-12-06 09:20 UTC] `,
/// `[Fri 2026-03-20 08:06 UTC] `): a bracket of at most 200 bytes holding a date.
fn strip_channel_header(line: &str) -> &str {
    let Some(inner) = line.strip_prefix('[') else { return line };
    let Some(close) = inner.find(']').filter(|&i| i <= 200) else { return line };
    if has_date(&inner[..close]) {
        inner[close + 1..].trim_start()
    } else {
        line
    }
}

/// True if `s` holds a `YYYY-MM-DD` date.
fn has_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.windows(10).any(|w| {
        w[..4].iter().all(u8::is_ascii_digit)
            && w[4] == b'-'
            && w[5..7].iter().all(u8::is_ascii_digit)
            && w[7] == b'-'
            && w[8..].iter().all(u8::is_ascii_digit)
    })
}

/// Joins lines, keeping at most one blank line in a row, trimmed.
fn collapse_blank_lines(lines: &[&str]) -> String {
    let mut out = String::new();
    let mut blank = false;
    for l in lines {
        if l.trim().is_empty() {
            blank = !out.is_empty();
            continue;
        }
        if blank {
            out.push('\n');
            blank = false;
        }
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(l.trim_end());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_returned_as_it_is() {
        for t in ["hello", "", "[link](x) and [2026-01-01]", "System: fine", "[1] first\n[2] second"] {
            assert_eq!(user_words(t), t, "{t:?}");
        }
        assert!(matches!(user_words("just words"), Cow::Borrowed(_)));
    }

    #[test]
    fn metadata_blocks_system_events_and_channel_headers_are_removed() {
        let text = "System (untrusted): [2026-12-06 09:12:40 UTC] Exec completed (calm-otter, code 0) :: ok\n\n\
            Conversation info (untrusted metadata):\n```json\n{\n  \"message_id\": \"1\",\n  \"sender\": \"Mara\"\n}\n```\n\n\
            Sender (untrusted metadata):\n```json\n{\"label\": \"Mara (5)\"}\n```\n\n\
            [Telegram Mara +1m Sun 2026-12-06 09:20 UTC] Compare my budget\nwith last month";
        assert_eq!(user_words(text), "Compare my budget\nwith last month");
        // A header without its fence goes alone; the words after it stay.
        assert_eq!(user_words("Sender (untrusted metadata):\nhi there"), "hi there");
    }

    #[test]
    fn openclaw_internal_context_is_removed_nested_or_cut_off() {
        let text = format!("{INTERNAL_BEGIN}\n{INTERNAL_HEADER}\nsessions: a, b\n{INTERNAL_BEGIN}\ninner\n{INTERNAL_END}\nmore\n{INTERNAL_END}\n\nTranslate the letter");
        assert_eq!(user_words(&text), "Translate the letter");
        assert_eq!(user_words(&format!("keep this\n{INTERNAL_BEGIN}\nnever closed, never seen")), "keep this");
        // Older releases: the header without delimiters makes the whole message runtime context.
        assert_eq!(
            user_words(&format!("[Fri 2026-03-20 08:06 UTC] {INTERNAL_HEADER}\n[Internal task completion event]")),
            ""
        );
        assert_eq!(user_words(&format!("{INTERNAL_END} stray end")), format!("{INTERNAL_END} stray end"));
    }

    #[test]
    fn openclaws_runtime_line_after_the_users_words_is_removed() {
        // As OpenClaw 2026.9.6 (`agent --local`) sent it in tests/agents.rs.
        let text =
            "say hi\n\nRuntime: agent=main | session=agent:main:explicit:metaclaw-test | sessionId=metaclaw-test | \
            host=vm | repo=/tmp/w/.openclaw/workspace | os=Linux 6.18.44 (x64) | node=v24.19.0 | active_node=unknown | \
            model=metaclaw/standin-small | default_model=metaclaw/standin-small";
        assert_eq!(user_words(text), "say hi");
        // Words that merely start the same way stay.
        assert_eq!(user_words("Runtime: agent=smith is how I log it"), "Runtime: agent=smith is how I log it");
    }

    #[test]
    fn queued_messages_keep_each_users_words() {
        let text = "[Queued messages while agent was busy]\n\n---\nQueued #1 (from Nico)\n\
            Conversation info (untrusted metadata):\n```json\n{}\n```\n\nfirst words\n\n---\nQueued #2 (from Nico)\nsecond words";
        assert_eq!(user_words(text), "first words\n\nsecond words");
    }
}
