//! Bounded mutation fuzzing of every parser that reads bytes MetaClaw does not control: OpenAI and
//! Anthropic requests, both kinds of SSE stream (parsed, and translated each way), SKILL.md files,
//! ICS feeds with their RRULE expansion, CalDAV servers' XML answers, and agents' envelopes around
//! the user's words. Stable Rust only: no coverage feedback, just seeds
//! from `tests/fuzz/corpus/<target>/` mutated (bit flips, splices, truncation, repetition, huge
//! numbers, invalid UTF-8, deep nesting, the target's own keywords) and fed to the public
//! functions the engine calls.
//!
//! A panic, or one input running longer than the per-input budget, fails the target and saves the
//! reproducing input (shrunk, for panics) to `tests/fuzz/crashes/<target>-<hash>.bin`; saved
//! crashes are replayed first on every run. If the whole process aborts (a stack overflow), the
//! input being tried is in `$CARGO_TARGET_TMPDIR/fuzz-<target>.current`.
//!
//! The fuzz targets are `#[ignore]`d so a plain `cargo test` stays quick; the test command runs
//! them (`cargo test --test fuzz -- --ignored`). Environment:
//! - `METACLAW_FUZZ_SECS`: seconds per target (default 45);
//! - `METACLAW_FUZZ_INPUT_SECS`: the per-input budget in CPU seconds (default 10);
//! - `METACLAW_FUZZ_SEED`: the random seed (default: a fixed one per target, so the test command is
//!   deterministic; `random` takes one from the clock; printed at the start);
//! - `METACLAW_FUZZ_OUT`: where crashes are saved (default `tests/fuzz/crashes`).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, Once};
use std::time::{Duration, Instant};

use metaclaw::calendar::Feed;
use metaclaw::skills::Origin;
use metaclaw::transcript::{self, Transcript};
use metaclaw::translate::{
    anthropic_to_openai, anthropic_to_openai_response, openai_to_anthropic, openai_to_anthropic_response,
    AnthropicToOpenAiStream, OpenAiToAnthropicStream, StreamConverter,
};
use serde_json::Value;

/// No input grows past this (bounded memory whatever the mutations do).
const MAX_INPUT: usize = 256 * 1024;
/// Distinct crash sites reported per run before a target stops looking.
const MAX_FINDINGS: usize = 5;
/// The stack the engine's async workers get (tokio's default): what the parsers run on for real.
const STACK: usize = 2 * 1024 * 1024;

#[path = "fuzz/mutate.rs"]
mod mutate;
use mutate::*;

// ---------------------------------------------------------------------------------------------
// The targets: what the engine does with each kind of untrusted input

fn openai_request(b: &[u8]) {
    let Ok(req) = metaclaw::proxy::request::parse(b, &http::HeaderMap::new()) else { return };
    let _ = transcript::last_user_text(req.messages());
    // An OpenAI client on an Anthropic upstream, and back.
    if let Ok(a) = openai_to_anthropic(&req.body) {
        let _ = anthropic_to_openai(&a);
    }
}

fn anthropic_request(b: &[u8]) {
    let Ok(req) = metaclaw::proxy::request::parse(b, &http::HeaderMap::new()) else { return };
    let _ = transcript::last_user_text(req.messages());
    // An Anthropic client on an OpenAI upstream, and back.
    if let Ok(o) = anthropic_to_openai(&req.body) {
        let _ = openai_to_anthropic(&o);
    }
}

/// Drives a converter over the chunks; ends the stream normally or as a failure.
fn convert(c: &mut dyn StreamConverter, parts: &[&[u8]], fail: bool) -> Vec<u8> {
    let mut out = Vec::new();
    for p in parts {
        out.extend(c.push(p));
    }
    out.extend(if fail { c.fail("the upstream stalled") } else { c.finish() });
    out
}

