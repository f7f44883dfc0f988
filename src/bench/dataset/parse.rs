//! Reading a dataset's JSON files: `all_tests.json` (the index of days) and a day's
//! `questions.json` (rounds, their checks and feedback), with every problem collected in plain
//! words with its file and round; bounded file reads and text, safe ids.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::*;

pub(super) fn problem(file: &Path, at: &str, message: impl Into<String>) -> Problem {
    Problem { file: file.to_path_buf(), at: at.to_string(), message: message.into() }
}

/// Reads a file of at most `limit` bytes.
pub(super) fn read_bounded(path: &Path, limit: u64) -> Result<Vec<u8>, Problem> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| problem(path, "", format!("cannot read it: {e}")))?;
    let mut bytes = Vec::new();
    file.take(limit + 1).read_to_end(&mut bytes).map_err(|e| problem(path, "", format!("cannot read it: {e}")))?;
    if bytes.len() as u64 > limit {
        return Err(problem(path, "", format!("larger than {} MiB", limit >> 20)));
    }
    Ok(bytes)
}

/// A path of `all_tests.json` inside the dataset: relative to `root`; a path written relative to
/// the upstream repository (`benchmark/data/metaclaw-bench/eval`) is found by its tail.
pub(super) fn locate(root: &Path, value: &str) -> Option<PathBuf> {
    let p = Path::new(value);
    if p.is_absolute() {
        return p.exists().then(|| p.to_path_buf());
    }
    let parts: Vec<_> = p.components().filter(|c| matches!(c, std::path::Component::Normal(_))).collect();
    (0..parts.len().max(1)).find_map(|skip| {
        let candidate: PathBuf = root.join(parts[skip.min(parts.len())..].iter().collect::<PathBuf>());
        (candidate != root && candidate.exists()).then_some(candidate)
    })
}

/// Whether `id` is safe as a file name: 1–100 of `A-Z a-z 0-9 _ - .`, not starting with a dot.
pub fn safe_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID
        && !id.starts_with('.')
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// Reads a text field; `None` (with a problem) when it is there but not a string or too long.
pub(super) fn text(
    obj: &Map<String, Value>,
    key: &str,
    file: &Path,
    at: &str,
    required: bool,
    problems: &mut Vec<Problem>,
) -> Option<String> {
    match obj.get(key) {
        None | Some(Value::Null) => {
            if required {
                problems.push(problem(file, at, format!("`{key}` is missing")));
            }
            None
        }
        Some(Value::String(s)) if s.len() > MAX_TEXT => {
            problems.push(problem(file, at, format!("`{key}` is longer than {} KiB", MAX_TEXT >> 10)));
            None
        }
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            problems.push(problem(file, at, format!("`{key}` must be text")));
            None
        }
    }
}

pub(super) fn parse_json(bytes: &[u8], file: &Path) -> Result<Value, Vec<Problem>> {
    serde_json::from_slice(bytes).map_err(|e| vec![problem(file, "", format!("not valid JSON: {e}"))])
}

/// Parses `all_tests.json`: its fields and every test (day), checking ids and tags.
pub fn parse_index(bytes: &[u8], file: &Path) -> Result<Index, Vec<Problem>> {
    let (index, problems) = read_index(bytes, file)?;
    if problems.is_empty() {
        Ok(index)
    } else {
        Err(problems)
    }
}

