//! Bad input to the pathway endpoints: always a 4xx naming the field, never a 500.

use serde_json::{json, Value};

use crate::{
    helpers::{assert_error, Backend, TestApp},
    pathways::reminder,
};

crate::backend_tests!(bad_input_is_a_4xx_naming_the_field);

async fn bad_input_is_a_4xx_naming_the_field(b: Backend) {
    let app = TestApp::spawn(b).await;
    let id = reminder(&app).await;
    let cases: Vec<(String, Value, &str, &str)> = vec![
        (
            "/v1/pathway/create".into(),
            json!({}),
            "INVALID_PARAMETER",
            "name",
        ),
        (
            "/v1/pathway/create".into(),
            json!({"name": "  "}),
            "INVALID_PARAMETER",
            "name",
        ),
        (
            "/v1/pathway/create".into(),
            json!({"name": 5}),
            "INVALID_PARAMETER",
            "name",
        ),
        (
            format!("/v1/pathway/{id}"),
            json!({"nodes": {"a": 1}}),
            "INVALID_PARAMETER",
            "nodes",
        ),
        (
            format!("/v1/pathway/{id}"),
            json!({"edges": "x"}),
            "INVALID_PARAMETER",
            "edges",
        ),
        (
            format!("/v1/pathway/{id}/version"),
            json!({"name": "v", "edges": []}),
            "INVALID_PARAMETER",
            "nodes",
        ),
        (
            format!("/v1/pathway/{id}/version"),
            json!({"nodes": [], "edges": []}),
            "INVALID_PARAMETER",
            "name",
        ),
        (
            format!("/v1/pathway/{id}/version/latest"),
            json!({"name": "v", "nodes": [], "edges": []}),
            "INVALID_PARAMETER",
            "version_number",
        ),
        (
            format!("/v1/pathway/{id}/publish"),
            json!({}),
            "INVALID_PARAMETER",
            "version_id",
        ),
        (
            format!("/v1/pathway/{id}/publish"),
            json!({"version_id": "soon"}),
            "INVALID_PARAMETER",
            "version_id",
        ),
        (
            format!("/v1/pathway/{id}/publish"),
            json!({"version_id": 1, "environment": "qa"}),
            "INVALID_PARAMETER",
            "environment",
        ),
        (
            "/v1/pathway/chat/create".into(),
            json!({}),
            "INVALID_PARAMETER",
            "pathway_id",
        ),
        (
            "/v1/pathway/chat/create".into(),
            json!({"pathway_id": id, "request_data": [1]}),
            "INVALID_PARAMETER",
            "request_data",
        ),
        (
            "/v1/pathway/chat/create".into(),
            json!({"pathway_id": id, "pathway_version": "someday"}),
            "INVALID_PARAMETER",
            "pathway_version",
        ),
        (
            "/v1/pathway/chat/create".into(),
            json!({"pathway_id": id, "start_node_id": "ghost"}),
            "INVALID_PARAMETER",
            "start_node_id",
        ),
    ];
    for (path, body, code, field) in cases {
        let got = app.post(&path, &app.key, &body).await;
        let message = assert_error(&got, 400, code);
        assert!(message.contains(field), "{path} {body}: {message}");
    }
    let (s, _) = app
        .http
        .post(app.url("/v1/pathway/create"))
        .header("authorization", &app.key)
        .body("{not json")
        .send()
        .await
        .map(|r| (r.status().as_u16(), ()))
        .unwrap();
    assert_eq!(s, 400);
    assert_error(
        &app.post(
            &format!("/v1/pathway/{id}/publish"),
            &app.key,
            &json!({"version_id": 4}),
        )
        .await,
        404,
        "PATHWAY_VERSION_NOT_FOUND",
    );
    assert_error(
        &app.post("/v1/pathway/chat/nope", &app.key, &json!({"message": "hi"}))
            .await,
        404,
        "CHAT_NOT_FOUND",
    );
    assert_error(
        &app.get("/v1/pathway", "wrong-key").await,
        401,
        "AUTH_FAILURE",
    );
    // Any JSON array is read without a 500: shape problems are validation issues.
    let got = app
        .post(
            &format!("/v1/pathway/{id}"),
            &app.key,
            &json!({"nodes": [1, "x", null, {"id": 5}], "edges": [{}, []]}),
        )
        .await;
    assert_error(&got, 400, "INVALID_PATHWAY");
    // Ids with NUL in the path name nothing, on PostgreSQL too.
    for (path, code) in [
        ("/v1/pathway/a%00b".to_owned(), "PATHWAY_NOT_FOUND"),
        ("/v1/pathway/a%00b/versions".to_owned(), "PATHWAY_NOT_FOUND"),
        (
            format!("/v1/pathway/{id}/version/v%001"),
            "PATHWAY_VERSION_NOT_FOUND",
        ),
    ] {
        assert_error(&app.get(&path, &app.key).await, 404, code);
    }
    assert_error(
        &app.post("/v1/pathway/chat/%00", &app.key, &json!({"message": "hi"}))
            .await,
        404,
        "CHAT_NOT_FOUND",
    );
}
