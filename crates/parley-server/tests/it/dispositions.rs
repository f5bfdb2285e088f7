//! `/v1/dispositions`: create, list, get at any version, update as a new version, delete
//! (refused while a number lists it), definitions refused with the path at fault, model
//! fields refused without a model, and other orgs seeing nothing.

use reqwest::Method;
use serde_json::{json, Value};

use crate::{
    fake_model::FakeModel,
    helpers::{assert_error, test_config, Backend, TestApp, AGENT},
};

crate::backend_tests!(
    dispositions_are_created_listed_and_read_at_any_version,
    invalid_definitions_are_refused_with_the_path_and_nothing_is_saved,
    model_fields_need_a_configured_model,
    delete_is_refused_while_a_number_lists_it_unless_forced,
    another_org_sees_none_of_them,
);

/// The appointment-reminder outcome of `docs/API.md`.
pub fn reminder() -> Value {
    json!({
        "name": "Appointment reminder",
        "description": "What the patient did with the reminder",
        "tag_field": "outcome",
        "fields": [
            {"name": "outcome", "type": "string", "rule": {"cases": [
                {"when": {"any": [{"has_tag": "Confirmed"},
                                  {"transcript_contains": ["c", "confirm", "yes"]}]},
                 "then": "confirmed"},
                {"when": {"transcript_contains": ["r", "reschedule", "another day"]},
                 "then": "reschedule"},
                {"when": {"ended_reason": "timeout"}, "then": "no_reply"}
            ], "default": "unclear"}},
            {"name": "replies", "type": "number", "rule": {"message_count": "user"}},
            {"name": "patient", "type": "string", "rule": {"var": "name"}},
            {"name": "vip", "type": "boolean",
             "rule": {"in": [{"metadata": "tier"}, ["gold", "platinum"]]}}
        ]
    })
}

/// Creates `body` as org acme; returns the created disposition.
pub async fn create(app: &TestApp, body: &Value) -> Value {
    let (status, res) = app.post("/v1/dispositions", &app.key, body).await;
    assert_eq!(status, 200, "{res}");
    assert_eq!(res["errors"], Value::Null, "{res}");
    res["data"].clone()
}

async fn patch(app: &TestApp, id: &str, body: Value) -> (u16, Value) {
    app.call(
        Method::PATCH,
        &format!("/v1/dispositions/{id}"),
        &app.key,
        Some(&body),
    )
    .await
}

async fn dispositions_are_created_listed_and_read_at_any_version(b: Backend) {
    let app = TestApp::spawn(b).await;
    let d = create(&app, &reminder()).await;
    let id = d["id"].as_str().unwrap().to_owned();
    assert_eq!(
        (d["version"].clone(), d["current_version"].clone()),
        (json!(1), json!(1))
    );
    assert_eq!(d["name"], "Appointment reminder");
    assert_eq!(d["tag_field"], "outcome");
    // Stored as checked: every field's source is spelled out, rules kept as written.
    assert_eq!(
        d["fields"][1],
        json!({"name": "replies", "type": "number", "description": null,
                                      "source": "rule", "rule": {"message_count": "user"}})
    );
    assert_eq!(d["created_at"], "2026-01-01T00:00:00.000Z");

    app.clock.advance_ms(60_000);
    let (status, v2) = patch(
        &app,
        &id,
        json!({"name": "Reminder v2", "description": null}),
    )
    .await;
    assert_eq!(status, 200, "{v2}");
    let v2 = &v2["data"];
    assert_eq!(
        (v2["version"].clone(), v2["name"].clone()),
        (json!(2), json!("Reminder v2"))
    );
    assert_eq!(v2["description"], Value::Null);
    assert_eq!(
        v2["fields"], d["fields"],
        "absent keys keep the current value"
    );
    assert_eq!(v2["updated_at"], "2026-01-01T00:01:00.000Z");
    assert_eq!(v2["created_at"], d["created_at"]);

    let (_, cur) = app.get(&format!("/v1/dispositions/{id}"), &app.key).await;
    assert_eq!(
        (cur["data"]["version"].clone(), cur["data"]["name"].clone()),
        (json!(2), json!("Reminder v2"))
    );
    let (_, old) = app
        .get(&format!("/v1/dispositions/{id}?version=1"), &app.key)
        .await;
    assert_eq!(old["data"]["name"], "Appointment reminder");
    assert_eq!(
        (
            old["data"]["version"].clone(),
            old["data"]["current_version"].clone()
        ),
        (json!(1), json!(2))
    );
    assert_eq!(
        old["data"]["description"],
        "What the patient did with the reminder"
    );

    let (_, versions) = app
        .get(&format!("/v1/dispositions/{id}/versions"), &app.key)
        .await;
    let numbers: Vec<&Value> = versions["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| &v["version"])
        .collect();
    assert_eq!(numbers, [&json!(2), &json!(1)]);

    let other = create(
        &app,
        &json!({"name": "Other", "fields": [
        {"name": "ok", "type": "boolean", "rule": true}]}),
    )
    .await;
    let (_, list) = app.get("/v1/dispositions", &app.key).await;
    let ids: Vec<&Value> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| &d["id"])
        .collect();
    assert_eq!(ids, [&json!(id), &other["id"]]);
    let (_, page) = app.get("/v1/dispositions?page=2&limit=1", &app.key).await;
    assert_eq!(page["data"][0]["id"], other["id"]);

    let v3 = app
        .get(&format!("/v1/dispositions/{id}?version=3"), &app.key)
        .await;
    assert_error(&v3, 404, "DISPOSITION_VERSION_NOT_FOUND");
    let zero = app
        .get(&format!("/v1/dispositions/{id}?version=0"), &app.key)
        .await;
    assert_error(&zero, 400, "INVALID_PARAMETER");
    let word = app
        .get(&format!("/v1/dispositions/{id}?version=two"), &app.key)
        .await;
    assert_error(&word, 400, "INVALID_PARAMETER");
    let limit = app.get("/v1/dispositions?limit=500", &app.key).await;
    assert_error(&limit, 400, "INVALID_PARAMETER");
    let empty = patch(&app, &id, json!({"color": "red"})).await;
    assert!(assert_error(&empty, 400, "INVALID_PARAMETER").contains("nothing to update"));
}

