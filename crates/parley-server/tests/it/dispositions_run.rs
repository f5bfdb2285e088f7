//! `POST /v1/dispositions/{id}/test`: a definition run over a real sandbox conversation or
//! an inline record, at the current or an older version, with model fields answered by the
//! scripted model, and `ERROR` logs (not failures) when the model is missing or fails.

use serde_json::{json, Value};

use crate::{
    dispositions::{create, reminder},
    fake_model::{Answer, FakeModel},
    helpers::{assert_error, test_config, Backend, TestApp, AGENT, T0},
};

crate::backend_tests!(
    a_rule_outcome_reads_a_real_sandbox_conversation,
    an_inline_record_runs_without_a_conversation,
    model_fields_are_answered_by_the_model,
    a_failing_model_gives_an_error_log,
    a_model_field_on_a_server_without_a_model_gives_an_error_log,
);

const USER: &str = "+15557654321";

async fn test(app: &TestApp, id: &str, body: Value) -> (u16, Value) {
    app.post(&format!("/v1/dispositions/{id}/test"), &app.key, &body)
        .await
}

/// The log of a test run that must answer 200.
async fn log(app: &TestApp, id: &str, body: Value) -> Value {
    let (status, res) = test(app, id, body).await;
    assert_eq!(status, 200, "{res}");
    assert_eq!(res["errors"], Value::Null, "{res}");
    res["data"].clone()
}

/// A sandbox conversation: the reminder goes out, then the user texts `reply`.
async fn conversation(app: &TestApp, reply: &str) -> String {
    let (status, res) = app
        .post(
            "/v1/sms/send",
            &app.key,
            &json!({"user_number": USER, "agent_number": AGENT,
                    "agent_message": "Hi Ada, reply C to confirm May 2 or R to reschedule.",
                    "request_data": {"name": "Ada"}, "metadata": {"tier": "gold"}}),
        )
        .await;
    assert_eq!(status, 200, "{res}");
    app.drain().await;
    let (status, inbound) = app
        .post(
            "/v1/sandbox/inbound",
            &app.key,
            &json!({"from": USER, "to": AGENT, "message": reply}),
        )
        .await;
    assert_eq!(status, 200, "{inbound}");
    app.drain().await;
    res["data"]["conversation_id"].as_str().unwrap().to_owned()
}

fn id_of(d: &Value) -> String {
    d["id"].as_str().unwrap().to_owned()
}

async fn a_rule_outcome_reads_a_real_sandbox_conversation(b: Backend) {
    let app = TestApp::spawn(b).await;
    let conv = conversation(&app, "Can we do another day?").await;
    let id = id_of(&create(&app, &reminder()).await);

    let got = log(&app, &id, json!({"conversation_id": conv})).await;
    assert_eq!(got["status"], "COMPLETE", "{got}");
    assert_eq!(
        got["result"],
        json!({"outcome": "reschedule", "replies": 1, "patient": "Ada", "vip": true})
    );
    assert_eq!(
        (got["tag"].clone(), got["snippet_version"].clone()),
        (json!("reschedule"), json!(1))
    );
    assert_eq!(got["name"], "Appointment reminder");
    assert_eq!(got["disposition_id"], id);
    assert!(got["exec_time"].is_u64() && got["error"].is_null(), "{got}");

    // A new version changes what runs; the old one can still be run by number.
    let mut v2 = reminder();
    v2["fields"][2]["rule"] = json!("someone");
    let (status, res) = app
        .call(
            reqwest::Method::PATCH,
            &format!("/v1/dispositions/{id}"),
            &app.key,
            Some(&json!({"fields": v2["fields"]})),
        )
        .await;
    assert_eq!(status, 200, "{res}");
    let now = log(&app, &id, json!({"conversation_id": conv})).await;
    assert_eq!(
        (
            now["snippet_version"].clone(),
            now["result"]["patient"].clone()
        ),
        (json!(2), json!("someone"))
    );
    let then = log(&app, &id, json!({"conversation_id": conv, "version": 1})).await;
    assert_eq!(
        (
            then["snippet_version"].clone(),
            then["result"]["patient"].clone()
        ),
        (json!(1), json!("Ada"))
    );
    let missing = test(&app, &id, json!({"conversation_id": conv, "version": 9})).await;
    assert_error(&missing, 404, "DISPOSITION_VERSION_NOT_FOUND");

    // Another org's conversation is not found, like an unknown one.
    let (other_org, other_key) = app.org("globex").await;
    app.number(&other_org, "+15550109999", 10.0).await;
    let (status, theirs) = app.post("/v1/dispositions", &other_key, &reminder()).await;
    assert_eq!(status, 200, "{theirs}");
    let path = format!("/v1/dispositions/{}/test", id_of(&theirs["data"]));
    let got = app
        .post(&path, &other_key, &json!({"conversation_id": conv}))
        .await;
    assert_error(&got, 404, "CONVERSATION_NOT_FOUND");
}

