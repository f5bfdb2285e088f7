//! What real carriers need from the store: how a number sends, what callbacks change, and
//! the facts carrier rules are checked against (WhatsApp's window, sids already known).

use parley_domain::message_status::MessageStatus;
use sqlx::Row;

use crate::{dispatch::rank_sql, Result, Store, StoreError};

/// How a number sends: the settings `parley number add/update` writes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NumberSending {
    pub carrier: String,
    pub number_type: Option<String>,
    pub mps: f64,
    pub daily_cap: Option<i64>,
    pub messaging_service_sid: Option<String>,
    pub carrier_account: Option<String>,
}

/// The message a carrier callback is about.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct CallbackTarget {
    pub id: i64,
    pub org_id: String,
    pub from_number: String,
    pub direction: String,
    pub status: Option<String>,
    pub provider_sid: Option<String>,
}

impl Store {
    /// Replaces how `phone_number` sends. Returns whether the number exists.
    pub async fn set_number_sending(&self, phone_number: &str, s: &NumberSending) -> Result<bool> {
        let r = sqlx::query(
            "UPDATE numbers SET carrier = $1, number_type = $2, mps = $3, daily_cap = $4, \
             messaging_service_sid = $5, carrier_account = $6 WHERE phone_number = $7",
        )
        .bind(&s.carrier)
        .bind(&s.number_type)
        .bind(s.mps)
        .bind(s.daily_cap)
        .bind(&s.messaging_service_sid)
        .bind(&s.carrier_account)
        .bind(phone_number)
        .execute(&self.writer)
        .await?;
        Ok(r.rows_affected() > 0)
    }

    /// When `user_number` last wrote to `agent_number` on `channel` (epoch ms), across all of
    /// the pair's conversations: WhatsApp's window belongs to the pair, not to a thread.
    pub async fn last_inbound_at(
        &self,
        org_id: &str,
        agent_number: &str,
        user_number: &str,
        channel: &str,
    ) -> Result<Option<i64>> {
        let row = sqlx::query(
            "SELECT MAX(created_at) AS t FROM messages WHERE org_id = $1 AND to_number = $2 \
             AND from_number = $3 AND channel = $4 AND direction = 'inbound'",
        )
        .bind(org_id)
        .bind(agent_number)
        .bind(user_number)
        .bind(channel)
        .fetch_one(&self.reader)
        .await?;
        Ok(row.try_get::<Option<i64>, _>("t")?)
    }

    /// The message a callback names: by the carrier's id, else by the Parley id the callback
    /// URL carried (the send's answer, with the carrier's id, may have been lost).
    pub async fn callback_target(
        &self,
        provider_sid: &str,
        message_id: Option<i64>,
    ) -> Result<Option<CallbackTarget>> {
        const COLS: &str = "id, org_id, from_number, direction, status, provider_sid";
        let by_sid = sqlx::query_as::<_, CallbackTarget>(&format!(
            "SELECT {COLS} FROM messages WHERE provider_sid = $1"
        ))
        .bind(provider_sid)
        .fetch_optional(&self.writer)
        .await?;
        if by_sid.is_some() {
            return Ok(by_sid);
        }
        let Some(id) = message_id else {
            return Ok(None);
        };
        Ok(sqlx::query_as::<_, CallbackTarget>(&format!(
            "SELECT {COLS} FROM messages WHERE id = $1 AND direction = 'outbound'"
        ))
        .bind(id)
        .fetch_optional(&self.writer)
        .await?
        // A message already bound to another carrier id is not this callback's.
        .filter(|t| t.provider_sid.as_deref().is_none_or(|s| s == provider_sid)))
    }

    /// Applies a carrier's status callback to outbound message `id`: binds the carrier's id
    /// when the message has none yet, then moves the status forward only (`status: None`
    /// for statuses that say nothing new, such as `accepted`). Returns whether the status
    /// changed, so a repeated callback fires nothing twice.
    pub async fn apply_carrier_status(
        &self,
        id: i64,
        provider_sid: &str,
        status: Option<MessageStatus>,
        error_code: Option<&str>,
        now_ms: i64,
    ) -> Result<bool> {
        let mut tx = self.writer.begin().await?;
        let was_queued = crate::dispatch::queued_locked(&mut tx, self.dialect, id).await?;
        sqlx::query("UPDATE messages SET provider_sid = $1 WHERE id = $2 AND provider_sid IS NULL")
            .bind(provider_sid)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let changed = match status {
            None => false,
            Some(status) => {
                move_forward(&mut tx, id, status, error_code, now_ms, was_queued).await?
            }
        };
        tx.commit().await?;
        Ok(changed)
    }

    /// Whether `key` was already used by this org: such a send is a replay (or a refusal),
    /// decided by the send transaction, and must not be refused by checks that only apply to
    /// new messages.
    pub async fn idempotency_key_seen(&self, org_id: &str, key: &str) -> Result<bool> {
        Ok(
            sqlx::query("SELECT 1 AS x FROM idempotency_keys WHERE org_id = $1 AND key = $2")
                .bind(org_id)
                .bind(key)
                .fetch_optional(&self.reader)
                .await?
                .is_some(),
        )
    }