/// An OpenAI upstream's bytes: recorded as they are, and translated for an Anthropic client
/// (whose stream is then recorded too). A whole body is also read as a non-stream response.
fn openai_sse(b: &[u8]) {
    let parts = chunks(b);
    let _ = transcript::sse_data(b);
    let _ = Transcript::from_sse(&parts);
    let out = convert(&mut OpenAiToAnthropicStream::new("fuzz-model"), &parts, hash(b) % 5 == 0);
    let _ = Transcript::from_anthropic_sse(&[out]);
    let _ = Transcript::from_json(b);
    if let Ok(v) = serde_json::from_slice::<Value>(b) {
        let _ = openai_to_anthropic_response(&v);
    }
}

/// An Anthropic upstream's bytes, the same way for an OpenAI client.
fn anthropic_sse(b: &[u8]) {
    let parts = chunks(b);
    let _ = Transcript::from_anthropic_sse(&parts);
    let h = hash(b);
    let out = convert(&mut AnthropicToOpenAiStream::new("fuzz-model", 1_733_400_000, h % 2 == 0), &parts, h % 5 == 0);
    let _ = Transcript::from_sse(&[out]);
    let _ = Transcript::from_anthropic_json(b);
    if let Ok(v) = serde_json::from_slice::<Value>(b) {
        let _ = anthropic_to_openai_response(&v, 1_733_400_000);
    }
}

fn skill_md(b: &[u8]) {
    let text = String::from_utf8_lossy(b);
    // In its own folder (the name must match it) and in a wrong one.
    let folder = text.lines().find_map(|l| l.strip_prefix("name:")).map(str::trim).unwrap_or("fuzz").to_string();
    for folder in [folder.as_str(), "fuzz"] {
        let parsed = metaclaw::skills::parse(&text, folder, "SKILL.md", Origin::User);
        if let Ok(skill) = parsed.skill {
            // What MetaClaw writes back, it reads again.
            let again = metaclaw::skills::render(&skill);
            let _ = metaclaw::skills::parse(&again, folder, "SKILL.md", Origin::User);
        }
    }
}

/// 2026-01-01T00:00:00Z in ms.
const Y2026: i64 = 1_767_225_600_000;
const DAY: i64 = 86_400_000;

fn ics(b: &[u8]) {
    let text = metaclaw::calendar::ics::decode(b);
    let zone = if hash(b) % 2 == 0 { chrono_tz::Europe::Berlin } else { chrono_tz::America::New_York };
    let Ok(feed) = Feed::parse(&text, zone, &[]) else { return };
    // The windows the scheduler asks about: a week, around a DST change, a year, far out.
    for (from, to) in [
        (Y2026, Y2026 + 7 * DAY),
        (Y2026 + 66 * DAY, Y2026 + 69 * DAY),
        (Y2026, Y2026 + 366 * DAY),
        (4_102_444_800_000, 4_102_444_800_000 + 30 * DAY),
        (0, DAY),
    ] {
        let _ = feed.busy(from, to);
    }
}

/// A CalDAV server's answer: the XML tree, then the multistatus read from it.
fn caldav_xml(b: &[u8]) {
    let text = String::from_utf8_lossy(b);
    let _ = metaclaw::calendar::caldav::xml::parse(&text);
    let _ = metaclaw::calendar::caldav::xml::multistatus(&text);
}

/// What an agent wraps around the user's words: the envelope is taken off, never added to.
fn envelope(b: &[u8]) {
    let text = String::from_utf8_lossy(b);
    let words = metaclaw::envelope::user_words(&text);
    assert!(words.len() <= text.len(), "stripping an envelope made the text longer");
}

/// A MetaClaw-Bench dataset's files (a day's questions.json, all_tests.json) and the answers the
/// scorer reads `\bbox{…}` letters from.
fn bench_dataset(b: &[u8]) {
    use metaclaw::bench::{dataset, score};
    if let Ok(groups) = dataset::parse_questions(b, Path::new("questions.json"), "day01") {
        for r in groups.iter().flat_map(|g| &g.rounds) {
            if let dataset::Check::MultiChoice { options, answer } = &r.check {
                let _ = score::multi_choice(options.len(), answer, &r.feedback, &r.question);
            }
        }
    }
    let _ = dataset::parse_index(b, Path::new("all_tests.json"));
    let _ = score::boxed_letters(&String::from_utf8_lossy(b));
}

