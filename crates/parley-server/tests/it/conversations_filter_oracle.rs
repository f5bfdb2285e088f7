//! Every filter operator on every field it applies to, each with values taken from the data
//! (so there are exact hits, ties and misses), checked against an oracle computed in Rust
//! from the unfiltered list: the same answer on SQLite and PostgreSQL, and the count agrees.

use std::{cmp::Ordering, collections::BTreeSet};

use serde_json::{json, Value};

use crate::{
    conversation_fixture::seed,
    helpers::{enc, Backend, TestApp},
};

crate::backend_tests!(every_operator_on_every_field_agrees_with_an_oracle);

const TEXT_FIELDS: [&str; 5] = [
    "user_number",
    "agent_number",
    "curr_pathway_id",
    "curr_pathway_version",
    "current_node_id",
];
const TEXT_OPS: [&str; 8] = [
    "eq",
    "contains",
    "startsWith",
    "endsWith",
    "gt",
    "gte",
    "lt",
    "lte",
];
/// Times compare as their ISO-8601 text: one format, one century, so text order is time order.
const ORDERED_FIELDS: [&str; 4] = ["created_at", "updated_at", "timed_out_at", "message_count"];
const CMP_OPS: [&str; 5] = ["eq", "gt", "gte", "lt", "lte"];

fn holds(op: &str, cell: &Value, value: &Value) -> bool {
    let ord = match (cell, value) {
        (Value::Null, _) => return false,
        (Value::String(a), Value::String(b)) => {
            match op {
                "contains" => return a.contains(b.as_str()),
                "startsWith" => return a.starts_with(b.as_str()),
                "endsWith" => return a.ends_with(b.as_str()),
                _ => {}
            }
            a.as_bytes().cmp(b.as_bytes())
        }
        (Value::Number(a), Value::Number(b)) => a.as_i64().unwrap().cmp(&b.as_i64().unwrap()),
        other => panic!("uncomparable {other:?}"),
    };
    match op {
        "eq" => ord == Ordering::Equal,
        "gt" => ord == Ordering::Greater,
        "gte" => ord != Ordering::Less,
        "lt" => ord == Ordering::Less,
        "lte" => ord != Ordering::Greater,
        _ => unreachable!("{op}"),
    }
}

/// A few values to filter by: every distinct value in the column, and pieces of them.
fn probes(rows: &[Value], field: &str) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    for r in rows {
        let v = &r[field];
        if v.is_null() || out.contains(v) {
            continue;
        }
        out.push(v.clone());
        if let Some(s) = v.as_str() {
            let chars: Vec<char> = s.chars().collect();
            let n = chars.len();
            for piece in [
                &chars[..n.min(3)],
                &chars[n / 2..],
                &chars[1..n.saturating_sub(1).max(1)],
            ] {
                let p: String = piece.iter().collect();
                if !p.is_empty() && !out.contains(&json!(p)) {
                    out.push(json!(p));
                }
            }
        }
    }
    out.push(json!("zzz"));
    out
}

async fn every_operator_on_every_field_agrees_with_an_oracle(b: Backend) {
    let app = TestApp::spawn(b).await;
    seed(&app).await;
    for user in ["+15551230003", "+15551230004"] {
        app.send(user, "x").await;
    }
    let all = app.list("pageSize=100").await;
    let rows = all["data"].as_array().unwrap().clone();
    let mut checked = 0;
    let fields = TEXT_FIELDS
        .iter()
        .map(|f| (*f, &TEXT_OPS[..]))
        .chain(ORDERED_FIELDS.iter().map(|f| (*f, &CMP_OPS[..])));
    for (field, ops) in fields {
        for value in probes(&rows, field) {
            if field == "message_count" && !value.is_number() {
                continue;
            }
            if value.is_string() && ORDERED_FIELDS.contains(&field) && field != "message_count" {
                // Times: only whole values (pieces are not times).
                if !rows.iter().any(|r| r[field] == value) {
                    continue;
                }
            }
            for op in ops {
                let filters = json!([{"field": field, "operator": op, "value": value}]);
                let expected: BTreeSet<&str> = rows
                    .iter()
                    .filter(|r| holds(op, &r[field], &value))
                    .map(|r| r["id"].as_str().unwrap())
                    .collect();
                let body = app
                    .list(&format!(
                        "pageSize=100&filters={}",
                        enc(&filters.to_string())
                    ))
                    .await;
                let got: BTreeSet<&str> = body["data"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| r["id"].as_str().unwrap())
                    .collect();
                assert_eq!(got, expected, "{filters}");
                assert_eq!(
                    body["extra"]["pagination"]["totalItems"].as_u64(),
                    Some(expected.len() as u64),
                    "{filters}"
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 200, "only {checked} cases");
}
