//! The inbound decision procedure (spec 7.3) over real HTTP: which conversation a user's
//! text lands on and whether the agent should answer it (the sandbox's `decision`), for the
//! default config, `restart_after_end_call: false`, an opt-out, `ignore_keywords` and human
//! mode. Every branch stores the text and fires its USER message webhook.

use serde_json::{json, Value};

use crate::{
    helpers::{Backend, TestApp, AGENT, USER},
    webhook_receiver::{loopback_config, Receiver},
    webhooks::{close, inbound},
};

crate::backend_tests!(
    default_config_answers_and_a_text_after_the_end_opens_a_new_conversation,
    without_restart_a_text_after_the_end_is_stored_on_the_ended_conversation,
    after_an_opt_out_texts_are_stored_on_the_closed_conversation_and_never_answered,
    ignore_keywords_are_stored_without_an_answer,
    human_mode_is_stored_without_an_answer_until_turned_off,
);

/// The user texts AGENT: `(conversation_id, decision)`.
pub async fn say(app: &TestApp, user: &str, text: &str) -> (String, String) {
    let d = inbound(app, user, text).await;
    (
        d["conversation_id"].as_str().unwrap().to_owned(),
        d["decision"].as_str().unwrap().to_owned(),
    )
}

/// Points AGENT's webhook at `rx` (so conversations opened by inbound texts have one too).
async fn number_webhook(app: &TestApp, rx: &Receiver) {
    let (s, body) = app
        .post(
            "/v1/sms/number/update",
            &app.key,
            &json!({"phone_number": AGENT, "webhook": rx.url("/number")}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
}

/// The USER messages webhooked for `conv`, in order.
pub fn user_texts(rx: &Receiver, conv: &str) -> Vec<String> {
    rx.accepted()
        .iter()
        .map(|r| r.json())
        .filter(|v| v["conversation_id"] == conv && v["type"] == "message" && v["sender"] == "USER")
        .map(|v| v["message"].as_str().unwrap().to_owned())
        .collect()
}

fn texts(c: &Value) -> Vec<String> {
    c["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["message"].as_str().unwrap().to_owned())
        .collect()
}

async fn default_config_answers_and_a_text_after_the_end_opens_a_new_conversation(b: Backend) {
    let app = TestApp::spawn_with(b, loopback_config()).await;
    let rx = Receiver::start().await;
    number_webhook(&app, &rx).await;
    // No conversation yet: the text opens one and wants an answer.
    let (first, d) = say(&app, USER, "hello?").await;
    assert_eq!(d, "reply");
    let (same, d) = say(&app, USER, "anyone there").await;
    assert_eq!((same.as_str(), d.as_str()), (first.as_str(), "reply"));
    close(&app, &first).await;
    // restart_after_end_call defaults to true: a new conversation, answered.
    let (second, d) = say(&app, USER, "me again").await;
    assert_ne!(second, first);
    assert_eq!(d, "reply");
    assert_eq!(app.conversation(&second).await["is_active"], true);
    assert_eq!(texts(&app.conversation(&first).await).len(), 2);
    app.drain().await;
    assert_eq!(user_texts(&rx, &first), ["hello?", "anyone there"]);
    assert_eq!(user_texts(&rx, &second), ["me again"]);
    // Each decision is counted.
    let (_, metrics) = app.get("/metrics", "").await;
    let metrics = metrics.as_str().unwrap().to_owned();
    assert!(
        metrics.contains("parley_inbound_total{decision=\"reply\"}"),
        "{metrics}"
    );
}

async fn without_restart_a_text_after_the_end_is_stored_on_the_ended_conversation(b: Backend) {
    let app = TestApp::spawn_with(b, loopback_config()).await;
    let rx = Receiver::start().await;
    number_webhook(&app, &rx).await;
    let (s, body) = app
        .post(
            "/v1/sms/number/update",
            &app.key,
            &json!({"phone_number": AGENT, "restart_after_end_call": false}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    let conv = app.send(USER, "Your order shipped").await["conversation_id"]
        .as_str()
        .unwrap()
        .to_owned();
    close(&app, &conv).await;
    let (landed, d) = say(&app, USER, "thanks!").await;
    assert_eq!((landed.as_str(), d.as_str()), (conv.as_str(), "ended"));
    let c = app.conversation(&conv).await;
    assert_eq!(c["is_active"], false, "stays ended");
    assert_eq!(texts(&c), ["Your order shipped", "thanks!"]);
    assert_eq!(
        app.list("").await["data"].as_array().unwrap().len(),
        1,
        "no new conversation"
    );
    app.drain().await;
    assert_eq!(user_texts(&rx, &conv), ["thanks!"]);
}

async fn after_an_opt_out_texts_are_stored_on_the_closed_conversation_and_never_answered(
    b: Backend,
) {
    let app = TestApp::spawn_with(b, loopback_config()).await;
    let rx = Receiver::start().await;
    number_webhook(&app, &rx).await;
    let conv = app.send(USER, "Deal ends today").await["conversation_id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.drain().await;
    assert_eq!(
        say(&app, USER, "STOP").await,
        (conv.clone(), "opted_out".into())
    );
    // restart_after_end_call is true, yet the opted-out thread takes the text, unanswered.
    assert_eq!(
        say(&app, USER, "why did you text me").await,
        (conv.clone(), "opted_out".into())
    );
    assert_eq!(app.conversation(&conv).await["is_active"], false);
    // START still opts back in as before (on a new conversation), and then texts are answered.
    let (after, d) = say(&app, USER, "START").await;
    assert_ne!(after, conv);
    assert_eq!(d, "opted_in");
    assert_eq!(say(&app, USER, "hi").await, (after.clone(), "reply".into()));
    app.drain().await;
    assert_eq!(user_texts(&rx, &conv), ["STOP", "why did you text me"]);
    assert_eq!(user_texts(&rx, &after), ["START", "hi"]);
}

async fn ignore_keywords_are_stored_without_an_answer(b: Backend) {
    let app = TestApp::spawn_with(b, loopback_config()).await;
    let rx = Receiver::start().await;
    number_webhook(&app, &rx).await;
    let (s, body) = app
        .post(
            "/v1/sms/update",
            &app.key,
            &json!({"phone_number": AGENT, "ignore_keywords": ["refund", "Agent please"]}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    let (conv, d) = say(&app, USER, "I want a REFUND now").await;
    assert_eq!(d, "ignored_keyword");
    assert_eq!(
        say(&app, USER, "AGENT PLEASE!").await,
        (conv.clone(), "ignored_keyword".into())
    );
    assert_eq!(
        say(&app, USER, "ok thanks").await,
        (conv.clone(), "reply".into())
    );
    assert_eq!(
        texts(&app.conversation(&conv).await),
        ["I want a REFUND now", "AGENT PLEASE!", "ok thanks"]
    );
    app.drain().await;
    assert_eq!(user_texts(&rx, &conv).len(), 3);
    // Clearing the list answers everything again.
    let (s, _) = app
        .post(
            "/v1/sms/update",
            &app.key,
            &json!({"phone_number": AGENT, "ignore_keywords": null}),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(say(&app, USER, "refund").await.1, "reply");
}

async fn human_mode_is_stored_without_an_answer_until_turned_off(b: Backend) {
    let app = TestApp::spawn_with(b, loopback_config()).await;
    let rx = Receiver::start().await;
    number_webhook(&app, &rx).await;
    let toggle = |on: bool| {
        let app = &app;
        async move {
            let (s, body) = app
                .post(
                    "/v1/sms/toggle",
                    &app.key,
                    &json!({"phone_number": AGENT, "on": on}),
                )
                .await;
            assert_eq!(s, 200, "{body}");
        }
    };
    toggle(true).await;
    let (conv, d) = say(&app, USER, "is a person there?").await;
    assert_eq!(d, "human_mode");
    // Human mode comes before the end: a closed conversation's restart is not answered.
    close(&app, &conv).await;
    let (second, d) = say(&app, USER, "hello again").await;
    assert_ne!(second, conv);
    assert_eq!(d, "human_mode");
    toggle(false).await;
    assert_eq!(
        say(&app, USER, "bye").await,
        (second.clone(), "reply".into())
    );
    app.drain().await;
    assert_eq!(user_texts(&rx, &conv), ["is a person there?"]);
    assert_eq!(user_texts(&rx, &second), ["hello again", "bye"]);
}
