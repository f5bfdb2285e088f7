//! Handoff and resume (spec 2.16, 2.17) over real HTTP on the fake clock: the agent goes
//! silent, inbound texts are still stored and webhooked, the timers are suspended and
//! re-armed, each transition fires one status webhook (to the handoff's own URL when it
//! gives one), the team's SMS alert reaches its handset, and the error paths.

use serde_json::{json, Value};

use crate::{
    helpers::{assert_error, Backend, TestApp, AGENT, USER},
    inbound::{say, user_texts},
    webhook_receiver::{loopback_config, Receiver},
    webhooks::close,
};

crate::backend_tests!(
    handoff_silences_the_agent_and_suspends_timers_until_resume,
    notify_number_gets_an_alert_and_webhook_overrides_the_url,
    resume_and_handoff_refuse_what_they_cannot_do,
);

const TEAM: &str = "+15557770000";

async fn hand_off(app: &TestApp, conv: &str, body: &Value) -> (u16, Value) {
    app.post(
        &format!("/v1/sms/conversations/{conv}/handoff"),
        &app.key,
        body,
    )
    .await
}

async fn resume(app: &TestApp, conv: &str, body: &Value) -> (u16, Value) {
    app.post(
        &format!("/v1/sms/conversations/{conv}/resume"),
        &app.key,
        body,
    )
    .await
}

/// The status webhooks `rx` accepted for `conv`, as `(path, body)`.
fn statuses(rx: &Receiver, conv: &str) -> Vec<(String, Value)> {
    rx.accepted()
        .into_iter()
        .map(|r| (r.path.clone(), r.json()))
        .filter(|(_, v)| v["conversation_id"] == conv && v["type"] == "status")
        .collect()
}

fn inbox_texts(inbox: &[Value]) -> Vec<String> {
    inbox
        .iter()
        .map(|m| m["message"].as_str().unwrap().to_owned())
        .collect()
}

/// AGENT with timers (warning at 300 s, timeout at 600 s) and its webhook at `rx`.
async fn configure(app: &TestApp, rx: &Receiver) {
    let cfg = json!({"phone_number": AGENT, "time_out": 600, "warning_time": 300,
        "warning_message": "Still there?", "timeout_message": "Closing this chat.",
        "webhook": rx.url("/number")});
    let (s, body) = app.post("/v1/sms/number/update", &app.key, &cfg).await;
    assert_eq!(s, 200, "{body}");
}

