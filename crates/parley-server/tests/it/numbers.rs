//! Numbers: listing, and the per-channel config update with its merge rules. The legacy
//! endpoints are in `numbers_legacy`.

use serde_json::{json, Value};

use crate::helpers::{assert_error, Backend, TestApp, AGENT, USER};

crate::backend_tests!(
    numbers_are_listed_with_default_config_and_counts,
    update_merges_and_answers_the_full_config,
    every_config_field_round_trips,
    configs_are_per_channel,
    bad_updates_are_refused_and_change_nothing,
);

fn defaults() -> Value {
    json!({
        "webhook": null, "request_data": [], "time_out": null, "timeout_action": null,
        "timeout_message": null, "warning_time": null, "warning_message": null,
        "messaging_service_sid": null, "objective": "Chat with the user", "tools": [],
        "temperature": 0.0, "pathway_id": null, "pathway_version": null, "start_node_id": null,
        "restart_after_end_call": true, "timezone": null, "summary_prompt": null,
        "disposition_ids": null, "citation_schema_ids": null, "ignore_keywords": null,
        "help_message": null
    })
}

pub async fn numbers(app: &TestApp, query: &str) -> Vec<Value> {
    let (s, body) = app.get(&format!("/v1/sms/numbers{query}"), &app.key).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["errors"], Value::Null);
    body["data"].as_array().unwrap().clone()
}

async fn update(app: &TestApp, body: Value) -> (u16, Value) {
    app.post("/v1/sms/number/update", &app.key, &body).await
}

async fn numbers_are_listed_with_default_config_and_counts(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.number(&app.org_id, "+15550100001", 10.0).await;
    let list = numbers(&app, "").await;
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["phone_number"], AGENT);
    assert_eq!(list[0]["sms_config"], defaults());
    assert_eq!(list[0]["conversation_count"], 0);
    assert_eq!(
        (list[0]["channel"].as_str(), list[0]["human_mode"].as_bool()),
        (Some("sms"), Some(false))
    );
    assert!(list[0].get("whatsapp_config").is_none());

    app.send(USER, "a").await;
    app.send("+15551230001", "b").await;
    app.send(USER, "c").await;
    app.open_whatsapp_window(USER).await;
    let (s, _) = app
        .post("/v1/sms/send", &app.key, &json!({"user_number": USER, "agent_number": AGENT, "agent_message": "w", "channel": "whatsapp"}))
        .await;
    assert_eq!(s, 200);
    let list = numbers(&app, "").await;
    // Conversations on the number, every channel: two SMS users and one WhatsApp thread.
    assert_eq!(
        (
            list[0]["conversation_count"].as_i64(),
            list[1]["conversation_count"].as_i64()
        ),
        (Some(3), Some(0))
    );

    let wa = numbers(&app, "?channel=whatsapp").await;
    assert_eq!(wa[0]["whatsapp_config"], defaults());
    assert_eq!(
        wa[0]["sms_config"],
        defaults(),
        "sms_config is always present"
    );
    let im = numbers(&app, "?channel=imessage").await;
    assert!(im[0]["imessage_config"].is_object());
    assert!(assert_error(
        &app.get("/v1/sms/numbers?channel=rcs", &app.key).await,
        400,
        "INVALID_PARAMETER"
    )
    .contains("channel"));
    assert_error(
        &app.get("/v1/sms/numbers", "pk_nope").await,
        401,
        "AUTH_FAILURE",
    );
}

