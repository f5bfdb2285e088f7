//! What schemathesis (scripts/oracles/schemathesis.sh, ORACLES.md item 5) found in the
//! server and in `/openapi.json`, each kept from coming back.

use serde_json::{json, Value};

use crate::helpers::{assert_error, Backend, TestApp};

crate::backend_tests!(
    list_pages_past_the_last_name_the_range,
    whole_numbers_may_be_written_as_floats,
    a_body_of_whitespace_is_not_json,
    the_document_tells_the_truth_about_these_routes
);

/// `page=9223372036854775806` was refused with "page must be 1 or more".
async fn list_pages_past_the_last_name_the_range(b: Backend) {
    let app = TestApp::spawn(b).await;
    for list in ["/v1/personas", "/v1/dispositions"] {
        for page in ["1000001", "9223372036854775806", "0"] {
            let got = app.get(&format!("{list}?page={page}"), &app.key).await;
            let msg = assert_error(&got, 400, "INVALID_PARAMETER");
            assert_eq!(msg, "page must be between 1 and 1000000", "{list} {page}");
        }
        let (s, body) = app.get(&format!("{list}?page=1000000"), &app.key).await;
        assert_eq!((s, &body["data"]), (200, &json!([])), "{list}: {body}");
    }
}

/// JSON Schema's `integer` admits `5.0`; the server refused it ("expected i64").
async fn whole_numbers_may_be_written_as_floats(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (s, body) = app
        .post(
            "/v1/webhook_secrets",
            &app.key,
            &json!({"grace_seconds": 60.0}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    let got = app
        .post(
            "/v1/webhook_secrets",
            &app.key,
            &json!({"grace_seconds": 60.5}),
        )
        .await;
    let msg = assert_error(&got, 400, "INVALID_PARAMETER");
    assert!(msg.starts_with("grace_seconds: "), "{msg}");
    // The body is optional: none at all creates a secret with the default grace.
    let res = app
        .http
        .post(app.url("/v1/webhook_secrets"))
        .header("authorization", &app.key)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

/// `"\n"` as the body of a pathway update was read as `{}` and answered 200; only a body of
/// no bytes means "no body".
async fn a_body_of_whitespace_is_not_json(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (s, created) = app
        .post("/v1/pathway/create", &app.key, &json!({"name": "p"}))
        .await;
    assert_eq!(s, 200, "{created}");
    let url = app.url(&format!(
        "/v1/pathway/{}",
        created["pathway_id"].as_str().unwrap()
    ));
    for (body, status) in [("\n", 400), (" ", 400), ("", 200)] {
        let res = app
            .http
            .post(&url)
            .header("authorization", &app.key)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), status, "{body:?}");
        if status == 400 {
            let v: Value = res.json().await.unwrap();
            assert_eq!(v["errors"][0]["error"], "INVALID_JSON", "{v}");
        }
    }
}

fn collect_refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get("$ref") {
                out.push(r.clone());
            }
            m.values().for_each(|x| collect_refs(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| collect_refs(x, out)),
        _ => {}
    }
}

fn param<'a>(doc: &'a Value, path: &str, method: &str, name: &str) -> &'a Value {
    doc["paths"][path][method]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("{method} {path} has no parameter {name}"))
}

async fn the_document_tells_the_truth_about_these_routes(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (_, doc) = app.get("/openapi.json", "").await;
    // Query parameters were documented as path parameters (there is no `{channel}`).
    for (path, name) in [
        ("/v1/sms/numbers", "channel"),
        ("/v1/sms/batches", "limit"),
        ("/v1/sandbox/messages", "number"),
        ("/v1/sandbox/messages", "limit"),
    ] {
        assert_eq!(
            param(&doc, path, "get", name)["in"],
            "query",
            "{path} {name}"
        );
    }
    for name in ["file_type", "name"] {
        assert_eq!(param(&doc, "/v1/files/attach", "post", name)["in"], "query");
    }
    // A number config's request_data is `[]` until set: an object or an array.
    let cfg = &doc["components"]["schemas"]["NumberConfigOut"]["properties"]["request_data"];
    let types: Vec<&Value> = cfg["oneOf"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| &s["type"])
        .collect();
    assert_eq!(types, [&json!("object"), &json!("array")], "{cfg}");
    // No body is fine; a `null` body is not.
    let body = &doc["paths"]["/v1/webhook_secrets"]["post"]["requestBody"];
    assert_ne!(body["required"], true, "{body}");
    assert_eq!(
        body["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/CreateSecretIn",
        "{body}"
    );
    // Each delete answers its own shape (they shared the name `DeletedOut`).
    let data_of = |path: &str| {
        let env = doc["paths"][path]["delete"]["responses"]["200"]["content"]["application/json"]
            ["schema"]["$ref"]
            .as_str()
            .unwrap()
            .rsplit('/')
            .next()
            .unwrap()
            .to_owned();
        let data = doc["components"]["schemas"][&env]["properties"]["data"]["$ref"]
            .as_str()
            .unwrap()
            .rsplit('/')
            .next()
            .unwrap()
            .to_owned();
        let mut keys: Vec<String> = doc["components"]["schemas"][&data]["properties"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        keys.sort();
        keys
    };
    assert_eq!(data_of("/v1/sms/conversations/{id}"), ["message"]);
    assert_eq!(data_of("/v1/personas/{persona_id}"), ["message", "success"]);
    assert_eq!(
        data_of("/v1/dispositions/{disposition_id}"),
        ["message", "success"]
    );
    assert_eq!(data_of("/v1/citation_schemas/"), ["id"]);
    // Every `$ref` resolves (a query parameter's enum once pointed at a schema that was
    // never registered, and schemathesis skipped it).
    let mut refs = Vec::new();
    collect_refs(&doc, &mut refs);
    assert!(refs.len() > 100, "{} refs", refs.len());
    for r in refs {
        let name = r
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("{r}"));
        assert!(
            doc["components"]["schemas"][name].is_object(),
            "dangling {r}"
        );
    }
    // Every operation that needs a key says it can answer 401.
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            if op["security"].is_array() {
                assert!(
                    op["responses"]["401"].is_object(),
                    "{method} {path} lacks 401"
                );
            }
        }
    }
}