async fn handoff_silences_the_agent_and_suspends_timers_until_resume(b: Backend) {
    let app = TestApp::spawn_with(b, loopback_config()).await;
    let rx = Receiver::start().await;
    configure(&app, &rx).await;
    let conv = app.send(USER, "Let me get someone").await["conversation_id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.drain().await;
    assert_eq!(
        app.store.timer_stats().await.unwrap().1,
        2,
        "armed by the send"
    );

    let body =
        json!({"reason": "billing dispute", "actor": "ops@acme", "metadata": {"ticket": 42}});
    let (s, res) = hand_off(&app, &conv, &body).await;
    assert_eq!(s, 200, "{res}");
    assert_eq!(res["data"]["handed_off"], true);
    assert_eq!(res["data"]["message"], "Conversation handed off");
    // Idempotent: the second call changes nothing and fires nothing.
    let (s, again) = hand_off(&app, &conv, &json!({"reason": "again"})).await;
    assert_eq!(s, 200, "{again}");
    assert_eq!(again["data"]["message"], "Conversation already handed off");
    assert_eq!(again["data"]["handed_off_at"], res["data"]["handed_off_at"]);
    let c = app.conversation(&conv).await;
    assert_eq!(c["handed_off"], true);
    assert_eq!(c["handed_off_at"], res["data"]["handed_off_at"]);
    assert_eq!(c["handoff"]["reason"], "billing dispute");

    // An hour of silence: no warning, no timeout, still active.
    app.advance(3_600_000).await;
    assert_eq!(inbox_texts(&app.inbox(USER).await), ["Let me get someone"]);
    assert_eq!(app.conversation(&conv).await["is_active"], true);
    // The user writes: stored, webhooked as USER, not answered.
    assert_eq!(
        say(&app, USER, "hello?").await,
        (conv.clone(), "handed_off".into())
    );
    // A human answers on the thread; even a message sent as AGENT arms no timer meanwhile.
    for (text, sender) in [("Hi, I'm Dana", "HUMAN"), ("(sent for Dana)", "AGENT")] {
        let (s, res) = app
            .post(
                &format!("/v1/sms/conversations/{conv}/messages"),
                &app.key,
                &json!({"message": text, "sender": sender}),
            )
            .await;
        assert_eq!(s, 200, "{res}");
    }
    app.drain().await;
    app.advance(3_600_000).await;
    assert_eq!(
        inbox_texts(&app.inbox(USER).await),
        ["Let me get someone", "Hi, I'm Dana", "(sent for Dana)"]
    );
    assert_eq!(app.store.timer_stats().await.unwrap().1, 0);
    assert_eq!(user_texts(&rx, &conv), ["hello?"]);
    let hooks = statuses(&rx, &conv);
    assert_eq!(hooks.len(), 1, "{hooks:?}");
    let (path, hook) = &hooks[0];
    assert_eq!(path, "/number");
    assert_eq!(hook["status"], "human_handoff");
    assert_eq!(
        hook["handoff"],
        json!({"reason": "billing dispute", "actor": "ops@acme", "metadata": {"ticket": 42}, "notify_number": null})
    );

    // Resume with a takeover message at a given node.
    let (s, res) = resume(
        &app,
        &conv,
        &json!({"node_id": "after_billing", "message": "I'm back to help.", "actor": "ops@acme"}),
    )
    .await;
    assert_eq!(s, 200, "{res}");
    assert_eq!(res["data"]["current_node_id"], "after_billing");
    let c = app.conversation(&conv).await;
    assert_eq!(
        (&c["handed_off"], &c["handoff"], &c["current_node_id"]),
        (&json!(false), &Value::Null, &json!("after_billing"))
    );
    app.drain().await;
    let sent_at = app.inbox(USER).await;
    assert_eq!(sent_at.last().unwrap()["message"], "I'm back to help.");
    // The timers run again: the warning 300 s after the takeover message.
    app.advance(299_999).await;
    assert_eq!(app.inbox(USER).await.len(), 4);
    app.advance(1).await;
    assert_eq!(
        app.inbox(USER).await.last().unwrap()["message"],
        "Still there?"
    );
    let hooks = statuses(&rx, &conv);
    let kinds: Vec<&str> = hooks
        .iter()
        .map(|(_, v)| v["status"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["human_handoff", "human_handoff_ended"]);
    assert_eq!(
        hooks[1].1["resume"],
        json!({"actor": "ops@acme", "node_id": "after_billing"})
    );
    // A second resume has nothing to resume, and the agent answers again.
    assert_error(
        &resume(&app, &conv, &json!({})).await,
        400,
        "CONVERSATION_NOT_HANDED_OFF",
    );
    assert_eq!(
        say(&app, USER, "thanks").await,
        (conv.clone(), "reply".into())
    );
    app.drain().await;
    assert_eq!(
        statuses(&rx, &conv).len(),
        2,
        "still one webhook per transition"
    );
}

async fn notify_number_gets_an_alert_and_webhook_overrides_the_url(b: Backend) {
    let app = TestApp::spawn_with(b, loopback_config()).await;
    let rx = Receiver::start().await;
    configure(&app, &rx).await;
    let conv = app.send(USER, "One moment").await["conversation_id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.drain().await;
    let body =
        json!({"reason": "wants a manager", "notify_number": TEAM, "webhook": rx.url("/team")});
    let (s, res) = hand_off(&app, &conv, &body).await;
    assert_eq!(s, 200, "{res}");
    assert!(res["data"]["alert_message_id"].is_i64(), "{res}");
    app.drain().await;
    let alert = app.inbox(TEAM).await;
    assert_eq!(alert.len(), 1, "{alert:?}");
    assert_eq!(alert[0]["from"], AGENT);
    let text = alert[0]["message"].as_str().unwrap();
    assert!(
        text.contains(USER) && text.contains(&conv) && text.contains("wants a manager"),
        "{text}"
    );
    // The alert is not part of the user's thread, and the user's handset never sees it.
    assert_eq!(
        app.conversation(&conv).await["messages"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(inbox_texts(&app.inbox(USER).await), ["One moment"]);
    // The alert does not arm the team conversation's timers either.
    app.advance(3_600_000).await;
    assert_eq!(app.inbox(TEAM).await.len(), 1);
    // Both transition webhooks go to the handoff's URL; ordinary ones stay on the number's.
    let (s, res) = resume(&app, &conv, &json!({})).await;
    assert_eq!(s, 200, "{res}");
    say(&app, USER, "ok").await;
    app.drain().await;
    let paths: Vec<(String, String)> = statuses(&rx, &conv)
        .into_iter()
        .map(|(p, v)| (p, v["status"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(
        paths,
        [
            ("/team".to_owned(), "human_handoff".to_owned()),
            ("/team".to_owned(), "human_handoff_ended".to_owned())
        ]
    );
    assert_eq!(statuses(&rx, &conv)[0].1["handoff"]["notify_number"], TEAM);
    assert!(rx
        .accepted()
        .iter()
        .any(|r| r.path == "/number" && r.json()["message"] == "ok"));
}

async fn resume_and_handoff_refuse_what_they_cannot_do(b: Backend) {
    let app = TestApp::spawn(b).await;
    let conv = app.send(USER, "hi").await["conversation_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_error(
        &resume(&app, &conv, &json!({})).await,
        400,
        "CONVERSATION_NOT_HANDED_OFF",
    );
    for bad in [
        json!({"notify_number": "12"}),
        json!({"webhook": "ftp://x"}),
        json!({"metadata": [1]}),
        json!({"reason": ""}),
        json!({"reason": 5}),
    ] {
        assert_error(&hand_off(&app, &conv, &bad).await, 400, "INVALID_PARAMETER");
    }
    assert_eq!(app.conversation(&conv).await["handed_off"], false);
    let (s, res) = hand_off(&app, &conv, &json!({})).await;
    assert_eq!(s, 200, "{res}");
    assert_error(
        &resume(
            &app,
            &conv,
            &json!({"message": "back", "generate_reply": true}),
        )
        .await,
        400,
        "INVALID_PARAMETER",
    );
    assert_error(
        &resume(&app, &conv, &json!({"message": ""})).await,
        400,
        "INVALID_PARAMETER",
    );
    assert_eq!(
        app.conversation(&conv).await["handed_off"],
        true,
        "refused resumes change nothing"
    );

    // Another org's conversation is not found, and stays as it is.
    let (_, other_key) = app.org("other").await;
    for path in ["handoff", "resume"] {
        assert_error(
            &app.post(
                &format!("/v1/sms/conversations/{conv}/{path}"),
                &other_key,
                &json!({}),
            )
            .await,
            404,
            "CONVERSATION_NOT_FOUND",
        );
    }
    assert_eq!(app.conversation(&conv).await["handed_off"], true);
    let unknown = "00000000-0000-7000-8000-000000000000";
    assert_error(
        &hand_off(&app, unknown, &json!({})).await,
        404,
        "CONVERSATION_NOT_FOUND",
    );
    assert_error(
        &resume(&app, unknown, &json!({})).await,
        404,
        "CONVERSATION_NOT_FOUND",
    );

    // An ended conversation cannot be handed off.
    let other_user = "+15551230900";
    let ended = app.send(other_user, "bye").await["conversation_id"]
        .as_str()
        .unwrap()
        .to_owned();
    close(&app, &ended).await;
    assert_error(
        &hand_off(&app, &ended, &json!({})).await,
        400,
        "CONVERSATION_ENDED",
    );
}
