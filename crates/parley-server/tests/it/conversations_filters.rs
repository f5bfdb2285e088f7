//! `GET /v1/sms/conversations?filters=…`: every operator on every kind of field, `variables`
//! containment, and the 400s for filters that make no sense.

use std::collections::BTreeSet;

use parley_domain::clock::iso8601_ms;
use serde_json::{json, Value};

use crate::{
    conversation_fixture::{seed, AGENT_1},
    helpers::{assert_error, enc, Backend, TestApp, T0},
};

crate::backend_tests!(
    every_operator_matches_what_it_says,
    variables_match_by_json_containment,
    malformed_filters_are_refused_by_name,
);

/// The seeded conversations (by index) matching `filters`, checked against the count too.
async fn matching(app: &TestApp, ids: &[String], filters: Value) -> BTreeSet<usize> {
    let body = app
        .list(&format!(
            "pageSize=100&filters={}",
            enc(&filters.to_string())
        ))
        .await;
    let rows = body["data"].as_array().unwrap();
    assert_eq!(
        body["extra"]["pagination"]["totalItems"].as_u64(),
        Some(rows.len() as u64),
        "{filters}"
    );
    rows.iter()
        .map(|r| {
            ids.iter()
                .position(|id| r["id"] == id.as_str())
                .expect("a seeded conversation")
        })
        .collect()
}

fn set(items: &[usize]) -> BTreeSet<usize> {
    items.iter().copied().collect()
}

fn f(field: &str, op: &str, value: Value) -> Value {
    json!([{"field": field, "operator": op, "value": value}])
}

async fn every_operator_matches_what_it_says(b: Backend) {
    let app = TestApp::spawn(b).await;
    let ids = seed(&app).await;
    let created = |i: usize| iso8601_ms(T0 + 1_000 * i as i64);
    let cases: Vec<(Value, Vec<usize>)> = vec![
        // Text: the eight operators, case-sensitive, byte-ordered.
        (f("user_number", "eq", json!("+15551230001")), vec![1]),
        (f("user_number", "contains", json!("123000")), vec![0, 1, 4]),
        (f("user_number", "startsWith", json!("+44")), vec![3]),
        (f("user_number", "endsWith", json!("9999")), vec![2]),
        (f("user_number", "gt", json!("+15551230001")), vec![2, 3, 4]),
        (
            f("user_number", "gte", json!("+15551230001")),
            vec![1, 2, 3, 4],
        ),
        (f("user_number", "lt", json!("+15551230001")), vec![0]),
        (f("user_number", "lte", json!("+15551230001")), vec![0, 1]),
        (f("agent_number", "eq", json!(AGENT_1)), vec![1]),
        (f("current_node_id", "eq", json!("start")), vec![0]),
        (f("current_node_id", "contains", json!("START")), vec![]),
        // Wildcard characters in values match themselves only.
        (
            f("current_node_id", "startsWith", json!("ask_time*")),
            vec![1],
        ),
        (f("current_node_id", "contains", json!("%_")), vec![2]),
        (f("current_node_id", "contains", json!("_")), vec![1, 2]),
        (f("current_node_id", "startsWith", json!("ask%")), vec![]),
        (f("current_node_id", "endsWith", json!("*")), vec![1]),
        (f("current_node_id", "eq", Value::Null), vec![3, 4]),
        (f("curr_pathway_id", "eq", Value::Null), vec![1, 4]),
        (
            f("curr_pathway_id", "startsWith", json!("p-")),
            vec![0, 2, 3],
        ),
        (f("curr_pathway_version", "eq", json!("2")), vec![0, 3]),
        (f("curr_pathway_version", "eq", json!(2)), vec![0, 3]),
        (f("curr_pathway_version", "lt", json!("2")), vec![2]), // "10" < "2" as text
        // Times: ISO-8601 or epoch milliseconds.
        (f("created_at", "eq", json!(created(3))), vec![3]),
        (f("created_at", "gte", json!(created(2))), vec![2, 3, 4]),
        (f("created_at", "gt", json!(T0 + 3_000)), vec![4]),
        (f("created_at", "lt", json!(created(1))), vec![0]),
        (
            f("created_at", "lte", json!("2026-01-01T00:00:01Z")),
            vec![0, 1],
        ),
        (f("updated_at", "gt", json!(created(4))), vec![1, 4]),
        (f("timed_out_at", "eq", Value::Null), vec![0, 1, 2, 3]),
        (f("timed_out_at", "gte", json!(T0 + 5_500)), vec![4]),
        // Numbers.
        (f("message_count", "eq", json!(1)), vec![0, 2, 3]),
        (f("message_count", "gt", json!(1)), vec![1, 4]),
        (f("message_count", "gte", json!("2")), vec![1, 4]),
        (f("message_count", "lt", json!(3)), vec![0, 1, 2, 3]),
        (f("message_count", "lte", json!(2)), vec![0, 1, 2, 3]),
        // Booleans.
        (f("is_active", "eq", json!(false)), vec![4]),
        (f("is_active", "eq", json!(true)), vec![0, 1, 2, 3]),
        (f("is_active", "eq", json!("true")), vec![0, 1, 2, 3]),
        // Several filters must all hold.
        (
            json!([
                {"field": "is_active", "operator": "eq", "value": true},
                {"field": "variables", "operator": "contains", "value": {"plan": "pro"}},
                {"field": "user_number", "operator": "startsWith", "value": "+1"}
            ]),
            vec![0],
        ),
        (json!([]), vec![0, 1, 2, 3, 4]),
    ];
    for (filters, expected) in cases {
        assert_eq!(
            matching(&app, &ids, filters.clone()).await,
            set(&expected),
            "{filters}"
        );
    }
    // Filters and paging together: the count is of matches, not of the org.
    let body = app
        .list(&format!(
            "pageSize=2&page=2&filters={}",
            enc(&f("is_active", "eq", json!(true)).to_string())
        ))
        .await;
    assert_eq!(
        body["extra"]["pagination"],
        json!({"totalItems": 4, "totalPages": 2, "currentPage": 2, "pageSize": 2, "next_cursor": null})
    );
}

