//! `X-Twilio-Signature`: how Twilio signs the webhooks it sends us.
//!
//! The signed string is the full URL Twilio requested (scheme, host, path, query) followed by
//! every POST parameter as name then value, names sorted, no separators; the signature is
//! the base64 HMAC-SHA1 of it keyed with the account's auth token. This mirrors the official
//! `RequestValidator` of twilio-python 9.13.0 in its details: each name once, its distinct
//! values sorted; and a request is accepted when the URL matches with or without its port,
//! because Twilio's signing is inconsistent about default ports. The vectors in
//! `tests/data/twilio/signatures.json` were produced by that library.

use base64::{engine::general_purpose::STANDARD, Engine};
use hmac::{Hmac, Mac};
use sha1::Sha1;

type HmacSha1 = Hmac<Sha1>;

fn mac(token: &str, url: &str, params: &[(String, String)]) -> HmacSha1 {
    let mut names: Vec<&str> = params.iter().map(|(k, _)| k.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    let mut mac = HmacSha1::new_from_slice(token.as_bytes()).expect("HMAC takes any key length");
    mac.update(url.as_bytes());
    for name in names {
        let mut values: Vec<&str> = params
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect();
        values.sort_unstable();
        values.dedup();
        for v in values {
            mac.update(name.as_bytes());
            mac.update(v.as_bytes());
        }
    }
    mac
}

/// The signature Twilio would send for this request.
pub fn compute(token: &str, url: &str, params: &[(String, String)]) -> String {
    STANDARD.encode(mac(token, url, params).finalize().into_bytes())
}

/// Whether `signature` signs this request for `url` with or without its port. Compares in
/// constant time.
pub fn validate(token: &str, url: &str, params: &[(String, String)], signature: &str) -> bool {
    let Ok(given) = STANDARD.decode(signature.trim()) else {
        return false;
    };
    let (with_port, without_port) = port_variants(url);
    [without_port, with_port]
        .iter()
        .any(|u| mac(token, u, params).verify_slice(&given).is_ok())
}

/// The URL with its port (the scheme's default added when it has none) and without any port,
/// as twilio-python's `add_port` / `remove_port` build them.
pub fn port_variants(url: &str) -> (String, String) {
    let Some(scheme_end) = url.find("://") else {
        return (url.to_owned(), url.to_owned());
    };
    let rest = &url[scheme_end + 3..];
    let host_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (netloc, tail) = rest.split_at(host_end);
    let head = &url[..scheme_end + 3];
    // The port follows the last ':' outside an IPv6 literal's brackets.
    let port_at = netloc
        .rfind(':')
        .filter(|&i| !netloc[i..].contains(']'))
        .filter(|&i| {
            let p = &netloc[i + 1..];
            !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())
        });
    match port_at {
        Some(i) => (url.to_owned(), format!("{head}{}{tail}", &netloc[..i])),
        None => {
            let default = if url[..scheme_end].eq_ignore_ascii_case("https") {
                443
            } else {
                80
            };
            (format!("{head}{netloc}:{default}{tail}"), url.to_owned())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn matches_the_documented_example() {
        // ORACLES.md item 2, computed by twilio-python's RequestValidator.
        let params = p(&[
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+12349013030"),
            ("Digits", "1234"),
            ("From", "+12349013030"),
            ("To", "+18005551212"),
        ]);
        let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
        assert_eq!(
            compute("12345", url, &params),
            "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
        );
        assert!(validate(
            "12345",
            url,
            &params,
            "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
        ));
        assert!(!validate(
            "12346",
            url,
            &params,
            "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
        ));
        assert!(!validate("12345", url, &params, "not base64!"));
    }

    #[test]
    fn ports_are_added_and_removed_like_the_official_validator() {
        assert_eq!(
            port_variants("https://a.example/x?y=1"),
            (
                "https://a.example:443/x?y=1".into(),
                "https://a.example/x?y=1".into()
            )
        );
        assert_eq!(
            port_variants("http://a.example:8080/x"),
            (
                "http://a.example:8080/x".into(),
                "http://a.example/x".into()
            )
        );
        assert_eq!(
            port_variants("http://[::1]/x"),
            ("http://[::1]:80/x".into(), "http://[::1]/x".into())
        );
    }
}
