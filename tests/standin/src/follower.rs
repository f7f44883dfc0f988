//! The stand-in's instruction-following agent model, `standin-follower`: it plays an agent's LLM
//! in the MetaClaw-Bench style test (`tests/data/metaclaw-bench-mini`), following the skills
//! MetaClaw injects and nothing else it was not told.
//!
//! - A file task (a question naming a `` `….json` `` file, a date `YYYY-MM-DD` and meetings
//!   `HH:MM Title`) is answered with a call to the first offered tool whose name contains
//!   `write` (`{"path", "content"}`, or the names its schema uses), writing
//!   `{"date", "events": [{"title", "start"}]}`; without tools, the file's content in a fenced
//!   block. Each `start` carries `+08:00` **only** when a system message holds an injected
//!   `## Skills` block stating it as a rule (a line with `+08:00` and "every timestamp", "all
//!   timestamps", "always" or "whenever writing"; an example or a convention "when the user states
//!   one" is not a rule); otherwise it ends in `Z` (the hidden preference is missed, as a model
//!   that was never told would miss it).
//! - After a tool result (the last message has role `tool`), a short sentence.
//! - A multiple-choice question (it asks for `\bbox{…}`) is answered with the options whose text
//!   the model "knows" to be true ([`KNOWN_TRUE`]), e.g. `\bbox{A,C}`.
//! - Anything else (a closing `[Previous Feedback]` note, small talk): a short acknowledgement.
//!
//! A user message of the benchmark's shape `[Previous Feedback] …\n\n<question>` is read for its
//! question only: the model does not learn from feedback within the conversation, so only a
//! skill changes what it writes. Streaming and non-streaming chat completions.
//!
//! The judge and the evolver read the benchmark's feedback through [`feedback_score`] and
//! [`offset_feedback`] (called from `roles.rs`).

use std::sync::atomic::AtomicUsize;
use std::sync::Arc;

use axum::body::Bytes;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use crate::{error, fnv, text_of, words, Script, CREATED};

/// The model name (and prefix) this module answers for.
pub const MODEL: &str = "standin-follower";

/// Option texts the follower knows to be true (compared without case and surrounding space):
/// the correct options of the mini benchmark's distractor questions, general knowledge any
/// competent model has.
pub const KNOWN_TRUE: &[&str] = &[
    "404 Not Found",
    "400 Bad Request",
    "git branch feature-x",
    "git switch -c feature-x",
    "a hash map",
    "a hash set",
    "string",
    "boolean",
    "UPDATE",
    "DELETE",
    "HTTPS on port 443",
    "HTTP on port 80",
    "a gigabyte",
    "a terabyte",
    "merge sort",
    "heap sort",
    "#ff0000",
    "rgb(255, 0, 0)",
    "GET",
    "PUT",
    ".zip",
    ".tar.gz",
    "red",
    "blue",
];

/// What the runner prefixes a round's message with, and the sentence it appends to the feedback
/// of a failed round (the upstream runner's wording).
pub const FEEDBACK_PREFIX: &str = "[Previous Feedback]";
pub const FAILED_REMINDER: &str = "Keep this in mind as you continue with the next task.";

/// Markers of a failed round in `[Previous Feedback]`: the runner's reminder, the multiple-choice
/// corrections, and the mini benchmark's own `feedback.incorrect` opening.
const FAILURE_MARKERS: &[&str] = &[FAILED_REMINDER, "You missed option", "You incorrectly selected", "Incorrect:"];

/// The question part of a benchmark message: without a leading `[Previous Feedback] …`
/// paragraph (empty when the message is feedback alone).
pub fn question_of(text: &str) -> &str {
    let t = text.trim_start();
    if !t.starts_with(FEEDBACK_PREFIX) {
        return t;
    }
    t.find("\n\n").map(|i| t[i + 2..].trim_start()).unwrap_or("")
}

