//! The per-org conversation counter behind the list's unfiltered `totalItems` and the
//! numbers' `conversation_count`: after every path that creates, deletes or only touches
//! conversations, it equals a real count of the rows, per org and per number, also under
//! concurrent creates.

use reqwest::Method;
use serde_json::{json, Value};

use crate::{
    conversation_fixture::AGENT_1,
    helpers::{enc, Backend, TestApp, AGENT, USER},
};

crate::backend_tests!(counts_match_the_rows_after_every_write_path);

/// Asserts that the counter (unfiltered list, numbers) and a real count (a filter that
/// every row passes) agree with `expected`, and returns the per-number counts.
async fn check(app: &TestApp, key: &str, expected: i64, step: &str) -> Vec<(String, i64)> {
    let (s, plain) = app.get("/v1/sms/conversations?pageSize=1000", key).await;
    assert_eq!(s, 200, "{step}: {plain}");
    let every = enc(&json!([{"field": "created_at", "operator": "gte", "value": 0}]).to_string());
    let (_, counted) = app
        .get(
            &format!("/v1/sms/conversations?pageSize=1000&filters={every}"),
            key,
        )
        .await;
    assert_eq!(
        plain["extra"]["pagination"]["totalItems"], expected,
        "{step}: counter"
    );
    assert_eq!(
        counted["extra"]["pagination"]["totalItems"], expected,
        "{step}: real count"
    );
    assert_eq!(
        plain["data"].as_array().unwrap().len() as i64,
        expected,
        "{step}: rows"
    );
    let (_, numbers) = app.get("/v1/sms/numbers", key).await;
    let per_number: Vec<(String, i64)> = numbers["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["phone_number"].as_str().unwrap().to_owned(),
                n["conversation_count"].as_i64().unwrap(),
            )
        })
        .collect();
    for (number, count) in &per_number {
        let real = plain["data"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["agent_number"] == number.as_str())
            .count() as i64;
        assert_eq!(*count, real, "{step}: conversation_count of {number}");
    }
    per_number
}

async fn send_as(app: &TestApp, key: &str, body: Value) -> Value {
    let (s, res) = app.post("/v1/sms/send", key, &body).await;
    assert_eq!(s, 200, "{res}");
    res["data"].clone()
}

async fn counts_match_the_rows_after_every_write_path(b: Backend) {
    let app = TestApp::spawn(b).await;
    let key = app.key.clone();
    app.number(&app.org_id, AGENT_1, 100.0).await;
    check(&app, &key, 0, "empty org").await;

    let first = app.send(USER, "one").await;
    app.send(USER, "same pair, same conversation").await;
    check(&app, &key, 1, "send twice").await;
    let replay =
        json!({"user_number": "+15551230001", "agent_number": AGENT, "agent_message": "k"});
    for _ in 0..2 {
        let (s, _) = app
            .post_with("/v1/sms/send", &key, &replay, &[("idempotency-key", "k1")])
            .await;
        assert_eq!(s, 200);
    }
    check(&app, &key, 2, "idempotent replay").await;
    send_as(
        &app,
        &key,
        json!({"user_number": USER, "agent_number": AGENT, "agent_message": "again", "new_conversation": true}),
    )
    .await;
    check(&app, &key, 3, "new_conversation archives and creates").await;

    let created = app
        .create(&json!({"user_number": "+15551230002", "agent_number": AGENT_1, "message": "m"}))
        .await;
    app.create(
        &json!({"user_number": "+15551230002", "agent_number": AGENT_1, "message": "resumed"}),
    )
    .await;
    let per_number = check(&app, &key, 4, "create, then resume").await;
    assert!(
        per_number.contains(&(AGENT_1.to_owned(), 1)),
        "{per_number:?}"
    );

    let (s, _) = app
        .post(
            "/v1/sandbox/inbound",
            &key,
            &json!({"from": "+15551230003", "to": AGENT, "message": "hi"}),
        )
        .await;
    assert_eq!(s, 200);
    check(&app, &key, 5, "inbound from a new user").await;

    // Paths that only touch conversations.
    let conv = created["conversation_id"].as_str().unwrap();
    let (s, _) = app
        .post(
            &format!("/v1/sms/conversations/{conv}/messages"),
            &key,
            &json!({"message": "from a human"}),
        )
        .await;
    assert_eq!(s, 200);
    let (s, _) = app
        .call(
            Method::PATCH,
            &format!("/v1/sms/conversations/{conv}"),
            &key,
            Some(&json!({"is_active": false})),
        )
        .await;
    assert_eq!(s, 200);
    let message_id = first["message_id"].as_i64().unwrap();
    let first_conv = first["conversation_id"].as_str().unwrap();
    let (s, res) = app
        .call(
            Method::DELETE,
            &format!("/v1/sms/conversations/{first_conv}/messages"),
            &key,
            Some(&json!({"message_ids": [message_id]})),
        )
        .await;
    assert_eq!((s, res["data"]["deleted_count"].as_i64()), (200, Some(1)));
    let (s, _) = app
        .post("/v1/sms/clear", &key, &json!({"to": USER, "from": AGENT}))
        .await;
    assert_eq!(s, 200);
    app.drain().await;
    check(&app, &key, 5, "send on, close, soft delete, clear").await;

    // Another org's writes and attempts on A's data leave A's count alone.
    let (org_b, kb) = app.org("globex").await;
    app.number(&org_b, "+15550200000", 100.0).await;
    send_as(
        &app,
        &kb,
        json!({"user_number": USER, "agent_number": "+15550200000", "agent_message": "b"}),
    )
    .await;
    let (s, _) = app
        .call(
            Method::DELETE,
            &format!("/v1/sms/conversations/{first_conv}"),
            &kb,
            None,
        )
        .await;
    assert_eq!(s, 404);
    check(&app, &kb, 1, "org B").await;
    check(&app, &key, 5, "org A after B").await;

    // Deletes, including a repeated one.
    for _ in 0..2 {
        app.call(
            Method::DELETE,
            &format!("/v1/sms/conversations/{first_conv}"),
            &key,
            None,
        )
        .await;
    }
    check(&app, &key, 4, "delete, then delete again").await;

    // Concurrent creates (separate connections on PostgreSQL, one shared commit on SQLite).
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..12 {
        let (http, url, key) = (app.http.clone(), app.url("/v1/sms/send"), key.clone());
        let agent = if i % 2 == 0 { AGENT } else { AGENT_1 };
        tasks.spawn(async move {
            let body = json!({"user_number": format!("+1555124{i:04}"), "agent_number": agent, "agent_message": "c"});
            http.post(url)
                .header("authorization", key)
                .json(&body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        });
    }
    while let Some(status) = tasks.join_next().await {
        assert_eq!(status.unwrap(), 200);
    }
    check(&app, &key, 16, "twelve concurrent creates").await;
    check(&app, &kb, 1, "org B at the end").await;
}
