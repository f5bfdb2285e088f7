use serde_json::{json, Value};

use crate::helpers::{assert_error, Backend, TestApp, AGENT, USER};

crate::backend_tests!(
    sent_message_reaches_the_handset,
    pair_conversation_is_reused_until_new_conversation,
    every_send_field_is_stored_on_the_conversation,
    legacy_field_names_are_accepted,
    bad_input_is_refused_with_the_field_named,
    message_length_is_counted_in_characters,
    warning_must_come_before_timeout,
    without_agent_message_an_unrunnable_reply_source_is_refused,
    authentication_is_required,
);

async fn sent_message_reaches_the_handset(b: Backend) {
    let app = TestApp::spawn(b).await;
    let data = app.send(USER, "Your appointment is at 3pm").await;
    assert_eq!(data["message"], "SMS sent successfully");
    assert!(data["workflow_id"].as_str().is_some_and(|w| !w.is_empty()));
    // Durable before the answer: the message is in the store, queued, before any worker ran.
    let conv = app
        .conversation(data["conversation_id"].as_str().unwrap())
        .await;
    assert_eq!(conv["messages"][0]["status"], "queued");
    assert!(app.inbox(USER).await.is_empty());

    app.drain().await;
    let inbox = app.inbox(USER).await;
    assert_eq!(inbox.len(), 1);
    assert_eq!(inbox[0]["message"], "Your appointment is at 3pm");
    assert_eq!(inbox[0]["from"], AGENT);
    assert_eq!(inbox[0]["message_id"], data["message_id"]);
    let conv = app
        .conversation(data["conversation_id"].as_str().unwrap())
        .await;
    assert_eq!(conv["messages"][0]["status"], "sent");
    // The sandbox reports delivery after its configured delay.
    app.advance(1_000).await;
    let conv = app
        .conversation(data["conversation_id"].as_str().unwrap())
        .await;
    let m = &conv["messages"][0];
    assert_eq!(
        (
            m["status"].as_str(),
            m["sender"].as_str(),
            m["from"].as_str()
        ),
        (Some("delivered"), Some("AGENT"), Some(AGENT))
    );
    assert_eq!(m["error_code"], Value::Null);
}