/// [`parse_index`] that keeps going: the days that could be read, and the problems; an error
/// only when the file is not a JSON object at all.
pub(super) fn read_index(bytes: &[u8], file: &Path) -> Result<(Index, Vec<Problem>), Vec<Problem>> {
    let v = parse_json(bytes, file)?;
    let Some(obj) = v.as_object() else {
        return Err(vec![problem(file, "", "must be a JSON object with a `test` list")]);
    };
    let mut problems = Vec::new();
    let p = &mut problems;
    let name = text(obj, "name", file, "", false, p).unwrap_or_default();
    let state_dir = text(obj, "openclaw_state_dir", file, "", false, p);
    let config_file = text(obj, "openclaw_config_file", file, "", false, p);
    let eval_dir = text(obj, "eval_dir", file, "", true, p);
    let workspace_src = text(obj, "workspace_src", file, "", true, p);
    let tests = match obj.get("test") {
        Some(Value::Array(a)) if a.is_empty() => {
            p.push(problem(file, "", "`test` lists no days"));
            &[][..]
        }
        Some(Value::Array(a)) if a.len() > MAX_DAYS => {
            p.push(problem(file, "", format!("`test` lists more than {MAX_DAYS} days")));
            &[][..]
        }
        Some(Value::Array(a)) => a.as_slice(),
        _ => {
            p.push(problem(file, "", "`test` must be a list of days"));
            &[][..]
        }
    };
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (i, t) in tests.iter().enumerate() {
        let at = t.get("id").and_then(Value::as_str).filter(|s| s.len() <= MAX_ID).map(str::to_string);
        let at = at.unwrap_or_else(|| format!("test #{}", i + 1));
        let Some(o) = t.as_object() else {
            p.push(problem(file, &at, "must be an object"));
            continue;
        };
        let id = text(o, "id", file, &at, true, p);
        let eval = text(o, "eval", file, &at, true, p);
        let session = text(o, "session", file, &at, true, p);
        let agent = text(o, "agent", file, &at, false, p).unwrap_or_else(|| "metaclaw_agent".to_string());
        let desc = text(o, "desc", file, &at, false, p).unwrap_or_default();
        let arc = text(o, "arc", file, &at, false, p);
        for (field, value) in [("id", &id), ("eval", &eval), ("session", &session), ("agent", &Some(agent.clone()))] {
            if let Some(v) = value {
                if !safe_id(v) {
                    p.push(problem(
                        file,
                        &at,
                        format!("`{field}` {v:?} must be 1-{MAX_ID} letters, digits, `_`, `-` or `.`"),
                    ));
                }
            }
        }
        if let Some(id) = &id {
            if !seen.insert(id.clone()) {
                p.push(problem(file, &at, format!("the day id {id:?} is used twice")));
            }
        }
        let mut tags = Vec::new();
        match o.get("preference_tags") {
            None | Some(Value::Null) => {}
            Some(Value::Array(a)) => {
                for tag in a {
                    match tag.as_str() {
                        Some(s) if PREFERENCE_TAGS.contains(&s) => tags.push(s.to_string()),
                        Some(s) => p.push(problem(
                            file,
                            &at,
                            format!(
                                "unknown preference tag {:?} (known: {})",
                                s.chars().take(60).collect::<String>(),
                                PREFERENCE_TAGS.join(", ")
                            ),
                        )),
                        None => p.push(problem(file, &at, "`preference_tags` must list text")),
                    }
                }
            }
            Some(_) => p.push(problem(file, &at, "`preference_tags` must be a list")),
        }
        if let (Some(id), Some(eval), Some(session)) = (id, eval, session) {
            out.push(IndexTest { id, desc, agent, session, eval, arc, preference_tags: tags });
        }
    }
    Ok((Index { name, state_dir, config_file, eval_dir, workspace_src, tests: out }, problems))
}

