//! The files a run leaves under `--out`: one `<mode>/<day>/<round>.json` per finished round
//! (written atomically, so a crash leaves a round either finished or absent), a marker per day
//! whose learning step ran, and `<mode>/summary.json`.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::BenchError;

/// Largest round file read back.
const MAX_ROUND_FILE: u64 = 4 << 20;

/// Which configuration of MetaClaw a run measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Mode {
    /// A plain recording proxy: no skills, no judge, no evolver.
    #[serde(rename = "baseline")]
    Baseline,
    /// Skills injected; the judge and the evolver learn between days.
    #[serde(rename = "skills")]
    Skills,
    /// Skills plus policy training on the configured Tinker-compatible service.
    #[serde(rename = "skills+rl")]
    SkillsRl,
}

impl Mode {
    pub const ALL: [Mode; 3] = [Mode::Baseline, Mode::Skills, Mode::SkillsRl];

    /// The name on the command line and of the mode's folder.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Baseline => "baseline",
            Self::Skills => "skills",
            Self::SkillsRl => "skills+rl",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }

    /// Whether the library learns between days.
    pub fn learns(self) -> bool {
        self != Self::Baseline
    }
}

impl std::fmt::Display for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How long each part of a round took, in ms.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Timings {
    pub agent_ms: f64,
    pub score_ms: f64,
}

/// One finished round, as written to `<mode>/<day>/<round>.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoundResult {
    pub mode: Mode,
    pub day: String,
    pub group: String,
    pub round: String,
    /// `file_check` or `multi_choice`.
    pub kind: String,
    /// The round's question as in the dataset.
    pub question: String,
    /// The message the agent was sent (with the previous round's feedback from round 2 on).
    pub message: String,
    /// The agent's output.
    pub answer: String,
    /// 0..=1; 0 when the agent failed.
    pub score: f64,
    pub passed: bool,
    /// The feedback sent with the next question.
    pub feedback: String,
    /// Why the round scored 0 without being checked (the agent timed out, crashed, …).
    pub agent_error: Option<String>,
    /// What the check saw.
    pub detail: serde_json::Value,
    pub timings: Timings,
    /// The library generation the engine served when the round started.
    pub generation: Option<i64>,
    pub finished_at: i64,
}

/// What a mode's learning step did after a day (`<mode>/<day>/learned.json`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Learned {
    pub day: String,
    pub turns_judged: usize,
    pub evolve: Option<serde_json::Value>,
    pub generation_before: i64,
    pub generation_after: i64,
    pub train: Option<String>,
    pub note: Option<String>,
    pub took_ms: f64,
}

/// One day's line in `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DayScore {
    pub day: String,
    pub rounds: usize,
    pub score: f64,
    pub accuracy: f64,
}

/// `<mode>/summary.json`: the run's days and accuracy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub mode: Mode,
    pub dataset: String,
    pub days: Vec<DayScore>,
    pub rounds: usize,
    pub accuracy: f64,
    pub took_ms: f64,
}

/// `--out/<mode>`.
pub fn mode_dir(out: &Path, mode: Mode) -> PathBuf {
    out.join(mode.as_str())
}

/// The file of one round.
pub fn round_path(out: &Path, mode: Mode, day: &str, key: &str) -> PathBuf {
    mode_dir(out, mode).join(day).join(format!("{key}.json"))
}

/// Writes `value` as pretty JSON to `path` atomically: a temporary file beside it, synced, then
/// renamed over it.
pub fn write_atomic<T: Serialize>(path: &Path, value: &T) -> Result<(), BenchError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(BenchError::io("cannot create", dir))?;
    let bytes = serde_json::to_vec_pretty(value).map_err(|e| BenchError::Refused(e.to_string()))?;
    let tmp = dir.join(format!(".{}.tmp", path.file_name().and_then(|n| n.to_str()).unwrap_or("out")));
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&tmp).map_err(BenchError::io("cannot write", &tmp))?;
        f.write_all(&bytes).and_then(|()| f.sync_all()).map_err(BenchError::io("cannot write", &tmp))?;
    }
    std::fs::rename(&tmp, path).map_err(BenchError::io("cannot write", path))
}

/// Reads a JSON file written by [`write_atomic`]; `None` when it is missing, too large or not
/// what it should be (a round is then run again).
pub fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Option<T> {
    use std::io::Read;
    let f = std::fs::File::open(path).ok()?;
    let mut bytes = Vec::new();
    f.take(MAX_ROUND_FILE + 1).read_to_end(&mut bytes).ok()?;
    if bytes.len() as u64 > MAX_ROUND_FILE {
        return None;
    }
    serde_json::from_slice(&bytes).ok()
}

/// Every round file of one mode, by day folder (sorted by day, then file name).
pub fn read_mode(out: &Path, mode: Mode) -> Vec<RoundResult> {
    let dir = mode_dir(out, mode);
    let Ok(days) = std::fs::read_dir(&dir) else { return Vec::new() };
    let mut day_dirs: Vec<PathBuf> = days.filter_map(Result::ok).map(|e| e.path()).filter(|p| p.is_dir()).collect();
    day_dirs.sort();
    let mut out = Vec::new();
    for d in day_dirs {
        let Ok(files) = std::fs::read_dir(&d) else { continue };
        let mut files: Vec<PathBuf> = files
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| {
                p.extension().is_some_and(|e| e == "json")
                    && p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| !n.starts_with('.') && n != "learned.json")
            })
            .collect();
        files.sort();
        out.extend(files.iter().filter_map(|f| read_json::<RoundResult>(f)));
    }
    out
}