/// The feedback a message opens with (`[Previous Feedback] …` up to the first blank line).
fn feedback_of(text: &str) -> Option<&str> {
    let t = text.trim_start().strip_prefix(FEEDBACK_PREFIX)?;
    Some(t.find("\n\n").map(|i| &t[..i]).unwrap_or(t))
}

/// Whether `feedback` (without its prefix) reports a failed round.
fn failed(feedback: &str) -> bool {
    FAILURE_MARKERS.iter().any(|m| feedback.contains(m))
}

/// The text of the last section `## {heading}\n` of a judge prompt, up to the next `\n\n## `.
fn section<'a>(prompt: &'a str, heading: &str) -> Option<&'a str> {
    let start = prompt.rfind(&format!("## {heading}\n"))? + heading.len() + 4;
    let rest = &prompt[start..];
    Some(rest.find("\n\n## ").map(|i| &rest[..i]).unwrap_or(rest))
}

/// The judge's reading of a benchmark round: `Some(-1)` when the user's next message is a new
/// message (not the same request again, as in a tool loop's follow-up call) opening with
/// `[Previous Feedback]` that reports a failed round, `Some(1)` when it reports success, `None`
/// when the prompt is not of that shape.
pub fn feedback_score(prompt: &str) -> Option<i64> {
    let next = section(prompt, "The user's next message")?;
    let request = section(prompt, "The user's request").unwrap_or("");
    if next.trim() == request.trim() {
        return None;
    }
    feedback_of(without_envelope(next)).map(|f| if failed(f) { -1 } else { 1 })
}

/// Whether an evolver prompt holds a failed round whose `[Previous Feedback]` asks for the
/// `+08:00` offset: then the stand-in evolver proposes the timestamps skill.
pub fn offset_feedback(prompt: &str) -> bool {
    prompt.match_indices(FEEDBACK_PREFIX).any(|(i, _)| {
        let f = feedback_of(&prompt[i..]).unwrap_or("");
        failed(f) && f.contains("+08:00")
    })
}

/// Wordings that make a line a rule for every timestamp (not an example, nor a convention to
/// follow only once the user states it, as some built-in skills put it).
const RULE_WORDS: &[&str] = &["every timestamp", "all timestamps", "always", "whenever writing"];

/// Whether an injected skills block in a system message states the `+08:00` rule: a line after
/// `## Skills` holding `+08:00` and one of [`RULE_WORDS`] (any case).
fn skill_carries_offset(messages: &[Value]) -> bool {
    messages.iter().filter(|m| m["role"] == "system" || m["role"] == "developer").any(|m| {
        let text = text_of(&m["content"]);
        text.find("## Skills").is_some_and(|i| {
            text[i..].lines().any(|l| {
                let l = l.to_lowercase();
                l.contains("+08:00") && RULE_WORDS.iter().any(|w| l.contains(w))
            })
        })
    })
}

/// The description the stand-in evolver gives the timestamps skill it learns from a failed
/// benchmark round: in the words of such requests, as the evolver's prompt asks.
pub const LEARNED_DESCRIPTION: &str = "Use whenever writing dates, times or timestamps to a file, such as the start \
    time of each event, meeting or review in a JSON schedule: ISO 8601 with seconds and the user's +08:00 offset.";

/// The first `` `….json` `` in `q`.
fn json_path(q: &str) -> Option<&str> {
    q.split('`').skip(1).step_by(2).find(|s| s.ends_with(".json") && !s.contains(char::is_whitespace))
}

/// The first `YYYY-MM-DD` in `q`.
fn date_in(q: &str) -> Option<&str> {
    let b = q.as_bytes();
    (0..b.len().saturating_sub(9)).find_map(|i| {
        let s = &b[i..i + 10];
        let digits = |r: std::ops::Range<usize>| s[r].iter().all(u8::is_ascii_digit);
        (digits(0..4) && s[4] == b'-' && digits(5..7) && s[7] == b'-' && digits(8..10)).then(|| &q[i..i + 10])
    })
}

