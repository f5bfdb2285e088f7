use serde_json::json;

use crate::helpers::{assert_error, Backend, TestApp, AGENT, USER};

crate::backend_tests!(
    a_user_can_text_an_agent_number,
    inbox_requires_a_valid_number
);

async fn a_user_can_text_an_agent_number(b: Backend) {
    let app = TestApp::spawn(b).await;
    let sent = app.send(USER, "Reply YES to confirm").await;
    let (s, res) = app
        .post(
            "/v1/sandbox/inbound",
            &app.key,
            &json!({"from": USER, "to": AGENT, "message": "YES"}),
        )
        .await;
    assert_eq!(s, 200, "{res}");
    assert_eq!(res["data"]["conversation_id"], sent["conversation_id"]);
    let conv = app
        .conversation(sent["conversation_id"].as_str().unwrap())
        .await;
    let last = &conv["messages"][1];
    assert_eq!(
        (
            last["message"].as_str(),
            last["sender"].as_str(),
            last["from"].as_str(),
            last["to"].as_str()
        ),
        (Some("YES"), Some("USER"), Some(USER), Some(AGENT))
    );
    assert_eq!(last["status"], serde_json::Value::Null);
    assert_eq!(conv["message_count"], 2);
    // A new user texting in opens a conversation of its own.
    let (_, res) = app
        .post(
            "/v1/sandbox/inbound",
            &app.key,
            &json!({"from": "+15551239999", "to": AGENT, "message": "hi"}),
        )
        .await;
    assert_ne!(res["data"]["conversation_id"], sent["conversation_id"]);
    let bad = app
        .post(
            "/v1/sandbox/inbound",
            &app.key,
            &json!({"from": USER, "to": AGENT}),
        )
        .await;
    assert!(assert_error(&bad, 400, "INVALID_PARAMETER").contains("message"));
    let bad = app
        .post(
            "/v1/sandbox/inbound",
            &app.key,
            &json!({"from": "555", "to": AGENT, "message": "x"}),
        )
        .await;
    assert!(assert_error(&bad, 400, "INVALID_PARAMETER").contains("from"));
}

async fn inbox_requires_a_valid_number(b: Backend) {
    let app = TestApp::spawn(b).await;
    assert!(assert_error(
        &app.get("/v1/sandbox/messages", &app.key).await,
        400,
        "INVALID_PARAMETER"
    )
    .contains("number"));
    assert!(assert_error(
        &app.get("/v1/sandbox/messages?number=abc", &app.key).await,
        400,
        "INVALID_PARAMETER"
    )
    .contains("number"));
    let got = app
        .get(
            "/v1/sandbox/messages?number=%2B15551230000&limit=x",
            &app.key,
        )
        .await;
    assert!(assert_error(&got, 400, "INVALID_PARAMETER").contains("limit"));
}