async fn pair_conversation_is_reused_until_new_conversation(b: Backend) {
    let app = TestApp::spawn(b).await;
    let first = app.send(USER, "one").await;
    let second = app.send(USER, "two").await;
    assert_eq!(first["conversation_id"], second["conversation_id"]);
    let other_user = app.send("+15551230001", "hi").await;
    assert_ne!(other_user["conversation_id"], first["conversation_id"]);

    let (status, fresh) = app
        .post(
            "/v1/sms/send",
            &app.key,
            &json!({"user_number": USER, "agent_number": AGENT, "agent_message": "three", "new_conversation": true}),
        )
        .await;
    assert_eq!(status, 200);
    assert_ne!(fresh["data"]["conversation_id"], first["conversation_id"]);
    let old = app
        .conversation(first["conversation_id"].as_str().unwrap())
        .await;
    assert_eq!(old["is_active"], false);
    let texts: Vec<_> = old["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["message"].clone())
        .collect();
    assert_eq!(texts, vec![json!("one"), json!("two")]);
    // A later send without the flag continues the new conversation.
    let fourth = app.send(USER, "four").await;
    assert_eq!(fourth["conversation_id"], fresh["data"]["conversation_id"]);
}

async fn every_send_field_is_stored_on_the_conversation(b: Backend) {
    let app = TestApp::spawn(b).await;
    // persona_id must name one of the org's personas.
    let (_, p) = app
        .post("/v1/personas", &app.key, &json!({"name": "P"}))
        .await;
    let persona = p["data"]["id"].as_str().unwrap().to_owned();
    // The pathways named must exist, with the versions and start nodes named.
    crate::pathways::stored_pathway(&app, "p9", 2, &["n1"]).await;
    crate::pathways::stored_pathway(&app, "p1", 3, &["start"]).await;
    let body = json!({
        "user_number": USER, "agent_number": AGENT, "agent_message": "Hola 👋",
        "request_data": {"name": "Ann", "n": 3}, "metadata": {"crm_id": "42"},
        "webhook": "https://example.com/hook", "disposition_ids": ["d1"], "citation_schema_ids": ["c1", "c2"],
        "channel": "sms", "content_sid": "HX0123456789abcdef0123456789abcdef", "content_variables": {"1": "Ann"},
        "persona_id": persona, "persona_version": "draft",
        "persona_settings": {"pathway_id": "p9", "pathway_version": 2, "start_node_id": "n1"},
        "pathway_id": "p1", "pathway_version": 3, "start_node_id": "start",
        "time_out": 600, "timeout_message": "Closing this chat", "warning_time": 300, "warning_message": "Still there?"
    });
    let (status, res) = app.post("/v1/sms/send", &app.key, &body).await;
    assert_eq!(status, 200, "{res}");
    let id = res["data"]["conversation_id"].as_str().unwrap();
    let c = app
        .store
        .conversation(&app.org_id, id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        c.json(&c.request_data),
        Some(json!({"name": "Ann", "n": 3}))
    );
    assert_eq!(c.json(&c.metadata), Some(json!({"crm_id": "42"})));
    assert_eq!(c.webhook.as_deref(), Some("https://example.com/hook"));
    assert_eq!(c.json(&c.disposition_ids), Some(json!(["d1"])));
    assert_eq!(c.json(&c.citation_schema_ids), Some(json!(["c1", "c2"])));
    assert_eq!(c.persona_id.as_deref(), Some(persona.as_str()));
    assert_eq!(c.persona_version.as_deref(), Some("draft"));
    assert_eq!(c.json(&c.persona_settings).unwrap()["pathway_id"], "p9");
    assert_eq!(
        (
            c.pathway_id.as_deref(),
            c.pathway_version.as_deref(),
            c.start_node_id.as_deref()
        ),
        (Some("p1"), Some("3"), Some("start"))
    );
    assert_eq!((c.time_out, c.warning_time), (Some(600), Some(300)));
    assert_eq!(
        (c.timeout_message.as_deref(), c.warning_message.as_deref()),
        (Some("Closing this chat"), Some("Still there?"))
    );
    // The message carries its template and its encoding.
    let conv = app.conversation(id).await;
    assert_eq!(conv["request_data"]["name"], "Ann");
    assert_eq!(conv["messages"][0]["encoding"], "UCS-2");
    assert_eq!(conv["curr_pathway_id"], "p1");
    app.drain().await;
    assert_eq!(app.inbox(USER).await[0]["message"], "Hola 👋");

    // Timeout overrides persist: a later send without them keeps them; one with them replaces.
    app.send(USER, "later").await;
    let c = app
        .store
        .conversation(&app.org_id, id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(c.time_out, Some(600));
    let (status, _) = app
        .post("/v1/sms/send", &app.key, &json!({"user_number": USER, "agent_number": AGENT, "agent_message": "x", "time_out": 900}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        app.store
            .conversation(&app.org_id, id)
            .await
            .unwrap()
            .unwrap()
            .time_out,
        Some(900)
    );
}

async fn legacy_field_names_are_accepted(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (status, res) = app
        .post("/v1/sms/send", &app.key, &json!({"phone_number": USER, "from": AGENT, "message": "legacy hi", "prompt": "Be brief"}))
        .await;
    assert_eq!(status, 200, "{res}");
    let c = app
        .store
        .conversation(
            &app.org_id,
            res["data"]["conversation_id"].as_str().unwrap(),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            c.user_number.as_str(),
            c.agent_number.as_str(),
            c.prompt.as_deref()
        ),
        (USER, AGENT, Some("Be brief"))
    );
    app.drain().await;
    assert_eq!(app.inbox(USER).await[0]["message"], "legacy hi");
}

async fn bad_input_is_refused_with_the_field_named(b: Backend) {
    let app = TestApp::spawn(b).await;
    let base = json!({"user_number": USER, "agent_number": AGENT, "agent_message": "hi"});
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
        (
            without("user_number"),
            400,
            "INVALID_PARAMETER",
            "user_number",
        ),
        (
            without("agent_number"),
            400,
            "INVALID_PARAMETER",
            "agent_number",
        ),
        (
            with("user_number", json!("5551230000")),
            400,
            "INVALID_PARAMETER",
            "user_number",
        ),
        (
            with("user_number", json!(15551230000_i64)),
            400,
            "INVALID_PARAMETER",
            "user_number",
        ),
        (
            with("agent_number", json!("+1 555 010 0000")),
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
            with("channel", json!("rcs")),
            400,
            "INVALID_PARAMETER",
            "channel",
        ),
        (
            with("channel", json!(1)),
            400,
            "INVALID_PARAMETER",
            "channel",
        ),
        (
            with("agent_message", json!("")),
            400,
            "INVALID_PARAMETER",
            "agent_message",
        ),
        (
            with("agent_message", json!(["hi"])),
            400,
            "INVALID_PARAMETER",
            "agent_message",
        ),
        (
            with("request_data", json!("name=Ann")),
            400,
            "INVALID_PARAMETER",
            "request_data",
        ),
        (
            with("metadata", json!([1, 2])),
            400,
            "INVALID_PARAMETER",
            "metadata",
        ),
        (
            with("new_conversation", json!("yes")),
            400,
            "INVALID_PARAMETER",
            "new_conversation",
        ),
        (
            with("disposition_ids", json!("d1")),
            400,
            "INVALID_PARAMETER",
            "disposition_ids",
        ),
        (
            with("citation_schema_ids", json!([1])),
            400,
            "INVALID_PARAMETER",
            "citation_schema_ids",
        ),
        (
            with("time_out", json!("60")),
            400,
            "INVALID_PARAMETER",
            "time_out",
        ),
        (
            with("time_out", json!(-5)),
            400,
            "INVALID_PARAMETER",
            "time_out",
        ),
        (
            with("warning_time", json!(true)),
            400,
            "INVALID_PARAMETER",
            "warning_time",
        ),
        (
            with("webhook", json!("ftp://example.com")),
            400,
            "INVALID_PARAMETER",
            "webhook",
        ),
        (
            with("persona_version", json!("staging")),
            400,
            "INVALID_PARAMETER",
            "persona_version",
        ),
        (
            with("content_variables", json!("1=Ann")),
            400,
            "INVALID_PARAMETER",
            "content_variables",
        ),
        (
            with("pathway_version", json!({"v": 1})),
            400,
            "INVALID_PARAMETER",
            "pathway_version",
        ),
    ];
    for (body, status, code, field) in cases {
        let got = app.post("/v1/sms/send", &app.key, &body).await;
        let msg = assert_error(&got, status, code);
        assert!(
            msg.contains(field),
            "message {msg:?} should name {field:?} for {body}"
        );
    }
    // Not JSON at all, and JSON that is not an object.
    for raw in ["{\"user_number\":", "[1,2]", "\"text\""] {
        let res = app
            .http
            .post(app.url("/v1/sms/send"))
            .header("authorization", &app.key)
            .body(raw)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["errors"][0]["error"], "INVALID_JSON", "{raw}");
    }
    // Nothing of the refused requests was written.
    assert!(app.store.queue_depth(i64::MAX).await.unwrap().queued == 0);
}

