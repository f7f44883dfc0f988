//! `metaclaw scheduler status|simulate`, `metaclaw pause|resume`: the scheduler and the learning
//! switch, through the admin API. `metaclaw calendar …` is in [`super::calendar`].

use anyhow::{bail, Context, Result};
use clap::Subcommand;
use reqwest::Method;

use metaclaw::api::types::scheduler::{RunOutcome, TimeRange};
use metaclaw::home::Home;

use super::client::{api, call, print_json};
use super::output::time;
use super::JsonFlag;

#[derive(Debug, Subcommand)]
pub enum SchedulerCmd {
    /// The scheduler's state, the decision and its reason, every signal, the jobs and the next
    /// predicted window.
    Status(JsonFlag),
    /// Which windows would have opened (past) or are expected (future) over a period.
    Simulate {
        /// Start: `2026-11-20`, `2026-11-20T09:00`, RFC 3339, `now`, or relative `-7d` / `+12h`.
        #[arg(long, default_value = "-7d", allow_hyphen_values = true)]
        from: String,
        /// End, in the same forms.
        #[arg(long, default_value = "now", allow_hyphen_values = true)]
        to: String,
        #[command(flatten)]
        json: JsonFlag,
    },
}

pub async fn run(home: &Home, cmd: SchedulerCmd) -> Result<()> {
    match cmd {
        SchedulerCmd::Status(j) => status(home, j.json).await,
        SchedulerCmd::Simulate { from, to, json } => simulate(home, &from, &to, json.json).await,
    }
}

async fn status(home: &Home, json: bool) -> Result<()> {
    let v = api(home)?.scheduler().await?;
    if json {
        return print_json(&v);
    }
    let d = &v.decision;
    println!("state          {}{}", v.state.as_str(), v.job.as_deref().map(|j| format!(" ({j})")).unwrap_or_default());
    println!("window         {}: {}", if d.open { "OPEN" } else { "closed" }, d.explanation);
    if let Some(until) = d.until {
        println!("until          {}", time(until.as_millisecond()));
    }
    if let Some(next) = d.next {
        println!("next window    {} (predicted)", time(next.as_millisecond()));
    }
    let s = &v.signals;
    println!("idle           {} s (from {})", s.idle_secs, s.idle_source);
    if let Some(os) = s.os_idle_secs {
        println!("  os idle      {os} s");
    }
    println!("  requests     last {} s ago", s.request_idle_secs);
    let flag = |v: Option<bool>| match v {
        Some(true) => "yes",
        Some(false) => "no",
        None => "unknown",
    };
    println!("on battery     {}", flag(s.on_battery));
    println!("screen locked  {}", flag(s.locked));
    println!("time zone      {}", v.timezone);
    println!("activity model {} week(s) of history", v.activity.weeks);
    for j in &v.jobs {
        let last = match &j.last_run {
            None => "never ran".to_string(),
            Some(r) => format!(
                "last {} at {}: {}",
                r.outcome.map_or("running", RunOutcome::as_str),
                time(r.started_at),
                r.detail.as_deref().unwrap_or("")
            ),
        };
        println!("job {:<11} {} ~{} s; {last}", j.name, if j.pending { "has work," } else { "idle," }, j.estimate_secs);
    }
    Ok(())
}

/// `now`, `-7d`, `+12h`, `-30m`, a date, a civil date-time (local zone), or RFC 3339.
pub fn parse_when(s: &str, now: jiff::Timestamp) -> Result<i64> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("now") {
        return Ok(now.as_millisecond());
    }
    if let Some(rest) = s.strip_prefix('-').or_else(|| s.strip_prefix('+')) {
        let sign = if s.starts_with('-') { -1 } else { 1 };
        let (num, unit) = rest.split_at(rest.len().saturating_sub(1));
        let n: i64 = num.parse().with_context(|| format!("{s:?}: expected a number before d, h or m"))?;
        let ms = match unit {
            "d" => n * 86_400_000,
            "h" => n * 3_600_000,
            "m" => n * 60_000,
            _ => bail!("{s:?}: the unit must be d, h or m"),
        };
        return Ok(now.as_millisecond() + sign * ms);
    }
    if let Ok(t) = s.parse::<jiff::Timestamp>() {
        return Ok(t.as_millisecond());
    }
    let tz = jiff::tz::TimeZone::system();
    if let Ok(dt) = s.parse::<jiff::civil::DateTime>() {
        return Ok(dt.to_zoned(tz)?.timestamp().as_millisecond());
    }
    if let Ok(d) = s.parse::<jiff::civil::Date>() {
        return Ok(d.to_zoned(tz)?.timestamp().as_millisecond());
    }
    bail!("{s:?} is not a time: use now, -7d, +12h, 2026-11-20, 2026-11-20T09:00 or RFC 3339")
}

async fn simulate(home: &Home, from: &str, to: &str, json: bool) -> Result<()> {
    let now = jiff::Timestamp::now();
    let (from, to) = (parse_when(from, now)?, parse_when(to, now)?);
    let v = api(home)?.simulate(&TimeRange { from: Some(from), to: Some(to) }).await?;
    if json {
        return print_json(&v);
    }
    if v.windows.is_empty() {
        println!("no window would open between {} and {}", time(from), time(to));
        return Ok(());
    }
    for w in &v.windows {
        println!(
            "{}  →  {}  {:>5} min  {:<9} {}",
            time(w.start),
            time(w.end),
            (w.end - w.start) / 60_000,
            w.reason.as_str(),
            w.explanation
        );
    }
    println!("{} window(s), {} minutes in all", v.windows.len(), v.open_minutes);
    Ok(())
}

/// `metaclaw pause|resume`.
pub async fn learning(home: &Home, pause: bool) -> Result<()> {
    let path = if pause { "/api/learning/pause" } else { "/api/learning/resume" };
    call(home, Method::POST, path, None).await?;
    println!("learning {}", if pause { "paused: no learning work runs until `metaclaw resume`" } else { "resumed" });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_in_every_form() {
        let now: jiff::Timestamp = "2026-11-24T12:00:00Z".parse().unwrap();
        assert_eq!(parse_when("now", now).unwrap(), now.as_millisecond());
        assert_eq!(parse_when("-7d", now).unwrap(), now.as_millisecond() - 7 * 86_400_000);
        assert_eq!(parse_when("+12h", now).unwrap(), now.as_millisecond() + 12 * 3_600_000);
        assert_eq!(parse_when("2026-11-24T12:00:00Z", now).unwrap(), now.as_millisecond());
        assert!(parse_when("2026-11-20", now).is_ok());
        assert!(parse_when("-7x", now).is_err());
        assert!(parse_when("soon", now).is_err());
    }
}
