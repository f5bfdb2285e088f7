//! The org's webhook signing secrets.

use sqlx::Row;

use crate::{Result, Store};

/// A secret as listed: never the secret itself, only a prefix to recognise it by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookSecret {
    pub id: String,
    /// The first characters of the secret.
    pub prefix: String,
    pub created_at: i64,
    /// When it stops signing (set by a rotation); `None` while it is the current one.
    pub expires_at: Option<i64>,
}

/// The current secret (no `expires_at`) first, then the rotated ones, latest to expire
/// first. Creation times can tie (same millisecond), expiry order cannot mislead.
const NEWEST_FIRST: &str =
    "CASE WHEN expires_at IS NULL THEN 0 ELSE 1 END, expires_at DESC, created_at DESC, id DESC";

impl Store {
    /// Adds `secret` as the org's current signing secret. Older secrets keep signing (as
    /// extra Standard Webhooks signatures) for `grace_ms`, then stop.
    pub async fn add_webhook_secret(
        &self,
        org_id: &str,
        id: &str,
        secret: &str,
        grace_ms: i64,
        now: i64,
    ) -> Result<()> {
        let mut tx = self.writer.begin().await?;
        let until = now.saturating_add(grace_ms.max(0));
        sqlx::query(
            "UPDATE webhook_secrets SET expires_at = $1 WHERE org_id = $2 AND (expires_at IS NULL OR expires_at > $1)",
        )
        .bind(until)
        .bind(org_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO webhook_secrets (id, org_id, secret, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(id)
        .bind(org_id)
        .bind(secret)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The org's secrets that still sign at `now`, newest first.
    pub async fn webhook_secrets(&self, org_id: &str, now: i64) -> Result<Vec<WebhookSecret>> {
        let rows = sqlx::query(&format!(
            "SELECT id, secret, created_at, expires_at FROM webhook_secrets \
             WHERE org_id = $1 AND (expires_at IS NULL OR expires_at > $2) ORDER BY {NEWEST_FIRST}"
        ))
        .bind(org_id)
        .bind(now)
        .fetch_all(&self.reader)
        .await?;
        rows.iter()
            .map(|r| {
                let secret: String = r.try_get("secret")?;
                Ok(WebhookSecret {
                    id: r.try_get("id")?,
                    prefix: secret.chars().take(10).collect(),
                    created_at: r.try_get("created_at")?,
                    expires_at: r.try_get("expires_at")?,
                })
            })
            .collect()
    }

    /// The raw secrets that sign at `now`, newest first. Only the delivery path reads them.
    pub async fn signing_secrets(&self, org_id: &str, now: i64) -> Result<Vec<String>> {
        sqlx::query(&format!(
            "SELECT secret FROM webhook_secrets WHERE org_id = $1 AND (expires_at IS NULL OR expires_at > $2) \
             ORDER BY {NEWEST_FIRST}"
        ))
        .bind(org_id)
        .bind(now)
        .fetch_all(&self.reader)
        .await?
        .iter()
        .map(|r| Ok(r.try_get("secret")?))
        .collect()
    }
}
