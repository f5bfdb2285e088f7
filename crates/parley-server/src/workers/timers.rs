//! The timer worker: fires due warning and timeout timers. It wakes at the earliest due time
//! (at least every 250 ms), so a timer fires within a fraction of a second of its due time.

use std::{sync::Arc, time::Duration};

use parley_domain::clock::Clock;
use parley_store::{Store, TimerFired};
use tokio_util::sync::CancellationToken;

use crate::wakeups::Wake;

const BATCH: i64 = 500;

pub struct TimerWorker {
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    /// Pinged when a timer queued a message, so dispatch sends it without waiting.
    pub dispatch_wake: Arc<Wake>,
    /// `leases.timers_ms`.
    pub lease_ms: i64,
}

impl TimerWorker {
    /// Fires every timer due now. Returns how many were claimed.
    pub async fn run_once(&self) -> parley_store::Result<usize> {
        let now = self.clock.now_ms();
        let due = self.store.claim_timers(now, self.lease_ms, BATCH).await?;
        for t in &due {
            let fired = self.store.fire_timer(t, self.clock.now_ms()).await?;
            let skew = self.clock.now_ms() - t.due_at;
            metrics::histogram!("parley_timer_skew_seconds").record(skew as f64 / 1000.0);
            let kind = match fired {
                TimerFired::Warning(_) => "warning",
                TimerFired::TimedOut(_) => "timeout",
                TimerFired::Skipped => "skipped",
            };
            metrics::counter!("parley_timers_fired_total", "kind" => kind).increment(1);
            if fired != TimerFired::Skipped {
                self.dispatch_wake.notify_one();
            }
        }
        Ok(due.len())
    }

    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        while !shutdown.is_cancelled() {
            let n = match self.run_once().await {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(error = %e, "timer claim failed; retrying");
                    0
                }
            };
            if n as i64 >= BATCH {
                continue;
            }
            let wait = match self.store.timer_stats().await {
                Ok((Some(t), _)) => (t - self.clock.now_ms()).clamp(1, 250),
                _ => 250,
            };
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep(Duration::from_millis(wait as u64)) => {}
            }
        }
    }
}
