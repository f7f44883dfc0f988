//! OMLS, the opportunistic meta-learning scheduler: decides when expensive learning work may
//! run — only while the user is away (asleep, idle, in a meeting, or as their habits predict) —
//! says why, and runs the registered jobs in those windows, yielding within seconds when the
//! user returns.

pub mod activity;
pub mod decide;
pub mod jobs;
pub mod runner;
pub mod signals;
pub mod simulate;
pub mod sleep;
#[cfg(target_os = "linux")]
pub mod x11;

pub use activity::ActivityModel;
pub use decide::{decide, Decision, Inputs, Reason};
pub use runner::{Job, JobCtx, Outcome, Scheduler};
pub use sleep::{SleepHours, Window};
