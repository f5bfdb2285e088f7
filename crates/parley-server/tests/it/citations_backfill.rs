//! `POST /v1/citation_schemas/backfill`: deterministic sources without a model, the fake
//! model for the rest, merging into `citation_variables`, per-conversation statuses, every
//! error, and org isolation (with `/v1/sms/analyze`).

use serde_json::{json, Value};

use crate::{
    citation_schemas::{booking_conversation, booking_schema, conversation_with, create_schema},
    conversations_manage::delete_messages,
    fake_model::{Answer, FakeModel},
    helpers::{assert_error, test_config, Backend, TestApp},
};

crate::backend_tests!(
    backfill_with_sources_merges_only_the_schemas_variables,
    backfill_asks_the_model_for_the_variables_without_a_source,
    backfill_without_a_model_reports_the_model_variables_per_conversation,
    backfill_refuses_bad_requests_and_changes_nothing,
    another_orgs_schemas_and_conversations_are_not_found,
);

async fn model_app(b: Backend, fake: &FakeModel) -> TestApp {
    let mut cfg = test_config();
    cfg.language_model = fake.config();
    TestApp::spawn_with(b, cfg).await
}

async fn backfill(app: &TestApp, body: Value) -> Value {
    let (s, res) = app
        .post("/v1/citation_schemas/backfill", &app.key, &body)
        .await;
    assert_eq!(s, 200, "{res}");
    assert_eq!(res["errors"], Value::Null);
    res["data"].clone()
}

fn sourced_only() -> Value {
    let mut s = booking_schema();
    s["variables"].as_array_mut().unwrap().pop(); // wants_call needs a model
    s["conditions"] = json!([]);
    s
}

