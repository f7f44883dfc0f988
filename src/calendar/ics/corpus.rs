//! Checks the ICS reader against a directory of real-world .ics files (not in the repository).
//!
//! Run it with your own corpus (any directory tree; every file ending in `.ics` is read):
//!
//! ```text
//! METACLAW_ICS_CORPUS=/path/to/ics cargo test --lib calendar::ics::corpus -- --ignored --nocapture
//! ```
//!
//! For every file it reads the text as a feed would ([`decode`]), parses it with [`Feed::parse`]
//! and asks for busy time over the four weeks around now and over the year from the file's first
//! event, each under `catch_unwind` and timed (the faster of two runs). It prints one line per
//! file (refused, read with skipped lines or events, unknown zones, times) and a summary, and
//! fails on a panic or on a file over its time budget ([`MS_PER_EVENT`], [`MS_PER_OCCURRENCE`]).
//! `METACLAW_ICS_REPORT=/path.jsonl` also writes, for each file, every occurrence in the year
//! window, each event but cancelled ones counted busy, to compare with another implementation:
//! `scripts/ics-corpus.sh /path/to/ics` does that with Python's recurring-ical-events.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::*;

/// Time allowed per event read (parse and both queries), beyond a fixed 200 ms per file (room
/// for a busy machine) and [`MS_PER_OCCURRENCE`] per occurrence found.
const MS_PER_EVENT: f64 = 5.0;
const MS_PER_OCCURRENCE: f64 = 0.05;

fn ics_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut entries: Vec<PathBuf> = entries.filter_map(|e| e.ok()).map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            ics_files(&p, out);
        } else if p.extension().is_some_and(|e| e.eq_ignore_ascii_case("ics")) {
            out.push(p);
        }
    }
}

/// What happened to one file.
#[derive(Default)]
struct Outcome {
    refused: Option<String>,
    panic: Option<String>,
    events: usize,
    notes: Vec<String>,
    unknown: Vec<String>,
    blocks_now: usize,
    blocks_year: usize,
    elapsed: Duration,
    /// The year window and every occurrence in it, all events but cancelled ones counted busy.
    report: Option<serde_json::Value>,
}

fn panic_text(e: &(dyn std::any::Any + Send)) -> String {
    e.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| e.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic".into())
}

fn check(path: &Path, now: i64) -> Outcome {
    let mut out = Outcome::default();
    let text = match std::fs::read(path) {
        Ok(b) => decode(&b),
        Err(e) => {
            out.refused = Some(format!("unreadable: {e}"));
            return out;
        }
    };
    let t = Instant::now();
    let parsed = catch_unwind(|| Feed::parse(&text, chrono_tz::UTC, &[]));
    let feed = match parsed {
        Err(e) => {
            out.panic = Some(format!("in parse: {}", panic_text(&*e)));
            out.elapsed = t.elapsed();
            return out;
        }
        Ok(Err(e)) => {
            out.refused = Some(e.to_string());
            out.elapsed = t.elapsed();
            return out;
        }
        Ok(Ok(f)) => f,
    };
    out.events = feed.len();
    out.notes = feed.skipped.to_lines();
    out.unknown = feed.unknown_zones.clone();
    let day = 86_400_000;
    match catch_unwind(AssertUnwindSafe(|| feed.busy(now - 14 * day, now + 14 * day))) {
        Ok(b) => out.blocks_now = b.len(),
        Err(e) => out.panic = Some(format!("in busy (now): {}", panic_text(&*e))),
    }
    // The year from the first event, with every event but cancelled ones counted busy.
    let first = feed.events.iter().map(|e| feed.instant(e.start).timestamp_millis()).min();
    if let (Some(first), None) = (first, &out.panic) {
        let (from, to) = (first - day, first + 365 * day);
        let mut all = feed.clone();
        for e in &mut all.events {
            e.facts = busy::Facts {
                all_day: false,
                cancelled: e.facts.cancelled,
                show: Show::Busy,
                response: Response::None,
            };
        }
        match catch_unwind(AssertUnwindSafe(|| all.busy(from, to))) {
            Ok(b) => {
                out.blocks_year = b.len();
                let occ: Vec<(i64, i64)> = b.iter().map(|b| (b.start, b.end)).collect();
                out.report = Some(serde_json::json!({ "from": from, "to": to, "occurrences": occ }));
            }
            Err(e) => out.panic = Some(format!("in busy (year): {}", panic_text(&*e))),
        }
    }
    out.elapsed = t.elapsed();
    out
}