async fn update_merges_and_answers_the_full_config(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (s, res) = update(
        &app,
        json!({"phone_number": AGENT, "webhook": "https://example.com/h", "time_out": 600}),
    )
    .await;
    assert_eq!(s, 200, "{res}");
    assert_eq!(res["errors"], Value::Null);
    assert_eq!(
        res["data"]["message"],
        format!("SMS config updated for number {AGENT}")
    );
    let mut expected = defaults();
    expected["webhook"] = json!("https://example.com/h");
    expected["time_out"] = json!(600);
    assert_eq!(res["data"]["sms_config"], expected);

    // Absent fields keep their value.
    let (_, res) = update(
        &app,
        json!({"phone_number": AGENT, "objective": "Book a table", "temperature": 0.7}),
    )
    .await;
    expected["objective"] = json!("Book a table");
    expected["temperature"] = json!(0.7);
    assert_eq!(res["data"]["sms_config"], expected);

    // An explicit null clears; a field with a default goes back to it; "" time_out = never.
    let (_, res) = update(
        &app,
        json!({"phone_number": AGENT, "webhook": null, "objective": null, "time_out": ""}),
    )
    .await;
    expected["webhook"] = Value::Null;
    expected["objective"] = json!("Chat with the user");
    expected["time_out"] = Value::Null;
    assert_eq!(res["data"]["sms_config"], expected);
    assert_eq!(
        numbers(&app, "").await[0]["sms_config"],
        expected,
        "the list shows what was stored"
    );

    // Only phone_number: nothing changes, the full config comes back.
    let (s, res) = update(&app, json!({"phone_number": AGENT})).await;
    assert_eq!((s, &res["data"]["sms_config"]), (200, &expected));
}

async fn every_config_field_round_trips(b: Backend) {
    let app = TestApp::spawn(b).await;
    let sid = format!("MG{}", "0123456789abcdef".repeat(2));
    let body = json!({
        "phone_number": AGENT, "webhook": "https://example.com/sms", "request_data": {"store": "Soho"},
        "time_out": 900, "timeout_action": "send_sms", "timeout_message": "Closing", "warning_time": 600,
        "warning_message": "Still there?", "messaging_service_sid": sid, "objective": "Help",
        "tools": [{"name": "lookup"}], "temperature": 1.5, "pathway_id": "p1", "pathway_version": 4,
        "start_node_id": "n1", "restart_after_end_call": false, "timezone": "America/New_York",
        "summary_prompt": "Summarise", "disposition_ids": ["d1"], "citation_schema_ids": ["c1", "c2"]
    });
    let (s, res) = update(&app, body.clone()).await;
    assert_eq!(s, 200, "{res}");
    let cfg = &res["data"]["sms_config"];
    for (k, v) in body.as_object().unwrap() {
        match k.as_str() {
            "phone_number" => {}
            "pathway_version" => assert_eq!(cfg[k], "4", "numbers are stored as strings"),
            "time_out" | "warning_time" => assert_eq!(cfg[k].as_f64(), v.as_f64(), "{k}"),
            _ => assert_eq!(&cfg[k], v, "{k}"),
        }
    }
    // Fractions of a second round up, as on /v1/sms/send.
    let (_, res) = update(&app, json!({"phone_number": AGENT, "warning_time": 0.2})).await;
    assert_eq!(res["data"]["sms_config"]["warning_time"], 1);
    // request_data may also be an array (Bland's default shape).
    let (s, _) = update(&app, json!({"phone_number": AGENT, "request_data": []})).await;
    assert_eq!(s, 200);
}

async fn configs_are_per_channel(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (s, res) = update(
        &app,
        json!({"phone_number": AGENT, "channel": "whatsapp", "objective": "WA bot"}),
    )
    .await;
    assert_eq!(s, 200, "{res}");
    assert_eq!(res["data"]["whatsapp_config"]["objective"], "WA bot");
    assert_eq!(
        res["data"]["sms_config"]["objective"], "WA bot",
        "sms_config mirrors the channel asked for"
    );
    assert_eq!(
        numbers(&app, "").await[0]["sms_config"]["objective"],
        "Chat with the user"
    );
    assert_eq!(
        numbers(&app, "?channel=whatsapp").await[0]["whatsapp_config"]["objective"],
        "WA bot"
    );
    let (_, res) = update(
        &app,
        json!({"phone_number": AGENT, "channel": "imessage", "temperature": 1}),
    )
    .await;
    assert_eq!(res["data"]["imessage_config"]["temperature"], 1.0);
    assert_eq!(
        numbers(&app, "?channel=whatsapp").await[0]["whatsapp_config"]["temperature"],
        0.0
    );
}

