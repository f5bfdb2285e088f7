use serde_json::json;

use parley_domain::clock::Clock;

use crate::helpers::{Backend, TestApp, AGENT, USER};
use parley_server::carriers::sandbox::{
    MAGIC_INVALID, MAGIC_NOT_MOBILE, MAGIC_UNAVAILABLE, MAGIC_UNDELIVERED,
};

crate::backend_tests!(
    permanent_carrier_errors_fail_at_once,
    transient_carrier_errors_retry_with_backoff_then_fail,
    undelivered_reports_are_recorded,
    a_conversation_s_messages_leave_in_order,
    numbers_without_a_configured_carrier_fail_clearly,
    a_claim_held_past_its_lease_is_not_sent,
);

async fn status_of(app: &TestApp, data: &serde_json::Value) -> serde_json::Value {
    let conv = app
        .conversation(data["conversation_id"].as_str().unwrap())
        .await;
    conv["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == data["message_id"])
        .unwrap()
        .clone()
}

async fn permanent_carrier_errors_fail_at_once(b: Backend) {
    let app = TestApp::spawn(b).await;
    for (to, code) in [(MAGIC_INVALID, "21211"), (MAGIC_NOT_MOBILE, "21614")] {
        let data = app.send(to, "hello").await;
        app.drain().await;
        let m = status_of(&app, &data).await;
        assert_eq!(
            (m["status"].as_str(), m["error_code"].as_str()),
            (Some("failed"), Some(code))
        );
        let stored = app
            .store
            .message(data["message_id"].as_i64().unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.attempts, 1, "permanent errors are not retried");
        assert!(app.inbox(to).await.is_empty());
    }
}

async fn transient_carrier_errors_retry_with_backoff_then_fail(b: Backend) {
    let app = TestApp::spawn(b).await;
    let data = app.send(MAGIC_UNAVAILABLE, "hello").await;
    let id = data["message_id"].as_i64().unwrap();
    app.drain().await;
    let m = app.store.message(id).await.unwrap().unwrap();
    assert_eq!(
        (m.status.as_deref(), m.attempts, m.error_code.as_deref()),
        (Some("queued"), 1, Some("503"))
    );
    // Test policy: base 1 s, doubling, no jitter, 3 attempts. Not before the backoff...
    app.advance(999).await;
    assert_eq!(app.store.message(id).await.unwrap().unwrap().attempts, 1);
    app.advance(1).await;
    assert_eq!(app.store.message(id).await.unwrap().unwrap().attempts, 2);
    app.advance(1_999).await;
    assert_eq!(app.store.message(id).await.unwrap().unwrap().attempts, 2);
    app.advance(1).await;
    let m = app.store.message(id).await.unwrap().unwrap();
    assert_eq!(
        (m.status.as_deref(), m.attempts, m.error_code.as_deref()),
        (Some("failed"), 3, Some("503"))
    );
    app.advance(3_600_000).await;
    assert_eq!(
        app.store.message(id).await.unwrap().unwrap().attempts,
        3,
        "no attempt after the budget"
    );
}

async fn undelivered_reports_are_recorded(b: Backend) {
    let app = TestApp::spawn(b).await;
    let data = app.send(MAGIC_UNDELIVERED, "hello").await;
    app.drain().await;
    assert_eq!(status_of(&app, &data).await["status"], "sent");
    app.advance(1_000).await;
    let m = status_of(&app, &data).await;
    assert_eq!(
        (m["status"].as_str(), m["error_code"].as_str()),
        (Some("undelivered"), Some("30003"))
    );
}

async fn a_conversation_s_messages_leave_in_order(b: Backend) {
    let app = TestApp::spawn(b).await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(app.send(USER, &format!("part {i}")).await["message_id"].clone());
        ids.push(app.send("+15551230001", &format!("other {i}")).await["message_id"].clone());
    }
    // Each claim may take only the head of each conversation.
    let first = app.app.dispatcher.run_once().await.unwrap();
    assert_eq!(first, 2);
    app.drain().await;
    let inbox = app.inbox(USER).await;
    let texts: Vec<_> = inbox
        .iter()
        .map(|m| m["message"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        texts,
        (0..5).map(|i| format!("part {i}")).collect::<Vec<_>>()
    );
    let received: Vec<_> = inbox.iter().map(|m| m["message_id"].clone()).collect();
    assert_eq!(received, ids.iter().step_by(2).cloned().collect::<Vec<_>>());
}

async fn numbers_without_a_configured_carrier_fail_clearly(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.store
        .add_number(&app.org_id, "+15550100009", "twilio", "sms", 1.0, 0)
        .await
        .unwrap();
    let (s, res) = app
        .post(
            "/v1/sms/send",
            &app.key,
            &json!({"user_number": USER, "agent_number": "+15550100009", "agent_message": "hi"}),
        )
        .await;
    assert_eq!(s, 200);
    app.drain().await;
    let m = status_of(&app, &res["data"]).await;
    assert_eq!(
        (m["status"].as_str(), m["error_code"].as_str()),
        (Some("failed"), Some("CARRIER_NOT_CONFIGURED"))
    );
    let _ = AGENT;
}

/// A worker that gets to a claimed message only after its lease ran out must not send it:
/// another worker may have claimed it meanwhile. It is sent once, by the newer claim.
async fn a_claim_held_past_its_lease_is_not_sent(b: Backend) {
    let app = TestApp::spawn(b).await;
    let data = app.send(USER, "once only").await;
    let opts = parley_store::DispatchOptions {
        owner: "slow-worker".into(),
        now_ms: app.clock.now_ms(),
        horizon_ms: 1_000,
        lease_ms: 30_000,
        max_per_sender: 100,
        max_total: 100,
    };
    let stale = app.store.claim_due_messages(&opts).await.unwrap();
    assert_eq!(stale.len(), 1);
    app.clock.advance_ms(30_001);
    // The lease expired: the regular worker claims and sends it...
    app.drain().await;
    assert_eq!(app.inbox(USER).await.len(), 1);
    // ...and the slow worker, finally getting to its old claim, sends nothing.
    app.app
        .dispatcher
        .deliver(stale.into_iter().next().unwrap())
        .await;
    let inbox = app.inbox(USER).await;
    assert_eq!((inbox.len(), inbox[0]["attempts"].as_i64()), (1, Some(1)));
    assert_eq!(inbox[0]["message_id"], data["message_id"]);
}
