//! The outbound queue: claiming due messages under per-sender pacing, and recording what
//! the carrier said.
//!
//! A claim is one write transaction. For every sender with due work it reads the sender's
//! pacing state, takes the oldest due messages that are each the head of their conversation
//! (so a conversation's messages leave in order), assigns each a send slot within the
//! horizon, and leases them until `slot + lease`. A worker that dies holding a lease simply
//! lets it expire; the message becomes claimable again. Attempts are counted at claim time,
//! so a message that crashes its worker every time still runs out of attempts.

use parley_domain::{capacity::DayClock, message_status::MessageStatus, pacing::Pacer};
use sqlx::Row;

use crate::{
    pacing::{self, PACING_KEY, POOL_MEMBERS},
    Result, Store,
};

#[derive(Debug, Clone)]
pub struct DispatchOptions {
    /// Identifies the claiming worker in leases.
    pub owner: String,
    pub now_ms: i64,
    /// How far ahead slots may be handed out in one claim.
    pub horizon_ms: i64,
    /// How long after its slot a claimed message stays leased.
    pub lease_ms: i64,
    /// Upper bound of messages claimed per sender per call.
    pub max_per_sender: i64,
    /// Upper bound of messages claimed in all: a worker must never claim more than it can
    /// start sending before the leases run out.
    pub max_total: i64,
    /// Where daily caps cut days, relative to UTC midnight (see `DayClock`).
    pub day_offset_ms: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Claimed {
    pub id: i64,
    pub org_id: String,
    pub conversation_id: String,
    pub from_number: String,
    pub to_number: String,
    pub body: String,
    pub channel: String,
    pub segments: i64,
    pub content_sid: Option<String>,
    pub content_variables: Option<String>,
    /// Attempts including this one.
    pub attempts: i64,
    /// When to hand the message to the carrier (epoch ms).
    pub scheduled_at: i64,
    pub carrier: String,
    /// The error the previous attempt ended with, or [`ABANDONED_ATTEMPT`] when its claim
    /// was never released. After an ambiguous one (a timeout, an abandoned claim) the
    /// carrier may already hold the message and must look before sending again.
    pub previous_error: Option<String>,
    pub created_at: i64,
    /// Set when a carrier callback already named the message (the send's answer was lost).
    pub provider_sid: Option<String>,
    /// Why Parley queued it itself (`warning`, `timeout`, `help`); `None` for sends and turns.
    #[sqlx(default)]
    pub purpose: Option<String>,
    /// The sending number's pool, when it sends through a messaging service.
    pub messaging_service_sid: Option<String>,
    /// The configured carrier account the sending number uses, if it names one.
    pub carrier_account: Option<String>,
}

/// What happened when a claimed message was handed to its carrier.
#[derive(Debug, Clone, PartialEq)]
pub enum DeliveryResult {
    Sent {
        provider_sid: String,
    },
    Retry {
        at_ms: i64,
        error_code: Option<String>,
    },
    Failed {
        status: MessageStatus,
        error_code: Option<String>,
    },
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatusCounts {
    pub queued: i64,
    pub due: i64,
}

/// Priorities within a sender's queue: live traffic (replies, single sends) goes ahead of
/// bulk work, so a user's reply is not stuck behind a batch on the same number.
pub const PRIORITY_LIVE: i64 = 0;
pub const PRIORITY_BATCH: i64 = -10;

/// `Claimed::previous_error` when the previous claim was never released: its worker died
/// (or gave up) holding the lease, perhaps after handing the message to the carrier. As
/// ambiguous as a timeout, so a carrier without idempotency looks before sending again.
pub const ABANDONED_ATTEMPT: &str = "ABANDONED_ATTEMPT";

impl Store {
    pub async fn claim_due_messages(&self, o: &DispatchOptions) -> Result<Vec<Claimed>> {
        let now_us = o.now_ms * 1000;
        let horizon_end_us = now_us + o.horizon_ms * 1000;
        let day_clock = DayClock {
            offset_ms: o.day_offset_ms,
        };
        let today = day_clock.day(o.now_ms);
        let mut tx = self.writer.begin().await?;
        // One pacing key per number, or per messaging service for pooled numbers.
        let keys: Vec<String> = sqlx::query(&format!(
            "SELECT DISTINCT {PACING_KEY} AS k FROM numbers n WHERE EXISTS (\
               SELECT 1 FROM messages m WHERE m.from_number = n.phone_number AND m.status = 'queued' \
               AND m.next_attempt_at <= $1 AND (m.lease_until IS NULL OR m.lease_until < $1)) \
             ORDER BY k"
        ))
        .bind(o.now_ms)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| r.try_get("k"))
        .collect::<std::result::Result<_, _>>()?;

