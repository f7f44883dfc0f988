//! OMLS, the opportunistic meta-learning scheduler: decides when expensive learning work may
//! run — only while the user is away (asleep, idle, or as their habits predict) — and says why.

pub mod activity;
pub mod decide;
pub mod sleep;

pub use activity::ActivityModel;
pub use decide::{decide, Decision, Inputs, Reason};
pub use sleep::{SleepHours, Window};
