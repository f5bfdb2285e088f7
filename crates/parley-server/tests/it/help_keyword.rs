//! HELP: answered with the number's `help_message` in every listed language, without an
//! agent turn, and even after the user opted out; an ordinary message when the number has
//! no help text.

use serde_json::{json, Value};

use crate::{
    fake_model::{Answer, FakeModel},
    helpers::{assert_error, Backend, TestApp, AGENT},
    inbound::say,
    webhook_receiver::Receiver,
};

crate::backend_tests!(
    help_is_answered_with_the_help_text_and_no_turn,
    help_is_answered_even_after_stop,
    without_help_text_help_is_an_ordinary_message,
);

const HELP_TEXT: &str = "Acme Dental reminders. Call 555-0100 for help. Reply STOP to opt out.";

/// An app whose number answers with a model (so a turn would show up as a model call),
/// with `help_message` when given.
async fn app_with(b: Backend, fake: &FakeModel, help: Option<&str>) -> TestApp {
    let mut cfg = crate::webhook_receiver::loopback_config();
    cfg.language_model = fake.config();
    let app = TestApp::spawn_with(b, cfg).await;
    let mut update = json!({"phone_number": AGENT, "objective": "Book dental appointments."});
    if let Some(help) = help {
        update["help_message"] = json!(help);
    }
    let (status, body) = app.post("/v1/sms/number/update", &app.key, &update).await;
    assert_eq!(status, 200, "{body}");
    fake.script(|_| Answer::reply("Happy to help you book."));
    app
}

fn bodies(inbox: &[Value]) -> Vec<String> {
    inbox
        .iter()
        .map(|m| m["message"].as_str().unwrap().to_owned())
        .collect()
}

async fn help_is_answered_with_the_help_text_and_no_turn(b: Backend) {
    let fake = FakeModel::start().await;
    let app = app_with(b, &fake, Some(HELP_TEXT)).await;
    let rx = Receiver::start().await;
    let (status, body) = app
        .post(
            "/v1/sms/number/update",
            &app.key,
            &json!({"phone_number": AGENT, "webhook": rx.url("/hooks")}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    for (i, word) in ["HELP", " help ", "Info", "AYUDA", "aide", "Ajuda"]
        .iter()
        .enumerate()
    {
        let user = format!("+1555124{:04}", i);
        let (conv, decision) = say(&app, &user, word).await;
        assert_eq!(decision, "help", "{word}");
        app.drain().await;
        assert_eq!(bodies(&app.inbox(&user).await), [HELP_TEXT], "{word}");
        let c = app.conversation(&conv).await;
        assert_eq!(c["messages"][0]["message"], *word);
        assert_eq!(c["messages"][1]["message"], HELP_TEXT);
        assert_eq!(c["messages"][1]["sender"], "AGENT", "{c}");
        // Both the question and the answer reach the customer's webhook.
        let hooked: Vec<Value> = rx
            .accepted()
            .iter()
            .map(|r| r.json())
            .filter(|v| v["conversation_id"] == conv.as_str() && v["type"] == "message")
            .map(|v| v["message"].clone())
            .collect();
        assert_eq!(hooked, [json!(word), json!(HELP_TEXT)]);
    }
    assert!(fake.requests().is_empty(), "HELP never runs a turn");
    // A question that merely mentions help is an ordinary message.
    let (_, decision) = say(&app, "+15551249999", "can you help me book?").await;
    assert_eq!(decision, "reply");
}

async fn help_is_answered_even_after_stop(b: Backend) {
    let fake = FakeModel::start().await;
    let app = app_with(b, &fake, Some(HELP_TEXT)).await;
    let user = "+15551240100";
    let (conv, decision) = say(&app, user, "STOP").await;
    assert_eq!(decision, "opted_out");
    app.drain().await;
    let (again, decision) = say(&app, user, "HELP").await;
    assert_eq!(decision, "help");
    assert_eq!(again, conv, "lands on the ended conversation, opens none");
    app.drain().await;
    assert_eq!(bodies(&app.inbox(user).await), [HELP_TEXT]);
    let c = app.conversation(&conv).await;
    assert_eq!(c["is_active"], false);
    // Still opted out: an ordinary send is refused.
    let got = app
        .post(
            "/v1/sms/send",
            &app.key,
            &json!({"user_number": user, "agent_number": AGENT, "agent_message": "Sale!"}),
        )
        .await;
    assert_error(&got, 403, "RECIPIENT_OPTED_OUT");
}

async fn without_help_text_help_is_an_ordinary_message(b: Backend) {
    let fake = FakeModel::start().await;
    let app = app_with(b, &fake, None).await;
    let user = "+15551240200";
    let (_, decision) = say(&app, user, "HELP").await;
    assert_eq!(decision, "reply");
    app.drain().await;
    assert_eq!(bodies(&app.inbox(user).await), ["Happy to help you book."]);
    // A blank help text is refused, naming the field; a null clears it.
    for bad in [json!(""), json!("  "), json!("x".repeat(1601))] {
        let got = app
            .post(
                "/v1/sms/number/update",
                &app.key,
                &json!({"phone_number": AGENT, "help_message": bad}),
            )
            .await;
        let message = assert_error(&got, 400, "INVALID_PARAMETER");
        assert!(message.contains("help_message"), "{message}");
    }
}