        let mut claimed = Vec::new();
        for key in keys {
            let room = o.max_total - claimed.len() as i64;
            if room <= 0 {
                break;
            }
            let cap = pacing::capacity(&mut tx, &key).await?;
            let state = pacing::lock_state(&mut tx, self.dialect, &key).await?;
            let mut used = if state.day == today {
                state.day_segments
            } else {
                0
            };
            if cap.daily_cap.is_some_and(|c| used >= c) {
                continue;
            }
            let mut pacer = Pacer::new(state.next_free_us);
            let first = pacer.peek(now_us);
            if first > horizon_end_us {
                continue;
            }
            let fits = (horizon_end_us - first) / Pacer::cost_us(1, cap.mps).max(1) + 1;
            let limit = fits.min(o.max_per_sender).min(room).max(1);
            let lock = match self.dialect {
                crate::Dialect::Sqlite => "",
                crate::Dialect::Postgres => " FOR UPDATE OF m SKIP LOCKED",
            };
            // One query per pool member with `from_number = $1`: an `IN (pool)` would make
            // both backends sort the sender's whole queue (a million batch rows) on every
            // claim, while equality reads the first rows of the `(from_number, priority
            // DESC, id)` index. The members' heads are then merged in the same order.
            let sql = format!(
                "SELECT m.id, m.org_id, m.conversation_id, m.from_number, m.to_number, m.body, m.channel, m.segments, \
                 m.content_sid, m.content_variables, m.attempts + 1 AS attempts, m.priority AS scheduled_at, n.carrier, \
                 CASE WHEN m.lease_until IS NOT NULL THEN '{ABANDONED_ATTEMPT}' ELSE m.error_code END AS previous_error, m.created_at, m.provider_sid, m.purpose, n.messaging_service_sid, n.carrier_account \
                 FROM messages m JOIN numbers n ON n.phone_number = m.from_number \
                 WHERE m.from_number = $1 AND m.status = 'queued' AND m.next_attempt_at <= $2 \
                 AND (m.lease_until IS NULL OR m.lease_until < $2) \
                 AND NOT EXISTS (SELECT 1 FROM messages p WHERE p.conversation_id = m.conversation_id \
                                 AND p.status = 'queued' AND p.id < m.id) \
                 ORDER BY m.priority DESC, m.id LIMIT $3{lock}"
            );
            let members: Vec<String> = sqlx::query(POOL_MEMBERS)
                .bind(&key)
                .fetch_all(&mut *tx)
                .await?
                .iter()
                .map(|r| r.try_get("phone_number"))
                .collect::<std::result::Result<_, _>>()?;
            let mut candidates = Vec::new();
            for member in members {
                candidates.extend(
                    sqlx::query_as::<_, Claimed>(&sql)
                        .bind(&member)
                        .bind(o.now_ms)
                        .bind(limit)
                        .fetch_all(&mut *tx)
                        .await?,
                );
            }
            // `scheduled_at` carries the priority until the slot is assigned below.
            candidates.sort_by_key(|c| (-c.scheduled_at, c.id));
            candidates.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
            for mut c in candidates {
                let segments = u32::try_from(c.segments).unwrap_or(1);
                if pacer.peek(now_us) > horizon_end_us {
                    break;
                }
                // The day's allowance is spent: the rest waits for the next day. A message
                // larger than the whole cap still goes on a fresh day, or it would wait forever.
                if cap
                    .daily_cap
                    .is_some_and(|cap| used > 0 && used + c.segments > cap)
                {
                    break;
                }
                let slot_us = pacer.reserve(now_us, segments, cap.mps);
                used += c.segments;
                c.scheduled_at = slot_us.div_euclid(1000);
                sqlx::query(
                    "UPDATE messages SET lease_owner = $1, lease_until = $2, scheduled_at = $3, attempts = attempts + 1, \
                     updated_at = $4 WHERE id = $5",
                )
                .bind(&o.owner)
                .bind(c.scheduled_at + o.lease_ms)
                .bind(c.scheduled_at)
                .bind(o.now_ms)
                .bind(c.id)
                .execute(&mut *tx)
                .await?;
                claimed.push(c);
            }
            pacing::save_state(&mut tx, &key, pacer.next_free_us, today, used).await?;
        }
        tx.commit().await?;
        Ok(claimed)
    }

