//! The edited body without serialising it again: when MetaClaw's only change to a chat request is
//! the skills block appended to its system message (the usual case), the bytes sent upstream are
//! the client's own, with the block escaped and inserted before that message's closing quote.
//! Anything less plain (no system message, structured content, a key written twice or with
//! escapes) is left to serialising the edited body, which gives the same JSON.

use bytes::Bytes;

/// The received `raw` body with a skills block appended to the content of its first `system` or
/// `developer` message, as [`crate::skills::inject`] appends it; `None` when that can't be done
/// on the bytes alone. `raw` is a body that parsed as JSON; `escaped` is what is appended, as
/// JSON string content ([`crate::skills::Block::escaped_appendix`]).
pub fn system_block_appended(raw: &[u8], escaped: &str) -> Option<Bytes> {
    let at = system_content_end(raw)?;
    let mut out = Vec::with_capacity(raw.len() + escaped.len());
    out.extend_from_slice(raw.get(..at)?);
    out.extend_from_slice(escaped.as_bytes());
    out.extend_from_slice(raw.get(at..)?);
    Some(Bytes::from(out))
}

/// Deepest nesting skipped (serde_json refuses deeper bodies anyway).
const MAX_DEPTH: usize = 128;

/// Where the closing quote of the first system message's string content is. The whole body is
/// read once: a second `messages` key (the last one counts) leaves it to the full path.
fn system_content_end(raw: &[u8]) -> Option<usize> {
    let mut s = Scan { b: raw, i: 0 };
    let mut found = None;
    s.object(|s, key| {
        if key != b"messages" {
            return s.skip(0);
        }
        if found.is_some() {
            return None;
        }
        found = Some(s.system_content_end()?);
        Some(())
    })?;
    found.flatten()
}

/// The position of the first `"` or `\\` in `s` (SIMD where the CPU has it: a system prompt runs
/// to tens of kilobytes).
fn quote_or_backslash(s: &[u8]) -> Option<usize> {
    memchr::memchr2(b'"', b'\\', s)
}

