//! The end-of-conversation queue (migration 0014). [`crate::lifecycle`] enqueues one row
//! per ending in the ending's own transaction; a worker claims it, computes the summary,
//! citations and outcomes outside any transaction (they may call a language model), then
//! [`Store::finish_ending`] stores the results and enqueues the one status webhook in one
//! transaction that also deletes the row. Exactly once: a second trigger finds the
//! conversation already ended and enqueues nothing, and a worker that lost its lease
//! deletes nothing and so commits nothing.

use parley_domain::conversation_record::ConversationRecord;
use serde_json::{Map, Value};
use sqlx::{Any, Row, Transaction};

use crate::{
    conversations::ConversationRow,
    json_text, parse_json,
    webhooks::{self, payload},
    Result, Store,
};

/// A claimed ending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingEnding {
    pub conversation_id: String,
    pub org_id: String,
    /// The status webhook's `status` (`ended`, `timeout`, `blacklisted`, `inactive`).
    pub status: String,
    pub ended_at: i64,
    /// Counted at claim time: 1 on the first run.
    pub attempts: i64,
}

/// What the pipeline reads: the conversation and the settings that apply to it.
#[derive(Debug, Clone, PartialEq)]
pub struct EndingInputs {
    pub record: ConversationRecord,
    /// The number's `summary_prompt`; `None` when unset or blank.
    pub summary_prompt: Option<String>,
    /// The send's `citation_schema_ids` when it gave them, else the number's.
    pub citation_schema_ids: Vec<String>,
    /// The send's `disposition_ids` when it gave them, else the number's.
    pub disposition_ids: Vec<String>,
}

/// What the pipeline computed; `None` fields are stored as NULL (step not configured).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EndingResults {
    pub summary: Option<String>,
    pub citation_variables: Option<Map<String, Value>>,
    /// The outcome logs, already in their API shape.
    pub disposition_logs: Option<Vec<Value>>,
    pub disposition_tag: Option<String>,
}

/// Queues the pipeline for `c`, which the caller has just marked ended at `now`. A newer
/// ending of the same conversation (ended, reactivated, ended again before the first ran)
/// replaces the older one, so the pipeline runs on the state it ended in last.
pub(crate) async fn enqueue(
    tx: &mut Transaction<'_, Any>,
    c: &ConversationRow,
    status: &str,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO conversation_endings (conversation_id, org_id, status, ended_at, run_at) \
         VALUES ($1, $2, $3, $4, $4) ON CONFLICT (conversation_id) DO UPDATE SET \
         status = excluded.status, ended_at = excluded.ended_at, run_at = excluded.run_at, \
         attempts = 0, lease_owner = NULL, lease_until = NULL",
    )
    .bind(&c.id)
    .bind(&c.org_id)
    .bind(status)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

