//! `GET /v1/sms/conversations?cursor=…` (Parley's keyset paging): every sort walked to the
//! end in both directions across NULLs and ties, cursors that survive changes to the data,
//! and every way a cursor can be refused.

use serde_json::{json, Value};

use crate::{
    conversation_fixture::seed,
    helpers::{assert_error, enc, Backend, TestApp, USER},
};

crate::backend_tests!(
    cursors_walk_every_sort_both_ways_to_the_last_page,
    cursors_follow_filters_and_survive_inserts_and_deletes,
    bad_stale_or_foreign_cursors_are_refused,
);

const SORTS: [&str; 9] = [
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

fn ids_of(body: &Value) -> Vec<String> {
    body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect()
}

fn next_cursor(body: &Value) -> Option<String> {
    body["extra"]["pagination"]["next_cursor"]
        .as_str()
        .map(str::to_owned)
}

/// Follows `next_cursor` from the first page (asked for by number) to the end; returns the
/// ids in order and how many pages it took.
async fn walk(app: &TestApp, query: &str) -> (Vec<String>, usize) {
    let mut body = app.list(query).await;
    let mut ids = ids_of(&body);
    let mut pages = 1;
    while let Some(cursor) = next_cursor(&body) {
        body = app.list(&format!("{query}&cursor={}", enc(&cursor))).await;
        assert_eq!(
            body["extra"]["pagination"]["currentPage"],
            Value::Null,
            "{query}"
        );
        ids.extend(ids_of(&body));
        pages += 1;
        assert!(pages < 100, "{query}: the walk does not end");
    }
    (ids, pages)
}

async fn cursors_walk_every_sort_both_ways_to_the_last_page(b: Backend) {
    let app = TestApp::spawn(b).await;
    // Two more conversations, so sorts with NULLs and ties have rows on both sides of them.
    seed(&app).await;
    for user in ["+15551230003", "+15551230004"] {
        app.send(user, "x").await;
    }
    for field in SORTS {
        for dir in ["asc", "desc"] {
            let all = app
                .list(&format!("sortBy={field}&sortDir={dir}&pageSize=100"))
                .await;
            assert_eq!(next_cursor(&all), None, "one page holds everything");
            for size in [1, 2, 3] {
                let (ids, pages) = walk(
                    &app,
                    &format!("sortBy={field}&sortDir={dir}&pageSize={size}"),
                )
                .await;
                assert_eq!(ids, ids_of(&all), "{field} {dir} by {size}");
                assert_eq!(pages, 7_usize.div_ceil(size), "{field} {dir} by {size}");
            }
        }
    }
    // The last page by number has no cursor; a middle one has one that continues it.
    let last = app.list("pageSize=3&page=3").await;
    assert_eq!(
        (ids_of(&last).len(), next_cursor(&last)),
        (1, None),
        "{last}"
    );
    let middle = app.list("pageSize=3&page=2").await;
    let after = app
        .list(&format!(
            "pageSize=3&cursor={}",
            enc(&next_cursor(&middle).unwrap())
        ))
        .await;
    assert_eq!(ids_of(&after), ids_of(&last));
    assert_eq!(
        after["extra"]["pagination"],
        json!({"totalItems": 7, "totalPages": 3, "currentPage": null, "pageSize": 3, "next_cursor": null})
    );
    // An empty org: no rows, no cursor.
    let (_, other_key) = app.org("empty").await;
    let (s, empty) = app.get("/v1/sms/conversations", &other_key).await;
    assert_eq!(s, 200);
    assert_eq!(
        empty["extra"]["pagination"],
        json!({"totalItems": 0, "totalPages": 0, "currentPage": 1, "pageSize": 25, "next_cursor": null})
    );
}

async fn cursors_follow_filters_and_survive_inserts_and_deletes(b: Backend) {
    let app = TestApp::spawn(b).await;
    let mut users = Vec::new();
    for i in 0..6 {
        let user = format!("+1555123{i:04}");
        app.send(&user, "x").await;
        users.push(user);
        app.clock.advance_ms(10);
    }
    app.send("+442071234567", "not matched").await;
    let filters = enc(
        &json!([{"field": "user_number", "operator": "startsWith", "value": "+1555123"}])
            .to_string(),
    );
    let query = format!("filters={filters}&pageSize=2");
    let (ids, _) = walk(&app, &query).await;
    assert_eq!(ids.len(), 6);

    let first = app.list(&query).await;
    assert_eq!(first["extra"]["pagination"]["totalItems"], 6);
    let cursor = next_cursor(&first).unwrap();
    // The row the cursor names is deleted, and a newer conversation arrives: the next page
    // still starts right after the cursor's position, without repeats or skips.
    let (s, _) = app
        .call(
            reqwest::Method::DELETE,
            &format!("/v1/sms/conversations/{}", ids[1]),
            &app.key,
            None,
        )
        .await;
    assert_eq!(s, 200);
    app.clock.advance_ms(10);
    app.send("+15551239999", "newest").await;
    let next = app.list(&format!("{query}&cursor={}", enc(&cursor))).await;
    assert_eq!(ids_of(&next), ids[2..4].to_vec());
    assert_eq!(next["extra"]["pagination"]["totalItems"], 6);
    // pageSize may change along the way.
    let rest = app
        .list(&format!(
            "filters={filters}&pageSize=10&cursor={}",
            enc(&cursor)
        ))
        .await;
    assert_eq!(ids_of(&rest), ids[2..].to_vec());
    assert_eq!(next_cursor(&rest), None);
    // The same filters written differently (spacing, key order) are the same filters.
    let respelled =
        enc(r#"[ {"value": "+1555123", "operator": "startsWith", "field": "user_number"} ]"#);
    let again = app
        .list(&format!(
            "filters={respelled}&pageSize=2&cursor={}",
            enc(&cursor)
        ))
        .await;
    assert_eq!(ids_of(&again), ids[2..4].to_vec());
}

async fn bad_stale_or_foreign_cursors_are_refused(b: Backend) {
    let app = TestApp::spawn(b).await;
    for i in 0..3 {
        app.send(&format!("+1555123{i:04}"), "x").await;
        app.clock.advance_ms(10);
    }
    let first = app.list("pageSize=1&sortBy=user_number&sortDir=asc").await;
    let cursor = enc(&next_cursor(&first).unwrap());
    let get = |q: String| {
        let app = &app;
        async move {
            app.get(&format!("/v1/sms/conversations?{q}"), &app.key)
                .await
        }
    };
    let filters =
        enc(&json!([{"field": "user_number", "operator": "eq", "value": USER}]).to_string());
    for (q, needle) in [
        (format!("sortBy=user_number&cursor={cursor}"), "sort"),
        (
            format!("sortBy=created_at&sortDir=asc&cursor={cursor}"),
            "sort",
        ),
        (
            format!("sortBy=user_number&sortDir=asc&filters={filters}&cursor={cursor}"),
            "filters",
        ),
        ("cursor=".to_owned(), "cursor"),
        ("cursor=null".to_owned(), "cursor"),
        ("cursor=%25%25%25".to_owned(), "cursor"),
        (format!("cursor={}", "QUFB".repeat(1000)), "cursor"),
        // Valid base64url of JSON, but not a cursor.
        ("cursor=eyJ2IjoxfQ".to_owned(), "cursor"),
        // A token of a future layout.
        ("cursor=eyJ2Ijo5OX0".to_owned(), "version"),
    ] {
        let got = get(q.clone()).await;
        let msg = assert_error(&got, 400, "INVALID_CURSOR");
        assert!(msg.contains(needle), "{q}: {msg}");
    }
    let both = get(format!(
        "sortBy=user_number&sortDir=asc&page=2&cursor={cursor}"
    ))
    .await;
    let msg = assert_error(&both, 400, "INVALID_PARAMETER");
    assert!(msg.contains("cursor") && msg.contains("page"), "{msg}");
    // Another org's cursor only positions the caller within its own rows.
    let (org_b, kb) = app.org("globex").await;
    app.number(&org_b, "+15550200000", 10.0).await;
    for user in ["+15551230000", "+15551230009"] {
        let (s, _) = app
            .post(
                "/v1/sms/send",
                &kb,
                &json!({"user_number": user, "agent_number": "+15550200000", "agent_message": "b"}),
            )
            .await;
        assert_eq!(s, 200);
    }
    let (s, body) = app
        .get(
            &format!(
                "/v1/sms/conversations?pageSize=10&sortBy=user_number&sortDir=asc&cursor={cursor}"
            ),
            &kb,
        )
        .await;
    assert_eq!(s, 200, "{body}");
    let rows = body["data"].as_array().unwrap();
    assert!(!rows.is_empty());
    assert!(
        rows.iter().all(|r| r["agent_number"] == "+15550200000"),
        "{body}"
    );
    // The cursor still works for its own sort.
    let ok = app
        .list(&format!(
            "pageSize=1&sortBy=user_number&sortDir=asc&cursor={cursor}"
        ))
        .await;
    assert_eq!(ok["data"][0]["user_number"], "+15551230001");
}