async fn an_inline_record_runs_without_a_conversation(b: Backend) {
    let app = TestApp::spawn(b).await;
    let id = id_of(&create(&app, &reminder()).await);
    let silent = log(
        &app,
        &id,
        json!({"record": {"transcript": [{"speaker": "AGENT", "text": "Reply C to confirm"}],
                          "ended_reason": "timeout", "variables": {"name": "Bo"}}}),
    )
    .await;
    assert_eq!(
        silent["result"],
        json!({"outcome": "no_reply", "replies": 0, "patient": "Bo", "vip": false})
    );
    // The example of docs/API.md, "Dispositions".
    let documented = log(
        &app,
        &id,
        json!({"record": {"transcript": [
            {"speaker": "AGENT", "text": "Hi Ada, reply C to confirm or R to reschedule"},
            {"speaker": "USER", "text": "Can we do another day?"}],
            "variables": {"name": "Ada"}, "metadata": {"tier": "gold"}}}),
    )
    .await;
    assert_eq!(
        (documented["result"].clone(), documented["tag"].clone()),
        (
            json!({"outcome": "reschedule", "replies": 1, "patient": "Ada", "vip": true}),
            json!("reschedule")
        )
    );
    // Bland's message shape (`sender`, `message`) is read too; tags are checked first.
    let tagged = log(
        &app,
        &id,
        json!({"record": {"transcript": [{"sender": "USER", "message": "R"}],
                          "pathway_tags": ["confirmed"], "metadata": {"tier": "platinum"}}}),
    )
    .await;
    assert_eq!(
        (
            tagged["result"]["outcome"].clone(),
            tagged["result"]["vip"].clone()
        ),
        (json!("confirmed"), json!(true))
    );

    let bad_speaker = test(
        &app,
        &id,
        json!({"record": {"transcript": [{"speaker": "BOT", "text": "x"}]}}),
    )
    .await;
    assert!(assert_error(&bad_speaker, 400, "INVALID_PARAMETER")
        .contains("record.transcript[0].speaker"));
    let both = test(&app, &id, json!({"record": {}, "conversation_id": "x"})).await;
    assert_error(&both, 400, "INVALID_PARAMETER");
    let neither = test(&app, &id, json!({})).await;
    assert_error(&neither, 400, "INVALID_PARAMETER");
    let unknown = test(&app, &id, json!({"conversation_id": "nope"})).await;
    assert_error(&unknown, 404, "CONVERSATION_NOT_FOUND");
    let typed = test(&app, &id, json!({"record": {"pathway_tags": "x"}})).await;
    assert!(assert_error(&typed, 400, "INVALID_PARAMETER").contains("record.pathway_tags"));
}

fn lead() -> Value {
    json!({"name": "Lead", "fields": [
        {"name": "replied", "type": "boolean", "rule": {">": [{"message_count": "user"}, 0]}},
        {"name": "interest", "type": "string", "source": "model",
         "description": "What the user wants to buy"},
        {"name": "budget", "type": "number", "source": "model", "description": "Budget in dollars"}
    ]})
}

async fn model_app(b: Backend, fake: &FakeModel) -> TestApp {
    let mut cfg = test_config();
    cfg.language_model = fake.config();
    TestApp::spawn_with(b, cfg).await
}

async fn model_fields_are_answered_by_the_model(b: Backend) {
    let fake = FakeModel::start().await;
    let app = model_app(b, &fake).await;
    let id = id_of(&create(&app, &lead()).await);
    fake.push(Answer::reply(
        r#"{"interest": "a blue bike", "budget": 400, "extra": "ignored"}"#,
    ));
    let got = log(
        &app,
        &id,
        json!({"record": {"transcript": [
            {"speaker": "AGENT", "text": "What are you after?"},
            {"speaker": "USER", "text": "A blue bike, about $400"}]}}),
    )
    .await;
    assert_eq!(got["status"], "COMPLETE", "{got}");
    assert_eq!(
        got["result"],
        json!({"replied": true, "interest": "a blue bike", "budget": 400})
    );
    assert_eq!(got["tag"], "a blue bike");
    let req = fake.only_request();
    let messages = req.messages();
    assert!(
        messages[0]
            .1
            .contains("- interest (string): What the user wants to buy"),
        "{messages:?}"
    );
    assert_eq!(
        messages[1].1,
        "Conversation:\nAgent: What are you after?\nUser: A blue bike, about $400"
    );
    assert_eq!(req.body["response_format"], json!({"type": "json_object"}));
}

async fn a_failing_model_gives_an_error_log(b: Backend) {
    let fake = FakeModel::start().await;
    let app = model_app(b, &fake).await;
    let id = id_of(&create(&app, &lead()).await);
    fake.push(Answer::status(503, "overloaded"));
    let got = log(&app, &id, json!({"record": {}})).await;
    assert_eq!(
        (
            got["status"].clone(),
            got["result"].clone(),
            got["tag"].clone()
        ),
        (json!("ERROR"), Value::Null, Value::Null)
    );
    let error = got["error"].as_str().unwrap();
    assert!(
        error.starts_with("the language model failed (UNAVAILABLE)"),
        "{error}"
    );
    assert_eq!(got["snippet_version"], 1);
}

async fn a_model_field_on_a_server_without_a_model_gives_an_error_log(b: Backend) {
    // Saved while a model was configured; the server has none now.
    let app = TestApp::spawn(b).await;
    let saved = app
        .store
        .create_disposition(&app.org_id, &lead(), T0)
        .await
        .unwrap();
    let got = log(&app, &saved.id, json!({"record": {}})).await;
    assert_eq!(got["status"], "ERROR", "{got}");
    assert_eq!(
        got["error"],
        "fields interest, budget need a language model and none is configured \
         (set language_model.base_url)"
    );
}
