//! Org B must not send from, read, or infer anything about org A's numbers and
//! conversations: every probe gets the same answer as for something that does not exist.

use serde_json::json;

use crate::helpers::{assert_error, Backend, TestApp, AGENT, USER};

crate::backend_tests!(other_orgs_see_nothing);

async fn other_orgs_see_nothing(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (org_b, key_b) = app.org("globex").await;
    app.number(&org_b, "+15550200000", 100.0).await;
    let a = app.send(USER, "private to acme").await;
    let conv_a = a["conversation_id"].as_str().unwrap();
    app.drain().await;

    // Sending from A's number looks exactly like sending from a number nobody has.
    let from_a = app
        .post(
            "/v1/sms/send",
            &key_b,
            &json!({"user_number": USER, "agent_number": AGENT, "agent_message": "x"}),
        )
        .await;
    let nobody = app
        .post(
            "/v1/sms/send",
            &key_b,
            &json!({"user_number": USER, "agent_number": "+15550999999", "agent_message": "x"}),
        )
        .await;
    let m1 = assert_error(&from_a, 404, "AGENT_NUMBER_NOT_FOUND");
    let m2 = assert_error(&nobody, 404, "AGENT_NUMBER_NOT_FOUND");
    assert_eq!(m1.replace(AGENT, "N"), m2.replace("+15550999999", "N"));

    // Reading A's conversation looks like reading a conversation that does not exist.
    let read = app
        .get(&format!("/v1/sms/conversations/{conv_a}"), &key_b)
        .await;
    let missing = app
        .get(
            "/v1/sms/conversations/00000000-0000-7000-8000-000000000000",
            &key_b,
        )
        .await;
    assert_eq!(
        assert_error(&read, 404, "CONVERSATION_NOT_FOUND").replace(conv_a, "ID"),
        assert_error(&missing, 404, "CONVERSATION_NOT_FOUND")
            .replace("00000000-0000-7000-8000-000000000000", "ID")
    );

    // A's handset traffic is invisible to B; B cannot text "as a user" into A's number.
    let (s, inbox) = app
        .get(
            &format!("/v1/sandbox/messages?number={}", USER.replace('+', "%2B")),
            &key_b,
        )
        .await;
    assert_eq!((s, inbox["data"].as_array().unwrap().len()), (200, 0));
    let inbound = app
        .post(
            "/v1/sandbox/inbound",
            &key_b,
            &json!({"from": USER, "to": AGENT, "message": "hi"}),
        )
        .await;
    assert_error(&inbound, 404, "AGENT_NUMBER_NOT_FOUND");

    // B's own conversation with the same user is separate from A's.
    let (s, b_send) = app
        .post("/v1/sms/send", &key_b, &json!({"user_number": USER, "agent_number": "+15550200000", "agent_message": "from globex"}))
        .await;
    assert_eq!(s, 200);
    assert_ne!(b_send["data"]["conversation_id"].as_str(), Some(conv_a));
    // And the same idempotency key in two orgs names two different requests.
    let body_a = json!({"user_number": USER, "agent_number": AGENT, "agent_message": "k"});
    let body_b = json!({"user_number": USER, "agent_number": "+15550200000", "agent_message": "k"});
    assert_eq!(
        app.post_with(
            "/v1/sms/send",
            &app.key,
            &body_a,
            &[("idempotency-key", "shared")]
        )
        .await
        .0,
        200
    );
    assert_eq!(
        app.post_with(
            "/v1/sms/send",
            &key_b,
            &body_b,
            &[("idempotency-key", "shared")]
        )
        .await
        .0,
        200
    );
    // A still sees its own conversation, with only its own messages.
    let conv = app.conversation(conv_a).await;
    assert!(conv["messages"]
        .as_array()
        .unwrap()
        .iter()
        .all(|m| m["from"] == AGENT || m["to"] == AGENT));
}
