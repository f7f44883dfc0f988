//! MetaClaw-Bench: check a dataset in the upstream benchmark's format, run it against an agent
//! whose model provider is an in-process MetaClaw engine, and report accuracy per day and mode.
//!
//! One job per file: [`dataset`] reads and validates the data, [`score`] scores a round and
//! writes its feedback, [`agent`] drives the agent under test, [`setup`] builds each mode's
//! engine and its learning step between days, [`results`] reads and writes round files, [`run`]
//! runs the days in order and [`report`] writes `report.json` and `report.html`.

pub mod agent;
pub mod dataset;
pub mod report;
pub mod results;
pub mod run;
pub mod score;
pub mod setup;

pub use dataset::{Dataset, Problem};

/// Why a bench command could not do its work (a dataset's own problems are [`Problem`]s).
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// The dataset has problems; each names its file and round.
    #[error("the dataset has {} problem(s):\n{}", .0.len(), .0.iter().map(|p| format!("  {p}")).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<Problem>),
    #[error("{what} {}: {source}", .path.display())]
    Io { what: &'static str, path: std::path::PathBuf, source: std::io::Error },
    /// A plain-words refusal (bad options, nothing to report, a mode that can't run here).
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Engine(#[from] crate::engine::EngineError),
    #[error(transparent)]
    Api(#[from] crate::api::client::ClientError),
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
}

impl BenchError {
    pub(crate) fn io<'a>(what: &'static str, path: &'a std::path::Path) -> impl FnOnce(std::io::Error) -> Self + 'a {
        move |source| Self::Io { what, path: path.to_path_buf(), source }
    }
}
