//! Parley's side of the simulator: apps wired to it, and callbacks signed as Twilio signs them.

use parley_server::{
    carriers::twilio::{
        config::{Secret, TwilioAccount},
        signature,
    },
    Config,
};

use super::{TwilioSim, ACCOUNT, PUBLIC, TOKEN};
use crate::helpers::{test_config, Backend, TestApp};

/// A config whose `default` Twilio account is the simulator's.
pub fn config_for(sim: &TwilioSim) -> Config {
    let mut cfg = test_config();
    cfg.public_base_url = Some(PUBLIC.into());
    cfg.twilio.base_url = sim.url.clone();
    cfg.twilio.request_timeout_ms = 300;
    cfg.twilio.accounts.insert(
        "default".into(),
        TwilioAccount {
            account_sid: ACCOUNT.into(),
            auth_token: Some(Secret::new(TOKEN)),
            auth_token_file: None,
            orgs: vec![],
        },
    );
    cfg
}

/// An app whose number `AGENT` sends through the simulator (1000 MPS, no type).
pub async fn spawn(b: Backend) -> (TestApp, TwilioSim) {
    spawn_with(b, |_| {}).await
}

pub async fn spawn_with(b: Backend, tweak: impl FnOnce(&mut Config)) -> (TestApp, TwilioSim) {
    let sim = TwilioSim::start().await;
    let mut cfg = config_for(&sim);
    tweak(&mut cfg);
    let app = TestApp::spawn_with(b, cfg).await;
    sim.use_clock(app.clock.clone());
    twilio_number(&app, crate::helpers::AGENT, "sms", None).await;
    (app, sim)
}

/// Moves `number` (already added) onto Twilio.
pub async fn twilio_number(app: &TestApp, number: &str, channel: &str, service: Option<&str>) {
    if app.store.number(number).await.unwrap().is_none() {
        app.store
            .add_number(&app.org_id, number, "twilio", channel, 1000.0, 0)
            .await
            .unwrap();
    }
    let ok = app
        .store
        .set_number_sending(
            number,
            &parley_store::NumberSending {
                carrier: "twilio".into(),
                mps: 1000.0,
                messaging_service_sid: service.map(Into::into),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(ok);
}

/// Posts a callback to Parley signed as Twilio would sign it for `PUBLIC` + `path`.
pub async fn callback(app: &TestApp, path: &str, params: &[(&str, &str)]) -> (u16, String) {
    let url = format!("{PUBLIC}{path}");
    let pairs: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let sig = signature::compute(TOKEN, &url, &pairs);
    post_signed(app, path, &pairs, Some(&sig), &[]).await
}

/// Posts a form to Parley with the given signature header (or none).
pub async fn post_signed(
    app: &TestApp,
    path: &str,
    pairs: &[(String, String)],
    sig: Option<&str>,
    headers: &[(&str, &str)],
) -> (u16, String) {
    let mut body = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        body.append_pair(k, v);
    }
    let mut req = app
        .http
        .post(app.url(path))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.finish());
    if let Some(s) = sig {
        req = req.header("x-twilio-signature", s);
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = req.send().await.unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

/// A status callback for message `id` (Twilio id `sid`).
pub async fn status(app: &TestApp, id: i64, sid: &str, status: &str, error: Option<&str>) -> u16 {
    let mut p = vec![
        ("MessageSid", sid),
        ("SmsSid", sid),
        ("AccountSid", ACCOUNT),
        ("MessageStatus", status),
        ("SmsStatus", status),
        ("ApiVersion", "2010-04-01"),
    ];
    if let Some(e) = error {
        p.push(("ErrorCode", e));
    }
    callback(
        app,
        &format!("/v1/carriers/twilio/status?message_id={id}"),
        &p,
    )
    .await
    .0
}

/// The message row's status, error code and Twilio id.
pub async fn row(app: &TestApp, id: i64) -> (String, Option<String>, Option<String>, i64) {
    let m = app.store.message(id).await.unwrap().unwrap();
    (
        m.status.unwrap_or_default(),
        m.error_code,
        m.provider_sid,
        m.attempts,
    )
}