async fn variables_match_by_json_containment(b: Backend) {
    let app = TestApp::spawn(b).await;
    let ids = seed(&app).await;
    // c0: {"plan": "pro", "tags": ["vip", "new"], "n": 1, "flag": true, "addr": {"city": "Paris", "zip": "75001"}}
    // c1: {"plan": "free", "n": 2.5}; c3: {"plan": "pro", "tags": ["new"]}; c2, c4: no variables.
    let cases: Vec<(Value, Vec<usize>)> = vec![
        (json!({"plan": "pro"}), vec![0, 3]),
        (json!({"plan": "PRO"}), vec![]),
        (json!({"tags": ["vip"]}), vec![0]),
        (json!({"tags": ["new"]}), vec![0, 3]),
        (json!({"tags": ["new", "vip"]}), vec![0]),
        (json!({"tags": []}), vec![0, 3]),
        (json!({"tags": "new"}), vec![]), // an array does not contain a bare scalar
        (json!({"n": 1}), vec![0]),
        (json!({"n": 1.0}), vec![0]),
        (json!({"n": 2.5}), vec![1]),
        (json!({"n": "1"}), vec![]),
        (json!({"flag": true}), vec![0]),
        (json!({"flag": 1}), vec![]),
        (json!({"addr": {"city": "Paris"}}), vec![0]),
        (json!({"addr": {"city": "Paris", "zip": "75002"}}), vec![]),
        (json!({"addr": {}}), vec![0]),
        (json!({"missing": null}), vec![]),
        (json!({"plan": "pro", "n": 1}), vec![0]),
        (json!({}), vec![0, 1, 3]),
    ];
    for (value, expected) in cases {
        for op in ["eq", "contains"] {
            let got = matching(&app, &ids, f("variables", op, value.clone())).await;
            assert_eq!(got, set(&expected), "{op} {value}");
        }
    }
    // A client that double-encodes the object is understood.
    assert_eq!(
        matching(
            &app,
            &ids,
            f("variables", "eq", json!("{\"plan\":\"free\"}"))
        )
        .await,
        set(&[1])
    );
    // Keys and values with quotes, dots and unicode are matched literally.
    let odd = app
        .create(&json!({"user_number": "+15557770000", "agent_number": crate::helpers::AGENT, "message": "m",
                        "request_data": {"a.b": "x\"y", "ключ": "значение"}}))
        .await;
    let body = app
        .list(&format!(
            "filters={}",
            enc(&f(
                "variables",
                "eq",
                json!({"a.b": "x\"y", "ключ": "значение"})
            )
            .to_string())
        ))
        .await;
    assert_eq!(body["data"][0]["id"], odd["conversation_id"]);
    assert_eq!(body["data"].as_array().unwrap().len(), 1);
}

