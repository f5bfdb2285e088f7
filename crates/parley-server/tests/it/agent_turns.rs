//! The agent's turn on SMS conversations: a user's text is answered by the conversation's
//! pathway (no model needed for static nodes) or by the number's objective through the
//! language model, once per burst, never with an error string.

use serde_json::{json, Value};

use crate::{
    fake_model::{Answer, FakeModel},
    helpers::{test_config, Backend, TestApp, AGENT},
    pathways::reminder,
};

crate::backend_tests!(
    a_pathway_conversation_is_answered_from_its_current_node,
    the_objective_is_answered_by_the_model_with_the_conversation_as_context,
    a_burst_of_texts_during_a_turn_is_answered_once,
    a_failing_model_sends_the_fallback_reply,
    without_a_model_an_objective_number_stores_and_does_not_reply,
    a_send_without_agent_message_opens_with_the_pathway_s_start_node,
    a_send_without_agent_message_opens_with_the_objective,
    a_transfer_to_human_node_hands_the_conversation_off,
    resume_with_generate_reply_answers_what_came_during_the_handoff,
    a_pathway_that_needs_a_model_is_refused_at_send_time_without_one,
);

const USER: &str = "+15557654321";

async fn text(app: &TestApp, body: &str) -> Value {
    let (status, res) = app
        .post(
            "/v1/sandbox/inbound",
            &app.key,
            &json!({"from": USER, "to": AGENT, "message": body}),
        )
        .await;
    assert_eq!(status, 200, "{res}");
    res["data"].clone()
}

fn bodies(inbox: &[Value]) -> Vec<String> {
    inbox
        .iter()
        .map(|m| m["message"].as_str().unwrap().to_owned())
        .collect()
}

async fn a_pathway_conversation_is_answered_from_its_current_node(b: Backend) {
    let app = TestApp::spawn(b).await;
    let pathway = reminder(&app).await;
    let (status, res) = app
        .post(
            "/v1/sms/send",
            &app.key,
            &json!({"user_number": USER, "agent_number": AGENT, "pathway_id": pathway,
                    "pathway_version": "draft", "request_data": {"name": "Ada", "date": "May 2"},
                    "agent_message": "Hi Ada, a reminder of your appointment on May 2. Reply C to confirm or R to reschedule."}),
        )
        .await;
    assert_eq!(status, 200, "{res}");
    let conversation = res["data"]["conversation_id"].as_str().unwrap().to_owned();
    app.drain().await;
    // The user answers the opener, which was the start node: not C or R, so it asks again
    // (templated from request_data); then C confirms.
    text(&app, "what?").await;
    app.drain().await;
    text(&app, "C").await;
    app.drain().await;
    let got = bodies(&app.inbox(USER).await);
    assert_eq!(
        got[1..],
        [
            "Hi Ada, a reminder of your appointment on May 2. Reply C to confirm or R to reschedule.",
            "Thanks Ada, you're confirmed. See you then!",
        ],
        "{got:?}"
    );
    // The End Call node ended the conversation, and the state is stored on it.
    let c = app.conversation(&conversation).await;
    assert_eq!(c["is_active"], false, "{c}");
    let row = app
        .store
        .conversation(&app.org_id, &conversation)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.current_node_id.as_deref(), Some("confirmed"));
    assert_eq!(row.ended_reason.as_deref(), Some("ended"));
}

async fn model_app(b: Backend, fake: &FakeModel) -> TestApp {
    let mut cfg = test_config();
    cfg.language_model = fake.config();
    TestApp::spawn_with(b, cfg).await
}

async fn set_objective(app: &TestApp, objective: &str) {
    let (status, res) = app
        .post(
            "/v1/sms/number/update",
            &app.key,
            &json!({"phone_number": AGENT, "objective": objective}),
        )
        .await;
    assert_eq!(status, 200, "{res}");
}

async fn the_objective_is_answered_by_the_model_with_the_conversation_as_context(b: Backend) {
    let fake = FakeModel::start().await;
    let app = model_app(b, &fake).await;
    set_objective(&app, "You book tables at Luigi's.").await;
    app.send(USER, "Hi! Want to book a table?").await;
    app.drain().await;
    fake.push(Answer::reply("Sure, for how many people?"));
    text(&app, "Yes please, tonight").await;
    app.drain().await;
    assert_eq!(
        bodies(&app.inbox(USER).await),
        ["Hi! Want to book a table?", "Sure, for how many people?"]
    );
    let req = fake.only_request();
    let messages = req.messages();
    assert_eq!(messages[0].0, "system");
    assert!(
        messages[0].1.contains("You book tables at Luigi's."),
        "{messages:?}"
    );
    let roles: Vec<&str> = messages[1..].iter().map(|(r, _)| r.as_str()).collect();
    assert_eq!(roles, ["assistant", "user"], "{messages:?}");
    assert_eq!(messages[1].1, "Hi! Want to book a table?");
    assert_eq!(messages[2].1, "Yes please, tonight");
}

