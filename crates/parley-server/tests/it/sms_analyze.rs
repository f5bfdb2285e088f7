//! `POST /v1/sms/analyze` in both request shapes: a citation schema over a conversation
//! (with and without the model), and the legacy `goal` + `[question, type]` pairs; every
//! error in the envelope, never a 500.

use serde_json::{json, Value};

use crate::{
    citation_schemas::{booking_conversation, booking_schema, conversation_with, create_schema},
    conversations_manage::delete_messages,
    fake_model::{Answer, FakeModel},
    helpers::{assert_error, test_config, Backend, TestApp, AGENT, USER},
};

crate::backend_tests!(
    analyze_extracts_sourced_variables_with_citations_and_stores_nothing,
    analyze_asks_the_model_and_cites_where_its_values_appear,
    analyze_needing_a_model_is_refused_or_reports_its_failure,
    analyze_refuses_what_it_cannot_analyze,
    legacy_analyze_answers_each_question_in_order,
    legacy_analyze_errors,
);

async fn model_app(b: Backend, fake: &FakeModel) -> TestApp {
    let mut cfg = test_config();
    cfg.language_model = fake.config();
    TestApp::spawn_with(b, cfg).await
}

fn sourced() -> Value {
    json!({"variables": [
        {"name": "zip", "type": "string", "source": {"regex": "zip (?:is )?(\\d{5})"}},
        {"name": "plan", "type": "category", "options": ["Gold", "Silver"], "source": {"variable": "plan"}}
    ]})
}

async fn analyze_extracts_sourced_variables_with_citations_and_stores_nothing(b: Backend) {
    let app = TestApp::spawn(b).await;
    let conv = booking_conversation(&app).await;
    let id = create_schema(&app, &app.key, "Sourced", sourced()).await;

    let (s, res) = app
        .post(
            "/v1/sms/analyze",
            &app.key,
            &json!({"schema_id": id, "conversation_id": conv}),
        )
        .await;

    assert_eq!(s, 200, "{res}");
    let message_id = app.conversation(&conv).await["messages"][1]["id"].clone();
    assert_eq!(
        res,
        json!({
            "data": {
                "status": "success", "conversation_id": conv, "schema_id": id, "schema_name": "Sourced",
                "variables_extracted": 2, "extracted_variables": {"zip": "94107", "plan": "Gold"},
                "citations": [{"variable": "zip", "message": "my zip is 94107", "message_id": message_id, "confidence": 1.0}],
                "messages_processed": 3
            },
            "errors": []
        })
    );
    assert_eq!(
        app.conversation(&conv).await["citation_variables"],
        Value::Null
    );
}

