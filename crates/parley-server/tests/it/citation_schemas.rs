//! `/v1/citation_schemas`: create, list, get, update, delete in Bland's shapes, with and
//! without the trailing slash, and every error in the envelope. Also the fixtures the
//! backfill and analyze suites share.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{assert_error, Backend, TestApp, AGENT, USER};

crate::backend_tests!(
    citation_schemas_round_trip_in_blands_shapes,
    citation_schema_paths_work_without_the_trailing_slash,
    citation_schema_errors_are_4xx_in_the_envelope,
    citation_schemas_are_in_the_openapi_document,
);

/// A schema with every type, a condition, a grouping and both kinds of `source`.
pub fn booking_schema() -> Value {
    json!({
        "variables": [
            {"name": "zip", "description": "Postal code", "type": "string",
             "source": {"regex": "zip (?:code )?(?:is )?(\\d{5})", "speaker": "user"}},
            {"name": "plan", "description": "Plan", "type": "category", "options": ["Gold", "Silver"],
             "source": {"variable": "plan"}},
            {"name": "rooms", "description": "Rooms wanted", "type": "number",
             "source": {"regex": "(\\d+) rooms"}},
            {"name": "wants_call", "description": "Asked for a call back", "type": "boolean"}
        ],
        "groupings": [{"name": "Booking", "description": "What was booked", "variables": ["plan", "rooms"]}],
        "conditions": [{
            "condition": {"variable": "plan", "operator": "===", "value": "Gold"},
            "variables": [{"name": "perks", "description": "Perks asked for", "type": "array"}]
        }]
    })
}

/// Creates a schema as `key`'s org; returns its id.
pub async fn create_schema(app: &TestApp, key: &str, name: &str, schema: Value) -> String {
    let (s, res) = app
        .post(
            "/v1/citation_schemas/",
            key,
            &json!({"name": name, "description": "test", "schema": schema}),
        )
        .await;
    assert_eq!(s, 200, "{res}");
    res["data"]["id"].as_str().unwrap().to_owned()
}

/// A conversation of org acme with AGENT: the agent's opener (with `request_data`), then
/// the user's `replies`. Returns its id.
pub async fn conversation_with(
    app: &TestApp,
    user: &str,
    request_data: Value,
    replies: &[&str],
) -> String {
    let (s, res) = app
        .post(
            "/v1/sms/send",
            &app.key,
            &json!({"user_number": user, "agent_number": AGENT, "agent_message": "Hi! Which plan and zip?",
                    "request_data": request_data}),
        )
        .await;
    assert_eq!(s, 200, "{res}");
    for reply in replies {
        let (s, res) = app
            .post(
                "/v1/sandbox/inbound",
                &app.key,
                &json!({"from": user, "to": AGENT, "message": reply}),
            )
            .await;
        assert_eq!(s, 200, "{res}");
    }
    res["data"]["conversation_id"].as_str().unwrap().to_owned()
}

/// The usual booking conversation.
pub async fn booking_conversation(app: &TestApp) -> String {
    conversation_with(
        app,
        USER,
        json!({"plan": "gold", "crm_id": 42}),
        &["my zip is 94107", "and 3 rooms, also call me back"],
    )
    .await
}

