//! Input that the database could not store (NUL characters) or that is not JSON at all gets
//! a 4xx with a stable code on every number and conversation endpoint, on both backends,
//! and writes nothing.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{assert_error, enc, Backend, TestApp, AGENT, USER};

crate::backend_tests!(
    nul_characters_are_refused_everywhere,
    bodies_that_are_not_json_objects_are_refused
);

async fn nul_characters_are_refused_everywhere(b: Backend) {
    let app = TestApp::spawn(b).await;
    let conv = app.send(USER, "hi").await["conversation_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let msgs = format!("/v1/sms/conversations/{conv}/messages");
    let cases: Vec<(Method, String, Value, &str)> = vec![
        (
            Method::POST,
            "/v1/sms/send".into(),
            json!({"user_number": USER, "agent_number": AGENT, "agent_message": "a\u{0}b"}),
            "agent_message",
        ),
        (
            Method::POST,
            "/v1/sms/send".into(),
            json!({"user_number": USER, "agent_number": AGENT, "agent_message": "x", "request_data": {"k": "\u{0}"}}),
            "request_data.k",
        ),
        (
            Method::POST,
            "/v1/sms/create".into(),
            json!({"user_number": USER, "agent_number": AGENT, "message": "x", "request_data": {"l": ["\u{0}"]}}),
            "request_data.l[0]",
        ),
        (
            Method::POST,
            "/v1/sms/create".into(),
            json!({"user_number": USER, "agent_number": AGENT, "message": "x", "current_node_id": "\u{0}"}),
            "current_node_id",
        ),
        (
            Method::POST,
            "/v1/sms/number/update".into(),
            json!({"phone_number": AGENT, "objective": "\u{0}"}),
            "objective",
        ),
        (
            Method::POST,
            "/v1/sms/number/update".into(),
            json!({"phone_number": AGENT, "tools": [{"n": "\u{0}"}]}),
            "tools[0].n",
        ),
        (
            Method::POST,
            "/v1/sms/update".into(),
            json!({"phone_number": AGENT, "ignore_keywords": ["\u{0}"]}),
            "ignore_keywords[0]",
        ),
        (
            Method::POST,
            msgs.clone(),
            json!({"message": "\u{0}"}),
            "message",
        ),
        (
            Method::DELETE,
            msgs.clone(),
            json!({"message_ids": ["1\u{0}"]}),
            "message_ids[0]",
        ),
        (
            Method::POST,
            "/v1/sms/clear".into(),
            json!({"to": USER, "from": "\u{0}"}),
            "from",
        ),
        (
            Method::POST,
            "/v1/sms/messages/get".into(),
            json!({"to": "\u{0}", "from": AGENT}),
            "to",
        ),
    ];
    for (method, path, body, needle) in cases {
        let got = app.call(method.clone(), &path, &app.key, Some(&body)).await;
        let msg = assert_error(&got, 400, "INVALID_PARAMETER");
        assert!(
            msg.contains(needle) && msg.contains("NUL"),
            "{method} {path}: {msg}"
        );
    }
    // In query strings and in filter values (where JSON's \u0000 escape decodes to NUL).
    let got = app.get("/v1/sms/numbers?channel=sms%00", &app.key).await;
    assert!(assert_error(&got, 400, "INVALID_PARAMETER").contains("NUL"));
    for value in [json!("a\u{0}"), json!({"k": "\u{0}"})] {
        let field = if value.is_object() {
            "variables"
        } else {
            "user_number"
        };
        let filters = json!([{"field": field, "operator": "eq", "value": value}]).to_string();
        let got = app
            .get(
                &format!("/v1/sms/conversations?filters={}", enc(&filters)),
                &app.key,
            )
            .await;
        assert!(
            assert_error(&got, 400, "INVALID_PARAMETER").contains("filters[0].value"),
            "{filters}"
        );
    }
    // An id with NUL in the path simply does not exist.
    let got = app.get("/v1/sms/conversations/abc%00def", &app.key).await;
    assert_error(&got, 404, "CONVERSATION_NOT_FOUND");
    let got = app
        .call(
            Method::PATCH,
            "/v1/sms/conversations/%00",
            &app.key,
            Some(&json!({"is_active": false})),
        )
        .await;
    assert_error(&got, 404, "CONVERSATION_NOT_FOUND");
    // Nothing was written by any of it.
    let conv = app.conversation(&conv).await;
    assert_eq!(conv["messages"].as_array().unwrap().len(), 1);
    assert_eq!(app.list("").await["extra"]["pagination"]["totalItems"], 1);
}

async fn bodies_that_are_not_json_objects_are_refused(b: Backend) {
    let app = TestApp::spawn(b).await;
    let conv = app.send(USER, "hi").await["conversation_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let routes = [
        (Method::POST, "/v1/sms/number/update".to_owned()),
        (Method::POST, "/v1/sms/webhook/update".into()),
        (Method::POST, "/v1/sms/update".into()),
        (Method::POST, "/v1/sms/toggle".into()),
        (Method::POST, "/v1/sms/create".into()),
        (Method::PATCH, format!("/v1/sms/conversations/{conv}")),
        (
            Method::DELETE,
            format!("/v1/sms/conversations/{conv}/messages"),
        ),
        (
            Method::POST,
            format!("/v1/sms/conversations/{conv}/messages"),
        ),
        (Method::POST, "/v1/sms/clear".into()),
        (Method::POST, "/v1/sms/messages/get".into()),
        (Method::POST, "/v1/sms/conversations/webhooks/resend".into()),
    ];
    for (method, path) in routes {
        for raw in ["{\"a\":", "[1]", "\"text\"", "12"] {
            let res = app
                .http
                .request(method.clone(), app.url(&path))
                .header("authorization", &app.key)
                .body(raw)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 400, "{method} {path} {raw}");
            let body: Value = res.json().await.unwrap();
            assert_eq!(
                body["errors"][0]["error"], "INVALID_JSON",
                "{method} {path} {raw}"
            );
        }
        // An empty body is an empty object: the missing required field is named.
        let res = app
            .http
            .request(method.clone(), app.url(&path))
            .header("authorization", &app.key)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400, "{method} {path} without a body");
    }
}
