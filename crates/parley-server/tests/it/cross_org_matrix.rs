//! Every number and conversation endpoint, called by org B on org A's data: nothing of A's
//! is read, changed or deleted, and every refusal looks exactly like the one for something
//! that does not exist anywhere.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{assert_error, enc, Backend, TestApp, AGENT, USER};

crate::backend_tests!(no_endpoint_crosses_orgs, no_batch_endpoint_crosses_orgs);

const B_NUM: &str = "+15550200000";
const NOBODY: &str = "+15550999999";
const NO_CONV: &str = "00000000-0000-7000-8000-000000000000";

/// Everything org A can see about itself.
async fn snapshot(app: &TestApp, conv: &str) -> Value {
    let (_, numbers) = app.get("/v1/sms/numbers", &app.key).await;
    let (_, wa) = app.get("/v1/sms/numbers?channel=whatsapp", &app.key).await;
    let list = app.list("pageSize=100").await;
    let detail = app.conversation(conv).await;
    let (_, history) = app
        .post(
            "/v1/sms/messages/get",
            &app.key,
            &json!({"to": USER, "from": AGENT}),
        )
        .await;
    json!({"numbers": numbers, "wa": wa, "list": list, "detail": detail, "history": history})
}

/// Asserts B's call on A's thing and B's call on a thing that does not exist get the same
/// status, code and message (with the identifiers masked).
fn same_refusal(
    on_a: &(u16, Value),
    on_nothing: &(u16, Value),
    status: u16,
    code: &str,
    a_id: &str,
    none_id: &str,
) {
    let m1 = assert_error(on_a, status, code).replace(a_id, "ID");
    let m2 = assert_error(on_nothing, status, code).replace(none_id, "ID");
    assert_eq!(m1, m2);
}