/// The evolver's answer and its edit operations: read, applied to a skill body, and a whole new
/// body turned into operations (`{"body", "ops", "new"}` or an evolver answer `{"skills": [...]}`).
fn edit_ops(b: &[u8]) {
    use metaclaw::evolve::ops;
    let text = String::from_utf8_lossy(b);
    let _ = metaclaw::evolve::parse_answer(&text);
    let Ok(v) = serde_json::from_slice::<Value>(b) else { return };
    let body = v["body"].as_str().unwrap_or("# A skill\n\n1. First step.\n2. Second step.");
    if let Ok(list) = ops::parse(&v["ops"]) {
        if let Ok(applied) = ops::apply(body, &list) {
            let added: usize = list.iter().map(|o| format!("{o:?}").len() + 1).sum();
            assert!(applied.text.len() <= body.len() + added, "applying operations grew the text past what they carry");
            let _ = ops::removed_share(body, applied.removed);
        }
    }
    if let Some(new) = v["new"].as_str() {
        let _ = ops::diff(body, new);
    }
}

#[path = "fuzz/dict.rs"]
mod dict;
use dict::*;

// ---------------------------------------------------------------------------------------------
// The harness

struct Target {
    /// Also the corpus folder's name.
    name: &'static str,
    dict: Dict,
    run: fn(&[u8]),
}

/// What a format nests with (opening, closing).
type Nest = (&'static [u8], &'static [u8]);

fn target(name: &str) -> Target {
    let name: &'static str =
        TARGETS.iter().copied().find(|t| *t == name).unwrap_or_else(|| panic!("no fuzz target {name}"));
    let make = |tokens: &'static [&'static [u8]], (open, close): Nest, run: fn(&[u8])| Target {
        name,
        dict: Dict { tokens, open, close },
        run,
    };
    match name {
        "openai_request" => make(OPENAI_REQ, JSON_NEST, openai_request),
        "anthropic_request" => make(ANTHROPIC_REQ, (b"{\"content\":[", b"]}"), anthropic_request),
        "openai_sse" => make(OPENAI_SSE, (b"{\"a\":", b"}"), openai_sse),
        "anthropic_sse" => make(ANTHROPIC_SSE, JSON_NEST, anthropic_sse),
        "skill_md" => make(SKILL, (b"[", b"]"), skill_md),
        "ics" => make(ICS, (b"BEGIN:VEVENT\r\n", b"END:VEVENT\r\n"), ics),
        "caldav_xml" => make(CALDAV_XML, (b"<d:prop>", b"</d:prop>"), caldav_xml),
        "edit_ops" => make(EDIT_OPS, JSON_NEST, edit_ops),
        "envelope" => make(
            ENVELOPE,
            (b"<<<BEGIN_OPENCLAW_INTERNAL_CONTEXT>>>\n", b"\n<<<END_OPENCLAW_INTERNAL_CONTEXT>>>"),
            envelope,
        ),
        "bench_dataset" => make(BENCH, JSON_NEST, bench_dataset),
        _ => make(RRULE, (b"BEGIN:VALARM\r\n", b"END:VALARM\r\n"), ics),
    }
}

const TARGETS: &[&str] = &[
    "openai_request",
    "anthropic_request",
    "openai_sse",
    "anthropic_sse",
    "skill_md",
    "ics",
    "rrule",
    "caldav_xml",
    "envelope",
    "bench_dataset",
    "edit_ops",
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz")
}

fn crash_dir() -> PathBuf {
    std::env::var_os("METACLAW_FUZZ_OUT").map(PathBuf::from).unwrap_or_else(|| root().join("crashes"))
}

fn files(dir: &Path, prefix: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out: Vec<_> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with(prefix)))
        .filter_map(|p| std::fs::read(&p).ok().map(|b| (p, b)))
        .collect();
    out.sort();
    out
}

fn seeds(t: &Target) -> Vec<(PathBuf, Vec<u8>)> {
    files(&root().join("corpus").join(t.name), "")
}

