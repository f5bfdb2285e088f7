//! The built-in `sandbox` carrier: a simulated network.
//!
//! It accepts sends, assigns provider ids, lands each message in the recipient handset's
//! inbox (readable through `GET /v1/sandbox/messages`), and reports delivery after a
//! configurable delay. It fails sends on purpose in two ways:
//! - magic recipient numbers, for deterministic tests (Twilio's test numbers where one exists);
//! - configured failure rates, for benchmarks and fault tests.

use std::sync::Arc;

use async_trait::async_trait;
use parley_domain::clock::Clock;
use parley_store::{SandboxAccept, Store};
use rand::Rng;

use super::{Carrier, CarrierError, OutboundSms, Receipt};
use crate::config::SandboxConfig;

/// Twilio's "invalid number" test recipient: rejected permanently with 21211.
pub const MAGIC_INVALID: &str = "+15005550001";
/// Twilio's "cannot route / not a mobile number" test recipient: rejected with 21614.
pub const MAGIC_NOT_MOBILE: &str = "+15005550009";
/// Always answers like a carrier outage (HTTP 503): retried until attempts run out.
pub const MAGIC_UNAVAILABLE: &str = "+15005550003";
/// Accepted, then reported undelivered with 30003 (unreachable handset).
pub const MAGIC_UNDELIVERED: &str = "+15005550004";

pub const REPORT_JOB: &str = "sandbox.delivery_report";

pub struct SandboxCarrier {
    store: Store,
    clock: Arc<dyn Clock>,
    cfg: SandboxConfig,
}

impl SandboxCarrier {
    pub fn new(store: Store, clock: Arc<dyn Clock>, cfg: SandboxConfig) -> Self {
        Self { store, clock, cfg }
    }

    fn roll(rate: f64) -> bool {
        rate > 0.0 && rand::thread_rng().gen_bool(rate.min(1.0))
    }
}

#[async_trait]
impl Carrier for SandboxCarrier {
    async fn send(&self, m: &OutboundSms) -> Result<Receipt, CarrierError> {
        match m.to.as_str() {
            MAGIC_INVALID => return Err(rejected("21211", "invalid 'To' phone number")),
            MAGIC_NOT_MOBILE => {
                return Err(rejected(
                    "21614",
                    "'To' number is not a valid mobile number",
                ))
            }
            MAGIC_UNAVAILABLE => return Err(transient("503", "sandbox network unavailable")),
            _ => {}
        }
        if Self::roll(self.cfg.permanent_failure_rate) {
            return Err(rejected("21211", "invalid 'To' phone number (injected)"));
        }
        if Self::roll(self.cfg.retryable_failure_rate) {
            return Err(transient("503", "sandbox network unavailable (injected)"));
        }
        let undelivered = m.to == MAGIC_UNDELIVERED || Self::roll(self.cfg.undelivered_rate);
        let (status, code) = if undelivered {
            ("undelivered", Some("30003"))
        } else {
            ("delivered", None)
        };
        let now = self.clock.now_ms();
        let accept = SandboxAccept {
            message_id: m.message_id,
            org_id: m.org_id.clone(),
            from_number: m.from.clone(),
            to_number: m.to.clone(),
            body: m.body.clone(),
            channel: m.channel.clone(),
            segments: m.segments,
            now,
            report: Some((
                REPORT_JOB.to_owned(),
                serde_json::json!({ "message_id": m.message_id, "status": status, "error_code": code }),
                now + self.cfg.delivery_delay_ms,
            )),
        };
        match self.store.sandbox_accept(&accept).await {
            Ok((provider_sid, _attempts)) => Ok(Receipt { provider_sid }),
            // The simulated network shares Parley's database; if that is down, the
            // "network" is down too, which is a transient failure.
            Err(e) => Err(transient("DB", &e.to_string())),
        }
    }
}

fn rejected(code: &str, message: &str) -> CarrierError {
    CarrierError::Rejected {
        code: code.into(),
        message: message.into(),
    }
}

fn transient(code: &str, message: &str) -> CarrierError {
    CarrierError::Transient {
        code: code.into(),
        message: message.into(),
        retry_after_ms: None,
    }
}