async fn invalid_definitions_are_refused_with_the_path_and_nothing_is_saved(b: Backend) {
    let app = TestApp::spawn(b).await;
    let mut bad = reminder();
    bad["fields"][0]["rule"]["cases"][1]["when"] = json!({"var": "x", "has_tag": "y"});
    bad["fields"][3]["rule"] = json!({"message_count": "user"});
    let got = app.post("/v1/dispositions", &app.key, &bad).await;
    let message = assert_error(&got, 400, "INVALID_DISPOSITION");
    assert!(
        message.starts_with("the disposition has 2 problems"),
        "{message}"
    );
    assert_eq!(
        got.1["errors"][0]["details"]["errors"],
        json!([
            {"path": "fields[0].rule.cases[1].when",
             "message": "has several operator keys (var, has_tag); write one per object"},
            {"path": "fields[3].rule", "message": "gives a number where a boolean is needed"}
        ])
    );
    let (_, list) = app.get("/v1/dispositions", &app.key).await;
    assert_eq!(list["data"], json!([]));

    let no_name = app
        .post("/v1/dispositions", &app.key, &json!({"fields": []}))
        .await;
    let message = assert_error(&no_name, 400, "INVALID_DISPOSITION");
    assert!(
        message.contains("name: is required") && message.contains("fields: must list"),
        "{message}"
    );
    let not_object = app
        .post("/v1/dispositions", &app.key, &json!([reminder()]))
        .await;
    assert_error(&not_object, 400, "INVALID_JSON");

    // An update that breaks the definition writes no version.
    let id = create(&app, &reminder()).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let tag = patch(&app, &id, json!({"tag_field": "vip"})).await;
    assert!(assert_error(&tag, 400, "INVALID_DISPOSITION")
        .contains("tag_field: names \"vip\", which is not a string field"));
    let fields = patch(
        &app,
        &id,
        json!({"fields": [{"name": "x", "type": "string", "rule": {"<": ["a", 1]}}]}),
    )
    .await;
    assert!(assert_error(&fields, 400, "INVALID_DISPOSITION")
        .contains(r#"fields[0].rule["<"]: compares a string with a number"#));
    let (_, versions) = app
        .get(&format!("/v1/dispositions/{id}/versions"), &app.key)
        .await;
    assert_eq!(versions["data"].as_array().unwrap().len(), 1);
}

fn with_model_field() -> Value {
    let mut d = reminder();
    d["fields"].as_array_mut().unwrap().push(json!(
        {"name": "mood", "type": "string", "source": "model", "description": "How the patient sounds"}
    ));
    d
}

async fn model_fields_need_a_configured_model(b: Backend) {
    let app = TestApp::spawn(b).await;
    let got = app
        .post("/v1/dispositions", &app.key, &with_model_field())
        .await;
    let message = assert_error(&got, 400, "MODEL_REQUIRED");
    assert!(
        message.starts_with("model field fields[4] (\"mood\") needs a language model"),
        "{message}"
    );
    assert_eq!(
        got.1["errors"][0]["details"]["fields"],
        json!([{"path": "fields[4]", "name": "mood"}])
    );
    let (_, list) = app.get("/v1/dispositions", &app.key).await;
    assert_eq!(list["data"], json!([]));
    // Rules alone need no model.
    let id = create(&app, &reminder()).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let added = patch(&app, &id, json!({"fields": with_model_field()["fields"]})).await;
    assert_error(&added, 400, "MODEL_REQUIRED");

    let fake = FakeModel::start().await;
    let mut cfg = test_config();
    cfg.language_model = fake.config();
    let with_model = TestApp::spawn_with(b, cfg).await;
    let d = create(&with_model, &with_model_field()).await;
    assert_eq!(d["fields"][4]["source"], "model");
    assert!(fake.requests().is_empty(), "saving asks the model nothing");
}

async fn delete_is_refused_while_a_number_lists_it_unless_forced(b: Backend) {
    let app = TestApp::spawn(b).await;
    let id = create(&app, &reminder()).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, res) = app
        .post(
            "/v1/sms/number/update",
            &app.key,
            &json!({"phone_number": AGENT, "disposition_ids": [id]}),
        )
        .await;
    assert_eq!(status, 200, "{res}");
    let path = format!("/v1/dispositions/{id}");

    let refused = app.call(Method::DELETE, &path, &app.key, None).await;
    assert_error(&refused, 409, "DISPOSITION_IN_USE");
    assert_eq!(
        refused.1["errors"][0]["details"]["phone_numbers_using"],
        json!([AGENT])
    );
    assert_eq!(app.get(&path, &app.key).await.0, 200, "still there");

    let bad_force = app
        .call(Method::DELETE, &format!("{path}?force=yes"), &app.key, None)
        .await;
    assert_error(&bad_force, 400, "INVALID_PARAMETER");
    let (status, done) = app
        .call(
            Method::DELETE,
            &format!("{path}?force=true"),
            &app.key,
            None,
        )
        .await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(
        done["data"],
        json!({"success": true, "message": "Disposition deleted successfully"})
    );
    assert_error(
        &app.get(&path, &app.key).await,
        404,
        "DISPOSITION_NOT_FOUND",
    );
    assert_error(
        &app.call(Method::DELETE, &path, &app.key, None).await,
        404,
        "DISPOSITION_NOT_FOUND",
    );
}

async fn another_org_sees_none_of_them(b: Backend) {
    let app = TestApp::spawn(b).await;
    let id = create(&app, &reminder()).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, other) = app.org("globex").await;
    let path = format!("/v1/dispositions/{id}");
    for (method, p, body) in [
        (Method::GET, path.clone(), None),
        (Method::GET, format!("{path}?version=1"), None),
        (Method::GET, format!("{path}/versions"), None),
        (
            Method::PATCH,
            path.clone(),
            Some(json!({"name": "mine now"})),
        ),
        (Method::DELETE, format!("{path}?force=true"), None),
        (
            Method::POST,
            format!("{path}/test"),
            Some(json!({"record": {}})),
        ),
        (Method::GET, "/v1/dispositions/not-a-uuid".into(), None),
    ] {
        let got = app.call(method.clone(), &p, &other, body.as_ref()).await;
        let message = assert_error(&got, 404, "DISPOSITION_NOT_FOUND");
        assert!(message.contains("not found"), "{method} {p}: {message}");
    }
    let (_, list) = app.get("/v1/dispositions", &other).await;
    assert_eq!(list["data"], json!([]));
    // Untouched for its owner.
    let (_, mine) = app.get(&path, &app.key).await;
    assert_eq!(
        (
            mine["data"]["version"].clone(),
            mine["data"]["name"].clone()
        ),
        (json!(1), json!("Appointment reminder"))
    );
    let unauthenticated = app.get("/v1/dispositions", "wrong").await;
    assert_error(&unauthenticated, 401, "AUTH_FAILURE");
}
