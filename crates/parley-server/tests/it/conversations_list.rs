//! `GET /v1/sms/conversations`: pagination, sorting and the row shape. Filters are in
//! `conversations_filters`; both use `conversation_fixture`.

use std::cmp::Ordering;

use serde_json::{json, Value};

use crate::helpers::{assert_error, Backend, TestApp, USER};

crate::backend_tests!(
    an_empty_org_lists_nothing,
    pages_cover_every_row_once_up_to_the_last,
    page_size_and_page_limits_are_enforced,
    every_whitelisted_sort_works_both_ways,
    bad_sorts_are_refused_by_name,
    rows_carry_every_bland_field,
);

use crate::conversation_fixture::{seed, AGENT_2};

fn ids_of(body: &Value) -> Vec<String> {
    body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn an_empty_org_lists_nothing(b: Backend) {
    let app = TestApp::spawn(b).await;
    let body = app.list("").await;
    assert_eq!(
        body,
        json!({"data": [], "errors": null, "extra": {"pagination": {"totalItems": 0, "totalPages": 0, "currentPage": 1, "pageSize": 25, "next_cursor": null}}})
    );
    let body = app
        .list("page=3&pageSize=10&sortBy=message_count&sortDir=asc")
        .await;
    assert_eq!(
        body["extra"]["pagination"],
        json!({"totalItems": 0, "totalPages": 0, "currentPage": 3, "pageSize": 10, "next_cursor": null})
    );
}

async fn pages_cover_every_row_once_up_to_the_last(b: Backend) {
    let app = TestApp::spawn(b).await;
    let mut created = Vec::new();
    for i in 0..7 {
        created.push(
            app.send(&format!("+1555123{i:04}"), "x").await["conversation_id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
        app.clock.advance_ms(10);
    }
    // Default: newest first, 25 per page.
    let all = app.list("").await;
    assert_eq!(
        ids_of(&all),
        created.iter().rev().cloned().collect::<Vec<_>>()
    );
    assert_eq!(
        all["extra"]["pagination"],
        json!({"totalItems": 7, "totalPages": 1, "currentPage": 1, "pageSize": 25, "next_cursor": null})
    );
    let mut seen = Vec::new();
    for page in 1..=3 {
        let body = app.list(&format!("page={page}&pageSize=3")).await;
        let mut pagination = body["extra"]["pagination"].clone();
        let next = pagination
            .as_object_mut()
            .unwrap()
            .remove("next_cursor")
            .unwrap();
        assert_eq!(
            pagination,
            json!({"totalItems": 7, "totalPages": 3, "currentPage": page, "pageSize": 3})
        );
        assert_eq!(
            next.is_string(),
            page < 3,
            "a next page has a cursor: {next}"
        );
        assert_eq!(
            body["data"].as_array().unwrap().len(),
            if page < 3 { 3 } else { 1 }
        );
        seen.extend(ids_of(&body));
    }
    assert_eq!(
        seen,
        ids_of(&all),
        "pages are consecutive slices of one order"
    );
    let past = app.list("page=4&pageSize=3").await;
    assert_eq!(
        (
            past["data"].as_array().unwrap().len(),
            past["extra"]["pagination"]["currentPage"].as_i64()
        ),
        (0, Some(4))
    );
    // Exactly full pages, and one row per page.
    assert_eq!(
        app.list("pageSize=7").await["extra"]["pagination"]["totalPages"],
        1
    );
    let singles: Vec<String> = one_per_page(&app, 7).await;
    assert_eq!(singles, ids_of(&all));
}

async fn one_per_page(app: &TestApp, n: usize) -> Vec<String> {
    let mut out = Vec::new();
    for page in 1..=n {
        out.extend(ids_of(&app.list(&format!("page={page}&pageSize=1")).await));
    }
    out
}

async fn page_size_and_page_limits_are_enforced(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.send(USER, "x").await;
    assert_eq!(
        app.list("pageSize=1000").await["extra"]["pagination"]["pageSize"],
        1000
    );
    assert_eq!(
        app.list("pageSize=1").await["data"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    for (q, needle) in [
        ("pageSize=1001", "pageSize"),
        ("pageSize=0", "pageSize"),
        ("pageSize=-5", "pageSize"),
        ("pageSize=ten", "pageSize"),
        ("page=0", "page"),
        ("page=-1", "page"),
        ("page=1.5", "page"),
        ("page=", "page"),
    ] {
        let got = app
            .get(&format!("/v1/sms/conversations?{q}"), &app.key)
            .await;
        assert!(
            assert_error(&got, 400, "INVALID_PARAMETER").contains(needle),
            "{q}"
        );
    }
    assert_error(
        &app.get("/v1/sms/conversations", "pk_nope").await,
        401,
        "AUTH_FAILURE",
    );
}

/// NULL sorts as the smallest value; ties fall back to the id, in the same direction.
fn cmp_rows(a: &Value, b: &Value, field: &str) -> Ordering {
    fn rank(v: &Value) -> (u8, f64, String) {
        match v {
            Value::Null => (0, 0.0, String::new()),
            Value::Bool(b) => (1, f64::from(u8::from(*b)), String::new()),
            Value::Number(n) => (1, n.as_f64().unwrap(), String::new()),
            Value::String(s) => (1, 0.0, s.clone()),
            other => panic!("unsortable {other}"),
        }
    }
    let (ra, rb) = (rank(&a[field]), rank(&b[field]));
    ra.0.cmp(&rb.0)
        .then(ra.1.partial_cmp(&rb.1).unwrap())
        .then(ra.2.as_bytes().cmp(rb.2.as_bytes()))
        .then(a["id"].as_str().unwrap().cmp(b["id"].as_str().unwrap()))
}

async fn every_whitelisted_sort_works_both_ways(b: Backend) {
    let app = TestApp::spawn(b).await;
    let ids = seed(&app).await;
    let fields = [
        "created_at",
        "updated_at",
        "user_number",
        "agent_number",
        "is_active",
        "message_count",
        "curr_pathway_id",
        "curr_pathway_version",
        "timed_out_at",
    ];
    for field in fields {
        for dir in ["asc", "desc"] {
            let body = app
                .list(&format!("sortBy={field}&sortDir={dir}&pageSize=100"))
                .await;
            let rows = body["data"].as_array().unwrap().clone();
            assert_eq!(rows.len(), ids.len());
            let mut expected = rows.clone();
            expected.sort_by(|a, b| cmp_rows(a, b, field));
            if dir == "desc" {
                expected.reverse();
            }
            assert_eq!(
                ids_of(&json!({"data": rows})),
                ids_of(&json!({"data": expected})),
                "{field} {dir}"
            );
            // Small pages (some read from the far end) give the same order.
            let mut paged = Vec::new();
            for page in 1..=3 {
                paged.extend(ids_of(
                    &app.list(&format!(
                        "sortBy={field}&sortDir={dir}&pageSize=2&page={page}"
                    ))
                    .await,
                ));
            }
            assert_eq!(paged, ids_of(&body), "{field} {dir} paged");
        }
    }
    // Spot checks that the data really differs by field.
    let by = |q: &str| {
        let app = &app;
        let q = q.to_owned();
        async move { ids_of(&app.list(&q).await) }
    };
    assert_eq!(
        by("sortBy=message_count&sortDir=desc&pageSize=1").await,
        vec![ids[4].clone()]
    );
    assert_eq!(
        by("sortBy=updated_at&sortDir=desc&pageSize=1").await,
        vec![ids[4].clone()],
        "closed last"
    );
    assert_eq!(
        by("sortBy=user_number&sortDir=desc&pageSize=1").await,
        vec![ids[3].clone()]
    );
    assert_eq!(
        by("sortBy=timed_out_at&sortDir=desc&pageSize=1").await,
        vec![ids[4].clone()]
    );
    assert_eq!(
        by("sortBy=created_at&sortDir=ASC&pageSize=1").await,
        vec![ids[0].clone()],
        "sortDir ignores case"
    );
}

async fn bad_sorts_are_refused_by_name(b: Backend) {
    let app = TestApp::spawn(b).await;
    for (q, needle) in [
        ("sortBy=body", "\"body\""),
        ("sortBy=id", "\"id\""),
        ("sortBy=created_at;DROP", "created_at;DROP"),
        ("sortDir=up", "sortDir"),
        ("sortBy=", "sortBy"),
    ] {
        let got = app
            .get(&format!("/v1/sms/conversations?{q}"), &app.key)
            .await;
        let msg = assert_error(&got, 400, "INVALID_PARAMETER");
        assert!(msg.contains(needle), "{q}: {msg}");
    }
}

async fn rows_carry_every_bland_field(b: Backend) {
    let app = TestApp::spawn(b).await;
    let ids = seed(&app).await;
    let body = app
        .list(&format!(
            "filters={}",
            crate::helpers::enc(
                &json!([{"field": "user_number", "operator": "eq", "value": "+15551230002"}])
                    .to_string()
            )
        ))
        .await;
    let row = &body["data"][0];
    assert_eq!(row["id"], ids[4].as_str());
    let keys: Vec<&str> = row
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    for k in [
        "id",
        "created_at",
        "updated_at",
        "user_number",
        "agent_number",
        "variables",
        "current_node_id",
        "curr_pathway_id",
        "is_active",
        "message_count",
        "last_message",
        "last_message_at",
        "pathway_tags",
        "effective_channel",
        "summary",
        "citation_variables",
        "disposition_tag",
        "curr_pathway_version",
        "timed_out_at",
        "pathway_id",
        "last_message_timestamp",
    ] {
        assert!(keys.contains(&k), "{k} missing from {keys:?}");
    }
    assert_eq!(
        (row["last_message"].as_str(), row["message_count"].as_i64()),
        (Some("three"), Some(3))
    );
    assert_eq!(row["last_message_timestamp"], row["last_message_at"]);
    assert_eq!(
        (
            row["is_active"].as_bool(),
            row["effective_channel"].as_str()
        ),
        (Some(false), Some("sms"))
    );
    assert_eq!(row["timed_out_at"], "2026-01-01T00:00:05.500Z");
    assert_eq!(
        (row["pathway_tags"].clone(), row["summary"].clone()),
        (json!([]), Value::Null)
    );
    let first = app
        .list(&format!(
            "filters={}",
            crate::helpers::enc(
                &json!([{"field": "agent_number", "operator": "eq", "value": AGENT_2}]).to_string()
            )
        ))
        .await;
    let r = &first["data"][0];
    assert_eq!(
        (r["curr_pathway_id"].as_str(), r["pathway_id"].as_str()),
        (Some("p-a"), Some("p-a"))
    );
    assert_eq!(
        (
            r["curr_pathway_version"].as_str(),
            r["current_node_id"].as_str()
        ),
        (Some("10"), Some("50%_off"))
    );
    assert_eq!(r["variables"], Value::Null);
}
