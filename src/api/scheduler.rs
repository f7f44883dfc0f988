//! Admin API for the scheduler: its state and why, and simulated windows over a period. Pausing
//! learning is in [`super::learning`], calendar accounts in [`super::calendars`].

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};

use super::types::scheduler::{SchedulerStatus, Simulation, TimeRange};
use super::{ApiError, ApiState};
use crate::scheduler::simulate::{self, MAX_DAYS};

pub fn routes() -> Router<Arc<ApiState>> {
    Router::new().route("/api/scheduler", get(status)).route("/api/scheduler/simulate", get(simulate))
}

/// `GET /api/scheduler`: the scheduler's state, the decision and its reason, every signal, the jobs
/// and their last runs, and the learned weekly activity profile.
async fn status(State(st): State<Arc<ApiState>>) -> Result<Json<SchedulerStatus>, ApiError> {
    if let Some(s) = st.scheduler.fresh_status() {
        return Ok(Json(s));
    }
    // The first sample is still being taken, or the last one predates the latest request: take
    // one now.
    st.scheduler.poke();
    for _ in 0..100 {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        if let Some(s) = st.scheduler.fresh_status() {
            return Ok(Json(s));
        }
    }
    if let Some(s) = st.scheduler.status() {
        return Ok(Json(s));
    }
    Err(ApiError::Unavailable("the scheduler has not taken its first sample yet; try again".into()))
}

/// How far from now a queried period may lie, either way: ten years.
const MAX_DISTANCE_MS: i64 = 3_653 * 86_400_000;

/// Checks a queried period: `from` before `to`, at most [`MAX_DAYS`] long, within ten years of
/// `now`. Arithmetic is checked: any `i64` is answered with a 400, never a panic or a wrap.
pub(super) fn range(r: &TimeRange, now: i64, default_from: i64, default_to: i64) -> Result<(i64, i64), ApiError> {
    let (from, to) = (r.from.unwrap_or(default_from), r.to.unwrap_or(default_to));
    if to <= from {
        return Err(ApiError::BadRequest("`to` must be after `from` (both ms since the epoch)".into()));
    }
    if to.checked_sub(from).is_none_or(|len| len > MAX_DAYS * 86_400_000) {
        return Err(ApiError::BadRequest(format!("the period is longer than {MAX_DAYS} days")));
    }
    let near = |t: i64| t.checked_sub(now).is_some_and(|d| d.abs() <= MAX_DISTANCE_MS);
    if !near(from) || !near(to) {
        return Err(ApiError::BadRequest("the period must lie within ten years of now".into()));
    }
    Ok((from, to))
}

/// `GET /api/scheduler/simulate?from=&to=`: the windows that would have opened (past: from the
/// recorded turns; future: from the learned activity), with calendars and sleep hours.
async fn simulate(State(st): State<Arc<ApiState>>, Query(r): Query<TimeRange>) -> Result<Json<Simulation>, ApiError> {
    let now = crate::clock::now_ms();
    let (from, to) = range(&r, now, now - 7 * 86_400_000, now)?;
    let cfg = st.scheduler.config().clone();
    let tz = cfg.time_zone().map_err(ApiError::BadRequest)?;
    let sleep = cfg.sleep_hours().map_err(ApiError::BadRequest)?;
    let history_from = from.min(now) - i64::from(cfg.activity_weeks.max(1)) * 7 * 86_400_000;
    let turns: Vec<i64> = st.store.read(move |c| crate::store::turns::started_since(c, history_from, false)).await?;
    let ts = |ms: i64| jiff::Timestamp::from_millisecond(ms).map_err(|e| ApiError::BadRequest(e.to_string()));
    let now_z = ts(now)?.to_zoned(tz.clone());
    let events: Vec<jiff::Timestamp> =
        turns.iter().filter_map(|t| jiff::Timestamp::from_millisecond(*t).ok()).collect();
    let activity = crate::scheduler::ActivityModel::learn(&events, &now_z, cfg.activity_weeks, tz.clone());
    let meetings = st.calendars.busy_intervals_blocking(from - 86_400_000, to + 86_400_000).await;
    let windows = simulate::simulate(&simulate::Period {
        from: ts(from)?,
        to: ts(to)?,
        now: ts(now)?,
        tz,
        turns: &turns,
        meetings: &meetings,
        sleep: &sleep,
        activity: &activity,
        idle_minutes: cfg.idle_minutes,
        min_window_minutes: cfg.min_window_minutes,
    });
    let open_minutes = windows.iter().map(|w| (w.end - w.start) / 60_000).sum();
    Ok(Json(Simulation { from, to, step_minutes: simulate::STEP_MINUTES, windows, open_minutes }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_checked_without_overflow_and_within_ten_years() {
        let now = 1_796_542_169_000;
        let q = |from: i64, to: i64| range(&TimeRange { from: Some(from), to: Some(to) }, now, 0, 0);
        assert!(q(now, now + 86_400_000).is_ok());
        // `to - from` overflows i64: refused, not a panic or a wrapped "short" period.
        assert!(q(i64::MIN, i64::MAX).is_err());
        assert!(q(-5, i64::MAX).is_err());
        // Year 9000 is far beyond ten years.
        let y9000 = 221_845_392_000_000;
        assert!(q(y9000, y9000 + 86_400_000).is_err());
        assert!(q(now - 20 * 365 * 86_400_000, now - 20 * 365 * 86_400_000 + 86_400_000).is_err());
        assert!(q(now + 86_400_000, now).is_err());
    }
}
