//! Scores one round as the upstream benchmark does, and writes the feedback the agent reads with
//! its next question: `file_check` runs the round's command in the workspace (exit status,
//! stdout, pattern, timeout); `multi_choice` reads the `\bbox{…}` (or `\boxed{…}`) letters and
//! gives partial credit `1 − (FP+FN)/options`.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::AsyncReadExt;

use super::dataset::{Check, Feedback};

/// Appended to the feedback of a round that was not fully right.
pub const REMINDER: &str = "Keep this in mind as you continue with the next task.";
/// Output of a check command kept, at most.
const MAX_OUTPUT: usize = 64 * 1024;

/// A round's score and how it came about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scored {
    /// 0..=1.
    pub score: f64,
    pub passed: bool,
    /// The feedback sent with the next question.
    pub feedback: String,
    /// What the check saw: the command's exit status and output, or the letters read.
    pub detail: serde_json::Value,
}

/// Scores `answer` (the agent's output) against `check`, running a file check in `workspace`.
pub async fn score(check: &Check, feedback: &Feedback, answer: &str, workspace: &Path) -> Scored {
    match check {
        Check::FileCheck { command, expect_exit, expect_stdout, expect_stdout_regex, timeout_secs } => {
            let run = run_check(command, workspace, Duration::from_secs(*timeout_secs)).await;
            let passed =
                file_check_passed(&run, *expect_exit, expect_stdout.as_deref(), expect_stdout_regex.as_deref());
            let text = if passed {
                feedback.correct.clone()
            } else {
                format!("{} {REMINDER}", feedback.incorrect).trim().to_string()
            };
            Scored {
                score: if passed { 1.0 } else { 0.0 },
                passed,
                feedback: text,
                detail: serde_json::json!({
                    "exit": run.exit, "stdout": run.stdout, "stderr": run.stderr, "timed_out": run.timed_out,
                    "error": run.error,
                }),
            }
        }
        Check::MultiChoice { options, answer: expected } => multi_choice(options.len(), expected, feedback, answer),
    }
}

/// What a check command did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CheckRun {
    pub exit: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub timed_out: bool,
    /// It could not be started.
    pub error: Option<String>,
}

/// Whether a check command's run meets the round's expectations: the exit status, the trimmed
/// expected text within stdout, the pattern found in stdout.
pub fn file_check_passed(run: &CheckRun, expect_exit: i32, stdout: Option<&str>, pattern: Option<&str>) -> bool {
    if run.timed_out || run.exit != Some(expect_exit) {
        return false;
    }
    if let Some(s) = stdout {
        if !run.stdout.contains(s.trim()) {
            return false;
        }
    }
    if let Some(p) = pattern {
        match regex::RegexBuilder::new(p).size_limit(1 << 20).build() {
            Ok(re) if re.is_match(&run.stdout) => {}
            _ => return false,
        }
    }
    true
}

/// Runs `command` with `sh -c` in `cwd` (killed at `timeout`; what it started in the background
/// is not waited for), keeping at most 64 KiB of each output.
pub async fn run_check(command: &str, cwd: &Path, timeout: Duration) -> CheckRun {
    let mut cmd = tokio::process::Command::new("sh");
    cmd.arg("-c").arg(command).current_dir(cwd).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd.kill_on_drop(true);
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => return CheckRun { error: Some(format!("cannot start sh: {e}")), ..CheckRun::default() },
    };
    let out = child.stdout.take();
    let err = child.stderr.take();
    let read = async {
        let (o, e) = tokio::join!(read_capped(out), read_capped(err));
        let status = child.wait().await;
        (o, e, status)
    };
    match tokio::time::timeout(timeout, read).await {
        Ok((stdout, stderr, status)) => {
            CheckRun { exit: status.ok().and_then(|s| s.code()), stdout, stderr, timed_out: false, error: None }
        }
        Err(_) => {
            let _ = child.start_kill();
            CheckRun { timed_out: true, error: Some(format!("no result within {timeout:?}")), ..CheckRun::default() }
        }
    }
}

/// Reads a pipe to its end, keeping the first 64 KiB (as text).
pub async fn read_capped<R: tokio::io::AsyncRead + Unpin>(pipe: Option<R>) -> String {
    let Some(mut pipe) = pipe else { return String::new() };
    let mut kept = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match pipe.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let room = MAX_OUTPUT.saturating_sub(kept.len());
                kept.extend_from_slice(&buf[..n.min(room)]);
            }
        }
    }
    String::from_utf8_lossy(&kept).into_owned()
}

/// The option letters of the last `\bbox{…}` or `\boxed{…}` in `answer`, upper-cased; `None`
/// when there is none.
pub fn boxed_letters(answer: &str) -> Option<BTreeSet<String>> {
    let mut found = None;
    for marker in ["\\bbox{", "\\boxed{"] {
        if let Some(start) = answer.rfind(marker) {
            if found.is_none_or(|(s, _)| start > s) {
                found = Some((start, marker.len()));
            }
        }
    }
    let (start, len) = found?;
    let rest = &answer[start + len..];
    let inner = &rest[..rest.find('}')?];
    Some(
        inner
            .split(|c: char| c == ',' || c == ';' || c.is_whitespace())
            .map(|s| s.trim().trim_matches(|c: char| !c.is_ascii_alphabetic()).to_ascii_uppercase())
            .filter(|s| s.len() == 1)
            .collect(),
    )
}

/// Scores a multiple-choice answer: `1 − (FP+FN)/options`, 0 without a `\bbox{…}`; feedback
/// lists each missed and each wrongly selected option with its explanation.
pub fn multi_choice(options: usize, expected: &[String], feedback: &Feedback, answer: &str) -> Scored {
    let Some(chosen) = boxed_letters(answer) else {
        return Scored {
            score: 0.0,
            passed: false,
            feedback: format!(
                "Your answer had no \\bbox{{...}} with the option letters, so it could not be scored. Give your \
                 final choice as \\bbox{{X}} or \\bbox{{X,Y}}. {REMINDER}"
            ),
            detail: serde_json::json!({"selected": null, "expected": expected}),
        };
    };
    let expected_set: BTreeSet<String> = expected.iter().cloned().collect();
    let missed: Vec<&String> = expected_set.difference(&chosen).collect();
    let wrong: Vec<&String> = chosen.difference(&expected_set).collect();
    let errors = (missed.len() + wrong.len()) as f64;
    let score = (1.0 - errors / options.max(1) as f64).max(0.0);
    let passed = missed.is_empty() && wrong.is_empty();
    let text = if passed {
        feedback.correct.clone()
    } else {
        let mut lines = Vec::new();
        let explain = |l: &str| feedback.options.get(l).map(|e| format!(": {e}")).unwrap_or_default();
        for l in &missed {
            lines.push(format!("You missed option {l}{}", explain(l)));
        }
        for l in &wrong {
            lines.push(format!("You incorrectly selected option {l}{}", explain(l)));
        }
        lines.push(REMINDER.to_string());
        lines.join("\n")
    };
    Scored {
        score,
        passed,
        feedback: text,
        detail: serde_json::json!({"selected": chosen, "expected": expected, "missed": missed, "wrong": wrong}),
    }
}
