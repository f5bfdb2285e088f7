//! The Parley server: HTTP API, workers, carriers and the operator CLI, in one binary.
#![forbid(unsafe_code)]

pub mod api;
pub mod app;
pub mod carriers;
pub mod cli;
pub mod config;
pub mod workers;

pub use app::{App, AppState};
pub use config::Config;
