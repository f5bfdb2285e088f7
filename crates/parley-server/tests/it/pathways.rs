//! Pathway CRUD in Bland's shapes: validation errors naming every node and edge, another
//! org's pathway, and the OpenAPI description. Bad input is in `pathways_input.rs`, versions
//! in `pathways_versions.rs`, the chat harness in `pathways_chat.rs`; the fixtures here are
//! shared.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{assert_error, Backend, TestApp, T0};

crate::backend_tests!(
    pathways_are_created_listed_updated_and_deleted,
    saving_an_invalid_graph_names_every_node_and_edge,
    another_orgs_pathway_is_not_found,
    openapi_describes_every_pathway_route,
);

/// The three-node appointment reminder of `docs/PATHWAYS.md`: static text and
/// deterministic `parleyCondition` edges, so it runs without a model.
pub fn reminder_nodes() -> Value {
    json!([
        {"id": "remind", "type": "Default", "position": {"x": 0, "y": 0},
         "data": {"name": "Reminder", "isStart": true,
                  "text": "Hi {{name}}, a reminder of your appointment on {{date}}. Reply C to confirm or R to reschedule."}},
        {"id": "confirmed", "type": "End Call",
         "data": {"name": "Confirmed", "text": "Thanks {{name}}, you're confirmed. See you then!"}},
        {"id": "reschedule", "type": "End Call",
         "data": {"name": "Reschedule", "text": "No problem, we'll call you to find another time."}}
    ])
}

pub fn reminder_edges() -> Value {
    json!([
        {"id": "to-confirmed", "source": "remind", "target": "confirmed", "type": "custom",
         "data": {"parleyCondition": {"kind": "equals", "values": ["c", "confirm", "yes"]}}},
        {"id": "to-reschedule", "source": "remind", "target": "reschedule", "type": "custom",
         "data": {"parleyCondition": {"kind": "contains_any", "values": ["r", "reschedule", "another day"]}}}
    ])
}

/// Creates a pathway as `key`'s org and returns its id.
pub async fn create(app: &TestApp, key: &str, name: &str) -> String {
    let (s, body) = app
        .post("/v1/pathway/create", key, &json!({"name": name}))
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["status"], "success");
    body["pathway_id"].as_str().unwrap().to_owned()
}

/// Stores a pathway with an id of the test's choosing (tests that list and filter
/// conversations by `curr_pathway_id` name their own) in `app`'s org: a draft and `versions`
/// numbered versions, each with one static node per name in `nodes` (the first is the start).
/// Sends and creates naming a pathway are refused unless it exists, with the version and node.
pub async fn stored_pathway(app: &TestApp, id: &str, versions: usize, nodes: &[&str]) {
    let graph = parley_store::graph_of(
        nodes
            .iter()
            .enumerate()
            .map(|(i, n)| json!({"id": n, "type": "Default", "data": {"isStart": i == 0, "text": "Hi"}}))
            .collect(),
        json!([]),
    );
    let store = &app.store;
    store
        .create_pathway(&app.org_id, id, id, None, T0)
        .await
        .unwrap();
    let draft = parley_store::PathwayUpdate {
        name: None,
        description: None,
        draft: Some(graph.clone()),
    };
    store
        .update_pathway(&app.org_id, id, &draft, T0)
        .await
        .unwrap()
        .unwrap();
    for n in 1..=versions {
        store
            .create_pathway_version(&app.org_id, id, &format!("{id}-v{n}"), "v", &graph, T0)
            .await
            .unwrap()
            .unwrap();
    }
}

