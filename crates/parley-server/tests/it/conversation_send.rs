//! `POST /v1/sms/conversations/{id}/messages`: sending on one conversation.

use std::sync::Arc;

use serde_json::json;

use crate::helpers::{assert_error, Backend, TestApp, AGENT, USER};

crate::backend_tests!(
    a_human_message_goes_out_on_the_thread,
    the_message_lands_on_the_addressed_thread_even_when_closed,
    idempotency_key_works_as_on_send,
    bad_requests_are_refused_and_send_nothing,
);

fn path(id: &str) -> String {
    format!("/v1/sms/conversations/{id}/messages")
}

async fn a_human_message_goes_out_on_the_thread(b: Backend) {
    let app = TestApp::spawn(b).await;
    let id = app.send(USER, "bot says hi").await["conversation_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (s, res) = app
        .post(
            &path(&id),
            &app.key,
            &json!({"message": "A person here 👋"}),
        )
        .await;
    assert_eq!(s, 200, "{res}");
    assert_eq!(res["errors"], serde_json::Value::Null);
    assert_eq!(res["data"]["message"], "Message sent successfully");
    assert_eq!(res["data"]["conversation_id"], id.as_str());
    let (s, res2) = app
        .post(
            &path(&id),
            &app.key,
            &json!({"message": "the agent again", "sender": "AGENT"}),
        )
        .await;
    assert_eq!(s, 200, "{res2}");
    app.drain().await;
    let inbox = app.inbox(USER).await;
    let texts: Vec<_> = inbox
        .iter()
        .map(|m| m["message"].as_str().unwrap())
        .collect();
    assert_eq!(
        texts,
        ["bot says hi", "A person here 👋", "the agent again"],
        "in order, through the paced queue"
    );
    assert!(inbox.iter().all(|m| m["from"] == AGENT));
    let conv = app.conversation(&id).await;
    let m = &conv["messages"][1];
    assert_eq!(
        (m["id"].clone(), m["sender"].as_str(), m["status"].as_str()),
        (
            res["data"]["message_id"].clone(),
            Some("HUMAN"),
            Some("sent")
        )
    );
    assert_eq!(m["encoding"], "UCS-2");
    assert_eq!(conv["messages"][2]["sender"], "AGENT");
    assert_eq!(conv["message_count"], 3);
}

async fn the_message_lands_on_the_addressed_thread_even_when_closed(b: Backend) {
    let app = TestApp::spawn(b).await;
    let old = app.send(USER, "old thread").await["conversation_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (s, fresh) = app
        .post("/v1/sms/send", &app.key, &json!({"user_number": USER, "agent_number": AGENT, "agent_message": "new", "new_conversation": true}))
        .await;
    assert_eq!(s, 200);
    let (s, res) = app
        .post(
            &path(&old),
            &app.key,
            &json!({"message": "following up on the old one"}),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(res["data"]["conversation_id"], old.as_str());
    let conv = app.conversation(&old).await;
    assert_eq!(
        (
            conv["is_active"].as_bool(),
            conv["messages"].as_array().unwrap().len()
        ),
        (Some(false), 2)
    );
    let new_conv = app
        .conversation(fresh["data"]["conversation_id"].as_str().unwrap())
        .await;
    assert_eq!(new_conv["messages"].as_array().unwrap().len(), 1);
    // WhatsApp threads send on WhatsApp.
    app.open_whatsapp_window(USER).await;
    let (_, wa) = app
        .post("/v1/sms/send", &app.key, &json!({"user_number": USER, "agent_number": AGENT, "agent_message": "wa", "channel": "whatsapp"}))
        .await;
    let wa_id = wa["data"]["conversation_id"].as_str().unwrap();
    app.post(&path(wa_id), &app.key, &json!({"message": "human on wa"}))
        .await;
    app.drain().await;
    let inbox = app.inbox(USER).await;
    let m = inbox
        .iter()
        .find(|m| m["message"] == "human on wa")
        .unwrap();
    assert_eq!(m["channel"], "whatsapp");
}

async fn idempotency_key_works_as_on_send(b: Backend) {
    let app = Arc::new(TestApp::spawn(b).await);
    let id = app.send(USER, "start").await["conversation_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let other = app.send("+15551230001", "start").await["conversation_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let body = json!({"message": "only once", "sender": "HUMAN"});
    let first = app
        .post_with(&path(&id), &app.key, &body, &[("idempotency-key", "k1")])
        .await;
    assert_eq!(first.0, 200);
    let again = app
        .post_with(
            &path(&id),
            &app.key,
            &json!({"sender": "HUMAN", "message": "only once"}),
            &[("idempotency-key", "k1")],
        )
        .await;
    assert_eq!(again, first, "same key, same body: the first answer");
    let changed = app
        .post_with(
            &path(&id),
            &app.key,
            &json!({"message": "different"}),
            &[("idempotency-key", "k1")],
        )
        .await;
    assert_error(&changed, 422, "IDEMPOTENCY_KEY_REUSED");
    let elsewhere = app
        .post_with(&path(&other), &app.key, &body, &[("idempotency-key", "k1")])
        .await;
    assert_error(&elsewhere, 422, "IDEMPOTENCY_KEY_REUSED");
    // The key space is the one /v1/sms/send uses.
    let send_body = json!({"user_number": USER, "agent_number": AGENT, "agent_message": "x"});
    assert_error(
        &app.post_with(
            "/v1/sms/send",
            &app.key,
            &send_body,
            &[("idempotency-key", "k1")],
        )
        .await,
        422,
        "IDEMPOTENCY_KEY_REUSED",
    );
    // Concurrent retries produce one message.
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let (app, id) = (app.clone(), id.clone());
        tasks.push(tokio::spawn(async move {
            app.post_with(
                &path(&id),
                &app.key,
                &json!({"message": "race"}),
                &[("idempotency-key", "race")],
            )
            .await
        }));
    }
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.unwrap());
    }
    assert!(
        answers.iter().all(|a| a.0 == 200 && a.1 == answers[0].1),
        "{answers:?}"
    );
    app.drain().await;
    let texts: Vec<_> = app
        .inbox(USER)
        .await
        .iter()
        .map(|m| m["message"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(texts, ["start", "only once", "race"]);
    let bad = app
        .post_with(&path(&id), &app.key, &body, &[("idempotency-key", "")])
        .await;
    assert!(assert_error(&bad, 400, "INVALID_PARAMETER").contains("idempotency-key"));
}

async fn bad_requests_are_refused_and_send_nothing(b: Backend) {
    let app = TestApp::spawn(b).await;
    let id = app.send(USER, "start").await["conversation_id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.drain().await;
    for (body, needle) in [
        (json!({}), "message"),
        (json!({"message": ""}), "message"),
        (json!({"message": "   "}), "message"),
        (json!({"message": 42}), "message"),
        (json!({"message": "x".repeat(1601)}), "1600"),
        (json!({"message": "x", "sender": "USER"}), "sender"),
        (json!({"message": "x", "sender": "bot"}), "sender"),
    ] {
        let msg = assert_error(
            &app.post(&path(&id), &app.key, &body).await,
            400,
            "INVALID_PARAMETER",
        );
        assert!(msg.contains(needle), "{body}: {msg}");
    }
    assert_eq!(
        app.post(&path(&id), &app.key, &json!({"message": "x".repeat(1600)}))
            .await
            .0,
        200,
        "1,600 is allowed"
    );
    let missing = "00000000-0000-7000-8000-000000000000";
    let got = app
        .post_with(
            &path(missing),
            &app.key,
            &json!({"message": "x"}),
            &[("idempotency-key", "k")],
        )
        .await;
    assert_error(&got, 404, "CONVERSATION_NOT_FOUND");
    // A refused request does not use up its key.
    let ok = app
        .post_with(
            &path(&id),
            &app.key,
            &json!({"message": "x"}),
            &[("idempotency-key", "k")],
        )
        .await;
    assert_eq!(ok.0, 200);
    assert_error(
        &app.post(&path(&id), "pk_nope", &json!({"message": "x"}))
            .await,
        401,
        "AUTH_FAILURE",
    );
    app.drain().await;
    assert_eq!(app.inbox(USER).await.len(), 3);
}
