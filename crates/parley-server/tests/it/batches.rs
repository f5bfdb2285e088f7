//! Batch sends end to end: upload (multipart and raw, CSV and JSON), the batch rules,
//! skipped rows and their CSV report, status totals.

use serde_json::{json, Value};

use crate::helpers::{enc, Backend, TestApp, AGENT};

crate::backend_tests!(
    csv_rows_become_messages,
    json_array_rows_become_messages,
    skipped_rows_are_reported_not_fatal,
    duplicates_across_chunks_are_skipped,
    new_conversation_and_existing_conversations,
);

const A: &str = "+15551230001";
const B: &str = "+15551230002";
const C: &str = "+15551230003";

/// `user`'s active conversation with AGENT (id and detail).
async fn conversation_of(app: &TestApp, user: &str) -> (String, Value) {
    let filters = json!([
        {"field": "user_number", "operator": "eq", "value": user},
        {"field": "is_active", "operator": "eq", "value": true}
    ]);
    let list = app
        .list(&format!(
            "pageSize=10&filters={}",
            enc(&filters.to_string())
        ))
        .await;
    let rows = list["data"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{list}");
    let id = rows[0]["id"].as_str().unwrap().to_owned();
    let detail = app.conversation(&id).await;
    (id, detail)
}

/// A BOM, CRLF line ends, quoted fields holding commas, quotes and a newline, blank lines,
/// numbers with and without `+`, a `request_data.` column and a mapped column.
async fn csv_rows_become_messages(b: Backend) {
    let app = TestApp::spawn(b).await;
    let csv = "\u{feff}phone_number,first_name,city,request_data.plan,note\r\n\
               15551230001,\"Smith, Ana\",Lyon,gold,\"line one\r\nline \"\"two\"\"\"\r\n\
               \r\n\
               +15551230002,Bo,\"Paris, FR\",,plain\r\n\
               \r\n";
    let (s, up) = app
        .upload_multipart(&app.key, "list.csv", csv.as_bytes(), Some("batches"))
        .await;
    assert_eq!(s, 200, "{up}");
    assert_eq!(up["data"]["row_count"], 2);
    assert_eq!(up["data"]["format"], "csv");
    assert_eq!(up["data"]["name"], "list.csv");
    assert_eq!(up["data"]["size"], csv.len());
    let file_id = up["data"]["file_id"].as_str().unwrap().to_owned();
    let (s, started) = app
        .post(
            "/v1/sms/batch",
            &app.key,
            &json!({
                "file_id": file_id,
                "global": {
                    "agent_number": AGENT,
                    "agent_message": "Hi {{first_name}} in {{city}} ({{plan}}): {{note}}",
                    "request_data": {"plan": "basic", "source": "global"},
                    "metadata": {"campaign": "spring"},
                },
                "column_mapping": {"city": "request_data"},
            }),
        )
        .await;
    assert_eq!(s, 200, "{started}");
    assert_eq!(started["data"]["batch_id"], file_id.as_str());
    assert_eq!(
        started["data"]["message"],
        "SMS batch processing initiated via Temporal workflow"
    );
    assert!(started["data"]["workflow_id"].as_str().unwrap().len() >= 32);
    app.drain().await;

    // B's `request_data.plan` cell is blank: no value, so the global one applies.
    assert_eq!(
        app.received_from(&[A, B]).await,
        vec![
            (
                A.to_owned(),
                "Hi Smith, Ana in Lyon (gold): line one\r\nline \"two\"".to_owned()
            ),
            (B.to_owned(), "Hi Bo in Paris, FR (basic): plain".to_owned()),
        ]
    );
    assert_eq!(
        app.batch_errors_csv(&file_id).await,
        "row_number,phone_number,reason\n"
    );

    let (_, conv) = conversation_of(&app, A).await;
    assert_eq!(
        conv["request_data"],
        json!({"plan": "gold", "source": "global", "city": "Lyon"})
    );
    assert_eq!(conv["metadata"], json!({"campaign": "spring"}));
    // Every column is a variable of the conversation (for the pathway).
    assert_eq!(conv["variables"]["first_name"], "Smith, Ana");
    assert_eq!(conv["variables"]["note"], "line one\r\nline \"two\"");
    let status = app.batch_status(&file_id).await;
    assert_eq!(status["state"], "completed", "{status}");
    let t = &status["totals"];
    assert_eq!(
        (
            t["rows"].clone(),
            t["processed"].clone(),
            t["skipped"].clone()
        ),
        (json!(2), json!(2), json!(0))
    );
    assert_eq!(t["queued"], 0);
    assert_eq!(t["sent"], 2);
    // The sandbox reports delivery a second later.
    app.advance(2_000).await;
    let status = app.batch_status(&file_id).await;
    assert_eq!(status["totals"]["delivered"], 2, "{status}");
    assert_eq!(status["eta"], Value::Null);
}

/// A JSON array instead of CSV, sent as the raw body: numbers as JSON numbers, a
/// `request_data` object per recipient merged over the global one.
async fn json_array_rows_become_messages(b: Backend) {
    let app = TestApp::spawn(b).await;
    let rows = json!([
        {"phone_number": 15551230001u64, "name": "Ana", "request_data": {"tier": "gold"}},
        {"phone_number": "+15551230002", "name": "Bo", "request_data.tier": "silver", "age": 41},
        {"name": "no number"}
    ]);
    let (s, up) = app
        .upload_raw(&app.key, "application/json", rows.to_string().as_bytes())
        .await;
    assert_eq!(s, 200, "{up}");
    assert_eq!(up["data"]["format"], "json");
    assert_eq!(up["data"]["row_count"], 3);
    let id = up["data"]["file_id"].as_str().unwrap().to_owned();
    app.start_batch(
        &id,
        "{{name}} ({{age}}) is {{tier}}",
        json!({"request_data": {"tier": "basic", "age": 30}}),
    )
    .await;
    app.drain().await;
    assert_eq!(
        app.received_from(&[A, B]).await,
        vec![
            (A.to_owned(), "Ana (30) is gold".to_owned()),
            (B.to_owned(), "Bo (41) is silver".to_owned()),
        ]
    );
    let (_, conv) = conversation_of(&app, A).await;
    assert_eq!(conv["request_data"], json!({"tier": "gold", "age": 30}));
    assert_eq!(
        app.batch_errors_csv(&id).await,
        "row_number,phone_number,reason\n3,,missing_phone_number\n"
    );
}

/// Bad and non-E.164 numbers, duplicates, suppressed recipients and missing variables
/// are skipped and reported; the rest of the batch goes out.
async fn skipped_rows_are_reported_not_fatal(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.store
        .suppress(
            &app.org_id,
            AGENT,
            C,
            parley_store::SuppressionReason::Keyword,
            0,
        )
        .await
        .unwrap();
    let csv = "name,phone_number\n\
               Ana,+15551230001\n\
               Bad,12ab\n\
               Zero,+0155512300\n\
               Short,+1555\n\
               Again,15551230001\n\
               Opted,+15551230003\n\
               ,+15551230002\n\
               Bo,+15551230002\n";
    let id = app.upload(csv.as_bytes()).await;
    app.start_batch(&id, "Hello {{name}}", json!({})).await;
    app.drain().await;
    assert_eq!(
        app.received_from(&[A, B, C]).await,
        vec![
            (A.to_owned(), "Hello Ana".to_owned()),
            (B.to_owned(), "Hello Bo".to_owned()),
        ]
    );
    assert_eq!(
        app.batch_errors_csv(&id).await,
        "row_number,phone_number,reason\n\
         2,12ab,invalid_phone_number\n\
         3,+0155512300,invalid_phone_number\n\
         4,+1555,invalid_phone_number\n\
         5,+15551230001,duplicate_phone_number\n\
         6,+15551230003,suppressed\n\
         7,+15551230002,missing_variable:name\n"
    );
    let status = app.batch_status(&id).await;
    assert_eq!(status["totals"]["skipped"], 6, "{status}");
    assert_eq!(status["totals"]["rows"], 8);
    assert_eq!(status["state"], "completed");
}

/// With two rows per chunk, a number repeated in a later chunk is still a duplicate.
async fn duplicates_across_chunks_are_skipped(b: Backend) {
    let mut cfg = crate::helpers::test_config();
    cfg.batches.chunk_rows = 2;
    let app = TestApp::spawn_with(b, cfg).await;
    let csv =
        "phone_number\n+15551230001\n+15551230002\n+15551230003\n+15551230001\n+15551230002\n";
    let id = app.upload(csv.as_bytes()).await;
    app.start_batch(&id, "hi", json!({})).await;
    app.drain().await;
    assert_eq!(app.received_from(&[A, B, C]).await.len(), 3);
    assert_eq!(
        app.batch_errors_csv(&id).await,
        "row_number,phone_number,reason\n\
         4,+15551230001,duplicate_phone_number\n\
         5,+15551230002,duplicate_phone_number\n"
    );
    let t = app.batch_status(&id).await["totals"].clone();
    assert_eq!(
        (t["processed"].clone(), t["skipped"].clone()),
        (json!(5), json!(2))
    );
}

/// A recipient already talking to the number continues that conversation, unless
/// `global.new_conversation` archives it first.
async fn new_conversation_and_existing_conversations(b: Backend) {
    let app = TestApp::spawn(b).await;
    let before = app.send(A, "earlier").await["conversation_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let id = app.upload(b"phone_number\n+15551230001\n").await;
    app.start_batch(&id, "batch one", json!({"request_data": {"k": "v"}}))
        .await;
    app.drain().await;
    let conv = app.conversation(&before).await;
    assert_eq!(conv["message_count"], 2, "{conv}");
    assert_eq!(conv["request_data"], json!({"k": "v"}));

    let id = app.upload(b"phone_number\n+15551230001\n").await;
    app.start_batch(&id, "batch two", json!({"new_conversation": true}))
        .await;
    app.drain().await;
    let old = app.conversation(&before).await;
    assert_eq!(old["is_active"], false, "{old}");
    let (fresh, _) = conversation_of(&app, A).await;
    assert_ne!(fresh, before);
    assert_eq!(app.received_from(&[A]).await.len(), 3);
}
