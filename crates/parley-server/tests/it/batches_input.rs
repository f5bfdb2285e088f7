//! Batch requests and uploads that must be refused, each with its stable code and a
//! message naming the field; nothing is queued for any of them.

use serde_json::{json, Value};

use crate::helpers::{assert_error, test_config, Backend, TestApp, AGENT};

crate::backend_tests!(batch_request_errors, file_shape_errors, upload_errors,);

async fn batch(app: &TestApp, body: Value) -> (u16, Value) {
    app.post("/v1/sms/batch", &app.key, &body).await
}

async fn batch_request_errors(b: Backend) {
    let app = TestApp::spawn(b).await;
    let id = app.upload(b"phone_number,name\n+15551230001,Ana\n").await;
    let g = json!({"agent_number": AGENT, "agent_message": "hi"});

    assert_error(
        &batch(&app, json!({"global": g})).await,
        400,
        "MISSING_FILE_ID",
    );
    assert_error(
        &batch(&app, json!({"file_id": "", "global": g})).await,
        400,
        "MISSING_FILE_ID",
    );
    let m = assert_error(
        &batch(&app, json!({"file_id": id})).await,
        400,
        "INVALID_PARAMETER",
    );
    assert!(m.contains("global"), "{m}");
    let m = assert_error(
        &batch(
            &app,
            json!({"file_id": id, "global": {"agent_message": "hi"}}),
        )
        .await,
        400,
        "INVALID_PARAMETER",
    );
    assert!(m.contains("global.agent_number"), "{m}");
    let m = assert_error(
        &batch(
            &app,
            json!({"file_id": id, "global": {"agent_number": AGENT, "agent_message": 5}}),
        )
        .await,
        400,
        "INVALID_PARAMETER",
    );
    assert!(m.contains("global.agent_message"), "{m}");
    let m = assert_error(
        &batch(&app, json!({"file_id": id, "global": {"agent_number": AGENT, "agent_message": "x", "user_number": "+15551230009"}})).await,
        400,
        "INVALID_PARAMETER",
    );
    assert!(m.contains("global.user_number"), "{m}");
    assert_error(
        &batch(
            &app,
            json!({"file_id": id, "global": {"agent_number": AGENT}}),
        )
        .await,
        400,
        "NO_REPLY_SOURCE",
    );
    assert_error(
        &batch(&app, json!({"file_id": id, "global": {"agent_number": AGENT, "agent_message": "x", "time_out": 10, "warning_time": 20}})).await,
        400,
        "INVALID_TIMEOUT_CONFIG",
    );
    for (mapping, named) in [
        (json!({"name": "metadata"}), "column_mapping.name"),
        (
            json!({"phone_number": "request_data"}),
            "column_mapping.phone_number",
        ),
        (json!({"name": "phone_number"}), "column_mapping.name"),
        (json!({"nope": "request_data"}), "column_mapping.nope"),
    ] {
        let m = assert_error(
            &batch(
                &app,
                json!({"file_id": id, "global": g, "column_mapping": mapping}),
            )
            .await,
            400,
            "INVALID_PARAMETER",
        );
        assert!(m.contains(named), "{m}");
    }
    let m = assert_error(
        &batch(
            &app,
            json!({"file_id": id, "global": {"agent_number": AGENT, "agent_message": "{{nope}}"}}),
        )
        .await,
        400,
        "INVALID_PARAMETER",
    );
    assert!(m.contains("{{nope}}"), "{m}");

    // Unknown file, a file uploaded for something else, an unknown agent number.
    assert_error(
        &batch(
            &app,
            json!({"file_id": "00000000-0000-4000-8000-000000000000", "global": g}),
        )
        .await,
        404,
        "FILE_NOT_FOUND",
    );
    let (s, other) = app
        .upload_multipart(
            &app.key,
            "x.csv",
            b"phone_number\n+15551230001\n",
            Some("knowledge"),
        )
        .await;
    assert_eq!(s, 200);
    assert_error(
        &batch(
            &app,
            json!({"file_id": other["data"]["file_id"], "global": g}),
        )
        .await,
        404,
        "FILE_NOT_FOUND",
    );
    assert_error(
        &batch(&app, json!({"file_id": id, "global": {"agent_number": "+15559990000", "agent_message": "x"}})).await,
        404,
        "AGENT_NUMBER_NOT_FOUND",
    );

    // Accepted once; the same file again is a conflict.
    assert_eq!(
        batch(&app, json!({"file_id": id, "global": g})).await.0,
        200
    );
    assert_error(
        &batch(&app, json!({"file_id": id, "global": g})).await,
        409,
        "BATCH_EXISTS",
    );
    app.drain().await;
    assert_eq!(app.inbox("+15551230001").await.len(), 1);
}

