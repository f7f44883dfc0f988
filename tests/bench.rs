//! `metaclaw bench`: datasets checked (valid and broken, each problem naming its file and round),
//! rounds scored as the upstream benchmark does, and a real run — the `metaclaw` binary, an
//! in-process engine per mode in front of the stand-in upstream, a small shell agent through
//! `--agent command` — killed mid-run and resumed without redoing finished rounds, then reported.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use metaclaw::bench::dataset::{Check, Dataset, Feedback};
use metaclaw::bench::score::{self, boxed_letters, multi_choice, run_check};
use metaclaw_standin::Options;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_metaclaw");

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/bench-fixtures")
}

/// A copy of the valid fixture dataset to break.
fn dataset_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let ok = Command::new("cp").arg("-r").arg(fixtures().join("valid/.")).arg(dir.path()).status().unwrap().success();
    assert!(ok);
    dir
}

fn edit_json(path: &Path, f: impl FnOnce(&mut Value)) {
    let mut v: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    f(&mut v);
    std::fs::write(path, serde_json::to_vec_pretty(&v).unwrap()).unwrap();
}

/// The problems of a dataset that must not load, as lines.
fn problems(dir: &Path) -> Vec<String> {
    match Dataset::load(dir) {
        Ok(_) => panic!("the broken dataset loaded"),
        Err(p) => p.iter().map(|p| p.to_string()).collect(),
    }
}

#[test]
fn check_reads_the_valid_fixture_and_counts_days_rounds_and_kinds() {
    let out =
        Command::new(BIN).args(["bench", "check", "--json", "--data"]).arg(fixtures().join("valid")).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["days"], 2);
    assert_eq!(v["rounds"], 7);
    assert_eq!(v["file_check"], 4);
    assert_eq!(v["multi_choice"], 3);
    assert_eq!(v["per_day"][0]["id"], "day01");
    assert_eq!(v["per_day"][1]["rounds"], 4, "day02's two groups (a list in questions.json) both count");
    let text = Command::new(BIN).args(["bench", "check", "--data"]).arg(fixtures().join("valid")).output().unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("2 days, 7 rounds (4 file_check, 3 multi_choice)"), "{text}");
}

