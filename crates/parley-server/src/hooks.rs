//! Where events that later features act on are raised today.
//!
//! Two events come from carriers before the features that consume them exist:
//! - a message reaching `read` (WhatsApp read receipts) must fire the conversation's status
//!   webhook; customer webhooks are their own issue, which replaces the body of
//!   [`message_status_changed`] with the webhook enqueue (in the same place, after the status
//!   change is committed, once per real change);
//! - a carrier's own opt-out signal (Twilio 21610) must put the user on the org's suppression
//!   list and end the conversation `blacklisted`, like a STOP keyword; that is the opt-out
//!   issue, which replaces the body of [`recipient_opted_out`].
//!
//! Until then both record the event in metrics and the log (ids only, never numbers).

/// A carrier callback moved outbound message `message_id` to `status`. Called once per
/// actual change: a repeated callback changes nothing and calls nothing.
pub fn message_status_changed(
    message_id: i64,
    status: parley_domain::message_status::MessageStatus,
) {
    metrics::counter!("parley_messages_total", "status" => status.as_str()).increment(1);
    if status == parley_domain::message_status::MessageStatus::Read {
        tracing::info!(
            message.id = message_id,
            "message read; status webhook pending the webhooks feature"
        );
    }
}

/// The carrier refused message `message_id` because its recipient opted out of the sender.
pub fn recipient_opted_out(message_id: i64, org_id: &str) {
    metrics::counter!("parley_carrier_opt_outs_total").increment(1);
    tracing::info!(
        message.id = message_id,
        org.id = org_id,
        "recipient opted out at the carrier"
    );
}