    /// The attachments a carrier reported on inbound message `id` (JSON list), if any.
    pub async fn message_media(&self, id: i64) -> Result<Option<serde_json::Value>> {
        let row = sqlx::query("SELECT media FROM messages WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.reader)
            .await?;
        let text: Option<String> = match row {
            Some(r) => r.try_get("media")?,
            None => None,
        };
        Ok(crate::parse_json(text))
    }

    /// Whether a message with this carrier id is already stored (a repeated delivery).
    pub async fn provider_sid_exists(&self, provider_sid: &str) -> Result<bool> {
        Ok(
            sqlx::query("SELECT 1 AS x FROM messages WHERE provider_sid = $1")
                .bind(provider_sid)
                .fetch_optional(&self.writer)
                .await?
                .is_some(),
        )
    }

    /// Which of these carrier ids already belong to a Parley message other than `message_id`.
    /// Reconciliation uses it so a lost send is never matched to a message Parley knows
    /// under another id. An id bound to `message_id` itself (a callback that arrived while
    /// the lookup ran) is this message's copy, and must match, not be skipped.
    pub async fn known_provider_sids(
        &self,
        sids: &[String],
        message_id: i64,
    ) -> Result<Vec<String>> {
        if sids.is_empty() {
            return Ok(Vec::new());
        }
        let params: Vec<String> = (2..=sids.len() + 1).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT provider_sid FROM messages WHERE id <> $1 AND provider_sid IN ({})",
            params.join(", ")
        );
        let mut q = sqlx::query(&sql).bind(message_id);
        for s in sids {
            q = q.bind(s);
        }
        q.fetch_all(&self.writer)
            .await?
            .iter()
            .map(|r| r.try_get("provider_sid").map_err(StoreError::from))
            .collect()
    }

    /// Among the numbers of messaging service `service_sid`, the one whose active
    /// conversation with `user_number` moved last. A service picks which of its numbers
    /// sends, so a reply may reach a sibling of the number the conversation started on.
    pub async fn pool_conversation_agent(
        &self,
        org_id: &str,
        service_sid: &str,
        user_number: &str,
        channel: &str,
    ) -> Result<Option<String>> {
        let row = sqlx::query(
            "SELECT c.agent_number FROM conversations c JOIN numbers n ON n.phone_number = c.agent_number \
             WHERE c.org_id = $1 AND n.messaging_service_sid = $2 AND c.user_number = $3 AND c.channel = $4 \
             AND c.is_active = 1 ORDER BY c.updated_at DESC LIMIT 1",
        )
        .bind(org_id)
        .bind(service_sid)
        .bind(user_number)
        .bind(channel)
        .fetch_optional(&self.reader)
        .await?;
        Ok(row.map(|r| r.try_get("agent_number")).transpose()?)
    }
}

/// Moves outbound message `id` to `status` if that is further along (a carrier callback or
/// a delivery report), with what leaving the queue means when it was still `queued`: the
/// message webhook, and the inactivity clock (the send's answer may never be recorded, if
/// its worker died). Returns whether the status changed.
pub(crate) async fn move_forward(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    id: i64,
    status: MessageStatus,
    error_code: Option<&str>,
    now_ms: i64,
    was_queued: bool,
) -> Result<bool> {
    // Leaving `queued` also ends any pending retry: the carrier has the message.
    let r = sqlx::query(&format!(
        "UPDATE messages SET status = $1, error_code = COALESCE($2, error_code), \
         sent_at = CASE WHEN sent_at IS NULL AND $1 <> 'failed' THEN $3 ELSE sent_at END, \
         delivered_at = CASE WHEN $1 = 'delivered' THEN $3 ELSE delivered_at END, updated_at = $3, \
         lease_owner = NULL, lease_until = NULL, next_attempt_at = NULL \
         WHERE id = $4 AND direction = 'outbound' AND {} < $5",
        rank_sql()
    ))
    .bind(status.as_str())
    .bind(error_code)
    .bind(now_ms)
    .bind(id)
    .bind(status.rank())
    .execute(&mut **tx)
    .await?;
    let changed = r.rows_affected() > 0;
    if changed && status != MessageStatus::Failed && status != MessageStatus::Undelivered {
        crate::webhooks::enqueue_message(tx, id, now_ms).await?;
        // The callback beat the send's answer (which may never be recorded, if
        // its worker died): the message is out, so the inactivity clock starts.
        if was_queued {
            crate::timers::arm_after_send(tx, id, now_ms).await?;
        }
    }
    if changed && status == MessageStatus::Read {
        let conversation: String =
            sqlx::query("SELECT conversation_id FROM messages WHERE id = $1")
                .bind(id)
                .fetch_one(&mut **tx)
                .await?
                .try_get("conversation_id")?;
        crate::webhooks::enqueue_status(tx, &conversation, "read", Some(id), now_ms).await?;
    }
    Ok(changed)
}