async fn message_length_is_counted_in_characters(b: Backend) {
    let app = TestApp::spawn(b).await;
    // 1,600 emoji are 1,600 characters but 6,400 bytes: accepted.
    let max = "😀".repeat(1600);
    let data = app.send(USER, &max).await;
    let conv = app
        .conversation(data["conversation_id"].as_str().unwrap())
        .await;
    // 67 UTF-16 units per part, but a surrogate pair is never split: 33 emoji per part.
    assert_eq!(conv["messages"][0]["segments"], 49);
    let got = app
        .post(
            "/v1/sms/send",
            &app.key,
            &json!({"user_number": USER, "agent_number": AGENT, "agent_message": "a".repeat(1601)}),
        )
        .await;
    let msg = assert_error(&got, 400, "INVALID_PARAMETER");
    assert!(msg.contains("1600") && msg.contains("1601"), "{msg}");
}

async fn warning_must_come_before_timeout(b: Backend) {
    let app = TestApp::spawn(b).await;
    let got = app
        .post(
            "/v1/sms/send",
            &app.key,
            &json!({"user_number": USER, "agent_number": AGENT, "agent_message": "x", "time_out": 60, "warning_time": 60}),
        )
        .await;
    assert_error(&got, 400, "INVALID_TIMEOUT_CONFIG");
    // Against a time_out stored on the conversation by an earlier send.
    let (s, _) = app
        .post("/v1/sms/send", &app.key, &json!({"user_number": USER, "agent_number": AGENT, "agent_message": "x", "time_out": 60}))
        .await;
    assert_eq!(s, 200);
    let got = app
        .post("/v1/sms/send", &app.key, &json!({"user_number": USER, "agent_number": AGENT, "agent_message": "y", "warning_time": 90}))
        .await;
    assert_error(&got, 400, "INVALID_TIMEOUT_CONFIG");
    assert_eq!(
        app.store.queue_depth(i64::MAX).await.unwrap().queued,
        1,
        "the refused send queued nothing"
    );
}

