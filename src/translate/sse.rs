//! Server-sent events split out of raw bytes as they arrive: boundaries are found in the bytes
//! (never in lossily decoded text, whose offsets differ once a byte is invalid UTF-8), each
//! event's text is decoded on its own, and an event that never ends can't grow without bound.

/// Longest event kept while waiting for its end; past this the partial event is thrown away.
pub const MAX_EVENT_BYTES: usize = 16 << 20;

/// One event: its `event:` name, if any, and its `data:` lines joined with `\n`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    pub event: Option<String>,
    pub data: String,
}

/// Incremental SSE splitter: push bytes split anywhere, take complete events.
#[derive(Debug, Default)]
pub struct SseSplitter {
    buf: Vec<u8>,
    /// How far `buf` was already searched for a boundary (an event arriving in many small
    /// pieces is not searched again from its start each time).
    searched: usize,
    /// Bytes dropped because one event grew past [`MAX_EVENT_BYTES`].
    pub discarded: u64,
}

/// Where the first blank line (`\n\n`, `\r\n\r\n` or mixed) at or after `from` is: (event
/// end, separator length).
fn boundary(buf: &[u8], from: usize) -> Option<(usize, usize)> {
    let mut i = from;
    while let Some(p) = buf[i..].iter().position(|b| *b == b'\n') {
        let nl = i + p;
        let rest = &buf[nl + 1..];
        if rest.first() == Some(&b'\n') {
            let end = if nl > 0 && buf[nl - 1] == b'\r' { nl - 1 } else { nl };
            return Some((end, nl + 2 - end));
        }
        if rest.starts_with(b"\r\n") {
            let end = if nl > 0 && buf[nl - 1] == b'\r' { nl - 1 } else { nl };
            return Some((end, nl + 3 - end));
        }
        i = nl + 1;
    }
    None
}

fn parse(raw: &[u8]) -> Option<SseEvent> {
    let text = String::from_utf8_lossy(raw);
    let mut event = None;
    let mut data: Vec<&str> = Vec::new();
    for line in text.lines() {
        if let Some(e) = line.strip_prefix("event:") {
            event = Some(e.trim().to_string());
        } else if let Some(d) = line.strip_prefix("data:") {
            data.push(d.strip_prefix(' ').unwrap_or(d));
        }
    }
    (!data.is_empty() || event.is_some()).then(|| SseEvent { event, data: data.join("\n") })
}

impl SseSplitter {
    /// Adds bytes and returns every event they complete.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<SseEvent> {
        self.buf.extend_from_slice(chunk);
        let mut out = Vec::new();
        let mut start = 0;
        let mut from = self.searched;
        while let Some((end, sep)) = boundary(&self.buf, from) {
            let end = end.max(start);
            if let Some(e) = parse(&self.buf[start..end]) {
                out.push(e);
            }
            start = end + sep;
            from = start;
        }
        self.buf.drain(..start);
        // A boundary may straddle the next push: search its last two bytes again.
        self.searched = self.buf.len().saturating_sub(2);
        if self.buf.len() > MAX_EVENT_BYTES {
            self.discarded += self.buf.len() as u64;
            self.buf = Vec::new();
            self.searched = 0;
        }
        out
    }

    /// The unterminated event left at the end of the stream, if any.
    pub fn finish(&mut self) -> Option<SseEvent> {
        let rest = std::mem::take(&mut self.buf);
        self.searched = 0;
        parse(&rest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(input: &[u8], split: usize) -> Vec<SseEvent> {
        let mut s = SseSplitter::default();
        let mut out = Vec::new();
        for piece in input.chunks(split) {
            out.extend(s.push(piece));
        }
        out.extend(s.finish());
        out
    }

    #[test]
    fn invalid_utf8_never_shifts_an_event_boundary() {
        // Each invalid byte becomes a 3-byte U+FFFD in lossy text: boundaries found there used to
        // be past the end of the bytes (a panic) or inside the next event (bytes eaten).
        let input = b"data: \xff\xfe\xfd\n\nevent: x\ndata: {\"a\":1}\r\n\r\ndata: \xc3\n\ndata: last\n\n";
        for split in [1, 2, 3, 5, input.len()] {
            let ev = all(input, split);
            assert_eq!(ev.len(), 4, "split {split}: {ev:?}");
            assert_eq!(ev[0].data, "\u{fffd}\u{fffd}\u{fffd}");
            assert_eq!((ev[1].event.as_deref(), ev[1].data.as_str()), (Some("x"), "{\"a\":1}"));
            assert_eq!(ev[2].data, "\u{fffd}");
            assert_eq!(ev[3].data, "last");
        }
    }

    #[test]
    fn garbage_and_truncated_streams_are_bounded() {
        let ev = all(b"\n\n\n\r\n\r\n: comment\n\nnot sse at all\n\ndata: cut off", 3);
        assert_eq!(ev, vec![SseEvent { event: None, data: "cut off".into() }]);
        let mut s = SseSplitter::default();
        let blob = vec![b'x'; 1 << 20];
        for _ in 0..(MAX_EVENT_BYTES >> 20) + 2 {
            assert!(s.push(&blob).is_empty());
        }
        assert!(s.buf.len() <= MAX_EVENT_BYTES && s.discarded > 0);
        assert_eq!(s.push(b"\n\ndata: ok\n\n").last().map(|e| e.data.as_str()), Some("ok"));
    }
}