    /// Records the carrier's answer for a claimed message and releases its lease.
    pub async fn record_delivery(
        &self,
        id: i64,
        result: &DeliveryResult,
        now_ms: i64,
    ) -> Result<()> {
        let q = match result {
            // `queued` → `sent` only: a delivery report may already have moved it further.
            DeliveryResult::Sent { provider_sid } => sqlx::query(
                "UPDATE messages SET status = CASE WHEN status = 'queued' THEN 'sent' ELSE status END, \
                 provider_sid = $1, sent_at = $2, error_code = NULL, lease_owner = NULL, lease_until = NULL, \
                 next_attempt_at = NULL, updated_at = $2 WHERE id = $3",
            )
            .bind(provider_sid.clone())
            .bind(now_ms)
            .bind(id),
            DeliveryResult::Retry { at_ms, error_code } => sqlx::query(
                "UPDATE messages SET next_attempt_at = $1, error_code = $2, lease_owner = NULL, lease_until = NULL, \
                 updated_at = $3 WHERE id = $4 AND status = 'queued'",
            )
            .bind(*at_ms)
            .bind(error_code.clone())
            .bind(now_ms)
            .bind(id),
            DeliveryResult::Failed { status, error_code } => sqlx::query(
                "UPDATE messages SET status = $1, error_code = $2, lease_owner = NULL, lease_until = NULL, \
                 next_attempt_at = NULL, updated_at = $3 WHERE id = $4 AND status = 'queued'",
            )
            .bind(status.as_str())
            .bind(error_code.clone())
            .bind(now_ms)
            .bind(id),
        };
        let mut tx = self.writer.begin().await?;
        let was_queued = queued_locked(&mut tx, self.dialect, id).await?;
        q.execute(&mut *tx).await?;
        // The message left the queue: its message webhook goes out now (once, whichever
        // of the send's answer and a carrier callback comes first).
        if matches!(result, DeliveryResult::Sent { .. }) {
            crate::webhooks::enqueue_message(&mut tx, id, now_ms).await?;
            // An agent's turn went out: the inactivity clock starts now, unless a carrier
            // callback saw it leave the queue first and started it then. Arming twice would
            // re-arm a warning that may already have fired.
            if was_queued {
                crate::timers::arm_after_send(&mut tx, id, now_ms).await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// Gives back a claim that was never handed to the carrier (its slot passed before the
    /// worker got to it): the message is queued again, and the attempt is not counted.
    /// `previous_error` is what the claim said of the attempt before it (possibly
    /// [`ABANDONED_ATTEMPT`]): kept, so the next claim still knows to look for a copy.
    pub async fn release_claim(
        &self,
        id: i64,
        owner: &str,
        previous_error: Option<&str>,
        now_ms: i64,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE messages SET lease_owner = NULL, lease_until = NULL, attempts = attempts - 1, \
             error_code = $4, updated_at = $1 WHERE id = $2 AND status = 'queued' AND lease_owner = $3",
        )
        .bind(now_ms)
        .bind(id)
        .bind(owner)
        .bind(previous_error)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// Applies a carrier status report, never moving a message backwards. Returns whether
    /// the status changed.
    pub async fn apply_status_report(
        &self,
        id: i64,
        status: MessageStatus,
        error_code: Option<&str>,
        now_ms: i64,
    ) -> Result<bool> {
        let mut tx = self.writer.begin().await?;
        let was_queued = queued_locked(&mut tx, self.dialect, id).await?;
        let changed =
            crate::carrier::move_forward(&mut tx, id, status, error_code, now_ms, was_queued)
                .await?;
        tx.commit().await?;
        Ok(changed)
    }

    /// Queue depth for metrics and readiness: all queued messages, and those due now.
    pub async fn queue_depth(&self, now_ms: i64) -> Result<StatusCounts> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS queued, CAST(COALESCE(SUM(CASE WHEN next_attempt_at <= $1 THEN 1 ELSE 0 END), 0) AS BIGINT) AS due \
             FROM messages WHERE status = 'queued'",
        )
        .bind(now_ms)
        .fetch_one(&self.reader)
        .await?;
        Ok(StatusCounts {
            queued: row.try_get("queued")?,
            due: row.try_get::<i64, _>("due").unwrap_or(0),
        })
    }

    /// When the earliest queued message becomes due, if any (for the worker's sleep).
    pub async fn next_due_at(&self) -> Result<Option<i64>> {
        let row =
            sqlx::query("SELECT MIN(next_attempt_at) AS t FROM messages WHERE status = 'queued'")
                .fetch_one(&self.reader)
                .await?;
        Ok(row.try_get::<Option<i64>, _>("t")?)
    }
}

/// Whether message `id` is still `queued`, locking its row for the rest of the transaction
/// so the send's answer and a carrier callback agree on which of them took it out. Its
/// conversation's row is locked first, the order every writer of a conversation takes (the
/// webhook enqueued next locks it too), so the two locks cannot deadlock.
pub(crate) async fn queued_locked(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    dialect: crate::Dialect,
    id: i64,
) -> Result<bool> {
    let conversation: Option<String> =
        sqlx::query_scalar("SELECT conversation_id FROM messages WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?;
    if let Some(c) = conversation {
        sqlx::query(&format!(
            "SELECT id FROM conversations WHERE id = $1{}",
            dialect.for_update()
        ))
        .bind(c)
        .fetch_optional(&mut **tx)
        .await?;
    }
    let status: Option<Option<String>> = sqlx::query_scalar(&format!(
        "SELECT status FROM messages WHERE id = $1{}",
        dialect.for_update()
    ))
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(status.flatten().as_deref() == Some("queued"))
}

/// SQL expression for the rank of the `status` column, mirroring `MessageStatus::rank`.
pub(crate) fn rank_sql() -> String {
    let arms: String = MessageStatus::ALL
        .iter()
        .map(|s| format!(" WHEN '{}' THEN {}", s.as_str(), s.rank()))
        .collect();
    format!("(CASE status{arms} ELSE 0 END)")
}
