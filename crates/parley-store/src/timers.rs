//! Inactivity timers (spec 7.5) as rows in `conversation_timers`.
//!
//! - Armed when an agent message is actually sent (`record_delivery` records `sent`), from
//!   the effective settings: the conversation's overrides, else its number's channel config
//!   (`TimeoutSettings::over`, `TimeoutSettings::plan`). Timer messages (`purpose` warning or
//!   timeout) do not re-arm.
//! - Cancelled in the transaction of a user reply, of the end, or of a suspension (handoff).
//!   Never armed nor fired while the conversation is handed off; resume re-arms them.
//! - Fired by claiming due rows and then, in one transaction, deleting the row *if it is
//!   still the same* (a reply may have deleted or re-armed it meanwhile) and acting: the
//!   warning queues `warning_message`; the timeout queues `timeout_message` (when set) and
//!   ends the conversation `timeout`. A reply stored before that transaction wins, so no
//!   warning goes out after a reply.

use parley_domain::{segments, timeouts::TimeoutSettings};
use sqlx::{Any, Row, Transaction};

use crate::{
    conversations::{insert_outbound_on, ConversationRow, NewOutbound},
    lifecycle::{end_locked, lock_conversation},
    webhooks::payload::number_config,
    EndStatus, Result, Store, PRIORITY_LIVE,
};

/// A due timer the worker claimed.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DueTimer {
    pub id: i64,
    pub conversation_id: String,
    pub org_id: String,
    /// `warning` or `timeout`.
    pub kind: String,
    pub due_at: i64,
}

/// What firing a timer did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimerFired {
    /// Queued the warning message (its id).
    Warning(i64),
    /// Ended the conversation `timeout`, queueing the timeout message when one is set.
    TimedOut(Option<i64>),
    /// Nothing: the timer was cancelled or re-armed since the claim, or the conversation
    /// had already ended.
    Skipped,
}

/// The settings that apply to `c`: its own overrides, then its number's channel config.
async fn effective(tx: &mut Transaction<'_, Any>, c: &ConversationRow) -> Result<TimeoutSettings> {
    let number = number_config(tx, c)
        .await?
        .map(|n| n.timeouts())
        .unwrap_or_default();
    Ok(c.timeouts().over(&number))
}

