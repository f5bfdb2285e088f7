//! Inactivity timers on the fake clock: the clock starts when the agent's message is sent,
//! the warning and the timeout fire on time, a reply cancels them (even one that lands
//! between the claim and the firing), overrides beat the number's config, suspension and
//! re-arming, and timers surviving a restart.

use std::sync::Arc;

use parley_domain::clock::Clock;
use parley_server::App;
use parley_store::TimerFired;
use serde_json::{json, Value};

use crate::{
    helpers::{test_config, Backend, TestApp, AGENT, USER},
    webhook_receiver::{loopback_config, Receiver},
    webhooks::inbound,
};

crate::backend_tests!(
    warning_then_timeout_counted_from_the_send,
    a_reply_cancels_the_timers_even_after_they_were_claimed,
    a_warning_held_by_a_dead_node_is_not_overtaken_by_the_timeout,
    per_conversation_overrides_beat_the_number_config,
    suspended_timers_stay_silent_until_re_armed,
    timers_survive_a_restart,
);

async fn configure(app: &TestApp) {
    let cfg = json!({"phone_number": AGENT, "time_out": 600, "warning_time": 300,
        "warning_message": "Still there?", "timeout_message": "Closing this chat."});
    let (status, body) = app.post("/v1/sms/number/update", &app.key, &cfg).await;
    assert_eq!(status, 200, "{body}");
}

fn texts(inbox: &[Value]) -> Vec<String> {
    inbox
        .iter()
        .map(|m| m["message"].as_str().unwrap().to_owned())
        .collect()
}

async fn warning_then_timeout_counted_from_the_send(b: Backend) {
    let app = TestApp::spawn_with(b, loopback_config()).await;
    let rx = Receiver::start().await;
    configure(&app).await;
    let (status, res) = app
        .post(
            "/v1/sms/send",
            &app.key,
            &json!({"user_number": USER, "agent_number": AGENT, "agent_message": "Your table is ready", "webhook": rx.url("/t")}),
        )
        .await;
    assert_eq!(status, 200, "{res}");
    let conv = res["data"]["conversation_id"].as_str().unwrap().to_owned();
    // Queued for 100 s before it is sent: the clock starts at the send.
    app.clock.advance_ms(100_000);
    app.drain().await;
    let sent_at = app.clock.now_ms();
    app.advance(299_999).await;
    assert_eq!(texts(&app.inbox(USER).await), ["Your table is ready"]);
    app.advance(1).await;
    assert_eq!(
        texts(&app.inbox(USER).await),
        ["Your table is ready", "Still there?"]
    );
    // The warning itself does not restart the clock.
    app.advance(299_999).await;
    assert_eq!(app.conversation(&conv).await["is_active"], true);
    app.advance(1).await;
    assert_eq!(
        texts(&app.inbox(USER).await),
        ["Your table is ready", "Still there?", "Closing this chat."]
    );
    let c = app.conversation(&conv).await;
    assert_eq!(c["is_active"], false);
    let row = app
        .store
        .conversation(&app.org_id, &conv)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.timed_out_at, Some(sent_at + 600_000));
    assert_eq!(row.ended_reason.as_deref(), Some("timeout"));
    let statuses: Vec<String> = rx
        .accepted()
        .iter()
        .map(|r| r.json())
        .filter(|v| v["type"] == "status")
        .map(|v| v["status"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(statuses, ["timeout"]);
    // Nothing more is pending, nothing more fires.
    assert_eq!(app.store.timer_stats().await.unwrap().1, 0);
    app.advance(3_600_000).await;
    assert_eq!(app.inbox(USER).await.len(), 3);
}

async fn a_reply_cancels_the_timers_even_after_they_were_claimed(b: Backend) {
    let app = TestApp::spawn(b).await;
    configure(&app).await;
    app.send(USER, "Pick a time").await;
    app.drain().await;
    app.advance(200_000).await;
    inbound(&app, USER, "3pm").await;
    app.advance(3_600_000).await;
    assert_eq!(
        texts(&app.inbox(USER).await),
        ["Pick a time"],
        "no warning after a reply"
    );

    // The race: the worker has claimed the due warning when the reply lands.
    let other = "+15551230700";
    app.send(other, "Pick a day").await;
    app.drain().await;
    app.clock.advance_ms(300_000);
    let claimed = app
        .store
        .claim_timers(app.clock.now_ms(), 30_000, 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].kind, "warning");
    inbound(&app, other, "Monday").await;
    let fired = app
        .store
        .fire_timer(&claimed[0], app.clock.now_ms())
        .await
        .unwrap();
    assert_eq!(fired, TimerFired::Skipped);
    app.advance(3_600_000).await;
    assert_eq!(texts(&app.inbox(other).await), ["Pick a day"]);
    // The next agent message starts the clock again.
    app.send(other, "Monday at 9?").await;
    app.drain().await;
    app.advance(300_000).await;
    assert_eq!(
        texts(&app.inbox(other).await),
        ["Pick a day", "Monday at 9?", "Still there?"]
    );
}