/// Creates the reminder pathway with its draft saved.
pub async fn reminder(app: &TestApp) -> String {
    let id = create(app, &app.key, "Appointment reminder").await;
    let (s, body) = app
        .post(
            &format!("/v1/pathway/{id}"),
            &app.key,
            &json!({"nodes": reminder_nodes(), "edges": reminder_edges()}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    id
}

async fn pathways_are_created_listed_updated_and_deleted(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (s, body) = app
        .post(
            "/v1/pathway/create",
            &app.key,
            &json!({"name": "Reminders", "description": "appointments"}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    let id = body["pathway_id"].as_str().unwrap().to_owned();
    assert_eq!(
        app.get(&format!("/v1/pathway/{id}"), &app.key).await,
        (
            200,
            json!({"name": "Reminders", "description": "appointments", "nodes": [], "edges": []})
        )
    );

    let (s, body) = app
        .post(
            &format!("/v1/pathway/{id}"),
            &app.key,
            &json!({"name": "Reminder v2", "nodes": reminder_nodes(), "edges": reminder_edges()}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["status"], "success");
    assert_eq!(body["message"], "Pathway updated successfully");
    assert_eq!(body["pathway_data"]["name"], "Reminder v2");
    assert_eq!(body["pathway_data"]["description"], "appointments");
    // The JSON comes back exactly as sent, layout and unknown keys included.
    assert_eq!(body["pathway_data"]["nodes"], reminder_nodes());
    assert_eq!(body["pathway_data"]["edges"], reminder_edges());

    // Nodes alone keep the edges; a null description clears it.
    let mut nodes = reminder_nodes();
    nodes[0]["data"]["text"] = json!("Hi {{name}}! Reply C or R.");
    let (s, body) = app
        .post(
            &format!("/v1/pathway/{id}"),
            &app.key,
            &json!({"nodes": nodes, "description": null}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["pathway_data"]["edges"], reminder_edges());
    assert_eq!(body["pathway_data"]["description"], Value::Null);

    let other = create(&app, &app.key, "Second").await;
    let (s, list) = app.get("/v1/pathway", &app.key).await;
    assert_eq!(s, 200);
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["id"], id.as_str());
    assert_eq!(list[0]["nodes"], nodes);
    assert_eq!(list[1]["id"], other.as_str());

    let (s, body) = app
        .call(Method::DELETE, &format!("/v1/pathway/{id}"), &app.key, None)
        .await;
    assert_eq!(
        (s, body),
        (200, json!({"status": "success", "pathway_id": id}))
    );
    assert_error(
        &app.get(&format!("/v1/pathway/{id}"), &app.key).await,
        404,
        "PATHWAY_NOT_FOUND",
    );
    assert_error(
        &app.call(Method::DELETE, &format!("/v1/pathway/{id}"), &app.key, None)
            .await,
        404,
        "PATHWAY_NOT_FOUND",
    );
}

async fn saving_an_invalid_graph_names_every_node_and_edge(b: Backend) {
    let app = TestApp::spawn(b).await;
    let id = create(&app, &app.key, "Broken").await;
    let nodes = json!([
        {"id": "a", "type": "Default", "data": {"isStart": true, "text": "hi"}},
        {"id": "b", "type": "Teleport", "data": {"isStart": true, "text": "x"}},
        {"id": "hook", "type": "Webhook", "data": {"text": "..."}}
    ]);
    let edges = json!([
        {"id": "e1", "source": "a", "target": "ghost"},
        {"id": "e2", "source": "nowhere", "target": "a"}
    ]);
    let got = app
        .post(
            &format!("/v1/pathway/{id}"),
            &app.key,
            &json!({"nodes": nodes, "edges": edges}),
        )
        .await;
    let message = assert_error(&got, 400, "INVALID_PATHWAY");
    for name in ["\"b\"", "\"hook\"", "\"e1\"", "\"e2\"", "\"ghost\""] {
        assert!(message.contains(name), "{name} missing from {message}");
    }
    let issues = got.1["errors"][0]["details"]["issues"].as_array().unwrap();
    let summary: Vec<(String, Value, Value)> = issues
        .iter()
        .map(|i| {
            (
                i["code"].as_str().unwrap().to_owned(),
                i.get("node_id").cloned().unwrap_or(Value::Null),
                i.get("edge_id").cloned().unwrap_or(Value::Null),
            )
        })
        .collect();
    for want in [
        ("MULTIPLE_START_NODES", Value::Null, Value::Null),
        ("UNKNOWN_NODE_TYPE", json!("b"), Value::Null),
        ("WEBHOOK_URL_MISSING", json!("hook"), Value::Null),
        ("EDGE_TARGET_NOT_FOUND", Value::Null, json!("e1")),
        ("EDGE_SOURCE_NOT_FOUND", Value::Null, json!("e2")),
    ] {
        let want = (want.0.to_owned(), want.1, want.2);
        assert!(summary.contains(&want), "{want:?} not in {summary:?}");
    }
    // Nothing was saved.
    let (_, p) = app.get(&format!("/v1/pathway/{id}"), &app.key).await;
    assert_eq!(p["nodes"], json!([]));
    // The same checks guard versions.
    let got = app
        .post(
            &format!("/v1/pathway/{id}/version"),
            &app.key,
            &json!({"name": "v", "nodes": [], "edges": []}),
        )
        .await;
    assert!(assert_error(&got, 400, "INVALID_PATHWAY").contains("NO_START_NODE"));
}

async fn another_orgs_pathway_is_not_found(b: Backend) {
    let app = TestApp::spawn(b).await;
    let id = reminder(&app).await;
    let (_, other_key) = app.org("globex").await;
    let version_body = json!({"name": "v", "nodes": reminder_nodes(), "edges": reminder_edges()});
    let update = json!({"name": "mine now"});
    let publish = json!({"version_id": 1});
    let chat = json!({"pathway_id": id});
    let attempts: Vec<(Method, String, Option<&Value>)> = vec![
        (Method::GET, format!("/v1/pathway/{id}"), None),
        (Method::POST, format!("/v1/pathway/{id}"), Some(&update)),
        (Method::DELETE, format!("/v1/pathway/{id}"), None),
        (Method::GET, format!("/v1/pathway/{id}/versions"), None),
        (Method::GET, format!("/v1/pathway/{id}/version/draft"), None),
        (
            Method::POST,
            format!("/v1/pathway/{id}/version"),
            Some(&version_body),
        ),
        (
            Method::POST,
            format!("/v1/pathway/{id}/version/1"),
            Some(&version_body),
        ),
        (Method::DELETE, format!("/v1/pathway/{id}/version/1"), None),
        (
            Method::POST,
            format!("/v1/pathway/{id}/publish"),
            Some(&publish),
        ),
        (Method::POST, "/v1/pathway/chat/create".into(), Some(&chat)),
    ];
    for (method, path, body) in attempts {
        let got = app.call(method.clone(), &path, &other_key, body).await;
        let message = assert_error(&got, 404, "PATHWAY_NOT_FOUND");
        assert!(!message.contains("org"), "{method} {path}: {message}");
    }
    let (_, list) = app.get("/v1/pathway", &other_key).await;
    assert_eq!(list, json!([]));
    // Still there, unchanged, for its owner.
    let (s, p) = app.get(&format!("/v1/pathway/{id}"), &app.key).await;
    assert_eq!((s, p["name"].clone()), (200, json!("Appointment reminder")));
}

/// A prompt node and label-chosen edges: everything a model-less server cannot run.
pub fn prompt_graph() -> (Value, Value) {
    (
        json!([
            {"id": "greet", "type": "Default", "data": {"name": "Greeting", "isStart": true, "prompt": "Greet {{name}} and ask how you can help."}},
            {"id": "book", "type": "Default", "data": {"name": "Booking", "prompt": "Ask for the date they want.",
                "extractVars": [["party_size", "integer", "How many people are coming"]]}},
            {"id": "bye", "type": "End Call", "data": {"name": "Goodbye", "text": "Bye!"}}
        ]),
        json!([
            {"id": "e-book", "source": "greet", "target": "book", "data": {"label": "The user wants to book a table"}},
            {"id": "e-bye", "source": "greet", "target": "bye", "data": {"label": "The user wants to leave"}}
        ]),
    )
}

async fn openapi_describes_every_pathway_route(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (_, doc) = app.get("/openapi.json", "").await;
    for (path, methods) in [
        ("/v1/pathway/create", &["post"][..]),
        ("/v1/pathway", &["get"][..]),
        ("/v1/pathway/{pathway_id}", &["get", "post", "delete"][..]),
        ("/v1/pathway/{pathway_id}/versions", &["get"][..]),
        ("/v1/pathway/{pathway_id}/version", &["post"][..]),
        (
            "/v1/pathway/{pathway_id}/version/{version_id}",
            &["get", "post", "delete"][..],
        ),
        ("/v1/pathway/{pathway_id}/publish", &["post"][..]),
        ("/v1/pathway/chat/create", &["post"][..]),
        ("/v1/pathway/chat/{id}", &["post"][..]),
    ] {
        for m in methods {
            let op = &doc["paths"][path][m];
            assert!(op["responses"]["200"].is_object(), "{m} {path}: {op}");
            assert!(op["responses"]["401"].is_object(), "{m} {path} lacks 401");
            assert!(op["security"].is_array(), "{m} {path} needs a key");
        }
    }
}