async fn analyze_asks_the_model_and_cites_where_its_values_appear(b: Backend) {
    let fake = FakeModel::start().await;
    let app = model_app(b, &fake).await;
    let conv = booking_conversation(&app).await;
    let schema = json!({"variables": [
        {"name": "rooms", "type": "number", "description": "rooms wanted"},
        {"name": "callback", "type": "boolean", "description": "wants a call"},
        {"name": "tier", "type": "category", "options": ["Gold", "Silver"], "description": "plan"}
    ]});
    let id = create_schema(&app, &app.key, "Model", schema).await;
    fake.push(Answer::reply(
        &json!({"rooms": "3", "callback": true, "tier": "Bronze"}).to_string(),
    ));

    let (s, res) = app
        .post(
            "/v1/sms/analyze",
            &app.key,
            &json!({"schema_id": id, "conversation_id": conv}),
        )
        .await;

    assert_eq!(s, 200, "{res}");
    let data = &res["data"];
    // A category outside its options is left out, never guessed.
    assert_eq!(
        data["extracted_variables"],
        json!({"rooms": 3, "callback": true})
    );
    assert_eq!(
        data["citations"],
        json!([{"variable": "rooms", "message": "and 3 rooms, also call me back",
                "message_id": app.conversation(&conv).await["messages"][2]["id"], "confidence": 0.8}])
    );
    let prompt = &fake.only_request().messages()[0].1;
    assert!(
        prompt.contains(r#"- tier (one of "Gold", "Silver"): plan"#),
        "{prompt}"
    );
    assert!(
        prompt.contains("- rooms (number): rooms wanted"),
        "{prompt}"
    );
}

async fn analyze_needing_a_model_is_refused_or_reports_its_failure(b: Backend) {
    let app = TestApp::spawn(b).await;
    let conv = booking_conversation(&app).await;
    let id = create_schema(&app, &app.key, "Booking", booking_schema()).await;
    let body = json!({"schema_id": id, "conversation_id": conv});

    let got = app.post("/v1/sms/analyze", &app.key, &body).await;

    let message = assert_error(&got, 400, "MODEL_REQUIRED");
    assert!(message.contains("language_model.base_url"), "{message}");
    assert_eq!(
        got.1["errors"][0]["details"]["variables"],
        json!(["wants_call", "perks"])
    );

    let fake = FakeModel::start().await;
    let app = model_app(b, &fake).await;
    let conv = booking_conversation(&app).await;
    let id = create_schema(&app, &app.key, "Booking", booking_schema()).await;
    fake.push(Answer::status(500, "model crashed"));
    let got = app
        .post(
            "/v1/sms/analyze",
            &app.key,
            &json!({"schema_id": id, "conversation_id": conv}),
        )
        .await;
    let message = assert_error(&got, 503, "MODEL_UNAVAILABLE");
    assert!(message.contains("wants_call"), "{message}");
}

async fn analyze_refuses_what_it_cannot_analyze(b: Backend) {
    let app = TestApp::spawn(b).await;
    let conv = booking_conversation(&app).await;
    let id = create_schema(&app, &app.key, "Sourced", sourced()).await;
    let empty = create_schema(&app, &app.key, "Empty", json!({"variables": []})).await;
    // A conversation whose only message was deleted.
    let silent = conversation_with(&app, "+15551230007", json!({}), &[]).await;
    let first = app.conversation(&silent).await["messages"][0]["id"].clone();
    let (s, _) = delete_messages(&app, &silent, json!({"message_ids": [first]})).await;
    assert_eq!(s, 200);
    for (body, status, code) in [
        (json!({}), 400, "MISSING_SCHEMA_ID"),
        (json!({"conversation_id": conv}), 400, "MISSING_SCHEMA_ID"),
        (json!({"schema_id": id}), 400, "MISSING_CONVERSATION_ID"),
        (
            json!({"schema_id": id, "conversation_id": " "}),
            400,
            "MISSING_CONVERSATION_ID",
        ),
        (
            json!({"schema_id": 5, "conversation_id": conv}),
            400,
            "INVALID_PARAMETER",
        ),
        (
            json!({"schema_id": "not-a-uuid", "conversation_id": conv}),
            404,
            "SCHEMA_NOT_FOUND",
        ),
        (
            json!({"schema_id": "3f4a2b1c-8e9d-4c7f-b2a1-5e8d9c7f6a2b", "conversation_id": conv}),
            404,
            "SCHEMA_NOT_FOUND",
        ),
        (
            json!({"schema_id": id, "conversation_id": "nope"}),
            404,
            "CONVERSATION_NOT_FOUND",
        ),
        (
            json!({"schema_id": empty, "conversation_id": conv}),
            400,
            "INVALID_SCHEMA",
        ),
        (
            json!({"schema_id": id, "conversation_id": silent}),
            404,
            "NO_MESSAGES",
        ),
    ] {
        assert_error(
            &app.post("/v1/sms/analyze", &app.key, &body).await,
            status,
            code,
        );
    }
}

async fn legacy_analyze_answers_each_question_in_order(b: Backend) {
    let fake = FakeModel::start().await;
    let app = model_app(b, &fake).await;
    let conv = booking_conversation(&app).await;
    fake.push(Answer::reply(
        &json!({"q1": "94107", "q2": null}).to_string(),
    ));
    fake.push(Answer::reply(&json!({"q1": "Gold"}).to_string()));

    let (s, res) = app
        .post(
            "/v1/sms/analyze",
            &app.key,
            &json!({
                "goal": "Book the stay", "to": AGENT, "from": USER,
                "answers": [["Which zip code?", "zip"], ["When do they move?", "time"]]
            }),
        )
        .await;

    assert_eq!(s, 200, "{res}");
    assert_eq!(
        res,
        json!({"status": "success", "message": "Successfully analyzed SMS messages.", "answers": ["94107", null]})
    );
    let req = &fake.requests()[0];
    let prompt = &req.messages()[0].1;
    assert!(
        prompt.contains("The purpose of this extraction: Book the stay"),
        "{prompt}"
    );
    assert!(
        prompt.contains("- q2 (string): When do they move? (answer as: time)"),
        "{prompt}"
    );
    assert!(req.messages()[1].1.contains("User: my zip is 94107"));

    // The cookbook's spelling: `questions`, and a conversation id instead of the numbers.
    let (s, res) = app
        .post(
            "/v1/sms/analyze",
            &app.key,
            &json!({"goal": "Plan", "conversation_id": conv, "questions": ["Which plan?"]}),
        )
        .await;
    assert_eq!((s, &res["answers"]), (200, &json!(["Gold"])));
}

async fn legacy_analyze_errors(b: Backend) {
    let app = TestApp::spawn(b).await;
    booking_conversation(&app).await;
    let ok = json!({"goal": "g", "to": AGENT, "from": USER, "answers": [["q", "text"]]});
    let with = |k: &str, v: Value| {
        let mut body = ok.clone();
        body[k] = v;
        body
    };
    for (body, status, code, needle) in [
        (with("goal", json!(" ")), 400, "INVALID_PARAMETER", "goal"),
        (
            json!({"goal": "g", "to": AGENT, "from": USER}),
            400,
            "INVALID_PARAMETER",
            "answers",
        ),
        (
            with("answers", json!("q")),
            400,
            "INVALID_PARAMETER",
            "answers",
        ),
        (
            with("answers", json!([])),
            400,
            "INVALID_PARAMETER",
            "answers",
        ),
        (
            with("answers", json!([["q", "t"], [1, "t"]])),
            400,
            "INVALID_PARAMETER",
            "answers[1]",
        ),
        (
            with("answers", json!([[" ", "t"]])),
            400,
            "INVALID_PARAMETER",
            "answers[0]",
        ),
        (
            json!({"goal": "g", "to": "+15550199999", "from": "+15551239999", "answers": [["q", "t"]]}),
            404,
            "AGENT_NUMBER_NOT_FOUND",
            "",
        ),
        (
            with("conversation_id", json!("nope")),
            404,
            "CONVERSATION_NOT_FOUND",
            "nope",
        ),
        (ok.clone(), 400, "MODEL_REQUIRED", "language model"),
    ] {
        let message = assert_error(
            &app.post("/v1/sms/analyze", &app.key, &body).await,
            status,
            code,
        );
        assert!(message.contains(needle), "{body}: {message}");
    }
    // Cleared messages are hidden from the model: nothing left to analyze.
    let (s, _) = app
        .post(
            "/v1/sms/clear",
            &app.key,
            &json!({"to": AGENT, "from": USER}),
        )
        .await;
    assert_eq!(s, 200);
    assert_error(
        &app.post("/v1/sms/analyze", &app.key, &ok).await,
        404,
        "NO_MESSAGES",
    );
}
