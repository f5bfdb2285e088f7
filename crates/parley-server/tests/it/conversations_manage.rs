//! PATCH and DELETE on conversations, and deleting messages. The legacy pair endpoints
//! are in `conversations_pairs`.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{assert_error, Backend, TestApp, USER};

crate::backend_tests!(
    patch_closes_and_reopens_with_bland_s_bare_body,
    patch_refuses_bad_input,
    delete_removes_the_conversation_and_its_messages,
    deleting_messages_hides_them_everywhere,
    deleting_messages_refuses_bad_ids,
);

async fn patch(app: &TestApp, id: &str, body: Value) -> (u16, Value) {
    app.call(
        Method::PATCH,
        &format!("/v1/sms/conversations/{id}"),
        &app.key,
        Some(&body),
    )
    .await
}

async fn patch_closes_and_reopens_with_bland_s_bare_body(b: Backend) {
    let app = TestApp::spawn(b).await;
    let id = app.send(USER, "hi").await["conversation_id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.clock.advance_ms(5_000);
    let (s, res) = patch(&app, &id, json!({"is_active": false})).await;
    assert_eq!(s, 200, "{res}");
    assert_eq!(
        res,
        json!({"message": "Conversation updated successfully",
               "conversation": {"id": id, "is_active": false, "updated_at": "2026-01-01T00:00:05.000Z"}})
    );
    assert_eq!(app.conversation(&id).await["is_active"], false);
    // Setting what is already set changes nothing (not even updated_at).
    app.clock.advance_ms(1_000);
    let (_, again) = patch(&app, &id, json!({"is_active": false})).await;
    assert_eq!(
        again["conversation"]["updated_at"],
        "2026-01-01T00:00:05.000Z"
    );
    // Closed: the next send opens a new conversation.
    let next = app.send(USER, "again").await["conversation_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(next, id);
    // Reopening while the pair has another active conversation would break the pair rule.
    let got = patch(&app, &id, json!({"is_active": true})).await;
    assert!(assert_error(&got, 409, "ACTIVE_CONVERSATION_EXISTS").contains(&next));
    assert_eq!(patch(&app, &next, json!({"is_active": false})).await.0, 200);
    // Reopening clears a timeout, so the conversation answers again.
    app.store
        .execute_raw(&format!(
            "UPDATE conversations SET timed_out_at = 1 WHERE id = '{id}'"
        ))
        .await
        .unwrap();
    let (s, res) = patch(&app, &id, json!({"is_active": true})).await;
    assert_eq!(
        (s, res["conversation"]["is_active"].as_bool()),
        (200, Some(true))
    );
    let conv = app.conversation(&id).await;
    assert_eq!(
        (conv["is_active"].as_bool(), conv["timed_out_at"].clone()),
        (Some(true), Value::Null)
    );
    assert_eq!(app.send(USER, "back").await["conversation_id"], id.as_str());
}

async fn patch_refuses_bad_input(b: Backend) {
    let app = TestApp::spawn(b).await;
    let id = app.send(USER, "hi").await["conversation_id"]
        .as_str()
        .unwrap()
        .to_owned();
    for (body, needle) in [
        (json!({}), "is_active"),
        (json!({"is_active": "no"}), "is_active"),
        (json!({"is_active": null}), "is_active"),
    ] {
        let msg = assert_error(
            &patch(&app, &id, body.clone()).await,
            400,
            "INVALID_PARAMETER",
        );
        assert!(msg.contains(needle), "{body}: {msg}");
    }
    assert_error(
        &patch(
            &app,
            "00000000-0000-7000-8000-000000000000",
            json!({"is_active": false}),
        )
        .await,
        404,
        "CONVERSATION_NOT_FOUND",
    );
    let no_id = app
        .call(
            Method::PATCH,
            "/v1/sms/conversations",
            &app.key,
            Some(&json!({"is_active": false})),
        )
        .await;
    assert_error(&no_id, 400, "CONVERSATION_ID_REQUIRED");
    assert_error(
        &patch(&app, "%20", json!({"is_active": false})).await,
        400,
        "CONVERSATION_ID_REQUIRED",
    );
    assert_error(
        &app.call(
            Method::PATCH,
            &format!("/v1/sms/conversations/{id}"),
            "pk_nope",
            Some(&json!({"is_active": false})),
        )
        .await,
        401,
        "AUTH_FAILURE",
    );
    assert_eq!(
        app.conversation(&id).await["is_active"],
        true,
        "nothing changed"
    );
}

async fn delete_removes_the_conversation_and_its_messages(b: Backend) {
    let app = TestApp::spawn(b).await;
    let keep = app.send("+15551230001", "keep").await["conversation_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let id = app.send(USER, "one").await["conversation_id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.send(USER, "two").await;
    let (s, res) = app
        .call(
            Method::DELETE,
            &format!("/v1/sms/conversations/{id}"),
            &app.key,
            None,
        )
        .await;
    assert_eq!(
        (s, res),
        (
            200,
            json!({"data": {"message": "Conversation and all associated messages deleted successfully"}, "errors": null})
        )
    );
    assert_error(
        &app.get(&format!("/v1/sms/conversations/{id}"), &app.key)
            .await,
        404,
        "CONVERSATION_NOT_FOUND",
    );
    let ids: Vec<_> = app.list("").await["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].clone())
        .collect();
    assert_eq!(ids, vec![json!(keep)]);
    assert_error(
        &app.call(
            Method::DELETE,
            &format!("/v1/sms/conversations/{id}"),
            &app.key,
            None,
        )
        .await,
        404,
        "CONVERSATION_NOT_FOUND",
    );
    assert_error(
        &app.call(Method::DELETE, "/v1/sms/conversations/%20", &app.key, None)
            .await,
        400,
        "CONVERSATION_ID_REQUIRED",
    );
    // Its queued messages went with it: dispatch sends only the surviving one.
    app.drain().await;
    assert!(app.inbox(USER).await.is_empty());
    assert_eq!(app.inbox("+15551230001").await.len(), 1);
    // The pair can start over.
    assert_ne!(
        app.send(USER, "fresh").await["conversation_id"],
        id.as_str()
    );
}

pub async fn delete_messages(app: &TestApp, id: &str, body: Value) -> (u16, Value) {
    app.call(
        Method::DELETE,
        &format!("/v1/sms/conversations/{id}/messages"),
        &app.key,
        Some(&body),
    )
    .await
}

async fn deleting_messages_hides_them_everywhere(b: Backend) {
    let app = TestApp::spawn(b).await;
    let first = app.send(USER, "one").await;
    let id = first["conversation_id"].as_str().unwrap().to_owned();
    let second = app.send(USER, "two").await;
    app.clock.advance_ms(1_000);
    let third = app.send(USER, "three").await;
    let other = app.send("+15551230001", "elsewhere").await;
    let (s, res) = delete_messages(
        &app,
        &id,
        json!({"message_ids": [third["message_id"], second["message_id"].to_string()]}),
    )
    .await;
    assert_eq!(
        (s, res),
        (
            200,
            json!({"data": {"message": "2 messages marked as deleted", "deleted_count": 2}, "errors": null})
        )
    );
    let conv = app.conversation(&id).await;
    let texts: Vec<_> = conv["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["message"].clone())
        .collect();
    assert_eq!(texts, vec![json!("one")]);
    assert_eq!(conv["message_count"], 1);
    assert_eq!(
        conv["last_message_at"], "2026-01-01T00:00:00.000Z",
        "the last visible message's time"
    );
    let row = &app.list("").await["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id.as_str())
        .unwrap()
        .clone();
    assert_eq!(
        (row["last_message"].as_str(), row["message_count"].as_i64()),
        (Some("one"), Some(1))
    );
    // Deleting again, or ids of another conversation (or none at all), counts nothing.
    let (_, res) = delete_messages(
        &app,
        &id,
        json!({"message_ids": [third["message_id"], other["message_id"], 999_999]}),
    )
    .await;
    assert_eq!(
        res["data"],
        json!({"message": "0 messages marked as deleted", "deleted_count": 0})
    );
    assert_eq!(
        app.conversation(other["conversation_id"].as_str().unwrap())
            .await["messages"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // The message row is kept (soft delete).
    assert!(app
        .store
        .message(third["message_id"].as_i64().unwrap())
        .await
        .unwrap()
        .is_some());
}

async fn deleting_messages_refuses_bad_ids(b: Backend) {
    let app = TestApp::spawn(b).await;
    let sent = app.send(USER, "one").await;
    let id = sent["conversation_id"].as_str().unwrap();
    let too_many: Vec<i64> = (1..=1001).collect();
    for (body, needle) in [
        (json!({}), "non-empty"),
        (json!({"message_ids": []}), "non-empty"),
        (json!({"message_ids": null}), "non-empty"),
        (json!({"message_ids": "1"}), "array"),
        (json!({"message_ids": ["abc"]}), "message_ids[0]"),
        (json!({"message_ids": [1, 1.5]}), "message_ids[1]"),
        (json!({"message_ids": [-1]}), "message_ids[0]"),
        (json!({"message_ids": [" 1"]}), "message_ids[0]"),
        (json!({"message_ids": [{"id": 1}]}), "message_ids[0]"),
        (json!({"message_ids": too_many}), "at most 1000"),
    ] {
        let msg = assert_error(
            &delete_messages(&app, id, body.clone()).await,
            400,
            "INVALID_PARAMETER",
        );
        assert!(msg.contains(needle), "{body}: {msg}");
    }
    let unknown = delete_messages(
        &app,
        "00000000-0000-7000-8000-000000000000",
        json!({"message_ids": [sent["message_id"]]}),
    )
    .await;
    assert_error(&unknown, 404, "CONVERSATION_NOT_FOUND");
    assert_eq!(
        app.conversation(id).await["messages"]
            .as_array()
            .unwrap()
            .len(),
        1,
        "nothing was deleted"
    );
}