/// Parses a day's `questions.json`: one group object or a list of groups. `day` names the day in
/// problems.
pub fn parse_questions(bytes: &[u8], file: &Path, day: &str) -> Result<Vec<Group>, Vec<Problem>> {
    let v = parse_json(bytes, file)?;
    let groups: Vec<&Value> = match &v {
        Value::Array(a) => a.iter().collect(),
        Value::Object(_) => vec![&v],
        _ => return Err(vec![problem(file, day, "must be a group object or a list of groups")]),
    };
    if groups.is_empty() {
        return Err(vec![problem(file, day, "has no groups of rounds")]);
    }
    let mut problems = Vec::new();
    let mut out = Vec::new();
    let mut group_ids = HashSet::new();
    let mut rounds_total = 0usize;
    for (gi, g) in groups.into_iter().enumerate() {
        let gat = format!("{day} group #{}", gi + 1);
        let Some(o) = g.as_object() else {
            problems.push(problem(file, &gat, "must be an object"));
            continue;
        };
        let id = text(o, "id", file, &gat, false, &mut problems).unwrap_or_else(|| format!("g{}", gi + 1));
        if !safe_id(&id) {
            problems.push(problem(
                file,
                &gat,
                format!("the group id must be 1-{MAX_ID} letters, digits, `_`, `-` or `.`"),
            ));
        } else if !group_ids.insert(id.clone()) {
            problems.push(problem(file, &gat, format!("the group id {id:?} is used twice")));
        }
        let desc = text(o, "desc", file, &gat, false, &mut problems).unwrap_or_default();
        let rounds = match o.get("rounds") {
            Some(Value::Array(a)) if a.is_empty() => {
                problems.push(problem(file, &gat, "`rounds` is empty"));
                continue;
            }
            Some(Value::Array(a)) => a,
            _ => {
                problems.push(problem(file, &gat, "`rounds` must be a list"));
                continue;
            }
        };
        rounds_total += rounds.len();
        if rounds_total > MAX_ROUNDS {
            problems.push(problem(file, day, format!("more than {MAX_ROUNDS} rounds")));
            break;
        }
        let mut round_ids = HashSet::new();
        let mut parsed = Vec::new();
        for (ri, r) in rounds.iter().enumerate() {
            let rid = r.get("id").and_then(Value::as_str).filter(|s| s.len() <= MAX_ID);
            let at = match rid {
                Some(rid) => format!("{day} round {rid}"),
                None => format!("{day} round #{}", ri + 1),
            };
            if let Some(rid) = rid {
                if !round_ids.insert(rid.to_string()) {
                    problems.push(problem(file, &at, format!("the round id {rid:?} is used twice")));
                }
            }
            if let Some(round) = parse_round(r, file, &at, &mut problems) {
                parsed.push(round);
            }
        }
        out.push(Group { id, desc, rounds: parsed });
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(out)
}

pub(super) fn parse_round(r: &Value, file: &Path, at: &str, problems: &mut Vec<Problem>) -> Option<Round> {
    let Some(o) = r.as_object() else {
        problems.push(problem(file, at, "must be an object"));
        return None;
    };
    let before = problems.len();
    let id = text(o, "id", file, at, true, problems);
    if let Some(id) = &id {
        if !safe_id(id) {
            problems.push(problem(
                file,
                at,
                format!("the round id must be 1-{MAX_ID} letters, digits, `_`, `-` or `.`"),
            ));
        }
    }
    let question = text(o, "question", file, at, true, problems);
    if question.as_deref().is_some_and(|q| q.trim().is_empty()) {
        problems.push(problem(file, at, "`question` is empty"));
    }
    if o.get("update").and_then(Value::as_array).is_some_and(|u| !u.is_empty()) {
        problems.push(problem(
            file,
            at,
            "`update` actions are not supported by this runner (the shipped data has none)",
        ));
    }
    let kind = text(o, "type", file, at, true, problems);
    let eval = o.get("eval").and_then(Value::as_object);
    let fb = o.get("feedback").and_then(Value::as_object);
    let empty = Map::new();
    let fbo = fb.unwrap_or(&empty);
    let mut feedback = Feedback {
        correct: text(fbo, "correct", file, at, false, problems).unwrap_or_default(),
        incorrect: text(fbo, "incorrect", file, at, false, problems).unwrap_or_default(),
        options: BTreeMap::new(),
    };
    let check = match kind.as_deref() {
        None => None,
        Some("file_check") => {
            let Some(e) = eval else {
                problems.push(problem(file, at, "a file_check round needs an `eval` object with a `command`"));
                return None;
            };
            let command = text(e, "command", file, at, false, problems);
            if command.as_deref().is_none_or(|c| c.trim().is_empty()) {
                problems.push(problem(file, at, "a file_check round needs `eval.command` (a shell command)"));
            }
            let expect_exit = match e.get("expect_exit") {
                None | Some(Value::Null) => Some(0),
                Some(v) => match v.as_i64().and_then(|n| i32::try_from(n).ok()).filter(|n| (0..=255).contains(n)) {
                    Some(n) => Some(n),
                    None => {
                        problems.push(problem(file, at, "`eval.expect_exit` must be an exit status, 0-255"));
                        None
                    }
                },
            };
            let expect_stdout = text(e, "expect_stdout", file, at, false, problems);
            let expect_stdout_regex = text(e, "expect_stdout_regex", file, at, false, problems);
            if let Some(re) = &expect_stdout_regex {
                if let Err(err) = regex::RegexBuilder::new(re).size_limit(1 << 20).build() {
                    problems.push(problem(
                        file,
                        at,
                        format!("`eval.expect_stdout_regex` is not a valid pattern: {err}"),
                    ));
                }
            }
            let timeout_secs = match e.get("timeout") {
                None | Some(Value::Null) => Some(30),
                Some(v) => match v.as_f64().filter(|t| *t > 0.0 && *t <= MAX_TIMEOUT_SECS as f64) {
                    Some(t) => Some(t.ceil() as u64),
                    None => {
                        problems.push(problem(
                            file,
                            at,
                            format!("`eval.timeout` must be 1-{MAX_TIMEOUT_SECS} seconds"),
                        ));
                        None
                    }
                },
            };
            match (command, expect_exit, timeout_secs) {
                (Some(command), Some(expect_exit), Some(timeout_secs)) if !command.trim().is_empty() => {
                    Some(Check::FileCheck { command, expect_exit, expect_stdout, expect_stdout_regex, timeout_secs })
                }
                _ => None,
            }
        }
        Some("multi_choice") => {
            let Some(e) = eval else {
                problems.push(problem(
                    file,
                    at,
                    "a multi_choice round needs an `eval` object with `options` and `answer`",
                ));
                return None;
            };
            let mut options = BTreeMap::new();
            match e.get("options") {
                Some(Value::Object(m)) if m.len() >= 2 && m.len() <= MAX_OPTIONS => {
                    for (k, v) in m {
                        if !(k.len() == 1 && k.bytes().all(|b| b.is_ascii_uppercase())) {
                            problems.push(problem(
                                file,
                                at,
                                format!(
                                    "option {:?} must be one capital letter",
                                    k.chars().take(20).collect::<String>()
                                ),
                            ));
                        }
                        match v.as_str() {
                            Some(s) if s.len() <= MAX_TEXT => {
                                options.insert(k.clone(), s.to_string());
                            }
                            _ => problems.push(problem(file, at, format!("option {k:?} must be text"))),
                        }
                    }
                }
                _ => problems.push(problem(
                    file,
                    at,
                    format!("`eval.options` must map 2-{MAX_OPTIONS} letters to their text"),
                )),
            }
            let mut answer = Vec::new();
            match e.get("answer") {
                Some(Value::Array(a)) if !a.is_empty() && a.len() <= MAX_OPTIONS => {
                    for l in a {
                        match l.as_str() {
                            Some(s) if options.contains_key(s) => {
                                if !answer.iter().any(|x| x == s) {
                                    answer.push(s.to_string())
                                }
                            }
                            Some(s) => problems.push(problem(
                                file,
                                at,
                                format!(
                                    "the answer {:?} is not one of the options ({})",
                                    s.chars().take(20).collect::<String>(),
                                    options.keys().cloned().collect::<Vec<_>>().join(", ")
                                ),
                            )),
                            None => problems.push(problem(file, at, "`eval.answer` must list option letters")),
                        }
                    }
                }
                Some(Value::String(s)) if options.contains_key(s) => answer.push(s.clone()),
                _ => problems.push(problem(file, at, "`eval.answer` must list the correct option letters")),
            }
            if let Some(Value::Object(m)) = fbo.get("options") {
                for (k, v) in m {
                    if let Some(s) = v.as_str().filter(|s| s.len() <= MAX_TEXT) {
                        feedback.options.insert(k.clone(), s.to_string());
                    }
                }
            }
            Some(Check::MultiChoice { options, answer })
        }
        Some(other) => {
            problems.push(problem(
                file,
                at,
                format!(
                    "unknown round type {:?} (known: file_check, multi_choice)",
                    other.chars().take(40).collect::<String>()
                ),
            ));
            None
        }
    };
    if problems.len() > before {
        return None;
    }
    Some(Round { id: id?, question: question?, check: check?, feedback })
}
