//! MetaClaw's engine: a local proxy between an agent and its LLM that records every turn and
//! makes the agent learn from them. It knows nothing of any desktop shell; `metaclaw serve` and
//! the tray app both drive it through [`engine::Engine`].

pub mod agent;
pub mod api;
pub mod bench;
pub mod calendar;
pub mod clock;
pub mod config;
pub mod connect;
pub mod curate;
pub mod dataset;
pub mod effect;
pub mod engine;
pub mod envelope;
pub mod events;
pub mod evolve;
pub mod fields;
pub mod health;
pub mod home;
pub mod judge;
pub mod log;
pub mod metrics;
pub mod proxy;
pub mod scheduler;
pub mod secrets;
pub mod session;
pub mod skills;
pub mod store;
pub mod train;
pub mod transcript;
pub mod translate;
pub mod turn;
pub mod upstream;
