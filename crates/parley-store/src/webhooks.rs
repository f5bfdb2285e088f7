//! Customer webhooks as rows: enqueued in the transaction of the event they report, then
//! delivered by a worker that claims them like the dispatch queue does (leases, `SKIP
//! LOCKED` on PostgreSQL, the head of each conversation only, so one conversation's
//! webhooks arrive in order).
//!
//! Submodules: `payload` (the bodies), `secrets` (the org's signing secrets), `log` (the
//! delivery log and resends).

mod log;
pub(crate) mod payload;
mod secrets;

use sqlx::{Any, Row, Transaction};

pub use log::{WebhookAttempt, WebhookEvent, WebhookLog};
pub use secrets::WebhookSecret;

use crate::{conversations::ConversationRow, Result, Store};

/// A webhook the worker is to POST now.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WebhookDelivery {
    pub id: i64,
    /// The `webhook-id` receivers deduplicate on; the same on every attempt.
    pub event_id: String,
    pub org_id: String,
    pub conversation_id: String,
    pub url: String,
    pub payload: String,
    /// Attempts including this one.
    pub attempts: i64,
}

/// What one attempt came to.
#[derive(Debug, Clone, PartialEq)]
pub enum AttemptOutcome {
    /// 2xx: done.
    Delivered,
    /// Worth trying again at `at` (429, 5xx, timeout, connection error).
    Retry { at: i64 },
    /// Never going to work (other 4xx, a refused address) or out of attempts.
    Failed,
}

/// One attempt as the delivery log records it.
#[derive(Debug, Clone)]
pub struct AttemptRecord {
    pub sent_at: i64,
    pub response_code: Option<i64>,
    pub response_ms: i64,
    /// `spawn` (the worker) or `resend` (the API).
    pub send_type: &'static str,
    pub error_message: Option<String>,
}

fn new_event_id() -> String {
    format!("msg_{}", uuid::Uuid::new_v4().simple())
}

/// The conversation a webhook is enqueued for, locked to the end of the transaction: two
/// transactions enqueueing for one conversation then commit in the order their events were
/// numbered, and the worker (which posts a conversation's events in id order) never posts an
/// event before an earlier one that was still uncommitted when it looked.
async fn conversation_in(
    tx: &mut Transaction<'_, Any>,
    conversation_id: &str,
) -> Result<Option<ConversationRow>> {
    let sql = format!(
        "SELECT * FROM conversations WHERE id = $1{}",
        crate::Dialect::of(tx).for_update()
    );
    Ok(sqlx::query_as::<_, ConversationRow>(&sql)
        .bind(conversation_id)
        .fetch_optional(&mut **tx)
        .await?)
}

