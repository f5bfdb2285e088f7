//! The end-of-conversation pipeline: the summary is computed once and rides on the one
//! status webhook, however many triggers race, however often the model fails, and even
//! when a worker loses its lease mid-way.

use std::sync::{
    atomic::{AtomicUsize, Ordering},
    Arc,
};

use parley_domain::clock::Clock;
use parley_store::{EndStatus, EndingResults};
use reqwest::Method;
use serde_json::{json, Value};

use crate::{
    fake_model::{Answer, FakeModel},
    helpers::{Backend, TestApp, AGENT},
    webhook_receiver::{loopback_config, Receiver},
    webhooks::close,
};

crate::backend_tests!(
    racing_triggers_compute_the_summary_once_and_send_one_webhook,
    a_model_outage_delays_the_status_webhook_then_it_goes_out_once,
    a_model_that_never_recovers_still_gets_the_webhook_out,
    a_worker_that_lost_its_lease_commits_nothing,
    summary_prompt_without_a_model_leaves_the_summary_empty,
    a_reactivated_conversation_ends_again_with_a_second_webhook,
);

const PROMPT: &str = "Summarise the customer's booking request in one sentence.";

fn is_summary_call(body: &Value) -> bool {
    body["messages"][0]["content"]
        .as_str()
        .is_some_and(|s| s.contains(PROMPT))
}

/// A fake whose summary calls answer from `summary` and whose other calls (agent turns) say "ok".
async fn fake_with(
    summary: impl Fn(usize) -> Answer + Send + Sync + 'static,
) -> (FakeModel, Arc<AtomicUsize>) {
    let fake = FakeModel::start().await;
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = calls.clone();
    fake.script(move |body| {
        if is_summary_call(body) {
            summary(seen.fetch_add(1, Ordering::SeqCst))
        } else {
            Answer::reply("ok")
        }
    });
    (fake, calls)
}

