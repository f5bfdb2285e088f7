//! A pathway conversation changed from outside while it runs continues with the change,
//! although the engine already stored its own state: moved to another node (`resume` with
//! `node_id`, `/v1/sms/create` with `current_node_id`), or given new `request_data` by a
//! later send.

use serde_json::{json, Value};

use crate::helpers::{Backend, TestApp, AGENT};

crate::backend_tests!(
    a_conversation_moved_to_a_node_continues_from_it,
    a_later_send_s_request_data_reaches_the_running_pathway,
);

async fn pathway(app: &TestApp) -> String {
    let id = crate::pathways::create(app, &app.key, "Front desk").await;
    let graph = json!({
        "nodes": [
            {"id": "ask", "type": "Default", "data": {"isStart": true, "text": "Reply C to confirm, or AGENT for a person."}},
            {"id": "human", "type": "Transfer to Human", "data": {"text": "Getting a person for you."}},
            {"id": "confirmed", "type": "End Call", "data": {"text": "Confirmed for {{slot}}, see you!"}},
            {"id": "ask_time", "type": "Default", "data": {"text": "What time suits you?"}},
            {"id": "new_time", "type": "End Call", "data": {"text": "Noted: {{lastUserMessage}}."}}
        ],
        "edges": [
            {"id": "e1", "source": "ask", "target": "human", "data": {"parleyCondition": {"kind": "contains_any", "values": ["agent"]}}},
            {"id": "e2", "source": "ask", "target": "confirmed", "data": {"parleyCondition": {"kind": "equals", "values": ["c"]}}},
            {"id": "e3", "source": "ask_time", "target": "new_time", "data": {"parleyCondition": {"kind": "regex", "pattern": "\\d:\\d\\d"}}}
        ]
    });
    let (s, body) = app
        .post(&format!("/v1/pathway/{id}"), &app.key, &graph)
        .await;
    assert_eq!(s, 200, "{body}");
    id
}

async fn text(app: &TestApp, user: &str, message: &str) {
    let (s, res) = app
        .post(
            "/v1/sandbox/inbound",
            &app.key,
            &json!({"from": user, "to": AGENT, "message": message}),
        )
        .await;
    assert_eq!(s, 200, "{res}");
    app.drain().await;
}

async fn open(app: &TestApp, user: &str, pathway: &str) -> String {
    let (s, res) = app
        .post(
            "/v1/sms/send",
            &app.key,
            &json!({"user_number": user, "agent_number": AGENT, "pathway_id": pathway,
                    "request_data": {"slot": "4pm"}}),
        )
        .await;
    assert_eq!(s, 200, "{res}");
    app.drain().await;
    res["data"]["conversation_id"].as_str().unwrap().to_owned()
}

fn texts(inbox: &[Value]) -> Vec<&str> {
    inbox
        .iter()
        .map(|m| m["message"].as_str().unwrap())
        .collect()
}

async fn a_conversation_moved_to_a_node_continues_from_it(b: Backend) {
    let app = TestApp::spawn(b).await;
    let pathway = pathway(&app).await;

    // Handed off at the Transfer to Human node; the person hands back at ask_time.
    let user = "+15557002001";
    let id = open(&app, user, &pathway).await;
    text(&app, user, "agent please").await;
    let (s, res) = app
        .post(
            &format!("/v1/sms/conversations/{id}/resume"),
            &app.key,
            &json!({"node_id": "ask_time", "message": "Let's find you a new time. What time suits you?"}),
        )
        .await;
    assert_eq!(s, 200, "{res}");
    app.drain().await;
    text(&app, user, "3:30 works").await;
    assert_eq!(
        texts(&app.inbox(user).await),
        [
            "Reply C to confirm, or AGENT for a person.",
            "Getting a person for you.",
            "Let's find you a new time. What time suits you?",
            "Noted: 3:30 works."
        ]
    );
    assert_eq!(app.conversation(&id).await["current_node_id"], "new_time");

    // A create that places the conversation at ask_time: the next text is read there.
    let user = "+15557002002";
    let id = open(&app, user, &pathway).await;
    text(&app, user, "hmm").await;
    let placed = app
        .create(
            &json!({"user_number": user, "agent_number": AGENT, "sender": "AGENT",
                        "message": "What time suits you?", "curr_pathway_id": pathway,
                        "current_node_id": "ask_time"}),
        )
        .await;
    assert_eq!(placed["conversation_id"], id.as_str());
    text(&app, user, "4:15").await;
    assert_eq!(
        texts(&app.inbox(user).await),
        [
            "Reply C to confirm, or AGENT for a person.",
            "Reply C to confirm, or AGENT for a person.",
            "Noted: 4:15."
        ]
    );
}

async fn a_later_send_s_request_data_reaches_the_running_pathway(b: Backend) {
    let app = TestApp::spawn(b).await;
    let pathway = pathway(&app).await;
    let user = "+15557002003";
    open(&app, user, &pathway).await;
    text(&app, user, "hmm").await;
    let (s, res) = app
        .post(
            "/v1/sms/send",
            &app.key,
            &json!({"user_number": user, "agent_number": AGENT, "request_data": {"slot": "5pm"},
                    "agent_message": "Your slot moved to 5pm. Reply C to confirm."}),
        )
        .await;
    assert_eq!(s, 200, "{res}");
    app.drain().await;
    text(&app, user, "C").await;
    assert_eq!(
        texts(&app.inbox(user).await),
        [
            "Reply C to confirm, or AGENT for a person.",
            "Reply C to confirm, or AGENT for a person.",
            "Your slot moved to 5pm. Reply C to confirm.",
            "Confirmed for 5pm, see you!"
        ]
    );
}