async fn no_endpoint_crosses_orgs(b: Backend) {
    let app = TestApp::spawn(b).await;
    // Org A: a configured number, a conversation with an inbound reply.
    let cfg = json!({"phone_number": AGENT, "webhook": "https://a.example/h", "objective": "A's secret prompt"});
    assert_eq!(
        app.post("/v1/sms/number/update", &app.key, &cfg).await.0,
        200
    );
    let a = app.send(USER, "private to A").await;
    let a_conv = a["conversation_id"].as_str().unwrap().to_owned();
    assert_eq!(
        app.post(
            "/v1/sandbox/inbound",
            &app.key,
            &json!({"from": USER, "to": AGENT, "message": "A's user"})
        )
        .await
        .0,
        200
    );
    app.send("+15551239876", "A's second conversation").await;
    app.drain().await;
    let before = snapshot(&app, &a_conv).await;

    // Org B: its own number and a conversation with the same user.
    let (org_b, kb) = app.org("globex").await;
    app.number(&org_b, B_NUM, 100.0).await;
    let (s, bs) = app
        .post(
            "/v1/sms/send",
            &kb,
            &json!({"user_number": USER, "agent_number": B_NUM, "agent_message": "from B"}),
        )
        .await;
    assert_eq!(s, 200);
    let b_conv = bs["data"]["conversation_id"].as_str().unwrap().to_owned();

    // Reads.
    let (_, numbers) = app.get("/v1/sms/numbers", &kb).await;
    assert_eq!(numbers["data"].as_array().unwrap().len(), 1);
    assert_eq!(
        (
            numbers["data"][0]["phone_number"].as_str(),
            numbers["data"][0]["conversation_count"].as_i64()
        ),
        (Some(B_NUM), Some(1))
    );
    let (_, list) = app
        .get(
            &format!(
                "/v1/sms/conversations?filters={}",
                enc(
                    &json!([{"field": "user_number", "operator": "eq", "value": USER}]).to_string()
                )
            ),
            &kb,
        )
        .await;
    let ids: Vec<_> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [b_conv.as_str()]);
    assert_eq!(list["extra"]["pagination"]["totalItems"], 1);
    // Unfiltered (the total is then the org's counter), and walked by cursor.
    let (_, all) = app.get("/v1/sms/conversations?pageSize=1", &kb).await;
    assert_eq!(all["data"][0]["id"], b_conv.as_str());
    assert_eq!(
        (
            all["extra"]["pagination"]["totalItems"].as_i64(),
            all["extra"]["pagination"]["next_cursor"].as_str()
        ),
        (Some(1), None)
    );
    let (_, a_first) = app
        .get("/v1/sms/conversations?pageSize=1&sortDir=asc", &app.key)
        .await;
    let a_cursor = a_first["extra"]["pagination"]["next_cursor"]
        .as_str()
        .expect("A has a second conversation")
        .to_owned();
    let (s, after) = app
        .get(
            &format!(
                "/v1/sms/conversations?sortDir=asc&cursor={}",
                enc(&a_cursor)
            ),
            &kb,
        )
        .await;
    assert_eq!(s, 200, "{after}");
    assert!(after["data"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["id"] == b_conv.as_str()));
    let conv_path = |id: &str| format!("/v1/sms/conversations/{id}");
    same_refusal(
        &app.get(&conv_path(&a_conv), &kb).await,
        &app.get(&conv_path(NO_CONV), &kb).await,
        404,
        "CONVERSATION_NOT_FOUND",
        &a_conv,
        NO_CONV,
    );
    // Webhooks: A's log, resend and signing secrets are A's alone.
    let hook_path = |id: &str| format!("/v1/sms/conversations/{id}/webhook");
    same_refusal(
        &app.get(&hook_path(&a_conv), &kb).await,
        &app.get(&hook_path(NO_CONV), &kb).await,
        404,
        "CONVERSATION_NOT_FOUND",
        &a_conv,
        NO_CONV,
    );
    let resend = |id: &str| json!({"conversation_ids": [id]});
    same_refusal(
        &app.post(
            "/v1/sms/conversations/webhooks/resend",
            &kb,
            &resend(&a_conv),
        )
        .await,
        &app.post(
            "/v1/sms/conversations/webhooks/resend",
            &kb,
            &resend(NO_CONV),
        )
        .await,
        404,
        "WEBHOOK_NOT_FOUND",
        &a_conv,
        NO_CONV,
    );
    assert_eq!(
        app.post("/v1/webhook_secrets", &app.key, &json!({}))
            .await
            .0,
        200
    );
    let (_, b_secrets) = app.get("/v1/webhook_secrets", &kb).await;
    assert_eq!(b_secrets["data"], json!([]), "B sees none of A's secrets");
    for path in ["/v1/sms/messages/get", "/v1/sms/clear"] {
        let on_a = app
            .post(path, &kb, &json!({"to": USER, "from": AGENT}))
            .await;
        let nothing = app
            .post(path, &kb, &json!({"to": USER, "from": NOBODY}))
            .await;
        same_refusal(
            &on_a,
            &nothing,
            404,
            "AGENT_NUMBER_NOT_FOUND",
            AGENT,
            NOBODY,
        );
    }
    // B's own pair endpoints see only B's messages, even with A's user.
    let (_, history) = app
        .post(
            "/v1/sms/messages/get",
            &kb,
            &json!({"to": USER, "from": B_NUM}),
        )
        .await;
    let texts: Vec<_> = history["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["message"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["from B"]);
    let (_, cleared) = app
        .post("/v1/sms/clear", &kb, &json!({"to": USER, "from": B_NUM}))
        .await;
    assert_eq!(cleared["count"], 1);

    // Number changes.
    for (path, body) in [
        ("/v1/sms/number/update", json!({"objective": "hijack"})),
        (
            "/v1/sms/webhook/update",
            json!({"webhook": "https://evil.example"}),
        ),
        ("/v1/sms/update", json!({"prompt": "hijack"})),
        ("/v1/sms/toggle", json!({"on": true})),
    ] {
        let mut on_a = body.clone();
        on_a["phone_number"] = json!(AGENT);
        let mut on_nothing = body;
        on_nothing["phone_number"] = json!(NOBODY);
        same_refusal(
            &app.post(path, &kb, &on_a).await,
            &app.post(path, &kb, &on_nothing).await,
            404,
            "AGENT_NUMBER_NOT_FOUND",
            AGENT,
            NOBODY,
        );
    }
    let create = |agent: &str| json!({"user_number": USER, "agent_number": agent, "message": "x"});
    same_refusal(
        &app.post("/v1/sms/create", &kb, &create(AGENT)).await,
        &app.post("/v1/sms/create", &kb, &create(NOBODY)).await,
        404,
        "AGENT_NUMBER_NOT_FOUND",
        AGENT,
        NOBODY,
    );

    // Conversation changes.
    let patch = json!({"is_active": false});
    same_refusal(
        &app.call(Method::PATCH, &conv_path(&a_conv), &kb, Some(&patch))
            .await,
        &app.call(Method::PATCH, &conv_path(NO_CONV), &kb, Some(&patch))
            .await,
        404,
        "CONVERSATION_NOT_FOUND",
        &a_conv,
        NO_CONV,
    );
    let msgs = json!({"message_ids": [a["message_id"]]});
    same_refusal(
        &app.call(
            Method::DELETE,
            &format!("{}/messages", conv_path(&a_conv)),
            &kb,
            Some(&msgs),
        )
        .await,
        &app.call(
            Method::DELETE,
            &format!("{}/messages", conv_path(NO_CONV)),
            &kb,
            Some(&msgs),
        )
        .await,
        404,
        "CONVERSATION_NOT_FOUND",
        &a_conv,
        NO_CONV,
    );
    // A's message ids on B's own conversation delete nothing.
    let (s, res) = app
        .call(
            Method::DELETE,
            &format!("{}/messages", conv_path(&b_conv)),
            &kb,
            Some(&msgs),
        )
        .await;
    assert_eq!((s, res["data"]["deleted_count"].as_u64()), (200, Some(0)));
    let say = json!({"message": "B speaking on A's thread"});
    same_refusal(
        &app.post_with(
            &format!("{}/messages", conv_path(&a_conv)),
            &kb,
            &say,
            &[("idempotency-key", "b-key")],
        )
        .await,
        &app.post_with(
            &format!("{}/messages", conv_path(NO_CONV)),
            &kb,
            &say,
            &[("idempotency-key", "b-key")],
        )
        .await,
        404,
        "CONVERSATION_NOT_FOUND",
        &a_conv,
        NO_CONV,
    );
    same_refusal(
        &app.call(Method::DELETE, &conv_path(&a_conv), &kb, None)
            .await,
        &app.call(Method::DELETE, &conv_path(NO_CONV), &kb, None)
            .await,
        404,
        "CONVERSATION_NOT_FOUND",
        &a_conv,
        NO_CONV,
    );
    // The same idempotency key in both orgs names two different requests.
    let a_say = json!({"message": "A speaking"});
    assert_eq!(
        app.post_with(
            &format!("{}/messages", conv_path(&b_conv)),
            &kb,
            &a_say,
            &[("idempotency-key", "shared")]
        )
        .await
        .0,
        200
    );
    // In A's key space "shared" is unused: A's request is judged on its own merits (here
    // a 404 for a missing conversation, not a 422 for a reused key).
    let a_res = app
        .post_with(
            &format!("{}/messages", conv_path(NO_CONV)),
            &app.key,
            &a_say,
            &[("idempotency-key", "shared")],
        )
        .await;
    assert_error(&a_res, 404, "CONVERSATION_NOT_FOUND");

    // A sees exactly what it saw before B tried everything.
    assert_eq!(snapshot(&app, &a_conv).await, before);
    assert!(
        app.inbox(USER).await.iter().all(|m| m["from"] == AGENT),
        "no message went out from A's number for B"
    );
}

