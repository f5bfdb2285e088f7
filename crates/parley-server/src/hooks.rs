//! Events carriers raise that the conversation lifecycle acts on.
//!
//! - A message reaching `read` (WhatsApp read receipts): the status webhook `read` is
//!   enqueued by the store in the same transaction as the status change
//!   (`Store::apply_carrier_status`); [`message_status_changed`] only counts it.
//! - A carrier's own opt-out signal (Twilio 21610): [`recipient_opted_out`] puts the user on
//!   the org's suppression list and ends the conversation `blacklisted`, like a STOP keyword.

use parley_store::Store;

/// A carrier callback moved outbound message `message_id` to `status`. Called once per
/// actual change: a repeated callback changes nothing and calls nothing.
pub fn message_status_changed(
    message_id: i64,
    status: parley_domain::message_status::MessageStatus,
) {
    metrics::counter!("parley_messages_total", "status" => status.as_str()).increment(1);
    tracing::debug!(
        message.id = message_id,
        status = status.as_str(),
        "message status changed"
    );
}

/// The carrier refused message `message_id` because its recipient opted out of the sender:
/// suppress the recipient and end the conversation `blacklisted` (one transaction). A
/// failure is logged; the carrier keeps refusing such messages meanwhile.
pub async fn recipient_opted_out(store: &Store, message_id: i64, now_ms: i64) {
    metrics::counter!("parley_carrier_opt_outs_total").increment(1);
    match store.carrier_opt_out(message_id, now_ms).await {
        Ok(_) => tracing::info!(
            message.id = message_id,
            "recipient opted out at the carrier; suppressed"
        ),
        Err(e) => {
            tracing::warn!(message.id = message_id, error = %e, "could not record the carrier's opt-out")
        }
    }
}
