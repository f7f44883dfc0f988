//! The admin API's request and response types, one module per resource, and the test that keeps
//! the UI's generated TypeScript copies of them (`ui/src/api/generated/<resource>.ts`) fresh.
//!
//! How to add a type: derive `Serialize, Deserialize` and, for test builds only,
//! `#[cfg_attr(test, derive(ts_rs::TS))]` (ts-rs reads the serde attributes, so the TS matches the
//! JSON); list it in its resource's `typescript` function; run the command in [`REGENERATE`].
//! Domain types that appear in answers (e.g. `skills::Injected`) get the same derive where they
//! are defined and are listed by the first resource that uses them. Type names are unique across
//! resources: the UI imports them all from one place.

pub mod calendars;
pub mod connect;
pub mod curate;
pub mod health;
pub mod learning;
pub mod scheduler;
pub mod settings;
pub mod setup;
pub mod skills;
pub mod stats;
pub mod status;
pub mod train;

pub use status::*;

/// The one command that rewrites `ui/src/api/generated/` from these types.
pub const REGENERATE: &str = "METACLAW_WRITE_TS=1 cargo test --lib api::types";

/// What every admin API error looks like: `{"error": {"code", "message", "problems"?}}`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// The inside of [`ErrorBody`].
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ErrorDetail {
    pub code: ErrorCode,
    /// Plain words for the user.
    pub message: String,
    /// What is wrong with a skill (only with `invalid`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub problems: Option<Vec<crate::skills::Problem>>,
}

/// What went wrong, for callers to branch on (the HTTP status says it too).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    Unauthorized,
    Forbidden,
    NotFound,
    BadRequest,
    Conflict,
    Invalid,
    Unavailable,
    RequestTimeout,
    TooLarge,
    KeyringUnavailable,
    StoreError,
}

impl ErrorCode {
    /// The code's wire form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::NotFound => "not_found",
            Self::BadRequest => "bad_request",
            Self::Conflict => "conflict",
            Self::Invalid => "invalid",
            Self::Unavailable => "unavailable",
            Self::RequestTimeout => "request_timeout",
            Self::TooLarge => "too_large",
            Self::KeyringUnavailable => "keyring_unavailable",
            Self::StoreError => "store_error",
        }
    }
}

#[cfg(test)]
pub(crate) mod ts;

#[cfg(test)]
mod tests {
    use super::ts::File;

    /// Every generated file: its name under `ui/src/api/generated/` and what goes in it.
    fn files() -> Vec<File> {
        let mut error = File::new("error");
        error.add::<super::ErrorBody>();
        error.add::<super::ErrorDetail>();
        error.add::<super::ErrorCode>();
        error.add::<crate::skills::Problem>();
        let mut status = File::new("status");
        super::status::typescript(&mut status);
        let mut learning = File::new("learning");
        super::learning::typescript(&mut learning);
        let mut skills = File::new("skills");
        super::skills::typescript(&mut skills);
        let mut scheduler = File::new("scheduler");
        super::scheduler::typescript(&mut scheduler);
        let mut calendars = File::new("calendars");
        super::calendars::typescript(&mut calendars);
        let mut settings = File::new("settings");
        super::settings::typescript(&mut settings);
        let mut train = File::new("train");
        super::train::typescript(&mut train);
        let mut connect = File::new("connect");
        super::connect::typescript(&mut connect);
        let mut health = File::new("health");
        super::health::typescript(&mut health);
        let mut curate = File::new("curate");
        super::curate::typescript(&mut curate);
        let mut setup = File::new("setup");
        super::setup::typescript(&mut setup);
        let mut stats = File::new("stats");
        super::stats::typescript(&mut stats);
        vec![
            error, status, learning, skills, scheduler, calendars, settings, train, connect, setup, health, stats,
            curate,
        ]
    }

    #[test]
    fn the_generated_typescript_types_match_the_rust_api_types() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("ui/src/api/generated");
        let stale = super::ts::check(&dir, files(), std::env::var_os("METACLAW_WRITE_TS").is_some());
        assert!(
            stale.is_empty(),
            "the TypeScript API types in ui/src/api/generated/ are stale ({}); regenerate them with:\n\n    {}\n",
            stale.join(", "),
            super::REGENERATE
        );
    }

    #[test]
    fn error_codes_have_the_wire_form_of_their_serde_name() {
        use super::ErrorCode::*;
        for c in [
            Unauthorized,
            Forbidden,
            NotFound,
            BadRequest,
            Conflict,
            Invalid,
            Unavailable,
            RequestTimeout,
            TooLarge,
            KeyringUnavailable,
            StoreError,
        ] {
            assert_eq!(serde_json::to_value(c).unwrap(), c.as_str());
        }
    }
}
