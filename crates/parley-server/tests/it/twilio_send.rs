//! Sending through Twilio: what the request carries, how answers are classified, and that a
//! lost answer never becomes a second message.

use serde_json::json;

use crate::{
    helpers::{assert_error, Backend, AGENT, USER},
    twilio_sim::{self, row, Step, ACCOUNT, PUBLIC},
};

crate::backend_tests!(
    a_send_reaches_twilio_with_its_callback_url,
    permanent_codes_fail_at_once_and_opt_outs_are_flagged,
    rate_limits_and_outages_are_retried_honouring_retry_after,
    a_slow_answer_is_looked_up_not_sent_twice,
    a_stalled_send_that_twilio_never_took_is_sent_again,
    whatsapp_free_form_needs_the_user_s_window,
    numbers_use_the_account_they_name,
);

async fn a_send_reaches_twilio_with_its_callback_url(b: Backend) {
    let (app, sim) = twilio_sim::spawn(b).await;
    let data = app.send(USER, "Your code is 1234").await;
    let id = data["message_id"].as_i64().unwrap();
    app.drain().await;
    let posts = sim.posts();
    assert_eq!(posts.len(), 1);
    let p = &posts[0];
    assert_eq!(
        p.path,
        format!("/2010-04-01/Accounts/{ACCOUNT}/Messages.json")
    );
    assert_eq!(
        p.content_type.as_deref(),
        Some("application/x-www-form-urlencoded")
    );
    let names: Vec<&str> = p.form.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(names, ["To", "StatusCallback", "From", "Body"]);
    assert_eq!(
        (p.get("To"), p.get("From"), p.get("Body")),
        (Some(USER), Some(AGENT), Some("Your code is 1234"))
    );
    let callback = format!("{PUBLIC}/v1/carriers/twilio/status?message_id={id}");
    assert_eq!(p.get("StatusCallback"), Some(callback.as_str()));
    let sid = sim.created()[0]["sid"].as_str().unwrap().to_owned();
    assert_eq!(row(&app, id).await, ("sent".into(), None, Some(sid), 1));
}

async fn permanent_codes_fail_at_once_and_opt_outs_are_flagged(b: Backend) {
    let (app, sim) = twilio_sim::spawn(b).await;
    let codes = [21211, 21614, 21408, 63016, 21610];
    sim.script(codes.iter().map(|c| Step::error(400, *c)));
    let mut ids = Vec::new();
    for (i, _) in codes.iter().enumerate() {
        ids.push(
            app.send(&format!("+1555123100{i}"), "hello").await["message_id"]
                .as_i64()
                .unwrap(),
        );
    }
    app.drain().await;
    for (id, code) in ids.iter().zip(codes) {
        assert_eq!(
            row(&app, *id).await,
            ("failed".into(), Some(code.to_string()), None, 1)
        );
    }
    app.advance(3_600_000).await;
    assert_eq!(
        sim.posts().len(),
        codes.len(),
        "permanent errors are never retried"
    );
    let metrics = app
        .http
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("parley_carrier_opt_outs_total"),
        "{metrics}"
    );
}

async fn rate_limits_and_outages_are_retried_honouring_retry_after(b: Backend) {
    let (app, sim) = twilio_sim::spawn(b).await;
    sim.script([
        Step::Reply {
            status: 429,
            body: json!({"code": 20429, "message": "Too Many Requests", "status": 429}).to_string(),
            retry_after: Some("2"),
        },
        Step::Reply {
            status: 503,
            body: String::new(),
            retry_after: None,
        },
    ]);
    let id = app.send(USER, "hello").await["message_id"]
        .as_i64()
        .unwrap();
    app.drain().await;
    assert_eq!(
        row(&app, id).await,
        ("queued".into(), Some("20429".into()), None, 1)
    );
    // Test policy: 1 s base, no jitter; Twilio asked for 2 s, which the policy allows.
    app.advance(1_999).await;
    assert_eq!(sim.posts().len(), 1);
    app.advance(1).await;
    assert_eq!(
        row(&app, id).await,
        ("queued".into(), Some("503".into()), None, 2)
    );
    // A 429 proves nothing was created, so no lookup before the second attempt; a 503 does
    // not, so the third attempt looks first, finds nothing, and sends.
    assert!(sim.lists().is_empty());
    app.advance(2_000).await;
    assert_eq!(sim.lists().len(), 1);
    assert_eq!(sim.posts().len(), 3);
    assert_eq!(sim.created().len(), 1);
    let sid = sim.created()[0]["sid"].as_str().unwrap().to_owned();
    assert_eq!(row(&app, id).await, ("sent".into(), None, Some(sid), 3));
}

async fn a_slow_answer_is_looked_up_not_sent_twice(b: Backend) {
    let (app, sim) = twilio_sim::spawn(b).await;
    // Twilio creates the message, then answers after Parley stopped waiting (300 ms).
    sim.script([Step::CreateThenStall(1_500)]);
    let id = app.send(USER, "only once").await["message_id"]
        .as_i64()
        .unwrap();
    app.drain().await;
    assert_eq!(
        row(&app, id).await,
        ("queued".into(), Some("TIMEOUT".into()), None, 1)
    );
    app.advance(1_000).await;
    // The second attempt found the message at Twilio instead of creating another.
    assert_eq!(sim.posts().len(), 1);
    assert_eq!(sim.created().len(), 1);
    let q = &sim.lists()[0];
    assert!(
        q.contains("To=%2B15551230000") && q.contains("From=%2B15550100000"),
        "{q}"
    );
    let sid = sim.created()[0]["sid"].as_str().unwrap().to_owned();
    assert_eq!(row(&app, id).await, ("sent".into(), None, Some(sid), 2));
}

