//! Webhook signatures and body serialization against the reference implementations
//! (`tests/data/webhooks/generate.sh`): Standard Webhooks' Python library 1.1.0 (with the
//! published test vector first), Node's HMAC for Bland's header, and Node's
//! `JSON.stringify(JSON.parse(text))` for the bodies Parley writes.

use parley_domain::{js_json, webhook_signing};
use serde_json::Value;

fn vectors() -> Value {
    serde_json::from_str(include_str!("data/webhooks/vectors.json")).unwrap()
}

#[test]
fn standard_webhooks_signatures_match_the_reference_library() {
    let v = vectors();
    let cases = v["standard_webhooks"].as_array().unwrap();
    assert_eq!(
        cases[0]["signature"], "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
        "the published vector"
    );
    for c in cases {
        let key = webhook_signing::standard_key(c["secret"].as_str().unwrap()).unwrap();
        let got = webhook_signing::standard_signature(
            &key,
            c["id"].as_str().unwrap(),
            c["timestamp"].as_i64().unwrap(),
            c["body"].as_str().unwrap().as_bytes(),
        );
        assert_eq!(got, c["signature"].as_str().unwrap(), "{c}");
    }
}

#[test]
fn rotation_sends_one_signature_per_live_secret() {
    let v = vectors();
    let c = &v["standard_webhooks"][0];
    let secrets = vec![
        "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYX".to_owned(),
        c["secret"].as_str().unwrap().to_owned(),
    ];
    let header = webhook_signing::standard_header(
        &secrets,
        c["id"].as_str().unwrap(),
        c["timestamp"].as_i64().unwrap(),
        c["body"].as_str().unwrap().as_bytes(),
    );
    let parts: Vec<&str> = header.split(' ').collect();
    assert_eq!(parts.len(), 2);
    assert_eq!(parts[1], c["signature"].as_str().unwrap());
}

#[test]
fn bland_signatures_match_node_hmac() {
    for c in vectors()["bland"].as_array().unwrap() {
        let got = webhook_signing::bland_signature(
            c["secret"].as_str().unwrap(),
            c["body"].as_str().unwrap().as_bytes(),
        );
        assert_eq!(got, c["signature"].as_str().unwrap(), "{c}");
    }
}

#[test]
fn bodies_survive_javascripts_parse_and_stringify_byte_for_byte() {
    for c in vectors()["js_json"].as_array().unwrap() {
        let parsed: Value = serde_json::from_str(c["text"].as_str().unwrap()).unwrap();
        assert_eq!(
            js_json::to_string(&parsed),
            c["javascript"].as_str().unwrap(),
            "{}",
            c["text"]
        );
    }
}
