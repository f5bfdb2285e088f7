//! `POST /v1/sms/create`: stores state and a message, never transmits.

use serde_json::{json, Value};

use crate::helpers::{assert_error, Backend, TestApp, AGENT, USER};

crate::backend_tests!(
    create_stores_state_and_a_user_message_without_sending,
    agent_authored_messages_are_stored_not_sent,
    create_follows_the_pair_rules_of_send,
    create_validates_timeouts_and_fields_and_writes_nothing_when_refused,
);

async fn create_stores_state_and_a_user_message_without_sending(b: Backend) {
    let app = TestApp::spawn(b).await;
    crate::pathways::stored_pathway(&app, "pw-1", 1, &["start", "ask-time"]).await;
    let data = app
        .create(&json!({
            "user_number": USER, "agent_number": AGENT, "message": "I'd like to book for Friday",
            "message_sid": "SM0123456789abcdef0123456789abcdef", "curr_pathway_id": "pw-1",
            "curr_pathway_version": "v1.0", "current_node_id": "ask-time", "request_data": {"name": "Ann"},
            "time_out": 600, "timeout_message": "Bye", "warning_time": 300, "warning_message": "Still there?"
        }))
        .await;
    assert_eq!(data["message"], "SMS conversation created successfully");
    assert!(data["workflow_id"].as_str().is_some_and(|w| !w.is_empty()));
    let id = data["conversation_id"].as_str().unwrap();
    let conv = app.conversation(id).await;
    assert_eq!(
        (
            conv["curr_pathway_id"].as_str(),
            conv["curr_pathway_version"].as_str()
        ),
        (Some("pw-1"), Some("v1.0"))
    );
    assert_eq!(conv["current_node_id"], "ask-time");
    assert_eq!(conv["variables"], json!({"name": "Ann"}));
    assert_eq!(conv["request_data"], json!({"name": "Ann"}));
    assert_eq!(
        (conv["is_active"].as_bool(), conv["message_count"].as_i64()),
        (Some(true), Some(1))
    );
    let m = &conv["messages"][0];
    assert_eq!(
        (m["sender"].as_str(), m["from"].as_str(), m["to"].as_str()),
        (Some("USER"), Some(USER), Some(AGENT))
    );
    assert_eq!(
        (m["status"].clone(), m["message"].as_str()),
        (Value::Null, Some("I'd like to book for Friday"))
    );
    assert_eq!(m["id"], data["message_id"]);
    let stored = app
        .store
        .message(data["message_id"].as_i64().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.provider_sid.as_deref(),
        Some("SM0123456789abcdef0123456789abcdef")
    );
    let c = app
        .store
        .conversation(&app.org_id, id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((c.time_out, c.warning_time), (Some(600), Some(300)));
    // Nothing goes out, now or later.
    app.drain().await;
    app.advance(60_000).await;
    assert!(app.inbox(USER).await.is_empty());
    assert_eq!(app.store.queue_depth(i64::MAX).await.unwrap().queued, 0);
}

async fn agent_authored_messages_are_stored_not_sent(b: Backend) {
    let app = TestApp::spawn(b).await;
    let data = app
        .create(&json!({"user_number": USER, "agent_number": AGENT, "message": "Thanks for calling!", "sender": "AGENT"}))
        .await;
    let conv = app
        .conversation(data["conversation_id"].as_str().unwrap())
        .await;
    let m = &conv["messages"][0];
    assert_eq!(
        (m["sender"].as_str(), m["from"].as_str(), m["to"].as_str()),
        (Some("AGENT"), Some(AGENT), Some(USER))
    );
    assert_eq!(m["status"], Value::Null);
    app.drain().await;
    assert!(app.inbox(USER).await.is_empty());
    // Lower-case is accepted and stored in Bland's spelling.
    let data = app
        .create(
            &json!({"user_number": USER, "agent_number": AGENT, "message": "x", "sender": "agent"}),
        )
        .await;
    let conv = app
        .conversation(data["conversation_id"].as_str().unwrap())
        .await;
    assert_eq!(conv["messages"][1]["sender"], "AGENT");
}

async fn create_follows_the_pair_rules_of_send(b: Backend) {
    let app = TestApp::spawn(b).await;
    let sent = app.send(USER, "hello").await;
    let created = app
        .create(&json!({"user_number": USER, "agent_number": AGENT, "message": "reply", "current_node_id": "n2", "request_data": {"b": 2}}))
        .await;
    assert_eq!(
        created["conversation_id"], sent["conversation_id"],
        "resumes the active conversation"
    );
    let fresh = app
        .create(&json!({"user_number": USER, "agent_number": AGENT, "message": "start over", "new_conversation": true, "request_data": {"c": 3}}))
        .await;
    assert_ne!(fresh["conversation_id"], sent["conversation_id"]);
    let old = app
        .conversation(sent["conversation_id"].as_str().unwrap())
        .await;
    assert_eq!(
        (old["is_active"].as_bool(), old["message_count"].as_i64()),
        (Some(false), Some(2))
    );
    assert_eq!(old["current_node_id"], "n2");
    // A later send continues the created conversation, and its request_data merges into
    // the conversation's variables.
    let (s, next) = app
        .post("/v1/sms/send", &app.key, &json!({"user_number": USER, "agent_number": AGENT, "agent_message": "go", "request_data": {"d": 4}}))
        .await;
    assert_eq!(s, 200);
    assert_eq!(next["data"]["conversation_id"], fresh["conversation_id"]);
    let conv = app
        .conversation(fresh["conversation_id"].as_str().unwrap())
        .await;
    assert_eq!(conv["variables"], json!({"c": 3, "d": 4}));
    assert_eq!(conv["request_data"], json!({"d": 4}));
    // Pairs are per channel.
    let wa = app
        .create(&json!({"user_number": USER, "agent_number": AGENT, "message": "wa", "channel": "whatsapp"}))
        .await;
    assert_ne!(wa["conversation_id"], fresh["conversation_id"]);
    assert_eq!(
        app.conversation(wa["conversation_id"].as_str().unwrap())
            .await["effective_channel"],
        "whatsapp"
    );
}

async fn create_validates_timeouts_and_fields_and_writes_nothing_when_refused(b: Backend) {
    let app = TestApp::spawn(b).await;
    let base = json!({"user_number": USER, "agent_number": AGENT, "message": "hi"});
    let with = |k: &str, v: Value| {
        let mut b = base.clone();
        b[k] = v;
        b
    };
    let without = |k: &str| {
        let mut b = base.clone();
        b.as_object_mut().unwrap().remove(k);
        b
    };
    let cases: Vec<(Value, u16, &str, &str)> = vec![
        (without("message"), 400, "INVALID_PARAMETER", "message"),
        (
            with("message", json!("  ")),
            400,
            "INVALID_PARAMETER",
            "message",
        ),
        (
            with("message", json!("a".repeat(1601))),
            400,
            "INVALID_PARAMETER",
            "1600",
        ),
        (
            without("user_number"),
            400,
            "INVALID_PARAMETER",
            "user_number",
        ),
        (
            with("agent_number", json!("15550100000")),
            400,
            "INVALID_PARAMETER",
            "agent_number",
        ),
        (
            with("agent_number", json!("+15559999999")),
            404,
            "AGENT_NUMBER_NOT_FOUND",
            "+15559999999",
        ),
        (
            with("sender", json!("HUMAN")),
            400,
            "INVALID_PARAMETER",
            "sender",
        ),
        (with("sender", json!(1)), 400, "INVALID_PARAMETER", "sender"),
        (
            with("message_sid", json!("")),
            400,
            "INVALID_PARAMETER",
            "message_sid",
        ),
        (
            with("request_data", json!([1])),
            400,
            "INVALID_PARAMETER",
            "request_data",
        ),
        (
            with("curr_pathway_version", json!({"v": 1})),
            400,
            "INVALID_PARAMETER",
            "curr_pathway_version",
        ),
        (
            with("new_conversation", json!("yes")),
            400,
            "INVALID_PARAMETER",
            "new_conversation",
        ),
        (
            with("channel", json!("rcs")),
            400,
            "INVALID_PARAMETER",
            "channel",
        ),
        (
            with("time_out", json!(-3)),
            400,
            "INVALID_PARAMETER",
            "time_out",
        ),
        (
            json!({"user_number": USER, "agent_number": AGENT, "message": "x", "time_out": 30, "warning_time": 30}),
            400,
            "INVALID_TIMEOUT_CONFIG",
            "warning_time",
        ),
    ];
    for (body, status, code, needle) in cases {
        let got = app.post("/v1/sms/create", &app.key, &body).await;
        let msg = assert_error(&got, status, code);
        assert!(
            msg.contains(needle),
            "message {msg:?} should name {needle:?} for {body}"
        );
    }
    assert_eq!(
        app.list("").await["extra"]["pagination"]["totalItems"],
        0,
        "nothing was written"
    );
    // Against a conversation's stored time_out, and with new_conversation the archive is
    // rolled back too.
    app.create(
        &json!({"user_number": USER, "agent_number": AGENT, "message": "x", "time_out": 60}),
    )
    .await;
    let got = app
        .post("/v1/sms/create", &app.key, &with("warning_time", json!(61)))
        .await;
    assert_error(&got, 400, "INVALID_TIMEOUT_CONFIG");
    let mut fresh = with("warning_time", json!(5));
    fresh["time_out"] = json!(5);
    fresh["new_conversation"] = json!(true);
    assert_error(
        &app.post("/v1/sms/create", &app.key, &fresh).await,
        400,
        "INVALID_TIMEOUT_CONFIG",
    );
    let list = app.list("").await;
    assert_eq!(list["extra"]["pagination"]["totalItems"], 1);
    assert_eq!(
        (
            list["data"][0]["is_active"].as_bool(),
            list["data"][0]["message_count"].as_i64()
        ),
        (Some(true), Some(1))
    );
}
