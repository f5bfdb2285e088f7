//! Ending a conversation: every trigger goes through one store function, so racing
//! triggers end it once and fire one status webhook.

use reqwest::Method;
use serde_json::json;

use crate::{
    helpers::{Backend, TestApp, AGENT},
    webhook_receiver::{loopback_config, Receiver},
};
use parley_domain::clock::Clock;
use parley_store::{EndOutcome, EndStatus};

crate::backend_tests!(racing_end_triggers_end_the_conversation_once);

async fn racing_end_triggers_end_the_conversation_once(b: Backend) {
    let app = TestApp::spawn_with(b, loopback_config()).await;
    let rx = Receiver::start().await;
    for round in 0..5 {
        let user = format!("+155512305{round:02}");
        let (status, res) = app
            .post(
                "/v1/sms/send",
                &app.key,
                &json!({"user_number": user, "agent_number": AGENT, "agent_message": "hi", "webhook": rx.url("/end")}),
            )
            .await;
        assert_eq!(status, 200, "{res}");
        let conv = res["data"]["conversation_id"].as_str().unwrap().to_owned();
        let now = app.clock.now_ms();
        let path = format!("/v1/sms/conversations/{conv}");
        let close = json!({"is_active": false});
        let stop_body = json!({"from": user, "to": AGENT, "message": "STOP"});
        let (a, b2, c, patch, stop) = tokio::join!(
            app.store
                .end_conversation(&app.org_id, &conv, EndStatus::Timeout, now),
            app.store
                .end_conversation(&app.org_id, &conv, EndStatus::Ended, now),
            app.store
                .end_conversation(&app.org_id, &conv, EndStatus::Blacklisted, now),
            app.call(Method::PATCH, &path, &app.key, Some(&close)),
            app.post("/v1/sandbox/inbound", &app.key, &stop_body),
        );
        assert_eq!(patch.0, 200, "{patch:?}");
        assert_eq!(stop.0, 200, "{stop:?}");
        let store_wins = [a.unwrap(), b2.unwrap(), c.unwrap()]
            .iter()
            .filter(|o| matches!(o, EndOutcome::Ended(_)))
            .count();
        assert!(store_wins <= 1);
        app.drain().await;
        let statuses: Vec<String> = rx
            .accepted()
            .iter()
            .map(|r| r.json())
            .filter(|v| v["conversation_id"] == conv.as_str() && v["type"] == "status")
            .map(|v| v["status"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(statuses.len(), 1, "round {round}: {statuses:?}");
        let row = app
            .store
            .conversation(&app.org_id, &conv)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.ended_reason.as_deref(), Some(statuses[0].as_str()));
        assert!(row.ended_at.is_some());
        assert_eq!(row.timed_out_at.is_some(), statuses[0] == "timeout");
    }
    // Unknown and foreign ids are not found.
    let (other, _) = app.org("other").await;
    assert_eq!(
        app.store
            .end_conversation(
                &other,
                "00000000-0000-7000-8000-000000000000",
                EndStatus::Ended,
                0
            )
            .await
            .unwrap(),
        EndOutcome::NotFound
    );
}
