//! The legacy pair endpoints: `/v1/sms/clear` and `/v1/sms/messages/get`.

use serde_json::json;

use crate::{
    conversations_manage::delete_messages,
    helpers::{assert_error, Backend, TestApp, AGENT, USER},
};

crate::backend_tests!(
    clear_hides_a_pair_from_the_agent_only,
    messages_get_returns_the_pair_s_history,
);

async fn clear_hides_a_pair_from_the_agent_only(b: Backend) {
    let app = TestApp::spawn(b).await;
    let a = app.send(USER, "hello").await;
    let (s, _) = app
        .post(
            "/v1/sandbox/inbound",
            &app.key,
            &json!({"from": USER, "to": AGENT, "message": "hi back"}),
        )
        .await;
    assert_eq!(s, 200);
    app.send("+15551230001", "other pair").await;
    // Either order of the two numbers.
    let (s, res) = app
        .post(
            "/v1/sms/clear",
            &app.key,
            &json!({"to": AGENT, "from": USER}),
        )
        .await;
    assert_eq!((s, res), (200, json!({"status": "success", "count": 2})));
    let conv = app
        .conversation(a["conversation_id"].as_str().unwrap())
        .await;
    let msgs = conv["messages"].as_array().unwrap();
    assert_eq!(msgs.len(), 2, "still in the history");
    assert!(msgs.iter().all(|m| m["hidden_from_ai"] == true));
    let (_, res) = app
        .post(
            "/v1/sms/clear",
            &app.key,
            &json!({"to": USER, "from": AGENT}),
        )
        .await;
    assert_eq!(
        res,
        json!({"status": "success", "count": 0}),
        "already hidden"
    );
    let other = app
        .list(&format!(
            "filters={}",
            crate::helpers::enc(
                &json!([{"field": "user_number", "operator": "eq", "value": "+15551230001"}])
                    .to_string()
            )
        ))
        .await;
    let other = app
        .conversation(other["data"][0]["id"].as_str().unwrap())
        .await;
    assert_eq!(other["messages"][0]["hidden_from_ai"], false);
    // New messages after a clear are visible to the agent again.
    app.send(USER, "after").await;
    let conv = app
        .conversation(a["conversation_id"].as_str().unwrap())
        .await;
    assert_eq!(conv["messages"][2]["hidden_from_ai"], false);
    for (body, status, code, needle) in [
        (json!({"to": USER}), 400, "INVALID_PARAMETER", "from"),
        (
            json!({"to": "555", "from": AGENT}),
            400,
            "INVALID_PARAMETER",
            "to",
        ),
        (
            json!({"to": USER, "from": "+15551230009"}),
            404,
            "AGENT_NUMBER_NOT_FOUND",
            "+15551230009",
        ),
    ] {
        let msg = assert_error(
            &app.post("/v1/sms/clear", &app.key, &body).await,
            status,
            code,
        );
        assert!(msg.contains(needle), "{body}: {msg}");
    }
}

async fn messages_get_returns_the_pair_s_history(b: Backend) {
    let app = TestApp::spawn(b).await;
    let old = app.send(USER, "first thread").await;
    let (s, _) = app
        .post("/v1/sms/send", &app.key, &json!({"user_number": USER, "agent_number": AGENT, "agent_message": "second thread", "new_conversation": true}))
        .await;
    assert_eq!(s, 200);
    let gone = app.send(USER, "deleted").await;
    let (s, _) = app
        .post(
            "/v1/sandbox/inbound",
            &app.key,
            &json!({"from": USER, "to": AGENT, "message": "reply"}),
        )
        .await;
    assert_eq!(s, 200);
    app.send("+15551230001", "not this pair").await;
    assert_eq!(
        delete_messages(
            &app,
            gone["conversation_id"].as_str().unwrap(),
            json!({"message_ids": [gone["message_id"]]})
        )
        .await
        .0,
        200
    );
    let (s, res) = app
        .post(
            "/v1/sms/messages/get",
            &app.key,
            &json!({"to": USER, "from": AGENT}),
        )
        .await;
    assert_eq!(s, 200, "{res}");
    let msgs = res["messages"].as_array().unwrap();
    let texts: Vec<_> = msgs
        .iter()
        .map(|m| m["message"].as_str().unwrap())
        .collect();
    assert_eq!(
        texts,
        ["first thread", "second thread", "reply"],
        "both threads, oldest first, deleted left out"
    );
    assert_eq!(msgs[0]["conversation_id"], old["conversation_id"]);
    assert_eq!(
        (msgs[2]["sender"].as_str(), msgs[2]["from"].as_str()),
        (Some("USER"), Some(USER))
    );
    for k in [
        "id",
        "created_at",
        "message",
        "from",
        "to",
        "sender",
        "status",
        "error_code",
        "conversation_id",
    ] {
        assert!(msgs[0].get(k).is_some(), "{k}");
    }
    let (_, swapped) = app
        .post(
            "/v1/sms/messages/get",
            &app.key,
            &json!({"to": AGENT, "from": USER}),
        )
        .await;
    assert_eq!(swapped, res, "order of the numbers does not matter");
    let (_, none) = app
        .post(
            "/v1/sms/messages/get",
            &app.key,
            &json!({"to": "+15551230077", "from": AGENT}),
        )
        .await;
    assert_eq!(none, json!({"messages": []}));
    assert_error(
        &app.post(
            "/v1/sms/messages/get",
            &app.key,
            &json!({"to": USER, "from": "+15550999999"}),
        )
        .await,
        404,
        "AGENT_NUMBER_NOT_FOUND",
    );
    assert_error(
        &app.post("/v1/sms/messages/get", &app.key, &json!({"from": AGENT}))
            .await,
        400,
        "INVALID_PARAMETER",
    );
}