impl Store {
    /// Claims due endings, leased to `owner` until `now + lease_ms`.
    pub async fn claim_endings(
        &self,
        owner: &str,
        now: i64,
        lease_ms: i64,
        limit: i64,
    ) -> Result<Vec<PendingEnding>> {
        let sql = format!(
            "UPDATE conversation_endings SET lease_owner = $1, lease_until = $2, attempts = attempts + 1 \
             WHERE conversation_id IN (SELECT conversation_id FROM conversation_endings \
               WHERE run_at <= $3 AND (lease_until IS NULL OR lease_until < $3) \
               ORDER BY run_at LIMIT $4{}) \
             RETURNING conversation_id, org_id, status, ended_at, attempts",
            self.dialect.skip_locked()
        );
        let rows = sqlx::query(&sql)
            .bind(owner)
            .bind(now + lease_ms)
            .bind(now)
            .bind(limit)
            .fetch_all(&self.writer)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(PendingEnding {
                    conversation_id: r.try_get("conversation_id")?,
                    org_id: r.try_get("org_id")?,
                    status: r.try_get("status")?,
                    ended_at: r.try_get("ended_at")?,
                    attempts: r.try_get::<i64, _>("attempts")?,
                })
            })
            .collect()
    }

    /// The conversation and its settings; `None` when it was deleted meanwhile.
    pub async fn ending_inputs(&self, e: &PendingEnding) -> Result<Option<EndingInputs>> {
        let mut tx = self.reader.begin().await?;
        let Some(c) = sqlx::query_as::<_, ConversationRow>(
            "SELECT * FROM conversations WHERE org_id = $1 AND id = $2",
        )
        .bind(&e.org_id)
        .bind(&e.conversation_id)
        .fetch_optional(&mut *tx)
        .await?
        else {
            tx.rollback().await?;
            return Ok(None);
        };
        let number = payload::number_config(&mut tx, &c).await?;
        tx.rollback().await?;
        let record = self.record_for(&c).await?;
        let number = number.unwrap_or_default();
        let ids = |own: &Option<String>, fallback: &[String]| match parse_json(own.clone()) {
            Some(Value::Array(v)) => v
                .iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect(),
            _ => fallback.to_vec(),
        };
        Ok(Some(EndingInputs {
            summary_prompt: number
                .summary_prompt
                .as_deref()
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(str::to_owned),
            citation_schema_ids: ids(
                &c.citation_schema_ids,
                number.citation_schema_ids.as_deref().unwrap_or_default(),
            ),
            disposition_ids: ids(
                &c.disposition_ids,
                number.disposition_ids.as_deref().unwrap_or_default(),
            ),
            record,
        }))
    }

    /// Stores the results and enqueues the status webhook, if `owner` still holds this
    /// ending. `false`: someone else finished it (or a newer ending replaced it), nothing
    /// was written.
    pub async fn finish_ending(
        &self,
        e: &PendingEnding,
        owner: &str,
        results: &EndingResults,
        now: i64,
    ) -> Result<bool> {
        let mut tx = self.writer.begin().await?;
        let gone = sqlx::query(
            "DELETE FROM conversation_endings WHERE conversation_id = $1 AND ended_at = $2 \
             AND lease_owner = $3",
        )
        .bind(&e.conversation_id)
        .bind(e.ended_at)
        .bind(owner)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if gone == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        let logs = results.disposition_logs.clone().map(Value::Array);
        let citations = results.citation_variables.clone().map(Value::Object);
        sqlx::query(
            "UPDATE conversations SET summary = $1, citation_variables = $2, \
             disposition_logs = $3, disposition_tag = $4 WHERE id = $5",
        )
        .bind(&results.summary)
        .bind(json_text(&citations))
        .bind(json_text(&logs))
        .bind(&results.disposition_tag)
        .bind(&e.conversation_id)
        .execute(&mut *tx)
        .await?;
        webhooks::enqueue_status(&mut tx, &e.conversation_id, &e.status, None, now).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Puts a claimed ending back for another attempt at `run_at`.
    pub async fn retry_ending(&self, e: &PendingEnding, owner: &str, run_at: i64) -> Result<()> {
        sqlx::query(
            "UPDATE conversation_endings SET run_at = $1, lease_owner = NULL, lease_until = NULL \
             WHERE conversation_id = $2 AND ended_at = $3 AND lease_owner = $4",
        )
        .bind(run_at)
        .bind(&e.conversation_id)
        .bind(e.ended_at)
        .bind(owner)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// Drops an ending whose conversation is gone.
    pub async fn drop_ending(&self, e: &PendingEnding) -> Result<()> {
        sqlx::query("DELETE FROM conversation_endings WHERE conversation_id = $1")
            .bind(&e.conversation_id)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// When the next ending is due (a leased one counts from its lease's end).
    pub async fn next_ending_at(&self) -> Result<Option<i64>> {
        let row = sqlx::query(
            "SELECT MIN(CASE WHEN lease_until IS NOT NULL AND lease_until > run_at \
             THEN lease_until ELSE run_at END) AS t FROM conversation_endings",
        )
        .fetch_one(&self.reader)
        .await?;
        Ok(row.try_get::<Option<i64>, _>("t")?)
    }
}
