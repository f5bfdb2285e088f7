//! Pathway versions and publishing: numbering, version selectors, publish to production
//! and staging, deletes, and `MODEL_REQUIRED` on a server without a model.

use reqwest::Method;
use serde_json::{json, Value};

use crate::{
    helpers::{assert_error, Backend, TestApp},
    pathways::{create, prompt_graph, reminder, reminder_edges, reminder_nodes},
};

crate::backend_tests!(
    versions_are_numbered_published_and_selected,
    pathways_that_need_a_model_are_refused_without_one,
);

async fn versions_are_numbered_published_and_selected(b: Backend) {
    let app = TestApp::spawn(b).await;
    let id = reminder(&app).await;
    let with_text = |text: &str| {
        let mut nodes = reminder_nodes();
        nodes[0]["data"]["text"] = json!(text);
        json!({"name": format!("says {text}"), "nodes": nodes, "edges": reminder_edges()})
    };
    let mut version_ids = Vec::new();
    for (i, text) in ["one", "two"].iter().enumerate() {
        let (s, body) = app
            .post(
                &format!("/v1/pathway/{id}/version"),
                &app.key,
                &with_text(text),
            )
            .await;
        assert_eq!(s, 200, "{body}");
        assert_eq!(body["status"], "success");
        assert_eq!(body["message"], "Version created successfully");
        assert_eq!(body["data"]["version_number"], i as i64 + 1);
        assert_eq!(body["data"]["created_at"], "2026-01-01T00:00:00.000Z");
        version_ids.push(body["data"]["id"].as_str().unwrap().to_owned());
    }
    let (s, list) = app
        .get(&format!("/v1/pathway/{id}/versions"), &app.key)
        .await;
    assert_eq!(s, 200);
    assert_eq!(
        list,
        json!([
            {"id": version_ids[0], "version_number": 1, "created_at": "2026-01-01T00:00:00.000Z", "name": "says one", "is_latest": false},
            {"id": version_ids[1], "version_number": 2, "created_at": "2026-01-01T00:00:00.000Z", "name": "says two", "is_latest": true}
        ])
    );

    let text_of = |v: &Value| v["nodes"][0]["data"]["text"].as_str().unwrap().to_owned();
    let get = |sel: String| {
        let app = &app;
        let id = &id;
        async move {
            app.get(&format!("/v1/pathway/{id}/version/{sel}"), &app.key)
                .await
        }
    };
    // Nothing published yet: production serves the draft; staging has nothing.
    let (s, v) = get("production".into()).await;
    assert_eq!((s, v["version_number"].clone()), (200, Value::Null));
    assert!(text_of(&v).starts_with("Hi {{name}}"));
    assert_error(
        &get("staging".into()).await,
        404,
        "PATHWAY_VERSION_NOT_FOUND",
    );

    for (version, env) in [
        (json!(1), json!("production")),
        (json!("2"), json!("staging")),
    ] {
        let (s, body) = app
            .post(
                &format!("/v1/pathway/{id}/publish"),
                &app.key,
                &json!({"version_id": version, "environment": env}),
            )
            .await;
        assert_eq!(
            (s, body),
            (200, json!({"message": "Pathway published successfully"}))
        );
    }
    for (sel, want, number) in [
        ("production", "one", 1),
        ("0", "one", 1),
        ("staging", "two", 2),
        ("latest", "two", 2),
        ("1", "one", 1),
        (version_ids[1].as_str(), "two", 2),
    ] {
        let (s, v) = get(sel.into()).await;
        assert_eq!(s, 200, "{sel}: {v}");
        assert_eq!(
            (text_of(&v), v["version_number"].clone()),
            (want.to_owned(), json!(number)),
            "{sel}"
        );
        assert_eq!(v["is_latest"], json!(number == 2), "{sel}");
    }
    let (_, draft) = get("draft".into()).await;
    assert!(text_of(&draft).starts_with("Hi {{name}}"));
    assert_error(&get("7".into()).await, 404, "PATHWAY_VERSION_NOT_FOUND");

    // Updating a version by number.
    let (s, body) = app
        .post(
            &format!("/v1/pathway/{id}/version/1"),
            &app.key,
            &with_text("uno"),
        )
        .await;
    assert_eq!(
        (s, body),
        (
            200,
            json!({"status": "success", "message": "Version updated successfully"})
        )
    );
    assert_eq!(text_of(&get("production".into()).await.1), "uno");
    assert_error(
        &app.post(
            &format!("/v1/pathway/{id}/version/9"),
            &app.key,
            &with_text("x"),
        )
        .await,
        404,
        "PATHWAY_VERSION_NOT_FOUND",
    );

    // A published version cannot be deleted; an unpublished one can, and its number stays
    // used.
    let delete = |sel: &str| {
        let path = format!("/v1/pathway/{id}/version/{sel}");
        let app = &app;
        async move { app.call(Method::DELETE, &path, &app.key, None).await }
    };
    assert_error(&delete("2").await, 409, "PATHWAY_VERSION_PUBLISHED");
    app.post(
        &format!("/v1/pathway/{id}/publish"),
        &app.key,
        &json!({"version_id": 1, "environment": "staging"}),
    )
    .await;
    assert_eq!(
        delete(&version_ids[1]).await,
        (
            200,
            json!({"status": "success", "message": "Version deleted successfully"})
        )
    );
    assert_error(&delete("2").await, 404, "PATHWAY_VERSION_NOT_FOUND");
    let (_, body) = app
        .post(
            &format!("/v1/pathway/{id}/version"),
            &app.key,
            &with_text("three"),
        )
        .await;
    assert_eq!(body["data"]["version_number"], 3);
}

