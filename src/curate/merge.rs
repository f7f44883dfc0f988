//! Asking the evolver for one skill in place of near-duplicates: the prompt, the call (within
//! the evolver's hourly budget) and reading its answer into a SKILL.md.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{json, Value};

use super::CurateError;
use crate::evolve::Evolver;
use crate::skills::{render, valid_name, Origin, Skill};
use crate::upstream::complete as llm;

/// Marks the merge prompt (the stand-in evolver answers it as a merge).
pub const HEADING: &str = "## Skills to merge";

const SYSTEM: &str = "You maintain a library of skills: short Markdown instructions injected into an AI \
assistant's prompt. The skills below say nearly the same thing. Write ONE skill that replaces them all: keep every \
distinct rule, step and example they contain, drop repetition, keep it short. Reply with one JSON object: \
{\"name\": \"lowercase-with-hyphens\", \"description\": \"Use when …\", \"body\": \"the Markdown instructions\"}.";

/// The user prompt: each skill's name, description and text.
pub fn prompt(skills: &[&Skill]) -> String {
    let mut out = format!("{HEADING}\n");
    for s in skills {
        out.push_str(&format!(
            "\n### Skill: {}\nDescription: {}\n\n````\n{}\n````\n",
            s.name,
            s.description,
            s.body.trim()
        ));
    }
    crate::secrets::redact(&out)
}

/// Reads the evolver's answer into the merged skill's SKILL.md (named after the first skill
/// when the answer's name is missing or not a valid name).
pub fn read_answer(text: &str, skills: &[&Skill]) -> Result<(String, String), CurateError> {
    let (Some(start), Some(end)) = (text.find('{'), text.rfind('}')) else {
        return Err(CurateError::Evolver("the evolver's answer holds no JSON object".into()));
    };
    let v: Value = serde_json::from_str(text.get(start..=end).unwrap_or(""))
        .map_err(|e| CurateError::Evolver(format!("the evolver's answer is not JSON: {e}")))?;
    let field = |k: &str| v[k].as_str().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
    let (Some(description), Some(body)) = (field("description"), field("body")) else {
        return Err(CurateError::Evolver("the evolver's merged skill has no description or body".into()));
    };
    let first = skills.first().ok_or_else(|| CurateError::Evolver("nothing to merge".into()))?;
    let name = field("name").filter(|n| valid_name(n)).unwrap_or_else(|| first.name.clone());
    let mut metadata = BTreeMap::new();
    metadata.insert("category".to_string(), first.category().to_string());
    metadata.insert("origin".to_string(), "evolved".to_string());
    let skill = Skill::new(name.clone(), description, body, None, None, vec![], metadata, Origin::Evolved);
    Ok((name, render(&skill)))
}

/// Asks the evolver to merge `skills`; the merged skill's name and SKILL.md.
pub async fn ask(ev: &Evolver, skills: &[&Skill]) -> Result<(String, String), CurateError> {
    let model = ev.cfg.model.clone().ok_or(CurateError::NoEvolver)?;
    let up = ev.upstream(ev.cfg.upstream.as_deref()).ok_or(CurateError::NoEvolver)?;
    if !ev.take_budget(1) {
        return Err(CurateError::Budget(ev.cfg.max_calls_per_hour));
    }
    let req = llm::with_format(
        llm::request(&model, SYSTEM, &prompt(skills), 0.2, ev.cfg.max_tokens),
        json!({"type": "json_object"}),
    );
    let text = llm::complete(&ev.client, &up, req, Duration::from_secs(ev.cfg.timeout_secs))
        .await
        .map_err(|e| CurateError::Evolver(format!("the evolver failed: {e}")))?;
    read_answer(&text, skills)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn skill(name: &str) -> Skill {
        Skill::new(
            name.into(),
            "Use when x.".into(),
            "Do y.".into(),
            None,
            None,
            vec![],
            BTreeMap::new(),
            Origin::Evolved,
        )
    }

    #[test]
    fn an_answer_becomes_an_evolved_skill_and_a_bad_name_falls_back_to_the_first_skills() {
        let (a, b) = (skill("dates-a"), skill("dates-b"));
        let (name, text) =
            read_answer(r#"Sure: {"name": "Bad Name", "description": "Use when dates.", "body": "Rule."}"#, &[&a, &b])
                .unwrap();
        assert_eq!(name, "dates-a");
        assert!(text.contains("origin: evolved") && text.contains("Rule."), "{text}");
        assert!(read_answer("no json", &[&a]).is_err());
        assert!(read_answer(r#"{"name": "x", "body": ""}"#, &[&a]).is_err());
        assert!(prompt(&[&a, &b]).starts_with(HEADING));
    }
}
