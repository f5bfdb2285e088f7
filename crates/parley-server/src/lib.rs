//! The Parley server: HTTP API, workers, carriers and the operator CLI, in one binary.
#![forbid(unsafe_code)]

pub mod api;
pub mod app;
pub mod batches;
pub mod carriers;
pub mod citations;
pub mod cli;
mod cli_batch;
mod cli_numbers;
pub mod config;
pub mod dispositions;
pub mod endings;
pub mod hooks;
pub mod language_models;
pub mod turns;
pub mod wakeups;
pub mod webhooks;
pub mod workers;

pub use app::{App, AppState};
pub use config::Config;