#[test]
#[ignore = "needs METACLAW_ICS_CORPUS, a directory of .ics files"]
fn corpus() {
    let Some(dir) = std::env::var_os("METACLAW_ICS_CORPUS") else {
        eprintln!("METACLAW_ICS_CORPUS is not set: nothing to check");
        return;
    };
    let mut files = Vec::new();
    ics_files(Path::new(&dir), &mut files);
    assert!(!files.is_empty(), "no .ics files under {dir:?}");
    let mut report = std::env::var_os("METACLAW_ICS_REPORT").map(|p| std::fs::File::create(p).expect("report file"));
    let now = Utc::now().timestamp_millis();
    let (mut fine, mut skipping, mut refused, mut panics, mut slow, mut zoneless) = (0, 0, 0, 0, 0, 0);
    let mut slowest = (Duration::ZERO, String::new());
    for path in &files {
        let name = path.strip_prefix(&dir).unwrap_or(path).display().to_string();
        // The faster of two runs: a busy machine makes single timings noisy.
        let mut o = check(path, now);
        if o.panic.is_none() {
            o.elapsed = o.elapsed.min(check(path, now).elapsed);
        }
        let occurrences = (o.blocks_now + o.blocks_year) as f64;
        let budget = Duration::from_secs_f64(
            (200.0 + MS_PER_EVENT * o.events as f64 + MS_PER_OCCURRENCE * occurrences) / 1000.0,
        );
        if o.elapsed > slowest.0 {
            slowest = (o.elapsed, name.clone());
        }
        let ms = o.elapsed.as_secs_f64() * 1000.0;
        let status = if let Some(p) = &o.panic {
            panics += 1;
            format!("PANIC {p}")
        } else if let Some(r) = &o.refused {
            refused += 1;
            format!("REFUSED {r}")
        } else if !o.notes.is_empty() {
            skipping += 1;
            format!("SKIPPED {} note(s): {}", o.notes.len(), o.notes.join(" | "))
        } else {
            fine += 1;
            "ok".into()
        };
        if o.elapsed > budget {
            slow += 1;
        }
        if !o.unknown.is_empty() {
            zoneless += 1;
        }
        let zones = if o.unknown.is_empty() { String::new() } else { format!(" unknown zones {:?}", o.unknown) };
        let slow_mark = if o.elapsed > budget { " SLOW" } else { "" };
        println!(
            "{name}\t{} events\t{} now\t{} year\t{ms:.1} ms{slow_mark}\t{status}{zones}",
            o.events, o.blocks_now, o.blocks_year
        );
        if let (Some(w), Some(r)) = (report.as_mut(), o.report) {
            use std::io::Write as _;
            let mut r = r;
            r["file"] = serde_json::Value::String(path.display().to_string());
            writeln!(w, "{r}").expect("write report");
        }
    }
    println!(
        "{} files: {fine} read cleanly, {skipping} with skipped lines or events, {refused} refused, {panics} panics, \
         {zoneless} with unknown zones, {slow} over the time budget; slowest {:.1} ms ({})",
        files.len(),
        slowest.0.as_secs_f64() * 1000.0,
        slowest.1
    );
    assert_eq!(panics, 0, "some files panicked");
    assert_eq!(slow, 0, "some files took more than {MS_PER_EVENT} ms per event");
}