fn env_secs(name: &str, default: f64) -> Duration {
    let secs = std::env::var(name).ok().and_then(|s| s.parse::<f64>().ok()).filter(|s| s.is_finite() && *s >= 0.0);
    Duration::from_secs_f64(secs.unwrap_or(default))
}

thread_local! {
    /// The last panic on this thread: (location, message).
    static PANIC: RefCell<Option<(String, String)>> = const { RefCell::new(None) };
}

/// Panics on fuzz threads are expected findings: recorded, not printed thousands of times.
fn quiet_panics() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if std::thread::current().name().is_some_and(|n| n.starts_with("fuzz-")) {
                let mut at = info.location().map(|l| format!("{}:{}", l.file(), l.line())).unwrap_or_default();
                if !at.starts_with("src/") {
                    // A panic inside the standard library: name the engine's line that called it.
                    if let Some(ours) = engine_frame(&std::backtrace::Backtrace::force_capture().to_string()) {
                        at = format!("{ours} (in {at})");
                    }
                }
                let msg = info
                    .payload()
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| info.payload().downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                PANIC.with(|p| *p.borrow_mut() = Some((at, msg)));
            } else {
                default(info);
            }
        }));
    });
}

/// The first frame of a backtrace in the engine's own source (`src/…:line`).
fn engine_frame(backtrace: &str) -> Option<String> {
    backtrace.lines().filter_map(|l| l.trim().strip_prefix("at ")).find_map(|path| {
        let i = path.find("/src/").filter(|_| !path.contains("/rustc/") && !path.contains("/.cargo/"))?;
        let at = &path[i + 1..];
        // Without the column.
        Some(at.rsplit_once(':').map_or(at, |(head, _)| head).to_string())
    })
}

/// Runs one input; the panic's (location, message) if it panicked.
fn try_run(run: fn(&[u8]), input: &[u8]) -> Option<(String, String)> {
    PANIC.with(|p| p.borrow_mut().take());
    match panic::catch_unwind(AssertUnwindSafe(|| run(input))) {
        Ok(()) => None,
        Err(_) => Some(PANIC.with(|p| p.borrow_mut().take()).unwrap_or_default()),
    }
}

/// Shrinks a panicking input while it still panics at the same place (bounded work).
fn shrink(run: fn(&[u8]), input: &[u8], at: &str) -> Vec<u8> {
    let mut best = input.to_vec();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut chunk = best.len() / 2;
    while chunk > 0 && Instant::now() < deadline {
        let mut i = 0;
        let mut shrunk = false;
        while i < best.len() && Instant::now() < deadline {
            let mut cand = best.clone();
            cand.drain(i..(i + chunk).min(best.len()));
            if try_run(run, &cand).is_some_and(|(a, _)| a == at) {
                best = cand;
                shrunk = true;
            } else {
                i += chunk;
            }
        }
        if !shrunk {
            chunk /= 2;
        }
    }
    best
}

/// A crash found: where it panicked, why, and the file reproducing it.
struct Finding {
    at: String,
    message: String,
    file: PathBuf,
}

fn save(name: &str, kind: &str, input: &[u8]) -> PathBuf {
    let dir = crash_dir();
    let _ = std::fs::create_dir_all(&dir);
    let file = dir.join(format!("{name}-{kind}{:016x}.bin", hash(input)));
    if let Err(e) = std::fs::write(&file, input) {
        eprintln!("fuzz {name}: could not save {}: {e}", file.display());
    }
    file
}

/// What the worker shares with the watchdog: the input under way and since when.
struct Current {
    started: Option<Instant>,
    /// Counts inputs, so the watchdog knows a new one from the one it timed before.
    seq: u64,
    input: Vec<u8>,
    /// The fuzz thread's id, to read its CPU time.
    tid: Option<u32>,
}

/// CPU seconds a thread of this process has used (Linux `/proc`; `None` elsewhere). The budget
/// counts CPU, not wall time, so a machine busy with other work does not make inputs "slow".
fn thread_cpu_secs(tid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).ok()?;
    // After the command name (which may hold spaces): state is field 3, utime 14, stime 15.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // USER_HZ is 100 on every Linux architecture MetaClaw builds for.
    Some(ticks as f64 / 100.0)
}