async fn pathways_that_need_a_model_are_refused_without_one(b: Backend) {
    let app = TestApp::spawn(b).await;
    let id = create(&app, &app.key, "Needs a model").await;
    let (nodes, edges) = prompt_graph();
    let got = app
        .post(
            &format!("/v1/pathway/{id}"),
            &app.key,
            &json!({"nodes": nodes, "edges": edges}),
        )
        .await;
    let message = assert_error(&got, 400, "MODEL_REQUIRED");
    for name in ["\"greet\"", "\"book\"", "\"e-book\"", "\"e-bye\""] {
        assert!(message.contains(name), "{name} missing from {message}");
    }
    let needs = &got.1["errors"][0]["details"]["needs"];
    assert!(needs
        .as_array()
        .unwrap()
        .contains(&json!({"reason": "PROMPT_NODE", "node_id": "greet"})));
    assert!(needs
        .as_array()
        .unwrap()
        .contains(&json!({"reason": "LABEL_EDGE", "node_id": "greet", "edge_id": "e-book"})));
    let got = app
        .post(
            &format!("/v1/pathway/{id}/version"),
            &app.key,
            &json!({"name": "v1", "nodes": nodes, "edges": edges}),
        )
        .await;
    assert_error(&got, 400, "MODEL_REQUIRED");

    // Stored while a model was configured (written straight to the store here): publishing
    // and chatting are refused with the node named.
    let graph = parley_store::graph_of(nodes, edges);
    app.store
        .create_pathway_version(&app.org_id, &id, "v-1", "v1", &graph, 0)
        .await
        .unwrap()
        .unwrap();
    let got = app
        .post(
            &format!("/v1/pathway/{id}/publish"),
            &app.key,
            &json!({"version_id": 1}),
        )
        .await;
    assert!(assert_error(&got, 400, "MODEL_REQUIRED").contains("\"greet\""));
    let (s, chat) = app
        .post(
            "/v1/pathway/chat/create",
            &app.key,
            &json!({"pathway_id": id, "pathway_version": 1}),
        )
        .await;
    assert_eq!(s, 200, "{chat}");
    let chat_id = chat["data"]["chat_id"].as_str().unwrap();
    let got = app
        .post(
            &format!("/v1/pathway/chat/{chat_id}"),
            &app.key,
            &json!({"message": "hi"}),
        )
        .await;
    assert!(assert_error(&got, 400, "MODEL_REQUIRED").contains("\"greet\""));
}