/// Every `HH:MM Title` in `q` (a title ends at `;`, `.`, a newline or the end).
fn meetings(q: &str) -> Vec<(String, String)> {
    let b = q.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i + 6 <= b.len() {
        let s = &b[i..i + 6];
        let starts_word = i == 0 || !b[i - 1].is_ascii_alphanumeric() && b[i - 1] != b':';
        if starts_word
            && s[0].is_ascii_digit()
            && s[1].is_ascii_digit()
            && s[2] == b':'
            && s[3].is_ascii_digit()
            && s[4].is_ascii_digit()
            && s[5] == b' '
        {
            let rest = &q[i + 6..];
            let end = rest.find([';', '.', '\n']).unwrap_or(rest.len());
            let title = rest[..end].trim();
            if !title.is_empty() {
                out.push((q[i..i + 5].to_string(), title.to_string()));
            }
            i += 6 + end;
        } else {
            i += 1;
        }
    }
    out
}

/// The file a file task asks for, and its content.
fn file_task(q: &str, offset: bool) -> Option<(String, String)> {
    let path = json_path(q)?;
    let date = date_in(q)?;
    let events = meetings(q);
    if events.is_empty() {
        return None;
    }
    let zone = if offset { "+08:00" } else { "Z" };
    let events: Vec<Value> =
        events.iter().map(|(hm, title)| json!({"title": title, "start": format!("{date}T{hm}:00{zone}")})).collect();
    let content = serde_json::to_string_pretty(&json!({"date": date, "events": events})).ok()? + "\n";
    Some((path.to_string(), content))
}

/// The letters of a multiple-choice question's options whose text the follower knows is true.
fn choices(q: &str) -> Vec<char> {
    q.lines()
        .filter_map(|l| {
            let l = l.trim();
            let mut cs = l.chars();
            let (letter, dot) = (cs.next()?, cs.next()?);
            (letter.is_ascii_uppercase() && dot == '.').then_some((letter, l[2..].trim()))
        })
        .filter(|(_, text)| KNOWN_TRUE.iter().any(|k| k.eq_ignore_ascii_case(text)))
        .map(|(letter, _)| letter)
        .collect()
}

/// A write tool offered in the request: its name and the argument names for path and content.
fn write_tool(req: &Value) -> Option<(String, String, String)> {
    let tools = req["tools"].as_array()?;
    let name = |t: &Value| t["function"]["name"].as_str().unwrap_or("").to_ascii_lowercase();
    let tool = tools
        .iter()
        .find(|t| matches!(name(t).as_str(), "write" | "write_file"))
        .or_else(|| tools.iter().find(|t| name(t).contains("write")))?;
    let props = &tool["function"]["parameters"]["properties"];
    let pick = |names: &[&str]| names.iter().find(|n| !props[**n].is_null()).unwrap_or(&names[0]).to_string();
    Some((
        tool["function"]["name"].as_str()?.to_string(),
        pick(&["path", "file_path", "filename"]),
        pick(&["content", "contents", "text"]),
    ))
}

/// What the follower answers: text, or one tool call (name, JSON arguments).
#[derive(Debug, PartialEq)]
enum Reply {
    Text(String),
    Call(String, String),
}

/// How OpenClaw opens a user message it adds after the user's own (runtime context, not words).
const AGENT_CONTEXT: &str = "<<<BEGIN_OPENCLAW_INTERNAL_CONTEXT>>>";

/// A user message without an agent's leading time envelope (`[Sun 2026-03-16 09:00 UTC] …`).
fn without_envelope(text: &str) -> &str {
    let t = text.trim_start();
    match t.strip_prefix('[').and_then(|r| r.split_once(']')) {
        Some((inside, rest)) if inside.contains(':') && inside.bytes().any(|b| b.is_ascii_digit()) => rest.trim_start(),
        _ => t,
    }
}