/// This thread's id (Linux).
fn own_tid() -> Option<u32> {
    std::fs::read_to_string("/proc/thread-self/stat").ok()?.split_whitespace().next()?.parse().ok()
}

struct Report {
    runs: u64,
    findings: Vec<Finding>,
}

fn worker(t: &Target, seed: u64, budget: Duration, current: &Mutex<Current>) -> Report {
    let run = t.run;
    // The input under way, on disk too: if the process aborts, it is there.
    let scratch = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("fuzz-{}.current", t.name));
    let scratch = File::create(&scratch).ok();
    current.lock().unwrap_or_else(|e| e.into_inner()).tid = own_tid();
    let mut findings: BTreeMap<String, Finding> = BTreeMap::new();
    let mut runs = 0u64;
    let mut exec = |input: &[u8]| {
        {
            let mut c = current.lock().unwrap_or_else(|e| e.into_inner());
            c.started = Some(Instant::now());
            c.seq += 1;
            c.input.clear();
            c.input.extend_from_slice(input);
        }
        if let Some(f) = &scratch {
            let _ = f.write_all_at(input, 0).and_then(|_| f.set_len(input.len() as u64));
        }
        let outcome = try_run(run, input);
        current.lock().unwrap_or_else(|e| e.into_inner()).started = None;
        runs += 1;
        outcome
    };
    // A new crash site is shrunk and saved (a saved crash names its own file); known ones are
    // only counted. Returns how many sites are known.
    let mut found = |input: &[u8], outcome: Option<(String, String)>, replayed: Option<&Path>| {
        if let Some((at, message)) = outcome {
            if !findings.contains_key(&at) {
                let file = match replayed {
                    Some(p) => p.to_path_buf(),
                    None => save(t.name, "", &shrink(run, input, &at)),
                };
                findings.insert(at.clone(), Finding { at, message, file });
            }
        }
        findings.len()
    };

    // Saved crashes first, then every seed as it is.
    let corpus = seeds(t);
    let mut n_found = 0;
    for (path, b) in files(&crash_dir(), &format!("{}-", t.name)).iter().chain(corpus.iter()) {
        let outcome = exec(b);
        n_found = found(b, outcome, Some(path));
    }
    let mut pool: Vec<Vec<u8>> = corpus.into_iter().map(|(_, b)| b).collect();
    assert!(!pool.is_empty(), "no seeds in tests/fuzz/corpus/{}", t.name);
    let n_seeds = pool.len();
    let mut rng = Rng::new(seed);
    let end = Instant::now() + budget;
    while Instant::now() < end && n_found < MAX_FINDINGS {
        let base = if rng.below(4) == 0 { rng.below(pool.len()) } else { rng.below(n_seeds) };
        let input = mutate(&mut rng, &pool[base], &pool[..n_seeds], &t.dict);
        let outcome = exec(&input);
        n_found = found(&input, outcome, None);
        // Keep some mutants to mutate further (stacked mutations), in a bounded pool.
        if rng.below(16) == 0 {
            if pool.len() < n_seeds + 256 {
                pool.push(input);
            } else {
                let i = n_seeds + rng.below(256);
                pool[i] = input;
            }
        }
    }
    Report { runs, findings: findings.into_values().collect() }
}

