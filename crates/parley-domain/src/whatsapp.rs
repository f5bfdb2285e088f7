//! WhatsApp's customer-service window.
//!
//! WhatsApp lets a business send free-form messages only within 24 hours of the user's last
//! message to it; outside that window only an approved template goes (through Twilio: a
//! `ContentSid`; a template pasted into `Body` fails with 63016). Parley checks this before
//! queueing and again before handing a message to the carrier, since a queued message can
//! outlive the window.

/// How long after the user's last message free-form messages are allowed.
pub const WINDOW_MS: i64 = 24 * 3_600_000;

/// The error code of a free-form WhatsApp message refused for being outside the window.
pub const TEMPLATE_REQUIRED: &str = "WHATSAPP_TEMPLATE_REQUIRED";

/// Whether a free-form message may go at `now_ms` given the user's last inbound message.
pub fn window_open(last_inbound_ms: Option<i64>, now_ms: i64) -> bool {
    last_inbound_ms.is_some_and(|t| now_ms - t < WINDOW_MS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_lasts_24_hours_from_the_user_s_last_message() {
        assert!(!window_open(None, 0));
        assert!(window_open(Some(0), WINDOW_MS - 1));
        assert!(!window_open(Some(0), WINDOW_MS));
    }
}
