//! Changing and removing conversations and messages: activation, permanent delete, soft
//! delete of messages, hiding a pair's messages from the agent, and reading a pair's history.
//! Every operation is scoped to one org in its SQL, so a foreign id is simply not found.

use sqlx::Row;

use super::{ConversationRow, MessageRow, MESSAGE_COLUMNS};
use crate::{Result, Store, StoreError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetActiveOutcome {
    Updated(Box<ConversationRow>),
    NotFound,
    /// Reactivating would make a second active conversation for the pair; this one is.
    PairBusy {
        active_id: String,
    },
}

impl Store {
    /// Opens or closes a conversation. Closing marks it `inactive` so the next inbound text
    /// starts a new conversation; reopening clears the end (including a timeout) so it
    /// answers again. Setting the state it already has changes nothing.
    pub async fn set_conversation_active(
        &self,
        org_id: &str,
        id: &str,
        active: bool,
        now: i64,
    ) -> Result<SetActiveOutcome> {
        let mut tx = self.writer.begin().await?;
        let sql = format!(
            "SELECT * FROM conversations WHERE org_id = $1 AND id = $2{}",
            self.dialect.for_update()
        );
        let Some(c) = sqlx::query_as::<_, ConversationRow>(&sql)
            .bind(org_id)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
        else {
            return Ok(SetActiveOutcome::NotFound);
        };
        if (c.is_active != 0) == active {
            tx.commit().await?;
            return Ok(SetActiveOutcome::Updated(Box::new(c)));
        }
        if !active {
            // Closing is an end like any other: one status webhook (`inactive`).
            let ended =
                crate::lifecycle::end_locked(&mut tx, c, crate::EndStatus::Inactive, now).await?;
            tx.commit().await?;
            return Ok(match ended {
                crate::EndOutcome::Ended(row) | crate::EndOutcome::AlreadyEnded(row) => {
                    SetActiveOutcome::Updated(row)
                }
                crate::EndOutcome::NotFound => SetActiveOutcome::NotFound,
            });
        }
        let update =
            "UPDATE conversations SET is_active = 1, ended_reason = NULL, ended_at = NULL, \
             timed_out_at = NULL, updated_at = $1 WHERE id = $2";
        let res = sqlx::query(update)
            .bind(now)
            .bind(&c.id)
            .execute(&mut *tx)
            .await;
        match res.map_err(StoreError::from) {
            Ok(_) => {}
            // The partial unique index refuses a second active conversation for the pair.
            Err(StoreError::Conflict(_)) => {
                tx.rollback().await?;
                let active_id = sqlx::query(
                    "SELECT id FROM conversations WHERE org_id = $1 AND agent_number = $2 AND user_number = $3 \
                     AND channel = $4 AND is_active = 1",
                )
                .bind(org_id)
                .bind(&c.agent_number)
                .bind(&c.user_number)
                .bind(&c.channel)
                .fetch_optional(&self.writer)
                .await?
                .map(|r| r.try_get::<String, _>("id"))
                .transpose()?
                .unwrap_or_default();
                return Ok(SetActiveOutcome::PairBusy { active_id });
            }
            Err(e) => return Err(e),
        }
        let updated =
            sqlx::query_as::<_, ConversationRow>("SELECT * FROM conversations WHERE id = $1")
                .bind(&c.id)
                .fetch_one(&mut *tx)
                .await?;
        tx.commit().await?;
        Ok(SetActiveOutcome::Updated(Box::new(updated)))
    }

    /// Deletes a conversation and all its messages for good. Returns how many messages went
    /// with it, or `None` when the org has no such conversation.
    pub async fn delete_conversation(&self, org_id: &str, id: &str) -> Result<Option<u64>> {
        let mut tx = self.writer.begin().await?;
        let messages = sqlx::query(
            "DELETE FROM messages WHERE conversation_id IN \
             (SELECT id FROM conversations WHERE org_id = $1 AND id = $2)",
        )
        .bind(org_id)
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let deleted = sqlx::query("DELETE FROM conversations WHERE org_id = $1 AND id = $2")
            .bind(org_id)
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok((deleted > 0).then_some(messages))
    }

    /// Marks messages of one conversation deleted. Ids of other conversations (or orgs), and
    /// messages already deleted, are not counted. Returns the number newly deleted, or
    /// `None` when the org has no such conversation.
    pub async fn soft_delete_messages(
        &self,
        org_id: &str,
        conversation_id: &str,
        message_ids: &[i64],
        now: i64,
    ) -> Result<Option<u64>> {
        let mut tx = self.writer.begin().await?;
        let found = sqlx::query("SELECT id FROM conversations WHERE org_id = $1 AND id = $2")
            .bind(org_id)
            .bind(conversation_id)
            .fetch_optional(&mut *tx)
            .await?;
        if found.is_none() {
            return Ok(None);
        }
        let mut ids = message_ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        if ids.is_empty() {
            return Ok(Some(0));
        }
        let placeholders: Vec<String> = (0..ids.len()).map(|i| format!("${}", i + 4)).collect();
        let sql = format!(
            "UPDATE messages SET deleted_at = $1, updated_at = $1 WHERE org_id = $2 AND conversation_id = $3 \
             AND deleted_at IS NULL AND id IN ({})",
            placeholders.join(", ")
        );
        let mut q = sqlx::query(&sql)
            .bind(now)
            .bind(org_id)
            .bind(conversation_id);
        for id in &ids {
            q = q.bind(*id);
        }
        let deleted = q.execute(&mut *tx).await?.rows_affected();
        if deleted > 0 {
            // Counts and the last-message time describe the visible history.
            sqlx::query(
                "UPDATE conversations SET updated_at = $1, \
                 message_count = (SELECT COUNT(*) FROM messages WHERE conversation_id = $2 AND deleted_at IS NULL), \
                 last_message_at = (SELECT MAX(created_at) FROM messages WHERE conversation_id = $2 AND deleted_at IS NULL) \
                 WHERE id = $2",
            )
            .bind(now)
            .bind(conversation_id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(Some(deleted))
    }

    /// Hides every visible message between two numbers (either direction, every channel and
    /// conversation of the org) from the agent's context. Returns how many were newly hidden.
    pub async fn hide_pair_from_ai(&self, org_id: &str, a: &str, b: &str) -> Result<u64> {
        let r = sqlx::query(&format!(
            "UPDATE messages SET hidden_from_ai = 1 WHERE hidden_from_ai = 0 AND deleted_at IS NULL \
             AND conversation_id IN ({PAIR_CONVERSATIONS})"
        ))
        .bind(org_id)
        .bind(a)
        .bind(b)
        .execute(&self.writer)
        .await?;
        Ok(r.rows_affected())
    }

    /// The newest `limit` visible messages between two numbers (either direction, every
    /// conversation of the org), oldest first.
    pub async fn pair_messages(
        &self,
        org_id: &str,
        a: &str,
        b: &str,
        limit: i64,
    ) -> Result<Vec<MessageRow>> {
        let sql = format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages WHERE deleted_at IS NULL \
             AND conversation_id IN ({PAIR_CONVERSATIONS}) ORDER BY id DESC LIMIT $4"
        );
        let mut rows = sqlx::query_as::<_, MessageRow>(&sql)
            .bind(org_id)
            .bind(a)
            .bind(b)
            .bind(limit)
            .fetch_all(&self.reader)
            .await?;
        rows.reverse();
        Ok(rows)
    }
}

/// The org's conversations between `$2` and `$3`, whichever is the agent.
const PAIR_CONVERSATIONS: &str = "SELECT id FROM conversations WHERE org_id = $1 AND \
     ((agent_number = $2 AND user_number = $3) OR (agent_number = $3 AND user_number = $2))";
