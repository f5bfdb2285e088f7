//! Webhook nodes in the chat harness: a loopback receiver allowed in config gets the
//! templated request and its JSON answer is mapped and routed on; without the allowance the
//! SSRF guard refuses it (by IP literal and by name) and the failure route is taken.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
};

use axum::{routing::post, Json, Router};
use serde_json::{json, Value};

use crate::{
    helpers::{test_config, Backend, TestApp},
    pathways::create,
    pathways_chat::{new_chat, say},
};

crate::backend_tests!(
    webhook_nodes_call_allowed_urls_and_map_the_answer,
    webhook_nodes_to_internal_addresses_are_refused,
);

/// A customer's availability service on loopback: records request bodies, answers JSON.
struct SlotService {
    addr: SocketAddr,
    bodies: Arc<Mutex<Vec<Value>>>,
}

impl SlotService {
    async fn start() -> Self {
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let seen = bodies.clone();
        let app = Router::new().route(
            "/slots",
            post(move |Json(body): Json<Value>| {
                let seen = seen.clone();
                async move {
                    seen.lock().unwrap().push(body);
                    Json(json!({"reserved": true, "slot": "3pm"}))
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { addr, bodies }
    }

    fn bodies(&self) -> Vec<Value> {
        self.bodies.lock().unwrap().clone()
    }
}

async fn webhook_pathway(app: &TestApp, url: &str) -> String {
    let id = create(app, &app.key, "Availability").await;
    let nodes = json!([
        {"id": "check", "type": "Webhook", "data": {
            "name": "Check", "isStart": true, "url": url, "method": "POST",
            "body": "{\"name\": \"{{name}}\"}",
            "responseData": [{"name": "slot", "data": "$.slot"}],
            "responsePathways": [
                ["BlandStatusCode", "==", "200", {"id": "booked", "name": "Booked"}],
                ["Default/Webhook Completion", "", "", {"id": "failed", "name": "Failed"}]
            ]}},
        {"id": "booked", "type": "End Call", "data": {"name": "Booked", "text": "You're booked at {{slot}}, {{name}}."}},
        {"id": "failed", "type": "End Call", "data": {"name": "Failed", "text": "Sorry, we could not check availability right now."}}
    ]);
    let (s, body) = app
        .post(
            &format!("/v1/pathway/{id}"),
            &app.key,
            &json!({"nodes": nodes, "edges": []}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    id
}

async fn webhook_nodes_call_allowed_urls_and_map_the_answer(b: Backend) {
    let service = SlotService::start().await;
    let mut cfg = test_config();
    cfg.webhooks.allowed_networks = vec!["127.0.0.0/8".into()];
    let app = TestApp::spawn_with(b, cfg).await;
    let url = format!("http://{}/slots", service.addr);
    let id = webhook_pathway(&app, &url).await;
    let chat = new_chat(
        &app,
        json!({"pathway_id": id, "request_data": {"name": "Ada"}}),
    )
    .await;

    let done = say(&app, &chat, Some("book me")).await;

    assert_eq!(service.bodies(), vec![json!({"name": "Ada"})]);
    assert_eq!(
        done["assistant_responses"],
        json!(["You're booked at 3pm, Ada."])
    );
    assert_eq!(done["variables"]["slot"], "3pm");
    assert_eq!(done["current_node_id"], "booked");
    assert_eq!(done["completed"], true);
}

async fn webhook_nodes_to_internal_addresses_are_refused(b: Backend) {
    let service = SlotService::start().await;
    // The default config allows no internal network.
    let app = TestApp::spawn(b).await;
    let url = format!("http://{}/slots", service.addr);
    let id = webhook_pathway(&app, &url).await;
    let chat = new_chat(
        &app,
        json!({"pathway_id": id, "request_data": {"name": "Ada"}}),
    )
    .await;

    let done = say(&app, &chat, Some("book me")).await;

    assert!(
        service.bodies().is_empty(),
        "the guard let a request through"
    );
    assert_eq!(
        done["assistant_responses"],
        json!(["Sorry, we could not check availability right now."])
    );
    assert_eq!(done["current_node_id"], "failed");
    assert!(done["variables"].get("slot").is_none());

    // A name that resolves to loopback is refused as well.
    let by_name = webhook_pathway(
        &app,
        &format!("http://localhost:{}/slots", service.addr.port()),
    )
    .await;
    let chat = new_chat(
        &app,
        json!({"pathway_id": by_name, "request_data": {"name": "Ada"}}),
    )
    .await;
    let done = say(&app, &chat, Some("book me")).await;
    assert_eq!(done["current_node_id"], "failed");
    assert!(service.bodies().is_empty());
}
