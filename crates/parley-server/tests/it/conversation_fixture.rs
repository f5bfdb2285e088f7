//! Five conversations that differ in every sortable and filterable field, shared by the
//! list and filter tests.

use serde_json::json;

use crate::helpers::{TestApp, AGENT, T0, USER};

pub const AGENT_1: &str = "+15550100001";
pub const AGENT_2: &str = "+15550100002";

/// Five conversations that differ in every sortable and filterable field, with ties and
/// nulls where a sort needs them. Returns their ids, c0 to c4, oldest first.
pub async fn seed(app: &TestApp) -> Vec<String> {
    app.number(&app.org_id, AGENT_1, 100.0).await;
    app.number(&app.org_id, AGENT_2, 100.0).await;
    crate::pathways::stored_pathway(app, "p-b", 2, &["start"]).await;
    crate::pathways::stored_pathway(app, "p-a", 10, &["50%_off"]).await;
    let mut ids = Vec::new();
    let bodies = [
        json!({"user_number": USER, "agent_number": AGENT, "message": "m", "curr_pathway_id": "p-b",
               "curr_pathway_version": "2", "current_node_id": "start",
               "request_data": {"plan": "pro", "tags": ["vip", "new"], "n": 1, "flag": true, "addr": {"city": "Paris", "zip": "75001"}}}),
        json!({"user_number": "+15551230001", "agent_number": AGENT_1, "message": "m", "current_node_id": "ask_time*",
               "request_data": {"plan": "free", "n": 2.5}}),
        json!({"user_number": "+15551239999", "agent_number": AGENT_2, "message": "m", "curr_pathway_id": "p-a",
               "curr_pathway_version": "10", "current_node_id": "50%_off"}),
        json!({"user_number": "+442071234567", "agent_number": AGENT, "message": "m", "curr_pathway_id": "p-a",
               "curr_pathway_version": 2, "request_data": {"plan": "pro", "tags": ["new"]}}),
    ];
    for body in bodies {
        ids.push(
            app.create(&body).await["conversation_id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
        app.clock.advance_ms(1_000);
    }
    let c4 = app.send("+15551230002", "one").await;
    ids.push(c4["conversation_id"].as_str().unwrap().to_owned());
    app.clock.advance_ms(1_000);
    // Later activity: c4 gets two more messages, c1 one more, so updated_at and
    // message_count order differently from created_at.
    app.send("+15551230002", "two").await;
    app.clock.advance_ms(1_000);
    app.send("+15551230002", "three").await;
    app.clock.advance_ms(1_000);
    let (s, _) = app
        .post(
            &format!("/v1/sms/conversations/{}/messages", ids[1]),
            &app.key,
            &json!({"message": "later"}),
        )
        .await;
    assert_eq!(s, 200);
    // c4 is closed and timed out.
    let (s, _) = app
        .call(
            reqwest::Method::PATCH,
            &format!("/v1/sms/conversations/{}", ids[4]),
            &app.key,
            Some(&json!({"is_active": false})),
        )
        .await;
    assert_eq!(s, 200);
    app.store
        .execute_raw(&format!(
            "UPDATE conversations SET timed_out_at = {} WHERE id = '{}'",
            T0 + 5_500,
            ids[4]
        ))
        .await
        .unwrap();
    ids
}
