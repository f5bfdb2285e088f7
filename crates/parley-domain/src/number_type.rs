//! Kinds of sending numbers. Carriers give each kind its own throughput (US long code 1
//! segment per second, toll-free 3, short code 100, a WhatsApp sender about 80), so the kind
//! is what a number's default rate comes from. The rates themselves are configuration
//! (`pacing.type_mps`), because carriers change them and accounts negotiate their own.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NumberType {
    LongCode,
    TollFree,
    ShortCode,
    Whatsapp,
}

impl NumberType {
    pub const ALL: [NumberType; 4] = [
        NumberType::LongCode,
        NumberType::TollFree,
        NumberType::ShortCode,
        NumberType::Whatsapp,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            NumberType::LongCode => "long_code",
            NumberType::TollFree => "toll_free",
            NumberType::ShortCode => "short_code",
            NumberType::Whatsapp => "whatsapp",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for t in NumberType::ALL {
            assert_eq!(NumberType::parse(t.as_str()), Some(t));
            assert_eq!(serde_json::to_value(t).unwrap(), t.as_str());
        }
        assert_eq!(NumberType::parse("longcode"), None);
    }
}