/// Without `agent_message` the reply source speaks first (`agent_turns.rs`); one that
/// cannot is refused, and nothing is queued.
async fn without_agent_message_an_unrunnable_reply_source_is_refused(b: Backend) {
    let app = TestApp::spawn(b).await;
    let got = app
        .post("/v1/sms/send", &app.key, &json!({"user_number": USER, "agent_number": AGENT, "pathway_id": "p1", "new_conversation": true}))
        .await;
    assert_error(&got, 404, "PATHWAY_NOT_FOUND");
    // The number's objective needs a model, and the test server has none.
    let got = app
        .post(
            "/v1/sms/send",
            &app.key,
            &json!({"user_number": USER, "agent_number": AGENT}),
        )
        .await;
    let msg = assert_error(&got, 400, "MODEL_REQUIRED");
    assert!(msg.contains("agent_message"), "{msg}");
    assert_eq!(app.store.queue_depth(i64::MAX).await.unwrap().queued, 0);
}

async fn authentication_is_required(b: Backend) {
    let app = TestApp::spawn(b).await;
    let body = json!({"user_number": USER, "agent_number": AGENT, "agent_message": "hi"});
    let no_header = app
        .http
        .post(app.url("/v1/sms/send"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(no_header.status(), 401);
    let body401: Value = no_header.json().await.unwrap();
    assert_eq!(
        body401,
        json!({"data": null, "errors": [{"error": "AUTH_FAILURE", "message": "Unauthorized"}]})
    );
    assert_error(
        &app.post("/v1/sms/send", "pk_wrong", &body).await,
        401,
        "AUTH_FAILURE",
    );
    assert_error(
        &app.post("/v1/sms/send", "", &body).await,
        401,
        "AUTH_FAILURE",
    );
    // Bland's raw form and the Bearer form both work.
    let (s, _) = app
        .post("/v1/sms/send", &format!("Bearer {}", app.key), &body)
        .await;
    assert_eq!(s, 200);
    let (s, _) = app
        .post("/v1/sms/send", &format!("bearer {}", app.key), &body)
        .await;
    assert_eq!(s, 200);
}
