//! The turn worker: leases due agent turns (`Store::claim_turns`), computes each reply
//! (`turns::agent::reply`) and lands it (`Store::finish_turn`). Turns of one conversation
//! never overlap (the lease); different conversations run concurrently, up to
//! `TURN_CONCURRENCY` per node.

use std::{sync::Arc, time::Duration};

use futures_util::{stream, StreamExt};
use parley_store::{TurnClaim, TurnFinish};
use tokio_util::sync::CancellationToken;

use crate::{app::AppState, turns::agent};

/// Turns computed at once per node (most of a turn is waiting on the model).
const TURN_CONCURRENCY: usize = 16;
/// A failed store write is tried again after this.
const RETRY_MS: i64 = 5_000;
/// Leased turns past this many attempts are answered with nothing (and logged) rather than
/// retried forever.
const MAX_ATTEMPTS: i64 = 5;

pub struct TurnWorker {
    pub state: AppState,
    pub owner: String,
}

impl TurnWorker {
    /// Lease: the turn budget plus room for the store writes; a stalled worker's turn is
    /// taken over after it, and its late write is refused.
    fn lease_ms(&self) -> i64 {
        self.state.config.language_model.turn_budget_ms as i64
            + self.state.config.leases.turn_margin_ms
    }

    /// Runs every due turn. Returns how many were claimed.
    pub async fn run_once(&self) -> parley_store::Result<usize> {
        let now = self.state.clock.now_ms();
        let claims = self
            .state
            .store
            .claim_turns(
                &self.owner,
                now,
                self.lease_ms(),
                TURN_CONCURRENCY as i64 * 4,
            )
            .await?;
        let n = claims.len();
        stream::iter(claims)
            .for_each_concurrent(TURN_CONCURRENCY, |claim| async move {
                if let Err(e) = self.turn(&claim).await {
                    tracing::warn!(conversation.id = %claim.conversation_id, error = %e, "turn failed; retrying");
                    let retry_at = self.state.clock.now_ms() + RETRY_MS;
                    if let Err(e) = self.state.store.release_turn(&claim, &self.owner, retry_at).await {
                        tracing::warn!(error = %e, "could not release a failed turn; its lease will expire");
                    }
                }
            })
            .await;
        Ok(n)
    }

    async fn turn(&self, claim: &TurnClaim) -> parley_store::Result<()> {
        let store = &self.state.store;
        let Some((c, messages)) = store.turn_inputs(claim).await? else {
            return Ok(());
        };
        let (write, result) = if claim.attempts > MAX_ATTEMPTS {
            tracing::error!(conversation.id = %c.id, attempts = claim.attempts, "turn kept failing; giving up on it");
            (
                parley_store::TurnWrite {
                    seen_message_id: messages.iter().map(|m| m.id).max().unwrap_or(0),
                    ..Default::default()
                },
                agent::TurnResult::Unresolved,
            )
        } else {
            agent::reply(&self.state, &c, &messages, claim.seen_message_id).await?
        };
        metrics::counter!("parley_agent_turns_total", "result" => result.as_str()).increment(1);
        let now = self.state.clock.now_ms();
        match store.finish_turn(claim, &self.owner, &write, now).await? {
            TurnFinish::Done(ids) => {
                if !ids.is_empty() {
                    metrics::counter!("parley_messages_total", "status" => "queued")
                        .increment(ids.len() as u64);
                    self.state.dispatch_wake.notify_one();
                }
            }
            TurnFinish::LeaseLost => {
                tracing::warn!(conversation.id = %c.id, "turn lease lost; another worker answers it");
            }
        }
        Ok(())
    }

    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        while !shutdown.is_cancelled() {
            let n = match self.run_once().await {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(error = %e, "turn claim failed; retrying");
                    0
                }
            };
            if n > 0 {
                continue;
            }
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = self.state.turn_wake.notified() => {}
                _ = tokio::time::sleep(Duration::from_millis(200)) => {}
            }
        }
    }
}
