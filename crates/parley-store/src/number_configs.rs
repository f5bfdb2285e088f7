//! Numbers' per-channel messaging configs (Bland's `sms_config`, `whatsapp_config`,
//! iMessage config) and the number-wide human mode.
//!
//! A config is stored as the JSON of what was set. An update is a read-merge-write, so it
//! runs in one write transaction holding the number's row (PostgreSQL locks it; SQLite has
//! a single writer): two concurrent partial updates both land, neither overwrites the other.

use parley_domain::{
    number_config::{NumberConfig, NumberConfigPatch},
    timeouts::TimeoutError,
};
use sqlx::{any::AnyRow, Row};

use crate::{Result, Store, StoreError};

#[derive(Debug, Clone, PartialEq)]
pub enum ConfigUpdate {
    /// The merged, stored config.
    Updated(Box<NumberConfig>),
    /// The org has no such number (it may belong to another org).
    NumberNotFound,
    /// The merged config breaks the timeout rule; nothing was written.
    Invalid(TimeoutError),
}

/// A number as `GET /v1/sms/numbers` shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct NumberOverview {
    pub id: i64,
    pub phone_number: String,
    /// The number's own channel (what a send uses when it names none).
    pub channel: String,
    pub human_mode: bool,
    /// The config for the channel asked for.
    pub config: NumberConfig,
    /// Conversations on this number, active or not, on every channel.
    pub conversation_count: i64,
}

pub(crate) fn decode_config(text: Option<String>) -> Result<NumberConfig> {
    match text {
        None => Ok(NumberConfig::default()),
        Some(t) => serde_json::from_str(&t)
            .map_err(|e| StoreError::Corrupt(format!("number config is not valid JSON: {e}"))),
    }
}

impl Store {
    /// Decodes a config as [`Store::number_for_send`] returns it.
    pub fn decode_number_config(text: Option<String>) -> Result<NumberConfig> {
        decode_config(text)
    }

    /// A number's config for one channel; the defaults when none was ever set.
    pub async fn number_config(&self, number_id: i64, channel: &str) -> Result<NumberConfig> {
        let row =
            sqlx::query("SELECT config FROM number_configs WHERE number_id = $1 AND channel = $2")
                .bind(number_id)
                .bind(channel)
                .fetch_optional(&self.reader)
                .await?;
        decode_config(row.map(|r| r.try_get("config")).transpose()?)
    }

    /// Merges `patch` over the stored config of one of the org's numbers for `channel`,
    /// validates the result and stores it, all or nothing.
    pub async fn update_number_config(
        &self,
        org_id: &str,
        phone_number: &str,
        channel: &str,
        patch: NumberConfigPatch,
        now: i64,
    ) -> Result<ConfigUpdate> {
        let mut tx = self.writer.begin().await?;
        let sql = format!(
            "SELECT id FROM numbers WHERE org_id = $1 AND phone_number = $2{}",
            self.dialect.for_update()
        );
        let Some(number) = sqlx::query(&sql)
            .bind(org_id)
            .bind(phone_number)
            .fetch_optional(&mut *tx)
            .await?
        else {
            return Ok(ConfigUpdate::NumberNotFound);
        };
        let number_id: i64 = number.try_get("id")?;
        let stored =
            sqlx::query("SELECT config FROM number_configs WHERE number_id = $1 AND channel = $2")
                .bind(number_id)
                .bind(channel)
                .fetch_optional(&mut *tx)
                .await?;
        let mut config = decode_config(stored.map(|r| r.try_get("config")).transpose()?)?;
        config.apply(patch);
        if let Err(e) = config.validate() {
            tx.rollback().await?;
            return Ok(ConfigUpdate::Invalid(e));
        }
        sqlx::query(
            "INSERT INTO number_configs (number_id, channel, config, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (number_id, channel) DO UPDATE SET config = excluded.config, updated_at = excluded.updated_at",
        )
        .bind(number_id)
        .bind(channel)
        .bind(serde_json::to_string(&config).expect("config serializes"))
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(ConfigUpdate::Updated(Box::new(config)))
    }

    /// Turns human mode on or off for one of the org's numbers. Returns whether the org has
    /// that number.
    pub async fn set_human_mode(&self, org_id: &str, phone_number: &str, on: bool) -> Result<bool> {
        let r = sqlx::query(
            "UPDATE numbers SET human_mode = $1 WHERE org_id = $2 AND phone_number = $3",
        )
        .bind(i64::from(on))
        .bind(org_id)
        .bind(phone_number)
        .execute(&self.writer)
        .await?;
        Ok(r.rows_affected() > 0)
    }

    /// The org's numbers, oldest first, each with its config for `channel`. The counts come
    /// from `conversation_counts` (kept by triggers), not from counting the conversations.
    pub async fn numbers_overview(
        &self,
        org_id: &str,
        channel: &str,
    ) -> Result<Vec<NumberOverview>> {
        let rows = sqlx::query(
            "SELECT n.id, n.phone_number, n.channel, n.human_mode, nc.config, \
             (SELECT CAST(COALESCE(SUM(cc.n), 0) AS BIGINT) FROM conversation_counts cc \
              WHERE cc.org_id = n.org_id AND cc.agent_number = n.phone_number) AS conversation_count \
             FROM numbers n LEFT JOIN number_configs nc ON nc.number_id = n.id AND nc.channel = $2 \
             WHERE n.org_id = $1 ORDER BY n.id",
        )
        .bind(org_id)
        .bind(channel)
        .fetch_all(&self.reader)
        .await?;
        rows.into_iter().map(overview).collect()
    }
}

fn overview(r: AnyRow) -> Result<NumberOverview> {
    Ok(NumberOverview {
        id: r.try_get("id")?,
        phone_number: r.try_get("phone_number")?,
        channel: r.try_get("channel")?,
        human_mode: r.try_get::<i64, _>("human_mode")? != 0,
        config: decode_config(r.try_get("config")?)?,
        conversation_count: r.try_get("conversation_count")?,
    })
}
