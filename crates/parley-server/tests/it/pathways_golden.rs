//! A golden conversation over SMS: the pathway shape of Bland's example (spec 8.3: a static
//! start node, a prompt node that extracts a variable and waits for its condition, a Webhook
//! node routing on its response, a Knowledge Base node, a global node with auto-return, an
//! End Call), driven through the HTTP API and the sandbox handset with a scripted model on
//! loopback, checking every reply, the variables and the end state.

use std::sync::{Arc, Mutex};

use axum::{extract::Path, routing::get, Json, Router};
use serde_json::{json, Value};

use crate::{
    fake_model::{Answer, FakeModel},
    helpers::{test_config, Backend, TestApp, AGENT},
};

crate::backend_tests!(the_bland_example_pathway_runs_over_sms,);

const USER: &str = "+15557650001";

/// An order API on loopback: `GET /orders/{n}` says the order shipped.
async fn order_api() -> (String, Arc<Mutex<Vec<String>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let app = Router::new().route(
        "/orders/{n}",
        get(move |Path(n): Path<String>| {
            let log = log.clone();
            async move {
                log.lock().unwrap().push(n);
                Json(json!({"status": "shipped"}))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), seen)
}

fn pathway(api: &str) -> (Value, Value) {
    let nodes = json!([
        {"id": "1", "type": "Default", "position": {"x": 0, "y": 0},
         "data": {"name": "Start", "isStart": true, "text": "Hi {{first_name}}, this is Acme. How can I help?"}},
        {"id": "2", "type": "Default", "position": {"x": 0, "y": 200},
         "data": {"name": "Collect order", "prompt": "Ask for the order number.",
                  "extractVars": [["order_number", "integer", "The order number"]],
                  "condition": "The user gave an order number", "tag": {"name": "order", "color": "#ff0000"}}},
        {"id": "3", "type": "Webhook", "position": {"x": 0, "y": 400},
         "data": {"name": "Lookup", "url": format!("{api}/orders/{{{{order_number}}}}"), "method": "GET",
                  "timeoutValue": 5, "responseData": [{"name": "status", "data": "$.status", "context": "order status"}],
                  "responsePathways": [["status", "==", "shipped", {"id": "4", "name": "Shipped"}],
                                       ["Default/Webhook Completion", "", "", {"id": "5", "name": "End"}]]}},
        {"id": "4", "type": "Knowledge Base", "position": {"x": 0, "y": 600},
         "data": {"name": "Shipping FAQ", "prompt": "Answer shipping questions.", "kb": "Ships in 2 days."}},
        {"id": "5", "type": "End Call", "position": {"x": 300, "y": 600}, "data": {"name": "Bye", "text": "Goodbye!"}},
        {"id": "6", "type": "Default", "position": {"x": 600, "y": 0},
         "data": {"name": "Hours", "isGlobal": true, "globalLabel": "user asks about opening hours",
                  "enableGlobalAutoReturn": true, "text": "We are open 9 to 5."}},
        {"globalConfig": {"globalPrompt": "You are Acme's friendly assistant."}}
    ]);
    let edges = json!([
        {"id": "e1", "source": "1", "target": "2", "type": "custom", "data": {"label": "user has an order question"}},
        {"id": "e2", "source": "2", "target": "3", "type": "custom", "data": {"label": "order number collected", "alwaysPick": true}},
        {"id": "e3", "source": "4", "target": "5", "type": "custom", "data": {"label": "user is done"}}
    ]);
    (nodes, edges)
}

/// Answers as a model would, by what each request asks and what the user last said.
fn model(body: &Value) -> Answer {
    let contents: Vec<String> = body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"].as_str().unwrap_or_default().to_owned())
        .collect();
    let all = contents.join("\n");
    let last_user = all
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("User:"))
        .unwrap_or_default()
        .to_lowercase();
    let digits: String = last_user.chars().filter(char::is_ascii_digit).collect();
    if contents[0].starts_with("You pick the option") {
        let want = if last_user.contains("open") {
            "opening hours"
        } else if last_user.contains("order") {
            "order question"
        } else if last_user.contains("all") {
            "done"
        } else {
            return Answer::reply("0");
        };
        let n = all
            .lines()
            .find(|l| l.contains(want) && l.chars().next().is_some_and(|c| c.is_ascii_digit()))
            .and_then(|l| l.split('.').next())
            .unwrap_or("0");
        Answer::reply(n)
    } else if contents[0].starts_with("You extract information") {
        match digits.parse::<i64>() {
            Ok(n) => Answer::reply(&json!({"order_number": n}).to_string()),
            Err(_) => Answer::reply(r#"{"order_number": null}"#),
        }
    } else if contents[0].starts_with("You judge whether") {
        Answer::reply(if digits.is_empty() { "NO" } else { "YES" })
    } else if all.contains("Ask for the order number.") {
        Answer::reply("What's your order number?")
    } else if all.contains("Answer shipping questions.") {
        Answer::reply("Your order shipped and arrives in 2 days.")
    } else {
        Answer::status(500, "unscripted")
    }
}

async fn text(app: &TestApp, body: &str) {
    let (status, res) = app
        .post(
            "/v1/sandbox/inbound",
            &app.key,
            &json!({"from": USER, "to": AGENT, "message": body}),
        )
        .await;
    assert_eq!(status, 200, "{res}");
    app.drain().await;
}

async fn the_bland_example_pathway_runs_over_sms(b: Backend) {
    let fake = FakeModel::start().await;
    fake.script(model);
    let (api, looked_up) = order_api().await;
    let mut cfg = test_config();
    cfg.language_model = fake.config();
    cfg.webhooks.allowed_networks = vec!["127.0.0.0/8".into()];
    let app = TestApp::spawn_with(b, cfg).await;
    let id = crate::pathways::create(&app, &app.key, "Inbound support").await;
    let (nodes, edges) = pathway(&api);
    let (s, body) = app
        .post(
            &format!("/v1/pathway/{id}"),
            &app.key,
            &json!({"nodes": nodes, "edges": edges}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    let (s, res) = app
        .post(
            "/v1/sms/send",
            &app.key,
            &json!({"user_number": USER, "agent_number": AGENT, "pathway_id": id,
                    "pathway_version": "draft", "request_data": {"first_name": "Ada"}}),
        )
        .await;
    assert_eq!(s, 200, "{res}");
    let conversation = res["data"]["conversation_id"].as_str().unwrap().to_owned();
    app.drain().await;

    text(&app, "Where is my order?").await;
    text(&app, "It's 4521").await;
    text(&app, "When are you open?").await;
    text(&app, "Thanks, that's all").await;

    let replies: Vec<String> = app
        .inbox(USER)
        .await
        .iter()
        .map(|m| m["message"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        replies,
        [
            "Hi Ada, this is Acme. How can I help?",
            "What's your order number?",
            "Your order shipped and arrives in 2 days.",
            "We are open 9 to 5.",
            "Goodbye!",
        ]
    );
    assert_eq!(
        *looked_up.lock().unwrap(),
        ["4521"],
        "one lookup, templated"
    );
    let row = app
        .store
        .conversation(&app.org_id, &conversation)
        .await
        .unwrap()
        .unwrap();
    let vars: Value = serde_json::from_str(row.variables.as_deref().unwrap()).unwrap();
    assert_eq!(vars["order_number"], 4521, "{vars}");
    assert_eq!(vars["status"], "shipped", "{vars}");
    assert_eq!(vars["first_name"], "Ada", "{vars}");
    assert_eq!(row.current_node_id.as_deref(), Some("5"));
    assert_eq!(row.ended_reason.as_deref(), Some("ended"));
    assert_eq!(row.is_active, 0);
    // The tagged node's tag, once, in the list row.
    let (s, list) = app.get("/v1/sms/conversations", &app.key).await;
    assert_eq!(s, 200, "{list}");
    let listed = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == conversation.as_str())
        .unwrap()
        .clone();
    assert_eq!(
        listed["pathway_tags"],
        json!([{"name": "order", "color": "#ff0000"}]),
        "{listed}"
    );
}
