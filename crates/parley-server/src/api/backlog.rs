//! Senders' backlogs as the send API and `/metrics` see them.
//!
//! Summing a sender's queued segments on every send would cost a scan of its whole queue
//! (36,000 rows for a long code ten hours behind). The send API instead reads a sender's
//! backlog at most once per `pacing.backlog_cache_ms` and adds the segments it queues itself
//! in between, so its figure is exact on one node and lags other nodes' sends by at most
//! that interval.

use std::{
    collections::{HashMap, HashSet},
    sync::Mutex,
};

use parley_store::SenderBacklog;

use super::error::ApiError;
use crate::app::AppState;

#[derive(Default)]
pub struct BacklogCache {
    /// By sending phone number (a pool's numbers each have their entry).
    entries: Mutex<HashMap<String, (i64, SenderBacklog)>>,
    /// Senders whose backlog one request is re-reading right now. The read scans the
    /// sender's queue, so when an entry expires under load only one request pays for it and
    /// the others keep using the expired figure meanwhile (it lags by one read at most),
    /// instead of every concurrent send scanning the same queue at once.
    refreshing: Mutex<HashSet<String>>,
    /// Senders `/metrics` reported last time, so one that drained is reported as 0.
    exported: Mutex<HashSet<String>>,
}

const MAX_ENTRIES: usize = 10_000;

/// One request's claim to re-read a sender's backlog; released when dropped, also when the
/// request is cancelled mid-read.
struct Refresh<'a> {
    set: &'a Mutex<HashSet<String>>,
    key: String,
}

impl<'a> Refresh<'a> {
    /// `None` when another request is already re-reading `key`.
    fn start(set: &'a Mutex<HashSet<String>>, key: &str) -> Option<Self> {
        let fresh = set
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key.to_owned());
        fresh.then(|| Self {
            set,
            key: key.to_owned(),
        })
    }
}

impl Drop for Refresh<'_> {
    fn drop(&mut self) {
        self.set
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.key);
    }
}

impl BacklogCache {
    async fn get(
        &self,
        state: &AppState,
        phone_number: &str,
    ) -> Result<Option<SenderBacklog>, ApiError> {
        let now = state.clock.now_ms();
        let ttl = state.config.pacing.backlog_cache_ms;
        let stale = {
            let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
            match entries.get(phone_number) {
                Some((read_at, b)) if now - read_at < ttl => return Ok(Some(b.clone())),
                other => other.map(|(_, b)| b.clone()),
            }
        };
        let _refresh = match stale {
            Some(stale) => match Refresh::start(&self.refreshing, phone_number) {
                Some(r) => Some(r),
                None => return Ok(Some(stale)),
            },
            None => None,
        };
        let fresh = state
            .store
            .sender_backlog(phone_number, now, state.config.pacing.day_clock())
            .await?;
        if let Some(b) = &fresh {
            let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
            if entries.len() >= MAX_ENTRIES {
                entries.retain(|_, (read_at, _)| now - *read_at < ttl);
            }
            entries.insert(phone_number.to_owned(), (now, b.clone()));
        }
        Ok(fresh)
    }

    /// Counts segments this node just queued on `phone_number`.
    pub fn add(&self, phone_number: &str, segments: i64) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, b)) = entries.get_mut(phone_number) {
            b.backlog.queued_segments += segments;
        }
    }

    /// Refuses `segments` more on `phone_number` when its queue would then take longer than
    /// `pacing.max_backlog_secs` to drain.
    pub async fn check(
        &self,
        state: &AppState,
        phone_number: &str,
        segments: i64,
    ) -> Result<(), ApiError> {
        let Some(b) = self.get(state, phone_number).await? else {
            return Ok(());
        };
        let now_us = state.clock.now_ms() * 1000;
        let wait_us = b.backlog.wait_us(now_us, segments);
        let limit_us = state
            .config
            .pacing
            .max_backlog_secs
            .saturating_mul(1_000_000);
        if wait_us <= limit_us {
            return Ok(());
        }
        metrics::counter!("parley_sends_refused_total", "reason" => "backlog").increment(1);
        let over_s = (wait_us - limit_us + 999_999) / 1_000_000;
        Err(ApiError::rate_limited(
            format!(
                "{phone_number} has {} s of messages queued, over the {} s limit; retry later",
                b.backlog.wait_us(now_us, 0) / 1_000_000,
                state.config.pacing.max_backlog_secs
            ),
            u64::try_from(over_s).unwrap_or(u64::MAX),
        ))
    }

    /// Sets `parley_sender_backlog_seconds{sender}`: how long each sender's queue takes to
    /// drain, the wait a message queued now would have.
    pub async fn export_metrics(&self, state: &AppState) {
        let now = state.clock.now_ms();
        let backlogs = match state
            .store
            .sender_backlogs(now, state.config.pacing.day_clock())
            .await
        {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(error = %e, "could not read sender backlogs for metrics");
                return;
            }
        };
        let mut exported = self.exported.lock().unwrap_or_else(|p| p.into_inner());
        let mut now_seen = HashSet::new();
        for b in backlogs {
            let secs = b.backlog.wait_us(now * 1000, 0) as f64 / 1e6;
            metrics::gauge!("parley_sender_backlog_seconds", "sender" => b.pacing_key.clone())
                .set(secs);
            now_seen.insert(b.pacing_key);
        }
        for gone in exported.difference(&now_seen) {
            metrics::gauge!("parley_sender_backlog_seconds", "sender" => gone.clone()).set(0.0);
        }
        *exported = now_seen;
    }
}

#[cfg(test)]
mod tests {
    use std::{collections::HashSet, sync::Mutex};

    use super::Refresh;

    #[test]
    fn one_refresh_per_sender_at_a_time_released_on_drop() {
        let set = Mutex::new(HashSet::new());
        let first = Refresh::start(&set, "+15550100000").expect("first claim");
        assert!(Refresh::start(&set, "+15550100000").is_none());
        // Another sender is independent.
        assert!(Refresh::start(&set, "+15550100001").is_some());
        drop(first);
        assert!(Refresh::start(&set, "+15550100000").is_some());
    }
}
