//! The evolver's prompt (failures with their evidence, the library, what the user rejected) and
//! the strict JSON it must answer with.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::ops::{self, EditOp};
use crate::secrets::redact;
use crate::turn::ScoreSource;

pub const SYSTEM: &str = "You improve an AI assistant by writing skills: short Markdown instructions that are \
added to its prompt when a request is relevant. You are shown turns where the assistant failed, with the judge's \
reasons and the user's reaction, and the skills it already has. Propose at most MAX skills that would have \
prevented these failures. Prefer editing an existing skill that almost covers the failure over creating a new one. \
A new skill (action \"create\"): a name (lowercase letters, digits and single hyphens), a one-sentence description \
saying when to use it (with the words a user would type), a concise body of numbered steps with a short example, a \
category, and a rationale naming the failure it fixes. An edit (action \"edit\", the existing skill's name) never \
rewrites the skill: it lists small operations on the current text shown to you, each naming the exact line it \
applies to: {\"op\": \"add_step\", \"after\": \"<existing line>\", \"text\": \"<new line>\"} (omit \"after\" to add \
at the end), {\"op\": \"replace_line\", \"anchor\": \"<existing line>\", \"text\": \"<new line>\"}, \
{\"op\": \"remove_line\", \"anchor\": \"<existing line>\"}; keep every line that is still right. Never include \
credentials, and never tell the assistant to ignore its instructions or the user. Answer with JSON only, exactly: \
{\"skills\": [{\"action\": \"create\", \"name\": \"...\", \"description\": \"...\", \"body\": \"...\", \
\"category\": \"...\", \"rationale\": \"...\"}, {\"action\": \"edit\", \"name\": \"...\", \"ops\": [...], \
\"rationale\": \"...\"}]} — or {\"skills\": []} if no skill would help.";

/// An existing skill as the evolver sees it: its name, description and (for the closest few) its
/// current body, which edit operations anchor on.
#[derive(Debug, Clone, PartialEq)]
pub struct Shown {
    pub name: String,
    pub description: String,
    pub body: Option<String>,
}

/// One failed turn as shown to the evolver (and kept as a candidate's evidence).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct Failure {
    pub turn_id: i64,
    pub request: String,
    pub answer: String,
    /// The judge's reason, or the user's note when the user scored the turn.
    pub reason: Option<String>,
    /// What the user said next (often the correction).
    pub next_message: Option<String>,
    /// Who scored the turn: `judge` or `user` (whose verdict and note replace the judge's).
    #[serde(default = "judge_source")]
    pub source: ScoreSource,
}

fn judge_source() -> ScoreSource {
    ScoreSource::Judge
}

/// A judge's or user's reason as one quoted line: markdown headings, fences and blank lines
/// (a rambling judge's copy of its prompt) would blur the prompt's own structure.
pub fn sanitise_reason(reason: &str, max: usize) -> String {
    let words: Vec<&str> = reason
        .lines()
        .map(|l| l.trim())
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with("```"))
        .flat_map(str::split_whitespace)
        .collect();
    let line = words.join(" ").replace('"', "'");
    format!("\"{}\"", cut(&line, max))
}

/// One proposed skill, as the evolver wrote it: a create carries a `body`; an edit carries `ops`
/// on the current body (or, from a model that ignores the contract, a whole `body`, which is
/// diffed into operations). An edit's description, when absent, stays as it is.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Proposal {
    pub action: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub body: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ops: Option<Vec<EditOp>>,
    #[serde(default)]
    pub category: String,
    #[serde(default)]
    pub rationale: String,
}

fn cut(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        return s.to_string();
    }
    let head: String = s.chars().take(n).collect();
    format!("{head}…")
}

/// The user message for the evolver.
pub fn user_prompt(failures: &[Failure], skills: &[Shown], rejected: &[(String, String)]) -> String {
    let mut p = String::from("## Failed turns\n");
    for (i, f) in failures.iter().enumerate() {
        p.push_str(&format!(
            "\n### Failure {}\nRequest:\n{}\n\nAnswer:\n{}\n",
            i + 1,
            cut(&f.request, 1500),
            cut(&f.answer, 1200)
        ));
        match (f.source, f.reason.as_deref().map(|r| sanitise_reason(r, 400))) {
            (ScoreSource::User, Some(r)) if r != "\"\"" => p.push_str(&format!("\nThe user marked it failed: {r}\n")),
            (ScoreSource::User, _) => p.push_str("\nThe user marked it failed.\n"),
            (_, Some(r)) if r != "\"\"" => p.push_str(&format!("\nWhy it failed (the judge): {r}\n")),
            _ => {}
        }
        if let Some(n) = &f.next_message {
            p.push_str(&format!("\nThe user's next message: {}\n", cut(n, 800)));
        }
    }
    p.push_str("\n## Existing skills (edit one rather than duplicate it)\n");
    for s in skills {
        p.push_str(&format!("- {}: {}\n", s.name, cut(&s.description, 200)));
    }
    for s in skills {
        if let Some(body) = &s.body {
            // Whole, not cut: edit operations anchor on its lines. Four backticks: a fence inside
            // the body can't close it.
            p.push_str(&format!("\n### Current text of {}\n````\n{}\n````\n", s.name, body));
        }
    }
    if !rejected.is_empty() {
        p.push_str("\n## Skills the user rejected (do not propose them again)\n");
        for (name, reason) in rejected {
            p.push_str(&format!("- {name}: {}\n", cut(reason, 200)));
        }
    }
    redact(&p)
}