async fn malformed_filters_are_refused_by_name(b: Backend) {
    let app = TestApp::spawn(b).await;
    let cases: Vec<(String, &str)> = vec![
        ("not json".into(), "JSON array"),
        (json!({"field": "user_number"}).to_string(), "JSON array"),
        (json!([1]).to_string(), "filters[0]"),
        (json!([{"operator": "eq", "value": 1}]).to_string(), "filters[0].field"),
        (json!([{"field": "user_number", "value": 1}]).to_string(), "filters[0].operator"),
        (json!([{"field": "user_number", "operator": "eq"}]).to_string(), "filters[0].value"),
        (json!([{"field": "body", "operator": "eq", "value": "x"}]).to_string(), "\"body\""),
        (json!([{"field": "user_number", "operator": "like", "value": "x"}]).to_string(), "\"like\""),
        (json!([{"field": "user_number", "operator": "eq", "value": "x"}, {"field": "created_at", "operator": "contains", "value": "2026"}]).to_string(), "filters[1].operator"),
        (json!([{"field": "message_count", "operator": "startsWith", "value": "1"}]).to_string(), "message_count"),
        (json!([{"field": "is_active", "operator": "gt", "value": true}]).to_string(), "is_active"),
        (json!([{"field": "is_active", "operator": "eq", "value": "maybe"}]).to_string(), "is_active"),
        (json!([{"field": "variables", "operator": "startsWith", "value": {"a": 1}}]).to_string(), "variables"),
        (json!([{"field": "variables", "operator": "eq", "value": [1]}]).to_string(), "JSON object"),
        (json!([{"field": "created_at", "operator": "gt", "value": "next week"}]).to_string(), "ISO-8601"),
        (json!([{"field": "message_count", "operator": "gt", "value": "many"}]).to_string(), "integer"),
        (json!([{"field": "message_count", "operator": "gt", "value": null}]).to_string(), "null"),
        (json!([{"field": "user_number", "operator": "eq", "value": true}]).to_string(), "string"),
        (serde_json::to_string(&vec![json!({"field": "is_active", "operator": "eq", "value": true}); 21]).unwrap(), "at most 20"),
    ];
    for (raw, needle) in cases {
        let got = app
            .get(
                &format!("/v1/sms/conversations?filters={}", enc(&raw)),
                &app.key,
            )
            .await;
        let msg = assert_error(&got, 400, "INVALID_PARAMETER");
        assert!(msg.contains(needle), "{raw}: {msg}");
    }
    let deep = (0..10).fold(json!(1), |v, _| json!({"k": v}));
    let raw = json!([{"field": "variables", "operator": "eq", "value": deep}]).to_string();
    let got = app
        .get(
            &format!("/v1/sms/conversations?filters={}", enc(&raw)),
            &app.key,
        )
        .await;
    assert!(assert_error(&got, 400, "INVALID_PARAMETER").contains("nest"));
}