/// Files whose shape makes a batch impossible are refused when the batch starts.
async fn file_shape_errors(b: Backend) {
    let app = TestApp::spawn(b).await;
    let g = json!({"agent_number": AGENT, "agent_message": "hi"});
    for (bytes, code, needle) in [
        (&b""[..], "EMPTY_FILE", "no header"),
        (&b"\r\n\r\n"[..], "EMPTY_FILE", "no header"),
        (&b"phone_number,name\r\n"[..], "EMPTY_FILE", "no rows"),
        (&b"phone_number\n\n\n"[..], "EMPTY_FILE", "no rows"),
        (
            &b"phone,name\n+15551230001,Ana\n"[..],
            "MISSING_PHONE_NUMBER_COLUMN",
            "phone, name",
        ),
        (
            &b"Phone_Number\n+15551230001\n"[..],
            "MISSING_PHONE_NUMBER_COLUMN",
            "Phone_Number",
        ),
        (
            &br#"[{"phone": "+15551230001"}]"#[..],
            "MISSING_PHONE_NUMBER_COLUMN",
            "phone",
        ),
        (&b"[]"[..], "EMPTY_FILE", "no rows"),
    ] {
        let (s, up) = app
            .upload_multipart(&app.key, "f", bytes, Some("batches"))
            .await;
        assert_eq!(s, 200, "{up}");
        let got = batch(&app, json!({"file_id": up["data"]["file_id"], "global": g})).await;
        let m = assert_error(&got, 400, code);
        assert!(m.contains(needle), "{m}");
    }
    let (s, up) = app
        .upload_multipart(&app.key, "f", b"", Some("batches"))
        .await;
    assert_eq!(
        (
            s,
            up["data"]["size"].clone(),
            up["data"]["row_count"].clone()
        ),
        (200, json!(0), json!(0))
    );
    assert_eq!(app.store.queue_depth(0).await.unwrap().queued, 0);
}

async fn upload_errors(b: Backend) {
    let mut cfg = test_config();
    cfg.batches.max_file_bytes = 64;
    let app = TestApp::spawn_with(b, cfg).await;
    let m = assert_error(
        &app.upload_multipart(&app.key, "f.csv", b"phone_number\n", None)
            .await,
        400,
        "INVALID_PARAMETER",
    );
    assert!(m.contains("file_type"), "{m}");
    let (s, body) = app
        .http
        .post(app.url("/v1/files/attach"))
        .header("authorization", &app.key)
        .multipart(reqwest::multipart::Form::new().text("file_type", "batches"))
        .send()
        .await
        .map(|r| (r.status().as_u16(), r))
        .unwrap();
    let body: Value = body.json().await.unwrap();
    let m = assert_error(&(s, body), 400, "INVALID_PARAMETER");
    assert!(m.contains("file"), "{m}");
    assert_error(
        &app.upload_raw(&app.key, "text/csv", &[b'1'; 65]).await,
        413,
        "PAYLOAD_TOO_LARGE",
    );
    assert_error(
        &app.upload_multipart(&app.key, "big.csv", &[b'1'; 200], Some("batches"))
            .await,
        413,
        "PAYLOAD_TOO_LARGE",
    );
    for bad in [&b"[1, 2]"[..], b"[{\"phone_number\": 1},", b"[{}] x"] {
        assert_error(
            &app.upload_raw(&app.key, "application/json", bad).await,
            400,
            "INVALID_FILE",
        );
    }
    assert_error(
        &app.upload_raw("wrong-key", "text/csv", b"phone_number\n")
            .await,
        401,
        "AUTH_FAILURE",
    );
    // Nothing of the refused uploads is left on disk.
    let left: Vec<_> = walk(app.files_dir.path());
    assert!(left.is_empty(), "{left:?}");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}