/// Fuzzes one target for `budget`; what failed (crash sites, a slow input), if anything did.
fn fuzz(name: &str, budget: Duration) -> Result<(), String> {
    quiet_panics();
    let t = target(name);
    // The test command must be deterministic: by default every run walks the same sequence (a
    // slower machine just walks less of it). `METACLAW_FUZZ_SEED=random` explores new ground.
    let seed = match std::env::var("METACLAW_FUZZ_SEED").ok().as_deref() {
        Some("random") => {
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64)
                ^ hash(name.as_bytes())
        }
        Some(s) => s.parse().unwrap_or_else(|_| panic!("METACLAW_FUZZ_SEED is a number or `random`, not {s:?}")),
        None => 0x6d63_6c61_7766_757a ^ hash(name.as_bytes()),
    };
    let per_input = env_secs("METACLAW_FUZZ_INPUT_SECS", 10.0);
    {
        // Straight to stderr (not the test's captured output): still there if the process aborts.
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "fuzz {name}: seed {seed}, {:.0} s (METACLAW_FUZZ_SEED={seed} reproduces the sequence)",
            budget.as_secs_f64()
        );
    }
    let current = Arc::new(Mutex::new(Current { started: None, seq: 0, input: Vec::new(), tid: None }));
    let (tx, rx) = mpsc::channel();
    let shared = current.clone();
    let spawned = std::thread::Builder::new()
        .name(format!("fuzz-{name}"))
        .stack_size(STACK)
        .spawn(move || drop(tx.send(worker(&t, seed, budget, &shared))));
    spawned.expect("spawning the fuzz thread");
    let t0 = Instant::now();
    // The input being timed: its number and the thread's CPU time when it was first seen.
    let mut timed: Option<(u64, f64)> = None;
    let report = loop {
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(r) => break r,
            Err(mpsc::RecvTimeoutError::Disconnected) => return Err(format!("fuzz {name}: the fuzz thread died")),
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let c = current.lock().unwrap_or_else(|e| e.into_inner());
                let Some(started) = c.started else { continue };
                let cpu = c.tid.and_then(thread_cpu_secs);
                let used = match (cpu, timed) {
                    (Some(now), Some((seq, at))) if seq == c.seq => Some(now - at),
                    (Some(now), _) => {
                        timed = Some((c.seq, now));
                        Some(0.0)
                    }
                    (None, _) => None,
                };
                // CPU time where it can be read; wall time (four times the budget) as a backstop.
                let slow = used.is_some_and(|u| u > per_input.as_secs_f64())
                    || started.elapsed() > per_input * if used.is_some() { 4 } else { 1 };
                if slow {
                    // The thread can't be stopped; the input is saved and the target fails now.
                    let file = save(name, "slow-", &c.input);
                    return Err(format!(
                        "fuzz {name}: one input ran over {:.0} s of CPU ({} bytes), saved to {}",
                        per_input.as_secs_f64(),
                        c.input.len(),
                        file.display()
                    ));
                }
            }
        }
    };
    let secs = t0.elapsed().as_secs_f64();
    eprintln!("fuzz {name}: {} inputs in {secs:.0} s ({:.0}/s)", report.runs, report.runs as f64 / secs.max(0.001));
    if !report.findings.is_empty() {
        let list: Vec<String> = report
            .findings
            .iter()
            .map(|f| format!("  panicked at {}: {}\n    reproduce with: {}", f.at, f.message, f.file.display()))
            .collect();
        return Err(format!("fuzz {name}: {} crash site(s)\n{}", report.findings.len(), list.join("\n")));
    }
    Ok(())
}

fn budget() -> Duration {
    env_secs("METACLAW_FUZZ_SECS", 45.0)
}

