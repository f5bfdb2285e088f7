//! The endings worker: claims ended conversations (`Store::claim_endings`), computes their
//! summary, citations and outcomes (`endings::compute`) and lands them with the status
//! webhook (`Store::finish_ending`). A model failure that may pass later retries the whole
//! ending on a backoff; after `MAX_ATTEMPTS` the webhook goes out with what succeeded, so a
//! customer is never left without an end-of-conversation event.

use std::{sync::Arc, time::Duration};

use futures_util::{stream, StreamExt};
use parley_store::PendingEnding;
use tokio_util::sync::CancellationToken;

use crate::{app::AppState, endings};

/// Endings computed at once per node (most of one is waiting on the model).
const CONCURRENCY: usize = 8;
const MAX_ATTEMPTS: i64 = 4;

pub struct EndingWorker {
    pub state: AppState,
    pub owner: String,
}

impl EndingWorker {
    /// Runs every due ending. Returns how many were claimed.
    pub async fn run_once(&self) -> parley_store::Result<usize> {
        let now = self.state.clock.now_ms();
        let claims = self
            .state
            .store
            .claim_endings(
                &self.owner,
                now,
                self.state.config.leases.endings_ms,
                CONCURRENCY as i64 * 4,
            )
            .await?;
        let n = claims.len();
        stream::iter(claims)
            .for_each_concurrent(CONCURRENCY, |e| async move {
                if let Err(err) = self.end(&e).await {
                    tracing::warn!(conversation.id = %e.conversation_id, error = %err, "ending failed; retrying");
                    let at = self.state.clock.now_ms() + backoff_ms(e.attempts);
                    if let Err(err) = self.state.store.retry_ending(&e, &self.owner, at).await {
                        tracing::warn!(error = %err, "could not release a failed ending; its lease will expire");
                    }
                }
            })
            .await;
        Ok(n)
    }

    async fn end(&self, e: &PendingEnding) -> parley_store::Result<()> {
        let store = &self.state.store;
        let Some(inputs) = store.ending_inputs(e).await? else {
            return store.drop_ending(e).await;
        };
        let computed =
            endings::compute(&self.state, &e.org_id, &inputs, e.attempts >= MAX_ATTEMPTS).await?;
        let now = self.state.clock.now_ms();
        if computed.retryable_failure {
            return store
                .retry_ending(e, &self.owner, now + backoff_ms(e.attempts))
                .await;
        }
        if store
            .finish_ending(e, &self.owner, &computed.results, now)
            .await?
        {
            metrics::counter!("parley_conversation_endings_total", "status" => e.status.clone())
                .increment(1);
        } else {
            tracing::info!(conversation.id = %e.conversation_id, "ending finished elsewhere; dropped this run's results");
        }
        Ok(())
    }

    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        while !shutdown.is_cancelled() {
            if let Err(e) = self.run_once().await {
                tracing::warn!(error = %e, "ending claim failed; retrying");
            }
            let wait = match self.state.store.next_ending_at().await {
                Ok(Some(t)) => (t - self.state.clock.now_ms()).clamp(5, 250),
                _ => 250,
            };
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep(Duration::from_millis(wait as u64)) => {}
            }
        }
    }
}

/// 30 s, 2 min, 8 min: a model outage of a few minutes delays the webhook, not loses it.
fn backoff_ms(attempts: i64) -> i64 {
    30_000 * 4_i64.pow(attempts.clamp(1, 4) as u32 - 1)
}

#[cfg(test)]
mod tests {
    use super::backoff_ms;

    #[test]
    fn backoff_grows_fourfold_and_stops_growing() {
        assert_eq!(backoff_ms(1), 30_000);
        assert_eq!(backoff_ms(2), 120_000);
        assert_eq!(backoff_ms(3), 480_000);
        assert_eq!(backoff_ms(9), backoff_ms(4));
    }
}
