//! Customer webhooks end to end: message and status webhooks with the conversation's
//! metadata, both signatures, the delivery log and resend, the number's URL and the per-send
//! override, and signing secrets with rotation.

use base64::{engine::general_purpose::STANDARD, Engine};
use hmac::{Hmac, Mac};
use reqwest::Method;
use serde_json::{json, Value};
use sha2::Sha256;

use crate::{
    helpers::{assert_error, Backend, TestApp, AGENT, USER},
    webhook_receiver::{loopback_config, Received, Receiver},
};

crate::backend_tests!(
    every_message_and_the_end_are_posted_signed_with_metadata,
    the_log_shows_every_attempt_and_resend_replays_the_status_webhook,
    the_numbers_url_is_used_unless_the_send_overrides_it,
    rotation_signs_with_both_secrets_during_the_grace_period,
    resend_refuses_bad_input_and_conversations_without_a_status_webhook,
);

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// Checks both signatures of `r` the way a receiver would, with `secret`.
fn verify(r: &Received, secret: &str) {
    let body = r.body.as_bytes();
    assert_eq!(
        r.header("x-webhook-signature").unwrap(),
        hex::encode(hmac(secret.as_bytes(), body)),
        "Bland signature"
    );
    let id = r.header("webhook-id").unwrap();
    let ts = r.header("webhook-timestamp").unwrap();
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap())
        .unwrap();
    let signed = format!("{id}.{ts}.{}", r.body);
    let want = format!("v1,{}", STANDARD.encode(hmac(&key, signed.as_bytes())));
    let header = r.header("webhook-signature").unwrap();
    assert!(
        header.split(' ').any(|s| s == want),
        "{header} lacks {want}"
    );
    // The body is what JavaScript's JSON.stringify(JSON.parse(body)) gives back.
    let parsed: Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(parley_domain::js_json::to_string(&parsed), r.body);
}

