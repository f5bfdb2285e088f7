//! Twilio's callbacks into Parley: statuses in any order and repeated, inbound messages, and
//! signatures that must verify before anything changes.

use parley_server::carriers::twilio::signature;

use crate::{
    helpers::{Backend, TestApp, AGENT, USER},
    twilio_sim::{self, post_signed, row, status, Step, ACCOUNT, PUBLIC, SERVICE, TOKEN},
    webhook_receiver::Receiver,
};

crate::backend_tests!(
    statuses_apply_in_any_order_and_never_move_back,
    forged_or_unsigned_callbacks_change_nothing,
    a_callback_rescues_a_send_whose_answer_was_lost,
    a_callback_that_takes_a_message_out_of_the_queue_starts_its_timers,
    inbound_messages_land_on_the_pair_s_conversation_once,
    callbacks_verify_against_the_request_s_own_host,
    replies_to_a_pool_number_join_the_pool_s_conversation,
    a_read_receipt_fires_one_status_webhook,
);

async fn sent(app: &TestApp, text: &str) -> (i64, String) {
    let data = app.send(USER, text).await;
    app.drain().await;
    let id = data["message_id"].as_i64().unwrap();
    let sid = row(app, id).await.2.unwrap();
    (id, sid)
}

async fn statuses_apply_in_any_order_and_never_move_back(b: Backend) {
    let (app, _sim) = twilio_sim::spawn(b).await;
    let (id, sid) = sent(&app, "hello").await;
    assert_eq!(status(&app, id, &sid, "delivered", None).await, 204);
    assert_eq!(row(&app, id).await.0, "delivered");
    // Late and repeated callbacks change nothing.
    for late in ["sent", "sending", "queued", "delivered", "undelivered"] {
        assert_eq!(status(&app, id, &sid, late, Some("30003")).await, 204);
        assert_eq!(
            row(&app, id).await,
            ("delivered".into(), None, Some(sid.clone()), 1),
            "{late}"
        );
    }
    let m = app.store.message(id).await.unwrap().unwrap();
    assert!(m.delivered_at.is_some());
    // WhatsApp read receipts move it on, once.
    assert_eq!(status(&app, id, &sid, "read", None).await, 204);
    assert_eq!(status(&app, id, &sid, "read", None).await, 204);
    assert_eq!(row(&app, id).await.0, "read");

    // Failures carry Twilio's code; an unknown status or message is answered and ignored.
    let (id2, sid2) = sent(&app, "second").await;
    assert_eq!(
        status(&app, id2, &sid2, "undelivered", Some("30003")).await,
        204
    );
    assert_eq!(row(&app, id2).await.1.as_deref(), Some("30003"));
    assert_eq!(status(&app, id2, &sid2, "teleported", None).await, 204);
    assert_eq!(
        status(
            &app,
            999_999,
            &format!("SM{}", "e".repeat(32)),
            "sent",
            None
        )
        .await,
        204
    );
    assert_eq!(row(&app, id2).await.0, "undelivered");
}

