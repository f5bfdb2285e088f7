//! Uploaded files and batch sends.
//!
//! A batch row is its own job: the worker claims a `running` batch with a lease and turns
//! its file into queued messages chunk by chunk ([`Store::commit_batch_chunk`]). A chunk's
//! conversations, messages, skipped rows and the batch's cursor commit in one transaction,
//! and the cursor only advances from the position the worker read, so a chunk is committed
//! exactly once: after a crash the next worker starts after the last committed chunk.

mod chunk;

use std::collections::HashSet;

use sqlx::Row;

pub use chunk::{BatchChunk, BatchRecipient, BatchSkip, ChunkOutcome};

use crate::{Result, Store};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct FileRow {
    pub id: String,
    pub org_id: String,
    pub file_type: String,
    pub name: String,
    /// `csv` or `jsonl`.
    pub format: String,
    /// Relative to the data directory.
    pub path: String,
    pub size: i64,
    pub row_count: Option<i64>,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct BatchRow {
    pub id: String,
    pub org_id: String,
    pub agent_number: String,
    pub channel: String,
    pub workflow_id: String,
    pub settings: String,
    pub state: String,
    pub total_rows: Option<i64>,
    pub next_row: i64,
    pub next_offset: i64,
    pub queued: i64,
    pub skipped: i64,
    pub error: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub finished_at: Option<i64>,
}

/// A new batch, answered to the client before any row is queued.
#[derive(Debug, Clone)]
pub struct NewBatch {
    pub id: String,
    pub org_id: String,
    pub agent_number: String,
    pub channel: String,
    pub workflow_id: String,
    pub settings: serde_json::Value,
    pub total_rows: Option<i64>,
    /// Byte offset of the first data row (after the CSV header).
    pub first_offset: i64,
    pub now: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct BatchErrorRow {
    pub row_number: i64,
    pub phone_number: String,
    pub reason: String,
}

/// What became of a batch's queued messages.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchMessageCounts {
    pub queued: i64,
    pub sent: i64,
    pub delivered: i64,
    pub failed: i64,
    pub cancelled: i64,
    /// Segments of the still-queued messages, for the ETA.
    pub queued_segments: i64,
}

/// The error code of messages a cancel took out of the queue.
pub const BATCH_CANCELLED: &str = "BATCH_CANCELLED";

const BATCH_COLUMNS: &str =
    "id, org_id, agent_number, channel, workflow_id, settings, state, total_rows, \
     next_row, next_offset, queued, skipped, error, created_at, updated_at, finished_at";

impl Store {
    pub async fn insert_file(&self, f: &FileRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO files (id, org_id, file_type, name, format, path, size, row_count, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&f.id)
        .bind(&f.org_id)
        .bind(&f.file_type)
        .bind(&f.name)
        .bind(&f.format)
        .bind(&f.path)
        .bind(f.size)
        .bind(f.row_count)
        .bind(f.created_at)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// One of the org's files.
    pub async fn file(&self, org_id: &str, id: &str) -> Result<Option<FileRow>> {
        Ok(sqlx::query_as::<_, FileRow>(
            "SELECT id, org_id, file_type, name, format, path, size, row_count, created_at \
             FROM files WHERE org_id = $1 AND id = $2",
        )
        .bind(org_id)
        .bind(id)
        .fetch_optional(&self.reader)
        .await?)
    }

    /// Creates the batch (its id is the file's). `false` when the file already has one.
    pub async fn create_batch(&self, b: &NewBatch) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO batches (id, org_id, agent_number, channel, workflow_id, settings, state, total_rows, \
             next_row, next_offset, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, 'running', $7, 1, $8, $9, $9) ON CONFLICT (id) DO NOTHING",
        )
        .bind(&b.id)
        .bind(&b.org_id)
        .bind(&b.agent_number)
        .bind(&b.channel)
        .bind(&b.workflow_id)
        .bind(b.settings.to_string())
        .bind(b.total_rows)
        .bind(b.first_offset)
        .bind(b.now)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Leases the oldest running batch nobody holds (or whose holder's lease ran out).
    pub async fn claim_batch(
        &self,
        owner: &str,
        now_ms: i64,
        lease_ms: i64,
    ) -> Result<Option<BatchRow>> {
        let sql = format!(
            "UPDATE batches SET lease_owner = $1, lease_until = $2 WHERE id IN (\
               SELECT id FROM batches WHERE state = 'running' AND (lease_until IS NULL OR lease_until < $3) \
               ORDER BY created_at, id LIMIT 1{}) AND state = 'running' RETURNING {BATCH_COLUMNS}",
            self.dialect.skip_locked()
        );
        Ok(sqlx::query_as::<_, BatchRow>(&sql)
            .bind(owner)
            .bind(now_ms + lease_ms)
            .bind(now_ms)
            .fetch_optional(&self.writer)
            .await?)
    }

    /// Gives a batch up (its file cannot be read): it stays visible with the reason.
    pub async fn fail_batch(&self, id: &str, owner: &str, error: &str, now: i64) -> Result<()> {
        sqlx::query(
            "UPDATE batches SET state = 'failed', error = $1, finished_at = $2, updated_at = $2, \
             lease_owner = NULL, lease_until = NULL WHERE id = $3 AND lease_owner = $4 AND state = 'running'",
        )
        .bind(error)
        .bind(now)
        .bind(id)
        .bind(owner)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    pub async fn batch(&self, org_id: &str, id: &str) -> Result<Option<BatchRow>> {
        Ok(sqlx::query_as::<_, BatchRow>(&format!(
            "SELECT {BATCH_COLUMNS} FROM batches WHERE org_id = $1 AND id = $2"
        ))
        .bind(org_id)
        .bind(id)
        .fetch_optional(&self.reader)
        .await?)
    }

    /// The org's batches, newest first; `before` is the `created_at` of the last one seen.
    pub async fn batches(
        &self,
        org_id: &str,
        before: Option<(i64, String)>,
        limit: i64,
    ) -> Result<Vec<BatchRow>> {
        let (t, id) = before.unwrap_or((i64::MAX, String::new()));
        Ok(sqlx::query_as::<_, BatchRow>(&format!(
            "SELECT {BATCH_COLUMNS} FROM batches WHERE org_id = $1 \
             AND (created_at < $2 OR (created_at = $2 AND id < $3) OR $3 = '') \
             ORDER BY created_at DESC, id DESC LIMIT $4"
        ))
        .bind(org_id)
        .bind(t)
        .bind(id)
        .bind(limit)
        .fetch_all(&self.reader)
        .await?)
    }

    /// The batch's messages by state, in one pass over its rows. One aggregate row rather
    /// than `GROUP BY status`: SQLite groups by sorting, and sorting a million-row batch
    /// (in memory, `temp_store = MEMORY`) on every status poll put 80 MB spikes on the
    /// server's RSS.
    pub async fn batch_message_counts(&self, batch_id: &str) -> Result<BatchMessageCounts> {
        let cancelled = format!("COALESCE(error_code, '') = '{BATCH_CANCELLED}'");
        let live = format!("NOT ({cancelled})");
        let count = |cond: &str| {
            format!("CAST(COALESCE(SUM(CASE WHEN {cond} THEN 1 ELSE 0 END), 0) AS BIGINT)")
        };
        let sql = format!(
            "SELECT CAST(COUNT(*) AS BIGINT) AS total, {} AS cancelled, {} AS queued, \
             CAST(COALESCE(SUM(CASE WHEN {live} AND status = 'queued' THEN segments ELSE 0 END), 0) AS BIGINT) AS queued_segments, \
             {} AS sent, {} AS delivered FROM messages WHERE batch_id = $1",
            count(&cancelled),
            count(&format!("{live} AND status = 'queued'")),
            count(&format!("{live} AND status IN ('sent', 'sending')")),
            count(&format!("{live} AND status IN ('delivered', 'read')")),
        );
        let r = sqlx::query(&sql)
            .bind(batch_id)
            .fetch_one(&self.reader)
            .await?;
        let get = |name: &str| r.try_get::<i64, _>(name);
        let mut c = BatchMessageCounts {
            cancelled: get("cancelled")?,
            queued: get("queued")?,
            queued_segments: get("queued_segments")?,
            sent: get("sent")?,
            delivered: get("delivered")?,
            ..Default::default()
        };
        // Everything else (failed, undelivered, a status this version does not know).
        c.failed = get("total")? - c.cancelled - c.queued - c.sent - c.delivered;
        Ok(c)
    }

    /// Skipped rows with `row_number > after`, in row order.
    pub async fn batch_errors(
        &self,
        batch_id: &str,
        after: i64,
        limit: i64,
    ) -> Result<Vec<BatchErrorRow>> {
        Ok(sqlx::query_as::<_, BatchErrorRow>(
            "SELECT row_number, phone_number, reason FROM batch_errors \
             WHERE batch_id = $1 AND row_number > $2 ORDER BY row_number LIMIT $3",
        )
        .bind(batch_id)
        .bind(after)
        .bind(limit)
        .fetch_all(&self.reader)
        .await?)
    }

    /// The recipients of a batch's messages, in queue order (checks and exports).
    pub async fn batch_recipient_numbers(&self, batch_id: &str) -> Result<Vec<String>> {
        let rows = sqlx::query("SELECT to_number FROM messages WHERE batch_id = $1 ORDER BY id")
            .bind(batch_id)
            .fetch_all(&self.reader)
            .await?;
        rows.iter()
            .map(|r| r.try_get::<String, _>("to_number").map_err(Into::into))
            .collect()
    }

    /// Which of `users` already have a message in the batch (rows of earlier chunks).
    pub async fn batch_recipients_among(
        &self,
        batch_id: &str,
        users: &[String],
    ) -> Result<HashSet<String>> {
        let mut found = HashSet::new();
        for chunk in users.chunks(500) {
            let params: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
            let sql = format!(
                "SELECT to_number FROM messages WHERE batch_id = $1 AND to_number IN ({})",
                params.join(", ")
            );
            let mut q = sqlx::query(&sql).bind(batch_id);
            for u in chunk {
                q = q.bind(u);
            }
            for row in q.fetch_all(&self.reader).await? {
                found.insert(row.try_get::<String, _>("to_number")?);
            }
        }
        Ok(found)
    }

    /// Stops a batch: no more rows are read, and its messages still waiting in the queue
    /// are taken out (`failed` with `BATCH_CANCELLED`). A message a dispatch worker already
    /// holds (its send slot falls within the next second) may still go. `None` when the org
    /// has no such batch; cancelling twice is harmless.
    pub async fn cancel_batch(&self, org_id: &str, id: &str, now: i64) -> Result<Option<i64>> {
        let mut tx = self.writer.begin().await?;
        let found = sqlx::query(
            "UPDATE batches SET state = CASE WHEN state = 'failed' THEN state ELSE 'cancelled' END, \
             finished_at = COALESCE(finished_at, $1), updated_at = $1, lease_owner = NULL, lease_until = NULL \
             WHERE org_id = $2 AND id = $3",
        )
        .bind(now)
        .bind(org_id)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if found.rows_affected() == 0 {
            return Ok(None);
        }
        let taken = sqlx::query(&format!(
            "UPDATE messages SET status = 'failed', error_code = '{BATCH_CANCELLED}', next_attempt_at = NULL, \
             updated_at = $1 WHERE batch_id = $2 AND status = 'queued' AND (lease_until IS NULL OR lease_until < $1)"
        ))
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Some(
            i64::try_from(taken.rows_affected()).unwrap_or(i64::MAX),
        ))
    }
}
