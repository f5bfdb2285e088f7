//! Sends, creates and batches that name a pathway which cannot run are refused before
//! anything is written, naming the field: an unknown pathway (or another org's) is
//! `404 PATHWAY_NOT_FOUND`, an unknown version `404 PATHWAY_VERSION_NOT_FOUND`, a start or
//! current node that is not in it `400 INVALID_PARAMETER`, whichever layer of the reply
//! precedence names it (`pathway_id`, `persona_settings`, a persona's routing).

use serde_json::{json, Value};

use crate::{
    helpers::{assert_error, Backend, TestApp, AGENT, USER},
    pathways::{create, stored_pathway},
};

crate::backend_tests!(
    sends_naming_a_pathway_that_cannot_run_are_refused_and_write_nothing,
    creates_and_batches_naming_a_pathway_that_cannot_run_are_refused,
);

/// A refusal with `status`/`code` whose message and `details.field` name `field`.
fn refused(got: &(u16, Value), status: u16, code: &str, field: &str) {
    let msg = assert_error(got, status, code);
    assert!(msg.starts_with(&format!("{field}: ")), "{field}: {msg}");
    if status == 404 {
        assert_eq!(got.1["errors"][0]["details"]["field"], field, "{}", got.1);
    }
}

/// Nothing was written: no conversation, no message, no batch.
async fn nothing_written(app: &TestApp) {
    let list = app.list("").await;
    assert_eq!(list["extra"]["pagination"]["totalItems"], 0, "{list}");
    assert_eq!(app.store.queue_depth(i64::MAX).await.unwrap().queued, 0);
    let (s, batches) = app.get("/v1/sms/batches", &app.key).await;
    assert_eq!(s, 200, "{batches}");
    assert_eq!(batches["data"], json!([]), "{batches}");
}

async fn send(app: &TestApp, extra: Value) -> (u16, Value) {
    let mut body = json!({"user_number": USER, "agent_number": AGENT, "agent_message": "Hi!"});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    app.post("/v1/sms/send", &app.key, &body).await
}

async fn sends_naming_a_pathway_that_cannot_run_are_refused_and_write_nothing(b: Backend) {
    let app = TestApp::spawn(b).await;
    stored_pathway(&app, "pw-real", 2, &["hello", "later"]).await;
    let (_, other_key) = app.org("globex").await;
    let theirs = create(&app, &other_key, "Theirs").await;

    let cases = [
        (
            json!({"pathway_id": "pw-nope"}),
            404,
            "PATHWAY_NOT_FOUND",
            "pathway_id",
        ),
        // Another org's pathway reads exactly like one that does not exist.
        (
            json!({"pathway_id": theirs}),
            404,
            "PATHWAY_NOT_FOUND",
            "pathway_id",
        ),
        (
            json!({"pathway_id": "pw-real", "pathway_version": 3}),
            404,
            "PATHWAY_VERSION_NOT_FOUND",
            "pathway_version",
        ),
        (
            json!({"pathway_id": "pw-real", "pathway_version": "staging"}),
            404,
            "PATHWAY_VERSION_NOT_FOUND",
            "pathway_version",
        ),
        (
            json!({"pathway_id": "pw-real", "start_node_id": "gone"}),
            400,
            "INVALID_PARAMETER",
            "start_node_id",
        ),
        (
            json!({"persona_settings": {"pathway_id": "pw-nope"}}),
            404,
            "PATHWAY_NOT_FOUND",
            "persona_settings.pathway_id",
        ),
        (
            json!({"persona_settings": {"pathway_id": "pw-real", "pathway_version": 9}}),
            404,
            "PATHWAY_VERSION_NOT_FOUND",
            "persona_settings.pathway_version",
        ),
        // Outranked by persona_settings, but stored, and used once they go: checked too.
        (
            json!({"persona_settings": {"pathway_id": "pw-real"}, "pathway_id": "pw-nope"}),
            404,
            "PATHWAY_NOT_FOUND",
            "pathway_id",
        ),
    ];
    for (extra, status, code, field) in cases {
        let got = send(&app, extra.clone()).await;
        refused(&got, status, code, field);
        // The opener (no agent_message) checks the same way.
        let mut opener = extra.clone();
        opener["agent_message"] = Value::Null;
        let got = send(&app, opener).await;
        refused(&got, status, code, field);
    }
    // A persona whose routing names a missing pathway.
    let (s, p) = app
        .post(
            "/v1/personas",
            &app.key,
            &json!({"name": "Router", "pathway_conditions": [{"pathway_id": "pw-nope"}]}),
        )
        .await;
    assert_eq!(s, 200, "{p}");
    let persona = p["data"]["id"].as_str().unwrap();
    let got = send(&app, json!({"persona_id": persona})).await;
    refused(
        &got,
        404,
        "PATHWAY_NOT_FOUND",
        "persona_id (the persona's pathway_conditions)",
    );
    nothing_written(&app).await;

    // The same fields naming what exists are accepted.
    let (s, res) = send(
        &app,
        json!({"pathway_id": "pw-real", "pathway_version": 2, "start_node_id": "later"}),
    )
    .await;
    assert_eq!(s, 200, "{res}");
}

