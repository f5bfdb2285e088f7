//! Every number and conversation endpoint without a key, and with a wrong one: Bland's
//! exact 401 envelope, and nothing read or changed.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{Backend, TestApp, AGENT, USER};

crate::backend_tests!(every_endpoint_refuses_a_missing_or_wrong_key);

async fn every_endpoint_refuses_a_missing_or_wrong_key(b: Backend) {
    let app = TestApp::spawn(b).await;
    let sent = app.send(USER, "hello").await;
    let conv = sent["conversation_id"].as_str().unwrap().to_owned();
    let c = |suffix: &str| format!("/v1/sms/conversations/{conv}{suffix}");
    let pair = json!({"to": USER, "from": AGENT});
    let calls: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, "/v1/sms/numbers".into(), None),
        (
            Method::POST,
            "/v1/sms/number/update".into(),
            Some(json!({"phone_number": AGENT, "objective": "x"})),
        ),
        (
            Method::POST,
            "/v1/sms/webhook/update".into(),
            Some(json!({"phone_number": AGENT, "webhook": "https://x.example"})),
        ),
        (
            Method::POST,
            "/v1/sms/update".into(),
            Some(json!({"phone_number": AGENT, "prompt": "x"})),
        ),
        (
            Method::POST,
            "/v1/sms/toggle".into(),
            Some(json!({"phone_number": AGENT, "on": true})),
        ),
        (
            Method::POST,
            "/v1/sms/create".into(),
            Some(json!({"user_number": USER, "agent_number": AGENT, "message": "x"})),
        ),
        (Method::GET, "/v1/sms/conversations".into(), None),
        (Method::GET, c(""), None),
        (Method::PATCH, c(""), Some(json!({"is_active": false}))),
        (
            Method::DELETE,
            c("/messages"),
            Some(json!({"message_ids": [sent["message_id"]]})),
        ),
        (Method::POST, c("/messages"), Some(json!({"message": "x"}))),
        (Method::DELETE, c(""), None),
        (Method::POST, "/v1/sms/clear".into(), Some(pair.clone())),
        (Method::POST, "/v1/sms/messages/get".into(), Some(pair)),
    ];
    let before = json!([
        app.get("/v1/sms/numbers", &app.key).await,
        app.conversation(&conv).await,
        app.list("").await
    ]);
    let refused =
        json!({"data": null, "errors": [{"error": "AUTH_FAILURE", "message": "Unauthorized"}]});
    for (method, path, body) in calls {
        for key in [None, Some("pk_wrong"), Some("")] {
            let mut req = app.http.request(method.clone(), app.url(&path));
            if let Some(k) = key {
                req = req.header("authorization", k);
            }
            if let Some(b) = &body {
                req = req.json(b);
            }
            let res = req.send().await.unwrap();
            let status = res.status().as_u16();
            let got: Value = res.json().await.unwrap();
            assert_eq!(
                (status, &got),
                (401, &refused),
                "{method} {path} key {key:?}"
            );
        }
    }
    let after = json!([
        app.get("/v1/sms/numbers", &app.key).await,
        app.conversation(&conv).await,
        app.list("").await
    ]);
    assert_eq!(after, before, "nothing changed");
}
