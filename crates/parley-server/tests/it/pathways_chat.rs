//! The chat harness driving real turns: the appointment reminder with no model, a prompt
//! pathway with the scripted fake model, model failure and timeout → fallback reply, and a
//! pathway transfer. Webhook nodes are in `pathways_webhooks.rs`.

use serde_json::{json, Value};

use crate::{
    fake_model::{Answer, FakeModel},
    helpers::{assert_error, test_config, Backend, TestApp},
    pathways::{create, prompt_graph, reminder},
};

crate::backend_tests!(
    the_appointment_reminder_runs_without_a_model,
    a_prompt_pathway_runs_on_the_model,
    a_failing_or_slow_model_gets_the_fallback_reply,
    a_transfer_pathway_node_opens_the_other_pathway,
);

pub async fn new_chat(app: &TestApp, body: Value) -> String {
    let (s, res) = app.post("/v1/pathway/chat/create", &app.key, &body).await;
    assert_eq!(s, 200, "{res}");
    assert_eq!(res["errors"], Value::Null);
    assert_eq!(res["data"]["message"], "Chat instance created successfully");
    res["data"]["chat_id"].as_str().unwrap().to_owned()
}

/// Sends one message; panics unless it answers 200, and returns `data`.
pub async fn say(app: &TestApp, chat: &str, message: Option<&str>) -> Value {
    let body = match message {
        Some(m) => json!({"message": m}),
        None => json!({}),
    };
    let (s, res) = app
        .post(&format!("/v1/pathway/chat/{chat}"), &app.key, &body)
        .await;
    assert_eq!(s, 200, "{res}");
    assert_eq!(res["errors"], Value::Null);
    res["data"].clone()
}

async fn the_appointment_reminder_runs_without_a_model(b: Backend) {
    let app = TestApp::spawn(b).await;
    let id = reminder(&app).await;
    let vars = json!({"name": "Ada", "date": "Friday at 3pm"});
    let chat = new_chat(&app, json!({"pathway_id": id, "request_data": vars})).await;

    // No message: the agent opens with the start node.
    let first = say(&app, &chat, None).await;
    let reminder_text =
        "Hi Ada, a reminder of your appointment on Friday at 3pm. Reply C to confirm or R to reschedule.";
    assert_eq!(first["assistant_responses"], json!([reminder_text]));
    assert_eq!(
        (
            first["current_node_id"].clone(),
            first["current_node_name"].clone()
        ),
        (json!("remind"), json!("Reminder"))
    );
    assert_eq!(first["completed"], false);
    assert_eq!(first["variables"], vars);

    // Neither condition holds: the reminder is said again.
    let unclear = say(&app, &chat, Some("what is this about?")).await;
    assert_eq!(unclear["assistant_responses"], json!([reminder_text]));
    assert_eq!(unclear["current_node_id"], "remind");

    let done = say(&app, &chat, Some("  Confirm! ")).await;
    assert_eq!(
        done["assistant_responses"],
        json!(["Thanks Ada, you're confirmed. See you then!"])
    );
    assert_eq!(done["current_node_id"], "confirmed");
    assert_eq!(done["current_node_name"], "Confirmed");
    assert_eq!(done["completed"], true);
    assert_eq!(done["pathway_id"], id.as_str());
    assert_eq!(
        done["chat_history"],
        json!([
            {"role": "assistant", "content": reminder_text},
            {"role": "user", "content": "what is this about?"},
            {"role": "assistant", "content": reminder_text},
            {"role": "user", "content": "  Confirm! "},
            {"role": "assistant", "content": "Thanks Ada, you're confirmed. See you then!"}
        ])
    );
    let after = app
        .post(
            &format!("/v1/pathway/chat/{chat}"),
            &app.key,
            &json!({"message": "hello?"}),
        )
        .await;
    assert_error(&after, 400, "CHAT_COMPLETED");

    // A first message gets the start node (the user has not seen it yet); the other branch.
    let chat = new_chat(&app, json!({"pathway_id": id, "request_data": vars})).await;
    let first = say(&app, &chat, Some("hello")).await;
    assert_eq!(first["assistant_responses"], json!([reminder_text]));
    let later = say(&app, &chat, Some("can we do another day")).await;
    assert_eq!(later["current_node_id"], "reschedule");
    assert_eq!(later["completed"], true);

    // Starting elsewhere, and other orgs' chats.
    let chat = new_chat(
        &app,
        json!({"pathway_id": id, "start_node_id": "reschedule", "pathway_version": "draft"}),
    )
    .await;
    let (_, other_key) = app.org("globex").await;
    assert_error(
        &app.post(
            &format!("/v1/pathway/chat/{chat}"),
            &other_key,
            &json!({"message": "hi"}),
        )
        .await,
        404,
        "CHAT_NOT_FOUND",
    );
    let opened = say(&app, &chat, Some("hi")).await;
    assert_eq!(
        opened["assistant_responses"],
        json!(["No problem, we'll call you to find another time."])
    );
    assert_eq!(opened["pathway_version"], "draft");
}

