//! E.164 phone numbers.
//!
//! Parley stores numbers exactly as the caller wrote them once they pass a strict E.164
//! syntax check. We deliberately do not reformat through a numbering-plan library: such
//! libraries rewrite some valid international numbers (see ORACLES.md item 6), and a
//! rewritten number would silently split one conversation into two.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A syntactically valid E.164 number: `+`, a non-zero country digit, 8 to 15 digits in all.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PhoneNumber(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("must start with '+' followed by the country code (E.164)")]
    MissingPlus,
    #[error("must contain only digits after '+' (E.164)")]
    NotDigits,
    #[error("country code cannot start with 0 (E.164)")]
    LeadingZero,
    #[error("must have between 8 and 15 digits (E.164)")]
    BadLength,
}

/// Shortest number we accept. E.164 allows very short numbers in theory, but nothing
/// shorter than 8 digits in total is a reachable mobile subscriber anywhere today.
const MIN_DIGITS: usize = 8;
const MAX_DIGITS: usize = 15;

impl PhoneNumber {
    pub fn parse(input: &str) -> Result<Self, PhoneError> {
        let digits = input.strip_prefix('+').ok_or(PhoneError::MissingPlus)?;
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(PhoneError::NotDigits);
        }
        if digits.starts_with('0') {
            return Err(PhoneError::LeadingZero);
        }
        if !(MIN_DIGITS..=MAX_DIGITS).contains(&digits.len()) {
            return Err(PhoneError::BadLength);
        }
        Ok(Self(input.to_owned()))
    }

    /// Accepts a number without its leading `+` (as batch files often carry) and adds it.
    pub fn parse_lenient(input: &str) -> Result<Self, PhoneError> {
        let trimmed = input.trim();
        if trimmed.starts_with('+') {
            Self::parse(trimmed)
        } else {
            Self::parse(&format!("+{trimmed}"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for PhoneNumber {
    type Error = PhoneError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<PhoneNumber> for String {
    fn from(value: PhoneNumber) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn accepts_common_numbers() {
        for n in [
            "+15550100000",
            "+447911123456",
            "+4915112345678",
            "+78001234567",
        ] {
            assert_eq!(PhoneNumber::parse(n).unwrap().as_str(), n);
        }
    }

    #[test]
    fn rejects_malformed_numbers() {
        assert_eq!(
            PhoneNumber::parse("15550100000"),
            Err(PhoneError::MissingPlus)
        );
        assert_eq!(
            PhoneNumber::parse("+1 555 0100"),
            Err(PhoneError::NotDigits)
        );
        assert_eq!(PhoneNumber::parse("+"), Err(PhoneError::NotDigits));
        assert_eq!(
            PhoneNumber::parse("+0155501000"),
            Err(PhoneError::LeadingZero)
        );
        assert_eq!(PhoneNumber::parse("+1555"), Err(PhoneError::BadLength));
        assert_eq!(
            PhoneNumber::parse("+1234567890123456"),
            Err(PhoneError::BadLength)
        );
        assert_eq!(
            PhoneNumber::parse("+١٥٥٥٠١٠٠٠٠٠"),
            Err(PhoneError::NotDigits)
        );
    }

    #[test]
    fn lenient_parse_adds_the_plus() {
        assert_eq!(
            PhoneNumber::parse_lenient(" 15550100000 ")
                .unwrap()
                .as_str(),
            "+15550100000"
        );
    }

    proptest! {
        #[test]
        fn valid_numbers_round_trip_unchanged(cc in 1u8..=9, rest in "[0-9]{7,14}") {
            let s = format!("+{cc}{rest}");
            let parsed = PhoneNumber::parse(&s).unwrap();
            prop_assert_eq!(parsed.as_str(), s.as_str());
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,20}") {
            let _ = PhoneNumber::parse(&s);
        }
    }
}
