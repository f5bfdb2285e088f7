//! Two nodes against a Twilio that fails 30% of creates with a 5xx (half of them after
//! creating the message), answers 10% too late for Parley (half after creating), answers
//! everything with 429 for one second in every five, fails 10% of lookups, and sends status
//! callbacks duplicated, reversed and before the send's answer. Nothing may be lost and
//! nothing sent twice.

use std::{collections::BTreeSet, time::Duration};

use serde_json::json;

use crate::{
    checks,
    support::{
        cluster::{agent, Cluster, NUMBERS},
        twilio::Faults,
    },
};

const SENDS: usize = 400;
const USERS: usize = 100;
const LOAD: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_misbehaving_carrier_loses_nothing_and_gets_nothing_twice() {
    let _alone = crate::serial().await;
    let faults = Faults {
        server_error: 0.3,
        timeout: 0.1,
        // Longer than twilio.request_timeout_ms (400) in the nodes' config.
        stall: Duration::from_millis(1_500),
        burst_every: Some(Duration::from_secs(5)),
        burst_len: Duration::from_secs(1),
        duplicate_callback: 0.3,
        reorder_callbacks: 0.3,
        list_error: 0.1,
    };
    let Some(mut cluster) = Cluster::start("faults_carrier", 2, faults, 0.1).await else {
        return;
    };
    let start = tokio::time::Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for k in 0..SENDS {
        let api = cluster.api.clone();
        let u = k % USERS;
        let body = json!({"user_number": format!("+1555030{u:04}"), "agent_number": agent(u % NUMBERS),
                          "agent_message": format!("faulty carrier message {k}")});
        let at = start + LOAD * k as u32 / SENDS as u32;
        tasks.spawn(async move {
            tokio::time::sleep_until(at).await;
            let v = api
                .post("/v1/sms/send", Some(&format!("carrier-{k}")), &body)
                .await;
            v["data"]["message_id"].as_i64().expect("message_id")
        });
    }
    let mut accepted = BTreeSet::new();
    while let Some(r) = tasks.join_next().await {
        accepted.insert(r.expect("send task"));
    }
    let db = cluster.database.pool().await;
    cluster.settle(&db, 0).await;
    cluster.stop().await;

    let (creates, lookups, injected) = cluster.sim.stats();
    eprintln!("{SENDS} sends: {creates} create calls, {lookups} lookups, faults {injected:?}");
    for kind in [
        "429",
        "500 before create",
        "500 after create",
        "stall before create",
        "stall after create",
        "list 503",
    ] {
        assert!(
            injected.get(kind).is_some_and(|n| *n > 0),
            "no {kind:?} fault was injected"
        );
    }
    let report = checks::Report::read(&db, &cluster.sim).await;
    assert_eq!(
        report.outbound.len(),
        SENDS,
        "one message per accepted send"
    );
    report.exactly_once_in_order(&accepted);
    report
        .webhooks_at_least_once_in_order(&db, &cluster.hooks)
        .await;
}
