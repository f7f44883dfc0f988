//! `bench report`: reads every mode's round files under `--out` and writes `report.json`
//! (accuracy per day and overall per mode, per round kind, counts) and `report.html`, a
//! self-contained page (no network, inline SVG, light and dark, a table for screen readers and
//! for the exact numbers) with accuracy per day, one line per mode.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::results::{self, Mode, RoundResult};
use super::BenchError;

/// Accuracy over some rounds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Accuracy {
    pub rounds: usize,
    pub score: f64,
    /// score / rounds, 0..=1.
    pub accuracy: f64,
    /// Rounds fully right.
    pub passed: usize,
    /// Rounds the agent did not answer (timeout, crash).
    pub agent_errors: usize,
}

impl Accuracy {
    fn add(&mut self, r: &RoundResult) {
        self.rounds += 1;
        self.score += r.score;
        self.passed += usize::from(r.passed);
        self.agent_errors += usize::from(r.agent_error.is_some());
        self.accuracy = self.score / self.rounds as f64;
    }
}

/// One day of one mode.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DayAccuracy {
    pub day: String,
    #[serde(flatten)]
    pub accuracy: Accuracy,
}

/// One mode's results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModeReport {
    pub mode: Mode,
    pub overall: Accuracy,
    pub days: Vec<DayAccuracy>,
    /// By round kind (`file_check`, `multi_choice`).
    pub kinds: BTreeMap<String, Accuracy>,
}

/// `report.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub modes: Vec<ModeReport>,
    /// Every day seen in any mode, in order.
    pub days: Vec<String>,
}

/// Builds the report from the round files under `out`.
pub fn build(out: &Path) -> Report {
    let mut modes = Vec::new();
    let mut all_days = BTreeSet::new();
    for mode in Mode::ALL {
        let rounds = results::read_mode(out, mode);
        if rounds.is_empty() {
            continue;
        }
        let mut overall = Accuracy::default();
        let mut days: BTreeMap<String, Accuracy> = BTreeMap::new();
        let mut kinds: BTreeMap<String, Accuracy> = BTreeMap::new();
        for r in &rounds {
            overall.add(r);
            days.entry(r.day.clone()).or_default().add(r);
            kinds.entry(r.kind.clone()).or_default().add(r);
        }
        all_days.extend(days.keys().cloned());
        let days = days.into_iter().map(|(day, accuracy)| DayAccuracy { day, accuracy }).collect();
        modes.push(ModeReport { mode, overall, days, kinds });
    }
    Report { modes, days: all_days.into_iter().collect() }
}

/// Writes `report.json` into `out` and the HTML page to `html` (default `out/report.html`).
pub fn write(out: &Path, html: Option<&Path>) -> Result<Report, BenchError> {
    let report = build(out);
    if report.modes.is_empty() {
        return Err(BenchError::Refused(format!(
            "no finished rounds under {} (run `metaclaw bench run --out {}` first)",
            out.display(),
            out.display()
        )));
    }
    results::write_atomic(&out.join("report.json"), &report)?;
    let page = html_page(&report);
    let html_path = html.map(Path::to_path_buf).unwrap_or_else(|| out.join("report.html"));
    let tmp = html_path.with_extension("html.tmp");
    std::fs::write(&tmp, page).map_err(BenchError::io("cannot write", &tmp))?;
    std::fs::rename(&tmp, &html_path).map_err(BenchError::io("cannot write", &html_path))?;
    Ok(report)
}

/// HTML-escapes text.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

/// Colour and marker per mode (told apart by shape and dash too, not by colour alone).
fn style(mode: Mode) -> (&'static str, &'static str) {
    match mode {
        Mode::Baseline => ("var(--baseline)", "4 3"),
        Mode::Skills => ("var(--skills)", "none"),
        Mode::SkillsRl => ("var(--rl)", "1 3"),
    }
}

