//! Configuration: compiled-in defaults (`config/default.toml`), then an optional file, then
//! `PARLEY_*` environment variables, then command-line flags.

use figment::{
    providers::{Env, Format, Serialized, Toml},
    Figment,
};
use serde::{Deserialize, Serialize};

pub const DEFAULTS: &str = include_str!("../config/default.toml");

#[derive(Clone, Deserialize, Serialize)]
pub struct Config {
    pub listen: String,
    pub database_url: String,
    pub sandbox_number: String,
    /// Bootstrap key for the `default` org. Never logged.
    pub api_key: Option<String>,
    pub database: DatabaseConfig,
    pub http: HttpConfig,
    pub dispatch: DispatchConfig,
    pub retry: parley_domain::retry::RetryPolicy,
    pub sandbox: SandboxConfig,
    pub idempotency: IdempotencyConfig,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field(
                "database_url",
                &parley_store::redact_database_url(&self.database_url),
            )
            .field("api_key", &self.api_key.as_ref().map(|_| "***"))
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct DatabaseConfig {
    pub max_connections: u32,
    pub acquire_timeout_secs: u64,
    pub sqlite_synchronous: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct HttpConfig {
    pub max_body_bytes: usize,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct DispatchConfig {
    pub enabled: bool,
    pub horizon_ms: i64,
    pub lease_ms: i64,
    pub max_per_sender: i64,
    pub poll_interval_ms: u64,
    pub min_claim_interval_ms: u64,
    pub concurrency: usize,
    pub default_mps: f64,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct SandboxConfig {
    pub delivery_delay_ms: i64,
    pub retryable_failure_rate: f64,
    pub permanent_failure_rate: f64,
    pub undelivered_rate: f64,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct IdempotencyConfig {
    pub retention_hours: i64,
}

/// Command-line values that override everything else when given.
#[derive(Debug, Default, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
}

impl Config {
    pub fn load(file: Option<&std::path::Path>, overrides: &Overrides) -> anyhow::Result<Self> {
        let mut fig = Figment::from(Toml::string(DEFAULTS));
        if let Some(path) = file {
            anyhow::ensure!(
                path.exists(),
                "config file {} does not exist",
                path.display()
            );
            fig = fig.merge(Toml::file(path));
        }
        let fig = fig
            .merge(Env::prefixed("PARLEY_").split("__"))
            .merge(Serialized::defaults(overrides));
        let cfg: Config = fig.extract()?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// The defaults alone, for tests.
    pub fn defaults() -> Self {
        Figment::from(Toml::string(DEFAULTS))
            .extract()
            .expect("default.toml is valid")
    }

    fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.idempotency.retention_hours >= 24,
            "idempotency.retention_hours must be at least 24"
        );
        anyhow::ensure!(
            self.dispatch.lease_ms >= 1000,
            "dispatch.lease_ms must be at least 1000"
        );
        anyhow::ensure!(
            self.dispatch.default_mps > 0.0,
            "dispatch.default_mps must be positive"
        );
        anyhow::ensure!(
            self.retry.max_attempts >= 1,
            "retry.max_attempts must be at least 1"
        );
        for (name, rate) in [
            (
                "sandbox.retryable_failure_rate",
                self.sandbox.retryable_failure_rate,
            ),
            (
                "sandbox.permanent_failure_rate",
                self.sandbox.permanent_failure_rate,
            ),
            ("sandbox.undelivered_rate", self.sandbox.undelivered_rate),
        ] {
            anyhow::ensure!(
                (0.0..=1.0).contains(&rate),
                "{name} must be between 0 and 1"
            );
        }
        parley_domain::PhoneNumber::parse(&self.sandbox_number)
            .map_err(|e| anyhow::anyhow!("sandbox_number {}: {e}", self.sandbox_number))?;
        Ok(())
    }

    pub fn store_options(&self) -> parley_store::StoreOptions {
        parley_store::StoreOptions {
            max_connections: self.database.max_connections,
            acquire_timeout: std::time::Duration::from_secs(self.database.acquire_timeout_secs),
            sqlite_synchronous: self.database.sqlite_synchronous.clone(),
        }
    }
}
