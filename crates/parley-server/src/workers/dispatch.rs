//! The dispatch worker: claims due messages (paced per sender, in order per conversation),
//! waits for each one's slot, hands it to its carrier and records the answer.

use std::{sync::Arc, time::Duration};

use parley_domain::{clock::Clock, message_status::MessageStatus, retry::RetryPolicy, whatsapp};
use parley_store::{Claimed, DeliveryResult, DispatchOptions, Store};
use rand::Rng;
use tokio::{sync::Semaphore, task::JoinSet};
use tokio_util::sync::CancellationToken;

use crate::{
    carriers::{Carrier, CarrierError, Carriers, OutboundSms, Receipt},
    config::DispatchConfig,
    wakeups::Wake,
};

pub struct Dispatcher {
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    pub carriers: Carriers,
    pub cfg: DispatchConfig,
    pub retry: RetryPolicy,
    /// This worker's name in leases.
    pub owner: String,
    /// Where daily caps cut days (`pacing.daily_cap_utc_offset_minutes`), in ms.
    pub day_offset_ms: i64,
}

/// What became of a claimed message at the carrier's door.
enum HandOver {
    /// The carrier answered (or the call timed out): record it.
    Answered(Result<Receipt, CarrierError>),
    /// Its slot had passed: back in the queue for a new one, nothing to record.
    Repaced,
    /// The lease was too close to its end to be sure it is still ours: left for a new claim.
    LeaseRanOut,
}

impl Dispatcher {
    fn options(&self, max_total: usize) -> DispatchOptions {
        DispatchOptions {
            owner: self.owner.clone(),
            now_ms: self.clock.now_ms(),
            horizon_ms: self.cfg.horizon_ms,
            lease_ms: self.cfg.lease_ms,
            max_per_sender: self.cfg.max_per_sender,
            max_total: i64::try_from(max_total).unwrap_or(i64::MAX),
            day_offset_ms: self.day_offset_ms,
        }
    }

    /// The instant after which this worker must not hand a claimed message to its carrier:
    /// shortly before the lease ends, so no other worker can have claimed it meanwhile.
    fn send_deadline(&self, c: &Claimed) -> i64 {
        let margin = (self.cfg.lease_ms / 10).clamp(100, 2_000);
        c.scheduled_at + self.cfg.lease_ms - margin
    }

    /// Claims what is due now and delivers it at once, one by one, ignoring slot times.
    /// Tests drive dispatch with this and a fake clock; slots are asserted from the store.
    pub async fn run_once(&self) -> parley_store::Result<usize> {
        let claimed = self
            .store
            .claim_due_messages(&self.options(self.cfg.concurrency.max(1)))
            .await?;
        let n = claimed.len();
        for c in claimed {
            self.deliver(c).await;
        }
        Ok(n)
    }

