//! `/openapi.json` for the numbers and conversations endpoints: every operation with each
//! status it can answer, the list's parameters (Parley's `cursor` included) and the
//! pagination object with `next_cursor`.

use serde_json::Value;

use crate::helpers::{Backend, TestApp};

crate::backend_tests!(openapi_describes_numbers_and_conversations);

/// Resolves a `$ref` inside the document.
fn deref<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
    match v["$ref"].as_str() {
        Some(r) => {
            let name = r.rsplit('/').next().unwrap();
            &doc["components"]["schemas"][name]
        }
        None => v,
    }
}

async fn openapi_describes_numbers_and_conversations(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (s, doc) = app.get("/openapi.json", "").await;
    assert_eq!(s, 200);
    let ops: [(&str, &str, &[&str]); 16] = [
        ("/v1/sms/numbers", "get", &["200", "400", "401"]),
        (
            "/v1/sms/number/update",
            "post",
            &["200", "400", "401", "404"],
        ),
        (
            "/v1/sms/webhook/update",
            "post",
            &["200", "400", "401", "404"],
        ),
        ("/v1/sms/update", "post", &["200", "400", "401", "404"]),
        ("/v1/sms/toggle", "post", &["200", "400", "401", "404"]),
        ("/v1/sms/create", "post", &["200", "400", "401", "404"]),
        ("/v1/sms/conversations", "get", &["200", "400", "401"]),
        ("/v1/sms/conversations", "patch", &["400"]),
        ("/v1/sms/conversations/{id}", "get", &["200", "401", "404"]),
        (
            "/v1/sms/conversations/{id}",
            "patch",
            &["200", "400", "401", "404", "409"],
        ),
        (
            "/v1/sms/conversations/{id}",
            "delete",
            &["200", "400", "401", "404"],
        ),
        (
            "/v1/sms/conversations/{id}/messages",
            "post",
            &["200", "400", "401", "404", "422"],
        ),
        (
            "/v1/sms/conversations/{id}/handoff",
            "post",
            &["200", "400", "401", "404"],
        ),
        (
            "/v1/sms/conversations/{id}/resume",
            "post",
            &["200", "400", "401", "403", "404"],
        ),
        ("/v1/sms/clear", "post", &["200", "400", "401", "404"]),
        (
            "/v1/sms/messages/get",
            "post",
            &["200", "400", "401", "404"],
        ),
    ];
    for (path, method, statuses) in ops {
        let op = &doc["paths"][path][method];
        let responses = op["responses"].as_object().unwrap_or_else(|| {
            panic!("{method} {path} has no responses: {op}");
        });
        for s in statuses {
            assert!(responses.contains_key(*s), "{method} {path} lacks {s}");
        }
        if path != "/v1/sms/conversations" || method != "patch" {
            assert!(
                op["security"].is_array(),
                "{method} {path} does not say it needs a key"
            );
        }
    }
    let delete_messages = &doc["paths"]["/v1/sms/conversations/{id}/messages"]["delete"];
    for s in ["200", "400", "401", "404"] {
        assert!(delete_messages["responses"][s].is_object(), "{s}");
    }

    let list = &doc["paths"]["/v1/sms/conversations"]["get"];
    let params: Vec<&str> = list["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            assert_eq!(p["in"], "query", "{p}");
            p["name"].as_str().unwrap()
        })
        .collect();
    assert_eq!(
        params,
        ["page", "pageSize", "sortBy", "sortDir", "filters", "cursor"]
    );
    assert!(list["responses"]["400"]["description"]
        .as_str()
        .unwrap()
        .contains("INVALID_CURSOR"));
    let envelope = deref(
        &doc,
        &list["responses"]["200"]["content"]["application/json"]["schema"],
    );
    let extra = deref(&doc, &envelope["properties"]["extra"]);
    let pagination = deref(&doc, &extra["properties"]["pagination"]);
    let mut keys: Vec<&str> = pagination["properties"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "currentPage",
            "next_cursor",
            "pageSize",
            "totalItems",
            "totalPages"
        ]
    );
}
