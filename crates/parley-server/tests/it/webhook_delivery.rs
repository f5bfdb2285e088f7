//! Webhook delivery under failure: a receiver down for an hour gets everything exactly once
//! and in order per conversation once it is back; the retry rules (429 with Retry-After,
//! 4xx, redirects); and the SSRF guard.

use std::collections::{HashMap, HashSet};

use serde_json::json;

use crate::{
    helpers::{test_config, Backend, TestApp, AGENT},
    webhook_receiver::{loopback_config, Receiver},
    webhooks::{close, inbound, new_secret},
};

crate::backend_tests!(
    a_receiver_down_for_an_hour_gets_every_event_once_in_order,
    retry_after_is_honoured_and_other_4xx_are_not_retried,
    redirects_are_not_followed,
    private_addresses_are_refused_unless_allowed,
);

async fn send(app: &TestApp, user: &str, text: &str, webhook: &str) -> String {
    let (status, res) = app
        .post(
            "/v1/sms/send",
            &app.key,
            &json!({"user_number": user, "agent_number": AGENT, "agent_message": text, "webhook": webhook}),
        )
        .await;
    assert_eq!(status, 200, "{res}");
    res["data"]["conversation_id"].as_str().unwrap().to_owned()
}

async fn a_receiver_down_for_an_hour_gets_every_event_once_in_order(b: Backend) {
    let app = TestApp::spawn_with(b, loopback_config()).await;
    let rx = Receiver::start().await;
    new_secret(&app, 0).await;
    rx.answer(503, &[]);
    let users = ["+15551230010", "+15551230011", "+15551230012"];
    let mut convs = Vec::new();
    for (i, u) in users.iter().enumerate() {
        let conv = send(&app, u, &format!("hello {i}"), &rx.url("/down")).await;
        convs.push(conv);
    }
    app.drain().await;
    for (i, u) in users.iter().enumerate() {
        inbound(&app, u, &format!("reply {i}")).await;
        inbound(&app, u, &format!("second reply {i}")).await;
    }
    app.drain().await;
    close(&app, &convs[0]).await;
    close(&app, &convs[2]).await;
    // Down for an hour of (fake) time.
    for _ in 0..60 {
        app.advance(60_000).await;
    }
    let failures = rx.all().len();
    assert!(failures > 0 && rx.accepted().is_empty());
    // While down, only each conversation's head is tried, on a backoff: a few tries each.
    let heads: HashSet<String> = rx
        .all()
        .iter()
        .map(|r| r.header("webhook-id").unwrap())
        .collect();
    assert_eq!(
        heads.len(),
        users.len(),
        "only the head of each conversation is tried"
    );
    assert!(
        failures <= users.len() * 12,
        "{failures} attempts in an hour"
    );

    rx.answer(200, &[]);
    let mut waited = 0;
    while app.store.pending_webhooks().await.unwrap() > 0 {
        assert!(waited < 48 * 60, "still pending after two days");
        app.advance(60_000).await;
        waited += 1;
    }
    let got = rx.accepted();
    // 3 agent messages + 6 replies + 2 ends, each exactly once.
    assert_eq!(got.len(), 11, "{got:#?}");
    let ids: HashSet<String> = got
        .iter()
        .map(|r| r.header("webhook-id").unwrap())
        .collect();
    assert_eq!(ids.len(), 11, "no duplicates");
    let mut per_conv: HashMap<String, Vec<String>> = HashMap::new();
    for r in &got {
        let v = r.json();
        let what = match v["type"].as_str().unwrap() {
            "status" => format!("status:{}", v["status"].as_str().unwrap()),
            _ => format!(
                "{}:{}",
                v["sender"].as_str().unwrap(),
                v["message"].as_str().unwrap()
            ),
        };
        per_conv
            .entry(v["conversation_id"].as_str().unwrap().to_owned())
            .or_default()
            .push(what);
    }
    for (i, conv) in convs.iter().enumerate() {
        let mut want = vec![
            format!("AGENT:hello {i}"),
            format!("USER:reply {i}"),
            format!("USER:second reply {i}"),
        ];
        if i != 1 {
            want.push("status:inactive".into());
        }
        assert_eq!(per_conv[conv], want, "conversation {i}");
    }
}

