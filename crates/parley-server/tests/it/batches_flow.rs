//! Batches next to live traffic: priority on a shared number, cancel, ETA, list.

use serde_json::{json, Value};

use crate::helpers::{assert_error, test_config, Backend, TestApp, AGENT};

crate::backend_tests!(
    live_traffic_goes_ahead_of_batch_rows,
    cancel_keeps_queued_rows_from_going_out,
    eta_follows_the_numbers_pacing,
    batches_are_listed_newest_first,
);

/// One segment per second.
const SLOW: &str = "+15550100001";
const LIVE_USER: &str = "+15551239999";

fn rows(n: usize) -> String {
    let mut s = String::from("phone_number\n");
    for i in 0..n {
        s.push_str(&format!("+1555124{i:04}\n"));
    }
    s
}

async fn start_on(app: &TestApp, number: &str, n: usize) -> String {
    let id = app.upload(rows(n).as_bytes()).await;
    let (s, body) = app
        .post(
            "/v1/sms/batch",
            &app.key,
            &json!({"file_id": id, "global": {"agent_number": number, "agent_message": "promo"}}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    id
}

async fn status_of(app: &TestApp, id: i64) -> String {
    app.store
        .message(id)
        .await
        .unwrap()
        .unwrap()
        .status
        .unwrap()
}

/// Batch rows queued first on a 1-segment-per-second number; a single send and a send on
/// a conversation, queued later, still take the first slots.
async fn live_traffic_goes_ahead_of_batch_rows(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.number(&app.org_id, SLOW, 1.0).await;
    let id = start_on(&app, SLOW, 5).await;
    assert!(app.app.batches.run_once().await.unwrap() > 0);
    assert_eq!(app.batch_status(&id).await["totals"]["queued"], 5);

    let (s, live) = app
        .post(
            "/v1/sms/send",
            &app.key,
            &json!({"user_number": LIVE_USER, "agent_number": SLOW, "agent_message": "your code is 1234"}),
        )
        .await;
    assert_eq!(s, 200, "{live}");
    let live_id = live["data"]["message_id"].as_i64().unwrap();
    // One second of slots at 1 mps: two messages, the live one first.
    assert_eq!(app.app.dispatcher.run_once().await.unwrap(), 2);
    assert_eq!(status_of(&app, live_id).await, "sent");
    assert_eq!(app.batch_status(&id).await["totals"]["queued"], 4);
    assert_eq!(
        app.inbox(LIVE_USER).await[0]["message"],
        "your code is 1234"
    );

    app.clock.advance_ms(2_000);
    let conv = live["data"]["conversation_id"].as_str().unwrap();
    let (s, reply) = app
        .post(
            &format!("/v1/sms/conversations/{conv}/messages"),
            &app.key,
            &json!({"message": "follow-up"}),
        )
        .await;
    assert_eq!(s, 200, "{reply}");
    assert_eq!(app.app.dispatcher.run_once().await.unwrap(), 2);
    assert_eq!(app.inbox(LIVE_USER).await.len(), 2);
    assert_eq!(app.batch_status(&id).await["totals"]["queued"], 3);
}

async fn cancel_keeps_queued_rows_from_going_out(b: Backend) {
    let app = TestApp::spawn(b).await;
    let id = start_on(&app, AGENT, 3).await;
    app.app.batches.run_once().await.unwrap();
    let (s, body) = app
        .post(&format!("/v1/sms/batch/{id}/cancel"), &app.key, &json!({}))
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["data"]["state"], "cancelled");
    assert_eq!(body["data"]["totals"]["cancelled"], 3);
    assert_eq!(body["data"]["totals"]["queued"], 0);
    app.drain().await;
    for i in 0..3 {
        assert!(app.inbox(&format!("+1555124{i:04}")).await.is_empty());
    }
    // Cancelled before the worker read a row: nothing is ever queued.
    let id = start_on(&app, AGENT, 3).await;
    assert_eq!(
        app.post(&format!("/v1/sms/batch/{id}/cancel"), &app.key, &json!({}))
            .await
            .0,
        200
    );
    app.drain().await;
    let st = app.batch_status(&id).await;
    assert_eq!(
        (st["state"].clone(), st["totals"]["processed"].clone()),
        (json!("cancelled"), json!(0))
    );
    // Twice is harmless; an unknown batch is not found.
    assert_eq!(
        app.post(&format!("/v1/sms/batch/{id}/cancel"), &app.key, &json!({}))
            .await
            .0,
        200
    );
    assert_error(
        &app.post("/v1/sms/batch/nope/cancel", &app.key, &json!({}))
            .await,
        404,
        "BATCH_NOT_FOUND",
    );
}

async fn eta_follows_the_numbers_pacing(b: Backend) {
    let mut cfg = test_config();
    cfg.pacing.max_backlog_secs = 5;
    let app = TestApp::spawn_with(b, cfg).await;
    app.number(&app.org_id, SLOW, 1.0).await;
    let id = start_on(&app, SLOW, 10).await;
    // Not read yet: the file's rows count, one segment each.
    let eta = app.batch_status(&id).await["eta"].clone();
    assert_eq!(eta["seconds"], 10, "{eta}");
    app.app.batches.run_once().await.unwrap();
    let eta = app.batch_status(&id).await["eta"].clone();
    assert_eq!(eta["seconds"], 10, "{eta}");
    assert_eq!(eta["beyond_horizon"], true);
    assert_eq!(eta["horizon_seconds"], 5);
    assert_eq!(eta["at"], "2026-01-01T00:00:10.000Z");
    // Two slots handed out: eight left.
    app.app.dispatcher.run_once().await.unwrap();
    let eta = app.batch_status(&id).await["eta"].clone();
    assert_eq!(eta["seconds"], 10, "{eta}");
    app.clock.advance_ms(2_000);
    let eta = app.batch_status(&id).await["eta"].clone();
    assert_eq!(eta["seconds"], 8, "{eta}");
}

async fn batches_are_listed_newest_first(b: Backend) {
    let app = TestApp::spawn(b).await;
    let first = start_on(&app, AGENT, 1).await;
    app.clock.advance_ms(1);
    let second = start_on(&app, AGENT, 2).await;
    let (s, body) = app.get("/v1/sms/batches", &app.key).await;
    assert_eq!(s, 200, "{body}");
    let ids: Vec<&Value> = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| &b["batch_id"])
        .collect();
    assert_eq!(ids, vec![&json!(second), &json!(first)]);
    assert_eq!(body["data"][0]["totals"]["rows"], 2);
    let (_, one) = app.get("/v1/sms/batches?limit=1", &app.key).await;
    assert_eq!(one["data"].as_array().unwrap().len(), 1);
    assert_error(
        &app.get("/v1/sms/batches?limit=0", &app.key).await,
        400,
        "INVALID_PARAMETER",
    );
}
