//! An SMS node with a `phoneNumber` on an SMS conversation: its text goes from the
//! conversation's agent number to that number through the ordinary send path (a queued
//! message on that pair's conversation, paced with the agent number's other messages), in
//! the turn that reaches the node, and not to a number that opted out of the agent number.
//! `tests/golden/sms_node.json` holds the conversation itself.

use serde_json::{json, Value};

use crate::helpers::{Backend, TestApp};

crate::backend_tests!(
    an_sms_node_texts_another_number_from_the_agent_number_paced_and_not_after_stop,
);

/// A number sending one segment every two seconds, distinct per backend (the two variants
/// run at once and share pacing metrics).
fn slow_agent(b: Backend) -> &'static str {
    match b {
        Backend::Sqlite => "+15550107710",
        Backend::Postgres => "+15550107720",
    }
}

const STORE: &str = "+15557008888";
const OPTED_OUT: &str = "+15557008899";

async fn pickup(app: &TestApp) -> String {
    let id = crate::pathways::create(app, &app.key, "Pickup").await;
    let graph = json!({
        "nodes": [
            {"id": "ready", "type": "Default", "data": {"isStart": true, "text": "Your order is ready. Reply HOLD to keep it."}},
            {"id": "notify", "type": "SMS", "data": {"phoneNumber": "{{store_phone}}", "smsBody": "Hold order {{order_id}} for {{from}}."}},
            {"id": "held", "type": "End Call", "data": {"text": "Done, it's on hold."}}
        ],
        "edges": [
            {"id": "e1", "source": "ready", "target": "notify", "data": {"parleyCondition": {"kind": "equals", "values": ["hold"]}}},
            {"id": "e2", "source": "notify", "target": "held", "data": {}}
        ]
    });
    let (s, body) = app
        .post(&format!("/v1/pathway/{id}"), &app.key, &graph)
        .await;
    assert_eq!(s, 200, "{body}");
    id
}

async fn texts(app: &TestApp, from: &str, to: &str, message: &str) -> Value {
    let (s, res) = app
        .post(
            "/v1/sandbox/inbound",
            &app.key,
            &json!({"from": from, "to": to, "message": message}),
        )
        .await;
    assert_eq!(s, 200, "{res}");
    res["data"].clone()
}

fn bodies(inbox: &[Value]) -> Vec<(String, String)> {
    inbox
        .iter()
        .map(|m| {
            (
                m["from"].as_str().unwrap().to_owned(),
                m["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

async fn an_sms_node_texts_another_number_from_the_agent_number_paced_and_not_after_stop(
    b: Backend,
) {
    let app = TestApp::spawn(b).await;
    let agent = slow_agent(b);
    app.number(&app.org_id, agent, 0.5).await;
    let pathway = pickup(&app).await;
    // One shop texted STOP to the agent number earlier.
    let stop = texts(&app, OPTED_OUT, agent, "STOP").await;
    assert_eq!(stop["decision"], "opted_out", "{stop}");

    for (user, store_phone) in [("+15557001001", STORE), ("+15557001002", OPTED_OUT)] {
        let (s, res) = app
            .post(
                "/v1/sms/send",
                &app.key,
                &json!({"user_number": user, "agent_number": agent, "pathway_id": pathway,
                        "request_data": {"store_phone": store_phone, "order_id": "A-9"}}),
            )
            .await;
        assert_eq!(s, 200, "{res}");
        // The opener goes out in the agent number's next slot; then its pace is free again.
        app.advance(10_000).await;
        app.advance(10_000).await;
        texts(&app, user, agent, "hold").await;
        app.drain().await;
        // The reply took the agent number's free slot; the store's text waits for the next.
        assert_eq!(
            bodies(&app.inbox(user).await),
            [
                (
                    agent.into(),
                    "Your order is ready. Reply HOLD to keep it.".into()
                ),
                (agent.into(), "Done, it's on hold.".into())
            ]
        );
        app.advance(2_000).await;
    }
    let to_store = bodies(&app.inbox(STORE).await);
    assert_eq!(
        to_store,
        [(
            agent.to_owned(),
            "Hold order A-9 for +15557001001.".to_owned()
        )]
    );
    // Nothing was queued for the number that opted out, then or later.
    app.advance(60_000).await;
    assert!(app.inbox(OPTED_OUT).await.is_empty());
    assert_eq!(app.store.queue_depth(i64::MAX).await.unwrap().queued, 0);

    // The store's text is an agent message on the agent number's conversation with it; the
    // number that opted out has only its STOP, on the conversation it ended: no message was
    // queued for it at all (not even one that dispatch would refuse).
    for (number, want) in [(STORE, ("AGENT", "delivered")), (OPTED_OUT, ("USER", ""))] {
        let rows = conversations_with(&app, number).await;
        assert_eq!(rows.len(), 1, "{number}: {rows:?}");
        let c = app.conversation(rows[0]["id"].as_str().unwrap()).await;
        assert_eq!(c["agent_number"], agent);
        let messages: Vec<(&str, &str)> = c["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                let status = m["status"].as_str().unwrap_or_default();
                (m["sender"].as_str().unwrap(), status)
            })
            .collect();
        assert_eq!(messages, [want], "{c}");
    }
}

async fn conversations_with(app: &TestApp, user: &str) -> Vec<Value> {
    let filter = json!([{"field": "user_number", "operator": "eq", "value": user}]);
    let list = app
        .list(&format!(
            "filters={}",
            crate::helpers::enc(&filter.to_string())
        ))
        .await;
    list["data"].as_array().unwrap().clone()
}
