//! Reading a non-streaming chat completion for its transcript without building a JSON tree of
//! the whole body: only the first choice's message, finish reason and logprobs and the usage are
//! kept (as small values), everything else is skipped as it is read. Every turn's answer is read
//! this way on the writer thread, which shares a core with the proxy, so the saving is per turn.
//! Shapes it does not expect (a choice or message that is not an object, `choices` that is not
//! an array) are an error, and the caller reads the body the slow way instead.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize as _;
use serde_json::Value;

/// The parts of a completion a transcript reads.
#[derive(Default)]
pub(super) struct Parts {
    /// The first choice (`None`: no `choices`, or an empty array).
    pub choice: Option<Choice>,
    pub usage: Option<Value>,
}

/// The parts of one choice.
#[derive(Default)]
pub(super) struct Choice {
    /// `None` when the choice has no `message` key (a `null` message is `Some(Null)`).
    pub message: Option<Message>,
    pub finish_reason: Option<Value>,
    pub logprobs: Option<Value>,
}

/// The parts of a message (`null` reads as a message with none of them, as [`Value::get`] does).
#[derive(Default)]
pub(super) struct Message {
    pub content: Option<Value>,
    pub reasoning_content: Option<Value>,
    pub reasoning: Option<Value>,
    pub tool_calls: Option<Value>,
}

impl Message {
    /// The message's field `key`, as `Value::get` on the message would give it.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match key {
            "content" => self.content.as_ref(),
            "reasoning_content" => self.reasoning_content.as_ref(),
            "reasoning" => self.reasoning.as_ref(),
            "tool_calls" => self.tool_calls.as_ref(),
            _ => None,
        }
    }
}

/// Reads `body`; an error for any shape the slow path must judge.
pub(super) fn parts(body: &[u8]) -> Result<Parts, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let parts = de.deserialize_map(ObjectOf(top))?;
    de.end()?;
    Ok(parts)
}

/// Reads one field's value as asked (the error's text, should it fail).
type Next<'a> = dyn FnMut(Want) -> Result<Got, String> + 'a;

/// Stores the field `key` of a `T`, reading its value with [`Next`].
type Field<T> = fn(&mut T, &str, &mut Next) -> Result<(), String>;

/// A JSON object read field by field into a `T` (later duplicates win, as in a map).
struct ObjectOf<T>(Field<T>);

/// What a field's reader asks for its value.
enum Want {
    Value,
    Choices,
    Message,
    Skip,
}

/// A field's value as asked.
enum Got {
    Value(Value),
    Choice(Option<Choice>),
    Message(Message),
    Skipped,
}

fn top(p: &mut Parts, key: &str, next: &mut Next) -> Result<(), String> {
    let want = match key {
        "choices" => Want::Choices,
        "usage" => Want::Value,
        _ => Want::Skip,
    };
    match (key, next(want)?) {
        ("choices", Got::Choice(c)) => p.choice = c,
        ("usage", Got::Value(v)) => p.usage = Some(v),
        _ => {}
    }
    Ok(())
}

fn choice(c: &mut Choice, key: &str, next: &mut Next) -> Result<(), String> {
    let want = match key {
        "message" => Want::Message,
        "finish_reason" | "logprobs" => Want::Value,
        _ => Want::Skip,
    };
    match (key, next(want)?) {
        ("message", Got::Message(m)) => c.message = Some(m),
        ("finish_reason", Got::Value(v)) => c.finish_reason = Some(v),
        ("logprobs", Got::Value(v)) => c.logprobs = Some(v),
        _ => {}
    }
    Ok(())
}

fn message(m: &mut Message, key: &str, next: &mut Next) -> Result<(), String> {
    let want = match key {
        "content" | "reasoning_content" | "reasoning" | "tool_calls" => Want::Value,
        _ => Want::Skip,
    };
    if let Got::Value(v) = next(want)? {
        match key {
            "content" => m.content = Some(v),
            "reasoning_content" => m.reasoning_content = Some(v),
            "reasoning" => m.reasoning = Some(v),
            _ => m.tool_calls = Some(v),
        }
    }
    Ok(())
}

/// Reads one value as `want` says.
struct Seed(Want);

impl<'de> DeserializeSeed<'de> for Seed {
    type Value = Got;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Got, D::Error> {
        match self.0 {
            Want::Value => serde::Deserialize::deserialize(d).map(Got::Value),
            Want::Skip => IgnoredAny::deserialize(d).map(|_| Got::Skipped),
            Want::Choices => d.deserialize_seq(FirstChoice).map(Got::Choice),
            Want::Message => d.deserialize_any(MessageOrNull).map(Got::Message),
        }
    }
}

impl<'de, T: Default> Visitor<'de> for ObjectOf<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<T, A::Error> {
        let mut out = T::default();
        while let Some(key) = map.next_key::<&'de str>()? {
            let mut err = None;
            let mut next = |want: Want| {
                map.next_value_seed(Seed(want)).map_err(|e| {
                    let text = e.to_string();
                    err = Some(e);
                    text
                })
            };
            let read = (self.0)(&mut out, key, &mut next);
            if let Some(e) = err {
                return Err(e);
            }
            read.map_err(de::Error::custom)?;
        }
        Ok(out)
    }
}

/// The first element of `choices` as a choice object; the others skipped.
struct FirstChoice;

impl<'de> Visitor<'de> for FirstChoice {
    type Value = Option<Choice>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of choices")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Option<Choice>, A::Error> {
        let first = seq.next_element_seed(ChoiceSeed)?;
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(first)
    }
}

struct ChoiceSeed;

impl<'de> DeserializeSeed<'de> for ChoiceSeed {
    type Value = Choice;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Choice, D::Error> {
        d.deserialize_map(ObjectOf(choice))
    }
}

/// A message object, or `null` (a message with no fields).
struct MessageOrNull;

impl<'de> Visitor<'de> for MessageOrNull {
    type Value = Message;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a message object or null")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Message, E> {
        Ok(Message::default())
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Message, A::Error> {
        ObjectOf(message).visit_map(map)
    }
}
