//! The agent's turns as rows (`conversation_turns`, migration 0011).
//!
//! An inbound message that wants a reply bumps its conversation's `requested` counter in the
//! transaction that stores it (`request_in`), so a crash can lose neither the message nor the
//! reply it is owed. A turn worker leases the row (one turn per conversation at a time, on
//! every node), reads the conversation, computes the reply outside any transaction (a model
//! call may take seconds), then lands everything in one transaction (`finish_turn`): the
//! reply messages queued for dispatch, the pathway state, an end, and `answered` set to the
//! counter it leased. Messages that arrived meanwhile keep the row due; the next turn sees
//! them all at once, so a burst is answered once. A turn whose lease was lost (its worker
//! stalled past it and another took over) writes nothing.

use sqlx::{Any, Row, Transaction};

use crate::{
    conversations::{
        handoff::hand_off_locked, insert_outbound_on, ConversationRow, HandoffRequest, MessageRow,
        NewOutbound,
    },
    lifecycle::{end_locked, EndStatus},
    Result, Store,
};

/// A leased turn: the conversation and the `requested` count it answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TurnClaim {
    pub conversation_id: String,
    pub org_id: String,
    pub requested: i64,
    /// Inbound messages with a larger id are new to this turn.
    pub seen_message_id: i64,
    pub attempts: i64,
}

/// What a turn decided, landed by [`Store::finish_turn`].
#[derive(Debug, Clone, Default)]
pub struct TurnWrite {
    /// Replies to queue, in order.
    pub messages: Vec<NewOutbound>,
    /// The pathway engine's new state (JSON), when a pathway ran.
    pub pathway_state: Option<String>,
    pub current_node_id: Option<String>,
    /// The conversation's variables after the turn (JSON object), when they changed.
    pub variables: Option<String>,
    /// A pathway switch (`Transfer Pathway`): the pathway the conversation follows now.
    pub pathway_id: Option<String>,
    pub pathway_version: Option<String>,
    /// The turn ended the conversation (End Call node).
    pub end: Option<EndStatus>,
    /// The turn reached a Transfer to Human node (its id): the conversation is handed off,
    /// as by `POST /v1/sms/conversations/{id}/handoff`, in the same transaction.
    pub handoff_node: Option<String>,
    /// The newest inbound message the turn answered.
    pub seen_message_id: i64,
    /// Tags of the nodes the turn visited (`{name, color}`), added to the conversation's
    /// `pathway_tags` once each by name.
    pub tags: Vec<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TurnFinish {
    /// Landed; the message ids queued.
    Done(Vec<i64>),
    /// The lease was lost (or the conversation is gone): nothing written.
    LeaseLost,
}

/// Asks for a turn on `conversation_id` (inside the caller's transaction).
pub(crate) async fn request_in(
    tx: &mut Transaction<'_, Any>,
    conversation_id: &str,
    org_id: &str,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO conversation_turns (conversation_id, org_id, requested, answered, due_at, updated_at) \
         VALUES ($1, $2, 1, 0, $3, $3) \
         ON CONFLICT (conversation_id) DO UPDATE SET requested = conversation_turns.requested + 1, \
         due_at = CASE WHEN conversation_turns.requested = conversation_turns.answered \
                  THEN excluded.due_at ELSE conversation_turns.due_at END, \
         updated_at = excluded.updated_at",
    )
    .bind(conversation_id)
    .bind(org_id)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

impl Store {
    /// Leases up to `limit` due turns for `owner` until `now + lease_ms`.
    pub async fn claim_turns(
        &self,
        owner: &str,
        now: i64,
        lease_ms: i64,
        limit: i64,
    ) -> Result<Vec<TurnClaim>> {
        let sql = format!(
            "UPDATE conversation_turns SET lease_owner = $1, lease_until = $2, attempts = attempts + 1 \
             WHERE conversation_id IN (SELECT conversation_id FROM conversation_turns \
               WHERE requested > answered AND due_at <= $3 AND (lease_until IS NULL OR lease_until < $3) \
               ORDER BY due_at LIMIT $4{}) \
             RETURNING conversation_id, org_id, requested, seen_message_id, attempts",
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
                Ok(TurnClaim {
                    conversation_id: r.try_get("conversation_id")?,
                    org_id: r.try_get("org_id")?,
                    requested: r.try_get("requested")?,
                    seen_message_id: r.try_get("seen_message_id")?,
                    attempts: r.try_get("attempts")?,
                })
            })
            .collect()
    }

    /// The conversation of a claimed turn with its visible messages, oldest first.
    pub async fn turn_inputs(
        &self,
        claim: &TurnClaim,
    ) -> Result<Option<(ConversationRow, Vec<MessageRow>)>> {
        let Some(c) = self
            .conversation(&claim.org_id, &claim.conversation_id)
            .await?
        else {
            return Ok(None);
        };
        let messages = self.conversation_messages(&c.id).await?;
        Ok(Some((c, messages)))
    }

    /// The conversation's stored pathway engine state (JSON), if a pathway ran on it.
    pub async fn pathway_state(&self, conversation_id: &str) -> Result<Option<String>> {
        let row = sqlx::query("SELECT pathway_state FROM conversations WHERE id = $1")
            .bind(conversation_id)
            .fetch_optional(&self.reader)
            .await?;
        Ok(match row {
            Some(r) => r.try_get("pathway_state")?,
            None => None,
        })
    }

