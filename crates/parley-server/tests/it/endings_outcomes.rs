//! The whole end-of-conversation pipeline over HTTP: a summary, citations from a schema with
//! deterministic sources, and an outcome reading those citations, each computed once and
//! delivered on the one status webhook even when two end triggers race; the send's
//! `citation_schema_ids` / `disposition_ids` win over the number's.

use std::sync::{
    atomic::{AtomicUsize, Ordering},
    Arc,
};

use parley_domain::clock::Clock;
use parley_store::EndStatus;
use reqwest::Method;
use serde_json::{json, Value};

use crate::{
    fake_model::{Answer, FakeModel},
    helpers::{Backend, TestApp, AGENT},
    webhook_receiver::{loopback_config, Receiver},
};

crate::backend_tests!(summary_citations_and_outcomes_land_once_on_the_status_webhook);

async fn created_id(app: &TestApp, path: &str, body: Value) -> String {
    let (status, res) = app.post(path, &app.key, &body).await;
    assert_eq!(status, 200, "{path}: {res}");
    res["data"]["id"].as_str().unwrap().to_owned()
}

async fn summary_citations_and_outcomes_land_once_on_the_status_webhook(b: Backend) {
    let rx = Receiver::start().await;
    let fake = FakeModel::start().await;
    let summaries = Arc::new(AtomicUsize::new(0));
    let seen = summaries.clone();
    fake.script(move |body| {
        let system = body["messages"][0]["content"].as_str().unwrap_or_default();
        if system.contains("Summarise") {
            seen.fetch_add(1, Ordering::SeqCst);
            Answer::reply("Party of 4 booked for Tuesday.")
        } else {
            Answer::reply("ok")
        }
    });
    let mut cfg = loopback_config();
    cfg.language_model = fake.config();
    let app = TestApp::spawn_with(b, cfg).await;

    let schema = created_id(
        &app,
        "/v1/citation_schemas/",
        json!({"name": "Booking", "schema": {"variables": [
            {"name": "party_size", "type": "number", "description": "People",
             "source": {"regex": "(\\d+) people"}},
            {"name": "day", "type": "string", "description": "Day",
             "source": {"regex": "(Monday|Tuesday|Wednesday)"}}
        ]}}),
    )
    .await;
    let reminder = created_id(
        &app,
        "/v1/dispositions",
        json!({"name": "Reminder", "tag_field": "outcome", "fields": [
            {"name": "booked", "type": "boolean", "rule": {">=": [{"citation": "party_size"}, 1]}},
            {"name": "outcome", "type": "string", "rule": {"cases": [
                {"when": {"transcript_contains": "cancel"}, "then": "cancelled"}],
                "default": "booked"}}
        ]}),
    )
    .await;
    let numbers_own = created_id(
        &app,
        "/v1/dispositions",
        json!({"name": "Number default", "fields": [
            {"name": "seen", "type": "boolean", "rule": true}]}),
    )
    .await;
    let (status, res) = app
        .post(
            "/v1/sms/number/update",
            &app.key,
            &json!({"phone_number": AGENT, "webhook": rx.url("/hooks"),
                "summary_prompt": "Summarise the booking.", "disposition_ids": [numbers_own]}),
        )
        .await;
    assert_eq!(status, 200, "{res}");

    let user = "+15551230301";
    let (status, res) = app
        .post(
            "/v1/sms/send",
            &app.key,
            &json!({"user_number": user, "agent_number": AGENT,
                "agent_message": "How many people, and which day?",
                "citation_schema_ids": [schema], "disposition_ids": [reminder]}),
        )
        .await;
    assert_eq!(status, 200, "{res}");
    let conv = res["data"]["conversation_id"].as_str().unwrap().to_owned();
    app.drain().await;
    let (status, res) = app
        .post(
            "/v1/sandbox/inbound",
            &app.key,
            &json!({"from": user, "to": AGENT, "message": "4 people on Tuesday"}),
        )
        .await;
    assert_eq!(status, 200, "{res}");
    app.drain().await;

    let now = app.clock.now_ms();
    let path = format!("/v1/sms/conversations/{conv}");
    let closing = json!({"is_active": false});
    let (timeout, patch) = tokio::join!(
        app.store
            .end_conversation(&app.org_id, &conv, EndStatus::Timeout, now),
        app.call(Method::PATCH, &path, &app.key, Some(&closing)),
    );
    timeout.unwrap();
    assert_eq!(patch.0, 200, "{patch:?}");
    app.drain().await;

    let hooks: Vec<Value> = rx
        .accepted()
        .iter()
        .map(|r| r.json())
        .filter(|v| v["conversation_id"] == conv.as_str() && v["type"] == "status")
        .collect();
    assert_eq!(hooks.len(), 1, "{hooks:?}");
    let hook = &hooks[0];
    assert_eq!(summaries.load(Ordering::SeqCst), 1);
    assert_eq!(hook["summary"], "Party of 4 booked for Tuesday.");
    assert_eq!(
        hook["citations"],
        json!({"party_size": 4, "day": "Tuesday"})
    );
    let logs = hook["dispositions"].as_array().unwrap();
    assert_eq!(
        logs.len(),
        1,
        "the send's disposition_ids replace the number's: {logs:?}"
    );
    assert_eq!(logs[0]["disposition_id"], reminder.as_str());
    assert_eq!(logs[0]["status"], "COMPLETE");
    assert_eq!(logs[0]["snippet_version"], 1);
    assert_eq!(
        logs[0]["result"],
        json!({"booked": true, "outcome": "booked"})
    );
    assert_eq!(hook["disposition_tag"], "booked");

    let row = app.conversation(&conv).await;
    assert_eq!(row["summary"], hook["summary"]);
    assert_eq!(row["citation_variables"], hook["citations"]);
    assert_eq!(row["disposition_logs"], hook["dispositions"]);
    assert_eq!(row["disposition_tag"], "booked");
}
