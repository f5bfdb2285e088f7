//! `/v1/personas`: create, list, get, update (the draft), versions, promote, attach /
//! detach, per-number settings, delete with and without force, bad input, other orgs,
//! `persona_id` on sends and number updates, and the OpenAPI description of every route.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{assert_error, enc, Backend, TestApp, AGENT, USER};

crate::backend_tests!(
    persona_create_get_list_and_update_the_draft,
    persona_versions_and_promote,
    persona_attach_detach_and_settings,
    persona_delete_in_use_needs_force,
    persona_bad_input_names_the_field,
    persona_of_another_org_is_not_found,
    persona_ids_on_send_and_number_update_are_checked,
    persona_routes_are_described_in_openapi,
);

const OTHER: &str = "+15550100001";
const NO_PERSONA: &str = "00000000-0000-4000-8000-000000000000";

async fn create(app: &TestApp, body: Value) -> Value {
    let (s, res) = app.post("/v1/personas", &app.key, &body).await;
    assert_eq!(s, 200, "{res}");
    assert_eq!(res["errors"], Value::Null);
    res["data"].clone()
}

async fn call(app: &TestApp, m: Method, path: &str, body: Option<Value>) -> (u16, Value) {
    app.call(m, path, &app.key, body.as_ref()).await
}

async fn number_update(app: &TestApp, body: Value) -> (u16, Value) {
    app.post("/v1/sms/number/update", &app.key, &body).await
}

fn data(got: (u16, Value)) -> Value {
    assert_eq!(got.0, 200, "{}", got.1);
    got.1["data"].clone()
}

async fn persona_create_get_list_and_update_the_draft(b: Backend) {
    let app = TestApp::spawn(b).await;
    let p = create(
        &app,
        json!({
            "name": "Support", "role": "Support", "tags": ["a"],
            "personality_prompt": "Be helpful",
            "call_config": {"voice": "june", "max_duration": 30},
            "pathway_conditions": [{"name": "", "prompt": "", "pathway_id": "", "start_node_id": "", "pathway_version": ""}],
            "memory_enabled": true,
            "id": "ignored", "created_at": "ignored"
        }),
    )
    .await;
    let id = p["id"].as_str().unwrap().to_owned();
    assert_ne!(id, "ignored");
    assert_eq!(p["user_id"], app.org_id.as_str());
    assert_eq!(
        (p["deleted_at"].clone(), p["inbound_numbers"].clone()),
        (Value::Null, json!([]))
    );
    let (prod, draft) = (
        &p["current_production_version"],
        &p["current_draft_version"],
    );
    assert_eq!(
        (
            prod["version_number"].clone(),
            draft["version_number"].clone()
        ),
        (json!(1), json!(2))
    );
    assert_eq!(
        (prod["version_type"].clone(), draft["version_type"].clone()),
        (json!("production"), json!("draft"))
    );
    assert_eq!(p["current_production_version_id"], prod["id"]);
    assert_eq!(draft["promoted_from_version_id"], prod["id"]);
    assert_eq!(prod["promoted_at"], "2026-01-01T00:00:00.000Z");
    // Documented defaults, and the unknown field kept as sent.
    assert_eq!(prod["kb_ids"], json!([]));
    assert_eq!(prod["default_tools"], json!([]));
    assert_eq!(prod["orchestration_prompt"], Value::Null);
    assert_eq!(prod["call_config"]["voice"], "june");
    assert_eq!(prod["pathway_conditions"][0]["pathway_id"], "");
    assert_eq!(prod["memory_enabled"], json!(true));

    assert_eq!(
        data(app.get(&format!("/v1/personas/{id}"), &app.key).await),
        p
    );
    // Upper-case UUIDs name the same persona.
    let upper = id.to_uppercase();
    assert_eq!(
        data(app.get(&format!("/v1/personas/{upper}"), &app.key).await)["id"],
        id.as_str()
    );

    // PATCH: name at once, versioned fields on the draft only; null clears.
    app.clock.advance_ms(1_000);
    let u = data(
        call(
            &app,
            Method::PATCH,
            &format!("/v1/personas/{id}"),
            Some(json!({"name": "Sales", "role": null, "personality_prompt": "Sell", "call_config": null, "skills": ["x"]})),
        )
        .await,
    );
    assert_eq!(
        (u["name"].clone(), u["role"].clone()),
        (json!("Sales"), Value::Null)
    );
    assert_eq!(u["updated_at"], "2026-01-01T00:00:01.000Z");
    assert_eq!(
        u["current_production_version"]["personality_prompt"],
        "Be helpful"
    );
    let d = &u["current_draft_version"];
    assert_eq!(
        (d["personality_prompt"].clone(), d["call_config"].clone()),
        (json!("Sell"), Value::Null)
    );
    assert_eq!(
        (d["skills"].clone(), d["memory_enabled"].clone()),
        (json!(["x"]), json!(true))
    );
    assert_eq!(u["tags"], json!(["a"]), "absent keeps");

    // List: oldest first, paged.
    create(&app, json!({"name": "Second"})).await;
    let all = data(app.get("/v1/personas", &app.key).await);
    assert_eq!(all.as_array().unwrap().len(), 2);
    assert_eq!(
        (all[0]["name"].clone(), all[1]["name"].clone()),
        (json!("Sales"), json!("Second"))
    );
    let page2 = data(app.get("/v1/personas?page=2&limit=1", &app.key).await);
    assert_eq!(page2.as_array().unwrap().len(), 1);
    assert_eq!(page2[0]["name"], "Second");
    assert_eq!(
        data(app.get("/v1/personas?page=3&limit=1", &app.key).await),
        json!([])
    );
}