async fn a_burst_of_texts_during_a_turn_is_answered_once(b: Backend) {
    let fake = FakeModel::start().await;
    let app = model_app(b, &fake).await;
    set_objective(&app, "Answer questions.").await;
    // Three texts before any turn runs: one turn, all three in its context.
    for t in ["hello", "are you there?", "I need help"] {
        text(&app, t).await;
    }
    fake.push(Answer::reply("Hi, how can I help?"));
    app.drain().await;
    assert_eq!(bodies(&app.inbox(USER).await), ["Hi, how can I help?"]);
    let req = fake.only_request();
    let last = req.messages().last().unwrap().1.clone();
    assert_eq!(last, "hello\nare you there?\nI need help");
    // The next text is a new turn that sees the earlier exchange.
    fake.push(Answer::reply("Of course."));
    text(&app, "thanks").await;
    app.drain().await;
    assert_eq!(bodies(&app.inbox(USER).await).len(), 2);
    let second: Vec<(String, String)> = fake.requests()[1].messages()[1..].to_vec();
    let expected = [
        ("user", "hello"),
        ("user", "are you there?"),
        ("user", "I need help"),
        ("assistant", "Hi, how can I help?"),
        ("user", "thanks"),
    ]
    .map(|(r, t)| (r.to_owned(), t.to_owned()));
    assert_eq!(
        second, expected,
        "the earlier texts as they came, then the new one"
    );
}

async fn a_failing_model_sends_the_fallback_reply(b: Backend) {
    let fake = FakeModel::start().await;
    let app = model_app(b, &fake).await;
    set_objective(&app, "Answer questions.").await;
    fake.script(|_| Answer::status(500, "boom"));
    text(&app, "hello?").await;
    app.drain().await;
    let got = bodies(&app.inbox(USER).await);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0], app.app.state.config.language_model.fallback_reply);
    assert!(!got[0].contains("boom") && !got[0].contains("ERROR"));
}

async fn without_a_model_an_objective_number_stores_and_does_not_reply(b: Backend) {
    let app = TestApp::spawn(b).await;
    let stored = text(&app, "hello").await;
    app.drain().await;
    assert!(app.inbox(USER).await.is_empty());
    let c = app
        .conversation(stored["conversation_id"].as_str().unwrap())
        .await;
    assert_eq!(c["messages"].as_array().unwrap().len(), 1, "{c}");
    // And the turn is done: nothing is left due.
    assert_eq!(app.app.turn_worker.run_once().await.unwrap(), 0);
}

async fn a_send_without_agent_message_opens_with_the_pathway_s_start_node(b: Backend) {
    let app = TestApp::spawn(b).await;
    let pathway = reminder(&app).await;
    let (status, res) = app
        .post(
            "/v1/sms/send",
            &app.key,
            &json!({"user_number": USER, "agent_number": AGENT, "pathway_id": pathway,
                    "pathway_version": "draft", "request_data": {"name": "Bo", "date": "June 1"}}),
        )
        .await;
    assert_eq!(status, 200, "{res}");
    app.drain().await;
    let conversation = res["data"]["conversation_id"].as_str().unwrap();
    let row = app
        .store
        .conversation(&app.org_id, conversation)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.current_node_id.as_deref(), Some("remind"));
    text(&app, "R").await;
    app.drain().await;
    assert_eq!(
        bodies(&app.inbox(USER).await),
        [
            "Hi Bo, a reminder of your appointment on June 1. Reply C to confirm or R to reschedule.",
            "No problem, we'll call you to find another time.",
        ]
    );
}

async fn a_send_without_agent_message_opens_with_the_objective(b: Backend) {
    let fake = FakeModel::start().await;
    let app = model_app(b, &fake).await;
    set_objective(&app, "Remind people of their dentist appointment.").await;
    fake.push(Answer::reply(
        "Hi Cy, this is Bright Dental: see you Friday at 9?",
    ));
    let (status, res) = app
        .post(
            "/v1/sms/send",
            &app.key,
            &json!({"user_number": USER, "agent_number": AGENT, "request_data": {"name": "Cy"}}),
        )
        .await;
    assert_eq!(status, 200, "{res}");
    app.drain().await;
    assert_eq!(
        bodies(&app.inbox(USER).await),
        ["Hi Cy, this is Bright Dental: see you Friday at 9?"]
    );
    let system = fake.only_request().messages()[0].1.clone();
    assert!(
        system.contains("Remind people of their dentist appointment."),
        "{system}"
    );
    assert!(
        system.contains("\"name\":\"Cy\""),
        "request_data is context: {system}"
    );
    // The model failing sends nothing and says so.
    fake.script(|_| Answer::status(503, "down"));
    let got = app
        .post(
            "/v1/sms/send",
            &app.key,
            &json!({"user_number": "+15550001111", "agent_number": AGENT}),
        )
        .await;
    crate::helpers::assert_error(&got, 503, "MODEL_UNAVAILABLE");
}

