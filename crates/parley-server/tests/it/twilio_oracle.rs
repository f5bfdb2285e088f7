//! Parley against the official twilio-python library (9.13.0): its `RequestValidator` on
//! webhook signatures, and the exact request its `client.messages.create(...)` sends. The
//! vectors in `tests/data/twilio/` were produced by `scripts/oracles/twilio.sh`.

use std::{collections::BTreeMap, sync::Arc};

use parley_server::carriers::{
    twilio::{config::Secret, signature, TwilioCarrier},
    Carrier, OutboundSms,
};
use serde_json::Value;

use crate::{
    helpers::Backend,
    twilio_sim::{self, post_signed, TwilioSim},
};

crate::backend_tests!(
    requests_match_the_twilio_library_field_for_field,
    library_signed_callbacks_are_accepted_over_http,
);

fn vectors(name: &str) -> Value {
    let path = format!("{}/tests/data/twilio/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn pairs(v: &Value) -> Vec<(String, String)> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p[0].as_str().unwrap().to_owned(),
                p[1].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Every signature the library computed, and every accept / refuse decision it made
/// (URLs with and without ports, other schemes, tampered values, other tokens).
#[test]
fn signatures_agree_with_the_twilio_library() {
    let v = vectors("signatures.json");
    let mut checks = 0;
    for case in v["cases"].as_array().unwrap() {
        let (token, url, sig) = (
            case["token"].as_str().unwrap(),
            case["url"].as_str().unwrap(),
            case["signature"].as_str().unwrap(),
        );
        let params = pairs(&case["params"]);
        assert_eq!(
            signature::compute(token, url, &params),
            sig,
            "{}",
            case["name"]
        );
        for c in case["checks"].as_array().unwrap() {
            let p = c.get("params").map(pairs).unwrap_or_else(|| params.clone());
            let t = c["token"].as_str().unwrap_or(token);
            let got = signature::validate(t, c["url"].as_str().unwrap(), &p, sig);
            assert_eq!(got, c["valid"].as_bool().unwrap(), "{}: {c}", case["name"]);
            checks += 1;
        }
    }
    assert!(checks >= 50, "only {checks} checks");
}

/// Multimap of a form, for comparing with Python's `parse_qs`.
fn multimap(form: &[(String, String)]) -> BTreeMap<String, Vec<String>> {
    let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (k, v) in form {
        m.entry(k.clone()).or_default().push(v.clone());
    }
    m
}

async fn requests_match_the_twilio_library_field_for_field(b: Backend) {
    let v = vectors("wire.json");
    let (app, _) = twilio_sim::spawn(b).await;
    // A capture server standing where Twilio would.
    let sim = TwilioSim::start().await;
    let mut cfg = twilio_sim::config_for(&sim);
    let acct = cfg.twilio.accounts.get_mut("default").unwrap();
    acct.account_sid = v["account_sid"].as_str().unwrap().into();
    acct.auth_token = Some(Secret::new(v["auth_token"].as_str().unwrap()));
    for m in v["messages"].as_array().unwrap() {
        let public = (m.get("no_callback").is_none())
            .then(|| v["public_base_url"].as_str().unwrap().to_owned());
        let carrier =
            Arc::new(TwilioCarrier::new(cfg.twilio.clone(), public, app.store.clone()).unwrap());
        let out = OutboundSms {
            message_id: m["message_id"].as_i64().unwrap(),
            org_id: app.org_id.clone(),
            from: m["from"].as_str().unwrap().into(),
            to: m["to"].as_str().unwrap().into(),
            body: m["body"].as_str().unwrap().into(),
            channel: m["channel"].as_str().unwrap().into(),
            segments: 1,
            content_sid: m["content_sid"].as_str().map(Into::into),
            content_variables: m.get("content_variables").map(|v| v.to_string()),
            messaging_service_sid: m["messaging_service_sid"].as_str().map(Into::into),
            ..OutboundSms::default()
        };
        let before = sim.posts().len();
        // The capture server answers 401 to an account it does not know; only the request matters.
        let _ = carrier.send(&out).await;
        let got = sim.posts().pop().unwrap();
        assert_eq!(sim.posts().len(), before + 1);
        let want = &m["request"];
        assert_eq!(got.path, want["path"].as_str().unwrap(), "{}", m["name"]);
        assert_eq!(
            got.authorization.as_deref(),
            want["authorization"].as_str(),
            "{}",
            m["name"]
        );
        assert_eq!(
            got.content_type.as_deref(),
            want["content_type"].as_str(),
            "{}",
            m["name"]
        );
        let want_form: BTreeMap<String, Vec<String>> =
            serde_json::from_value(want["form"].clone()).unwrap();
        assert_eq!(multimap(&got.form), want_form, "{}", m["name"]);
    }
}

async fn library_signed_callbacks_are_accepted_over_http(b: Backend) {
    let v = vectors("signatures.json");
    let (app, _sim) = twilio_sim::spawn_with(b, |cfg| {
        let acct = cfg.twilio.accounts.get_mut("default").unwrap();
        acct.account_sid = v["account_sid"].as_str().unwrap().into();
    })
    .await;
    for name in [
        "status_callback_with_message_id",
        "status_callback_explicit_default_port",
        "inbound_unicode_and_media",
    ] {
        let case = v["cases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap();
        assert_eq!(case["token"], twilio_sim::TOKEN);
        let url = case["url"].as_str().unwrap();
        let path = &url[url.find("/v1/").unwrap()..];
        let params = pairs(&case["params"]);
        let sig = case["signature"].as_str().unwrap();
        let (s, body) = post_signed(&app, path, &params, Some(sig), &[]).await;
        // Accepted: the status names no Parley message (204); the inbound one is a WhatsApp
        // message to AGENT, stored (200). Neither is a 403.
        assert!(s == 204 || s == 200, "{name}: {s} {body}");
        let mut tampered = params.clone();
        tampered[0].1.push('x');
        assert_eq!(
            post_signed(&app, path, &tampered, Some(sig), &[]).await.0,
            403,
            "{name}"
        );
    }
}
