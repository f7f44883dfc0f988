//! Reads and validates a MetaClaw-Bench dataset: `all_tests.json` (the days), each day's
//! `eval/<day>/questions.json` (one group object or a list of groups of rounds), the workspaces
//! and the seed OpenClaw state. Every problem is collected in plain words with its file and round.
//!
//! The data is untrusted: files are read up to a size limit, counts and text lengths are bounded,
//! ids must be safe as file names, and nothing here panics on any input.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;

mod parse;

use parse::*;
pub use parse::{parse_index, parse_questions, safe_id};

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