pub async fn new_secret(app: &TestApp, grace: i64) -> String {
    let (status, body) = app
        .post(
            "/v1/webhook_secrets",
            &app.key,
            &json!({"grace_seconds": grace}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body["data"]["secret"].as_str().unwrap().to_owned()
}

async fn send_with(app: &TestApp, user: &str, extra: Value) -> String {
    let mut body =
        json!({"user_number": user, "agent_number": AGENT, "agent_message": "Hi, 3pm works?"});
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    let (status, res) = app.post("/v1/sms/send", &app.key, &body).await;
    assert_eq!(status, 200, "{res}");
    res["data"]["conversation_id"].as_str().unwrap().to_owned()
}

pub async fn inbound(app: &TestApp, user: &str, text: &str) -> Value {
    let (status, res) = app
        .post(
            "/v1/sandbox/inbound",
            &app.key,
            &json!({"from": user, "to": AGENT, "message": text}),
        )
        .await;
    assert_eq!(status, 200, "{res}");
    res["data"].clone()
}

pub async fn close(app: &TestApp, conv: &str) {
    let (status, res) = app
        .call(
            Method::PATCH,
            &format!("/v1/sms/conversations/{conv}"),
            &app.key,
            Some(&json!({"is_active": false})),
        )
        .await;
    assert_eq!(status, 200, "{res}");
}

async fn every_message_and_the_end_are_posted_signed_with_metadata(b: Backend) {
    let app = TestApp::spawn_with(b, loopback_config()).await;
    let rx = Receiver::start().await;
    let secret = new_secret(&app, 0).await;
    let metadata = json!({"crm_id": "42", "score": 1.0, "nested": {"b": [1, 2.5], "a": null}});
    let conv = send_with(
        &app,
        USER,
        json!({"webhook": rx.url("/hooks"), "metadata": metadata, "request_data": {"name": "Ann"}}),
    )
    .await;
    // Queued is not sent: nothing goes out until dispatch records `sent`.
    assert!(rx.all().is_empty());
    app.drain().await;
    inbound(&app, USER, "Yes, 3pm works").await;
    app.drain().await;
    close(&app, &conv).await;
    app.drain().await;

    let got = rx.accepted();
    assert_eq!(got.len(), 3, "{got:#?}");
    for r in &got {
        verify(r, &secret);
        assert_eq!(r.path, "/hooks");
        let v = r.json();
        assert_eq!(v["conversation_id"], conv.as_str());
        assert_eq!(v["phone_number"], USER);
        assert_eq!(v["agent_number"], AGENT);
        assert_eq!(v["channel"], "sms");
        // Echoed unchanged (1.0 is the number 1, as JavaScript has it).
        assert_eq!(
            v["metadata"],
            json!({"crm_id": "42", "score": 1, "nested": {"b": [1, 2.5], "a": null}})
        );
        assert_eq!(v["variables"]["name"], "Ann");
    }
    let (out, inb, end) = (got[0].json(), got[1].json(), got[2].json());
    assert_eq!(
        (out["type"].as_str(), out["sender"].as_str()),
        (Some("message"), Some("AGENT"))
    );
    assert_eq!(out["message"], "Hi, 3pm works?");
    assert_eq!(out["chat_history"].as_array().unwrap().len(), 1);
    assert_eq!(
        (inb["type"].as_str(), inb["sender"].as_str()),
        (Some("message"), Some("USER"))
    );
    assert_eq!(inb["chat_history"][1]["message"], "Yes, 3pm works");
    assert_eq!(end["type"], "status");
    assert_eq!(end["status"], "inactive");
    assert_eq!(end["message_count"], 2);
    assert_eq!(
        end["concatenated_transcript"],
        "agent: Hi, 3pm works?\nuser: Yes, 3pm works"
    );
    assert_eq!(end["dispositions"], json!([]));
    // Every webhook has its own id.
    let ids: std::collections::HashSet<_> = got.iter().map(|r| r.header("webhook-id")).collect();
    assert_eq!(ids.len(), 3);
    // Closing again is not a second end.
    close(&app, &conv).await;
    app.drain().await;
    assert_eq!(rx.all().len(), 3);
}

async fn the_log_shows_every_attempt_and_resend_replays_the_status_webhook(b: Backend) {
    let app = TestApp::spawn_with(b, loopback_config()).await;
    let rx = Receiver::start().await;
    let secret = new_secret(&app, 0).await;
    let conv = send_with(&app, USER, json!({"webhook": rx.url("/log")})).await;
    let (_, empty) = app
        .get(&format!("/v1/sms/conversations/{conv}/webhook"), &app.key)
        .await;
    assert_eq!(empty["data"], Value::Null, "nothing sent yet: {empty}");
    app.drain().await;
    rx.answer(503, &[]);
    close(&app, &conv).await;
    app.drain().await;
    rx.answer(200, &[]);
    app.advance(10_000).await;

    let (status, log) = app
        .get(&format!("/v1/sms/conversations/{conv}/webhook"), &app.key)
        .await;
    assert_eq!(status, 200, "{log}");
    let d = &log["data"];
    assert_eq!(d["conversation_id"], conv.as_str());
    assert_eq!(d["url"], rx.url("/log"));
    assert_eq!(d["user_id"], app.org_id.as_str());
    assert_eq!(d["payload"]["status"], "inactive");
    assert_eq!(d["state"], "delivered");
    let attempts = d["metadata"].as_array().unwrap();
    assert_eq!(attempts.len(), 2, "{log}");
    assert_eq!(attempts[0]["response_code"], 503);
    assert_eq!(attempts[0]["error_message"], "HTTP 503");
    assert_eq!(attempts[1]["response_code"], 200);
    assert!(attempts.iter().all(|a| a["send_type"] == "spawn"));
    assert!(attempts[0]["response_time"]
        .as_str()
        .unwrap()
        .ends_with("ms"));
    assert_eq!(
        d["webhooks"].as_array().unwrap().len(),
        2,
        "message and status"
    );

    let before = rx.accepted();
    let (status, res) = app
        .post(
            "/v1/sms/conversations/webhooks/resend",
            &app.key,
            &json!({"conversation_ids": [conv]}),
        )
        .await;
    assert_eq!(status, 200, "{res}");
    let again = rx.accepted();
    assert_eq!(again.len(), before.len() + 1);
    let (orig, replay) = (&before[before.len() - 1], &again[again.len() - 1]);
    assert_eq!(replay.body, orig.body, "same payload");
    assert_eq!(replay.header("webhook-id"), orig.header("webhook-id"));
    assert_eq!(
        replay.header("x-webhook-signature"),
        orig.header("x-webhook-signature")
    );
    verify(replay, &secret);
    let attempts = res["data"][0]["metadata"].as_array().unwrap();
    assert_eq!(attempts.len(), 3);
    assert_eq!(attempts[2]["send_type"], "resend");
    assert_eq!(attempts[2]["response_code"], 200);

    // Another org sees none of it.
    let (_, key_b) = app.org("other").await;
    assert_error(
        &app.get(&format!("/v1/sms/conversations/{conv}/webhook"), &key_b)
            .await,
        404,
        "CONVERSATION_NOT_FOUND",
    );
    assert_error(
        &app.post(
            "/v1/sms/conversations/webhooks/resend",
            &key_b,
            &json!({"conversation_ids": [conv]}),
        )
        .await,
        404,
        "WEBHOOK_NOT_FOUND",
    );
}

async fn the_numbers_url_is_used_unless_the_send_overrides_it(b: Backend) {
    let app = TestApp::spawn_with(b, loopback_config()).await;
    let rx = Receiver::start().await;
    let cfg = json!({"phone_number": AGENT, "webhook": rx.url("/number")});
    assert_eq!(
        app.post("/v1/sms/number/update", &app.key, &cfg).await.0,
        200
    );
    send_with(&app, USER, json!({})).await;
    send_with(
        &app,
        "+15551230001",
        json!({"webhook": rx.url("/override")}),
    )
    .await;
    app.drain().await;
    inbound(&app, "+15551230001", "ok").await;
    inbound(&app, "+15551239999", "a new user writes first").await;
    app.drain().await;
    let mut paths: Vec<(String, String)> = rx
        .accepted()
        .iter()
        .map(|r| {
            (
                r.json()["phone_number"].as_str().unwrap().to_owned(),
                r.path.clone(),
            )
        })
        .collect();
    paths.sort();
    assert_eq!(
        paths,
        vec![
            (USER.to_owned(), "/number".to_owned()),
            ("+15551230001".to_owned(), "/override".to_owned()),
            ("+15551230001".to_owned(), "/override".to_owned()),
            ("+15551239999".to_owned(), "/number".to_owned()),
        ]
    );
    // Without any secret, webhooks go out unsigned (and say so by lacking the headers).
    assert!(rx.all()[0].header("x-webhook-signature").is_none());
}

async fn rotation_signs_with_both_secrets_during_the_grace_period(b: Backend) {
    let app = TestApp::spawn_with(b, loopback_config()).await;
    let rx = Receiver::start().await;
    let old = new_secret(&app, 0).await;
    let new = new_secret(&app, 3_600).await;
    let (_, list) = app.get("/v1/webhook_secrets", &app.key).await;
    let listed = list["data"].as_array().unwrap();
    assert_eq!(listed.len(), 2, "{list}");
    assert_eq!(listed[0]["expires_at"], Value::Null);
    assert!(listed[1]["expires_at"].is_string());
    assert!(
        !list.to_string().contains(&new[10..]),
        "secrets are never listed"
    );
    send_with(&app, USER, json!({"webhook": rx.url("/r")})).await;
    app.drain().await;
    let first = &rx.accepted()[0];
    verify(first, &new);
    let key = STANDARD
        .decode(old.strip_prefix("whsec_").unwrap())
        .unwrap();
    let signed = format!(
        "{}.{}.{}",
        first.header("webhook-id").unwrap(),
        first.header("webhook-timestamp").unwrap(),
        first.body
    );
    let old_sig = format!("v1,{}", STANDARD.encode(hmac(&key, signed.as_bytes())));
    assert!(first
        .header("webhook-signature")
        .unwrap()
        .contains(&old_sig));
    // After the grace period only the new secret signs.
    app.clock.advance_ms(3_600_001);
    inbound(&app, USER, "later").await;
    app.drain().await;
    let later = rx.accepted().last().unwrap().clone();
    verify(&later, &new);
    assert_eq!(
        later
            .header("webhook-signature")
            .unwrap()
            .split(' ')
            .count(),
        1
    );
    let (_, list) = app.get("/v1/webhook_secrets", &app.key).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    for bad in [
        json!({"grace_seconds": -1}),
        json!({"grace_seconds": 604_801}),
        json!({"grace_seconds": "1"}),
    ] {
        let msg = assert_error(
            &app.post("/v1/webhook_secrets", &app.key, &bad).await,
            400,
            "INVALID_PARAMETER",
        );
        assert!(msg.contains("grace_seconds"), "{msg}");
    }
}

async fn resend_refuses_bad_input_and_conversations_without_a_status_webhook(b: Backend) {
    let app = TestApp::spawn_with(b, loopback_config()).await;
    let rx = Receiver::start().await;
    let conv = send_with(&app, USER, json!({"webhook": rx.url("/x")})).await;
    app.drain().await;
    for body in [
        json!({}),
        json!({"conversation_ids": []}),
        json!({"conversation_ids": [conv, conv]}),
        json!({"conversation_ids": [""]}),
        json!({"conversation_ids": "abc"}),
    ] {
        let msg = assert_error(
            &app.post("/v1/sms/conversations/webhooks/resend", &app.key, &body)
                .await,
            400,
            "INVALID_PARAMETER",
        );
        assert!(msg.contains("conversation_ids"), "{msg}");
    }
    // Only message webhooks so far: nothing to resend, and nothing is sent.
    let before = rx.all().len();
    assert_error(
        &app.post(
            "/v1/sms/conversations/webhooks/resend",
            &app.key,
            &json!({"conversation_ids": [conv]}),
        )
        .await,
        404,
        "WEBHOOK_NOT_FOUND",
    );
    assert_eq!(rx.all().len(), before);
}
