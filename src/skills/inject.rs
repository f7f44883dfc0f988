//! Injection: the chosen skills rendered compactly and placed where they don't break the agent —
//! appended to the system message (keeping structured parts and their `cache_control`), or as a
//! late system message just before the latest user message so the provider's prefix cache of
//! the conversation survives.

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::Skill;

use crate::fields::Fields;

/// Where the skills block goes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum Placement {
    /// Appended to the first system message (a new one at the top if there is none).
    #[default]
    System,
    /// A separate system message right before the latest user message.
    Late,
}

/// A skill injected into a turn, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct Injected {
    pub name: String,
    pub score: f32,
    /// Query terms that matched it (stemmed), strongest first.
    pub terms: Vec<String>,
    /// Cosine similarity to the request, when semantic retrieval is on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub similarity: Option<f32>,
}

pub const HEADER: &str = "## Skills\nInstructions that may help with this request; apply them where they fit.";

/// The block of text injected for `skills`.
pub fn render_block(skills: &[&Skill]) -> String {
    let mut out = String::from(HEADER);
    for s in skills {
        out.push_str("\n\n### ");
        out.push_str(&s.name);
        out.push('\n');
        out.push_str(&s.description);
        out.push_str("\n\n");
        out.push_str(s.body.trim());
    }
    out
}

/// A rendered skills block, kept by the snapshot for the set of skills it was made for so a
/// resent conversation reuses it; its JSON-escaped form (for splicing into the client's bytes)
/// is made once, on first use.
#[derive(Debug, Default)]
pub struct Block {
    text: String,
    /// `"\n\n" + text` as JSON string content (without the quotes).
    escaped: OnceLock<String>,
}

impl Block {
    pub fn new(text: String) -> Self {
        Self { text, escaped: OnceLock::new() }
    }

    /// The block's text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// What [`inject`] appends to a string system message (`"\n\n"` and the block), escaped as
    /// JSON string content.
    pub fn escaped_appendix(&self) -> &str {
        self.escaped.get_or_init(|| {
            let quoted = serde_json::to_string(&format!("\n\n{}", self.text)).unwrap_or_default();
            quoted.get(1..quoted.len().saturating_sub(1)).unwrap_or_default().to_string()
        })
    }
}

impl PartialEq for Block {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

/// Puts `block` into the request's messages.
pub fn inject(body: &mut Map<String, Value>, block: &str, placement: Placement) {
    let Some(Value::Array(messages)) = body.get_mut("messages") else { return };
    match placement {
        Placement::System => {
            match messages
                .iter_mut()
                .find(|m| matches!(m.field("role").and_then(Value::as_str), Some("system" | "developer")))
            {
                Some(sys) => append_to(sys, block),
                None => messages.insert(0, json!({"role": "system", "content": block})),
            }
        }
        Placement::Late => {
            let at = messages
                .iter()
                .rposition(|m| m.field("role").and_then(Value::as_str) == Some("user"))
                .unwrap_or(messages.len());
            messages.insert(at, json!({"role": "system", "content": block}));
        }
    }
}

fn append_to(msg: &mut Value, block: &str) {
    match msg.get_mut("content") {
        Some(Value::String(s)) => {
            s.push_str("\n\n");
            s.push_str(block);
        }
        // Structured content: add a part, leaving the others (and their cache_control) as they are.
        Some(Value::Array(parts)) => parts.push(json!({"type": "text", "text": block})),
        _ => {
            msg["content"] = Value::String(block.to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(messages: Value) -> Map<String, Value> {
        json!({"model": "m", "messages": messages}).as_object().unwrap().clone()
    }

    #[test]
    fn a_blocks_escaped_appendix_is_what_appending_it_to_a_system_string_serialises_to() {
        let block = Block::new("## Skills\n\"quoted\" \\ back\tslash, é and \u{1}".into());
        let mut b = body(json!([{"role": "system", "content": "be nice"}]));
        inject(&mut b, block.text(), Placement::System);
        let whole = serde_json::to_string(&b["messages"][0]["content"]).unwrap();
        assert_eq!(format!("\"be nice{}\"", block.escaped_appendix()), whole);
        assert!(std::ptr::eq(block.escaped_appendix(), block.escaped_appendix()), "escaped once");
    }

    #[test]
    fn appends_to_a_string_system_message() {
        let mut b = body(json!([{"role": "system", "content": "be nice"}, {"role": "user", "content": "hi"}]));
        inject(&mut b, "SKILLS", Placement::System);
        assert_eq!(b["messages"][0]["content"], "be nice\n\nSKILLS");
        assert_eq!(b["messages"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn keeps_structured_parts_and_cache_control() {
        let parts = json!([{"type": "text", "text": "big prompt", "cache_control": {"type": "ephemeral"}}]);
        let mut b = body(json!([{"role": "system", "content": parts}, {"role": "user", "content": "hi"}]));
        inject(&mut b, "SKILLS", Placement::System);
        let c = &b["messages"][0]["content"];
        assert_eq!(c[0], parts[0]);
        assert_eq!(c[1], json!({"type": "text", "text": "SKILLS"}));
    }

    #[test]
    fn adds_a_system_message_when_there_is_none_and_uses_developer_if_that_is_the_system_role() {
        let mut b = body(json!([{"role": "user", "content": [{"type": "text", "text": "hi"}]}]));
        inject(&mut b, "SKILLS", Placement::System);
        assert_eq!(b["messages"][0], json!({"role": "system", "content": "SKILLS"}));
        let mut b = body(json!([{"role": "developer", "content": "d"}, {"role": "user", "content": "hi"}]));
        inject(&mut b, "S", Placement::System);
        assert_eq!(b["messages"][0]["content"], "d\n\nS");
    }

    #[test]
    fn late_placement_goes_before_the_latest_user_message_even_in_tool_loops() {
        let msgs = json!([
            {"role": "system", "content": "sys"},
            {"role": "user", "content": "first"},
            {"role": "assistant", "content": "a"},
            {"role": "user", "content": "second"},
            {"role": "assistant", "content": null, "tool_calls": [{"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "c", "content": "result"}
        ]);
        let mut b = body(msgs.clone());
        inject(&mut b, "S", Placement::Late);
        let m = b["messages"].as_array().unwrap();
        assert_eq!(m.len(), 7);
        assert_eq!(m[3], json!({"role": "system", "content": "S"}));
        assert_eq!(m[4]["content"], "second");
        assert_eq!(m[0], msgs[0], "the system prompt (the cached prefix) is untouched");
    }
}