/// Files and batches: org B can neither start a batch from A's file (nor with A's number),
/// nor read, list, or cancel A's batch; each refusal equals the one for a missing thing.
async fn no_batch_endpoint_crosses_orgs(b: Backend) {
    let app = TestApp::spawn(b).await;
    let a_file = app.upload(b"phone_number,name\n+15551230001,Ana\n").await;
    let g = json!({"agent_number": AGENT, "agent_message": "A's text {{name}}"});
    let (s, _) = app
        .post(
            "/v1/sms/batch",
            &app.key,
            &json!({"file_id": a_file, "global": g}),
        )
        .await;
    assert_eq!(s, 200);
    let (org_b, kb) = app.org("globex").await;
    app.number(&org_b, B_NUM, 100.0).await;
    let before = app.batch_status(&a_file).await;

    let bg = json!({"agent_number": B_NUM, "agent_message": "from B"});
    same_refusal(
        &app.post(
            "/v1/sms/batch",
            &kb,
            &json!({"file_id": a_file, "global": bg}),
        )
        .await,
        &app.post(
            "/v1/sms/batch",
            &kb,
            &json!({"file_id": NO_CONV, "global": bg}),
        )
        .await,
        404,
        "FILE_NOT_FOUND",
        &a_file,
        NO_CONV,
    );
    // B's own file with A's number.
    let (s, up) = app
        .upload_multipart(
            &kb,
            "b.csv",
            b"phone_number\n+15551230002\n",
            Some("batches"),
        )
        .await;
    assert_eq!(s, 200, "{up}");
    let b_file = up["data"]["file_id"].as_str().unwrap().to_owned();
    same_refusal(
        &app.post(
            "/v1/sms/batch",
            &kb,
            &json!({"file_id": b_file, "global": {"agent_number": AGENT, "agent_message": "x"}}),
        )
        .await,
        &app.post(
            "/v1/sms/batch",
            &kb,
            &json!({"file_id": b_file, "global": {"agent_number": NOBODY, "agent_message": "x"}}),
        )
        .await,
        404,
        "AGENT_NUMBER_NOT_FOUND",
        AGENT,
        NOBODY,
    );
    for (method, suffix) in [
        (Method::GET, ""),
        (Method::GET, "/errors"),
        (Method::POST, "/cancel"),
    ] {
        same_refusal(
            &app.call(
                method.clone(),
                &format!("/v1/sms/batch/{a_file}{suffix}"),
                &kb,
                None,
            )
            .await,
            &app.call(
                method,
                &format!("/v1/sms/batch/{NO_CONV}{suffix}"),
                &kb,
                None,
            )
            .await,
            404,
            "BATCH_NOT_FOUND",
            &a_file,
            NO_CONV,
        );
    }
    let (s, listed) = app.get("/v1/sms/batches", &kb).await;
    assert_eq!((s, listed["data"].clone()), (200, json!([])));
    // A's batch is untouched and still sends.
    assert_eq!(app.batch_status(&a_file).await, before);
    app.drain().await;
    assert_eq!(
        app.inbox("+15551230001").await[0]["message"],
        "A's text Ana"
    );
    assert!(app.inbox("+15551230002").await.is_empty());
}