struct Scan<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Scan<'a> {
    fn ws(&mut self) {
        while matches!(self.b.get(self.i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.b.get(self.i).copied()
    }

    fn expect(&mut self, c: u8) -> Option<()> {
        (self.peek()? == c).then(|| self.i += 1)
    }

    /// After an element: `true` at a comma (another follows), `false` at `close`.
    fn next_or(&mut self, close: u8) -> Option<bool> {
        match self.peek()? {
            b',' => {
                self.i += 1;
                Some(true)
            }
            c if c == close => {
                self.i += 1;
                Some(false)
            }
            _ => None,
        }
    }

    /// A string: its content's bytes (still escaped) and whether it has escapes.
    fn string(&mut self) -> Option<(&'a [u8], bool)> {
        self.expect(b'"')?;
        let start = self.i;
        let mut escaped = false;
        loop {
            self.i += quote_or_backslash(self.b.get(self.i..)?)?;
            if self.b.get(self.i) == Some(&b'"') {
                self.i += 1;
                return Some((self.b.get(start..self.i - 1)?, escaped));
            }
            escaped = true;
            self.i += 2;
        }
    }

    /// An object, `field` called at each value with the key (keys with escapes are refused).
    fn object(&mut self, mut field: impl FnMut(&mut Self, &[u8]) -> Option<()>) -> Option<()> {
        self.expect(b'{')?;
        if self.peek()? == b'}' {
            self.i += 1;
            return Some(());
        }
        loop {
            let (key, escaped) = self.string()?;
            if escaped {
                return None;
            }
            self.expect(b':')?;
            self.ws();
            field(self, key)?;
            if !self.next_or(b'}')? {
                return Some(());
            }
        }
    }

    /// The messages array: where its first system message's string content ends (`None` inside
    /// when there is no such message, or its content is not a string).
    fn system_content_end(&mut self) -> Option<Option<usize>> {
        self.expect(b'[')?;
        let mut found = None;
        if self.peek()? == b']' {
            self.i += 1;
            return Some(None);
        }
        let mut first = true;
        loop {
            let (role, content) = self.message()?;
            if first && matches!(role, Some(b"system" | b"developer")) {
                found = content;
                first = false;
            }
            if !self.next_or(b']')? {
                return Some(found);
            }
        }
    }

    /// A message object: its role (if a plain string) and, for string content, where its
    /// closing quote is.
    #[allow(clippy::type_complexity)]
    fn message(&mut self) -> Option<(Option<&'a [u8]>, Option<usize>)> {
        let (mut role, mut content) = (None, None);
        let (mut roles, mut contents) = (0, 0);
        self.object(|s, key| match key {
            b"role" => {
                roles += 1;
                let (r, escaped) = s.string()?;
                role = (!escaped).then_some(r);
                Some(())
            }
            b"content" => {
                contents += 1;
                if s.peek()? == b'"' {
                    s.string()?;
                    content = Some(s.i - 1);
                    Some(())
                } else {
                    s.skip(1)
                }
            }
            _ => s.skip(1),
        })?;
        // A key written twice, or an escaped role: leave it to the full path.
        (roles == 1 && contents <= 1 && role.is_some()).then_some((role, content))
    }

    /// Skips one value.
    fn skip(&mut self, depth: usize) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        match self.peek()? {
            b'"' => self.string().map(|_| ()),
            b'{' => self.object(|s, _| s.skip(depth + 1)),
            b'[' => {
                self.i += 1;
                if self.peek()? == b']' {
                    self.i += 1;
                    return Some(());
                }
                loop {
                    self.skip(depth + 1)?;
                    if !self.next_or(b']')? {
                        return Some(());
                    }
                }
            }
            _ => {
                let start = self.i;
                while self
                    .b
                    .get(self.i)
                    .is_some_and(|c| !matches!(c, b',' | b']' | b'}' | b' ' | b'\t' | b'\n' | b'\r'))
                {
                    self.i += 1;
                }
                (self.i > start).then_some(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Map, Value};

    use super::*;
    use crate::skills::{inject, Block, Placement};

    const BLOCK: &str = "## Skills\n\"quoted\" \\ back\tslash, é and \u{1}";

    fn appendix() -> String {
        Block::new(BLOCK.into()).escaped_appendix().to_string()
    }

    fn edited(raw: &str) -> Value {
        let mut body: Map<String, Value> = serde_json::from_str(raw).unwrap();
        inject(&mut body, BLOCK, Placement::System);
        Value::Object(body)
    }

    #[test]
    fn the_spliced_body_is_the_edited_body_and_odd_shapes_are_left_to_serialising() {
        let spliced = [
            r#"{"model":"m","messages":[{"role":"system","content":"You are \"kind\"."},{"role":"user","content":"hi"}]}"#,
            r#" { "messages" : [ { "content" : "sys\\n" , "role" : "developer" } ] , "stream" : false } "#,
            r#"{"tools":[{"a":[1,2,{"b":null}],"c":-1.5e3}],"messages":[{"role":"user","content":[{"type":"text","text":"x"}]},{"role":"system","name":"s","content":"", "x":{"role":"user"}}],"n":true}"#,
            r#"{"messages":[{"role":"assistant","content":null},{"role":"system","content":"\u00e9\ud83d\ude00"},{"role":"system","content":"second"}]}"#,
        ];
        for raw in spliced {
            let out =
                system_block_appended(raw.as_bytes(), &appendix()).unwrap_or_else(|| panic!("not spliced: {raw}"));
            let got: Value = serde_json::from_slice(&out).unwrap();
            assert_eq!(got, edited(raw), "{raw}");
        }
        let left = [
            r#"{"messages":[{"role":"user","content":"no system message"}]}"#,
            r#"{"messages":[{"role":"system","content":[{"type":"text","text":"parts"}]}]}"#,
            r#"{"messages":[{"role":"system"}]}"#,
            r#"{"messages":[{"role":"system","content":"a","content":"b"}]}"#,
            r#"{"messages":[{"role":"user","role":"system","content":"a"}]}"#,
            r#"{"messages":[{"role":"\u0073ystem","content":"escaped role"}]}"#,
            r#"{"messages":[{"role":"user","content":"x"}],"messages":[{"role":"system","content":"twice"}]}"#,
            r#"{"m\u0065ssages":[{"role":"system","content":"escaped key"}]}"#,
        ];
        for raw in left {
            serde_json::from_str::<Value>(raw).unwrap();
            assert!(system_block_appended(raw.as_bytes(), &appendix()).is_none(), "{raw}");
        }
    }

    #[test]
    fn the_word_at_a_time_search_finds_the_first_quote_or_backslash_anywhere() {
        for len in 0..40 {
            for at in 0..len {
                for c in [b'"', b'\\'] {
                    let mut s: Vec<u8> = (0..len).map(|i| b"ab\x7f\x80\xff\x21\x23\x5b\x5d"[i % 9]).collect();
                    s[at] = c;
                    assert_eq!(quote_or_backslash(&s), Some(at), "{len} {at}");
                }
            }
            let plain: Vec<u8> = (0..len).map(|i| b"ab\x7f\x80\xff\x21\x23\x5b\x5d"[i % 9]).collect();
            assert_eq!(quote_or_backslash(&plain), None);
        }
    }

    #[test]
    fn any_prefix_or_garbage_is_refused_without_a_panic() {
        let raw = r#"{"a":[1,{"b":"c\"d"}],"messages":[{"role":"system","content":"s\\"}]}"#;
        for end in 0..raw.len() {
            assert!(system_block_appended(&raw.as_bytes()[..end], &appendix()).is_none(), "{}", &raw[..end]);
        }
        let deep = format!(r#"{{"x":{}1{},"messages":[]}}"#, "[".repeat(500), "]".repeat(500));
        assert!(system_block_appended(deep.as_bytes(), &appendix()).is_none());
        for junk in ["", "{", "\"", "{\"messages\":[{\"role\":\"system\",\"content\":\"\\", "[]", "{]"] {
            assert!(system_block_appended(junk.as_bytes(), &appendix()).is_none(), "{junk}");
        }
    }
}
