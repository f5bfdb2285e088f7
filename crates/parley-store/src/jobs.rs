//! Delayed background work as rows: delivery reports now, timers and webhooks later.
//!
//! A job is claimed by leasing it; handlers delete it in the same transaction as the state
//! change they make, so a crash either leaves the job (and it runs again) or leaves both.

use sqlx::{Any, Transaction};

use crate::{Result, Store};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Job {
    pub id: i64,
    pub kind: String,
    pub payload: String,
    pub attempts: i64,
}

pub(crate) async fn enqueue(
    tx: &mut Transaction<'_, Any>,
    kind: &str,
    payload: &serde_json::Value,
    run_at: i64,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO jobs (kind, payload, run_at, attempts, created_at) VALUES ($1, $2, $3, 0, $4)",
    )
    .bind(kind)
    .bind(payload.to_string())
    .bind(run_at)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

impl Store {
    pub async fn claim_jobs(
        &self,
        owner: &str,
        now_ms: i64,
        lease_ms: i64,
        limit: i64,
    ) -> Result<Vec<Job>> {
        let sql = format!(
            "UPDATE jobs SET lease_owner = $1, lease_until = $2, attempts = attempts + 1 WHERE id IN (\
               SELECT id FROM jobs WHERE run_at <= $3 AND (lease_until IS NULL OR lease_until < $3) \
               ORDER BY run_at, id LIMIT $4{}) RETURNING id, kind, payload, attempts",
            self.dialect.skip_locked()
        );
        Ok(sqlx::query_as::<_, Job>(&sql)
            .bind(owner)
            .bind(now_ms + lease_ms)
            .bind(now_ms)
            .bind(limit)
            .fetch_all(&self.writer)
            .await?)
    }

    /// Puts a job back for a later attempt.
    pub async fn retry_job(&self, id: i64, run_at: i64) -> Result<()> {
        sqlx::query(
            "UPDATE jobs SET run_at = $1, lease_owner = NULL, lease_until = NULL WHERE id = $2",
        )
        .bind(run_at)
        .bind(id)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    pub async fn delete_job(&self, id: i64) -> Result<()> {
        sqlx::query("DELETE FROM jobs WHERE id = $1")
            .bind(id)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    pub async fn next_job_at(&self) -> Result<Option<i64>> {
        use sqlx::Row;
        let row = sqlx::query("SELECT MIN(run_at) AS t FROM jobs")
            .fetch_one(&self.reader)
            .await?;
        Ok(row.try_get::<Option<i64>, _>("t")?)
    }

    pub async fn pending_jobs(&self) -> Result<i64> {
        use sqlx::Row;
        Ok(sqlx::query("SELECT COUNT(*) AS n FROM jobs")
            .fetch_one(&self.reader)
            .await?
            .try_get("n")?)
    }
}