async fn citation_schemas_round_trip_in_blands_shapes(b: Backend) {
    let app = TestApp::spawn(b).await;
    let schema = booking_schema();
    let (s, created) = app
        .post(
            "/v1/citation_schemas/",
            &app.key,
            &json!({"name": "Booking", "description": "What they booked", "schema": schema}),
        )
        .await;
    assert_eq!(s, 200, "{created}");
    assert_eq!(created["status"], 200);
    assert_eq!(created["errors"], Value::Null);
    let data = &created["data"];
    let id = data["id"].as_str().unwrap().to_owned();
    assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
    assert_eq!(
        (
            &data["name"],
            &data["description"],
            &data["org_id"],
            &data["schema"]
        ),
        (
            &json!("Booking"),
            &json!("What they booked"),
            &json!(app.org_id),
            &schema
        )
    );
    assert_eq!(data["created_at"], "2026-01-01T00:00:00.000Z");

    app.clock.advance_ms(1_000);
    let (s, bare) = app
        .post("/v1/citation_schemas/", &app.key, &json!({"name": "Empty"}))
        .await;
    assert_eq!(s, 200, "{bare}");
    assert_eq!(
        bare["data"]["schema"],
        json!({"variables": [], "groupings": [], "conditions": []})
    );
    assert_eq!(bare["data"]["description"], Value::Null);

    let (s, list) = app.get("/v1/citation_schemas/list", &app.key).await;
    assert_eq!(s, 200, "{list}");
    assert_eq!(list["status"], 200);
    let names: Vec<&Value> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| &d["name"])
        .collect();
    assert_eq!(names, [&json!("Empty"), &json!("Booking")], "newest first");
    assert_eq!(list["data"][1]["schema"], schema);

    let (s, got) = app
        .get(&format!("/v1/citation_schemas/?id={id}"), &app.key)
        .await;
    assert_eq!((s, &got["data"]), (200, data));

    // A patch changes what it names; a schema replaces the stored one whole.
    app.clock.advance_ms(1_000);
    let path = format!("/v1/citation_schemas/?id={id}");
    let (s, renamed) = app
        .call(
            Method::PATCH,
            &path,
            &app.key,
            Some(&json!({"name": "Bookings", "description": null})),
        )
        .await;
    assert_eq!(s, 200, "{renamed}");
    assert_eq!(
        (
            &renamed["data"]["name"],
            &renamed["data"]["description"],
            &renamed["data"]["schema"]
        ),
        (&json!("Bookings"), &Value::Null, &schema)
    );
    assert_eq!(renamed["data"]["created_at"], data["created_at"]);
    assert_eq!(renamed["data"]["updated_at"], "2026-01-01T00:00:02.000Z");
    let smaller = json!({"variables": [{"name": "zip", "type": "string"}]});
    let (s, replaced) = app
        .call(
            Method::PATCH,
            &path,
            &app.key,
            Some(&json!({"schema": smaller})),
        )
        .await;
    assert_eq!((s, &replaced["data"]["schema"]), (200, &smaller));
    assert_eq!(replaced["data"]["name"], "Bookings");

    let (s, deleted) = app.call(Method::DELETE, &path, &app.key, None).await;
    assert_eq!(
        (s, deleted),
        (200, json!({"data": {"id": id}, "errors": null}))
    );
    assert_error(&app.get(&path, &app.key).await, 404, "SCHEMA_NOT_FOUND");
    assert_error(
        &app.call(Method::DELETE, &path, &app.key, None).await,
        404,
        "SCHEMA_NOT_FOUND",
    );
    let (_, list) = app.get("/v1/citation_schemas/list", &app.key).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
}

async fn citation_schema_paths_work_without_the_trailing_slash(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (s, created) = app
        .post(
            "/v1/citation_schemas",
            &app.key,
            &json!({"name": "Bare", "schema": booking_schema()}),
        )
        .await;
    assert_eq!(s, 200, "{created}");
    let id = created["data"]["id"].as_str().unwrap();
    let path = format!("/v1/citation_schemas?id={id}");

    let (s, got) = app.get(&path, &app.key).await;
    assert_eq!((s, &got["data"]["name"]), (200, &json!("Bare")));
    let (s, patched) = app
        .call(Method::PATCH, &path, &app.key, Some(&json!({"name": "B2"})))
        .await;
    assert_eq!((s, &patched["data"]["name"]), (200, &json!("B2")));
    let (s, _) = app.call(Method::DELETE, &path, &app.key, None).await;
    assert_eq!(s, 200);
    assert_error(&app.get(&path, &app.key).await, 404, "SCHEMA_NOT_FOUND");
}