async fn backfill_with_sources_merges_only_the_schemas_variables(b: Backend) {
    let app = TestApp::spawn(b).await;
    let conv = booking_conversation(&app).await;
    let crm = json!({"variables": [{"name": "crm", "type": "string", "source": {"variable": "crm_id"}},
                                   {"name": "zip", "type": "string", "source": {"variable": "crm_id"}}]});
    let crm_id = create_schema(&app, &app.key, "CRM", crm).await;
    let booking_id = create_schema(&app, &app.key, "Booking", sourced_only()).await;
    let first = backfill(&app, json!({"schema_id": crm_id, "conversation_id": conv})).await;
    assert_eq!(
        first["conversations"][0]["final_variables"],
        json!({"crm": "42", "zip": "42"})
    );

    let data = backfill(
        &app,
        json!({"schema_ids": [booking_id], "conversation_ids": [conv, conv]}),
    )
    .await;

    assert_eq!(
        (
            &data["status"],
            &data["conversation_count"],
            &data["schema_count"]
        ),
        (&json!("complete"), &json!(1), &json!(1))
    );
    let c = &data["conversations"][0];
    assert_eq!(
        (&c["conversation_id"], &c["status"], &c["error"]),
        (&json!(conv), &json!("success"), &Value::Null)
    );
    assert_eq!(c["previous_variables"], json!({"crm": "42", "zip": "42"}));
    assert_eq!(
        c["newly_extracted_variables"],
        json!({"zip": "94107", "plan": "Gold", "rooms": 3})
    );
    assert_eq!(c["variables_extracted"], 3);
    // Only the schema's own variables changed: `crm` kept, `zip` replaced.
    let finals = json!({"crm": "42", "zip": "94107", "plan": "Gold", "rooms": 3});
    assert_eq!(c["final_variables"], finals);
    let cited: Vec<(&Value, &Value, &Value)> = c["citations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (&c["variable"], &c["message"], &c["confidence"]))
        .collect();
    assert_eq!(
        cited,
        [
            (&json!("zip"), &json!("my zip is 94107"), &json!(1.0)),
            (
                &json!("rooms"),
                &json!("and 3 rooms, also call me back"),
                &json!(1.0)
            ),
        ]
    );
    let stored = app.conversation(&conv).await;
    assert_eq!(stored["citation_variables"], finals);
}

async fn backfill_asks_the_model_for_the_variables_without_a_source(b: Backend) {
    let fake = FakeModel::start().await;
    let app = model_app(b, &fake).await;
    let conv = booking_conversation(&app).await;
    let id = create_schema(&app, &app.key, "Booking", booking_schema()).await;
    fake.push(Answer::reply(
        &json!({"wants_call": "true", "zip": "00000"}).to_string(),
    ));
    // The Gold condition holds on the sourced plan: a second round for its variables.
    fake.push(Answer::reply(
        &json!({"perks": ["late checkout", 7]}).to_string(),
    ));

    let data = backfill(&app, json!({"schema_id": id, "conversation_id": conv})).await;

    let c = &data["conversations"][0];
    assert_eq!(c["status"], "success", "{c}");
    assert_eq!(
        c["newly_extracted_variables"],
        json!({"zip": "94107", "plan": "Gold", "rooms": 3, "wants_call": true, "perks": ["late checkout", "7"]})
    );
    let requests = fake.requests();
    assert_eq!(requests.len(), 2);
    let first = &requests[0].messages()[0].1;
    assert!(
        first.contains("- wants_call (boolean): Asked for a call back"),
        "{first}"
    );
    assert!(
        !first.contains("- zip"),
        "sourced variables are not asked: {first}"
    );
    let conversation = &requests[0].messages()[1].1;
    assert!(
        conversation.contains("User: my zip is 94107"),
        "{conversation}"
    );
    assert!(requests[1].messages()[0]
        .1
        .contains("- perks (array of strings)"));
}

async fn backfill_without_a_model_reports_the_model_variables_per_conversation(b: Backend) {
    let app = TestApp::spawn(b).await;
    let conv = booking_conversation(&app).await;
    let empty = conversation_with(&app, "+15551230009", json!({}), &[]).await;
    let (_, sent) = app
        .get(&format!("/v1/sms/conversations/{empty}"), &app.key)
        .await;
    let ids: Vec<Value> = sent["data"]["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].clone())
        .collect();
    let (s, _) = delete_messages(&app, &empty, json!({"message_ids": ids})).await;
    assert_eq!(s, 200);
    let id = create_schema(&app, &app.key, "Booking", booking_schema()).await;

    let data = backfill(
        &app,
        json!({"schema_id": id, "conversation_ids": [conv, empty]}),
    )
    .await;

    let c = &data["conversations"][0];
    assert_eq!(c["status"], "error");
    let error = c["error"].as_str().unwrap();
    assert!(
        error.contains("no language model is configured") && error.contains("\"wants_call\""),
        "{error}"
    );
    // The Gold condition still held, and its model variable is reported too.
    assert!(error.contains("\"perks\""), "{error}");
    assert_eq!(
        c["final_variables"],
        json!({"zip": "94107", "plan": "Gold", "rooms": 3})
    );
    let skipped = &data["conversations"][1];
    assert_eq!(
        (&skipped["status"], &skipped["final_variables"]),
        (&json!("skipped"), &json!({}))
    );
    let stored = app.conversation(&empty).await;
    assert_eq!(stored["citation_variables"], Value::Null);
}

async fn backfill_refuses_bad_requests_and_changes_nothing(b: Backend) {
    let app = TestApp::spawn(b).await;
    let conv = booking_conversation(&app).await;
    let id = create_schema(&app, &app.key, "Booking", sourced_only()).await;
    let many: Vec<String> = (0..51).map(|i| format!("c{i}")).collect();
    let unknown_schema = "3f4a2b1c-8e9d-4c7f-b2a1-5e8d9c7f6a2b";
    for (body, status, code, needle) in [
        (
            json!({"conversation_id": conv}),
            400,
            "MISSING_SCHEMA_ID",
            "schema_id",
        ),
        (
            json!({"schema_id": id}),
            400,
            "MISSING_CONVERSATION_ID",
            "conversation_id",
        ),
        (
            json!({"schema_id": id, "schema_ids": [id], "conversation_id": conv}),
            400,
            "INVALID_PARAMETER",
            "not both",
        ),
        (
            json!({"schema_ids": [id], "schema": sourced_only(), "conversation_id": conv}),
            400,
            "INVALID_PARAMETER",
            "not both",
        ),
        (
            json!({"schema_ids": [], "conversation_id": conv}),
            400,
            "INVALID_PARAMETER",
            "schema_ids must not be empty",
        ),
        (
            json!({"schema_id": id, "conversation_ids": []}),
            400,
            "INVALID_PARAMETER",
            "conversation_ids must not be empty",
        ),
        (
            json!({"schema_id": id, "conversation_ids": many}),
            400,
            "INVALID_PARAMETER",
            "at most 50",
        ),
        (
            json!({"schema_id": id, "call_id": "call-1"}),
            400,
            "INVALID_PARAMETER",
            "call_id",
        ),
        (
            json!({"schema_id": id, "conversation_id": 7}),
            400,
            "INVALID_PARAMETER",
            "conversation_id",
        ),
        (
            json!({"schema": {"variables": [{"name": "x", "type": "decimal"}]}, "conversation_id": conv}),
            400,
            "INVALID_PARAMETER",
            "schema.variables[0].type",
        ),
        (
            json!({"schema_ids": [id, unknown_schema], "conversation_id": conv}),
            404,
            "SCHEMA_NOT_FOUND",
            unknown_schema,
        ),
        (
            json!({"schema_id": id, "conversation_ids": [conv, "nope"]}),
            404,
            "CONVERSATION_NOT_FOUND",
            "nope",
        ),
    ] {
        let got = app
            .post("/v1/citation_schemas/backfill", &app.key, &body)
            .await;
        let message = assert_error(&got, status, code);
        assert!(message.contains(needle), "{body}: {message}");
    }
    assert_eq!(
        app.conversation(&conv).await["citation_variables"],
        Value::Null,
        "nothing ran"
    );

    // An inline schema runs without being stored.
    let inline = json!({"variables": [{"name": "rooms", "type": "number", "source": {"regex": "(\\d+) rooms"}}]});
    let data = backfill(&app, json!({"schema": inline, "conversation_id": conv})).await;
    assert_eq!(
        data["conversations"][0]["final_variables"],
        json!({"rooms": 3})
    );
    let (_, list) = app.get("/v1/citation_schemas/list", &app.key).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
}

async fn another_orgs_schemas_and_conversations_are_not_found(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (other_org, other_key) = app.org("globex").await;
    app.number(&other_org, "+15550109999", 100.0).await;
    let theirs = create_schema(&app, &other_key, "Theirs", sourced_only()).await;
    let (s, res) = app
        .post("/v1/sms/send", &other_key,
              &json!({"user_number": "+15551230005", "agent_number": "+15550109999", "agent_message": "zip 94107"}))
        .await;
    assert_eq!(s, 200, "{res}");
    let their_conv = res["data"]["conversation_id"].as_str().unwrap().to_owned();
    let mine = create_schema(&app, &app.key, "Mine", sourced_only()).await;
    let my_conv = booking_conversation(&app).await;
    let get = format!("/v1/citation_schemas/?id={theirs}");

    assert_error(&app.get(&get, &app.key).await, 404, "SCHEMA_NOT_FOUND");
    let patched = app
        .call(
            reqwest::Method::PATCH,
            &get,
            &app.key,
            Some(&json!({"name": "mine now"})),
        )
        .await;
    assert_error(&patched, 404, "SCHEMA_NOT_FOUND");
    assert_error(
        &app.call(reqwest::Method::DELETE, &get, &app.key, None)
            .await,
        404,
        "SCHEMA_NOT_FOUND",
    );
    let (_, list) = app.get("/v1/citation_schemas/list", &app.key).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    for (path, body, code) in [
        (
            "/v1/citation_schemas/backfill",
            json!({"schema_id": theirs, "conversation_id": my_conv}),
            "SCHEMA_NOT_FOUND",
        ),
        (
            "/v1/citation_schemas/backfill",
            json!({"schema_id": mine, "conversation_id": their_conv}),
            "CONVERSATION_NOT_FOUND",
        ),
        (
            "/v1/sms/analyze",
            json!({"schema_id": theirs, "conversation_id": my_conv}),
            "SCHEMA_NOT_FOUND",
        ),
        (
            "/v1/sms/analyze",
            json!({"schema_id": mine, "conversation_id": their_conv}),
            "CONVERSATION_NOT_FOUND",
        ),
    ] {
        assert_error(&app.post(path, &app.key, &body).await, 404, code);
    }
    let (s, still) = app.get(&get, &other_key).await;
    assert_eq!((s, &still["data"]["name"]), (200, &json!("Theirs")));
    let (_, conv) = app
        .get(&format!("/v1/sms/conversations/{their_conv}"), &other_key)
        .await;
    assert_eq!(conv["data"]["citation_variables"], Value::Null);
}