async fn retry_after_is_honoured_and_other_4xx_are_not_retried(b: Backend) {
    let app = TestApp::spawn_with(b, loopback_config()).await;
    let rx = Receiver::start().await;
    rx.answer(429, &[("retry-after", "120")]);
    let conv = send(&app, "+15551230020", "one", &rx.url("/limited")).await;
    app.drain().await;
    assert_eq!(rx.all().len(), 1);
    rx.answer(200, &[]);
    app.advance(100_000).await;
    assert_eq!(rx.all().len(), 1, "Retry-After: 120 s not yet over");
    app.advance(21_000).await;
    assert_eq!(rx.accepted().len(), 1);

    // A 400 is final: one attempt, the webhook is failed, and the conversation's next
    // webhook is not held up behind it.
    rx.answer(400, &[]);
    inbound(&app, "+15551230020", "first").await;
    app.drain().await;
    rx.answer(200, &[]);
    inbound(&app, "+15551230020", "second").await;
    app.advance(24 * 3_600_000).await;
    let all = rx.all();
    assert_eq!(all.len(), 4, "{all:#?}");
    assert_eq!(all[2].answered, 400);
    assert_eq!(all[2].json()["message"], "first");
    assert_eq!(all[3].json()["message"], "second");
    let (_, log) = app
        .get(&format!("/v1/sms/conversations/{conv}/webhook"), &app.key)
        .await;
    let states: Vec<&str> = log["data"]["webhooks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, vec!["delivered", "failed", "delivered"]);
}

async fn redirects_are_not_followed(b: Backend) {
    let app = TestApp::spawn_with(b, loopback_config()).await;
    let rx = Receiver::start().await;
    let target = Receiver::start().await;
    rx.answer(307, &[("location", &target.url("/elsewhere"))]);
    let conv = send(&app, "+15551230030", "hi", &rx.url("/moved")).await;
    app.advance(3_600_000).await;
    assert_eq!(rx.all().len(), 1, "a redirect is final");
    assert!(target.all().is_empty(), "and never followed");
    let (_, log) = app
        .get(&format!("/v1/sms/conversations/{conv}/webhook"), &app.key)
        .await;
    assert_eq!(log["data"]["state"], "failed");
    assert_eq!(log["data"]["metadata"][0]["response_code"], 307);
}

async fn private_addresses_are_refused_unless_allowed(b: Backend) {
    // The default config allows no private network.
    let app = TestApp::spawn_with(b, test_config()).await;
    let rx = Receiver::start().await;
    let convs = [
        send(&app, "+15551230040", "a", &rx.url("/nope")).await,
        send(
            &app,
            "+15551230041",
            "b",
            &format!("http://localhost:{}/nope", rx.addr.port()),
        )
        .await,
        send(
            &app,
            "+15551230042",
            "c",
            &format!("http://[::1]:{}/nope", rx.addr.port()),
        )
        .await,
    ];
    app.advance(3_600_000).await;
    assert!(rx.all().is_empty(), "nothing reached the loopback receiver");
    for conv in &convs {
        let (_, log) = app
            .get(&format!("/v1/sms/conversations/{conv}/webhook"), &app.key)
            .await;
        let d = &log["data"];
        assert_eq!(d["state"], "failed", "{log}");
        let attempts = d["metadata"].as_array().unwrap();
        assert_eq!(attempts.len(), 1, "refusals are not retried: {log}");
        assert_eq!(attempts[0]["response_code"], serde_json::Value::Null);
        assert!(
            attempts[0]["error_message"]
                .as_str()
                .unwrap()
                .contains("loopback"),
            "{log}"
        );
    }
}