async fn bad_updates_are_refused_and_change_nothing(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (s, _) = update(
        &app,
        json!({"phone_number": AGENT, "time_out": 60, "webhook": "https://ok.example"}),
    )
    .await;
    assert_eq!(s, 200);
    let before = numbers(&app, "").await;
    let with = |k: &str, v: Value| {
        let mut b = json!({"phone_number": AGENT});
        b[k] = v;
        b
    };
    let cases: Vec<(Value, u16, &str, &str)> = vec![
        (
            json!({"webhook": "https://x.example"}),
            400,
            "INVALID_PARAMETER",
            "phone_number",
        ),
        (
            with("phone_number", json!("5550100000")),
            400,
            "INVALID_PARAMETER",
            "phone_number",
        ),
        (
            with("phone_number", json!("+15559999999")),
            404,
            "AGENT_NUMBER_NOT_FOUND",
            "+15559999999",
        ),
        (
            with("channel", json!("rcs")),
            400,
            "INVALID_PARAMETER",
            "channel",
        ),
        (
            with("webhook", json!("ftp://x")),
            400,
            "INVALID_PARAMETER",
            "webhook",
        ),
        (
            with("webhook", json!(5)),
            400,
            "INVALID_PARAMETER",
            "webhook",
        ),
        (
            with("request_data", json!("a=1")),
            400,
            "INVALID_PARAMETER",
            "request_data",
        ),
        (
            with("time_out", json!(-1)),
            400,
            "INVALID_PARAMETER",
            "time_out",
        ),
        (
            with("time_out", json!("60")),
            400,
            "INVALID_PARAMETER",
            "time_out",
        ),
        (
            with("warning_time", json!(true)),
            400,
            "INVALID_PARAMETER",
            "warning_time",
        ),
        (
            with("timeout_action", json!("")),
            400,
            "INVALID_PARAMETER",
            "timeout_action",
        ),
        (
            with("messaging_service_sid", json!("PN123")),
            400,
            "INVALID_PARAMETER",
            "messaging_service_sid",
        ),
        (
            with("objective", json!(["x"])),
            400,
            "INVALID_PARAMETER",
            "objective",
        ),
        (
            with("tools", json!({"name": "x"})),
            400,
            "INVALID_PARAMETER",
            "tools",
        ),
        (
            with("temperature", json!(2.5)),
            400,
            "INVALID_PARAMETER",
            "temperature",
        ),
        (
            with("temperature", json!("hot")),
            400,
            "INVALID_PARAMETER",
            "temperature",
        ),
        (
            with("pathway_version", json!({"v": 1})),
            400,
            "INVALID_PARAMETER",
            "pathway_version",
        ),
        (
            with("restart_after_end_call", json!("yes")),
            400,
            "INVALID_PARAMETER",
            "restart_after_end_call",
        ),
        (
            with("timezone", json!("+02:00")),
            400,
            "INVALID_PARAMETER",
            "timezone",
        ),
        (
            with("disposition_ids", json!("d1")),
            400,
            "INVALID_PARAMETER",
            "disposition_ids",
        ),
        (
            with("citation_schema_ids", json!([""])),
            400,
            "INVALID_PARAMETER",
            "citation_schema_ids",
        ),
        // Against the stored time_out of 60: the merged config is what must be valid.
        (
            with("warning_time", json!(60)),
            400,
            "INVALID_TIMEOUT_CONFIG",
            "warning_time",
        ),
        (
            json!({"phone_number": AGENT, "time_out": 30, "warning_time": 45}),
            400,
            "INVALID_TIMEOUT_CONFIG",
            "warning_time",
        ),
    ];
    for (body, status, code, needle) in cases {
        let got = update(&app, body.clone()).await;
        let msg = assert_error(&got, status, code);
        assert!(
            msg.contains(needle),
            "message {msg:?} should name {needle:?} for {body}"
        );
    }
    // A refused update that also carried valid fields wrote none of them.
    let got = update(
        &app,
        json!({"phone_number": AGENT, "objective": "new", "warning_time": 90}),
    )
    .await;
    assert_error(&got, 400, "INVALID_TIMEOUT_CONFIG");
    assert_eq!(numbers(&app, "").await, before);
    for raw in ["{\"phone_number\":", "[]"] {
        let res = app
            .http
            .post(app.url("/v1/sms/number/update"))
            .header("authorization", &app.key)
            .body(raw)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400);
    }
}