async fn citation_schema_errors_are_4xx_in_the_envelope(b: Backend) {
    let app = TestApp::spawn(b).await;
    let id = create_schema(&app, &app.key, "Kept", booking_schema()).await;
    let bad_type = json!({"variables": [{"name": "a", "type": "string"}, {"name": "b", "type": "string"},
                                        {"name": "c", "type": "date"}]});
    for (body, needle) in [
        (json!({}), "name is required"),
        (json!({"name": "  "}), "name is required"),
        (json!({"name": 5}), "name"),
        (
            json!({"name": "x", "schema": []}),
            "schema must be an object",
        ),
        (
            json!({"name": "x", "schema": bad_type}),
            "schema.variables[2].type",
        ),
        (
            json!({"name": "x", "schema": {"variables": [{"name": "z", "type": "string", "source": {"regex": "(("}}]}}),
            "schema.variables[0].source.regex",
        ),
    ] {
        let got = app.post("/v1/citation_schemas/", &app.key, &body).await;
        let message = assert_error(&got, 400, "INVALID_PARAMETER");
        assert!(message.contains(needle), "{body}: {message}");
    }
    let got = app
        .post(
            "/v1/citation_schemas/",
            &app.key,
            &json!({"name": "x", "schema": bad_type}),
        )
        .await;
    assert_eq!(
        got.1["errors"][0]["details"]["field"],
        "schema.variables[2].type"
    );

    let path = format!("/v1/citation_schemas/?id={id}");
    for (body, needle) in [
        (json!({}), "at least one of"),
        (json!({"name": null}), "name is required"),
        (json!({"schema": null}), "schema must be an object"),
        (json!({"schema": bad_type}), "schema.variables[2].type"),
    ] {
        let got = app.call(Method::PATCH, &path, &app.key, Some(&body)).await;
        let message = assert_error(&got, 400, "INVALID_PARAMETER");
        assert!(message.contains(needle), "{body}: {message}");
    }
    let (_, kept) = app.get(&path, &app.key).await;
    assert_eq!(
        kept["data"]["schema"],
        booking_schema(),
        "a refused patch changes nothing"
    );

    for method in [Method::GET, Method::PATCH, Method::DELETE] {
        let body = json!({"name": "x"});
        for (path, status, code) in [
            ("/v1/citation_schemas/", 400, "MISSING_SCHEMA_ID"),
            ("/v1/citation_schemas/?id=", 400, "MISSING_SCHEMA_ID"),
            (
                "/v1/citation_schemas/?id=not-a-uuid",
                404,
                "SCHEMA_NOT_FOUND",
            ),
            (
                "/v1/citation_schemas/?id=3f4a2b1c-8e9d-4c7f-b2a1-5e8d9c7f6a2b",
                404,
                "SCHEMA_NOT_FOUND",
            ),
        ] {
            let got = app.call(method.clone(), path, &app.key, Some(&body)).await;
            assert_error(&got, status, code);
        }
    }
    for (method, path) in [
        (Method::POST, "/v1/citation_schemas/".to_owned()),
        (Method::GET, "/v1/citation_schemas/list".to_owned()),
        (Method::GET, path.clone()),
        (Method::DELETE, path.clone()),
    ] {
        let got = app
            .call(method, &path, "wrong-key", Some(&json!({"name": "x"})))
            .await;
        assert_error(&got, 401, "AUTH_FAILURE");
    }
    let (s, _) = app.get(&path, &app.key).await;
    assert_eq!(s, 200, "unauthenticated calls changed nothing");
}

async fn citation_schemas_are_in_the_openapi_document(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (s, doc) = app.get("/openapi.json", &app.key).await;
    assert_eq!(s, 200);
    let paths = &doc["paths"];
    for (path, methods) in [
        (
            "/v1/citation_schemas/",
            &["post", "get", "patch", "delete"][..],
        ),
        (
            "/v1/citation_schemas",
            &["post", "get", "patch", "delete"][..],
        ),
        ("/v1/citation_schemas/list", &["get"][..]),
        ("/v1/citation_schemas/backfill", &["post"][..]),
        ("/v1/sms/analyze", &["post"][..]),
    ] {
        for m in methods {
            assert!(
                paths[path][m].is_object(),
                "{m} {path} missing from /openapi.json"
            );
        }
    }
}
