//! Carrier-aware pacing with a fake clock: a sender's rate, a reply overtaking a batch, daily
//! caps, messaging-service pools, and the backlog horizon at send time.

use parley_domain::{clock::Clock, timeouts::TimeoutSettings};
use parley_store::{
    Claimed, ConversationFields, DispatchOptions, NewOutbound, NumberSending, SendOutcome,
    SendRequest, PRIORITY_BATCH,
};
use serde_json::json;

use crate::helpers::{assert_error, test_config, Backend, TestApp, T0};

crate::backend_tests!(
    a_1_mps_number_sends_a_batch_one_per_second_and_a_reply_goes_first,
    a_daily_cap_holds_the_rest_until_the_next_day,
    a_messaging_service_paces_its_pool_as_one,
    sends_beyond_the_backlog_horizon_are_refused,
);

/// Distinct senders per backend: the two variants run at once and share metric labels.
fn sender(b: Backend, n: u8) -> String {
    match b {
        Backend::Sqlite => format!("+1555010{n:02}10"),
        Backend::Postgres => format!("+1555010{n:02}20"),
    }
}

async fn set(app: &TestApp, number: &str, mps: f64, daily_cap: Option<i64>, service: Option<&str>) {
    if app.store.number(number).await.unwrap().is_none() {
        app.store
            .add_number(&app.org_id, number, "sandbox", "sms", mps, T0)
            .await
            .unwrap();
    }
    let s = NumberSending {
        carrier: "sandbox".into(),
        number_type: Some("long_code".into()),
        mps,
        daily_cap,
        messaging_service_sid: service.map(Into::into),
        carrier_account: None,
    };
    assert!(app.store.set_number_sending(number, &s).await.unwrap());
}

/// Queues what a batch row would: a low-priority message from `agent` to `user`.
async fn batch_row(app: &TestApp, agent: &str, user: &str) -> i64 {
    let req = SendRequest {
        org_id: app.org_id.clone(),
        user_number: user.into(),
        agent_number: agent.into(),
        channel: "sms".into(),
        new_conversation: false,
        fields: ConversationFields::default(),
        number_timeouts: TimeoutSettings::default(),
        outbound: NewOutbound {
            body: "batch".into(),
            sender: "AGENT".into(),
            encoding: "GSM-7".into(),
            segments: 1,
            content_sid: None,
            content_variables: None,
            priority: PRIORITY_BATCH,
        },
        more: Vec::new(),
        pathway: None,
        idempotency: None,
        now: app.clock.now_ms(),
    };
    match app.store.accept_send(&req).await.unwrap() {
        SendOutcome::Accepted(a) => a.message_id,
        other => panic!("{other:?}"),
    }
}

/// One claim at the current fake time, delivered at once. Returns what was claimed.
async fn tick(app: &TestApp) -> Vec<Claimed> {
    let cfg = test_config();
    let claimed = app
        .store
        .claim_due_messages(&DispatchOptions {
            owner: "test".into(),
            now_ms: app.clock.now_ms(),
            horizon_ms: cfg.dispatch.horizon_ms,
            lease_ms: cfg.dispatch.lease_ms,
            max_per_sender: cfg.dispatch.max_per_sender,
            max_total: 100_000,
            day_offset_ms: 0,
        })
        .await
        .unwrap();
    for c in &claimed {
        app.app.dispatcher.deliver(c.clone()).await;
    }
    claimed
}

async fn metric(app: &TestApp, name_and_labels: &str) -> Option<f64> {
    let text = app
        .http
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(name_and_labels))
        .and_then(|v| v.trim().parse().ok())
}

