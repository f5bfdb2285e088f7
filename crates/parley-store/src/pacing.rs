//! Senders' capacity: the pacing state each claim reads and writes, and the backlog the send
//! API and `/metrics` report.
//!
//! A *pacing key* is a number's phone number, or its messaging service SID when it sends
//! through one: Twilio picks the sender from the service's pool, so the pool's numbers share
//! one schedule at the sum of their rates (and of their daily caps, when all have one).

use parley_domain::capacity::{Backlog, DayClock};
use sqlx::{Any, Row, Transaction};

use crate::{Dialect, Result, Store};

/// SQL for a number's pacing key (`n` is the numbers row).
pub(crate) const PACING_KEY: &str = "COALESCE(n.messaging_service_sid, n.phone_number)";

/// SQL for the phone numbers paced under key `$1`.
pub(crate) const POOL_MEMBERS: &str =
    "SELECT phone_number FROM numbers WHERE phone_number = $1 OR messaging_service_sid = $1";

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Capacity {
    pub mps: f64,
    pub daily_cap: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PacingState {
    pub next_free_us: i64,
    pub day: i64,
    pub day_segments: i64,
}

/// A sender's backlog as of one read.
#[derive(Debug, Clone, PartialEq)]
pub struct SenderBacklog {
    /// The phone number, or the messaging service SID of a pool.
    pub pacing_key: String,
    pub backlog: Backlog,
}

const CAPACITY_SQL: &str = "SELECT SUM(mps) AS mps, COUNT(*) AS n, COUNT(daily_cap) AS capped, \
     CAST(COALESCE(SUM(daily_cap), 0) AS BIGINT) AS cap \
     FROM numbers WHERE phone_number = $1 OR messaging_service_sid = $1";

fn capacity_from(row: &sqlx::any::AnyRow) -> Result<Capacity> {
    let n: i64 = row.try_get("n")?;
    let capped: i64 = row.try_get("capped")?;
    let cap: i64 = row.try_get("cap")?;
    Ok(Capacity {
        mps: row.try_get::<Option<f64>, _>("mps")?.unwrap_or(1.0),
        // One uncapped member leaves the pool uncapped: its share has no limit to add.
        daily_cap: (n > 0 && capped == n).then_some(cap),
    })
}

pub(crate) async fn capacity(tx: &mut Transaction<'_, Any>, key: &str) -> Result<Capacity> {
    let row = sqlx::query(CAPACITY_SQL)
        .bind(key)
        .fetch_one(&mut **tx)
        .await?;
    capacity_from(&row)
}

/// Reads the key's pacing state, creating it, and on PostgreSQL locks it for the claim.
pub(crate) async fn lock_state(
    tx: &mut Transaction<'_, Any>,
    dialect: Dialect,
    key: &str,
) -> Result<PacingState> {
    sqlx::query("INSERT INTO sender_pacing (phone_number, next_free_us) VALUES ($1, 0) ON CONFLICT (phone_number) DO NOTHING")
        .bind(key)
        .execute(&mut **tx)
        .await?;
    let lock = match dialect {
        Dialect::Postgres => " FOR UPDATE",
        Dialect::Sqlite => "",
    };
    let row = sqlx::query(&format!(
        "SELECT next_free_us, day, day_segments FROM sender_pacing WHERE phone_number = $1{lock}"
    ))
    .bind(key)
    .fetch_one(&mut **tx)
    .await?;
    Ok(PacingState {
        next_free_us: row.try_get("next_free_us")?,
        day: row.try_get("day")?,
        day_segments: row.try_get("day_segments")?,
    })
}

pub(crate) async fn save_state(
    tx: &mut Transaction<'_, Any>,
    key: &str,
    next_free_us: i64,
    day: i64,
    day_segments: i64,
) -> Result<()> {
    sqlx::query("UPDATE sender_pacing SET next_free_us = $1, day = $2, day_segments = $3 WHERE phone_number = $4")
        .bind(next_free_us)
        .bind(day)
        .bind(day_segments)
        .bind(key)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

impl Store {
    /// The backlog of the sender `phone_number` sends under (its own, or its pool's).
    /// `None` when the number does not exist.
    pub async fn sender_backlog(
        &self,
        phone_number: &str,
        now_ms: i64,
        days: DayClock,
    ) -> Result<Option<SenderBacklog>> {
        let key: Option<String> = sqlx::query(&format!(
            "SELECT {PACING_KEY} AS k FROM numbers n WHERE n.phone_number = $1"
        ))
        .bind(phone_number)
        .fetch_optional(&self.reader)
        .await?
        .map(|r| r.try_get("k"))
        .transpose()?;
        match key {
            Some(k) => Ok(Some(self.backlog_of(k, now_ms, days).await?)),
            None => Ok(None),
        }
    }

    /// Every sender with queued messages or slots still ahead, for `/metrics`.
    pub async fn sender_backlogs(&self, now_ms: i64, days: DayClock) -> Result<Vec<SenderBacklog>> {
        let keys: Vec<String> = sqlx::query(&format!(
            "SELECT DISTINCT {PACING_KEY} AS k FROM numbers n WHERE EXISTS (\
               SELECT 1 FROM messages m WHERE m.from_number = n.phone_number AND m.status = 'queued') \
             OR EXISTS (SELECT 1 FROM sender_pacing p WHERE p.phone_number = {PACING_KEY} AND p.next_free_us > $1) \
             ORDER BY k"
        ))
        .bind(now_ms * 1000)
        .fetch_all(&self.reader)
        .await?
        .iter()
        .map(|r| r.try_get("k"))
        .collect::<std::result::Result<_, _>>()?;
        let mut out = Vec::with_capacity(keys.len());
        for k in keys {
            out.push(self.backlog_of(k, now_ms, days).await?);
        }
        Ok(out)
    }

    async fn backlog_of(&self, key: String, now_ms: i64, days: DayClock) -> Result<SenderBacklog> {
        let cap = capacity_from(
            &sqlx::query(CAPACITY_SQL)
                .bind(&key)
                .fetch_one(&self.reader)
                .await?,
        )?;
        // Messages already holding a lease have their slot inside `next_free_us`.
        let queued: i64 = sqlx::query(&format!(
            "SELECT CAST(COALESCE(SUM(segments), 0) AS BIGINT) AS s FROM messages \
             WHERE from_number IN ({POOL_MEMBERS}) AND status = 'queued' \
             AND (lease_until IS NULL OR lease_until < $2)"
        ))
        .bind(&key)
        .bind(now_ms)
        .fetch_one(&self.reader)
        .await?
        .try_get("s")?;
        let state = sqlx::query(
            "SELECT next_free_us, day, day_segments FROM sender_pacing WHERE phone_number = $1",
        )
        .bind(&key)
        .fetch_optional(&self.reader)
        .await?;
        let (next_free_us, day, day_segments) = match state {
            Some(r) => (
                r.try_get("next_free_us")?,
                r.try_get("day")?,
                r.try_get("day_segments")?,
            ),
            None => (0, 0, 0),
        };
        let today = days.day(now_ms);
        Ok(SenderBacklog {
            pacing_key: key,
            backlog: Backlog {
                next_free_us,
                queued_segments: queued,
                mps: cap.mps,
                daily_cap: cap.daily_cap,
                day_segments: if day == today { day_segments } else { 0 },
                day_end_us: days.start_ms(today + 1) * 1000,
            },
        })
    }
}
