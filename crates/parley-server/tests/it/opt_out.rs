//! Opt-out: STOP-style keywords in English, Spanish, French and Portuguese (via the sandbox
//! handset and via Twilio inbound), opting back in, refusing later sends, a message queued
//! before the STOP, and Twilio's own opt-out error (21610).

use serde_json::{json, Value};

use crate::{
    helpers::{assert_error, Backend, TestApp, AGENT, USER},
    twilio_sim::{self, Step, ACCOUNT},
    webhook_receiver::{loopback_config, Receiver},
    webhooks::inbound,
};

crate::backend_tests!(
    stop_in_every_language_ends_blacklisted_and_suppresses,
    start_opts_back_in_and_yes_alone_is_an_ordinary_answer,
    a_message_queued_before_the_stop_is_never_transmitted,
    twilio_inbound_stop_and_error_21610_suppress_too,
);

async fn send(app: &TestApp, user: &str, webhook: &str) -> (u16, Value) {
    let mut body =
        json!({"user_number": user, "agent_number": AGENT, "agent_message": "Deal ends today"});
    if !webhook.is_empty() {
        body["webhook"] = json!(webhook);
    }
    app.post("/v1/sms/send", &app.key, &body).await
}

async fn stop_in_every_language_ends_blacklisted_and_suppresses(b: Backend) {
    let app = TestApp::spawn_with(b, loopback_config()).await;
    let rx = Receiver::start().await;
    let words = [
        "STOP",
        " stop ",
        "Unsubscribe",
        "opt out",
        "PARAR",
        "baja",
        "Cancelar",
        "Arrêt",
        "désabonner",
        "PARE",
        "sair",
    ];
    for (i, word) in words.iter().enumerate() {
        let user = format!("+1555123{:04}", 100 + i);
        let (status, res) = send(&app, &user, &rx.url("/optout")).await;
        assert_eq!(status, 200, "{res}");
        let conv = res["data"]["conversation_id"].as_str().unwrap().to_owned();
        app.drain().await;
        let got = inbound(&app, &user, word).await;
        assert_eq!(got["conversation_id"], conv.as_str(), "{word}");
        app.drain().await;

        let c = app.conversation(&conv).await;
        assert_eq!(c["is_active"], false, "{word}: {c}");
        assert_eq!(
            c["messages"][1]["message"], *word,
            "the STOP message is stored"
        );
        assert!(app
            .store
            .is_suppressed(&app.org_id, AGENT, &user)
            .await
            .unwrap());
        let hooks: Vec<Value> = rx
            .accepted()
            .iter()
            .map(|r| r.json())
            .filter(|v| v["phone_number"] == user.as_str())
            .collect();
        let kinds: Vec<String> = hooks
            .iter()
            .map(|v| {
                format!(
                    "{}:{}",
                    v["type"].as_str().unwrap(),
                    v["status"].as_str().or(v["sender"].as_str()).unwrap()
                )
            })
            .collect();
        assert_eq!(
            kinds,
            ["message:AGENT", "message:USER", "status:blacklisted"],
            "{word}"
        );

        // Later sends are refused and nothing reaches the handset.
        let before = app.inbox(&user).await.len();
        let msg = assert_error(
            &send(&app, &user, &rx.url("/optout")).await,
            403,
            "RECIPIENT_OPTED_OUT",
        );
        assert!(msg.contains(&user), "{msg}");
        assert_error(
            &app.post(
                &format!("/v1/sms/conversations/{conv}/messages"),
                &app.key,
                &json!({"message": "a human tries"}),
            )
            .await,
            403,
            "RECIPIENT_OPTED_OUT",
        );
        app.drain().await;
        assert_eq!(app.inbox(&user).await.len(), before, "{word}");
    }
    // Another org's list is its own.
    let (other_org, _) = app.org("other").await;
    assert!(!app
        .store
        .is_suppressed(&other_org, AGENT, "+15551230100")
        .await
        .unwrap());
}

async fn start_opts_back_in_and_yes_alone_is_an_ordinary_answer(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (status, res) = send(&app, USER, "").await;
    assert_eq!(status, 200, "{res}");
    app.drain().await;
    inbound(&app, USER, "STOP").await;
    assert_error(&send(&app, USER, "").await, 403, "RECIPIENT_OPTED_OUT");
    inbound(&app, USER, "Start").await;
    assert!(!app
        .store
        .is_suppressed(&app.org_id, AGENT, USER)
        .await
        .unwrap());
    let (status, res) = send(&app, USER, "").await;
    assert_eq!(status, 200, "{res}");
    app.drain().await;
    assert_eq!(app.inbox(USER).await.len(), 2);

    // "YES" from someone who never opted out answers the agent; the conversation goes on.
    let other = "+15551230200";
    let (_, res) = send(&app, other, "").await;
    let conv = res["data"]["conversation_id"].as_str().unwrap().to_owned();
    inbound(&app, other, "Yes").await;
    inbound(&app, other, "please stop texting me at night").await;
    let c = app.conversation(&conv).await;
    assert_eq!(c["is_active"], true, "{c}");
    assert!(!app
        .store
        .is_suppressed(&app.org_id, AGENT, other)
        .await
        .unwrap());
}

async fn a_message_queued_before_the_stop_is_never_transmitted(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (status, res) = send(&app, USER, "").await;
    assert_eq!(status, 200, "{res}");
    let id = res["data"]["message_id"].as_i64().unwrap();
    // The user texts STOP before the queued message leaves.
    inbound(&app, USER, "STOP").await;
    app.drain().await;
    assert!(app.inbox(USER).await.is_empty());
    let m = app.store.message(id).await.unwrap().unwrap();
    assert_eq!(
        (m.status.as_deref(), m.error_code.as_deref()),
        (Some("failed"), Some("RECIPIENT_OPTED_OUT"))
    );
}

async fn twilio_inbound_stop_and_error_21610_suppress_too(b: Backend) {
    let (app, sim) = twilio_sim::spawn(b).await;
    let conv = app.send(USER, "hello").await["conversation_id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.drain().await;
    let sid = format!("SM{}", "7".repeat(32));
    let (s, _) = twilio_sim::callback(
        &app,
        "/v1/carriers/twilio/inbound",
        &[
            ("MessageSid", sid.as_str()),
            ("AccountSid", ACCOUNT),
            ("From", USER),
            ("To", AGENT),
            ("Body", "Arrêt"),
        ],
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(app.conversation(&conv).await["is_active"], false);
    assert!(app
        .store
        .is_suppressed(&app.org_id, AGENT, USER)
        .await
        .unwrap());

    // Twilio refuses a message with 21610: the recipient is suppressed and the
    // conversation ends, as if they had texted STOP here.
    let other = "+15551230300";
    sim.script([Step::error(400, 21610)]);
    let conv = app.send(other, "hello").await["conversation_id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.drain().await;
    assert!(app
        .store
        .is_suppressed(&app.org_id, AGENT, other)
        .await
        .unwrap());
    let c = app.conversation(&conv).await;
    assert_eq!(c["is_active"], false, "{c}");
    assert_error(
        &app.post(
            "/v1/sms/send",
            &app.key,
            &json!({"user_number": other, "agent_number": AGENT, "agent_message": "again"}),
        )
        .await,
        403,
        "RECIPIENT_OPTED_OUT",
    );
    assert_eq!(sim.posts().len(), 2, "nothing more went to Twilio");
}
