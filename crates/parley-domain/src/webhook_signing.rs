//! Signatures on customer webhooks: Bland's and Standard Webhooks'.
//!
//! - Bland: `X-Webhook-Signature` is the lowercase hex HMAC-SHA256 of the exact body bytes,
//!   keyed by the org's secret as the customer copied it (the whole `whsec_…` string).
//! - Standard Webhooks (<https://www.standardwebhooks.com>): `webhook-signature` is
//!   `v1,` + base64 HMAC-SHA256 of `"{id}.{timestamp}.{body}"`, keyed by the base64-decoded
//!   part of the secret after `whsec_`. Several signatures are separated by spaces, which is
//!   how a receiver keeps verifying while the secret rotates.

use base64::{engine::general_purpose::STANDARD, Engine};
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The prefix Standard Webhooks secrets carry.
pub const SECRET_PREFIX: &str = "whsec_";

/// Bland's `X-Webhook-Signature` value.
pub fn bland_signature(secret: &str, body: &[u8]) -> String {
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// The key bytes of a Standard Webhooks secret (`whsec_` + base64), or `None` when it is
/// not one.
pub fn standard_key(secret: &str) -> Option<Vec<u8>> {
    STANDARD
        .decode(secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret))
        .ok()
        .filter(|k| !k.is_empty())
}

/// One `v1,<base64>` signature of a Standard Webhooks message.
pub fn standard_signature(key: &[u8], msg_id: &str, timestamp_secs: i64, body: &[u8]) -> String {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes any key");
    mac.update(msg_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp_secs.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

/// The `webhook-signature` header: one signature per live secret, space-separated.
pub fn standard_header(
    secrets: &[String],
    msg_id: &str,
    timestamp_secs: i64,
    body: &[u8],
) -> String {
    secrets
        .iter()
        .filter_map(|s| standard_key(s))
        .map(|k| standard_signature(&k, msg_id, timestamp_secs, body))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A new secret: `whsec_` + base64 of 24 random bytes (the caller draws them).
pub fn format_secret(random: &[u8; 24]) -> String {
    format!("{SECRET_PREFIX}{}", STANDARD.encode(random))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Any change to the body, id or timestamp changes the signature; the same input
        /// always signs the same.
        #[test]
        fn signatures_bind_every_part(body in proptest::collection::vec(any::<u8>(), 0..64), ts in 0i64..4_000_000_000, flip in 0usize..64) {
            let secret = format_secret(&[7; 24]);
            let key = standard_key(&secret).unwrap();
            let a = standard_signature(&key, "msg_1", ts, &body);
            prop_assert_eq!(&a, &standard_signature(&key, "msg_1", ts, &body));
            prop_assert_ne!(&a, &standard_signature(&key, "msg_2", ts, &body));
            prop_assert_ne!(&a, &standard_signature(&key, "msg_1", ts + 1, &body));
            let bland = bland_signature(&secret, &body);
            prop_assert_eq!(bland.len(), 64);
            prop_assert!(bland.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
            if !body.is_empty() {
                let mut changed = body.clone();
                let i = flip % changed.len();
                changed[i] ^= 1;
                prop_assert_ne!(&a, &standard_signature(&key, "msg_1", ts, &changed));
                prop_assert_ne!(&bland, &bland_signature(&secret, &changed));
            }
        }
    }
}
