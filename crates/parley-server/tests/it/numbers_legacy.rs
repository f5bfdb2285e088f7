//! Bland's legacy number endpoints: `/v1/sms/webhook/update`, `/v1/sms/update`,
//! `/v1/sms/toggle`, with their bare `{"status": …}` bodies.

use serde_json::{json, Value};

use crate::{
    helpers::{assert_error, Backend, TestApp, AGENT},
    numbers::numbers,
};

crate::backend_tests!(legacy_endpoints_answer_status_bodies);

async fn legacy_endpoints_answer_status_bodies(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (s, res) = app
        .post(
            "/v1/sms/webhook/update",
            &app.key,
            &json!({"phone_number": AGENT, "webhook": "https://legacy.example/h"}),
        )
        .await;
    assert_eq!((s, res), (200, json!({"status": "success"})));
    assert_eq!(
        numbers(&app, "").await[0]["sms_config"]["webhook"],
        "https://legacy.example/h"
    );
    let (s, _) = app
        .post(
            "/v1/sms/webhook/update",
            &app.key,
            &json!({"phone_number": AGENT, "webhook": null}),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(
        numbers(&app, "").await[0]["sms_config"]["webhook"],
        Value::Null
    );

    let body = json!({"phone_number": AGENT, "prompt": "Be brief", "ignore_keywords": ["STOP", "unsubscribe"], "temperature": 0.3});
    let (s, res) = app.post("/v1/sms/update", &app.key, &body).await;
    assert_eq!((s, res), (200, json!({"status": "Prompt updated"})));
    let cfg = numbers(&app, "").await[0]["sms_config"].clone();
    assert_eq!(
        (cfg["objective"].as_str(), cfg["temperature"].as_f64()),
        (Some("Be brief"), Some(0.3))
    );
    assert_eq!(cfg["ignore_keywords"], json!(["STOP", "unsubscribe"]));
    let (s, _) = app
        .post(
            "/v1/sms/update",
            &app.key,
            &json!({"phone_number": AGENT, "channel": "whatsapp", "prompt": "WA"}),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(
        numbers(&app, "?channel=whatsapp").await[0]["whatsapp_config"]["objective"],
        "WA"
    );
    assert_eq!(
        numbers(&app, "").await[0]["sms_config"]["objective"],
        "Be brief"
    );
    let (_, _) = app
        .post(
            "/v1/sms/update",
            &app.key,
            &json!({"phone_number": AGENT, "ignore_keywords": null}),
        )
        .await;
    assert_eq!(
        numbers(&app, "").await[0]["sms_config"]["ignore_keywords"],
        Value::Null
    );

    let (s, res) = app
        .post(
            "/v1/sms/toggle",
            &app.key,
            &json!({"phone_number": AGENT, "on": true}),
        )
        .await;
    assert_eq!((s, res), (200, json!({"status": "Turned human mode on"})));
    assert_eq!(numbers(&app, "").await[0]["human_mode"], true);
    let (s, res) = app
        .post(
            "/v1/sms/toggle",
            &app.key,
            &json!({"phone_number": AGENT, "on": false}),
        )
        .await;
    assert_eq!((s, res), (200, json!({"status": "Turned human mode off"})));
    assert_eq!(numbers(&app, "").await[0]["human_mode"], false);

    // Errors keep the envelope.
    let cases: Vec<(&str, Value, u16, &str, &str)> = vec![
        (
            "/v1/sms/webhook/update",
            json!({"phone_number": AGENT}),
            400,
            "INVALID_PARAMETER",
            "webhook",
        ),
        (
            "/v1/sms/webhook/update",
            json!({"phone_number": AGENT, "webhook": "nope"}),
            400,
            "INVALID_PARAMETER",
            "webhook",
        ),
        (
            "/v1/sms/webhook/update",
            json!({"phone_number": "+15559999999", "webhook": "https://x.example"}),
            404,
            "AGENT_NUMBER_NOT_FOUND",
            "phone_number",
        ),
        (
            "/v1/sms/update",
            json!({"prompt": "x"}),
            400,
            "INVALID_PARAMETER",
            "phone_number",
        ),
        (
            "/v1/sms/update",
            json!({"phone_number": AGENT, "temperature": 9}),
            400,
            "INVALID_PARAMETER",
            "temperature",
        ),
        (
            "/v1/sms/update",
            json!({"phone_number": AGENT, "ignore_keywords": "STOP"}),
            400,
            "INVALID_PARAMETER",
            "ignore_keywords",
        ),
        (
            "/v1/sms/update",
            json!({"phone_number": AGENT, "channel": "fax"}),
            400,
            "INVALID_PARAMETER",
            "channel",
        ),
        (
            "/v1/sms/update",
            json!({"phone_number": "+15559999999", "prompt": "x"}),
            404,
            "AGENT_NUMBER_NOT_FOUND",
            "phone_number",
        ),
        (
            "/v1/sms/toggle",
            json!({"phone_number": AGENT}),
            400,
            "INVALID_PARAMETER",
            "on",
        ),
        (
            "/v1/sms/toggle",
            json!({"phone_number": AGENT, "on": "yes"}),
            400,
            "INVALID_PARAMETER",
            "on",
        ),
        (
            "/v1/sms/toggle",
            json!({"phone_number": "+15559999999", "on": true}),
            404,
            "AGENT_NUMBER_NOT_FOUND",
            "phone_number",
        ),
    ];
    for (path, body, status, code, needle) in cases {
        let msg = assert_error(&app.post(path, &app.key, &body).await, status, code);
        assert!(msg.contains(needle), "{path} {body}: {msg}");
    }
    assert_error(
        &app.post(
            "/v1/sms/toggle",
            "pk_nope",
            &json!({"phone_number": AGENT, "on": true}),
        )
        .await,
        401,
        "AUTH_FAILURE",
    );
}
