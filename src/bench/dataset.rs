//! Reads and validates a MetaClaw-Bench dataset: `all_tests.json` (the days), each day's
//! `eval/<day>/questions.json` (one group object or a list of groups of rounds), the workspaces
//! and the seed OpenClaw state. Every problem is collected in plain words with its file and round.
//!
//! The data is untrusted: files are read up to a size limit, counts and text lengths are bounded,
//! ids must be safe as file names, and nothing here panics on any input.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{Map, Value};

/// Largest `all_tests.json` read.
pub const MAX_INDEX_BYTES: u64 = 4 << 20;
/// Largest `questions.json` read.
pub const MAX_QUESTIONS_BYTES: u64 = 8 << 20;
/// Days in one dataset, at most.
pub const MAX_DAYS: usize = 1000;
/// Rounds in one day, at most.
pub const MAX_ROUNDS: usize = 1000;
/// Longest question, feedback or command text.
pub const MAX_TEXT: usize = 256 * 1024;
/// Longest id (ids become file names).
pub const MAX_ID: usize = 100;
/// Longest allowed eval timeout, in seconds.
pub const MAX_TIMEOUT_SECS: u64 = 3600;
/// Options of one multiple-choice round, at most.
pub const MAX_OPTIONS: usize = 26;

/// The benchmark's hidden-preference tags.
pub const PREFERENCE_TAGS: &[&str] =
    &["output_format", "file_naming", "field_completeness", "workflow", "completion_log"];

/// One problem of a dataset: the file, where in it (a day, a round), and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub file: PathBuf,
    /// e.g. `day03`, `day03 round r2`; empty for the whole file.
    pub at: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.at.is_empty() {
            write!(f, "{}: {}", self.file.display(), self.message)
        } else {
            write!(f, "{}: {}: {}", self.file.display(), self.at, self.message)
        }
    }
}

/// What a round is scored on.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Check {
    /// A shell command run in the workspace after the agent answered.
    FileCheck {
        command: String,
        expect_exit: i32,
        expect_stdout: Option<String>,
        expect_stdout_regex: Option<String>,
        timeout_secs: u64,
    },
    /// Option letters the agent gives as `\bbox{A,C}`.
    MultiChoice { options: BTreeMap<String, String>, answer: Vec<String> },
}

impl Check {
    /// `file_check` or `multi_choice`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::FileCheck { .. } => "file_check",
            Self::MultiChoice { .. } => "multi_choice",
        }
    }
}

/// The feedback a round gives the agent (sent with the next question).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Feedback {
    pub correct: String,
    /// file_check's text for a failed check.
    pub incorrect: String,
    /// multi_choice's explanation per option letter.
    pub options: BTreeMap<String, String>,
}

/// One round: a question the agent answers, and how it is scored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Round {
    pub id: String,
    pub question: String,
    pub check: Check,
    pub feedback: Feedback,
}

/// A group of rounds (a day usually has one).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Group {
    pub id: String,
    pub desc: String,
    pub rounds: Vec<Round>,
}

/// One simulated work day (a "test" in `all_tests.json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Day {
    pub id: String,
    pub desc: String,
    pub agent: String,
    pub session: String,
    /// The folder under the eval dir (and the workspace's day folder).
    pub eval: String,
    pub arc: Option<String>,
    pub preference_tags: Vec<String>,
    pub groups: Vec<Group>,
}

impl Day {
    /// Every round of the day in order, with its group.
    pub fn rounds(&self) -> impl Iterator<Item = (&Group, &Round)> {
        self.groups.iter().flat_map(|g| g.rounds.iter().map(move |r| (g, r)))
    }

    /// The file name (without `.json`) of a round's result: the round id, prefixed by its group
    /// when the day has several groups.
    pub fn round_key(&self, group: &Group, round: &Round) -> String {
        if self.groups.len() > 1 {
            format!("{}.{}", group.id, round.id)
        } else {
            round.id.clone()
        }
    }
}

/// A dataset read from a folder, with its resolved paths.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Dataset {
    pub root: PathBuf,
    pub name: String,
    pub eval_dir: PathBuf,
    pub workspace_src: PathBuf,
    /// The seed OpenClaw state (`agents/<agent>/sessions/<session>.jsonl`), when the data has one.
    pub state_dir: Option<PathBuf>,
    /// The OpenClaw config the dataset ships, when it has one.
    pub config_file: Option<PathBuf>,
    pub days: Vec<Day>,
}

/// Counts for `bench check`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub name: String,
    pub days: usize,
    pub rounds: usize,
    pub file_check: usize,
    pub multi_choice: usize,
    pub per_day: Vec<DaySummary>,
}

/// One day's counts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DaySummary {
    pub id: String,
    pub arc: Option<String>,
    pub preference_tags: Vec<String>,
    pub rounds: usize,
    pub file_check: usize,
    pub multi_choice: usize,
}