async fn a_stalled_send_that_twilio_never_took_is_sent_again(b: Backend) {
    let (app, sim) = twilio_sim::spawn(b).await;
    // An earlier message to the same user is at Twilio already: the lookup must not take it.
    let first = app.send(USER, "same text").await["message_id"]
        .as_i64()
        .unwrap();
    app.drain().await;
    sim.script([Step::Stall(1_000)]);
    let id = app.send(USER, "same text").await["message_id"]
        .as_i64()
        .unwrap();
    app.drain().await;
    assert_eq!(row(&app, id).await.1.as_deref(), Some("TIMEOUT"));
    app.advance(1_000).await;
    assert_eq!(sim.lists().len(), 1);
    assert_eq!(sim.posts().len(), 3);
    let created = sim.created();
    assert_eq!(created.len(), 2);
    assert_eq!(
        row(&app, first).await.2.as_deref(),
        created[0]["sid"].as_str()
    );
    assert_eq!(row(&app, id).await.2.as_deref(), created[1]["sid"].as_str());
}

async fn whatsapp_free_form_needs_the_user_s_window(b: Backend) {
    let (app, sim) = twilio_sim::spawn(b).await;
    let wa = "+15550100077";
    twilio_sim::twilio_number(&app, wa, "whatsapp", None).await;
    let send = |body: serde_json::Value| {
        let mut b = json!({"user_number": USER, "agent_number": wa, "channel": "whatsapp"});
        b.as_object_mut()
            .unwrap()
            .extend(body.as_object().unwrap().clone());
        b
    };
    let refused = app
        .post(
            "/v1/sms/send",
            &app.key,
            &send(json!({"agent_message": "hi"})),
        )
        .await;
    assert!(assert_error(&refused, 400, "WHATSAPP_TEMPLATE_REQUIRED").contains("content_sid"));

    // A template may open the conversation.
    let hx = format!("HX{}", "cd".repeat(16));
    let tpl = send(
        json!({"agent_message": "Order 1042 ships today", "content_sid": hx,
                          "content_variables": {"1": "1042", "2": 3}}),
    );
    let (s, body) = app.post("/v1/sms/send", &app.key, &tpl).await;
    assert_eq!(s, 200, "{body}");
    app.drain().await;
    let p = sim.posts().pop().unwrap();
    assert_eq!(p.get("To"), Some("whatsapp:+15551230000"));
    assert_eq!(p.get("From"), Some("whatsapp:+15550100077"));
    assert_eq!(p.get("ContentSid"), Some(hx.as_str()));
    assert_eq!(p.get("ContentVariables"), Some(r#"{"1":"1042","2":"3"}"#));
    assert_eq!(p.get("Body"), None);

    // The user answers: free-form is allowed for 24 hours.
    let (s, _) = twilio_sim::callback(
        &app,
        "/v1/carriers/twilio/inbound",
        &[
            ("MessageSid", &format!("SM{}", "4".repeat(32))),
            ("AccountSid", ACCOUNT),
            ("From", "whatsapp:+15551230000"),
            ("To", "whatsapp:+15550100077"),
            ("Body", "yes"),
        ],
    )
    .await;
    assert_eq!(s, 200);
    let (s, _) = app
        .post(
            "/v1/sms/send",
            &app.key,
            &send(json!({"agent_message": "great"})),
        )
        .await;
    assert_eq!(s, 200);
    app.drain().await;
    assert_eq!(sim.posts().pop().unwrap().get("Body"), Some("great"));

    // Queued inside the window but due after it closed: refused at send time, not sent.
    app.clock.advance_ms(23 * 3_600_000);
    let (s, late) = app
        .post(
            "/v1/sms/send",
            &app.key,
            &send(json!({"agent_message": "late"})),
        )
        .await;
    assert_eq!(s, 200);
    app.clock.advance_ms(3_600_000);
    app.drain().await;
    let id = late["data"]["message_id"].as_i64().unwrap();
    assert_eq!(
        row(&app, id).await.1.as_deref(),
        Some("WHATSAPP_TEMPLATE_REQUIRED")
    );
    assert_eq!(sim.posts().len(), 2);
}

async fn numbers_use_the_account_they_name(b: Backend) {
    let other = "ACffffffffffffffffffffffffffffffff";
    let (app, sim) = twilio_sim::spawn_with(b, |cfg| {
        let mut acct = cfg.twilio.accounts["default"].clone();
        acct.account_sid = other.into();
        cfg.twilio.accounts.insert("second".into(), acct);
    })
    .await;
    let mut s = parley_store::NumberSending {
        carrier: "twilio".into(),
        mps: 10.0,
        ..Default::default()
    };
    s.carrier_account = Some("second".into());
    app.store.set_number_sending(AGENT, &s).await.unwrap();
    app.send(USER, "hi").await;
    app.drain().await;
    assert_eq!(
        sim.posts()[0].path,
        format!("/2010-04-01/Accounts/{other}/Messages.json")
    );
}
