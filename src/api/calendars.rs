//! Admin API for calendar accounts: ICS addresses and files, CalDAV accounts, Google and
//! Microsoft sign-ins, the calendars ticked in each, syncing now, and the busy blocks.

use std::sync::Arc;

use super::scheduler::range;
use super::types::calendars::{CalendarEntryPatch, CalendarPatch, SignInArg};
use super::types::scheduler::TimeRange;
use super::{ApiError, ApiState};
use crate::calendar::signin::{FlowStatus, Started};
use crate::calendar::{Account, Busy, CalendarError, NewAccount, TestReport};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, patch, post};
use axum::{Json, Router};

pub fn routes() -> Router<Arc<ApiState>> {
    Router::new()
        .route("/api/calendars", get(list).post(add))
        .route("/api/calendars/busy", get(busy))
        .route("/api/calendars/signin", post(signin))
        .route("/api/calendars/signin/{flow}", get(signin_status).delete(signin_cancel))
        .route("/api/calendars/{id}", get(show).patch(update).delete(remove))
        .route("/api/calendars/{id}/test", post(test))
        .route("/api/calendars/{id}/calendars/{cid}", patch(include))
}

impl From<CalendarError> for ApiError {
    fn from(e: CalendarError) -> Self {
        match e {
            CalendarError::NotFound(_) | CalendarError::NoEntry(..) | CalendarError::NoFlow => {
                ApiError::NotFound(e.to_string())
            }
            CalendarError::Store(s) => ApiError::Store(s),
            CalendarError::Secret(_) => ApiError::KeyringUnavailable(e.to_string()),
            _ => ApiError::BadRequest(e.to_string()),
        }
    }
}

async fn list(State(st): State<Arc<ApiState>>) -> Result<Json<Vec<Account>>, ApiError> {
    Ok(Json(st.calendars.list().await?))
}

async fn show(State(st): State<Arc<ApiState>>, Path(id): Path<i64>) -> Result<Json<Account>, ApiError> {
    Ok(Json(st.calendars.get(id).await?))
}

/// `POST /api/calendars`: `{source, name?, owner?}` (an ICS address or file) or
/// `{kind: "caldav", server, user, password, name?}`.
async fn add(
    State(st): State<Arc<ApiState>>,
    Json(new): Json<NewAccount>,
) -> Result<(StatusCode, Json<Account>), ApiError> {
    let a = st.calendars.add(new).await?;
    st.scheduler.poke();
    Ok((StatusCode::CREATED, Json(a)))
}

async fn update(
    State(st): State<Arc<ApiState>>,
    Path(id): Path<i64>,
    Json(u): Json<CalendarPatch>,
) -> Result<Json<Account>, ApiError> {
    let a = st.calendars.update(id, u.name, u.enabled).await?;
    st.scheduler.poke();
    Ok(Json(a))
}

/// `PATCH /api/calendars/{id}/calendars/{cid}` `{included}`: tick or untick one calendar.
async fn include(
    State(st): State<Arc<ApiState>>,
    Path((id, cid)): Path<(i64, i64)>,
    Json(b): Json<CalendarEntryPatch>,
) -> Result<Json<Account>, ApiError> {
    let a = st.calendars.set_included(id, cid, b.included).await?;
    st.scheduler.poke();
    Ok(Json(a))
}

async fn remove(State(st): State<Arc<ApiState>>, Path(id): Path<i64>) -> Result<StatusCode, ApiError> {
    st.calendars.remove(id).await?;
    st.scheduler.poke();
    Ok(StatusCode::NO_CONTENT)
}

async fn test(State(st): State<Arc<ApiState>>, Path(id): Path<i64>) -> Result<Json<TestReport>, ApiError> {
    let r = st.calendars.test(id).await?;
    st.scheduler.poke();
    Ok(Json(r))
}

/// `POST /api/calendars/signin` `{provider, name?}` → `{flow, url}`: open `url` in the browser,
/// then poll the flow.
async fn signin(State(st): State<Arc<ApiState>>, Json(b): Json<SignInArg>) -> Result<Json<Started>, ApiError> {
    Ok(Json(st.calendars.start_signin(b.provider, b.name).await?))
}

async fn signin_status(
    State(st): State<Arc<ApiState>>,
    Path(flow): Path<String>,
) -> Result<Json<FlowStatus>, ApiError> {
    let s = st.calendars.signin_status(&flow).await?;
    if s.account.is_some() {
        st.scheduler.poke();
    }
    Ok(Json(s))
}

async fn signin_cancel(State(st): State<Arc<ApiState>>, Path(flow): Path<String>) -> Result<StatusCode, ApiError> {
    if st.calendars.cancel_signin(&flow) {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(CalendarError::NoFlow.into())
    }
}

/// `GET /api/calendars/busy?from=&to=`: busy blocks of the enabled accounts' ticked calendars
/// (default: the coming week).
async fn busy(State(st): State<Arc<ApiState>>, Query(r): Query<TimeRange>) -> Result<Json<Vec<Busy>>, ApiError> {
    let now = crate::clock::now_ms();
    let (from, to) = range(&r, now, now, now + 7 * 86_400_000)?;
    Ok(Json(st.calendars.busy_blocking(from, to).await))
}