/// Answers like a model would for the prompt pathway, by what each request asks.
fn script(body: &Value) -> Answer {
    let all: String = body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"].as_str().unwrap_or_default().to_owned())
        .collect::<Vec<_>>()
        .join("\n");
    if all.contains("You pick the option") {
        Answer::reply("1")
    } else if all.contains("You extract information") {
        Answer::reply(r#"{"party_size": 4}"#)
    } else if all.contains("Greet Ada") {
        Answer::reply("Hello Ada! How can I help?")
    } else if all.contains("Ask for the date") {
        Answer::reply("Lovely. Which date would you like?")
    } else {
        Answer::status(500, "unscripted")
    }
}

async fn model_app(b: Backend, fake: &FakeModel) -> TestApp {
    let mut cfg = test_config();
    cfg.language_model = fake.config();
    TestApp::spawn_with(b, cfg).await
}

async fn prompt_pathway(app: &TestApp) -> String {
    let id = create(app, &app.key, "Bookings").await;
    let (nodes, edges) = prompt_graph();
    let (s, body) = app
        .post(
            &format!("/v1/pathway/{id}"),
            &app.key,
            &json!({"nodes": nodes, "edges": edges}),
        )
        .await;
    assert_eq!(s, 200, "a server with a model accepts it: {body}");
    id
}

async fn a_prompt_pathway_runs_on_the_model(b: Backend) {
    let fake = FakeModel::start().await;
    fake.script(script);
    let app = model_app(b, &fake).await;
    let id = prompt_pathway(&app).await;
    let chat = new_chat(
        &app,
        json!({"pathway_id": id, "request_data": {"name": "Ada"}}),
    )
    .await;

    let hello = say(&app, &chat, Some("hi")).await;
    assert_eq!(
        hello["assistant_responses"],
        json!(["Hello Ada! How can I help?"])
    );
    assert_eq!(hello["current_node_id"], "greet");

    let booking = say(&app, &chat, Some("I'd like a table")).await;
    assert_eq!(
        booking["assistant_responses"],
        json!(["Lovely. Which date would you like?"])
    );
    assert_eq!(booking["current_node_name"], "Booking");

    let extracted = say(&app, &chat, Some("Friday, there will be 4 of us")).await;
    assert_eq!(extracted["variables"]["party_size"], 4);
    assert_eq!(extracted["variables"]["name"], "Ada");

    // The route choice listed both labels, and the dialogue saw the conversation.
    let requests = fake.requests();
    let choose = requests
        .iter()
        .find(|r| r.messages()[0].1.contains("You pick the option"))
        .unwrap();
    let question = &choose.messages()[1].1;
    assert!(
        question.contains("1. The user wants to book a table"),
        "{question}"
    );
    assert!(
        question.contains("2. The user wants to leave"),
        "{question}"
    );
    assert!(question.contains("User: I'd like a table"), "{question}");
    let dialogue = requests
        .iter()
        .find(|r| r.messages()[0].1.contains("Ask for the date"))
        .unwrap();
    assert!(dialogue
        .messages()
        .contains(&("user".to_owned(), "I'd like a table".to_owned())));
}

async fn a_failing_or_slow_model_gets_the_fallback_reply(b: Backend) {
    let fake = FakeModel::start().await;
    let mut cfg = test_config();
    cfg.language_model = fake.config();
    cfg.language_model.timeout_ms = 200;
    cfg.language_model.turn_budget_ms = 300;
    let fallback = cfg.language_model.fallback_reply.clone();
    let app = TestApp::spawn_with(b, cfg).await;
    let id = prompt_pathway(&app).await;
    let chat = new_chat(
        &app,
        json!({"pathway_id": id, "request_data": {"name": "Ada"}}),
    )
    .await;

    // 503 twice (the retry fails too): the fallback, and the state is unchanged.
    fake.push(Answer::status(503, "overloaded"));
    fake.push(Answer::status(503, "overloaded"));
    let failed = say(&app, &chat, Some("hi")).await;
    assert_eq!(failed["assistant_responses"], json!([fallback]));
    assert_eq!(failed["current_node_id"], Value::Null);
    assert_eq!(fake.requests().len(), 2, "one retry of a retryable failure");

    // Slower than the turn's budget.
    fake.push(Answer::reply("too late").late(5_000));
    let slow = say(&app, &chat, Some("hello?")).await;
    assert_eq!(slow["assistant_responses"], json!([fallback]));

    // A final refusal is not retried.
    fake.push(Answer::status(401, "bad key"));
    let before = fake.requests().len();
    let refused = say(&app, &chat, Some("anyone?")).await;
    assert_eq!(refused["assistant_responses"], json!([fallback]));
    assert_eq!(fake.requests().len(), before + 1);

    // The model is back: the turn goes on from where it was.
    fake.script(script);
    let ok = say(&app, &chat, Some("hi again")).await;
    assert_eq!(
        ok["assistant_responses"],
        json!(["Hello Ada! How can I help?"])
    );
    let history = ok["chat_history"].as_array().unwrap();
    assert_eq!(history.len(), 8);
    assert!(history
        .iter()
        .all(|m| !m["content"].as_str().unwrap().contains("503")));

    // A chat opening at a chosen node whose first turn fell back still opens there next.
    let chat = new_chat(
        &app,
        json!({"pathway_id": id, "start_node_id": "book", "request_data": {"name": "Ada"}}),
    )
    .await;
    fake.push(Answer::status(401, "bad key"));
    let failed = say(&app, &chat, Some("hi")).await;
    assert_eq!(failed["assistant_responses"], json!([fallback]));
    let opened = say(&app, &chat, Some("hello?")).await;
    assert_eq!(
        opened["assistant_responses"],
        json!(["Lovely. Which date would you like?"])
    );
    assert_eq!(opened["current_node_id"], "book");
}

async fn a_transfer_pathway_node_opens_the_other_pathway(b: Backend) {
    let app = TestApp::spawn(b).await;
    let billing = create(&app, &app.key, "Billing").await;
    let (s, body) = app
        .post(
            &format!("/v1/pathway/{billing}"),
            &app.key,
            &json!({"nodes": [
                {"id": "b-start", "type": "Default", "data": {"name": "Billing desk", "isStart": true, "text": "Billing here, {{name}}. What is your invoice number?"}}
            ], "edges": []}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    let front = create(&app, &app.key, "Front desk").await;
    let (s, body) = app
        .post(
            &format!("/v1/pathway/{front}"),
            &app.key,
            &json!({"nodes": [
                {"id": "hello", "type": "Default", "data": {"isStart": true, "text": "Hi! Reply BILL for billing."}},
                {"id": "to-billing", "type": "Transfer Pathway", "data": {"text": "Transferring you.", "transferPathway": billing}}
            ], "edges": [
                {"id": "e", "source": "hello", "target": "to-billing", "data": {"parleyCondition": {"kind": "equals", "values": ["bill"]}}}
            ]}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    let chat = new_chat(
        &app,
        json!({"pathway_id": front, "request_data": {"name": "Ada"}}),
    )
    .await;

    say(&app, &chat, None).await;
    let moved = say(&app, &chat, Some("bill")).await;

    assert_eq!(
        moved["assistant_responses"],
        json!([
            "Transferring you.",
            "Billing here, Ada. What is your invoice number?"
        ])
    );
    assert_eq!(moved["pathway_id"], billing.as_str());
    assert_eq!(
        (
            moved["current_node_id"].clone(),
            moved["current_node_name"].clone()
        ),
        (json!("b-start"), json!("Billing desk"))
    );
    // The chat now lives on the billing pathway.
    let next = say(&app, &chat, Some("INV-7")).await;
    assert_eq!(next["pathway_id"], billing.as_str());
    assert_eq!(next["current_node_id"], "b-start");
}
