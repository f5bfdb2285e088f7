//! Ending a conversation: the one place every end trigger goes through (timeout, a
//! pathway's End Call node, opt-out, `PATCH is_active:false`), so a conversation ends
//! exactly once however many triggers race.

use sqlx::{Any, Transaction};

use crate::{conversations::ConversationRow, Dialect, Result, Store};

/// Why a conversation ended; also the `status` of its status webhook.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndStatus {
    /// A pathway's End Call node.
    Ended,
    /// The user stayed silent past `time_out` (also sets `timed_out_at`).
    Timeout,
    /// The user opted out (STOP keyword or the carrier's opt-out signal).
    Blacklisted,
    /// `PATCH /v1/sms/conversations/{id}` with `is_active:false`.
    Inactive,
}

impl EndStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ended => "ended",
            Self::Timeout => "timeout",
            Self::Blacklisted => "blacklisted",
            Self::Inactive => "inactive",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndOutcome {
    /// This call ended it; the row as it now is.
    Ended(Box<ConversationRow>),
    /// It had already ended (another trigger won); nothing changed, nothing was enqueued.
    AlreadyEnded(Box<ConversationRow>),
    NotFound,
}

impl Store {
    /// Ends one of the org's conversations with `status`, in one transaction: marks it
    /// inactive with `ended_reason` and `ended_at` (and `timed_out_at` for a timeout),
    /// cancels its pending timers and queues its end-of-conversation pipeline
    /// ([`crate::endings`]), which sends its one status webhook. A conversation that already ended is left as it is.
    pub async fn end_conversation(
        &self,
        org_id: &str,
        conversation_id: &str,
        status: EndStatus,
        now: i64,
    ) -> Result<EndOutcome> {
        let mut tx = self.writer.begin().await?;
        let Some(c) = lock_conversation(&mut tx, self.dialect, org_id, conversation_id).await?
        else {
            tx.rollback().await?;
            return Ok(EndOutcome::NotFound);
        };
        let outcome = end_locked(&mut tx, c, status, now).await?;
        tx.commit().await?;
        Ok(outcome)
    }
}

pub(crate) async fn lock_conversation(
    tx: &mut Transaction<'_, Any>,
    dialect: Dialect,
    org_id: &str,
    id: &str,
) -> Result<Option<ConversationRow>> {
    let sql = format!(
        "SELECT * FROM conversations WHERE org_id = $1 AND id = $2{}",
        dialect.for_update()
    );
    Ok(sqlx::query_as::<_, ConversationRow>(&sql)
        .bind(org_id)
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?)
}

/// Ends `c`, which the caller read under a row lock (PostgreSQL) or inside the single
/// writer's transaction (SQLite), so two triggers cannot both see it active.
pub(crate) async fn end_locked(
    tx: &mut Transaction<'_, Any>,
    c: ConversationRow,
    status: EndStatus,
    now: i64,
) -> Result<EndOutcome> {
    if c.is_active == 0 {
        return Ok(EndOutcome::AlreadyEnded(Box::new(c)));
    }
    sqlx::query(
        "UPDATE conversations SET is_active = 0, ended_reason = $1, ended_at = $2, updated_at = $2, \
         timed_out_at = CASE WHEN $1 = 'timeout' THEN $2 ELSE timed_out_at END WHERE id = $3",
    )
    .bind(status.as_str())
    .bind(now)
    .bind(&c.id)
    .execute(&mut **tx)
    .await?;
    crate::timers::cancel(tx, &c.id).await?;
    // The status webhook waits for the summary, citations and outcomes (spec 7.6).
    crate::endings::enqueue(tx, &c, status.as_str(), now).await?;
    let row = sqlx::query_as::<_, ConversationRow>("SELECT * FROM conversations WHERE id = $1")
        .bind(&c.id)
        .fetch_one(&mut **tx)
        .await?;
    Ok(EndOutcome::Ended(Box::new(row)))
}
