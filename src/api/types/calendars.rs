//! The `calendars` resource: accounts (ICS addresses and files, CalDAV, Google and Microsoft
//! sign-ins), the calendars ticked in each, testing, and the busy blocks (`/api/calendars/*`).

use serde::{Deserialize, Serialize};

pub use crate::calendar::oauth::Provider as SignInProvider;
pub use crate::calendar::signin::{FlowState as SignInState, FlowStatus as SignInStatus, Started as SignInStart};
pub use crate::calendar::{
    Account as CalendarAccount, Busy as BusyBlock, CalendarEntry, Kind as CalendarKind, NewAccount as CalendarAdd,
    State as CalendarState, TestReport as CalendarTest,
};

/// `PATCH /api/calendars/{id}`: rename, or switch the account on or off.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct CalendarPatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub enabled: Option<bool>,
}

/// `PATCH /api/calendars/{id}/calendars/{cid}`: whether one calendar of an account counts as busy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct CalendarEntryPatch {
    pub included: bool,
}

/// `POST /api/calendars/signin`: start a Google or Microsoft sign-in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct SignInArg {
    pub provider: SignInProvider,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub name: Option<String>,
}

#[cfg(test)]
pub(crate) fn typescript(f: &mut super::ts::File) {
    f.add::<CalendarAccount>();
    f.add::<CalendarKind>();
    f.add::<CalendarState>();
    f.add::<CalendarEntry>();
    f.add::<CalendarAdd>();
    f.add::<CalendarPatch>();
    f.add::<CalendarEntryPatch>();
    f.add::<CalendarTest>();
    f.add::<BusyBlock>();
    f.add::<SignInProvider>();
    f.add::<SignInArg>();
    f.add::<SignInStart>();
    f.add::<SignInState>();
    f.add::<SignInStatus>();
}
