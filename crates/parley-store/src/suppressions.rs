//! The org's suppression list (users who opted out of an agent number).

use std::collections::HashSet;

use sqlx::{Any, Row, Transaction};

use crate::{Result, Store};

/// Whether `user` is on `agent`'s suppression list, as `tx` sees it (for writes that must
/// not queue a message to an opted-out user).
pub(crate) async fn is_suppressed_in(
    tx: &mut Transaction<'_, Any>,
    org_id: &str,
    agent: &str,
    user: &str,
) -> Result<bool> {
    Ok(sqlx::query(
        "SELECT 1 FROM suppressions WHERE org_id = $1 AND agent_number = $2 AND user_number = $3",
    )
    .bind(org_id)
    .bind(agent)
    .bind(user)
    .fetch_optional(&mut **tx)
    .await?
    .is_some())
}

/// Why a user is on the suppression list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SuppressionReason {
    /// The user texted STOP or an equivalent keyword.
    Keyword,
    /// The carrier refused a message because the user opted out there (Twilio 21610).
    Carrier,
}

impl SuppressionReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Keyword => "keyword",
            Self::Carrier => "carrier",
        }
    }
}

impl Store {
    /// Puts `user` on `agent`'s suppression list. Already there: unchanged (the first reason
    /// and time are kept). Returns whether the user was newly added.
    pub async fn suppress(
        &self,
        org_id: &str,
        agent: &str,
        user: &str,
        reason: SuppressionReason,
        now_ms: i64,
    ) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO suppressions (org_id, agent_number, user_number, reason, created_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        )
        .bind(org_id)
        .bind(agent)
        .bind(user)
        .bind(reason.as_str())
        .bind(now_ms)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Takes `user` off `agent`'s suppression list (the user opted back in). Returns whether
    /// the user was on it.
    pub async fn unsuppress(&self, org_id: &str, agent: &str, user: &str) -> Result<bool> {
        let done = sqlx::query(
            "DELETE FROM suppressions WHERE org_id = $1 AND agent_number = $2 AND user_number = $3",
        )
        .bind(org_id)
        .bind(agent)
        .bind(user)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn is_suppressed(&self, org_id: &str, agent: &str, user: &str) -> Result<bool> {
        Ok(!self
            .suppressed_among(org_id, agent, &[user.to_owned()])
            .await?
            .is_empty())
    }

    /// Which of `users` are on `agent`'s suppression list: one query per call, for checking a
    /// chunk of batch rows at once.
    pub async fn suppressed_among(
        &self,
        org_id: &str,
        agent: &str,
        users: &[String],
    ) -> Result<HashSet<String>> {
        let mut found = HashSet::new();
        // Bound the statement's parameter count (SQLite allows 32,766; stay far below).
        for chunk in users.chunks(500) {
            let params: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 3)).collect();
            let sql = format!(
                "SELECT user_number FROM suppressions \
                 WHERE org_id = $1 AND agent_number = $2 AND user_number IN ({})",
                params.join(", ")
            );
            let mut q = sqlx::query(&sql).bind(org_id).bind(agent);
            for u in chunk {
                q = q.bind(u);
            }
            for row in q.fetch_all(&self.reader).await? {
                found.insert(row.try_get::<String, _>("user_number")?);
            }
        }
        Ok(found)
    }
}
