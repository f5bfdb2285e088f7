//! The webhook worker: claims due webhooks (the head of each conversation only), posts them
//! concurrently, and records every attempt with what follows from it.

use std::{sync::Arc, time::Duration};

use parley_domain::{clock::Clock, retry::RetryPolicy};
use parley_store::{Store, WebhookDelivery};
use rand::Rng;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::webhooks::{outcome, Poster};

pub struct WebhookWorker {
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    pub poster: Poster,
    pub retry: RetryPolicy,
    pub owner: String,
    pub concurrency: usize,
    /// How long a claimed webhook stays leased: the POST's timeout plus a margin.
    pub lease_ms: i64,
}

impl WebhookWorker {
    /// Posts every webhook due now (one per conversation per round, so a conversation's
    /// next webhook waits until the one before it is settled). Returns how many were posted.
    pub async fn run_once(self: &Arc<Self>) -> parley_store::Result<usize> {
        let now = self.clock.now_ms();
        let batch = self
            .store
            .claim_webhooks(&self.owner, now, self.lease_ms, self.concurrency as i64)
            .await?;
        let n = batch.len();
        let mut set = JoinSet::new();
        for d in batch {
            let me = self.clone();
            set.spawn(async move { me.deliver(d).await });
        }
        while let Some(done) = set.join_next().await {
            match done {
                Ok(Ok(())) => {}
                Ok(Err(e)) => return Err(e),
                Err(e) => tracing::error!(error = %e, "webhook delivery task panicked"),
            }
        }
        Ok(n)
    }

    async fn deliver(&self, d: WebhookDelivery) -> parley_store::Result<()> {
        let now = self.clock.now_ms();
        let secrets = self.store.signing_secrets(&d.org_id, now).await?;
        let (answer, record) = self.poster.post(&d, &secrets, now, "spawn").await;
        let jitter = rand::thread_rng().gen_range(-1.0..=1.0);
        let next = outcome(
            &answer,
            d.attempts,
            &self.retry,
            self.clock.now_ms(),
            jitter,
        );
        metrics::counter!("parley_webhook_attempts_total", "result" => match &next {
            parley_store::AttemptOutcome::Delivered => "delivered",
            parley_store::AttemptOutcome::Retry { .. } => "retry",
            parley_store::AttemptOutcome::Failed => "failed",
        })
        .increment(1);
        if next == parley_store::AttemptOutcome::Failed {
            tracing::info!(webhook.id = %d.event_id, error = ?record.error_message, "webhook failed for good");
        }
        self.store
            .record_webhook_attempt(d.id, &record, &next)
            .await
    }

    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        while !shutdown.is_cancelled() {
            let posted = match self.run_once().await {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(error = %e, "webhook claim failed; retrying");
                    0
                }
            };
            if posted > 0 {
                continue;
            }
            let wait = match self.store.next_webhook_at().await {
                Ok(Some(t)) => (t - self.clock.now_ms()).clamp(5, 250),
                _ => 250,
            };
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep(Duration::from_millis(wait as u64)) => {}
            }
        }
    }
}