async fn forged_or_unsigned_callbacks_change_nothing(b: Backend) {
    let (app, _sim) = twilio_sim::spawn(b).await;
    let (id, sid) = sent(&app, "hello").await;
    let path = format!("/v1/carriers/twilio/status?message_id={id}");
    let params = |status: &str| -> Vec<(String, String)> {
        [
            ("MessageSid", sid.as_str()),
            ("AccountSid", ACCOUNT),
            ("MessageStatus", status),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    };
    let p = params("failed");
    let good_url = format!("{PUBLIC}{path}");
    let forgeries = [
        None,
        Some(signature::compute("wrong-token", &good_url, &p)),
        Some(signature::compute(
            TOKEN,
            &format!("{PUBLIC}/v1/carriers/twilio/status?message_id=999"),
            &p,
        )),
        Some(signature::compute(TOKEN, &good_url, &params("delivered"))),
        Some("not base64".to_string()),
    ];
    for sig in &forgeries {
        let (s, body) = post_signed(&app, &path, &p, sig.as_deref(), &[]).await;
        assert_eq!(s, 403, "{sig:?}: {body}");
        assert!(body.contains("INVALID_SIGNATURE"), "{body}");
    }
    // Signed by an account Parley does not know.
    let mut other = p.clone();
    other[1].1 = "ACffffffffffffffffffffffffffffffff".into();
    let sig = signature::compute(TOKEN, &good_url, &other);
    assert_eq!(
        post_signed(&app, &path, &other, Some(&sig), &[]).await.0,
        403
    );
    assert_eq!(row(&app, id).await.0, "sent");

    let inbound: Vec<(String, String)> = [
        ("MessageSid", "SM1"),
        ("AccountSid", ACCOUNT),
        ("From", USER),
        ("To", AGENT),
        ("Body", "x"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let (s, _) = post_signed(
        &app,
        "/v1/carriers/twilio/inbound",
        &inbound,
        Some("AAAA"),
        &[],
    )
    .await;
    assert_eq!(s, 403);
    let conv = app
        .store
        .message(id)
        .await
        .unwrap()
        .unwrap()
        .conversation_id;
    assert_eq!(
        app.store.conversation_messages(&conv).await.unwrap().len(),
        1
    );
}

async fn a_callback_rescues_a_send_whose_answer_was_lost(b: Backend) {
    let (app, sim) = twilio_sim::spawn(b).await;
    sim.script([Step::CreateThenStall(1_500)]);
    let id = app.send(USER, "hello").await["message_id"]
        .as_i64()
        .unwrap();
    app.drain().await;
    assert_eq!(row(&app, id).await.1.as_deref(), Some("TIMEOUT"));
    // Twilio's callback finds the message by the id in its URL and binds Twilio's id to it.
    let sid = sim.created()[0]["sid"].as_str().unwrap().to_owned();
    assert_eq!(status(&app, id, &sid, "sent", None).await, 204);
    assert_eq!(row(&app, id).await.0, "sent");
    assert_eq!(row(&app, id).await.2.as_deref(), Some(sid.as_str()));
    app.advance(60_000).await;
    assert_eq!(
        (sim.posts().len(), sim.lists().len()),
        (1, 0),
        "nothing is sent or looked up again"
    );
}

async fn a_callback_that_takes_a_message_out_of_the_queue_starts_its_timers(b: Backend) {
    let (app, sim) = twilio_sim::spawn(b).await;
    let cfg = serde_json::json!({"phone_number": AGENT, "time_out": 600, "warning_time": 300,
        "warning_message": "Still there?", "timeout_message": "Closing this chat."});
    let (s, body) = app.post("/v1/sms/number/update", &app.key, &cfg).await;
    assert_eq!(s, 200, "{body}");
    // The send's answer is lost, so Parley never records it as sent itself...
    sim.script([Step::CreateThenStall(1_500)]);
    let id = app.send(USER, "hello").await["message_id"]
        .as_i64()
        .unwrap();
    app.drain().await;
    assert_eq!(row(&app, id).await.1.as_deref(), Some("TIMEOUT"));
    assert_eq!(app.store.timer_stats().await.unwrap().1, 0);
    // ...Twilio's callback is what takes it out of the queue, and starts the clock.
    let sid = sim.created()[0]["sid"].as_str().unwrap().to_owned();
    assert_eq!(status(&app, id, &sid, "delivered", None).await, 204);
    assert_eq!(
        app.store.timer_stats().await.unwrap().1,
        2,
        "warning and timeout"
    );
    app.advance(300_000).await;
    app.advance(300_000).await;
    let bodies: Vec<String> = sim
        .posts()
        .iter()
        .map(|p| p.get("Body").unwrap_or_default().to_owned())
        .collect();
    assert_eq!(bodies, ["hello", "Still there?", "Closing this chat."]);
}

async fn inbound_messages_land_on_the_pair_s_conversation_once(b: Backend) {
    let (app, _sim) = twilio_sim::spawn(b).await;
    let conv = app.send(USER, "Reply YES to confirm").await["conversation_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let sid = format!("SM{}", "5".repeat(32));
    let params = [
        ("MessageSid", sid.as_str()),
        ("AccountSid", ACCOUNT),
        ("From", USER),
        ("To", AGENT),
        ("Body", "YES 👍"),
        ("NumMedia", "1"),
        ("MediaUrl0", "https://api.twilio.com/media/ME1"),
        ("MediaContentType0", "image/jpeg"),
    ];
    for _ in 0..3 {
        let (s, body) = twilio_sim::callback(&app, "/v1/carriers/twilio/inbound", &params).await;
        assert_eq!(
            (s, body.as_str()),
            (200, r#"<?xml version="1.0" encoding="UTF-8"?><Response/>"#)
        );
    }
    let messages = app.store.conversation_messages(&conv).await.unwrap();
    assert_eq!(messages.len(), 2, "a repeated MessageSid is stored once");
    let m = &messages[1];
    assert_eq!(
        (
            m.direction.as_str(),
            m.sender.as_str(),
            m.body.as_str(),
            m.provider_sid.as_deref(),
            m.channel.as_str()
        ),
        ("inbound", "USER", "YES 👍", Some(sid.as_str()), "sms")
    );
    let media = app.store.message_media(m.id).await.unwrap().unwrap();
    assert_eq!(
        media,
        serde_json::json!([{"url": "https://api.twilio.com/media/ME1", "content_type": "image/jpeg"}])
    );
    assert_eq!(app.conversation(&conv).await["message_count"], 2);

    // A number Parley does not have.
    let (s, body) = twilio_sim::callback(
        &app,
        "/v1/carriers/twilio/inbound",
        &[
            ("MessageSid", "SM6"),
            ("AccountSid", ACCOUNT),
            ("From", USER),
            ("To", "+15550109999"),
            ("Body", "x"),
        ],
    )
    .await;
    assert_eq!(s, 404, "{body}");
}

async fn callbacks_verify_against_the_request_s_own_host(b: Backend) {
    let (app, _sim) = twilio_sim::spawn(b).await;
    let (id, sid) = sent(&app, "hello").await;
    let path = format!("/v1/carriers/twilio/status?message_id={id}");
    let p: Vec<(String, String)> = [
        ("MessageSid", sid.as_str()),
        ("AccountSid", ACCOUNT),
        ("MessageStatus", "delivered"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    // Twilio called http://127.0.0.1:PORT/... directly (no public_base_url match).
    let direct = format!("http://{}{path}", app.addr);
    let sig = signature::compute(TOKEN, &direct, &p);
    assert_eq!(post_signed(&app, &path, &p, Some(&sig), &[]).await.0, 204);
    assert_eq!(row(&app, id).await.0, "delivered");
    // Behind a proxy that says how it was called, with the default port spelled out.
    let proxied = format!("https://hooks.example.org:443{path}");
    let p2: Vec<(String, String)> = p
        .iter()
        .cloned()
        .map(|(k, v)| {
            if k == "MessageStatus" {
                (k, "read".into())
            } else {
                (k, v)
            }
        })
        .collect();
    let sig = signature::compute(TOKEN, &proxied, &p2);
    let headers = [
        ("x-forwarded-host", "hooks.example.org"),
        ("x-forwarded-proto", "https"),
    ];
    assert_eq!(
        post_signed(&app, &path, &p2, Some(&sig), &headers).await.0,
        204
    );
    assert_eq!(row(&app, id).await.0, "read");
}

async fn replies_to_a_pool_number_join_the_pool_s_conversation(b: Backend) {
    let (app, sim) = twilio_sim::spawn(b).await;
    let sibling = "+15550100088";
    twilio_sim::twilio_number(&app, AGENT, "sms", Some(SERVICE)).await;
    twilio_sim::twilio_number(&app, sibling, "sms", Some(SERVICE)).await;
    let conv = app.send(USER, "from the pool").await["conversation_id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.drain().await;
    let p = &sim.posts()[0];
    assert_eq!(
        (p.get("MessagingServiceSid"), p.get("From")),
        (Some(SERVICE), None)
    );
    // The service sent from the sibling; the user's reply reaches the sibling.
    let (s, _) = twilio_sim::callback(
        &app,
        "/v1/carriers/twilio/inbound",
        &[
            ("MessageSid", &format!("SM{}", "7".repeat(32))),
            ("AccountSid", ACCOUNT),
            ("From", USER),
            ("To", sibling),
            ("Body", "got it"),
            ("MessagingServiceSid", SERVICE),
        ],
    )
    .await;
    assert_eq!(s, 200);
    let messages = app.store.conversation_messages(&conv).await.unwrap();
    assert_eq!(
        messages.iter().map(|m| m.body.as_str()).collect::<Vec<_>>(),
        ["from the pool", "got it"]
    );
}

/// Spec 7.8: a read receipt is a lifecycle event: the status webhook `read` goes out once,
/// however often Twilio repeats the callback, and a late `delivered` fires nothing.
async fn a_read_receipt_fires_one_status_webhook(b: Backend) {
    let (app, _sim) = twilio_sim::spawn_with(b, |cfg| {
        cfg.webhooks.allowed_networks = vec!["127.0.0.0/8".into()];
    })
    .await;
    let rx = Receiver::start().await;
    let (code, res) = app
        .post(
            "/v1/sms/send",
            &app.key,
            &serde_json::json!({"user_number": USER, "agent_number": AGENT,
                "agent_message": "Your order shipped", "webhook": rx.url("/hooks")}),
        )
        .await;
    assert_eq!(code, 200, "{res}");
    let id = res["data"]["message_id"].as_i64().unwrap();
    app.drain().await;
    let sid = row(&app, id).await.2.unwrap();
    for s in ["delivered", "read", "read", "delivered"] {
        assert_eq!(status(&app, id, &sid, s, None).await, 204, "{s}");
    }
    app.drain().await;
    let statuses: Vec<serde_json::Value> = rx
        .accepted()
        .iter()
        .map(|r| r.json())
        .filter(|v| v["type"] == "status")
        .collect();
    assert_eq!(statuses.len(), 1, "{statuses:?}");
    assert_eq!(statuses[0]["status"], "read", "{statuses:?}");
    assert_eq!(
        statuses[0]["conversation_id"], res["data"]["conversation_id"],
        "{statuses:?}"
    );
}