async fn a_transfer_to_human_node_hands_the_conversation_off(b: Backend) {
    let app = TestApp::spawn(b).await;
    let id = crate::pathways::create(&app, &app.key, "Support").await;
    let nodes = json!([
        {"id": "hello", "type": "Default",
         "data": {"name": "Hello", "isStart": true, "text": "Hi! Reply AGENT to talk to a person."}},
        {"id": "human", "type": "Transfer to Human",
         "data": {"name": "Human", "text": "Connecting you to a person now."}}
    ]);
    let edges = json!([
        {"id": "e", "source": "hello", "target": "human",
         "data": {"parleyCondition": {"kind": "equals", "values": ["agent"]}}}
    ]);
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
            &json!({"user_number": USER, "agent_number": AGENT, "pathway_id": id, "pathway_version": "draft"}),
        )
        .await;
    assert_eq!(s, 200, "{res}");
    let conversation = res["data"]["conversation_id"].as_str().unwrap().to_owned();
    app.drain().await;
    text(&app, "Agent").await;
    app.drain().await;
    let c = app.conversation(&conversation).await;
    assert_eq!(c["handed_off"], true, "{c}");
    // Handed off: the next text is stored, and the agent stays quiet.
    let later = text(&app, "hello?").await;
    assert_eq!(later["decision"], "handed_off", "{later}");
    app.drain().await;
    assert_eq!(
        bodies(&app.inbox(USER).await),
        [
            "Hi! Reply AGENT to talk to a person.",
            "Connecting you to a person now."
        ]
    );
}

async fn resume_with_generate_reply_answers_what_came_during_the_handoff(b: Backend) {
    let fake = FakeModel::start().await;
    let app = model_app(b, &fake).await;
    set_objective(&app, "Answer questions.").await;
    let conversation = app.send(USER, "Hi, how can we help?").await["conversation_id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.drain().await;
    let (s, res) = app
        .post(
            &format!("/v1/sms/conversations/{conversation}/handoff"),
            &app.key,
            &json!({"reason": "vip"}),
        )
        .await;
    assert_eq!(s, 200, "{res}");
    // During the handoff the agent stays quiet: no model call.
    text(&app, "is anyone there?").await;
    app.drain().await;
    assert!(fake.requests().is_empty());
    fake.push(Answer::reply("Yes! Sorry for the wait."));
    let (s, res) = app
        .post(
            &format!("/v1/sms/conversations/{conversation}/resume"),
            &app.key,
            &json!({"generate_reply": true, "actor": "ops"}),
        )
        .await;
    assert_eq!(s, 200, "{res}");
    app.drain().await;
    assert_eq!(
        bodies(&app.inbox(USER).await),
        ["Hi, how can we help?", "Yes! Sorry for the wait."]
    );
    let asked = fake.only_request().messages();
    assert_eq!(asked.last().unwrap().1, "is anyone there?");
}

async fn a_pathway_that_needs_a_model_is_refused_at_send_time_without_one(b: Backend) {
    // Saved while the server had a model (written to the store here), sent now that it has
    // none: refused when sent, naming the node, not when the user answers.
    let app = TestApp::spawn(b).await;
    let id = "pw-needs-model";
    app.store
        .create_pathway(&app.org_id, id, "Needs a model", None, 0)
        .await
        .unwrap();
    let nodes = json!([
        {"id": "hi", "type": "Default", "data": {"name": "Hi", "isStart": true, "text": "Hi! What do you need?"}},
        {"id": "answer", "type": "Default", "data": {"name": "Answer", "prompt": "Answer the question."}}
    ]);
    let edges = json!([{"id": "e", "source": "hi", "target": "answer", "data": {"label": "user asks something"}}]);
    let update = parley_store::PathwayUpdate {
        name: None,
        description: None,
        draft: Some(parley_store::graph_of(nodes, edges)),
    };
    app.store
        .update_pathway(&app.org_id, id, &update, 0)
        .await
        .unwrap()
        .unwrap();
    let got = app
        .post(
            "/v1/sms/send",
            &app.key,
            &json!({"user_number": USER, "agent_number": AGENT, "pathway_id": id,
                    "pathway_version": "draft", "agent_message": "Hi! What do you need?"}),
        )
        .await;
    let msg = crate::helpers::assert_error(&got, 400, "MODEL_REQUIRED");
    assert!(msg.contains("\"answer\""), "{msg}");
    assert_eq!(app.store.queue_depth(i64::MAX).await.unwrap().queued, 0);
}
