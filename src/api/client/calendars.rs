//! Client methods of the `calendars` resource: accounts, their calendars, tests, sign-ins and
//! busy blocks.

use reqwest::Method;

use super::{Client, ClientError};
use crate::api::types::calendars::{
    BusyBlock, CalendarAccount, CalendarAdd, CalendarEntryPatch, CalendarPatch, CalendarTest, SignInArg, SignInStart,
    SignInStatus,
};
use crate::api::types::scheduler::TimeRange;

impl Client {
    /// `GET /api/calendars`.
    pub async fn calendars(&self) -> Result<Vec<CalendarAccount>, ClientError> {
        self.get("/api/calendars").await
    }

    /// `GET /api/calendars/{id}`.
    pub async fn calendar(&self, id: i64) -> Result<CalendarAccount, ClientError> {
        self.get(&format!("/api/calendars/{id}")).await
    }

    /// `POST /api/calendars`: an ICS address or file, or a CalDAV account (listed and synced).
    pub async fn add_calendar(&self, add: &CalendarAdd) -> Result<CalendarAccount, ClientError> {
        self.post("/api/calendars", add).await
    }

    /// `PATCH /api/calendars/{id}`: rename, enable or disable.
    pub async fn update_calendar(&self, id: i64, patch: &CalendarPatch) -> Result<CalendarAccount, ClientError> {
        self.patch(&format!("/api/calendars/{id}"), patch).await
    }

    /// `PATCH /api/calendars/{id}/calendars/{cid}`: tick or untick one calendar of an account.
    pub async fn include_calendar(&self, id: i64, cid: i64, included: bool) -> Result<CalendarAccount, ClientError> {
        self.patch(&format!("/api/calendars/{id}/calendars/{cid}"), &CalendarEntryPatch { included }).await
    }

    /// `DELETE /api/calendars/{id}`: also forgets its secrets (and revokes a Google grant).
    pub async fn remove_calendar(&self, id: i64) -> Result<(), ClientError> {
        self.delete(&format!("/api/calendars/{id}")).await
    }

    /// `POST /api/calendars/{id}/test`: syncs now and says how it went.
    pub async fn test_calendar(&self, id: i64) -> Result<CalendarTest, ClientError> {
        self.call(Method::POST, &format!("/api/calendars/{id}/test"), None::<&()>).await
    }

    /// `GET /api/calendars/busy?from&to`: busy blocks (default: the coming week).
    pub async fn busy(&self, period: &TimeRange) -> Result<Vec<BusyBlock>, ClientError> {
        self.get_query("/api/calendars/busy", period).await
    }

    /// `POST /api/calendars/signin`: open the answer's `url`, then poll [`Self::signin_status`].
    pub async fn start_signin(&self, arg: &SignInArg) -> Result<SignInStart, ClientError> {
        self.post("/api/calendars/signin", arg).await
    }

    /// `GET /api/calendars/signin/{flow}`.
    pub async fn signin_status(&self, flow: &str) -> Result<SignInStatus, ClientError> {
        self.get(&format!("/api/calendars/signin/{flow}")).await
    }

    /// `DELETE /api/calendars/signin/{flow}`.
    pub async fn cancel_signin(&self, flow: &str) -> Result<(), ClientError> {
        self.delete(&format!("/api/calendars/signin/{flow}")).await
    }
}
