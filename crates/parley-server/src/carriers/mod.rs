//! Carriers: where outbound messages leave Parley.
//!
//! A carrier only moves bytes and classifies failures; what to do about a failure (retry,
//! fail the message) is the dispatch worker's decision, made from [`CarrierError`].

pub mod sandbox;
pub mod twilio;

use std::{collections::HashMap, sync::Arc};

use async_trait::async_trait;

/// One message handed to a carrier. `message_id` is Parley's id: carriers that support an
/// idempotency key use it, so a retry after a crash does not send twice; carriers without
/// one (Twilio) carry it where their callbacks echo it and look the message up instead.
#[derive(Debug, Clone, Default)]
pub struct OutboundSms {
    pub message_id: i64,
    pub org_id: String,
    pub from: String,
    pub to: String,
    pub body: String,
    pub channel: String,
    pub segments: i64,
    pub content_sid: Option<String>,
    pub content_variables: Option<String>,
    /// How the previous attempt ended, if there was one (`TIMEOUT`, a carrier code, …).
    pub previous_error: Option<String>,
    /// When the message was queued (epoch ms): no copy at the carrier can be older.
    pub created_at: i64,
    /// The carrier's id when a callback already named this message.
    pub provider_sid: Option<String>,
    /// Send through this messaging service (its pool picks the sender) instead of `from`.
    pub messaging_service_sid: Option<String>,
    /// The configured carrier account the sending number names, if any.
    pub carrier_account: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    pub provider_sid: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CarrierError {
    /// Worth trying again later (5xx, 429, timeouts, connection errors).
    #[error("carrier temporarily failed ({code}): {message}")]
    Transient {
        code: String,
        message: String,
        retry_after_ms: Option<i64>,
    },
    /// Will never succeed as sent (invalid number, region not enabled, …).
    #[error("carrier rejected the message ({code}): {message}")]
    Rejected { code: String, message: String },
    /// The recipient opted out of this sender at the carrier (Twilio 21610): fails the
    /// message like a rejection, and is also an opt-out signal for the conversation.
    #[error("recipient opted out at the carrier ({code}): {message}")]
    OptedOut { code: String, message: String },
}

#[async_trait]
pub trait Carrier: Send + Sync {
    /// The carrier's copy of `msg`, when an earlier attempt may have reached it (see
    /// `previous_error`). The dispatcher asks before the send slot, since looking may take
    /// a round trip of its own; carriers that deduplicate on the message id need not look.
    async fn find_copy(&self, _msg: &OutboundSms) -> Result<Option<Receipt>, CarrierError> {
        Ok(None)
    }

    /// Hands `msg` over, at its send slot, once `find_copy` found no copy.
    async fn send(&self, msg: &OutboundSms) -> Result<Receipt, CarrierError>;
}

/// Carriers by the name numbers refer to (`sandbox`, `twilio`).
#[derive(Clone, Default)]
pub struct Carriers(HashMap<String, Arc<dyn Carrier>>);

impl Carriers {
    pub fn with(mut self, name: &str, carrier: Arc<dyn Carrier>) -> Self {
        self.0.insert(name.to_owned(), carrier);
        self
    }

    pub fn get(&self, name: &str) -> Option<&Arc<dyn Carrier>> {
        self.0.get(name)
    }
}
