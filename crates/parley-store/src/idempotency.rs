//! Idempotency keys for the endpoints that queue a message (`/v1/sms/send` and sending on a
//! conversation).
//!
//! The key is claimed inside the caller's write transaction, before anything else is
//! written, and the answer is stored in the same transaction. A 200 therefore always has
//! its record, and two concurrent requests with one key produce one message: on PostgreSQL
//! the second insert waits for the first transaction; on SQLite writes are serialized.

use sqlx::{Any, Row, Transaction};

use crate::{conversations::Accepted, Result, Store};

/// What claiming a key found.
pub(crate) enum Claim {
    /// First use: go ahead, then [`record`] the answer.
    Fresh,
    /// Seen with the same request: answer this, write nothing.
    Replayed(Accepted),
    /// Seen with another request.
    Reused,
}

/// Claims `key` for `org_id`. On anything but [`Claim::Fresh`] the caller must roll back.
pub(crate) async fn claim(
    tx: &mut Transaction<'_, Any>,
    org_id: &str,
    key: &str,
    hash: &str,
    now: i64,
) -> Result<Claim> {
    let inserted = sqlx::query(
        "INSERT INTO idempotency_keys (org_id, key, request_hash, response, created_at) \
         VALUES ($1, $2, $3, NULL, $4) ON CONFLICT (org_id, key) DO NOTHING RETURNING key",
    )
    .bind(org_id)
    .bind(key)
    .bind(hash)
    .bind(now)
    .fetch_optional(&mut **tx)
    .await?;
    if inserted.is_some() {
        return Ok(Claim::Fresh);
    }
    // Another request with this key committed first (on PostgreSQL the insert above waited
    // for it). Answer from its record.
    let row = sqlx::query(
        "SELECT request_hash, response FROM idempotency_keys WHERE org_id = $1 AND key = $2",
    )
    .bind(org_id)
    .bind(key)
    .fetch_one(&mut **tx)
    .await?;
    let stored_hash: String = row.try_get("request_hash")?;
    let response: Option<String> = row.try_get("response")?;
    Ok(match response.and_then(|r| serde_json::from_str(&r).ok()) {
        Some(acc) if stored_hash == hash => Claim::Replayed(acc),
        _ => Claim::Reused,
    })
}

/// Stores the answer for a key claimed in this transaction.
pub(crate) async fn record(
    tx: &mut Transaction<'_, Any>,
    org_id: &str,
    key: &str,
    accepted: &Accepted,
) -> Result<()> {
    sqlx::query("UPDATE idempotency_keys SET response = $1 WHERE org_id = $2 AND key = $3")
        .bind(serde_json::to_string(accepted).expect("plain struct serializes"))
        .bind(org_id)
        .bind(key)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

impl Store {
    /// Forgets idempotency records older than `before` (epoch ms).
    pub async fn purge_idempotency_keys(&self, before: i64) -> Result<u64> {
        let r = sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1")
            .bind(before)
            .execute(&self.writer)
            .await?;
        Ok(r.rows_affected())
    }
}