/// Deletes the conversation's pending timers.
pub(crate) async fn cancel(tx: &mut Transaction<'_, Any>, conversation_id: &str) -> Result<()> {
    sqlx::query("DELETE FROM conversation_timers WHERE conversation_id = $1")
        .bind(conversation_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// (Re)arms `c`'s timers from `from_ms`: replaces whatever was pending.
pub(crate) async fn arm(
    tx: &mut Transaction<'_, Any>,
    c: &ConversationRow,
    from_ms: i64,
) -> Result<()> {
    cancel(tx, &c.id).await?;
    let plan = effective(tx, c).await?.plan(from_ms);
    for (kind, due) in [("warning", plan.warning_at), ("timeout", plan.timeout_at)] {
        if let Some(due) = due {
            sqlx::query(
                "INSERT INTO conversation_timers (conversation_id, org_id, kind, due_at, created_at) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(&c.id)
            .bind(&c.org_id)
            .bind(kind)
            .bind(due)
            .bind(from_ms)
            .execute(&mut **tx)
            .await?;
        }
    }
    Ok(())
}

/// Outbound message `message_id` was sent at `sent_at`: when it is an agent's turn, the
/// clock starts now. Not when the user already answered it (a reply stored after it was
/// queued), nor on an ended or handed-off conversation.
pub(crate) async fn arm_after_send(
    tx: &mut Transaction<'_, Any>,
    message_id: i64,
    sent_at: i64,
) -> Result<()> {
    let Some(m) = sqlx::query(
        "SELECT conversation_id FROM messages WHERE id = $1 AND direction = 'outbound' AND sender = 'AGENT' \
         AND purpose IS NULL",
    )
    .bind(message_id)
    .fetch_optional(&mut **tx)
    .await?
    else {
        return Ok(());
    };
    let conversation_id: String = m.try_get("conversation_id")?;
    let answered = sqlx::query(
        "SELECT 1 AS x FROM messages WHERE conversation_id = $1 AND direction = 'inbound' AND id > $2",
    )
    .bind(&conversation_id)
    .bind(message_id)
    .fetch_optional(&mut **tx)
    .await?;
    if answered.is_some() {
        return Ok(());
    }
    // A handed-off conversation's timers stay suspended, even when someone sends as AGENT.
    let c = sqlx::query_as::<_, ConversationRow>(
        "SELECT * FROM conversations WHERE id = $1 AND is_active = 1 AND handed_off_at IS NULL",
    )
    .bind(&conversation_id)
    .fetch_optional(&mut **tx)
    .await?;
    match c {
        Some(c) => arm(tx, &c, sent_at).await,
        None => Ok(()),
    }
}

impl Store {
    /// Claims due timers, leased until `now + lease_ms`. A conversation's timers go one at a
    /// time, earliest first: a warning held by a node that died is not overtaken by the
    /// timeout (which would end the conversation, and the warning would never go out).
    pub async fn claim_timers(&self, now: i64, lease_ms: i64, limit: i64) -> Result<Vec<DueTimer>> {
        let sql = format!(
            "UPDATE conversation_timers SET lease_until = $1 WHERE id IN (SELECT t.id FROM conversation_timers t \
             WHERE t.due_at <= $2 AND (t.lease_until IS NULL OR t.lease_until < $2) \
             AND NOT EXISTS (SELECT 1 FROM conversation_timers p WHERE p.conversation_id = t.conversation_id \
                             AND (p.due_at < t.due_at OR (p.due_at = t.due_at AND p.id < t.id))) \
             ORDER BY t.due_at, t.id LIMIT $3{}) \
             RETURNING id, conversation_id, org_id, kind, due_at",
            self.dialect.skip_locked()
        );
        Ok(sqlx::query_as::<_, DueTimer>(&sql)
            .bind(now + lease_ms)
            .bind(now)
            .bind(limit)
            .fetch_all(&self.writer)
            .await?)
    }

    /// Fires a claimed timer (see the module doc), all in one transaction.
    pub async fn fire_timer(&self, t: &DueTimer, now: i64) -> Result<TimerFired> {
        let mut tx = self.writer.begin().await?;
        // Still the timer we claimed? A reply deletes it; a new agent message re-arms it.
        let gone = sqlx::query("DELETE FROM conversation_timers WHERE id = $1 AND due_at = $2")
            .bind(t.id)
            .bind(t.due_at)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            == 0;
        let locked = if gone {
            None
        } else {
            lock_conversation(&mut tx, self.dialect, &t.org_id, &t.conversation_id).await?
        };
        let Some(c) = locked.filter(|c| c.is_active == 1 && c.handed_off_at.is_none()) else {
            tx.commit().await?;
            return Ok(TimerFired::Skipped);
        };
        let settings = effective(&mut tx, &c).await?;
        let fired = if t.kind == "warning" {
            match settings.warning_message.filter(|m| !m.trim().is_empty()) {
                Some(text) => TimerFired::Warning(queue(&mut tx, &c, text, "warning", now).await?),
                None => TimerFired::Skipped,
            }
        } else {
            let message = match settings.timeout_message.filter(|m| !m.trim().is_empty()) {
                Some(text) => Some(queue(&mut tx, &c, text, "timeout", now).await?),
                None => None,
            };
            end_locked(&mut tx, c, EndStatus::Timeout, now).await?;
            TimerFired::TimedOut(message)
        };
        tx.commit().await?;
        Ok(fired)
    }

    /// Suspends one of the org's conversations' timers (handoff to a human): they are
    /// deleted; [`Store::rearm_timers`] starts them afresh. Returns whether the
    /// conversation exists.
    pub async fn suspend_timers(&self, org_id: &str, conversation_id: &str) -> Result<bool> {
        let mut tx = self.writer.begin().await?;
        let found = self
            .conversation_in_org(&mut tx, org_id, conversation_id)
            .await?;
        if found.is_some() {
            cancel(&mut tx, conversation_id).await?;
        }
        tx.commit().await?;
        Ok(found.is_some())
    }

    /// Re-arms an active conversation's timers from `now` (resume after a handoff), as if
    /// the agent had just spoken. Returns whether the conversation exists.
    pub async fn rearm_timers(
        &self,
        org_id: &str,
        conversation_id: &str,
        now: i64,
    ) -> Result<bool> {
        let mut tx = self.writer.begin().await?;
        let found = self
            .conversation_in_org(&mut tx, org_id, conversation_id)
            .await?;
        if let Some(c) = found.as_ref().filter(|c| c.is_active == 1) {
            arm(&mut tx, c, now).await?;
        }
        tx.commit().await?;
        Ok(found.is_some())
    }

    /// When the earliest timer falls due (the worker's sleep), and how many are pending.
    pub async fn timer_stats(&self) -> Result<(Option<i64>, i64)> {
        let row = sqlx::query("SELECT MIN(due_at) AS t, COUNT(*) AS n FROM conversation_timers")
            .fetch_one(&self.reader)
            .await?;
        Ok((row.try_get::<Option<i64>, _>("t")?, row.try_get("n")?))
    }

    async fn conversation_in_org(
        &self,
        tx: &mut Transaction<'_, Any>,
        org_id: &str,
        id: &str,
    ) -> Result<Option<ConversationRow>> {
        lock_conversation(tx, self.dialect, org_id, id).await
    }
}

/// Queues a message Parley itself sends on `c` (from its agent number, on its channel),
/// marked with why (`warning`, `timeout`, `help`): a timer's message or a HELP answer.
pub(crate) async fn queue(
    tx: &mut Transaction<'_, Any>,
    c: &ConversationRow,
    text: String,
    purpose: &str,
    now: i64,
) -> Result<i64> {
    let count = segments::count(&text);
    let id = insert_outbound_on(
        tx,
        c,
        &NewOutbound {
            body: text,
            sender: "AGENT".into(),
            encoding: count.encoding.as_str().into(),
            segments: i64::from(count.segments),
            content_sid: None,
            content_variables: None,
            priority: PRIORITY_LIVE,
        },
        now,
    )
    .await?;
    sqlx::query("UPDATE messages SET purpose = $1 WHERE id = $2")
        .bind(purpose)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(id)
}