#[test]
fn check_names_the_file_and_round_of_every_problem() {
    let d = dataset_copy();
    let q1 = d.path().join("eval/day01/questions.json");
    edit_json(&q1, |v| {
        v["rounds"][0]["eval"]["command"] = Value::String("  ".into());
        v["rounds"][1]["eval"]["answer"] = serde_json::json!(["A", "E"]);
        v["rounds"][2]["type"] = Value::String("essay".into());
    });
    let q2 = d.path().join("eval/day02/questions.json");
    edit_json(&q2, |v| {
        v[1]["rounds"][1]["id"] = Value::String("r1".into());
    });
    edit_json(&d.path().join("all_tests.json"), |v| {
        v["test"][1]["preference_tags"] = serde_json::json!(["file_naming", "vibes"]);
    });
    let p = problems(d.path());
    let q1s = q1.display().to_string();
    let has = |needle: &[&str]| p.iter().any(|l| needle.iter().all(|n| l.contains(n)));
    assert!(has(&[&q1s, "day01 round r1", "eval.command"]), "{p:#?}");
    assert!(has(&[&q1s, "day01 round r2", "\"E\" is not one of the options (A, B, C, D)"]), "{p:#?}");
    assert!(has(&[&q1s, "day01 round r3", "unknown round type \"essay\""]), "{p:#?}");
    assert!(has(&[&q2.display().to_string(), "day02 round r1", "used twice"]), "{p:#?}");
    assert!(has(&["all_tests.json", "day02", "unknown preference tag \"vibes\""]), "{p:#?}");

    // Missing files and folders are named too.
    let d = dataset_copy();
    std::fs::remove_file(d.path().join("eval/day02/questions.json")).unwrap();
    std::fs::remove_file(d.path().join("openclaw_state/agents/metaclaw_agent/sessions/day01_0001.jsonl")).unwrap();
    let p = problems(d.path());
    assert!(
        p.iter().any(|l| l.contains("eval/day02/questions.json") && l.contains("day02") && l.contains("cannot read")),
        "{p:#?}"
    );
    assert!(p.iter().any(|l| l.contains("day01") && l.contains("seed session")), "{p:#?}");
    let d = dataset_copy();
    edit_json(&d.path().join("all_tests.json"), |v| v["workspace_src"] = Value::String("nowhere".into()));
    let p = problems(d.path());
    assert!(p.iter().any(|l| l.contains("`workspace_src` names \"nowhere\", which is not there")), "{p:#?}");

    // Ids become file names: a path in one is refused.
    let d = dataset_copy();
    edit_json(&d.path().join("all_tests.json"), |v| v["test"][0]["id"] = Value::String("../escape".into()));
    let p = problems(d.path());
    assert!(p.iter().any(|l| l.contains("`id` \"../escape\" must be")), "{p:#?}");

    // The command line fails with the same words and names the file.
    let d = dataset_copy();
    edit_json(&d.path().join("eval/day01/questions.json"), |v| v["rounds"][2]["type"] = Value::String("essay".into()));
    let out = Command::new(BIN).args(["bench", "check", "--data"]).arg(d.path()).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("questions.json: day01 round r3: unknown round type"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn a_dataset_that_is_not_json_or_too_deep_is_a_problem_not_a_panic() {
    let d = dataset_copy();
    let q = d.path().join("eval/day01/questions.json");
    for body in [&b"{\"rounds\": ["[..], b"\xff\xfe", b"[]", b"42", &b"[".repeat(100_000)] {
        std::fs::write(&q, body).unwrap();
        let p = problems(d.path());
        assert!(p.iter().any(|l| l.contains("questions.json")), "{p:#?}");
    }
}

fn fb() -> Feedback {
    Feedback {
        correct: "Right.".into(),
        incorrect: "Wrong.".into(),
        options: BTreeMap::from([("A".into(), "A is right.".into()), ("C".into(), "C is wrong.".into())]),
    }
}

#[test]
fn multi_choice_gives_partial_credit_and_reads_both_box_spellings() {
    let expected = vec!["A".to_string(), "B".to_string()];
    // Exact, either spelling, case and spaces ignored; the last box counts.
    for answer in ["\\bbox{A,B}", "so \\boxed{b, a}", "\\bbox{C} no wait: \\bbox{A B}"] {
        let s = multi_choice(4, &expected, &fb(), answer);
        assert_eq!((s.score, s.passed), (1.0, true), "{answer}");
        assert_eq!(s.feedback, "Right.");
    }
    // One missed of four options: 1 - 1/4; one missed and one wrong: 1 - 2/4.
    let s = multi_choice(4, &expected, &fb(), "\\bbox{B}");
    assert_eq!(s.score, 0.75);
    assert!(s.feedback.starts_with("You missed option A: A is right."), "{}", s.feedback);
    let s = multi_choice(4, &expected, &fb(), "\\bbox{B,C}");
    assert_eq!(s.score, 0.5);
    assert!(s.feedback.contains("You incorrectly selected option C: C is wrong."), "{}", s.feedback);
    assert!(s.feedback.ends_with(score::REMINDER), "{}", s.feedback);
    // Never below 0.
    assert_eq!(multi_choice(2, &["A".into()], &fb(), "\\bbox{B}").score, 0.0);
    // No box: 0 and a format notice.
    let s = multi_choice(4, &expected, &fb(), "A and B");
    assert_eq!((s.score, s.passed), (0.0, false));
    assert!(s.feedback.contains("no \\bbox{...}"), "{}", s.feedback);
    assert_eq!(boxed_letters("\\bbox{A"), None, "an unclosed box is no answer");
}

#[tokio::test]
async fn file_checks_score_exit_status_stdout_pattern_and_time_out() {
    let ws = tempfile::tempdir().unwrap();
    std::fs::write(ws.path().join("20260316_report.md"), "x").unwrap();
    let check = |command: &str, exit: i32, stdout: Option<&str>, regex: Option<&str>, timeout: u64| Check::FileCheck {
        command: command.into(),
        expect_exit: exit,
        expect_stdout: stdout.map(Into::into),
        expect_stdout_regex: regex.map(Into::into),
        timeout_secs: timeout,
    };
    let cases = [
        (check("test -f 20260316_report.md", 0, None, None, 5), true),
        (check("test -f missing.md", 0, None, None, 5), false),
        (check("exit 2", 2, None, None, 5), true),
        (check("echo PASS", 0, Some("PASS\n"), None, 5), true),
        (check("echo FAIL", 0, Some("PASS"), None, 5), false),
        (check("ls", 0, None, Some(r"(?m)^\d{8}_[a-z_]+\.md$"), 5), true),
        (check("ls", 0, None, Some(r"^report"), 5), false),
    ];
    for (c, pass) in cases {
        let s = score::score(&c, &fb(), "", ws.path()).await;
        assert_eq!(s.passed, pass, "{c:?}: {:?}", s.detail);
        assert_eq!(s.score, if pass { 1.0 } else { 0.0 });
        assert_eq!(s.feedback, if pass { "Right.".to_string() } else { format!("Wrong. {}", score::REMINDER) });
    }
    // A check that hangs is stopped at its timeout, and only it: a process beside it lives on
    // (the kill program once read `kill -KILL -<pid>` as a kill of every process).
    let mut neighbour = Command::new("sleep").arg("30").spawn().unwrap();
    let started = Instant::now();
    let run = run_check("sleep 30 & sleep 30", ws.path(), Duration::from_secs(1)).await;
    assert!(run.timed_out);
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
    assert!(neighbour.try_wait().unwrap().is_none(), "a process outside the check was killed");
    neighbour.kill().unwrap();
    neighbour.wait().unwrap();
    let s = score::score(&check("sleep 30", 0, None, None, 1), &fb(), "", ws.path()).await;
    assert!(!s.passed);
    assert_eq!(s.detail["timed_out"], true);
}

fn read(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).unwrap()
}

/// Waits for `path` to exist (the agent says it reached the blocking round), up to `limit`.
fn wait_for_file(path: &Path, limit: Duration, child: &mut std::process::Child) {
    let deadline = Instant::now() + limit;
    while !path.exists() {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("bench run ended ({status}) before reaching the blocking round");
        }
        assert!(Instant::now() < deadline, "the blocking round was not reached in {limit:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_with_a_command_agent_is_resumed_after_a_kill_without_redoing_rounds_and_reported() {
    let standin = common::standin(Options { record: true, ..Default::default() }).await;
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("out");
    let user_home = work.path().join("user-home");
    let log = work.path().join("calls.log");
    let block = work.path().join("block");
    std::fs::write(&block, "").unwrap();
    let agent = fixtures().join("agent.sh");
    let template = format!("{} {{session}} {{message_file}} {{workspace}} {{base_url}} {{model}}", agent.display());
    let bench = |out: &Path| {
        let mut c = Command::new(BIN);
        c.arg("--home")
            .arg(&user_home)
            .args(["bench", "run", "--agent", "command", "--mode", "baseline", "--model", "standin-small"])
            .args(["--agent-timeout", "3", "--agent-cmd", &template, "--upstream", &standin.base_url()])
            .arg("--data")
            .arg(fixtures().join("valid"))
            .arg("--out")
            .arg(out)
            .env("BENCH_LOG", &log)
            .env("BENCH_BLOCK", &block)
            .env_remove("METACLAW_UPSTREAM_API_KEY")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        c
    };

    // First run: killed while day02's first round waits in the agent.
    let mut first = bench(&out).spawn().unwrap();
    wait_for_file(&work.path().join("block.reached"), Duration::from_secs(120), &mut first);
    first.kill().unwrap();
    first.wait().unwrap();
    std::fs::remove_file(&block).unwrap();
    let day01 = out.join("baseline/day01");
    let before: Vec<Vec<u8>> =
        ["r1", "r2", "r3"].iter().map(|r| std::fs::read(day01.join(format!("{r}.json"))).unwrap()).collect();
    assert!(!out.join("baseline/day02/morning.r1.json").exists());

    // Second run: picks up at day02 and finishes.
    let started = Instant::now();
    let second = bench(&out).output().unwrap();
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(second.status.success(), "{stderr}");
    eprintln!("resumed run took {:?}:\n{stderr}", started.elapsed());
    let after: Vec<Vec<u8>> =
        ["r1", "r2", "r3"].iter().map(|r| std::fs::read(day01.join(format!("{r}.json"))).unwrap()).collect();
    assert_eq!(before, after, "finished rounds are not run again");
    let calls = std::fs::read_to_string(&log).unwrap();
    let count = |tag: &str| calls.lines().filter(|l| *l == tag).count();
    for tag in ["day01-r1", "day01-r2", "day01-r3", "day01-end", "day02-morning.r2", "day02-afternoon.r1", "day02-end"]
    {
        assert_eq!(count(tag), 1, "{tag} in\n{calls}");
    }
    assert_eq!(count("day02-morning.r1"), 2, "the round cut off by the kill runs again:\n{calls}");

    // Scores, feedback and the agent's failures, round by round.
    let r = |day: &str, key: &str| read(&out.join(format!("baseline/{day}/{key}.json")));
    let scores: Vec<f64> = [
        ("day01", "r1"),
        ("day01", "r2"),
        ("day01", "r3"),
        ("day02", "morning.r1"),
        ("day02", "morning.r2"),
        ("day02", "afternoon.r1"),
        ("day02", "afternoon.r2"),
    ]
    .iter()
    .map(|(d, k)| r(d, k)["score"].as_f64().unwrap())
    .collect();
    assert_eq!(scores, [1.0, 0.75, 1.0, 1.0, 1.0, 0.0, 0.0]);
    let r2 = r("day01", "r2");
    assert!(r2["message"].as_str().unwrap().starts_with("[Previous Feedback] done.txt is right.\n\nWhich are prime?"));
    assert_eq!(r2["kind"], "multi_choice");
    assert!(r2["feedback"].as_str().unwrap().contains("You missed option C: 3 is prime."));
    assert!(r2["answer"].as_str().unwrap().contains("\\bbox{A}"));
    let slow = r("day02", "afternoon.r1");
    assert!(slow["agent_error"].as_str().unwrap().contains("no answer within 3 s"), "{slow}");
    let crash = r("day02", "afternoon.r2");
    let why = crash["agent_error"].as_str().unwrap();
    assert!(why.contains("status 3") && why.contains("simulated crash"), "{why}");
    assert_eq!(read(&out.join("baseline/day01/learned.json"))["day"], "day01");
    let summary = read(&out.join("baseline/summary.json"));
    assert_eq!(summary["rounds"], 7);
    assert!((summary["accuracy"].as_f64().unwrap() - 4.75 / 7.0).abs() < 1e-9);
    assert!(String::from_utf8_lossy(&second.stdout).contains("baseline: 67.9% over 7 rounds"));
    // Each day's workspace held the identity files, the day's folder and the check scripts.
    for f in ["AGENTS.md", "USER.md", "day01/input.txt", "scripts/check_true.sh", "done.txt"] {
        assert!(out.join("baseline/work/day01").join(f).is_file(), "{f}");
    }
    // The turns went through this run's proxy with the day's session.
    let seen = standin.requests();
    assert!(seen.iter().any(|q| q.header("x-session-id") == Some("day02_0002")) || seen.len() >= 9, "{}", seen.len());
    // No key was written under --out.
    assert!(!out.join("baseline/home/secrets.toml").exists());

    // The report.
    let rep = Command::new(BIN).args(["bench", "report", "--out"]).arg(&out).output().unwrap();
    assert!(rep.status.success(), "{}", String::from_utf8_lossy(&rep.stderr));
    let report = read(&out.join("report.json"));
    let mode = &report["modes"][0];
    assert_eq!(mode["mode"], "baseline");
    assert_eq!(mode["overall"]["rounds"], 7);
    assert_eq!(mode["overall"]["agent_errors"], 2);
    assert_eq!(mode["days"][0]["day"], "day01");
    assert!((mode["days"][0]["accuracy"].as_f64().unwrap() - 2.75 / 3.0).abs() < 1e-9);
    assert_eq!(mode["kinds"]["multi_choice"]["rounds"], 3);
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    for needle in ["<svg", "role=\"img\"", "prefers-color-scheme: dark", "<table>", "<caption>", "91.7%", "day02"] {
        assert!(html.contains(needle), "{needle}");
    }
    for outside in ["src=", "href=", "@import", "url("] {
        assert!(!html.contains(outside), "the page loads nothing from elsewhere: {outside}");
    }
}

#[test]
fn skills_and_rl_without_a_training_service_is_refused_in_plain_words() {
    let work = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .arg("--home")
        .arg(work.path().join("home"))
        .args(["bench", "run", "--agent", "command", "--agent-cmd", "true", "--mode", "skills+rl"])
        .args(["--model", "m", "--upstream", "http://127.0.0.1:9/v1", "--data"])
        .arg(fixtures().join("valid"))
        .arg("--out")
        .arg(work.path().join("out"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("none is configured"), "{err}");
    assert!(!work.path().join("out/skills+rl/home").exists(), "refused before starting anything");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_skills_run_judges_and_evolves_between_days_so_the_next_day_runs_on_the_new_generation() {
    let standin = common::standin(Options::default()).await;
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("out");
    let agent = fixtures().join("agent.sh");
    let template = format!("{} {{session}} {{message_file}} {{workspace}} {{base_url}} {{model}}", agent.display());
    let started = Instant::now();
    let run = Command::new(BIN)
        .arg("--home")
        .arg(work.path().join("user-home"))
        .args(["bench", "run", "--agent", "command", "--mode", "skills", "--model", "standin-small"])
        .args(["--judge-model", "standin-judge", "--evolver-model", "standin-evolver", "--days", "2"])
        .args(["--agent-timeout", "2", "--agent-cmd", &template, "--upstream", &standin.base_url()])
        .arg("--data")
        .arg(fixtures().join("valid"))
        .arg("--out")
        .arg(&out)
        .env("BENCH_LOG", work.path().join("calls.log"))
        .env("BENCH_BLOCK", work.path().join("no-block"))
        // Every turn is judged a failure, and the evolver answers with a timestamps skill.
        .env("BENCH_EXTRA", "[[judge_score:-1]] [[evolve:timestamps]]")
        .env_remove("METACLAW_UPSTREAM_API_KEY")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    eprintln!("skills run took {:?}:\n{stderr}", started.elapsed());
    let learned = read(&out.join("skills/day01/learned.json"));
    assert_eq!(learned["turns_judged"], 3, "r1-r3 judged (the closing message waits for a next one): {learned}");
    assert!(learned["note"].is_null(), "{learned}");
    let (before, after) =
        (learned["generation_before"].as_i64().unwrap(), learned["generation_after"].as_i64().unwrap());
    assert!(after > before, "the evolved skill was approved (auto) into a new generation: {learned}");
    assert_eq!(learned["evolve"]["proposed"].as_array().map(Vec::len), Some(1), "{learned}");
    let day02 = read(&out.join("skills/day02/morning.r1.json"));
    assert_eq!(day02["generation"].as_i64(), Some(after), "day02 runs on the new generation");
    // No learning step after the last day.
    assert!(read(&out.join("skills/day02/learned.json"))["evolve"].is_null());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_skills_and_rl_run_trains_one_step_on_the_configured_service_between_days() {
    use metaclaw_standin::tinker::{self, write_tokenizer, TinkerOptions};
    let standin = common::standin(Options::default()).await;
    let work = tempfile::tempdir().unwrap();
    let tok = work.path().join("tokenizer");
    std::fs::create_dir_all(&tok).unwrap();
    write_tokenizer(&tok);
    let service = tinker::spawn(TinkerOptions {
        api_key: Some("tml-bench-key".into()),
        hub_dir: Some(tok.clone()),
        ..Default::default()
    })
    .await
    .unwrap();
    // The user's own config names the training service; the bench copies its [train] section.
    let user_home = work.path().join("user-home");
    std::fs::create_dir_all(&user_home).unwrap();
    let mut cfg = metaclaw::config::Config::default();
    cfg.train.enabled = true;
    cfg.train.base_model = Some("standin/tiny-chat".into());
    cfg.train.base_url = service.base_url();
    cfg.train.hub_url = service.base_url();
    cfg.train.tokenizer_dir = Some(tok.clone());
    cfg.train.min_batch = 2;
    cfg.train.save_timeout_secs = 2;
    std::fs::write(user_home.join("config.toml"), cfg.to_toml()).unwrap();
    let out = work.path().join("out");
    let template = format!(
        "{} {{session}} {{message_file}} {{workspace}} {{base_url}} {{model}}",
        fixtures().join("agent.sh").display()
    );
    let run = Command::new(BIN)
        .arg("--home")
        .arg(&user_home)
        .args(["bench", "run", "--agent", "command", "--mode", "skills+rl", "--model", "standin-small"])
        .args(["--judge-model", "standin-judge", "--evolver-model", "standin-evolver", "--days", "2"])
        .args(["--agent-timeout", "2", "--agent-cmd", &template, "--upstream", &standin.base_url()])
        .arg("--data")
        .arg(fixtures().join("valid"))
        .arg("--out")
        .arg(&out)
        .env("BENCH_LOG", work.path().join("calls.log"))
        .env("BENCH_BLOCK", work.path().join("no-block"))
        .env("BENCH_EXTRA", "[[judge_score:1]]")
        .env("TINKER_API_KEY", "tml-bench-key")
        .env_remove("METACLAW_UPSTREAM_API_KEY")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    let learned = read(&out.join("skills+rl/day01/learned.json"));
    let train = learned["train"].as_str().unwrap_or_else(|| panic!("no training step: {learned}"));
    assert!(train.starts_with("Done"), "one training step ran to its end: {train}");
    let config = std::fs::read_to_string(out.join("skills+rl/home/config.toml")).unwrap();
    assert!(!config.contains("tml-bench-key"), "the service's key stays out of --out");
}