    /// The long-running loop of `parley serve`.
    pub async fn run(self: Arc<Self>, wake: Arc<Wake>, shutdown: CancellationToken) {
        let slots = Arc::new(Semaphore::new(self.cfg.concurrency.max(1)));
        let mut in_flight = JoinSet::new();
        let min_gap = Duration::from_millis(self.cfg.min_claim_interval_ms);
        let poll = Duration::from_millis(self.cfg.poll_interval_ms.max(1));
        let most = self.cfg.concurrency.max(1);
        // How many messages one claim may take. A node that cannot start its sends on their
        // slots (CPU-starved, a slow database) re-paces them, and claiming as much again
        // would only re-pace more: halve on re-pacing, grow back by a quarter otherwise.
        let mut budget = most;
        // Whether a send finished since the last claim re-paced its message.
        let mut repaced = false;
        while !shutdown.is_cancelled() {
            budget = if std::mem::take(&mut repaced) {
                (budget / 2).max(1)
            } else {
                (budget + budget / 4 + 1).min(most)
            };
            // Claim only what can start at once: a claimed message waiting for a free slot
            // could outlive its lease and be claimed (and sent) a second time.
            let free = slots.available_permits().min(budget);
            let claim = if free == 0 {
                Ok(Vec::new())
            } else {
                self.store.claim_due_messages(&self.options(free)).await
            };
            // A claim that took all it asked for may have left more due work behind.
            let mut full = false;
            match claim {
                Ok(claimed) => {
                    full = free > 0 && claimed.len() >= free;
                    for c in claimed {
                        let Ok(permit) = slots.clone().try_acquire_owned() else {
                            tracing::error!("claimed more messages than free send slots");
                            break;
                        };
                        let (me, wake) = (self.clone(), wake.clone());
                        in_flight.spawn(async move {
                            let repaced = me.deliver_in_slot(c, true).await;
                            drop(permit);
                            // Back in the queue and due: any node may take it at once.
                            if repaced {
                                wake.notify_one();
                            }
                            repaced
                        });
                    }
                }
                Err(e) => tracing::warn!(error = %e, "dispatch claim failed; retrying"),
            }
            while let Some(done) = in_flight.try_join_next() {
                repaced |= done.unwrap_or(false);
            }
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep(min_gap) => {}
            }
            if full && slots.available_permits() > 0 {
                continue;
            }
            if slots.available_permits() == 0 {
                // Every slot is busy: wait for one to free up rather than for new work.
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    done = in_flight.join_next() => {
                        repaced |= matches!(done, Some(Ok(true)));
                    }
                }
                continue;
            }
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = wake.notified() => {}
                _ = tokio::time::sleep(poll) => {}
            }
        }
        // Let calls already made finish and record their answer; anything unrecorded is
        // re-driven when its lease expires.
        while in_flight.join_next().await.is_some() {}
    }

    /// Hands `c` to its carrier now, whatever its slot (tests drive dispatch with this).
    pub async fn deliver(&self, c: Claimed) {
        self.deliver_in_slot(c, false).await;
    }

    /// Checks `c` may still go out, waits for its slot when `wait`, and hands it over, unless
    /// the slot passed too long ago: then it is re-paced, not sent late. Returns whether it
    /// was re-paced.
    #[tracing::instrument(skip_all, fields(message.id = c.id, carrier.name = %c.carrier, attempt = c.attempts))]
    async fn deliver_in_slot(&self, c: Claimed, wait: bool) -> bool {
        let mut opted_out = false;
        let result = match self.carriers.get(&c.carrier) {
            None => DeliveryResult::Failed {
                status: MessageStatus::Failed,
                error_code: Some("CARRIER_NOT_CONFIGURED".into()),
            },
            // Queued before the user opted out: it must not go out now. A HELP answer is
            // the exception: carriers want HELP answered whatever the opt-out state.
            Some(_)
                if c.purpose.as_deref() != Some(parley_store::HELP_PURPOSE)
                    && self.suppressed(&c).await =>
            {
                DeliveryResult::Failed {
                    status: MessageStatus::Failed,
                    error_code: Some("RECIPIENT_OPTED_OUT".into()),
                }
            }
            Some(_) if !self.whatsapp_allowed(&c).await => DeliveryResult::Failed {
                status: MessageStatus::Failed,
                error_code: Some(whatsapp::TEMPLATE_REQUIRED.into()),
            },
            Some(carrier) => {
                let outcome = match self.hand_over(&c, carrier.as_ref(), wait).await {
                    HandOver::Answered(outcome) => outcome,
                    HandOver::Repaced => return true,
                    HandOver::LeaseRanOut => return false,
                };
                opted_out = matches!(outcome, Err(CarrierError::OptedOut { .. }));
                self.classify(&c, outcome)
            }
        };
        let status = match &result {
            DeliveryResult::Sent { .. } => "sent",
            DeliveryResult::Retry { .. } => "retry",
            DeliveryResult::Failed { .. } => "failed",
        };
        metrics::counter!("parley_messages_total", "status" => status).increment(1);
        if let Err(e) = self
            .store
            .record_delivery(c.id, &result, self.clock.now_ms())
            .await
        {
            // The lease will expire and the message will be offered again; the carrier's
            // idempotency on the message id keeps that from sending twice.
            tracing::warn!(error = %e, "could not record the carrier's answer");
            return false;
        }
        if opted_out {
            crate::hooks::recipient_opted_out(&self.store, c.id, self.clock.now_ms()).await;
        }
        false
    }

    /// Looks for the carrier's copy (after an attempt with an unknown outcome), waits for
    /// the slot when `wait`, and sends.
    async fn hand_over(&self, c: &Claimed, carrier: &dyn Carrier, wait: bool) -> HandOver {
        let msg = OutboundSms {
            message_id: c.id,
            org_id: c.org_id.clone(),
            from: c.from_number.clone(),
            to: c.to_number.clone(),
            body: c.body.clone(),
            channel: c.channel.clone(),
            segments: c.segments,
            content_sid: c.content_sid.clone(),
            content_variables: c.content_variables.clone(),
            previous_error: c.previous_error.clone(),
            created_at: c.created_at,
            provider_sid: c.provider_sid.clone(),
            messaging_service_sid: c.messaging_service_sid.clone(),
            carrier_account: c.carrier_account.clone(),
        };
        // Every carrier call must end before the lease does, or another worker could take
        // the message over while the call is still in flight.
        let deadline = self.send_deadline(c);
        let timed_out = || CarrierError::Transient {
            code: "TIMEOUT".into(),
            message: "carrier call timed out".into(),
            retry_after_ms: None,
        };
        let now = self.clock.now_ms();
        if self.lease_ran_out(c, now, deadline) {
            return HandOver::LeaseRanOut;
        }
        // Looking may take a round trip: done before the slot, so the send itself is on time.
        let left = |now: i64| Duration::from_millis((deadline - now).max(0) as u64);
        match tokio::time::timeout(left(now), carrier.find_copy(&msg)).await {
            Err(_) => return HandOver::Answered(Err(timed_out())),
            Ok(Err(e)) => return HandOver::Answered(Err(e)),
            Ok(Ok(Some(receipt))) => return HandOver::Answered(Ok(receipt)),
            Ok(Ok(None)) => {}
        }
        if wait {
            let wait_ms = c.scheduled_at - self.clock.now_ms();
            if wait_ms > 0 {
                tokio::time::sleep(Duration::from_millis(wait_ms as u64)).await;
            }
        }
        let now = self.clock.now_ms();
        if now - c.scheduled_at > self.cfg.max_late_ms {
            // Sent now it would go out bunched with the next slots' messages, over the
            // number's rate. Back to the queue for a fresh slot (pacing has moved on).
            tracing::debug!(
                late_ms = now - c.scheduled_at,
                "missed its send slot; re-pacing"
            );
            metrics::counter!("parley_dispatch_repaced_total").increment(1);
            let released = self
                .store
                .release_claim(c.id, &self.owner, c.previous_error.as_deref(), now)
                .await;
            if let Err(e) = released {
                tracing::warn!(error = %e, "could not release a late claim; its lease will expire");
            }
            return HandOver::Repaced;
        }
        if self.lease_ran_out(c, now, deadline) {
            return HandOver::LeaseRanOut;
        }
        HandOver::Answered(
            tokio::time::timeout(left(now), carrier.send(&msg))
                .await
                .unwrap_or_else(|_| Err(timed_out())),
        )
    }

    /// Whether it is too late (`deadline`) to be sure the lease on `c` is still ours; the
    /// message will be claimed again.
    fn lease_ran_out(&self, c: &Claimed, now: i64, deadline: i64) -> bool {
        if now < deadline {
            return false;
        }
        tracing::warn!(
            late_ms = now - c.scheduled_at,
            "lease ran out before the send; leaving it for a new claim"
        );
        metrics::counter!("parley_dispatch_lease_expired_total").increment(1);
        true
    }

    /// Whether the recipient opted out of the sender after the message was queued. A read
    /// failure lets the message through (the carrier enforces its own opt-outs).
    async fn suppressed(&self, c: &Claimed) -> bool {
        self.store
            .is_suppressed(&c.org_id, &c.from_number, &c.to_number)
            .await
            .unwrap_or(false)
    }

    /// WhatsApp's window, checked again at send time: a message queued inside it may reach
    /// its slot after it closed. A read failure lets the message through; the carrier
    /// refuses it (Twilio 63016) if the window really is closed.
    async fn whatsapp_allowed(&self, c: &Claimed) -> bool {
        if c.channel != "whatsapp" || c.content_sid.is_some() {
            return true;
        }
        match self
            .store
            .last_inbound_at(&c.org_id, &c.from_number, &c.to_number, &c.channel)
            .await
        {
            Ok(last) => whatsapp::window_open(last, self.clock.now_ms()),
            Err(e) => {
                tracing::warn!(error = %e, "could not read the WhatsApp window; leaving it to the carrier");
                true
            }
        }
    }

    fn classify(
        &self,
        c: &Claimed,
        outcome: Result<crate::carriers::Receipt, CarrierError>,
    ) -> DeliveryResult {
        match outcome {
            Ok(r) => DeliveryResult::Sent {
                provider_sid: r.provider_sid,
            },
            Err(CarrierError::OptedOut { code, message }) => {
                tracing::info!(error.code = %code, error.message = %message, "carrier reports the recipient opted out");
                DeliveryResult::Failed {
                    status: MessageStatus::Failed,
                    error_code: Some(code),
                }
            }
            Err(CarrierError::Rejected { code, message }) => {
                tracing::info!(error.code = %code, error.message = %message, "carrier rejected message");
                DeliveryResult::Failed {
                    status: MessageStatus::Failed,
                    error_code: Some(code),
                }
            }
            Err(CarrierError::Transient {
                code,
                message,
                retry_after_ms,
            }) => {
                let attempts = u32::try_from(c.attempts).unwrap_or(u32::MAX);
                let jitter = rand::thread_rng().gen_range(-1.0..=1.0);
                match self.retry.next_delay_ms(attempts, retry_after_ms, jitter) {
                    Some(delay) => {
                        tracing::info!(error.code = %code, error.message = %message, delay_ms = delay, "carrier failed; will retry");
                        DeliveryResult::Retry {
                            at_ms: self.clock.now_ms() + delay,
                            error_code: Some(code),
                        }
                    }
                    None => {
                        tracing::warn!(error.code = %code, "carrier failed; attempts exhausted");
                        DeliveryResult::Failed {
                            status: MessageStatus::Failed,
                            error_code: Some(code),
                        }
                    }
                }
            }
        }
    }
}
