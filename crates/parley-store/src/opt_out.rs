//! Opting out and back in, each in one transaction with what it belongs to: the inbound
//! STOP message is stored (with its message webhook), the user goes on the suppression
//! list, and the conversation ends `blacklisted` (with its status webhook), or none of it.

use sqlx::Row;

use crate::{
    conversations::{record_inbound_in, InboundMessage, InboundOutcome, ReplyDecision},
    lifecycle::{end_locked, lock_conversation},
    EndStatus, Result, Store, SuppressionReason,
};

/// What an inbound keyword message does besides being stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InboundKeyword {
    /// Suppress the user and end the conversation `blacklisted`.
    OptOut,
    /// Take the user off the suppression list.
    OptIn,
}

impl Store {
    /// Stores an inbound keyword message on the pair's active conversation (created when
    /// there is none) and acts on it, all in one transaction. The agent never answers a
    /// keyword: the decision is `OptedOut` or `OptedIn`.
    pub async fn record_inbound_keyword(
        &self,
        m: &InboundMessage,
        media: Option<&serde_json::Value>,
        keyword: InboundKeyword,
    ) -> Result<InboundOutcome> {
        let mut tx = self.writer.begin().await?;
        let (conversation_id, message_id) = record_inbound_in(&mut tx, m, media).await?;
        match keyword {
            InboundKeyword::OptOut => {
                suppress_in(
                    &mut tx,
                    &m.org_id,
                    &m.agent_number,
                    &m.user_number,
                    SuppressionReason::Keyword,
                    m.now,
                )
                .await?;
                if let Some(c) =
                    lock_conversation(&mut tx, self.dialect, &m.org_id, &conversation_id).await?
                {
                    end_locked(&mut tx, c, EndStatus::Blacklisted, m.now).await?;
                }
            }
            InboundKeyword::OptIn => {
                sqlx::query(
                    "DELETE FROM suppressions WHERE org_id = $1 AND agent_number = $2 AND user_number = $3",
                )
                .bind(&m.org_id)
                .bind(&m.agent_number)
                .bind(&m.user_number)
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        Ok(InboundOutcome {
            conversation_id,
            message_id,
            reply: match keyword {
                InboundKeyword::OptOut => ReplyDecision::OptedOut,
                InboundKeyword::OptIn => ReplyDecision::OptedIn,
            },
        })
    }

    /// The carrier refused outbound message `message_id` because its recipient opted out
    /// there (Twilio 21610): the recipient goes on the sender's suppression list and the
    /// message's conversation ends `blacklisted`, in one transaction. Returns whether the
    /// message exists.
    pub async fn carrier_opt_out(&self, message_id: i64, now: i64) -> Result<bool> {
        let mut tx = self.writer.begin().await?;
        let Some(row) = sqlx::query(
            "SELECT org_id, from_number, to_number, conversation_id FROM messages WHERE id = $1 AND direction = 'outbound'",
        )
        .bind(message_id)
        .fetch_optional(&mut *tx)
        .await?
        else {
            tx.rollback().await?;
            return Ok(false);
        };
        let org_id: String = row.try_get("org_id")?;
        let agent: String = row.try_get("from_number")?;
        let user: String = row.try_get("to_number")?;
        let conversation_id: String = row.try_get("conversation_id")?;
        suppress_in(
            &mut tx,
            &org_id,
            &agent,
            &user,
            SuppressionReason::Carrier,
            now,
        )
        .await?;
        if let Some(c) = lock_conversation(&mut tx, self.dialect, &org_id, &conversation_id).await?
        {
            end_locked(&mut tx, c, EndStatus::Blacklisted, now).await?;
        }
        tx.commit().await?;
        Ok(true)
    }
}

async fn suppress_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    org_id: &str,
    agent: &str,
    user: &str,
    reason: SuppressionReason,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO suppressions (org_id, agent_number, user_number, reason, created_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
    )
    .bind(org_id)
    .bind(agent)
    .bind(user)
    .bind(reason.as_str())
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