#[test]
#[ignore = "fuzzing takes a while: cargo test --test fuzz -- --ignored"]
fn fuzz_openai_request() {
    fuzz("openai_request", budget()).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
#[ignore = "fuzzing takes a while: cargo test --test fuzz -- --ignored"]
fn fuzz_anthropic_request() {
    fuzz("anthropic_request", budget()).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
#[ignore = "fuzzing takes a while: cargo test --test fuzz -- --ignored"]
fn fuzz_openai_sse_and_translation_to_anthropic() {
    fuzz("openai_sse", budget()).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
#[ignore = "fuzzing takes a while: cargo test --test fuzz -- --ignored"]
fn fuzz_anthropic_sse_and_translation_to_openai() {
    fuzz("anthropic_sse", budget()).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
#[ignore = "fuzzing takes a while: cargo test --test fuzz -- --ignored"]
fn fuzz_skill_md() {
    fuzz("skill_md", budget()).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
#[ignore = "fuzzing takes a while: cargo test --test fuzz -- --ignored"]
fn fuzz_ics() {
    fuzz("ics", budget()).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
#[ignore = "fuzzing takes a while: cargo test --test fuzz -- --ignored"]
fn fuzz_rrule_expansion() {
    fuzz("rrule", budget()).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
#[ignore = "fuzzing takes a while: cargo test --test fuzz -- --ignored"]
fn fuzz_caldav_xml() {
    fuzz("caldav_xml", budget()).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
#[ignore = "fuzzing takes a while: cargo test --test fuzz -- --ignored"]
fn fuzz_agent_envelopes() {
    fuzz("envelope", budget()).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
#[ignore = "fuzzing takes a while: cargo test --test fuzz -- --ignored"]
fn fuzz_evolver_edit_operations() {
    fuzz("edit_ops", budget()).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
#[ignore = "fuzzing takes a while: cargo test --test fuzz -- --ignored"]
fn fuzz_bench_dataset() {
    fuzz("bench_dataset", budget()).unwrap_or_else(|e| panic!("{e}"));
}

/// The seed corpora are real samples each target accepts: a seed the parser rejects outright
/// would only fuzz the first error path. (Seeds named `edge-*` probe edges a parser may refuse.)
#[test]
fn every_seed_is_a_sample_its_parser_reads() {
    let h = http::HeaderMap::new();
    for name in TARGETS {
        let t = target(name);
        let seeds = seeds(&t);
        assert!(seeds.len() >= 4, "{name}: at least 4 seeds, found {}", seeds.len());
        for (path, b) in &seeds {
            let text = String::from_utf8_lossy(b);
            let ok = match *name {
                // Valid requests; translation may refuse some (n > 1, logprobs, files).
                "openai_request" | "anthropic_request" => metaclaw::proxy::request::parse(b, &h).is_ok(),
                "openai_sse" => !transcript::sse_data(b).is_empty() || Transcript::from_json(b).is_some(),
                "anthropic_sse" => !transcript::sse_data(b).is_empty() || Transcript::from_anthropic_json(b).is_some(),
                "skill_md" => {
                    let folder = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
                    let folder = text.lines().find_map(|l| l.strip_prefix("name:")).map(str::trim).unwrap_or(folder);
                    let parsed = metaclaw::skills::parse(&text, folder, "SKILL.md", Origin::User);
                    if let Err(why) = &parsed.skill {
                        eprintln!("{}: {why}", path.display());
                    }
                    parsed.skill.is_ok()
                }
                "caldav_xml" => {
                    metaclaw::calendar::caldav::xml::multistatus(&text).is_ok_and(|m| !m.responses.is_empty())
                }
                // Operations that apply to their body, or an evolver answer that parses.
                "edit_ops" => {
                    let v: Value = serde_json::from_slice(b).unwrap_or_default();
                    let body = v["body"].as_str().unwrap_or("");
                    metaclaw::evolve::parse_answer(&text).is_ok()
                        || metaclaw::evolve::ops::parse(&v["ops"])
                            .is_ok_and(|o| metaclaw::evolve::ops::apply(body, &o).is_ok())
                }
                // Each seed carries an envelope and some words of the user's.
                "envelope" => {
                    let words = metaclaw::envelope::user_words(&text);
                    words.len() < text.trim().len() && !words.trim().is_empty()
                }
                "bench_dataset" => {
                    let p = Path::new("seed.json");
                    metaclaw::bench::dataset::parse_questions(b, p, "day01").is_ok()
                        || metaclaw::bench::dataset::parse_index(b, p).is_ok()
                }
                // Decoded as feeds are (UTF-8, or UTF-16 with its byte order mark).
                _ => Feed::parse(&metaclaw::calendar::ics::decode(b), chrono_tz::Europe::Berlin, &[])
                    .is_ok_and(|f| !f.is_empty()),
            };
            let edge = path.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("edge-"));
            assert!(ok || edge, "{name}: the seed {} is not read as a valid sample", path.display());
        }
    }
}

/// The harness itself: a short run of every target over its seeds and a few hundred mutants
/// (the real runs are the ignored tests above).
#[test]
fn a_short_fuzz_run_of_every_target_finds_no_crash() {
    let failed: Vec<String> = TARGETS.iter().filter_map(|name| fuzz(name, Duration::from_millis(300)).err()).collect();
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}
