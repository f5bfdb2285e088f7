//! Twilio's message statuses onto Parley's.
//!
//! Twilio's enum: `queued, sending, sent, failed, delivered, undelivered, receiving, received,
//! accepted, scheduled, read, partially_delivered, canceled`. The store moves a message
//! forward only, so the mapping need not care about order: a late `sent` after `delivered`
//! is ignored there.

use parley_domain::message_status::MessageStatus;

/// What a status callback means for the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mapped {
    /// Move to this status, with this error code when Twilio gave none.
    To(MessageStatus, Option<&'static str>),
    /// Says nothing new (Twilio still holds it) but proves Twilio has the message.
    Holding,
    /// Not about an outbound message, or unknown to this version of Parley.
    Ignore,
}

pub fn map(twilio: &str) -> Mapped {
    use MessageStatus as S;
    match twilio {
        "accepted" | "scheduled" | "queued" => Mapped::Holding,
        "sending" => Mapped::To(S::Sending, None),
        "sent" => Mapped::To(S::Sent, None),
        "delivered" => Mapped::To(S::Delivered, None),
        // Some recipients got it (RCS or group fallbacks): it did arrive.
        "partially_delivered" => Mapped::To(S::Delivered, None),
        "undelivered" => Mapped::To(S::Undelivered, None),
        "failed" => Mapped::To(S::Failed, None),
        // A scheduled message the account cancelled: it will never go.
        "canceled" => Mapped::To(S::Failed, Some("CANCELED")),
        "read" => Mapped::To(S::Read, None),
        _ => Mapped::Ignore,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_twilio_status_has_a_meaning() {
        use MessageStatus as S;
        let all = [
            ("queued", Mapped::Holding),
            ("sending", Mapped::To(S::Sending, None)),
            ("sent", Mapped::To(S::Sent, None)),
            ("failed", Mapped::To(S::Failed, None)),
            ("delivered", Mapped::To(S::Delivered, None)),
            ("undelivered", Mapped::To(S::Undelivered, None)),
            ("receiving", Mapped::Ignore),
            ("received", Mapped::Ignore),
            ("accepted", Mapped::Holding),
            ("scheduled", Mapped::Holding),
            ("read", Mapped::To(S::Read, None)),
            ("partially_delivered", Mapped::To(S::Delivered, None)),
            ("canceled", Mapped::To(S::Failed, Some("CANCELED"))),
        ];
        for (t, want) in all {
            assert_eq!(map(t), want, "{t}");
        }
    }
}
