//! Outbound message statuses and the order they move in.
//!
//! Carrier callbacks arrive late, twice, or out of order. A status only ever moves forward
//! by rank, so a late `sent` never overwrites `delivered`.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageStatus {
    Pending,
    Queued,
    Sending,
    Sent,
    Delivered,
    Undelivered,
    Failed,
    Read,
}

impl MessageStatus {
    pub const ALL: [MessageStatus; 8] = [
        MessageStatus::Pending,
        MessageStatus::Queued,
        MessageStatus::Sending,
        MessageStatus::Sent,
        MessageStatus::Delivered,
        MessageStatus::Undelivered,
        MessageStatus::Failed,
        MessageStatus::Read,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MessageStatus::Pending => "pending",
            MessageStatus::Queued => "queued",
            MessageStatus::Sending => "sending",
            MessageStatus::Sent => "sent",
            MessageStatus::Delivered => "delivered",
            MessageStatus::Undelivered => "undelivered",
            MessageStatus::Failed => "failed",
            MessageStatus::Read => "read",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }

    /// Position in the lifecycle. Terminal outcomes share a rank so that a second,
    /// contradicting final report does not flip the first.
    pub fn rank(self) -> i64 {
        match self {
            MessageStatus::Pending | MessageStatus::Queued => 0,
            MessageStatus::Sending => 1,
            MessageStatus::Sent => 2,
            MessageStatus::Delivered | MessageStatus::Undelivered | MessageStatus::Failed => 3,
            MessageStatus::Read => 4,
        }
    }

    /// Whether a message in status `self` may move to `next`.
    pub fn can_become(self, next: MessageStatus) -> bool {
        next.rank() > self.rank()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_moves_backwards() {
        use MessageStatus::*;
        assert!(Queued.can_become(Sent));
        assert!(Sent.can_become(Delivered));
        assert!(Delivered.can_become(Read));
        assert!(!Delivered.can_become(Sent));
        assert!(!Delivered.can_become(Undelivered));
        assert!(!Read.can_become(Delivered));
        for s in MessageStatus::ALL {
            assert_eq!(MessageStatus::parse(s.as_str()), Some(s));
            assert!(!s.can_become(s));
        }
    }
}
