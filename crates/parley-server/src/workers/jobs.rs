//! The job worker: runs delayed work (sandbox delivery reports today) and housekeeping.

use std::{sync::Arc, time::Duration};

use parley_domain::{clock::Clock, message_status::MessageStatus};
use parley_store::{Job, Store};
use serde::Deserialize;
use tokio_util::sync::CancellationToken;

use crate::carriers::sandbox::REPORT_JOB;

const PURGE_EVERY: Duration = Duration::from_secs(600);

pub struct JobRunner {
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    pub owner: String,
    pub idempotency_retention_ms: i64,
    /// `leases.jobs_ms`.
    pub lease_ms: i64,
}

#[derive(Deserialize)]
struct StatusReport {
    message_id: i64,
    status: String,
    error_code: Option<String>,
}

impl JobRunner {
    /// Runs every job due now. Returns how many ran.
    pub async fn run_once(&self) -> parley_store::Result<usize> {
        let jobs = self
            .store
            .claim_jobs(&self.owner, self.clock.now_ms(), self.lease_ms, 200)
            .await?;
        let n = jobs.len();
        for job in jobs {
            self.handle(job).await?;
        }
        Ok(n)
    }

    async fn handle(&self, job: Job) -> parley_store::Result<()> {
        let now = self.clock.now_ms();
        match job.kind.as_str() {
            REPORT_JOB => match serde_json::from_str::<StatusReport>(&job.payload) {
                Ok(r) => {
                    let status =
                        MessageStatus::parse(&r.status).unwrap_or(MessageStatus::Delivered);
                    if self
                        .store
                        .apply_status_report(r.message_id, status, r.error_code.as_deref(), now)
                        .await?
                    {
                        metrics::counter!("parley_messages_total", "status" => status.as_str())
                            .increment(1);
                    }
                    self.store.delete_job(job.id).await
                }
                Err(e) => {
                    tracing::error!(job.id = job.id, error = %e, "malformed delivery report job; dropping it");
                    self.store.delete_job(job.id).await
                }
            },
            other => {
                // A job written by a newer Parley during a rolling upgrade: leave it for a
                // node that knows it.
                tracing::warn!(
                    job.id = job.id,
                    job.kind = other,
                    "unknown job kind; postponing"
                );
                self.store.retry_job(job.id, now + 3_600_000).await
            }
        }
    }

    pub async fn purge_expired(&self) -> parley_store::Result<u64> {
        self.store
            .purge_idempotency_keys(self.clock.now_ms() - self.idempotency_retention_ms)
            .await
    }

    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        let mut last_purge: Option<tokio::time::Instant> = None;
        while !shutdown.is_cancelled() {
            if let Err(e) = self.run_once().await {
                tracing::warn!(error = %e, "job claim failed; retrying");
            }
            if last_purge.is_none_or(|t| t.elapsed() >= PURGE_EVERY) {
                match self.purge_expired().await {
                    Ok(n) if n > 0 => {
                        tracing::info!(removed = n, "purged expired idempotency keys")
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "idempotency purge failed"),
                }
                last_purge = Some(tokio::time::Instant::now());
            }
            let wait = match self.store.next_job_at().await {
                Ok(Some(t)) => (t - self.clock.now_ms()).clamp(5, 500),
                _ => 500,
            };
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep(Duration::from_millis(wait as u64)) => {}
            }
        }
    }
}