fn reply(req: &Value, messages: &[Value]) -> Reply {
    // The user's latest own message (not an agent's context message), and whether a tool has
    // answered since: then the task is done and a sentence says so.
    let at = messages
        .iter()
        .rposition(|m| m["role"] == "user" && !text_of(&m["content"]).trim_start().starts_with(AGENT_CONTEXT));
    let since = at.map_or(messages, |i| &messages[i + 1..]);
    if let Some(result) = since.iter().rev().find(|m| m["role"] == "tool") {
        let result = text_of(&result["content"]);
        let first = result.lines().next().unwrap_or("").trim();
        return Reply::Text(if first.is_empty() { "Done.".into() } else { format!("Done: {first}") });
    }
    let user = at.map(|i| text_of(&messages[i]["content"])).unwrap_or_default();
    let q = question_of(without_envelope(&user));
    if q.contains("\\bbox") {
        let picked = choices(q);
        let letters = if picked.is_empty() {
            "A".to_string()
        } else {
            picked.iter().map(char::to_string).collect::<Vec<_>>().join(",")
        };
        return Reply::Text(format!("The answer is \\bbox{{{letters}}}."));
    }
    if let Some((path, content)) = file_task(q, skill_carries_offset(messages)) {
        return match write_tool(req) {
            Some((name, p, c)) => Reply::Call(name, json!({ p: path, c: content }).to_string()),
            None => Reply::Text(format!("Here is `{path}`:\n\n```json\n{content}```")),
        };
    }
    Reply::Text(if q.is_empty() { "Noted, thank you.".into() } else { "Understood.".into() })
}