    /// Lands a turn (see the module docs). Only while `owner` still holds the lease.
    pub async fn finish_turn(
        &self,
        claim: &TurnClaim,
        owner: &str,
        w: &TurnWrite,
        now: i64,
    ) -> Result<TurnFinish> {
        let mut tx = self.writer.begin().await?;
        let held = sqlx::query(
            "UPDATE conversation_turns SET answered = $1, seen_message_id = $2, lease_owner = NULL, \
             lease_until = NULL, attempts = 0, updated_at = $3 \
             WHERE conversation_id = $4 AND lease_owner = $5",
        )
        .bind(claim.requested)
        .bind(w.seen_message_id.max(claim.seen_message_id))
        .bind(now)
        .bind(&claim.conversation_id)
        .bind(owner)
        .execute(&mut *tx)
        .await?;
        if held.rows_affected() == 0 {
            tx.rollback().await?;
            return Ok(TurnFinish::LeaseLost);
        }
        let locked = format!(
            "SELECT * FROM conversations WHERE id = $1{}",
            self.dialect.for_update()
        );
        let Some(c) = sqlx::query_as::<_, ConversationRow>(&locked)
            .bind(&claim.conversation_id)
            .fetch_optional(&mut *tx)
            .await?
        else {
            tx.rollback().await?;
            return Ok(TurnFinish::LeaseLost);
        };
        let mut ids = Vec::with_capacity(w.messages.len());
        // A conversation that ended while the turn ran (opt-out, PATCH, timeout) gets no reply.
        if c.is_active == 1 {
            for m in &w.messages {
                ids.push(insert_outbound_on(&mut tx, &c, m, now).await?);
            }
            sqlx::query(
                "UPDATE conversations SET pathway_tags = COALESCE($7, pathway_tags), \
                 pathway_state = COALESCE($1, pathway_state), \
                 current_node_id = COALESCE($2, current_node_id), variables = COALESCE($3, variables), \
                 pathway_id = COALESCE($4, pathway_id), pathway_version = COALESCE($5, pathway_version) \
                 WHERE id = $6",
            )
            .bind(&w.pathway_state)
            .bind(&w.current_node_id)
            .bind(&w.variables)
            .bind(&w.pathway_id)
            .bind(&w.pathway_version)
            .bind(&c.id)
            .bind(merged_tags(c.pathway_tags.as_deref(), &w.tags))
            .execute(&mut *tx)
            .await?;
            let fresh = || {
                sqlx::query_as::<_, ConversationRow>("SELECT * FROM conversations WHERE id = $1")
                    .bind(&c.id)
            };
            if let Some(status) = w.end {
                let row = fresh().fetch_one(&mut *tx).await?;
                end_locked(&mut tx, row, status, now).await?;
            } else if let Some(node) = &w.handoff_node {
                let row = fresh().fetch_one(&mut *tx).await?;
                let req = HandoffRequest {
                    org_id: c.org_id.clone(),
                    conversation_id: c.id.clone(),
                    reason: Some("Transfer to Human node".into()),
                    actor: Some("pathway".into()),
                    metadata: Some(serde_json::json!({ "node_id": node })),
                    webhook: None,
                    alert: None,
                    now,
                };
                hand_off_locked(&mut tx, row, &req).await?;
            }
        }
        tx.commit().await?;
        Ok(TurnFinish::Done(ids))
    }

    /// Gives a leased turn back, to be tried again at `retry_at` (a failure worth retrying).
    pub async fn release_turn(&self, claim: &TurnClaim, owner: &str, retry_at: i64) -> Result<()> {
        sqlx::query(
            "UPDATE conversation_turns SET lease_owner = NULL, lease_until = NULL, due_at = $1 \
             WHERE conversation_id = $2 AND lease_owner = $3",
        )
        .bind(retry_at)
        .bind(&claim.conversation_id)
        .bind(owner)
        .execute(&self.writer)
        .await?;
        Ok(())
    }
}

/// `stored` with the `new` tags whose names it lacks appended; `None` when nothing changes.
fn merged_tags(stored: Option<&str>, new: &[serde_json::Value]) -> Option<String> {
    let mut tags: Vec<serde_json::Value> = stored
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or_default();
    let before = tags.len();
    for t in new {
        if !tags.iter().any(|old| old["name"] == t["name"]) {
            tags.push(t.clone());
        }
    }
    (tags.len() > before).then(|| serde_json::Value::Array(tags).to_string())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::merged_tags;

    #[test]
    fn tags_are_added_once_by_name_in_first_visit_order() {
        let a = json!({"name": "order", "color": "#f00"});
        let b = json!({"name": "vip"});
        assert_eq!(merged_tags(None, &[]), None);
        let first = merged_tags(None, &[a.clone(), a.clone()]).unwrap();
        assert_eq!(first, json!([a]).to_string());
        assert_eq!(merged_tags(Some(&first), std::slice::from_ref(&a)), None);
        assert_eq!(
            merged_tags(Some(&first), &[b.clone(), a.clone()]).unwrap(),
            json!([a, b]).to_string()
        );
    }
}