impl Dataset {
    /// Reads and validates the dataset in `root`; all its problems when it has any.
    pub fn load(root: &Path) -> Result<Self, Vec<Problem>> {
        let index_path = root.join("all_tests.json");
        let bytes = read_bounded(&index_path, MAX_INDEX_BYTES).map_err(|p| vec![p])?;
        let (index, mut problems) = read_index(&bytes, &index_path)?;
        let mut resolve = |field: &str, value: &Option<String>, required: bool| -> Option<PathBuf> {
            let Some(v) = value else {
                if required {
                    problems.push(problem(&index_path, "", format!("`{field}` is missing")));
                }
                return None;
            };
            let found = locate(root, v);
            if found.is_none() {
                problems.push(problem(
                    &index_path,
                    "",
                    format!("`{field}` names {v:?}, which is not there (paths are relative to {})", root.display()),
                ));
            }
            found
        };
        let eval_dir = resolve("eval_dir", &index.eval_dir, true);
        let workspace_src = resolve("workspace_src", &index.workspace_src, true);
        let state_dir = resolve("openclaw_state_dir", &index.state_dir, false);
        let config_file = resolve("openclaw_config_file", &index.config_file, false);
        let mut days = Vec::new();
        for t in index.tests {
            let mut groups = Vec::new();
            if let Some(eval_dir) = &eval_dir {
                let qpath = eval_dir.join(&t.eval).join("questions.json");
                match read_bounded(&qpath, MAX_QUESTIONS_BYTES) {
                    Ok(b) => match parse_questions(&b, &qpath, &t.id) {
                        Ok(g) => groups = g,
                        Err(p) => problems.extend(p),
                    },
                    Err(p) => problems.push(Problem { at: t.id.clone(), ..p }),
                }
            }
            if let Some(ws) = &workspace_src {
                let folder = ws.join(&t.eval);
                if folder.exists() && !folder.is_dir() {
                    problems.push(problem(&index_path, &t.id, format!("{} is not a folder", folder.display())));
                }
            }
            if let Some(state) = &state_dir {
                let seed = state.join("agents").join(&t.agent).join("sessions").join(format!("{}.jsonl", t.session));
                if !seed.is_file() {
                    problems.push(problem(
                        &index_path,
                        &t.id,
                        format!("the seed session {} is not there", seed.display()),
                    ));
                }
            }
            days.push(Day {
                id: t.id,
                desc: t.desc,
                agent: t.agent,
                session: t.session,
                eval: t.eval,
                arc: t.arc,
                preference_tags: t.preference_tags,
                groups,
            });
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Self {
            root: root.to_path_buf(),
            name: index.name,
            eval_dir: eval_dir.unwrap_or_default(),
            workspace_src: workspace_src.unwrap_or_default(),
            state_dir,
            config_file,
            days,
        })
    }

    /// Days, rounds and round kinds, per day and in all.
    pub fn summary(&self) -> Summary {
        let per_day: Vec<DaySummary> = self
            .days
            .iter()
            .map(|d| {
                let kinds: Vec<&str> = d.rounds().map(|(_, r)| r.check.kind()).collect();
                DaySummary {
                    id: d.id.clone(),
                    arc: d.arc.clone(),
                    preference_tags: d.preference_tags.clone(),
                    rounds: kinds.len(),
                    file_check: kinds.iter().filter(|k| **k == "file_check").count(),
                    multi_choice: kinds.iter().filter(|k| **k == "multi_choice").count(),
                }
            })
            .collect();
        Summary {
            name: self.name.clone(),
            days: per_day.len(),
            rounds: per_day.iter().map(|d| d.rounds).sum(),
            file_check: per_day.iter().map(|d| d.file_check).sum(),
            multi_choice: per_day.iter().map(|d| d.multi_choice).sum(),
            per_day,
        }
    }
}

/// `all_tests.json` as read, before paths are resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Index {
    pub name: String,
    pub state_dir: Option<String>,
    pub config_file: Option<String>,
    pub eval_dir: Option<String>,
    pub workspace_src: Option<String>,
    pub tests: Vec<IndexTest>,
}

/// One entry of `all_tests.json`'s `test` list.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexTest {
    pub id: String,
    pub desc: String,
    pub agent: String,
    pub session: String,
    pub eval: String,
    pub arc: Option<String>,
    pub preference_tags: Vec<String>,
}

fn problem(file: &Path, at: &str, message: impl Into<String>) -> Problem {
    Problem { file: file.to_path_buf(), at: at.to_string(), message: message.into() }
}

/// Reads a file of at most `limit` bytes.
fn read_bounded(path: &Path, limit: u64) -> Result<Vec<u8>, Problem> {
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
fn locate(root: &Path, value: &str) -> Option<PathBuf> {
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
fn text(
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

fn parse_json(bytes: &[u8], file: &Path) -> Result<Value, Vec<Problem>> {
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
fn read_index(bytes: &[u8], file: &Path) -> Result<(Index, Vec<Problem>), Vec<Problem>> {
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

fn parse_round(r: &Value, file: &Path, at: &str, problems: &mut Vec<Problem>) -> Option<Round> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_question_file_is_one_group_or_a_list_and_problems_name_the_round() {
        let one = br#"{"id":"g","rounds":[{"id":"r1","type":"multi_choice","question":"q","eval":{"options":{"A":"a","B":"b"},"answer":["B"]}}]}"#;
        let f = Path::new("q.json");
        assert_eq!(parse_questions(one, f, "day01").unwrap().len(), 1);
        let list =
            format!("[{}, {}]", String::from_utf8_lossy(one), String::from_utf8_lossy(one).replace("\"g\"", "\"h\""));
        assert_eq!(parse_questions(list.as_bytes(), f, "day01").unwrap().len(), 2);
        let bad = br#"{"id":"g","rounds":[{"id":"r1","type":"multi_choice","question":"q","eval":{"options":{"A":"a","B":"b"},"answer":["C"]}}]}"#;
        let p = parse_questions(bad, f, "day01").unwrap_err();
        assert_eq!(p[0].at, "day01 round r1");
        assert!(p[0].message.contains("not one of the options"), "{}", p[0]);
    }

    #[test]
    fn unsafe_ids_are_refused() {
        for id in ["", ".", "..", "../x", "a/b", "a b"] {
            assert!(!safe_id(id), "{id:?}");
        }
        assert!(safe_id("day01_a-b.c"));
    }
}
