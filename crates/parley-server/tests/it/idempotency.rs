use serde_json::json;

use crate::helpers::{assert_error, Backend, TestApp, AGENT, USER};

crate::backend_tests!(
    same_key_and_body_replays_without_sending,
    same_key_with_another_body_is_refused,
    concurrent_requests_with_one_key_send_once,
    malformed_keys_are_refused,
);

async fn same_key_and_body_replays_without_sending(b: Backend) {
    let app = TestApp::spawn(b).await;
    let body = json!({"user_number": USER, "agent_number": AGENT, "agent_message": "once", "metadata": {"a": 1, "b": 2}});
    let first = app
        .post_with(
            "/v1/sms/send",
            &app.key,
            &body,
            &[("idempotency-key", "order-17")],
        )
        .await;
    assert_eq!(first.0, 200);
    // Same body with its keys in another order is the same request.
    let reordered = json!({"metadata": {"b": 2, "a": 1}, "agent_message": "once", "agent_number": AGENT, "user_number": USER});
    let again = app
        .post_with(
            "/v1/sms/send",
            &app.key,
            &reordered,
            &[("idempotency-key", "order-17")],
        )
        .await;
    assert_eq!(again, first);
    app.drain().await;
    assert_eq!(app.inbox(USER).await.len(), 1);
    // After the retention period the key is forgotten.
    app.clock.advance_ms(24 * 3_600_000 + 1);
    assert_eq!(app.app.jobs.purge_expired().await.unwrap(), 1);
    let later = app
        .post_with(
            "/v1/sms/send",
            &app.key,
            &body,
            &[("idempotency-key", "order-17")],
        )
        .await;
    assert_eq!(later.0, 200);
    assert_ne!(later.1["data"]["message_id"], first.1["data"]["message_id"]);
}

async fn same_key_with_another_body_is_refused(b: Backend) {
    let app = TestApp::spawn(b).await;
    let body = json!({"user_number": USER, "agent_number": AGENT, "agent_message": "one"});
    assert_eq!(
        app.post_with("/v1/sms/send", &app.key, &body, &[("idempotency-key", "k")])
            .await
            .0,
        200
    );
    let other = json!({"user_number": USER, "agent_number": AGENT, "agent_message": "two"});
    let got = app
        .post_with(
            "/v1/sms/send",
            &app.key,
            &other,
            &[("idempotency-key", "k")],
        )
        .await;
    let msg = assert_error(&got, 422, "IDEMPOTENCY_KEY_REUSED");
    assert!(msg.contains("idempotency-key"));
    app.drain().await;
    let inbox = app.inbox(USER).await;
    assert_eq!(inbox.len(), 1);
    assert_eq!(inbox[0]["message"], "one");
}

async fn concurrent_requests_with_one_key_send_once(b: Backend) {
    let app = std::sync::Arc::new(TestApp::spawn(b).await);
    let body = json!({"user_number": USER, "agent_number": AGENT, "agent_message": "exactly once"});
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let (app, body) = (app.clone(), body.clone());
        tasks.push(tokio::spawn(async move {
            app.post_with(
                "/v1/sms/send",
                &app.key,
                &body,
                &[("idempotency-key", "race")],
            )
            .await
        }));
    }
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.unwrap());
    }
    assert!(answers.iter().all(|a| a.0 == 200), "{answers:?}");
    assert!(
        answers.iter().all(|a| a.1 == answers[0].1),
        "every caller sees the same answer"
    );
    app.drain().await;
    assert_eq!(app.inbox(USER).await.len(), 1);
    assert_eq!(app.store.queue_depth(i64::MAX).await.unwrap().queued, 0);
}

async fn malformed_keys_are_refused(b: Backend) {
    let app = TestApp::spawn(b).await;
    let body = json!({"user_number": USER, "agent_number": AGENT, "agent_message": "x"});
    let long = "k".repeat(256);
    let got = app
        .post_with(
            "/v1/sms/send",
            &app.key,
            &body,
            &[("idempotency-key", long.as_str())],
        )
        .await;
    assert!(assert_error(&got, 400, "INVALID_PARAMETER").contains("idempotency-key"));
}
