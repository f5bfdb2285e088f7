//! Storage for the built-in `sandbox` carrier: the simulated handsets' inboxes.
//!
//! The sandbox behaves like a carrier that honours an idempotency key (the Parley message
//! id): a second hand-over of the same message, as happens when a worker dies between the
//! carrier call and recording its answer, is counted in `attempts` but lands on the handset
//! once. Its delivery report is a job, so it survives restarts like any other work.

use sqlx::Row;

use crate::{jobs, Result, Store};

#[derive(Debug, Clone)]
pub struct SandboxAccept {
    pub message_id: i64,
    pub org_id: String,
    pub from_number: String,
    pub to_number: String,
    pub body: String,
    pub channel: String,
    pub segments: i64,
    pub now: i64,
    /// The delivery report to schedule: `(job kind, payload, run_at)`.
    pub report: Option<(String, serde_json::Value, i64)>,
}

#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub struct SandboxMessage {
    pub message_id: i64,
    pub provider_sid: String,
    pub from_number: String,
    pub to_number: String,
    pub body: String,
    pub channel: String,
    pub segments: i64,
    pub attempts: i64,
    pub received_at: i64,
}

impl Store {
    /// Delivers a message to its simulated handset. Returns `(provider_sid, attempts)`.
    pub async fn sandbox_accept(&self, a: &SandboxAccept) -> Result<(String, i64)> {
        let mut tx = self.writer.begin().await?;
        let sid = format!("SB{:032x}", uuid::Uuid::new_v4().as_u128());
        let row = sqlx::query(
            "INSERT INTO sandbox_inbox (message_id, org_id, provider_sid, from_number, to_number, body, channel, \
             segments, attempts, received_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, $9) \
             ON CONFLICT (message_id) DO UPDATE SET attempts = sandbox_inbox.attempts + 1 \
             RETURNING provider_sid, attempts",
        )
        .bind(a.message_id)
        .bind(&a.org_id)
        .bind(&sid)
        .bind(&a.from_number)
        .bind(&a.to_number)
        .bind(&a.body)
        .bind(&a.channel)
        .bind(a.segments)
        .bind(a.now)
        .fetch_one(&mut *tx)
        .await?;
        let provider_sid: String = row.try_get("provider_sid")?;
        let attempts: i64 = row.try_get("attempts")?;
        if attempts == 1 {
            if let Some((kind, payload, run_at)) = &a.report {
                jobs::enqueue(&mut tx, kind, payload, *run_at, a.now).await?;
            }
        }
        tx.commit().await?;
        Ok((provider_sid, attempts))
    }

    /// What a handset (`to_number`) of this org received, oldest first.
    pub async fn sandbox_inbox(
        &self,
        org_id: &str,
        to_number: &str,
        limit: i64,
    ) -> Result<Vec<SandboxMessage>> {
        Ok(sqlx::query_as::<_, SandboxMessage>(
            "SELECT message_id, provider_sid, from_number, to_number, body, channel, segments, attempts, received_at \
             FROM sandbox_inbox WHERE org_id = $1 AND to_number = $2 ORDER BY message_id LIMIT $3",
        )
        .bind(org_id)
        .bind(to_number)
        .bind(limit)
        .fetch_all(&self.reader)
        .await?)
    }

    /// Totals over the whole sandbox: `(messages, hand-overs)`. Used by the crash test and
    /// benchmarks to check that nothing arrived twice.
    pub async fn sandbox_totals(&self) -> Result<(i64, i64)> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n, CAST(COALESCE(SUM(attempts), 0) AS BIGINT) AS a FROM sandbox_inbox",
        )
        .fetch_one(&self.reader)
        .await?;
        Ok((row.try_get("n")?, row.try_get("a")?))
    }
}
