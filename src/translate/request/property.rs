//! Property test: random conversations (text, images, tool calls with arbitrary JSON inputs,
//! tool results, tools and tool choice) keep their meaning through Anthropic → OpenAI →
//! Anthropic.

use super::*;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn text(&mut self) -> String {
        let words = ["alpha", "beta", "ünïcode", "emoji 🎉", "quote \"x\"", "new\nline", "tab\t", "{json}", ""];
        (0..1 + self.pick(4)).map(|_| words[self.pick(words.len() as u64) as usize]).collect::<Vec<_>>().join(" ")
    }
    fn json(&mut self, depth: u32) -> Value {
        match if depth > 2 { self.pick(4) } else { self.pick(6) } {
            0 => json!(self.pick(1000)),
            1 => json!(self.text()),
            2 => json!(self.pick(2) == 0),
            3 => Value::Null,
            4 => Value::Array((0..self.pick(3)).map(|_| self.json(depth + 1)).collect()),
            _ => Value::Object((0..self.pick(3)).map(|i| (format!("k{i}"), self.json(depth + 1))).collect()),
        }
    }
}

fn conversation(r: &mut Rng) -> Obj {
    let mut messages = Vec::new();
    let mut pending_tools: Vec<String> = Vec::new();
    for turn in 0..1 + r.pick(5) {
        // User turn: tool results for the previous assistant's calls first, then text/images.
        let mut blocks: Vec<Value> = pending_tools
            .drain(..)
            .map(|id| json!({"type": "tool_result", "tool_use_id": id, "content": r.text()}))
            .collect();
        blocks.push(json!({"type": "text", "text": r.text()}));
        if r.pick(4) == 0 {
            blocks.push(json!({"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}}));
        }
        messages.push(json!({"role": "user", "content": blocks}));
        // Assistant turn: text, then maybe tool calls with arbitrary inputs.
        let mut blocks = vec![json!({"type": "text", "text": format!("answer {turn}")})];
        for c in 0..r.pick(3) {
            let id = format!("toolu_{turn}_{c}");
            let mut input = Map::new();
            input.insert("arg".into(), r.json(0));
            blocks.push(json!({"type": "tool_use", "id": id, "name": "tool", "input": input}));
            pending_tools.push(id);
        }
        messages.push(json!({"role": "assistant", "content": blocks}));
    }
    let mut req = json!({"model": "m", "max_tokens": 1 + r.pick(4000), "system": r.text(), "messages": messages,
        "tools": [{"name": "tool", "description": r.text(), "input_schema": {"type": "object"}}]});
    if r.pick(2) == 0 {
        req["temperature"] = json!(0.5);
        req["stop_sequences"] = json!(["STOP"]);
    }
    match r.pick(4) {
        0 => req["tool_choice"] = json!({"type": "auto"}),
        1 => req["tool_choice"] = json!({"type": "any"}),
        2 => req["tool_choice"] = json!({"type": "tool", "name": "tool"}),
        _ => {}
    }
    req.as_object().unwrap().clone()
}

#[test]
fn random_conversations_survive_a_round_trip() {
    let mut r = Rng(0x243f6a8885a308d3);
    for case in 0..300 {
        let original = conversation(&mut r);
        let there = anthropic_to_openai(&original).unwrap_or_else(|e| panic!("case {case}: {e}"));
        let back = openai_to_anthropic(&there).unwrap_or_else(|e| panic!("case {case}: {e}"));
        for key in ["model", "max_tokens", "temperature", "stop_sequences", "tools", "tool_choice"] {
            assert_eq!(back.get(key), original.get(key), "case {case}: {key}");
        }
        if original["system"].as_str().is_some_and(|s| !s.is_empty()) {
            assert_eq!(back["system"], original["system"], "case {case}");
        }
        // Text blocks come back as strings where they were alone; compare block by block.
        let norm = |m: &Value| -> Vec<Value> {
            m["content"]
                .as_array()
                .unwrap()
                .iter()
                .map(|b| if b["type"] == "text" && b["text"] == "" { json!(null) } else { b.clone() })
                .filter(|b| !b.is_null())
                .collect()
        };
        let (a, b) = (original["messages"].as_array().unwrap(), back["messages"].as_array().unwrap());
        assert_eq!(a.len(), b.len(), "case {case}: {a:?} vs {b:?}");
        for (x, y) in a.iter().zip(b) {
            assert_eq!(x["role"], y["role"], "case {case}");
            assert_eq!(norm(x), norm(y), "case {case}");
        }
    }
}