/// Parses the evolver's answer: a `{"skills": [...]}` object, possibly inside a code fence or
/// after a sentence.
pub fn parse(text: &str) -> Result<Vec<Proposal>, String> {
    let start = text.find('{').ok_or("no JSON object in the answer")?;
    let end = text.rfind('}').filter(|e| *e > start).ok_or("the answer is not valid JSON: the object never closes")?;
    let v: Value =
        serde_json::from_str(&text[start..=end]).map_err(|e| format!("the answer is not valid JSON: {e}"))?;
    let skills = v.get("skills").and_then(Value::as_array).ok_or("the JSON has no `skills` list")?;
    skills
        .iter()
        .map(|s| {
            // The operations are read on their own, for an error that names the bad one.
            let mut s = s.clone();
            let ops = s.as_object_mut().and_then(|o| o.remove("ops")).filter(|o| !o.is_null());
            let mut p =
                serde_json::from_value::<Proposal>(s).map_err(|e| format!("a proposed skill is incomplete: {e}"))?;
            if let Some(ops) = ops {
                p.ops = Some(ops::parse(&ops).map_err(|e| format!("the edit of {} is not usable: {e}", p.name))?);
            }
            if p.action != "edit" && p.body.trim().is_empty() {
                return Err(format!("the new skill {} has no body", p.name));
            }
            if p.action == "edit" && p.ops.is_none() && p.body.trim().is_empty() {
                return Err(format!("the edit of {} has neither operations nor a body", p.name));
            }
            Ok(p)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rambling_reason_with_headings_becomes_one_quoted_line() {
        let r = "## The user's request\nThe user asked for a \"fun\" fact.\n\n## The next message\n(none yet)";
        assert_eq!(sanitise_reason(r, 400), "\"The user asked for a 'fun' fact. (none yet)\"");
        let f = Failure {
            turn_id: 1,
            request: "r".into(),
            answer: "a".into(),
            reason: Some(r.into()),
            next_message: None,
            source: ScoreSource::Judge,
        };
        let p = user_prompt(&[f], &[], &[]);
        assert_eq!(p.lines().filter(|l| l.starts_with('#')).count(), 3, "only the prompt's own headings: {p}");
    }

    #[test]
    fn the_users_verdict_is_labelled_as_theirs() {
        let f = Failure {
            turn_id: 1,
            request: "r".into(),
            answer: "a".into(),
            reason: Some("the user wanted French".into()),
            next_message: None,
            source: ScoreSource::User,
        };
        let p = user_prompt(&[f], &[], &[]);
        assert!(p.contains("The user marked it failed: \"the user wanted French\""), "{p}");
        assert!(!p.contains("the judge"), "{p}");
    }

    #[test]
    fn parses_fenced_json_and_refuses_garbage() {
        let text = "Here you go:\n```json\n{\"skills\": [{\"action\": \"create\", \"name\": \"a\", \"description\": \"d\", \"body\": \"b\", \"category\": \"c\", \"rationale\": \"r\"}]}\n```";
        let p = parse(text).unwrap();
        assert_eq!((p[0].name.as_str(), p[0].action.as_str()), ("a", "create"));
        assert!(parse("Here you go: {\"skills\": [ {\"action\": \"create\", \"name\": ").is_err());
        assert!(parse("no json").is_err());
        assert!(parse("{\"skills\": [{\"name\": \"x\"}]}").unwrap_err().contains("incomplete"));
        let no_body = "{\"skills\": [{\"action\": \"create\", \"name\": \"x\", \"description\": \"d\"}]}";
        assert!(parse(no_body).unwrap_err().contains("no body"));
        assert_eq!(parse("{\"skills\": []}").unwrap(), vec![]);
    }

    #[test]
    fn an_edit_arrives_as_operations_and_a_bad_operation_is_named() {
        let text = r#"{"skills": [{"action": "edit", "name": "iso", "ops": [{"op": "add_step", "after": "1. Use ISO 8601.", "text": "2. Seconds."}], "rationale": "r"}]}"#;
        let p = parse(text).unwrap();
        assert_eq!(
            p[0].ops.as_ref().unwrap()[0],
            EditOp::AddStep { after: Some("1. Use ISO 8601.".into()), text: "2. Seconds.".into() }
        );
        assert_eq!((p[0].body.as_str(), p[0].description.as_str()), ("", ""));
        let bad = r#"{"skills": [{"action": "edit", "name": "iso", "ops": [{"op": "rewrite_everything"}]}]}"#;
        assert!(parse(bad).unwrap_err().contains("the edit of iso is not usable: operation 1"), "{:?}", parse(bad));
        assert!(parse(r#"{"skills": [{"action": "edit", "name": "iso"}]}"#).unwrap_err().contains("neither"));
    }

    #[test]
    fn the_prompt_carries_evidence_and_hides_secrets() {
        let f = Failure {
            turn_id: 1,
            request: "use key sk-live-abcdefghijklmnop1234".into(),
            answer: "ok".into(),
            reason: Some("wrong format".into()),
            next_message: Some("no, +08:00".into()),
            source: ScoreSource::Judge,
        };
        let shown = Shown { name: "iso".into(), description: "dates".into(), body: Some("1. Use ISO 8601.".into()) };
        let p = user_prompt(&[f], &[shown], &[("bad-one".into(), "too vague".into())]);
        assert!(p.contains("### Current text of iso\n````\n1. Use ISO 8601.\n````"), "{p}");
        assert!(
            p.contains("The user's next message: no, +08:00")
                && p.contains("Why it failed (the judge): \"wrong format\"")
        );
        assert!(p.contains("- iso: dates") && p.contains("- bad-one: too vague"));
        assert!(!p.contains("sk-live"));
    }
}