async fn app_with(b: Backend, fake: Option<&FakeModel>, rx: &Receiver) -> TestApp {
    let mut cfg = loopback_config();
    if let Some(fake) = fake {
        cfg.language_model = fake.config();
    }
    let app = TestApp::spawn_with(b, cfg).await;
    let (status, body) = app
        .post(
            "/v1/sms/number/update",
            &app.key,
            &json!({"phone_number": AGENT, "summary_prompt": PROMPT, "webhook": rx.url("/hook")}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    app
}

/// A conversation with an agent message and a user reply, drained.
async fn conversation(app: &TestApp, user: &str) -> String {
    let (status, res) = app
        .post(
            "/v1/sms/send",
            &app.key,
            &json!({"user_number": user, "agent_number": AGENT, "agent_message": "Which day suits you?",
                "metadata": {"crm_id": "42"}}),
        )
        .await;
    assert_eq!(status, 200, "{res}");
    app.drain().await;
    let (status, res) = app
        .post(
            "/v1/sandbox/inbound",
            &app.key,
            &json!({"from": user, "to": AGENT, "message": "Tuesday at 3pm please"}),
        )
        .await;
    assert_eq!(status, 200, "{res}");
    app.drain().await;
    res["data"]["conversation_id"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| panic!("no conversation id in {res}"))
}

fn status_hooks(rx: &Receiver, conv: &str) -> Vec<Value> {
    rx.accepted()
        .iter()
        .map(|r| r.json())
        .filter(|v| v["conversation_id"] == conv && v["type"] == "status")
        .collect()
}

async fn racing_triggers_compute_the_summary_once_and_send_one_webhook(b: Backend) {
    let rx = Receiver::start().await;
    let (fake, calls) = fake_with(|_| Answer::reply("Wants Tuesday at 3pm.")).await;
    let app = app_with(b, Some(&fake), &rx).await;
    let user = "+15551230101";
    let conv = conversation(&app, user).await;
    let now = app.clock.now_ms();
    let path = format!("/v1/sms/conversations/{conv}");
    let closing = json!({"is_active": false});
    let stop = json!({"from": user, "to": AGENT, "message": "STOP"});
    let (timeout, patch, stop) = tokio::join!(
        app.store
            .end_conversation(&app.org_id, &conv, EndStatus::Timeout, now),
        app.call(Method::PATCH, &path, &app.key, Some(&closing)),
        app.post("/v1/sandbox/inbound", &app.key, &stop),
    );
    timeout.unwrap();
    assert_eq!(patch.0, 200, "{patch:?}");
    assert_eq!(stop.0, 200, "{stop:?}");
    app.drain().await;

    // A STOP that lands after the conversation ended opens a new one (restart_after_end_call
    // defaults to true) and ends that as blacklisted: one summary and one status webhook per
    // ended conversation, never two for one.
    let mut ended: Vec<String> = rx
        .accepted()
        .iter()
        .map(|r| r.json())
        .filter(|v| v["type"] == "status")
        .map(|v| v["conversation_id"].as_str().unwrap().to_owned())
        .collect();
    let hooks_sent = ended.len();
    ended.dedup();
    assert_eq!(
        ended.len(),
        hooks_sent,
        "one status webhook per conversation"
    );
    assert_eq!(
        calls.load(Ordering::SeqCst),
        ended.len(),
        "one summary per ending"
    );
    let hooks = status_hooks(&rx, &conv);
    assert_eq!(hooks.len(), 1, "{hooks:?}");
    let hook = &hooks[0];
    assert_eq!(hook["summary"], "Wants Tuesday at 3pm.");
    assert_eq!(hook["metadata"], json!({"crm_id": "42"}));
    let row = app.conversation(&conv).await;
    assert_eq!(row["summary"], "Wants Tuesday at 3pm.");
    assert_eq!(
        hook["status"].as_str(),
        app.store
            .conversation(&app.org_id, &conv)
            .await
            .unwrap()
            .unwrap()
            .ended_reason
            .as_deref()
    );
    // The model saw the transcript, agent message and user reply included.
    let transcripts: Vec<String> = fake
        .requests()
        .into_iter()
        .filter(|r| is_summary_call(&r.body))
        .flat_map(|r| r.messages().into_iter().map(|(_, text)| text))
        .collect();
    assert!(
        transcripts
            .iter()
            .any(|t| t.contains("agent: Which day suits you?\nuser: Tuesday at 3pm please")),
        "{transcripts:?}"
    );
    assert_eq!(app.store.next_ending_at().await.unwrap(), None);
}

async fn a_model_outage_delays_the_status_webhook_then_it_goes_out_once(b: Backend) {
    let rx = Receiver::start().await;
    // Two failures (a 503, then a 429), then an answer.
    let (fake, calls) = fake_with(|n| match n {
        0 => Answer::status(503, "overloaded"),
        1 => Answer::status(429, "slow down"),
        _ => Answer::reply("Booked Tuesday."),
    })
    .await;
    let app = app_with(b, Some(&fake), &rx).await;
    let conv = conversation(&app, "+15551230102").await;
    close(&app, &conv).await;
    app.drain().await;
    assert!(status_hooks(&rx, &conv).is_empty(), "waits for the summary");
    app.advance(30_000).await;
    assert!(
        status_hooks(&rx, &conv).is_empty(),
        "second attempt failed too"
    );
    app.advance(120_000).await;
    let hooks = status_hooks(&rx, &conv);
    assert_eq!(hooks.len(), 1, "{hooks:?}");
    assert_eq!(hooks[0]["summary"], "Booked Tuesday.");
    assert_eq!(hooks[0]["status"], "inactive");
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    app.advance(3_600_000).await;
    assert_eq!(status_hooks(&rx, &conv).len(), 1);
}

async fn a_model_that_never_recovers_still_gets_the_webhook_out(b: Backend) {
    let rx = Receiver::start().await;
    let (fake, calls) = fake_with(|_| Answer::status(500, "down")).await;
    let app = app_with(b, Some(&fake), &rx).await;
    let conv = conversation(&app, "+15551230103").await;
    close(&app, &conv).await;
    app.drain().await;
    for wait in [30_000, 120_000] {
        app.advance(wait).await;
        assert!(status_hooks(&rx, &conv).is_empty());
    }
    app.advance(480_000).await;
    let hooks = status_hooks(&rx, &conv);
    assert_eq!(hooks.len(), 1, "the fourth attempt is the last: {hooks:?}");
    assert_eq!(hooks[0]["summary"], Value::Null);
    assert_eq!(calls.load(Ordering::SeqCst), 4);
}

async fn a_worker_that_lost_its_lease_commits_nothing(b: Backend) {
    let rx = Receiver::start().await;
    let (fake, _) = fake_with(|_| Answer::reply("Fresh summary.")).await;
    let app = app_with(b, Some(&fake), &rx).await;
    let conv = conversation(&app, "+15551230104").await;
    close(&app, &conv).await;
    // A worker elsewhere claims it with a short lease, then stalls.
    let now = app.clock.now_ms();
    let stalled = app
        .store
        .claim_endings("stalled", now, 1_000, 10)
        .await
        .unwrap();
    assert_eq!(stalled.len(), 1);
    app.drain().await;
    assert!(status_hooks(&rx, &conv).is_empty(), "leased elsewhere");
    app.advance(1_001).await;
    assert_eq!(status_hooks(&rx, &conv).len(), 1, "taken over");
    let late = EndingResults {
        summary: Some("Stale summary.".into()),
        ..Default::default()
    };
    let landed = app
        .store
        .finish_ending(&stalled[0], "stalled", &late, app.clock.now_ms())
        .await
        .unwrap();
    assert!(!landed);
    app.drain().await;
    assert_eq!(status_hooks(&rx, &conv).len(), 1);
    assert_eq!(app.conversation(&conv).await["summary"], "Fresh summary.");
}

async fn summary_prompt_without_a_model_leaves_the_summary_empty(b: Backend) {
    let rx = Receiver::start().await;
    let app = app_with(b, None, &rx).await;
    let conv = conversation(&app, "+15551230105").await;
    close(&app, &conv).await;
    app.drain().await;
    let hooks = status_hooks(&rx, &conv);
    assert_eq!(hooks.len(), 1, "not retried: it cannot succeed here");
    assert_eq!(hooks[0]["summary"], Value::Null);
    assert_eq!(hooks[0]["citations"], json!({}));
    assert_eq!(hooks[0]["dispositions"], json!([]));
    assert_eq!(app.store.next_ending_at().await.unwrap(), None);
}

async fn a_reactivated_conversation_ends_again_with_a_second_webhook(b: Backend) {
    let rx = Receiver::start().await;
    let (fake, calls) = fake_with(|n| Answer::reply(&format!("Summary {}.", n + 1))).await;
    let app = app_with(b, Some(&fake), &rx).await;
    let conv = conversation(&app, "+15551230106").await;
    close(&app, &conv).await;
    app.drain().await;
    let (status, body) = app
        .call(
            Method::PATCH,
            &format!("/v1/sms/conversations/{conv}"),
            &app.key,
            Some(&json!({"is_active": true})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    close(&app, &conv).await;
    app.drain().await;
    let summaries: Vec<Value> = status_hooks(&rx, &conv)
        .iter()
        .map(|h| h["summary"].clone())
        .collect();
    assert_eq!(summaries, vec![json!("Summary 1."), json!("Summary 2.")]);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}
