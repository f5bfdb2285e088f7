//! The Twilio carrier against Twilio's own OpenAPI description, served by Prism as a
//! validating mock (`scripts/oracles/prism.sh start`, which prints the
//! `PARLEY_TWILIO_PRISM_URL` to export). Prism answers 201 only to a request the spec accepts,
//! and 401 / 415 / 422 with the violations otherwise. The spec cannot say "From or
//! MessagingServiceSid" nor "Body or ContentSid"; the twilio library comparison covers those.

use std::collections::BTreeMap;

use parley_server::carriers::{
    twilio::{config::TwilioConfig, reconcile, TwilioCarrier},
    Carrier, CarrierError, OutboundSms,
};
use serde_json::Value;

use crate::{
    helpers::{Backend, TestApp},
    twilio_sim::{self, TwilioSim, SERVICE},
};

crate::backend_tests!(sends_pass_twilio_s_own_spec);

fn prism() -> Option<String> {
    match std::env::var("PARLEY_TWILIO_PRISM_URL") {
        Ok(url) => Some(url),
        Err(_) => {
            eprintln!("PARLEY_TWILIO_PRISM_URL not set; start Prism with scripts/oracles/prism.sh to run this test");
            None
        }
    }
}

fn messages() -> BTreeMap<&'static str, OutboundSms> {
    let base = OutboundSms {
        message_id: 41,
        from: "+15550100000".into(),
        to: "+15551230000".into(),
        body: "Hello from Parley".into(),
        channel: "sms".into(),
        segments: 1,
        ..OutboundSms::default()
    };
    let mut m = BTreeMap::new();
    m.insert("sms", base.clone());
    m.insert(
        "unicode",
        OutboundSms {
            body: "Olá 😀 & 50% = ½".into(),
            to: "+447700900123".into(),
            ..base.clone()
        },
    );
    m.insert(
        "messaging_service",
        OutboundSms {
            messaging_service_sid: Some(SERVICE.into()),
            ..base.clone()
        },
    );
    m.insert(
        "whatsapp_text",
        OutboundSms {
            channel: "whatsapp".into(),
            ..base.clone()
        },
    );
    m.insert(
        "whatsapp_template",
        OutboundSms {
            channel: "whatsapp".into(),
            content_sid: Some(format!("HX{}", "cd".repeat(16))),
            content_variables: Some(r#"{"1":"1042","2":3}"#.into()),
            ..base.clone()
        },
    );
    m
}

async fn carrier(app: &TestApp, url: &str, edit: impl FnOnce(&mut TwilioConfig)) -> TwilioCarrier {
    let mut cfg = twilio_sim::config_for(&TwilioSim::default()).twilio;
    cfg.base_url = url.into();
    cfg.request_timeout_ms = 10_000;
    edit(&mut cfg);
    TwilioCarrier::new(cfg, Some(twilio_sim::PUBLIC.into()), app.store.clone()).unwrap()
}

async fn sends_pass_twilio_s_own_spec(b: Backend) {
    let Some(url) = prism() else { return };
    let (app, _) = twilio_sim::spawn(b).await;
    let twilio = carrier(&app, &url, |_| {}).await;
    for (name, mut m) in messages() {
        m.org_id = app.org_id.clone();
        let got = twilio.send(&m).await;
        // Prism answers with the spec's example message.
        assert!(
            matches!(&got, Ok(r) if r.provider_sid.starts_with("SM") && r.provider_sid.len() == 34),
            "{name}: {got:?}"
        );
    }

    // The spec does judge: a malformed account SID in the path and missing credentials fail.
    let bad_sid = carrier(&app, &url, |c| {
        c.accounts.get_mut("default").unwrap().account_sid = "AC123".into()
    })
    .await;
    let mut m = messages()["sms"].clone();
    m.org_id = app.org_id.clone();
    let got = bad_sid.send(&m).await;
    assert!(
        matches!(&got, Err(CarrierError::Rejected { code, .. }) if code == "422"),
        "{got:?}"
    );

    // The lookup's list query is valid too. (Prism then flags Twilio's own example response,
    // whose relative `uri` fields break the spec's `format: uri`: violations located in the
    // response, never in the request.)
    let res = app
        .http
        .get(format!(
            "{url}/2010-04-01/Accounts/{}/Messages.json",
            twilio_sim::ACCOUNT
        ))
        .basic_auth(twilio_sim::ACCOUNT, Some(twilio_sim::TOKEN))
        .query(&reconcile::query(&m, 50))
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let body: Value = res.json().await.unwrap();
    let request_violations: Vec<&Value> = body["validation"]
        .as_array()
        .map(|v| {
            v.iter()
                .filter(|x| x["location"][0] != "response")
                .collect()
        })
        .unwrap_or_default();
    assert!(
        status == 200 || (status == 500 && request_violations.is_empty()),
        "{status}: {body}"
    );
    assert!(request_violations.is_empty(), "{body}");
}
