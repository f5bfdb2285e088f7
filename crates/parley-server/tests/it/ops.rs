use serde_json::Value;

use crate::helpers::{assert_error, Backend, TestApp, USER};

crate::backend_tests!(
    health_readiness_and_metrics,
    openapi_covers_every_route,
    unknown_routes_get_the_envelope
);

async fn health_readiness_and_metrics(b: Backend) {
    let app = TestApp::spawn(b).await;
    assert_eq!(
        app.get("/healthz", "").await,
        (200, serde_json::json!({"status": "ok"}))
    );
    assert_eq!(app.get("/readyz", "").await.0, 200);
    app.send(USER, "count me").await;
    let text = app
        .http
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains(
            "parley_http_requests_total{method=\"POST\",route=\"/v1/sms/send\",status=\"200\"}"
        ),
        "{text}"
    );
    assert!(
        text.contains("parley_messages_total{status=\"queued\"}"),
        "{text}"
    );
    assert!(
        text.contains("parley_queue_depth{state=\"queued\"} 1"),
        "{text}"
    );
    app.drain().await;
    let text = app
        .http
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains("parley_queue_depth{state=\"queued\"} 0"),
        "{text}"
    );
    assert!(
        text.contains("parley_messages_total{status=\"sent\"}"),
        "{text}"
    );
}

async fn openapi_covers_every_route(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (s, doc) = app.get("/openapi.json", "").await;
    assert_eq!(s, 200);
    let paths: Vec<&str> = doc["paths"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    for p in [
        "/v1/sms/send",
        "/v1/sms/conversations/{id}",
        "/v1/sms/numbers",
        "/v1/sms/number/update",
        "/v1/sms/webhook/update",
        "/v1/sms/update",
        "/v1/sms/toggle",
        "/v1/sms/create",
        "/v1/sms/conversations",
        "/v1/sms/conversations/{id}/messages",
        "/v1/sms/clear",
        "/v1/sms/messages/get",
        "/v1/sandbox/messages",
        "/v1/sandbox/inbound",
        "/v1/files/attach",
        "/v1/sms/batch",
        "/v1/sms/batch/{batch_id}",
        "/v1/sms/batch/{batch_id}/errors",
        "/v1/sms/batch/{batch_id}/cancel",
        "/v1/sms/batches",
        "/healthz",
        "/readyz",
        "/metrics",
    ] {
        assert!(paths.contains(&p), "{p} missing from {paths:?}");
    }
    // Routes sharing a path each have their operation.
    for (p, methods) in [
        ("/v1/sms/conversations", &["get", "patch"][..]),
        (
            "/v1/sms/conversations/{id}",
            &["get", "patch", "delete"][..],
        ),
        (
            "/v1/sms/conversations/{id}/messages",
            &["post", "delete"][..],
        ),
    ] {
        for m in methods {
            assert!(doc["paths"][p][m].is_object(), "{m} {p} is not documented");
        }
    }
    // Every documented path answers something other than "no such route".
    for p in paths {
        let path = p.replace("{id}", "x");
        let res = app
            .http
            .request(reqwest::Method::OPTIONS, app.url(&path))
            .send()
            .await
            .unwrap();
        let body: Value = res.json().await.unwrap_or(Value::Null);
        assert_ne!(
            body["errors"][0]["error"], "NOT_FOUND",
            "{p} is documented but not routed"
        );
    }
    assert!(doc["components"]["securitySchemes"]["api_key"].is_object());
}

async fn unknown_routes_get_the_envelope(b: Backend) {
    let app = TestApp::spawn(b).await;
    assert_error(&app.get("/v1/nope", &app.key).await, 404, "NOT_FOUND");
    assert_error(
        &app.get("/v1/sms/send", &app.key).await,
        405,
        "METHOD_NOT_ALLOWED",
    );
    // An oversized body is refused before it is parsed.
    let big = "x".repeat(2 * 1024 * 1024);
    let res = app
        .http
        .post(app.url("/v1/sms/send"))
        .header("authorization", &app.key)
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["errors"][0]["error"], "PAYLOAD_TOO_LARGE");
}
