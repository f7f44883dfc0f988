//! Plain-text output for the CLI: aligned tables, local times, millisecond figures, and the
//! learning loop's lines of `metaclaw status`.

use metaclaw::api::Status;

/// Prints rows under headers, columns padded to their widest cell.
pub fn table(headers: &[&str], rows: Vec<Vec<String>>) {
    if rows.is_empty() {
        println!("(none)");
        return;
    }
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for r in &rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let s: Vec<String> = cells.iter().enumerate().map(|(i, c)| format!("{c:<w$}", w = widths[i])).collect();
        println!("{}", s.join("  ").trim_end());
    };
    line(headers.iter().map(|h| h.to_string()).collect());
    for r in rows {
        line(r);
    }
}

/// Local time of a millisecond timestamp, `YYYY-MM-DD HH:MM:SS`.
pub fn time(ms_since_epoch: i64) -> String {
    jiff::Timestamp::from_millisecond(ms_since_epoch)
        .map(|t| t.to_zoned(jiff::tz::TimeZone::system()).strftime("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_else(|_| ms_since_epoch.to_string())
}

pub fn ms(v: f64) -> String {
    if v < 10.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.0}")
    }
}

/// `text` on one line, at most `max` characters.
pub fn one_line(text: &str, max: usize) -> String {
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() <= max {
        return line;
    }
    format!("{}…", line.chars().take(max).collect::<String>())
}

fn plural(n: i64, one: &str) -> String {
    format!("{n} {one}{}", if n == 1 { "" } else { "s" })
}

/// The judge's, the evolver's and the pause's lines of `metaclaw status`.
pub fn learning_lines(s: &Status) -> Vec<String> {
    let mut out = Vec::new();
    if s.learning_paused {
        out.push("learning   paused: no judging, evolution or training until `metaclaw resume`".to_string());
    }
    if let Some(j) = &s.judge {
        out.push(format!(
            "judge      {} scored, {} unparseable, {} timed out, {} waiting, {} given up",
            j.scored, j.unparseable, j.timed_out, j.pending, j.failed
        ));
        if let Some(p) = &j.problem {
            out.push(format!("           {p}"));
        }
        if let Some(e) = j.last_error.as_deref().filter(|_| j.pending + j.failed > 0) {
            out.push(format!("           last failure: {e}"));
        }
        if let Some(a) = &j.last_answer {
            out.push(format!("           last answer: {:?}", one_line(a, 160)));
        }
    }
    if let Some(e) = &s.evolver {
        let last = match &e.last_run {
            Some(r) => format!(
                "last run #{} {}: {}{}",
                r.id,
                time(r.created_at),
                r.status,
                r.reason.as_deref().map(|why| format!(" ({})", one_line(why, 160))).unwrap_or_default()
            ),
            None => "no run yet".to_string(),
        };
        out.push(format!(
            "evolver    {}; {} of {} failed; {} waiting to be learned from",
            last,
            plural(e.failed_runs, "run"),
            e.runs,
            plural(e.failures_waiting, "failed turn")
        ));
    }
    out
}