async fn persona_versions_and_promote(b: Backend) {
    let app = TestApp::spawn(b).await;
    let p = create(&app, json!({"name": "P", "personality_prompt": "v1"})).await;
    let id = p["id"].as_str().unwrap();
    let v1 = p["current_production_version"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let draft = p["current_draft_version"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    call(
        &app,
        Method::PATCH,
        &format!("/v1/personas/{id}"),
        Some(json!({"personality_prompt": "v2"})),
    )
    .await;
    app.clock.advance_ms(5);
    let promoted = data(
        app.post(
            &format!("/v1/personas/{id}/versions/promote"),
            &app.key,
            &json!({}),
        )
        .await,
    );
    let prod = &promoted["current_production_version"];
    assert_eq!(
        (
            prod["version_number"].clone(),
            prod["personality_prompt"].clone()
        ),
        (json!(3), json!("v2"))
    );
    assert_eq!(prod["promoted_from_version_id"], draft.as_str());
    assert_eq!(prod["promoted_at"], "2026-01-01T00:00:00.005Z");
    assert_eq!(promoted["current_draft_version_id"], draft.as_str());

    let versions = data(
        app.get(&format!("/v1/personas/{id}/versions"), &app.key)
            .await,
    );
    let summary: Vec<(Value, Value)> = versions
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["version_number"].clone(), v["version_type"].clone()))
        .collect();
    assert_eq!(
        summary,
        [
            (json!(3), json!("production")),
            (json!(2), json!("draft")),
            (json!(1), json!("archived"))
        ]
    );
    let old = data(
        app.get(&format!("/v1/personas/{id}/versions/{v1}"), &app.key)
            .await,
    );
    assert_eq!(
        (
            old["version_type"].clone(),
            old["personality_prompt"].clone()
        ),
        (json!("archived"), json!("v1"))
    );
    assert_error(
        &app.get(
            &format!("/v1/personas/{id}/versions/{NO_PERSONA}"),
            &app.key,
        )
        .await,
        404,
        "VERSION_NOT_FOUND",
    );
    assert_error(
        &app.get(&format!("/v1/personas/{id}/versions/nope"), &app.key)
            .await,
        404,
        "VERSION_NOT_FOUND",
    );
    assert_error(
        &app.get(
            &format!("/v1/personas/{NO_PERSONA}/versions/{v1}"),
            &app.key,
        )
        .await,
        404,
        "PERSONA_NOT_FOUND",
    );
    assert_error(
        &app.post(
            &format!("/v1/personas/{NO_PERSONA}/versions/promote"),
            &app.key,
            &json!({}),
        )
        .await,
        404,
        "PERSONA_NOT_FOUND",
    );
}