async fn a_warning_held_by_a_dead_node_is_not_overtaken_by_the_timeout(b: Backend) {
    let app = TestApp::spawn(b).await;
    configure(&app).await;
    app.send(USER, "Your table is ready").await;
    app.drain().await;
    // A node claims the due warning, with a lease that outlasts the timeout's due time, and
    // dies before firing it.
    app.clock.advance_ms(300_000);
    let held = app
        .store
        .claim_timers(app.clock.now_ms(), 400_000, 10)
        .await
        .unwrap();
    assert_eq!(held.len(), 1);
    assert_eq!(held[0].kind, "warning");
    // The timeout falls due while the warning is still leased: it waits for the warning.
    app.clock.advance_ms(300_000);
    let now = app.clock.now_ms();
    assert!(app
        .store
        .claim_timers(now, 30_000, 10)
        .await
        .unwrap()
        .is_empty());
    // Once the dead node's lease runs out, both fire, the warning first.
    app.advance(100_001).await;
    assert_eq!(
        texts(&app.inbox(USER).await),
        ["Your table is ready", "Still there?", "Closing this chat."]
    );
}

async fn per_conversation_overrides_beat_the_number_config(b: Backend) {
    let app = TestApp::spawn(b).await;
    configure(&app).await;
    let (status, res) = app
        .post(
            "/v1/sms/send",
            &app.key,
            &json!({"user_number": USER, "agent_number": AGENT, "agent_message": "Quick one",
                "time_out": 60, "warning_time": 30, "warning_message": "Hello?"}),
        )
        .await;
    assert_eq!(status, 200, "{res}");
    let conv = res["data"]["conversation_id"].as_str().unwrap().to_owned();
    app.drain().await;
    app.advance(30_000).await;
    assert_eq!(texts(&app.inbox(USER).await), ["Quick one", "Hello?"]);
    app.advance(30_000).await;
    // The number's timeout_message still applies: only the fields the send set changed.
    assert_eq!(
        texts(&app.inbox(USER).await),
        ["Quick one", "Hello?", "Closing this chat."]
    );
    assert_eq!(app.conversation(&conv).await["is_active"], false);

    // A number without time_out and a send without one: nothing is ever armed.
    let plain = TestApp::spawn(b).await;
    plain.send(USER, "no timers").await;
    plain.drain().await;
    assert_eq!(plain.store.timer_stats().await.unwrap().1, 0);
}

async fn suspended_timers_stay_silent_until_re_armed(b: Backend) {
    let app = TestApp::spawn(b).await;
    configure(&app).await;
    let conv = app.send(USER, "Connecting you to a person").await["conversation_id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.drain().await;
    assert!(app.store.suspend_timers(&app.org_id, &conv).await.unwrap());
    app.advance(3_600_000).await;
    assert_eq!(
        app.inbox(USER).await.len(),
        1,
        "suspended: no warning, no timeout"
    );
    assert_eq!(app.conversation(&conv).await["is_active"], true);
    assert!(app
        .store
        .rearm_timers(&app.org_id, &conv, app.clock.now_ms())
        .await
        .unwrap());
    app.advance(300_000).await;
    assert_eq!(
        texts(&app.inbox(USER).await),
        ["Connecting you to a person", "Still there?"]
    );
    // Another org cannot touch them.
    let (other, _) = app.org("other").await;
    assert!(!app.store.suspend_timers(&other, &conv).await.unwrap());
}

async fn timers_survive_a_restart(b: Backend) {
    let app = TestApp::spawn(b).await;
    configure(&app).await;
    app.send(USER, "See you").await;
    app.drain().await;
    // A new process on the same database (the old one's workers never run again).
    let restarted = App::new(
        app.store.clone(),
        Arc::new(app.clock.clone()),
        test_config(),
    );
    app.clock.advance_ms(300_000);
    assert_eq!(restarted.timers.run_once().await.unwrap(), 1);
    restarted.dispatcher.run_once().await.unwrap();
    assert_eq!(texts(&app.inbox(USER).await), ["See you", "Still there?"]);
}
