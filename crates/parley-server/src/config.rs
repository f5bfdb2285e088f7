//! Configuration: compiled-in defaults (`config/default.toml`), then an optional file, then
//! `PARLEY_*` environment variables, then command-line flags.

use figment::{
    providers::{Env, Format, Serialized, Toml},
    Figment,
};
use serde::{Deserialize, Serialize};

pub const DEFAULTS: &str = include_str!("../config/default.toml");

/// A secret (an auth token, an API key) that never shows in logs or debug output.
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// Serializes redacted: a dumped config must not carry the secret.
impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("***")
    }
}

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
    /// The public URL carriers reach this server at (`https://parley.example.com`): status
    /// callback URLs are built from it and webhook signatures are checked against it.
    #[serde(default)]
    pub public_base_url: Option<String>,
    pub twilio: crate::carriers::twilio::config::TwilioConfig,
    pub pacing: PacingConfig,
    pub batches: BatchesConfig,
    pub webhooks: WebhooksConfig,
    /// The LLM for agent turns; no `base_url`, no model.
    pub language_model: crate::language_models::LanguageModelConfig,
    pub leases: LeasesConfig,
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
            .field("public_base_url", &self.public_base_url)
            .field("twilio", &self.twilio)
            .field("language_model", &self.language_model)
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
    /// Longest a send may trail its slot before it is re-paced instead (see default.toml).
    pub max_late_ms: i64,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct BatchesConfig {
    /// Whether this node runs the batch worker (independent of `dispatch.enabled`).
    pub enabled: bool,
    /// Directory uploaded files are stored in (created on demand).
    pub data_dir: std::path::PathBuf,
    /// Largest file `POST /v1/files/attach` accepts, in bytes.
    pub max_file_bytes: u64,
    /// Rows read and committed per transaction by the batch worker.
    pub chunk_rows: usize,
    /// How long (ms) a worker holds a batch between chunks before another may take it over.
    pub lease_ms: i64,
}

/// How long claimed work stays with the node that claimed it (`[leases]`): after a node
/// dies, the work it held waits this long before another node takes it over. Long enough
/// for the slowest honest run of the work, since a live holder past its lease loses it.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct LeasesConfig {
    /// Inactivity timers (firing is one short transaction).
    pub timers_ms: i64,
    /// Delayed jobs (sandbox delivery reports) and housekeeping.
    pub jobs_ms: i64,
    /// End-of-conversation pipelines (summary, citations, outcomes: model calls).
    pub endings_ms: i64,
    /// Agent turns hold `language_model.turn_budget_ms` plus this, for the store writes.
    pub turn_margin_ms: i64,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct SandboxConfig {
    pub delivery_delay_ms: i64,
    pub retryable_failure_rate: f64,
    pub permanent_failure_rate: f64,
    pub undelivered_rate: f64,
}

/// Customer webhook delivery (`[webhooks]`).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct WebhooksConfig {
    /// Limit (ms) for one POST, connection included.
    pub timeout_ms: u64,
    /// Retry schedule: exponential from `base_ms`, capped at `max_ms`, ±jitter;
    /// `max_attempts` in all.
    pub retry: parley_domain::retry::RetryPolicy,
    /// Networks (CIDR) that webhook URLs (customer webhooks and pathway `Webhook` nodes) may
    /// reach although they are private, loopback or link-local, e.g. `["127.0.0.0/8"]`.
    /// Empty: such addresses are refused.
    pub allowed_networks: Vec<String>,
    /// Webhooks posted at once by this node.
    pub concurrency: usize,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct IdempotencyConfig {
    pub retention_hours: i64,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct PacingConfig {
    /// Refuse new single sends (429 `RATE_LIMITED`) when the sender's queue would take
    /// longer than this to drain (s). Twilio drops what waits more than 10 hours.
    pub max_backlog_secs: i64,
    /// Shift of the daily cap's day from UTC midnight, in minutes (-480: US Pacific winter).
    pub daily_cap_utc_offset_minutes: i64,
    /// How long (ms) the send API reuses a sender's backlog before reading it again.
    pub backlog_cache_ms: i64,
    /// Default segments per second of each number type.
    pub type_mps: TypeMps,
}

impl PacingConfig {
    pub fn day_clock(&self) -> parley_domain::capacity::DayClock {
        parley_domain::capacity::DayClock {
            offset_ms: self.daily_cap_utc_offset_minutes * 60_000,
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize)]
pub struct TypeMps {
    pub long_code: f64,
    pub toll_free: f64,
    pub short_code: f64,
    pub whatsapp: f64,
}

impl TypeMps {
    pub fn of(&self, t: parley_domain::NumberType) -> f64 {
        use parley_domain::NumberType as T;
        match t {
            T::LongCode => self.long_code,
            T::TollFree => self.toll_free,
            T::ShortCode => self.short_code,
            T::Whatsapp => self.whatsapp,
        }
    }
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
        let mut cfg: Config = fig.extract()?;
        cfg.twilio.resolve_secrets()?;
        cfg.language_model.resolve_secrets()?;
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
            (0..=self.dispatch.lease_ms / 2).contains(&self.dispatch.max_late_ms),
            "dispatch.max_late_ms must be between 0 and dispatch.lease_ms / 2"
        );
        let l = &self.leases;
        anyhow::ensure!(
            [l.timers_ms, l.jobs_ms, l.endings_ms, l.turn_margin_ms]
                .iter()
                .all(|ms| *ms >= 1000),
            "leases.* must be at least 1000 (ms)"
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
        anyhow::ensure!(
            self.pacing.max_backlog_secs > 0,
            "pacing.max_backlog_secs must be positive"
        );
        let t = &self.pacing.type_mps;
        anyhow::ensure!(
            [t.long_code, t.toll_free, t.short_code, t.whatsapp]
                .iter()
                .all(|m| m.is_finite() && *m > 0.0),
            "pacing.type_mps values must be positive"
        );
        // An attempt may look a message up and then send it: two Twilio calls inside the
        // lease with room to spare. Irrelevant without a Twilio account.
        anyhow::ensure!(
            self.twilio.accounts.is_empty()
                || i64::try_from(self.twilio.request_timeout_ms)
                    .is_ok_and(|t| t.saturating_mul(4) <= self.dispatch.lease_ms),
            "twilio.request_timeout_ms must be at most dispatch.lease_ms / 4"
        );
        if let Some(url) = &self.public_base_url {
            anyhow::ensure!(
                url.is_empty() || url.starts_with("https://") || url.starts_with("http://"),
                "public_base_url must be an http:// or https:// URL"
            );
        }
        if !self.twilio.accounts.is_empty()
            && self.public_base_url.as_deref().unwrap_or("").is_empty()
        {
            tracing::warn!("Twilio accounts are configured but public_base_url is not: messages will get no status callbacks");
        }
        anyhow::ensure!(
            (1..=50_000).contains(&self.batches.chunk_rows),
            "batches.chunk_rows must be between 1 and 50000"
        );
        anyhow::ensure!(
            self.batches.lease_ms >= 1000,
            "batches.lease_ms must be at least 1000"
        );
        anyhow::ensure!(
            self.webhooks.retry.max_attempts >= 1 && self.webhooks.concurrency >= 1,
            "webhooks.retry.max_attempts and webhooks.concurrency must be at least 1"
        );
        for net in &self.webhooks.allowed_networks {
            crate::webhooks::guard::Network::parse(net)
                .map_err(|e| anyhow::anyhow!("webhooks.allowed_networks: {e}"))?;
        }
        self.language_model.validate()?;
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