/// Answers a chat completion for [`MODEL`], or `None` for any other model (or a body that is
/// not JSON), so the other roles and the echo answer apply.
pub(crate) fn answer(body: &Bytes, dropped: Arc<AtomicUsize>) -> Option<Response> {
    let req = serde_json::from_slice::<Value>(body).ok()?;
    let model = req["model"].as_str()?.to_string();
    if !model.starts_with(MODEL) {
        return None;
    }
    let Some(messages) = req["messages"].as_array() else {
        return Some(error(400, "'messages' is a required property", "invalid_request_error"));
    };
    let r = reply(&req, messages);
    let id = format!("chatcmpl-{:016x}", fnv(body));
    let prompt_tokens: i64 = messages.iter().map(|m| words(&text_of(&m["content"]))).sum();
    let completion_tokens = match &r {
        Reply::Text(t) => words(t),
        Reply::Call(_, args) => words(args),
    };
    let usage = json!({"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens});
    let call_id = format!("call_{:08x}", fnv(id.as_bytes()) as u32);
    if req["stream"] == true {
        let chunk = |delta: Value, finish: Option<&str>| {
            let c = json!({"id": id, "object": "chat.completion.chunk", "created": CREATED, "model": model,
                "system_fingerprint": "fp_standin",
                "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]});
            format!("data: {c}\n\n")
        };
        let mut events = vec![chunk(json!({"role": "assistant", "content": ""}), None)];
        let finish = match &r {
            Reply::Text(t) => {
                events.extend(t.split_inclusive(' ').map(|w| chunk(json!({"content": w}), None)));
                "stop"
            }
            Reply::Call(name, args) => {
                events.push(chunk(
                    json!({"tool_calls": [{"index": 0, "id": call_id, "type": "function",
                        "function": {"name": name, "arguments": ""}}]}),
                    None,
                ));
                let cut = args.char_indices().map(|(i, _)| i).nth(args.chars().count() / 2).unwrap_or(0);
                for piece in [&args[..cut], &args[cut..]] {
                    events.push(chunk(json!({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}), None));
                }
                "tool_calls"
            }
        };
        events.push(chunk(json!({}), Some(finish)));
        if req["stream_options"]["include_usage"] == true {
            let c = json!({"id": id, "object": "chat.completion.chunk", "created": CREATED, "model": model,
                "system_fingerprint": "fp_standin", "choices": [], "usage": usage});
            events.push(format!("data: {c}\n\n"));
        }
        events.push("data: [DONE]\n\n".to_string());
        return Some(crate::sse_response(events, Script::default(), dropped));
    }
    let (message, finish) = match r {
        Reply::Text(t) => (json!({"role": "assistant", "content": t, "refusal": null}), "stop"),
        Reply::Call(name, args) => (
            json!({"role": "assistant", "content": null, "refusal": null, "tool_calls": [
                {"id": call_id, "type": "function", "function": {"name": name, "arguments": args}}]}),
            "tool_calls",
        ),
    };
    Some(
        Json(json!({
            "id": id, "object": "chat.completion", "created": CREATED, "model": model,
            "system_fingerprint": "fp_standin",
            "choices": [{"index": 0, "message": message, "logprobs": null, "finish_reason": finish}],
            "usage": usage
        }))
        .into_response(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// POSTs `body` to a running stand-in over loopback (HTTP/1.0, so the answer is not chunked)
    /// and returns the response body.
    async fn post(body: &Value) -> String {
        let s = crate::spawn(([127, 0, 0, 1], 0).into(), Default::default()).await.unwrap();
        let body = body.to_string();
        let mut tcp = tokio::net::TcpStream::connect(s.addr).await.unwrap();
        let head = format!(
            "POST /v1/chat/completions HTTP/1.0\r\nhost: standin\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
            body.len()
        );
        tcp.write_all(format!("{head}{body}").as_bytes()).await.unwrap();
        let mut raw = String::new();
        tcp.read_to_string(&mut raw).await.unwrap();
        let (status, rest) = raw.split_once("\r\n\r\n").unwrap();
        assert!(status.starts_with("HTTP/1.0 200") || status.starts_with("HTTP/1.1 200"), "{raw}");
        rest.to_string()
    }

    fn tools() -> Value {
        json!([
            {"type": "function", "function": {"name": "read_file", "parameters": {"type": "object", "properties": {"path": {"type": "string"}}}}},
            {"type": "function", "function": {"name": "write_file", "parameters": {"type": "object",
                "properties": {"path": {"type": "string"}, "content": {"type": "string"}}}}}
        ])
    }

    const TASK: &str = "[Previous Feedback] Correct, thanks.\n\nPut today's meetings in `day02/meetings.json` \
        with a start timestamp for each. Today is 2026-03-17. Meetings: 09:30 Daily standup; 14:00 Design review.";

    fn request(system: &str, stream: bool) -> Value {
        json!({"model": MODEL, "stream": stream, "tools": tools(), "messages": [
            {"role": "system", "content": system}, {"role": "user", "content": TASK}]})
    }

    /// The `write_file` call's arguments in a non-streaming answer.
    fn written(answer: &str) -> Value {
        let v: Value = serde_json::from_str(answer).unwrap();
        assert_eq!(v["choices"][0]["finish_reason"], "tool_calls", "{v}");
        let call = &v["choices"][0]["message"]["tool_calls"][0]["function"];
        assert_eq!(call["name"], "write_file");
        serde_json::from_str(call["arguments"].as_str().unwrap()).unwrap()
    }

    #[tokio::test]
    async fn a_file_task_gets_the_offset_only_from_an_injected_skill() {
        let plain = written(&post(&request("You are an agent.", false)).await);
        assert_eq!(plain["path"], "day02/meetings.json");
        let file: Value = serde_json::from_str(plain["content"].as_str().unwrap()).unwrap();
        assert_eq!(file["events"][0], json!({"title": "Daily standup", "start": "2026-03-17T09:30:00Z"}));
        assert_eq!(file["events"][1]["start"], "2026-03-17T14:00:00Z");

        // The rule in the user's conversation (feedback) is not enough; in a skills block it is.
        let feedback = "You are an agent. The user said +08:00 once.";
        assert!(!written(&post(&request(feedback, false)).await)["content"].as_str().unwrap().contains("+08:00"));
        let example = "You are an agent.\n\n## Skills\nInstructions…\n\n### conventions\nUse when the user states a \
            preference - timestamp format (e.g. ISO 8601 with a +08:00 offset).\n\ncreated_at: 2024-06-10T09:15:00+08:00";
        assert!(!written(&post(&request(example, false)).await)["content"].as_str().unwrap().contains("+08:00"));
        let skilled = "You are an agent.\n\n## Skills\nInstructions…\n\n### timestamp-offsets\nUse whenever writing \
            timestamps.\n\n1. Write every timestamp as ISO 8601 with seconds and +08:00.";
        let file: Value =
            serde_json::from_str(written(&post(&request(skilled, false)).await)["content"].as_str().unwrap()).unwrap();
        assert_eq!(file["events"][1]["start"], "2026-03-17T14:00:00+08:00");
    }

    #[tokio::test]
    async fn a_streamed_tool_call_reassembles_to_the_same_call() {
        let sse = post(&request("You are an agent.", true)).await;
        let mut args = String::new();
        let mut finish = None;
        for data in sse.lines().filter_map(|l| l.strip_prefix("data: ")).filter(|d| *d != "[DONE]") {
            let c: Value = serde_json::from_str(data).unwrap();
            if let Some(a) = c["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"].as_str() {
                args.push_str(a);
            }
            if let Some(f) = c["choices"][0]["finish_reason"].as_str() {
                finish = Some(f.to_string());
            }
        }
        assert!(sse.trim_end().ends_with("data: [DONE]"), "{sse}");
        assert_eq!(finish.as_deref(), Some("tool_calls"));
        assert_eq!(
            serde_json::from_str::<Value>(&args).unwrap(),
            written(&post(&request("You are an agent.", false)).await)
        );
    }

    #[tokio::test]
    async fn a_tool_result_gets_a_short_text_and_choices_get_a_bbox() {
        let follow_up = json!({"model": MODEL, "tools": tools(), "messages": [
            {"role": "user", "content": TASK},
            {"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function",
                "function": {"name": "write_file", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "c1", "content": "wrote 120 bytes to day02/meetings.json"}]});
        let v: Value = serde_json::from_str(&post(&follow_up).await).unwrap();
        assert_eq!(v["choices"][0]["message"]["content"], "Done: wrote 120 bytes to day02/meetings.json");

        let q = "[Previous Feedback] Incorrect: the times need +08:00. Keep this in mind as you continue with the next task.\n\n\
            Which HTTP status codes are client errors?\n\nA. 404 Not Found\nB. 500 Internal Server Error\nC. 400 Bad Request\nD. 302 Found\n\n\
            Answer using \\bbox{X} or \\bbox{X,Y} format.";
        let mc = json!({"model": MODEL, "stream": true, "messages": [{"role": "user", "content": q}]});
        let sse = post(&mc).await;
        let text: String = sse
            .lines()
            .filter_map(|l| l.strip_prefix("data: "))
            .filter(|d| *d != "[DONE]")
            .filter_map(|d| {
                serde_json::from_str::<Value>(d).unwrap()["choices"][0]["delta"]["content"].as_str().map(str::to_string)
            })
            .collect();
        assert_eq!(text, "The answer is \\bbox{A,C}.");
    }

    #[tokio::test]
    async fn the_stand_in_judge_and_evolver_act_on_a_failed_rounds_feedback() {
        let next = "[Previous Feedback] Incorrect: every start needs the +08:00 offset. Keep this in mind as you continue with the next task.\n\nNext";
        let judge = json!({"model": "standin-judge", "messages": [{"role": "user", "content": format!(
            "## The user's request\nWrite it\n\n## The assistant's answer\nDone.\n\n## The user's next message\n{next}")}]});
        let v: Value = serde_json::from_str(&post(&judge).await).unwrap();
        assert!(v["choices"][0]["message"]["content"].as_str().unwrap().ends_with("Score: -1"), "{v}");
        let evolver = json!({"model": "standin-evolver", "messages": [{"role": "user", "content": format!(
            "## Failed turns\n\n### Failure 1\nRequest:\nWrite it\n\nThe user's next message: {next}\n")}]});
        let v: Value = serde_json::from_str(&post(&evolver).await).unwrap();
        assert!(v["choices"][0]["message"]["content"].as_str().unwrap().contains("\"timestamp-offsets\""), "{v}");
    }

    #[tokio::test]
    async fn openclaw_shaped_requests_are_read_for_the_users_own_words() {
        // OpenClaw stamps the user's message, appends runtime lines, and sends a context message
        // after it; its write tool is `write`.
        let q = "[Sun 2026-12-06 19:51 UTC] Which HTTP status codes are client errors?\n\nA. 404 Not Found\nB. 302 Found\n\n\
            Answer using \\bbox{X} or \\bbox{X,Y} format.\n\nRuntime: agent=main | host=vm";
        let context = json!({"role": "user", "content": [{"type": "text", "text": "<<<BEGIN_OPENCLAW_INTERNAL_CONTEXT>>>\nnone"}]});
        let mc = json!({"model": MODEL, "messages": [{"role": "user", "content": q}, context]});
        let v: Value = serde_json::from_str(&post(&mc).await).unwrap();
        assert_eq!(v["choices"][0]["message"]["content"], "The answer is \\bbox{A}.");

        let task = format!("[Sun 2026-12-06 19:51 UTC] {TASK}");
        let tools = json!([{"type": "function", "function": {"name": "write", "parameters": {"type": "object",
            "properties": {"path": {"type": "string"}, "content": {"type": "string"}}}}}]);
        let first = json!({"model": MODEL, "tools": tools, "messages": [{"role": "user", "content": task}, context]});
        let v: Value = serde_json::from_str(&post(&first).await).unwrap();
        let call = &v["choices"][0]["message"]["tool_calls"][0]["function"];
        assert_eq!(call["name"], "write");
        assert!(
            call["arguments"].as_str().unwrap().contains("2026-03-17T09:30:00Z"),
            "the task's date, not the stamp's"
        );
        let after = json!({"model": MODEL, "tools": tools, "messages": [{"role": "user", "content": task},
            {"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function", "function": call}]},
            {"role": "tool", "tool_call_id": "c1", "content": "Successfully wrote 120 bytes"}, context]});
        let v: Value = serde_json::from_str(&post(&after).await).unwrap();
        assert_eq!(v["choices"][0]["message"]["content"], "Done: Successfully wrote 120 bytes", "no second write");
    }

    #[test]
    fn the_judge_reads_failed_feedback_but_not_a_tool_loops_repeat_of_the_request() {
        let prompt = |request: &str, next: &str| {
            format!("## The user's request\n{request}\n\n## The assistant's answer\nDone.\n\n## The user's next message\n{next}")
        };
        let failed = "[Previous Feedback] Incorrect: timestamps need +08:00. Keep this in mind as you continue with the next task.\n\nNext question";
        assert_eq!(feedback_score(&prompt("Write the file", failed)), Some(-1));
        assert_eq!(feedback_score(&prompt("Write the file", "[Previous Feedback] Correct!\n\nNext")), Some(1));
        assert_eq!(feedback_score(&prompt(failed, failed)), None, "the follow-up call of a tool loop is not feedback");
        assert_eq!(feedback_score(&prompt("Write the file", "thanks")), None);
        assert_eq!(
            feedback_score(&prompt("Write the file", &format!("[Sun 2026-12-06 19:51 UTC] {failed}"))),
            Some(-1)
        );
        assert_eq!(feedback_score(&prompt("Write the file", "(none yet: judge the answer on its own)")), None);

        let evolver =
            format!("## Failed turns\n\n### Failure 1\nRequest:\nWrite\n\nThe user's next message: {failed}\n");
        assert!(offset_feedback(&evolver));
        assert!(!offset_feedback("The user's next message: [Previous Feedback] Correct, +08:00 as asked.\n\nNext"));
        assert!(!offset_feedback("The user's next message: [Previous Feedback] Incorrect: the list is short. Keep this in mind as you continue with the next task."));
    }
}