/// The self-contained page.
pub fn html_page(report: &Report) -> String {
    let (w, h) = (720.0_f64, 320.0_f64);
    let (left, right, top, bottom) = (52.0, 40.0, 16.0, 44.0);
    let n = report.days.len().max(1);
    let x = |i: usize| {
        if n == 1 {
            left + (w - left - right) / 2.0
        } else {
            left + (w - left - right) * i as f64 / (n - 1) as f64
        }
    };
    let y = |a: f64| top + (h - top - bottom) * (1.0 - a.clamp(0.0, 1.0));
    let mut svg = String::new();
    let summary: Vec<String> = report.modes.iter().map(|m| format!("{} {}", m.mode, pct(m.overall.accuracy))).collect();
    let _ = write!(
        svg,
        r#"<svg class="chart" viewBox="0 0 {w} {h}" role="img" aria-labelledby="chart-title chart-desc" xmlns="http://www.w3.org/2000/svg"><title id="chart-title">Accuracy per day, one line per mode</title><desc id="chart-desc">Overall: {}. The table below has every number.</desc>"#,
        esc(&summary.join(", "))
    );
    for tick in [0.0, 0.25, 0.5, 0.75, 1.0] {
        let ty = y(tick);
        let _ = write!(
            svg,
            r#"<line class="grid" x1="{left}" x2="{}" y1="{ty:.1}" y2="{ty:.1}"/><text class="axis" x="{}" y="{:.1}" text-anchor="end">{}%</text>"#,
            w - right,
            left - 6.0,
            ty + 4.0,
            (tick * 100.0) as i64
        );
    }
    let label_every = n.div_ceil(15).max(1);
    for (i, d) in report.days.iter().enumerate() {
        if i % label_every == 0 || i + 1 == n {
            let _ = write!(
                svg,
                r#"<text class="axis" x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
                x(i),
                h - bottom + 18.0,
                esc(d)
            );
        }
    }
    for m in &report.modes {
        let (colour, dash) = style(m.mode);
        let points: Vec<(f64, f64, &DayAccuracy)> = m
            .days
            .iter()
            .filter_map(|d| report.days.iter().position(|x| *x == d.day).map(|i| (x(i), y(d.accuracy.accuracy), d)))
            .collect();
        let path: Vec<String> = points.iter().map(|(px, py, _)| format!("{px:.1},{py:.1}")).collect();
        let _ = write!(
            svg,
            r#"<polyline fill="none" stroke="{colour}" stroke-width="2.5" stroke-dasharray="{dash}" points="{}"/>"#,
            path.join(" ")
        );
        for (px, py, d) in &points {
            let _ = write!(
                svg,
                r#"<circle cx="{px:.1}" cy="{py:.1}" r="4" fill="{colour}"><title>{} {}: {}</title></circle>"#,
                m.mode,
                esc(&d.day),
                pct(d.accuracy.accuracy)
            );
        }
    }
    svg.push_str("</svg>");

    let mut legend = String::new();
    for m in &report.modes {
        let (colour, dash) = style(m.mode);
        let _ = write!(
            legend,
            r#"<li><svg width="28" height="10" aria-hidden="true"><line x1="0" x2="28" y1="5" y2="5" stroke="{colour}" stroke-width="3" stroke-dasharray="{dash}"/></svg> {} — {} over {} rounds</li>"#,
            m.mode,
            pct(m.overall.accuracy),
            m.overall.rounds
        );
    }

    let mut table = String::from(
        r#"<table><caption>Accuracy per day (score / rounds)</caption><thead><tr><th scope="col">Day</th>"#,
    );
    for m in &report.modes {
        let _ = write!(table, r#"<th scope="col">{}</th>"#, m.mode);
    }
    table.push_str("</tr></thead><tbody>");
    for d in &report.days {
        let _ = write!(table, r#"<tr><th scope="row">{}</th>"#, esc(d));
        for m in &report.modes {
            match m.days.iter().find(|x| x.day == *d) {
                Some(a) => {
                    let _ = write!(
                        table,
                        "<td>{} <span class=\"n\">({:.2} / {})</span></td>",
                        pct(a.accuracy.accuracy),
                        a.accuracy.score,
                        a.accuracy.rounds
                    );
                }
                None => table.push_str("<td>—</td>"),
            }
        }
        table.push_str("</tr>");
    }
    table.push_str(r#"</tbody><tfoot><tr><th scope="row">All days</th>"#);
    for m in &report.modes {
        let _ = write!(
            table,
            "<td>{} <span class=\"n\">({} rounds)</span></td>",
            pct(m.overall.accuracy),
            m.overall.rounds
        );
    }
    table.push_str("</tr>");
    let kinds: BTreeSet<&String> = report.modes.iter().flat_map(|m| m.kinds.keys()).collect();
    for k in kinds {
        let _ = write!(table, r#"<tr><th scope="row">{}</th>"#, esc(k));
        for m in &report.modes {
            match m.kinds.get(k) {
                Some(a) => {
                    let _ =
                        write!(table, "<td>{} <span class=\"n\">({} rounds)</span></td>", pct(a.accuracy), a.rounds);
                }
                None => table.push_str("<td>—</td>"),
            }
        }
        table.push_str("</tr>");
    }
    table.push_str("</tfoot></table>");
    let errors: usize = report.modes.iter().map(|m| m.overall.agent_errors).sum();
    let note = if errors > 0 {
        format!("<p>{errors} round(s) scored 0 because the agent timed out or failed; the round files say why.</p>")
    } else {
        String::new()
    };

    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>MetaClaw-Bench report</title>
<style>
:root {{ color-scheme: light dark; --bg: #ffffff; --fg: #1b1f24; --muted: #57606a; --grid: #d0d7de;
  --baseline: #6e7781; --skills: #0969da; --rl: #bf3989; }}
@media (prefers-color-scheme: dark) {{ :root {{ --bg: #0d1117; --fg: #e6edf3; --muted: #9198a1; --grid: #30363d;
  --baseline: #9198a1; --skills: #58a6ff; --rl: #f778ba; }} }}
body {{ background: var(--bg); color: var(--fg); font: 15px/1.5 system-ui, sans-serif; margin: 2rem auto; max-width: 760px; padding: 0 1rem; }}
svg.chart {{ width: 100%; height: auto; }}
ul.legend svg {{ vertical-align: middle; }}
.grid {{ stroke: var(--grid); stroke-width: 1; }}
.axis {{ fill: var(--muted); font-size: 12px; }}
ul.legend {{ list-style: none; padding: 0; display: flex; gap: 1.5rem; flex-wrap: wrap; }}
table {{ border-collapse: collapse; width: 100%; margin-top: 1.5rem; }}
th, td {{ border-bottom: 1px solid var(--grid); padding: .3rem .6rem; text-align: left; }}
caption {{ text-align: left; font-weight: 600; padding-bottom: .4rem; }}
.n {{ color: var(--muted); font-size: 13px; }}
</style></head>
<body>
<h1>MetaClaw-Bench: accuracy per day</h1>
<figure>{svg}<figcaption><ul class="legend">{legend}</ul></figcaption></figure>
{note}{table}
</body></html>
"#
    )
}
