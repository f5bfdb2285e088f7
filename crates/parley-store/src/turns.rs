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

mod effects;

pub(crate) use effects::{apply as apply_pathway_write, conversation_in};
pub use effects::{Elsewhere, PathwayWrite};

use crate::{
    conversations::{insert_outbound_on, ConversationRow, MessageRow, NewOutbound},
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
    /// What the pathway run writes besides the replies (state, an end, a handoff, …), when
    /// a pathway ran.
    pub pathway: Option<PathwayWrite>,
    /// The newest inbound message the turn answered.
    pub seen_message_id: i64,
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
            if let Some(p) = &w.pathway {
                ids.extend(effects::apply(&mut tx, &c, p, now).await?);
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