async fn persona_attach_detach_and_settings(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.number(&app.org_id, OTHER, 10.0).await;
    let id = create(&app, json!({"name": "P"})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let attach = format!("/v1/personas/{id}/inbound/attach");
    let got = data(
        app.post(
            &attach,
            &app.key,
            &json!({"inbound_numbers": [OTHER, AGENT, AGENT]}),
        )
        .await,
    );
    let numbers: Vec<&str> = got["inbound_numbers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["phone_number"].as_str().unwrap())
        .collect();
    assert_eq!(numbers, [AGENT, OTHER]);
    assert_eq!(got["inbound_numbers"][0]["persona_id"], id.as_str());
    assert_eq!(got["inbound_numbers"][0]["persona_settings"], Value::Null);

    // One number that is not the org's refuses the whole call.
    let refused = app
        .post(
            &attach,
            &app.key,
            &json!({"inbound_numbers": [AGENT, "+15550999999"]}),
        )
        .await;
    assert_error(&refused, 400, "INVALID_INBOUND_NUMBERS");
    assert_eq!(
        refused.1["errors"][0]["details"]["invalid_numbers"],
        json!(["+15550999999"])
    );

    // Settings: set, read back, clear.
    let settings = format!("/v1/personas/{id}/inbound/{}/settings", enc(AGENT));
    let body = json!({"persona_settings": {"pathway_id": "p1", "pathway_version": 2, "start_node_id": "n1"}});
    let s = data(call(&app, Method::PATCH, &settings, Some(body.clone())).await);
    assert_eq!(
        (s["phone_number"].clone(), s["persona_id"].clone()),
        (json!(AGENT), json!(id))
    );
    assert_eq!(s["persona_settings"], body["persona_settings"]);
    let p = data(app.get(&format!("/v1/personas/{id}"), &app.key).await);
    assert_eq!(
        p["inbound_numbers"][0]["persona_settings"]["pathway_version"],
        2
    );
    let raw_plus = format!("/v1/personas/{id}/inbound/{AGENT}/settings");
    let cleared = data(
        call(
            &app,
            Method::PATCH,
            &raw_plus,
            Some(json!({"persona_settings": null})),
        )
        .await,
    );
    assert_eq!(cleared["persona_settings"], Value::Null);
    assert_error(
        &call(&app, Method::PATCH, &settings, Some(json!({}))).await,
        400,
        "INVALID_PARAMETER",
    );
    assert_error(
        &call(
            &app,
            Method::PATCH,
            &settings,
            Some(json!({"persona_settings": {"pathway_version": [1]}})),
        )
        .await,
        400,
        "INVALID_PARAMETER",
    );
    let not_attached = format!("/v1/personas/{id}/inbound/{}/settings", enc("+15550999999"));
    assert_error(
        &call(&app, Method::PATCH, &not_attached, Some(body.clone())).await,
        404,
        "INBOUND_NOT_FOUND",
    );
    let garbage = format!("/v1/personas/{id}/inbound/nope/settings");
    assert_error(
        &call(&app, Method::PATCH, &garbage, Some(body.clone())).await,
        404,
        "INBOUND_NOT_FOUND",
    );

    // Detach: only this persona's numbers; settings of a detached number are gone.
    call(&app, Method::PATCH, &settings, Some(body.clone())).await;
    let left = data(
        app.post(
            &format!("/v1/personas/{id}/inbound/detach"),
            &app.key,
            &json!({"inbound_numbers": [AGENT]}),
        )
        .await,
    );
    assert_eq!(left["inbound_numbers"].as_array().unwrap().len(), 1);
    assert_eq!(left["inbound_numbers"][0]["phone_number"], OTHER);
    assert_error(
        &call(&app, Method::PATCH, &settings, Some(body)).await,
        404,
        "INBOUND_NOT_FOUND",
    );
    data(
        app.post(&attach, &app.key, &json!({"inbound_numbers": [AGENT]}))
            .await,
    );
    let p = data(app.get(&format!("/v1/personas/{id}"), &app.key).await);
    assert_eq!(
        p["inbound_numbers"][0]["persona_settings"],
        Value::Null,
        "re-attached fresh"
    );
    assert_error(
        &app.post(
            &format!("/v1/personas/{NO_PERSONA}/inbound/detach"),
            &app.key,
            &json!({"inbound_numbers": [AGENT]}),
        )
        .await,
        404,
        "PERSONA_NOT_FOUND",
    );
}

async fn persona_delete_in_use_needs_force(b: Backend) {
    let app = TestApp::spawn(b).await;
    let id = create(&app, json!({"name": "P"})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    data(
        app.post(
            &format!("/v1/personas/{id}/inbound/attach"),
            &app.key,
            &json!({"inbound_numbers": [AGENT]}),
        )
        .await,
    );
    let path = format!("/v1/personas/{id}");
    for q in ["", "?force=false"] {
        let refused = call(&app, Method::DELETE, &format!("{path}{q}"), None).await;
        assert_error(&refused, 409, "PERSONA_IN_USE");
        let details = &refused.1["errors"][0]["details"];
        assert_eq!(details["phone_numbers_using"], json!([AGENT]));
        assert_eq!(details["persona_id"], id.as_str());
    }
    assert_eq!(
        data(app.get(&path, &app.key).await)["id"],
        id.as_str(),
        "still there"
    );
    assert_error(
        &call(&app, Method::DELETE, &format!("{path}?force=yes"), None).await,
        400,
        "INVALID_PARAMETER",
    );
    let done = data(call(&app, Method::DELETE, &format!("{path}?force=true"), None).await);
    assert_eq!(
        done,
        json!({"success": true, "message": "Persona deleted successfully"})
    );
    assert_error(&app.get(&path, &app.key).await, 404, "PERSONA_NOT_FOUND");
    assert_error(
        &call(&app, Method::DELETE, &path, None).await,
        404,
        "PERSONA_NOT_FOUND",
    );
    // The number is free again: a new persona can take it, and an unused one deletes plainly.
    let other = create(&app, json!({"name": "Q"})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    data(
        app.post(
            &format!("/v1/personas/{other}/inbound/attach"),
            &app.key,
            &json!({"inbound_numbers": [AGENT]}),
        )
        .await,
    );
    data(
        app.post(
            &format!("/v1/personas/{other}/inbound/detach"),
            &app.key,
            &json!({"inbound_numbers": [AGENT]}),
        )
        .await,
    );
    data(call(&app, Method::DELETE, &format!("/v1/personas/{other}"), None).await);
}

async fn persona_bad_input_names_the_field(b: Backend) {
    let app = TestApp::spawn(b).await;
    let cases = [
        (json!({}), "name"),
        (json!({"name": ""}), "name"),
        (json!({"name": null}), "name"),
        (json!({"name": 5}), "name"),
        (json!({"name": "x".repeat(256)}), "name"),
        (json!({"name": "P", "tags": "a"}), "tags"),
        (json!({"name": "P", "tags": [1]}), "tags"),
        (json!({"name": "P", "call_config": []}), "call_config"),
        (
            json!({"name": "P", "pathway_conditions": {}}),
            "pathway_conditions",
        ),
        (
            json!({"name": "P", "pathway_conditions": [{"pathway_id": 7}]}),
            "pathway_id",
        ),
        (json!({"name": "P", "kb_ids": [{}]}), "kb_ids"),
        (json!({"name": "P", "default_tools": "x"}), "default_tools"),
        (json!({"name": "P", "image_url": "ftp://x"}), "image_url"),
        (
            json!({"name": "P", "personality_prompt": 3}),
            "personality_prompt",
        ),
    ];
    for (body, field) in cases {
        let got = app.post("/v1/personas", &app.key, &body).await;
        let msg = assert_error(&got, 400, "INVALID_PARAMETER");
        assert!(msg.contains(field), "{body}: {msg}");
    }
    assert_error(
        &app.post("/v1/personas", &app.key, &json!([1])).await,
        400,
        "INVALID_JSON",
    );
    assert_error(
        &app.post("/v1/personas", &app.key, &json!({"name": "a\u{0}b"}))
            .await,
        400,
        "INVALID_PARAMETER",
    );
    for q in ["limit=0", "limit=101", "page=0", "page=x", "limit=-1"] {
        let msg = assert_error(
            &app.get(&format!("/v1/personas?{q}"), &app.key).await,
            400,
            "INVALID_PARAMETER",
        );
        assert!(msg.contains(q.split('=').next().unwrap()), "{q}: {msg}");
    }
    assert_eq!(
        data(app.get("/v1/personas?limit=100", &app.key).await),
        json!([])
    );
    let id = create(&app, json!({"name": "P"})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/v1/personas/{id}");
    let patch = |body: Value| call(&app, Method::PATCH, &path, Some(body));
    assert_error(&patch(json!({"name": ""})).await, 400, "INVALID_PARAMETER");
    assert_error(
        &patch(json!({"name": null})).await,
        400,
        "INVALID_PARAMETER",
    );
    assert_error(
        &patch(json!({"kb_ids": "x"})).await,
        400,
        "INVALID_PARAMETER",
    );
    let attach = format!("/v1/personas/{id}/inbound/attach");
    for (body, field) in [
        (json!({}), "inbound_numbers"),
        (json!({"inbound_numbers": []}), "inbound_numbers"),
        (json!({"inbound_numbers": "x"}), "inbound_numbers"),
        (json!({"inbound_numbers": ["555"]}), "inbound_numbers[0]"),
    ] {
        let msg = assert_error(
            &app.post(&attach, &app.key, &body).await,
            400,
            "INVALID_PARAMETER",
        );
        assert!(msg.contains(field), "{body}: {msg}");
    }
    // Ids that are not UUIDs name no persona (never a 500).
    for bad in ["nope", "%00", "x%27%20OR%201%3D1"] {
        assert_error(
            &app.get(&format!("/v1/personas/{bad}"), &app.key).await,
            404,
            "PERSONA_NOT_FOUND",
        );
    }
}

async fn persona_of_another_org_is_not_found(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (other_org, other_key) = app.org("globex").await;
    app.number(&other_org, OTHER, 10.0).await;
    let a = create(&app, json!({"name": "A's"})).await;
    let id = a["id"].as_str().unwrap().to_owned();
    let v1 = a["current_production_version_id"]
        .as_str()
        .unwrap()
        .to_owned();
    data(
        app.post(
            &format!("/v1/personas/{id}/inbound/attach"),
            &app.key,
            &json!({"inbound_numbers": [AGENT]}),
        )
        .await,
    );
    let before = data(app.get(&format!("/v1/personas/{id}"), &app.key).await);
    let calls = |pid: &str| -> Vec<(Method, String, Option<Value>)> {
        vec![
            (Method::GET, format!("/v1/personas/{pid}"), None),
            (
                Method::PATCH,
                format!("/v1/personas/{pid}"),
                Some(json!({"name": "stolen"})),
            ),
            (
                Method::DELETE,
                format!("/v1/personas/{pid}?force=true"),
                None,
            ),
            (Method::GET, format!("/v1/personas/{pid}/versions"), None),
            (
                Method::GET,
                format!("/v1/personas/{pid}/versions/{v1}"),
                None,
            ),
            (
                Method::POST,
                format!("/v1/personas/{pid}/versions/promote"),
                Some(json!({})),
            ),
            (
                Method::POST,
                format!("/v1/personas/{pid}/inbound/attach"),
                Some(json!({"inbound_numbers": [OTHER]})),
            ),
            (
                Method::POST,
                format!("/v1/personas/{pid}/inbound/detach"),
                Some(json!({"inbound_numbers": [AGENT]})),
            ),
            (
                Method::PATCH,
                format!("/v1/personas/{pid}/inbound/{}/settings", enc(AGENT)),
                Some(json!({"persona_settings": null})),
            ),
        ]
    };
    for ((m, path, body), (_, none_path, _)) in calls(&id).into_iter().zip(calls(NO_PERSONA)) {
        let on_a = app.call(m.clone(), &path, &other_key, body.as_ref()).await;
        let on_nothing = app
            .call(m.clone(), &none_path, &other_key, body.as_ref())
            .await;
        let m1 = assert_error(&on_a, 404, "PERSONA_NOT_FOUND");
        let m2 = assert_error(&on_nothing, 404, "PERSONA_NOT_FOUND");
        assert_eq!(m1, m2, "{m} {path}");
        assert_eq!(
            on_a.1["errors"][0]["details"]
                .to_string()
                .replace(&id, "ID"),
            on_nothing.1["errors"][0]["details"]
                .to_string()
                .replace(NO_PERSONA, "ID"),
        );
    }
    assert_eq!(data(app.get("/v1/personas", &other_key).await), json!([]));
    // B cannot attach A's number to B's own persona, nor send with A's persona.
    let (_, mine) = app
        .post("/v1/personas", &other_key, &json!({"name": "B's"}))
        .await;
    let mine = mine["data"]["id"].as_str().unwrap().to_owned();
    assert_error(
        &app.post(
            &format!("/v1/personas/{mine}/inbound/attach"),
            &other_key,
            &json!({"inbound_numbers": [AGENT]}),
        )
        .await,
        400,
        "INVALID_INBOUND_NUMBERS",
    );
    let send =
        json!({"user_number": USER, "agent_number": OTHER, "agent_message": "x", "persona_id": id});
    assert_error(
        &app.post("/v1/sms/send", &other_key, &send).await,
        404,
        "PERSONA_NOT_FOUND",
    );
    let upd = json!({"phone_number": OTHER, "persona_id": id});
    assert_error(
        &app.post("/v1/sms/number/update", &other_key, &upd).await,
        404,
        "PERSONA_NOT_FOUND",
    );
    // Nothing of A's changed.
    assert_eq!(
        data(app.get(&format!("/v1/personas/{id}"), &app.key).await),
        before
    );
}

async fn persona_ids_on_send_and_number_update_are_checked(b: Backend) {
    let app = TestApp::spawn(b).await;
    let id = create(&app, json!({"name": "P"})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let send = |persona: Value| json!({"user_number": USER, "agent_number": AGENT, "agent_message": "hi", "persona_id": persona});
    for bad in [json!(NO_PERSONA), json!("nope"), json!("")] {
        assert_error(
            &app.post("/v1/sms/send", &app.key, &send(bad)).await,
            404,
            "PERSONA_NOT_FOUND",
        );
    }
    assert_error(
        &app.post("/v1/sms/send", &app.key, &send(json!(5))).await,
        400,
        "INVALID_PARAMETER",
    );
    let ok = app
        .post("/v1/sms/send", &app.key, &send(json!(id.to_uppercase())))
        .await;
    let conv = data(ok)["conversation_id"].as_str().unwrap().to_owned();
    let c = app
        .store
        .conversation(&app.org_id, &conv)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        c.persona_id.as_deref(),
        Some(id.as_str()),
        "stored in canonical form"
    );
    // An unknown agent number is still reported first.
    let wrong = json!({"user_number": USER, "agent_number": "+15550999999", "agent_message": "x", "persona_id": NO_PERSONA});
    assert_error(
        &app.post("/v1/sms/send", &app.key, &wrong).await,
        404,
        "AGENT_NUMBER_NOT_FOUND",
    );

    // Number update: attach (draft), detach, refuse unknown personas and versions.
    let update = |body: Value| number_update(&app, body);
    assert_error(
        &update(json!({"phone_number": AGENT, "persona_id": NO_PERSONA})).await,
        404,
        "PERSONA_NOT_FOUND",
    );
    let msg = assert_error(
        &update(json!({"phone_number": AGENT, "persona_id": id, "persona_version": "staging"}))
            .await,
        400,
        "INVALID_PARAMETER",
    );
    assert!(msg.contains("persona_version"), "{msg}");
    assert_error(
        &update(json!({"phone_number": AGENT, "persona_version": "draft"})).await,
        400,
        "INVALID_PARAMETER",
    );
    assert_eq!(
        data(app.get(&format!("/v1/personas/{id}"), &app.key).await)["inbound_numbers"],
        json!([])
    );
    assert_eq!(
        update(json!({"phone_number": AGENT, "persona_id": id, "persona_version": "draft"}))
            .await
            .0,
        200
    );
    let p = data(app.get(&format!("/v1/personas/{id}"), &app.key).await);
    assert_eq!(p["inbound_numbers"][0]["phone_number"], AGENT);
    assert_eq!(p["inbound_numbers"][0]["persona_version"], "draft");
    assert_error(
        &call(&app, Method::DELETE, &format!("/v1/personas/{id}"), None).await,
        409,
        "PERSONA_IN_USE",
    );
    assert_eq!(
        update(json!({"phone_number": AGENT, "persona_id": null}))
            .await
            .0,
        200
    );
    assert_eq!(
        data(app.get(&format!("/v1/personas/{id}"), &app.key).await)["inbound_numbers"],
        json!([])
    );
    data(call(&app, Method::DELETE, &format!("/v1/personas/{id}"), None).await);

    // A batch's global.persona_id is checked the same way, before anything is queued.
    let file = app.upload(b"phone_number\n+15551230001\n").await;
    let batch = |persona: &str| json!({"file_id": file, "global": {"agent_number": AGENT, "agent_message": "hi", "persona_id": persona}});
    assert_error(
        &app.post("/v1/sms/batch", &app.key, &batch(NO_PERSONA))
            .await,
        404,
        "PERSONA_NOT_FOUND",
    );
    let live = create(&app, json!({"name": "B"})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        app.post("/v1/sms/batch", &app.key, &batch(&live)).await.0,
        200
    );
}

async fn persona_routes_are_described_in_openapi(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (s, doc) = app.get("/openapi.json", "").await;
    assert_eq!(s, 200);
    let ops: [(&str, &str, &[&str]); 11] = [
        ("/v1/personas", "get", &["200", "400", "401"]),
        ("/v1/personas", "post", &["200", "400", "401"]),
        ("/v1/personas/{persona_id}", "get", &["200", "401", "404"]),
        (
            "/v1/personas/{persona_id}",
            "patch",
            &["200", "400", "401", "404"],
        ),
        (
            "/v1/personas/{persona_id}",
            "delete",
            &["200", "400", "401", "404", "409"],
        ),
        (
            "/v1/personas/{persona_id}/versions",
            "get",
            &["200", "401", "404"],
        ),
        (
            "/v1/personas/{persona_id}/versions/{version_id}",
            "get",
            &["200", "401", "404"],
        ),
        (
            "/v1/personas/{persona_id}/versions/promote",
            "post",
            &["200", "401", "404"],
        ),
        (
            "/v1/personas/{persona_id}/inbound/attach",
            "post",
            &["200", "400", "401", "404"],
        ),
        (
            "/v1/personas/{persona_id}/inbound/detach",
            "post",
            &["200", "400", "401", "404"],
        ),
        (
            "/v1/personas/{persona_id}/inbound/{phone_number}/settings",
            "patch",
            &["200", "400", "401", "404"],
        ),
    ];
    for (path, method, statuses) in ops {
        let op = &doc["paths"][path][method];
        let responses = op["responses"]
            .as_object()
            .unwrap_or_else(|| panic!("{method} {path} is not documented"));
        for s in statuses {
            assert!(responses.contains_key(*s), "{method} {path} lacks {s}");
        }
        assert!(
            op["security"].is_array(),
            "{method} {path} does not say it needs a key"
        );
        assert_eq!(op["tags"][0], "personas");
        // Documented means routed: no key gets 401, not "no such route".
        let concrete = path
            .replace("{persona_id}", NO_PERSONA)
            .replace("{version_id}", NO_PERSONA)
            .replace("{phone_number}", "%2B15550100000");
        let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let got = app.call(m, &concrete, "", Some(&json!({}))).await;
        assert_error(&got, 401, "AUTH_FAILURE");
    }
    let send = &doc["paths"]["/v1/sms/send"]["post"]["responses"]["404"]["description"];
    assert!(
        send.as_str().unwrap().contains("PERSONA_NOT_FOUND"),
        "{send}"
    );
}