async fn creates_and_batches_naming_a_pathway_that_cannot_run_are_refused(b: Backend) {
    let app = TestApp::spawn(b).await;
    stored_pathway(&app, "pw-real", 1, &["hello", "ask_time"]).await;
    let base = json!({"user_number": USER, "agent_number": AGENT, "message": "from the call"});
    let with = |extra: Value| {
        let mut body = base.clone();
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        body
    };
    let cases = [
        (
            json!({"curr_pathway_id": "pw-nope"}),
            404,
            "PATHWAY_NOT_FOUND",
            "curr_pathway_id",
        ),
        (
            json!({"curr_pathway_id": "pw-real", "curr_pathway_version": "v2"}),
            404,
            "PATHWAY_VERSION_NOT_FOUND",
            "curr_pathway_version",
        ),
        (
            json!({"curr_pathway_id": "pw-real", "current_node_id": "nowhere"}),
            400,
            "INVALID_PARAMETER",
            "current_node_id",
        ),
    ];
    for (extra, status, code, field) in cases {
        let got = app.post("/v1/sms/create", &app.key, &with(extra)).await;
        refused(&got, status, code, field);
    }

    let file = app.upload(b"phone_number,name\n+15551230001,Ana\n").await;
    for (global, code, field) in [
        (
            json!({"pathway_id": "pw-nope"}),
            "PATHWAY_NOT_FOUND",
            "global.pathway_id",
        ),
        (
            json!({"pathway_id": "pw-real", "pathway_version": "latest", "persona_settings": {"pathway_id": "pw-nope"}}),
            "PATHWAY_NOT_FOUND",
            "global.persona_settings.pathway_id",
        ),
        (
            json!({"pathway_id": "pw-real", "pathway_version": 4}),
            "PATHWAY_VERSION_NOT_FOUND",
            "global.pathway_version",
        ),
    ] {
        let mut g = json!({"agent_number": AGENT, "agent_message": "Hi {{name}}"});
        for (k, v) in global.as_object().unwrap() {
            g[k] = v.clone();
        }
        let got = app
            .post(
                "/v1/sms/batch",
                &app.key,
                &json!({"file_id": file, "global": g}),
            )
            .await;
        refused(&got, 404, code, field);
    }
    nothing_written(&app).await;

    // Naming what exists is accepted.
    let created = app
        .create(&with(json!({"curr_pathway_id": "pw-real", "curr_pathway_version": 1, "current_node_id": "ask_time"})))
        .await;
    assert!(created["conversation_id"].is_string(), "{created}");
    let (s, res) = app
        .post(
            "/v1/sms/batch",
            &app.key,
            &json!({"file_id": file, "global": {"agent_number": AGENT, "agent_message": "Hi {{name}}", "pathway_id": "pw-real"}}),
        )
        .await;
    assert_eq!(s, 200, "{res}");
}