async fn a_1_mps_number_sends_a_batch_one_per_second_and_a_reply_goes_first(b: Backend) {
    let app = TestApp::spawn(b).await;
    let agent = sender(b, 1);
    set(&app, &agent, 1.0, None, None).await;
    for i in 0..1_000 {
        batch_row(&app, &agent, &format!("+1555300{i:04}")).await;
    }
    // What autovacuum does to a live database within a minute: without statistics PostgreSQL
    // plans the claim's "head of its conversation" check as a scan per row.
    app.store.execute_raw("ANALYZE").await.unwrap();
    // The wait shows before anything is sent: 1,000 segments at 1 per second.
    let backlog = app
        .store
        .sender_backlog(&agent, T0, Default::default())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(backlog.backlog.wait_us(T0 * 1000, 0), 1_000_000_000);
    let gauge = format!("parley_sender_backlog_seconds{{sender=\"{agent}\"}}");
    assert_eq!(metric(&app, &gauge).await, Some(1_000.0));

    let mut slots = Vec::new();
    let mut reply = None;
    while slots.len() < 1_001 {
        for c in tick(&app).await {
            assert!(
                c.scheduled_at <= app.clock.now_ms() + 1_000,
                "slots stay within the claim horizon"
            );
            slots.push((c.scheduled_at, c.id));
        }
        if app.clock.now_ms() == T0 + 5_000 {
            // Half a second later a user's conversation on the same number needs a message.
            app.clock.advance_ms(500);
            let (s, body) = app
                .post("/v1/sms/send", &app.key, &json!({"user_number": "+15553999999", "agent_number": agent, "agent_message": "reply"}))
                .await;
            assert_eq!(s, 200, "{body}");
            reply = body["data"]["message_id"].as_i64();
            app.clock.advance_ms(500);
        } else {
            app.clock.advance_ms(1_000);
        }
    }
    // One segment per second, back to back, from the first claim on.
    let times: Vec<i64> = slots.iter().map(|(t, _)| *t).collect();
    assert_eq!(
        times,
        (0..1_001).map(|k| T0 + k * 1_000).collect::<Vec<_>>()
    );
    // The reply, queued at 5.5 s, takes the first slot not yet handed out (7 s), ahead of the
    // 993 batch rows still waiting.
    let reply_at = slots.iter().position(|(_, id)| Some(*id) == reply).unwrap();
    assert_eq!(slots[reply_at].0, T0 + 7_000);
    let batch_ids: Vec<i64> = slots
        .iter()
        .filter(|(_, id)| Some(*id) != reply)
        .map(|(_, id)| *id)
        .collect();
    assert!(
        batch_ids.windows(2).all(|w| w[0] < w[1]),
        "batch rows leave in order"
    );
    app.clock.advance_ms(2_000);
    assert_eq!(metric(&app, &gauge).await, Some(0.0));
}

async fn a_daily_cap_holds_the_rest_until_the_next_day(b: Backend) {
    let app = TestApp::spawn(b).await;
    let agent = sender(b, 2);
    set(&app, &agent, 100.0, Some(3), None).await;
    for i in 0..5 {
        batch_row(&app, &agent, &format!("+1555400{i:04}")).await;
    }
    assert_eq!(tick(&app).await.len(), 3);
    // The rest waits for the next day (UTC midnight; T0 is one), and the backlog says so.
    let day = 86_400_000;
    let backlog = app
        .store
        .sender_backlog(&agent, app.clock.now_ms(), Default::default())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        backlog.backlog.drained_at_us(app.clock.now_ms() * 1000, 0),
        (T0 + day) * 1000 + 20_000
    );
    app.clock.advance_ms(day - 1);
    assert!(tick(&app).await.is_empty());
    app.clock.advance_ms(1);
    assert_eq!(tick(&app).await.len(), 2);
}

async fn a_messaging_service_paces_its_pool_as_one(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (a, c) = (sender(b, 3), sender(b, 4));
    let service = "MG00000000000000000000000000000001";
    set(&app, &a, 1.0, None, Some(service)).await;
    set(&app, &c, 1.0, None, Some(service)).await;
    for i in 0..3 {
        batch_row(&app, &a, &format!("+1555500{i:04}")).await;
        batch_row(&app, &c, &format!("+1555600{i:04}")).await;
    }
    // Two numbers at 1 MPS each: the pool sends 2 per second, shared by both numbers' queues.
    let slots: Vec<i64> = tick(&app)
        .await
        .iter()
        .map(|c| c.scheduled_at - T0)
        .collect();
    assert_eq!(slots, [0, 500, 1_000]);
}

async fn sends_beyond_the_backlog_horizon_are_refused(b: Backend) {
    let mut cfg = test_config();
    cfg.pacing.max_backlog_secs = 10;
    let app = TestApp::spawn_with(b, cfg).await;
    let agent = sender(b, 5);
    set(&app, &agent, 1.0, None, None).await;
    let send =
        |user: String| json!({"user_number": user, "agent_number": agent, "agent_message": "hi"});
    let mut first = None;
    for i in 0..10 {
        let key = format!("k{i}");
        let (s, body) = app
            .post_with(
                "/v1/sms/send",
                &app.key,
                &send(format!("+1555700{i:04}")),
                &[("idempotency-key", &key)],
            )
            .await;
        assert_eq!(s, 200, "{i}: {body}");
        first.get_or_insert(body["data"]["message_id"].clone());
    }
    let res = app
        .http
        .post(app.url("/v1/sms/send"))
        .header("authorization", &app.key)
        .json(&send("+15557009999".into()))
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["retry-after"], "1");
    let got = (res.status().as_u16(), res.json().await.unwrap());
    assert!(assert_error(&got, 429, "RATE_LIMITED").contains("10 s"));
    // A retry of an accepted request still gets its first answer.
    let (s, again) = app
        .post_with(
            "/v1/sms/send",
            &app.key,
            &send("+15557000000".into()),
            &[("idempotency-key", "k0")],
        )
        .await;
    assert_eq!(
        (s, &again["data"]["message_id"]),
        (200, first.as_ref().unwrap())
    );
    // Once a second has drained, there is room for one more.
    tick(&app).await;
    app.clock.advance_ms(2_000);
    tick(&app).await;
    let (s, body) = app
        .post("/v1/sms/send", &app.key, &send("+15557009999".into()))
        .await;
    assert_eq!(s, 200, "{body}");
}
