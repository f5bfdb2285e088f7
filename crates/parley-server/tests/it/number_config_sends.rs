//! How a number's channel config meets sends: its timeouts are the lowest layer of the
//! precedence (request > conversation > number), and a send's own settings override it for
//! that conversation only.

use serde_json::json;

use crate::helpers::{assert_error, Backend, TestApp, AGENT, USER};

crate::backend_tests!(
    number_timeouts_are_the_lowest_layer,
    only_the_send_channel_config_applies,
    send_settings_override_the_number_per_conversation,
);

async fn send(app: &TestApp, extra: serde_json::Value) -> (u16, serde_json::Value) {
    let mut body = json!({"user_number": USER, "agent_number": AGENT, "agent_message": "hi"});
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    app.post("/v1/sms/send", &app.key, &body).await
}

async fn number_timeouts_are_the_lowest_layer(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (s, _) = app
        .post(
            "/v1/sms/number/update",
            &app.key,
            &json!({"phone_number": AGENT, "time_out": 60}),
        )
        .await;
    assert_eq!(s, 200);
    // The number's time_out (60) applies to a send that sets only a warning.
    assert_error(
        &send(&app, json!({"warning_time": 90})).await,
        400,
        "INVALID_TIMEOUT_CONFIG",
    );
    assert_eq!(send(&app, json!({"warning_time": 30})).await.0, 200);
    // /v1/sms/create validates against the number too.
    let create = json!({"user_number": "+15551230009", "agent_number": AGENT, "message": "x", "warning_time": 75});
    assert_error(
        &app.post("/v1/sms/create", &app.key, &create).await,
        400,
        "INVALID_TIMEOUT_CONFIG",
    );
    // A conversation's own time_out beats the number's...
    assert_eq!(send(&app, json!({"time_out": 120})).await.0, 200);
    assert_eq!(send(&app, json!({"warning_time": 90})).await.0, 200);
    // ...and the request beats both.
    assert_error(
        &send(&app, json!({"warning_time": 100, "time_out": 100})).await,
        400,
        "INVALID_TIMEOUT_CONFIG",
    );
    assert_eq!(
        send(&app, json!({"warning_time": 150, "time_out": 200}))
            .await
            .0,
        200
    );
    // Raising the number's time_out later does not rescue a send that breaks the
    // conversation's stored setting.
    let (s, _) = app
        .post(
            "/v1/sms/number/update",
            &app.key,
            &json!({"phone_number": AGENT, "time_out": 10000}),
        )
        .await;
    assert_eq!(s, 200);
    assert_error(
        &send(&app, json!({"warning_time": 300})).await,
        400,
        "INVALID_TIMEOUT_CONFIG",
    );
}

async fn only_the_send_channel_config_applies(b: Backend) {
    let app = TestApp::spawn(b).await;
    let body = json!({"phone_number": AGENT, "channel": "whatsapp", "time_out": 60});
    assert_eq!(
        app.post("/v1/sms/number/update", &app.key, &body).await.0,
        200
    );
    assert_eq!(
        send(&app, json!({"warning_time": 90})).await.0,
        200,
        "the SMS config has no time_out"
    );
    app.open_whatsapp_window(USER).await;
    assert_error(
        &send(
            &app,
            json!({"warning_time": 90, "channel": "whatsapp", "new_conversation": true}),
        )
        .await,
        400,
        "INVALID_TIMEOUT_CONFIG",
    );
}

async fn send_settings_override_the_number_per_conversation(b: Backend) {
    let app = TestApp::spawn(b).await;
    let body = json!({"phone_number": AGENT, "webhook": "https://number.example/h", "disposition_ids": ["n1"]});
    assert_eq!(
        app.post("/v1/sms/number/update", &app.key, &body).await.0,
        200
    );
    let (s, res) = send(
        &app,
        json!({"webhook": "https://conv.example/h", "disposition_ids": ["c1"]}),
    )
    .await;
    assert_eq!(s, 200);
    let id = res["data"]["conversation_id"].as_str().unwrap();
    let c = app
        .store
        .conversation(&app.org_id, id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(c.webhook.as_deref(), Some("https://conv.example/h"));
    assert_eq!(c.json(&c.disposition_ids), Some(json!(["c1"])));
    // Another user's conversation and the number itself keep the number's settings.
    let other = app.send("+15551230001", "x").await;
    let c2 = app
        .store
        .conversation(&app.org_id, other["conversation_id"].as_str().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        c2.webhook, None,
        "no override stored: the number's webhook applies"
    );
    let (_, list) = app.get("/v1/sms/numbers", &app.key).await;
    assert_eq!(
        list["data"][0]["sms_config"]["webhook"],
        "https://number.example/h"
    );
    assert_eq!(
        list["data"][0]["sms_config"]["disposition_ids"],
        json!(["n1"])
    );
}
