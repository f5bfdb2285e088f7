//! The delivery log (`GET /v1/sms/conversations/{id}/webhook`) and resends.

use sqlx::{Any, Transaction};

use super::{AttemptRecord, WebhookDelivery};
use crate::{Result, Store};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct WebhookEvent {
    pub id: i64,
    pub event_id: String,
    pub org_id: String,
    pub conversation_id: String,
    pub message_id: Option<i64>,
    pub kind: String,
    pub status: Option<String>,
    pub url: String,
    pub payload: String,
    /// `pending`, `delivered` or `failed`.
    pub state: String,
    pub attempts: i64,
    pub next_attempt_at: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct WebhookAttempt {
    pub event_id: i64,
    pub sent_at: i64,
    pub response_code: Option<i64>,
    pub response_ms: i64,
    pub send_type: String,
    pub error_message: Option<String>,
}

/// A conversation's webhooks, oldest first, each with its attempts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WebhookLog {
    pub events: Vec<(WebhookEvent, Vec<WebhookAttempt>)>,
}

impl WebhookLog {
    /// The record Bland's log shows: the latest status webhook (the post-conversation one),
    /// else the latest webhook of any kind.
    pub fn record(&self) -> Option<&(WebhookEvent, Vec<WebhookAttempt>)> {
        self.events
            .iter()
            .rev()
            .find(|(e, _)| e.kind == "status")
            .or_else(|| self.events.last())
    }
}

const EVENT_COLUMNS: &str =
    "id, event_id, org_id, conversation_id, message_id, kind, status, url, payload, \
     state, attempts, next_attempt_at, last_error, created_at";

pub(crate) async fn insert_attempt(
    tx: &mut Transaction<'_, Any>,
    event: i64,
    a: &AttemptRecord,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO webhook_attempts (event_id, sent_at, response_code, response_ms, send_type, error_message) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(event)
    .bind(a.sent_at)
    .bind(a.response_code)
    .bind(a.response_ms)
    .bind(a.send_type)
    .bind(&a.error_message)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

impl Store {
    /// Every webhook of one of the org's conversations with its attempts, or `None` when
    /// the org has no such conversation.
    pub async fn webhook_log(
        &self,
        org_id: &str,
        conversation_id: &str,
    ) -> Result<Option<WebhookLog>> {
        if self.conversation(org_id, conversation_id).await?.is_none() {
            return Ok(None);
        }
        let events = sqlx::query_as::<_, WebhookEvent>(&format!(
            "SELECT {EVENT_COLUMNS} FROM webhook_events WHERE org_id = $1 AND conversation_id = $2 ORDER BY id"
        ))
        .bind(org_id)
        .bind(conversation_id)
        .fetch_all(&self.reader)
        .await?;
        let attempts = sqlx::query_as::<_, WebhookAttempt>(
            "SELECT a.event_id, a.sent_at, a.response_code, a.response_ms, a.send_type, a.error_message \
             FROM webhook_attempts a JOIN webhook_events e ON e.id = a.event_id \
             WHERE e.org_id = $1 AND e.conversation_id = $2 ORDER BY a.id",
        )
        .bind(org_id)
        .bind(conversation_id)
        .fetch_all(&self.reader)
        .await?;
        let events = events
            .into_iter()
            .map(|e| {
                let mine = attempts
                    .iter()
                    .filter(|a| a.event_id == e.id)
                    .cloned()
                    .collect();
                (e, mine)
            })
            .collect();
        Ok(Some(WebhookLog { events }))
    }

    /// The latest status webhook of each listed conversation of the org, for a resend. All
    /// or nothing: `Err(id)` names the first conversation that has none.
    pub async fn resend_targets(
        &self,
        org_id: &str,
        conversation_ids: &[String],
    ) -> Result<Result<Vec<WebhookDelivery>, String>> {
        let mut out = Vec::with_capacity(conversation_ids.len());
        for id in conversation_ids {
            let row = sqlx::query_as::<_, WebhookDelivery>(
                "SELECT id, event_id, org_id, conversation_id, url, payload, attempts FROM webhook_events \
                 WHERE org_id = $1 AND conversation_id = $2 AND kind = 'status' ORDER BY id DESC LIMIT 1",
            )
            .bind(org_id)
            .bind(id)
            .fetch_optional(&self.reader)
            .await?;
            match row {
                Some(r) => out.push(r),
                None => return Ok(Err(id.clone())),
            }
        }
        Ok(Ok(out))
    }

    /// Records a resend attempt. A successful resend also settles a webhook the worker was
    /// still retrying, so it is not delivered yet again.
    pub async fn record_webhook_resend(
        &self,
        id: i64,
        attempt: &AttemptRecord,
        delivered: bool,
    ) -> Result<()> {
        let mut tx = self.writer.begin().await?;
        insert_attempt(&mut tx, id, attempt).await?;
        if delivered {
            sqlx::query(
                "UPDATE webhook_events SET state = 'delivered', next_attempt_at = NULL, updated_at = $1 \
                 WHERE id = $2 AND state <> 'delivered'",
            )
            .bind(attempt.sent_at)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