#[allow(clippy::too_many_arguments)]
async fn insert_event(
    tx: &mut Transaction<'_, Any>,
    c: &ConversationRow,
    url: &str,
    kind: &str,
    status: Option<&str>,
    message_id: Option<i64>,
    body: &serde_json::Value,
    now: i64,
) -> Result<()> {
    let conflict = if kind == "message" {
        " ON CONFLICT (message_id) WHERE kind = 'message' DO NOTHING"
    } else {
        ""
    };
    sqlx::query(&format!(
        "INSERT INTO webhook_events (event_id, org_id, conversation_id, message_id, kind, status, url, payload, \
         state, attempts, next_attempt_at, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', 0, $9, $9, $9){conflict}"
    ))
    .bind(new_event_id())
    .bind(&c.org_id)
    .bind(&c.id)
    .bind(message_id)
    .bind(kind)
    .bind(status)
    .bind(url)
    .bind(parley_domain::js_json::to_string(body))
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Enqueues the message webhook of message `message_id`, once per message: for an inbound
/// message when it is stored, for an outbound one when it leaves the queue (sent, or a
/// carrier reports it further along). Nothing when the conversation has no webhook URL.
pub(crate) async fn enqueue_message(
    tx: &mut Transaction<'_, Any>,
    message_id: i64,
    now: i64,
) -> Result<()> {
    let seen =
        sqlx::query("SELECT 1 AS x FROM webhook_events WHERE message_id = $1 AND kind = 'message'")
            .bind(message_id)
            .fetch_optional(&mut **tx)
            .await?;
    if seen.is_some() {
        return Ok(());
    }
    let Some(row) =
        sqlx::query("SELECT conversation_id FROM messages WHERE id = $1 AND deleted_at IS NULL")
            .bind(message_id)
            .fetch_optional(&mut **tx)
            .await?
    else {
        return Ok(());
    };
    let conversation_id: String = row.try_get("conversation_id")?;
    let Some(c) = conversation_in(tx, &conversation_id).await? else {
        return Ok(());
    };
    let Some(url) = payload::webhook_url(tx, &c).await? else {
        return Ok(());
    };
    let lines = payload::transcript(tx, &c.id, Some(message_id)).await?;
    let Some(line) = lines.iter().find(|l| l.id == message_id) else {
        return Ok(());
    };
    let body = payload::message_body(&c, &lines, line);
    insert_event(tx, &c, &url, "message", None, Some(message_id), &body, now).await
}

/// Enqueues a status webhook (`ended`, `timeout`, `blacklisted`, `inactive`,
/// `human_handoff`, `human_handoff_ended`, `read`, …) for a conversation. `message_id`
/// names the message a delivery status is about. Nothing when there is no webhook URL.
pub(crate) async fn enqueue_status(
    tx: &mut Transaction<'_, Any>,
    conversation_id: &str,
    status: &str,
    message_id: Option<i64>,
    now: i64,
) -> Result<()> {
    enqueue_status_with(
        tx,
        conversation_id,
        status,
        message_id,
        StatusExtras::default(),
        now,
    )
    .await
}

/// What a status webhook may carry beyond the common fields.
#[derive(Debug, Default)]
pub(crate) struct StatusExtras {
    /// Where this one notification goes instead of the conversation's URL (a handoff's
    /// `webhook`).
    pub url: Option<String>,
    /// Fields added to the body (a handoff's `handoff` object).
    pub fields: serde_json::Map<String, serde_json::Value>,
}

/// [`enqueue_status`] with a URL override and extra body fields.
pub(crate) async fn enqueue_status_with(
    tx: &mut Transaction<'_, Any>,
    conversation_id: &str,
    status: &str,
    message_id: Option<i64>,
    extras: StatusExtras,
    now: i64,
) -> Result<()> {
    let Some(c) = conversation_in(tx, conversation_id).await? else {
        return Ok(());
    };
    let url = match extras.url.filter(|u| !u.trim().is_empty()) {
        Some(url) => url,
        None => match payload::webhook_url(tx, &c).await? {
            Some(url) => url,
            None => return Ok(()),
        },
    };
    let lines = payload::transcript(tx, &c.id, None).await?;
    let mut body = payload::status_body(&c, &lines, status, message_id, now);
    if let serde_json::Value::Object(m) = &mut body {
        m.extend(extras.fields);
    }
    insert_event(tx, &c, &url, "status", Some(status), message_id, &body, now).await
}

impl Store {
    /// Records a lifecycle event of a conversation that changes nothing else here (handoff,
    /// resume): enqueues its status webhook. Scoped to the org; returns whether the
    /// conversation exists. Callers that change state in the same step should enqueue in
    /// their own transaction instead (`webhooks::enqueue_status` inside this crate).
    pub async fn record_lifecycle_event(
        &self,
        org_id: &str,
        conversation_id: &str,
        status: &str,
        now: i64,
    ) -> Result<bool> {
        let mut tx = self.writer.begin().await?;
        let found = sqlx::query("SELECT id FROM conversations WHERE org_id = $1 AND id = $2")
            .bind(org_id)
            .bind(conversation_id)
            .fetch_optional(&mut *tx)
            .await?
            .is_some();
        if found {
            enqueue_status(&mut tx, conversation_id, status, None, now).await?;
        }
        tx.commit().await?;
        Ok(found)
    }

    /// Claims due webhooks, at most one per conversation (its oldest pending one), leased
    /// until `now + lease_ms`. Attempts are counted at claim time.
    pub async fn claim_webhooks(
        &self,
        owner: &str,
        now: i64,
        lease_ms: i64,
        limit: i64,
    ) -> Result<Vec<WebhookDelivery>> {
        let sql = format!(
            "UPDATE webhook_events SET lease_owner = $1, lease_until = $2, attempts = attempts + 1, updated_at = $3 \
             WHERE id IN (SELECT e.id FROM webhook_events e WHERE e.state = 'pending' AND e.next_attempt_at <= $3 \
               AND (e.lease_until IS NULL OR e.lease_until < $3) \
               AND NOT EXISTS (SELECT 1 FROM webhook_events p WHERE p.conversation_id = e.conversation_id \
                               AND p.state = 'pending' AND p.id < e.id) \
               ORDER BY e.next_attempt_at, e.id LIMIT $4{}) \
             RETURNING id, event_id, org_id, conversation_id, url, payload, attempts",
            self.dialect.skip_locked()
        );
        Ok(sqlx::query_as::<_, WebhookDelivery>(&sql)
            .bind(owner)
            .bind(now + lease_ms)
            .bind(now)
            .bind(limit)
            .fetch_all(&self.writer)
            .await?)
    }

    /// Records a worker's attempt and what follows from it, releasing the lease.
    pub async fn record_webhook_attempt(
        &self,
        id: i64,
        attempt: &AttemptRecord,
        outcome: &AttemptOutcome,
    ) -> Result<()> {
        let mut tx = self.writer.begin().await?;
        log::insert_attempt(&mut tx, id, attempt).await?;
        let (state, next) = match outcome {
            AttemptOutcome::Delivered => ("delivered", None),
            AttemptOutcome::Retry { at } => ("pending", Some(*at)),
            AttemptOutcome::Failed => ("failed", None),
        };
        sqlx::query(
            "UPDATE webhook_events SET state = $1, next_attempt_at = $2, lease_owner = NULL, lease_until = NULL, \
             last_error = $3, updated_at = $4 WHERE id = $5 AND state = 'pending'",
        )
        .bind(state)
        .bind(next)
        .bind(&attempt.error_message)
        .bind(attempt.sent_at)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// When the earliest pending webhook falls due (for the worker's sleep).
    pub async fn next_webhook_at(&self) -> Result<Option<i64>> {
        let row = sqlx::query(
            "SELECT MIN(next_attempt_at) AS t FROM webhook_events WHERE state = 'pending'",
        )
        .fetch_one(&self.reader)
        .await?;
        Ok(row.try_get::<Option<i64>, _>("t")?)
    }

    /// Webhooks not yet delivered nor given up on (metrics, readiness).
    pub async fn pending_webhooks(&self) -> Result<i64> {
        Ok(
            sqlx::query("SELECT COUNT(*) AS n FROM webhook_events WHERE state = 'pending'")
                .fetch_one(&self.reader)
                .await?
                .try_get("n")?,
        )
    }
}
