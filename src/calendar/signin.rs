//! Google and Microsoft sign-in flows, kept in memory: a flow starts a loopback listener and
//! hands out the URL to open in the browser, waits (at most ten minutes) for the browser's
//! answer, and adds the account. Callers poll it by id or cancel it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::oauth::{self, Provider};
use super::{Account, CalendarError, Calendars};

/// Longest a sign-in waits for the browser.
pub const TIMEOUT: Duration = Duration::from_secs(600);
/// Flows waiting at once; more are refused until one ends.
const MAX_WAITING: usize = 8;
/// Flows kept at once, waiting or finished.
const MAX_FLOWS: usize = 64;
/// How long a finished flow's outcome stays to be read.
const KEEP_FINISHED: Duration = Duration::from_secs(600);

/// Where a sign-in stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[cfg_attr(test, ts(rename = "SignInState"))]
#[serde(rename_all = "snake_case")]
pub enum FlowState {
    /// The browser has not come back yet.
    Waiting,
    /// Signed in: the account is added.
    Done,
    Failed,
}

/// Where a sign-in stands, as `GET /api/calendars/signin/{flow}` answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[cfg_attr(test, ts(rename = "SignInStatus"))]
pub struct FlowStatus {
    pub state: FlowState,
    pub account: Option<Account>,
    pub error: Option<String>,
}

/// A sign-in just started: its id and the URL to open.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[cfg_attr(test, ts(rename = "SignInStart"))]
pub struct Started {
    pub flow: String,
    pub url: String,
}

enum Outcome {
    Waiting,
    Done(i64),
    Failed(String),
}

struct Flow {
    outcome: Outcome,
    task: Option<tokio::task::AbortHandle>,
    finished: Option<Instant>,
}

/// The flows under way and recently finished.
#[derive(Default)]
pub struct Flows {
    map: Mutex<HashMap<String, Flow>>,
}

fn flow_id() -> String {
    let mut b = [0u8; 16];
    // A clash is harmless (the id is checked); a failing OS generator gives a time-based id.
    if getrandom::fill(&mut b).is_err() {
        b[..16].copy_from_slice(&crate::clock::now_ms().to_le_bytes().repeat(2));
    }
    b.iter().map(|x| format!("{x:02x}")).collect()
}

impl Flows {
    fn finish(&self, id: &str, outcome: Outcome) {
        if let Some(f) = self.map.lock().expect("sign-in flows").get_mut(id) {
            f.outcome = outcome;
            f.task = None;
            f.finished = Some(Instant::now());
        }
    }

    /// Cancels every flow.
    pub fn cancel_all(&self) {
        for (_, f) in self.map.lock().unwrap_or_else(|p| p.into_inner()).drain() {
            if let Some(t) = f.task {
                t.abort();
            }
        }
    }
}

impl Drop for Flows {
    /// A sign-in never outlives its engine: its listener closes.
    fn drop(&mut self) {
        self.cancel_all();
    }
}

impl Calendars {
    /// Starts signing in with Google or Microsoft: the URL to open in the browser, and the
    /// flow's id to poll.
    pub async fn start_signin(self: &Arc<Self>, p: Provider, name: Option<String>) -> Result<Started, CalendarError> {
        let ep = self.endpoints(p)?;
        {
            let mut map = self.flows.map.lock().expect("sign-in flows");
            map.retain(|_, f| f.finished.is_none_or(|t| t.elapsed() < KEEP_FINISHED));
            if map.len() >= MAX_FLOWS || map.values().filter(|f| f.task.is_some()).count() >= MAX_WAITING {
                return Err(CalendarError::BadRequest(
                    "too many sign-ins are waiting for the browser: finish or cancel one first".into(),
                ));
            }
        }
        let signin = oauth::start(p, &ep).await?;
        let url = signin.url.clone();
        let id = flow_id();
        let me: Weak<Self> = Arc::downgrade(self);
        let flow = id.clone();
        // Registered before the task runs, so its outcome always finds the flow.
        let mut map = self.flows.map.lock().expect("sign-in flows");
        let task = tokio::spawn(async move {
            let result = signin.finish(TIMEOUT).await;
            let Some(me) = me.upgrade() else { return };
            let outcome = match result {
                Ok(tokens) => match me.add_provider(p, tokens, name).await {
                    Ok(a) => Outcome::Done(a.id),
                    Err(e) => Outcome::Failed(e.to_string()),
                },
                Err(e) => Outcome::Failed(CalendarError::from(e).to_string()),
            };
            me.flows.finish(&flow, outcome);
        });
        map.insert(id.clone(), Flow { outcome: Outcome::Waiting, task: Some(task.abort_handle()), finished: None });
        Ok(Started { flow: id, url })
    }

    /// Where a sign-in stands.
    pub async fn signin_status(&self, flow: &str) -> Result<FlowStatus, CalendarError> {
        let outcome = match self.flows.map.lock().expect("sign-in flows").get(flow) {
            None => return Err(CalendarError::NoFlow),
            Some(f) => match &f.outcome {
                Outcome::Waiting => None,
                Outcome::Done(id) => Some(Ok(*id)),
                Outcome::Failed(e) => Some(Err(e.clone())),
            },
        };
        Ok(match outcome {
            None => FlowStatus { state: FlowState::Waiting, account: None, error: None },
            Some(Ok(id)) => FlowStatus { state: FlowState::Done, account: Some(self.get(id).await?), error: None },
            Some(Err(e)) => FlowStatus { state: FlowState::Failed, account: None, error: Some(e) },
        })
    }

    /// Cancels a sign-in (its listener closes). `false`: no such flow.
    pub fn cancel_signin(&self, flow: &str) -> bool {
        match self.flows.map.lock().expect("sign-in flows").remove(flow) {
            Some(f) => {
                if let Some(t) = f.task {
                    t.abort();
                }
                true
            }
            None => false,
        }
    }
}
