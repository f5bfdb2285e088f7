//! PostgreSQL stopped for a few seconds mid-load and started again. Requests during the
//! outage fail cleanly (`503 SERVICE_UNAVAILABLE`, nothing else); the nodes recover by
//! themselves, without a restart; and every send retried with its idempotency key after the
//! outage is exactly one message, sent exactly once: nothing was half-written.

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::{Arc, Mutex},
    time::Duration,
};

use serde_json::{json, Value};

use crate::{
    checks,
    support::{
        cluster::{agent, Cluster, NUMBERS},
        private_pg::PrivatePg,
        twilio::Faults,
        FreshDatabase, API_KEY,
    },
};

const SENDS: usize = 300;
const LOAD: Duration = Duration::from_secs(12);
const DOWN_AT: Duration = Duration::from_secs(4);
const DOWN_FOR: Duration = Duration::from_secs(3);

/// One attempt, no retry: what a client sees during the outage.
async fn try_send(http: &reqwest::Client, base: &str, key: &str, body: &Value) -> (u16, Value) {
    let r = http
        .post(format!("{base}/v1/sms/send"))
        .header("authorization", API_KEY)
        .header("idempotency-key", key)
        .json(body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("node {base} dropped a request instead of answering: {e}"));
    let status = r.status().as_u16();
    (
        status,
        r.json()
            .await
            .expect("a JSON answer, also during the outage"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_database_restart_mid_load_fails_requests_cleanly_and_the_nodes_recover() {
    let _alone = crate::serial().await;
    if std::env::var("PARLEY_TEST_DATABASE_URL").is_err() {
        eprintln!("PARLEY_TEST_DATABASE_URL not set; PostgreSQL run not requested");
        return;
    }
    let pg = Arc::new(PrivatePg::start());
    let database = FreshDatabase::create_on(&pg.url(), "faults_restart").await;
    let mut cluster = Cluster::start_on(database, 2, Faults::default(), 0.0).await;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();

    let outage = {
        let pg = pg.clone();
        tokio::spawn(async move {
            tokio::time::sleep(DOWN_AT).await;
            tokio::task::spawn_blocking(move || {
                pg.stop_server();
                std::thread::sleep(DOWN_FOR);
                pg.start_server();
            })
            .await
            .unwrap();
        })
    };
    let seen: Arc<Mutex<BTreeMap<u16, usize>>> = Arc::default();
    let start = tokio::time::Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for k in 0..SENDS {
        let (http, seen) = (http.clone(), seen.clone());
        let base = cluster.bases[k % cluster.bases.len()].clone();
        let u = k % 100;
        let body = json!({"user_number": format!("+1555030{u:04}"), "agent_number": agent(u % NUMBERS),
                          "agent_message": format!("restart message {k}")});
        let at = start + LOAD * k as u32 / SENDS as u32;
        tasks.spawn(async move {
            tokio::time::sleep_until(at).await;
            let key = format!("restart-{k}");
            let (status, v) = try_send(&http, &base, &key, &body).await;
            *seen.lock().unwrap().entry(status).or_default() += 1;
            match status {
                200 => {}
                503 => assert_eq!(v["errors"][0]["error"], "SERVICE_UNAVAILABLE", "{v}"),
                _ => panic!("send {k} answered {status} during the restart: {v}"),
            }
            (key, body)
        });
    }
    let mut sends = Vec::new();
    while let Some(r) = tasks.join_next().await {
        sends.push(r.expect("send task"));
    }
    outage.await.unwrap();
    let seen = seen.lock().unwrap().clone();
    eprintln!("answers during the load: {seen:?}");
    assert!(
        seen.get(&503).is_some_and(|n| *n > 0),
        "the outage was never felt: {seen:?}"
    );
    assert!(
        seen.get(&200).is_some_and(|n| *n > 0),
        "nothing succeeded: {seen:?}"
    );

    // Recovered by themselves: ready again, and every send goes through once retried.
    for base in &cluster.bases {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while http
            .get(format!("{base}/readyz"))
            .send()
            .await
            .map(|r| r.status().as_u16())
            .ok()
            != Some(200)
        {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{base} not ready 30 s after the restart"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let mut accepted = BTreeSet::new();
    for (key, body) in &sends {
        let v = cluster.api.post("/v1/sms/send", Some(key), body).await;
        accepted.insert(v["data"]["message_id"].as_i64().expect("message_id"));
    }
    assert_eq!(accepted.len(), SENDS, "one message per key");
    let db = cluster.database.pool().await;
    cluster.settle(&db, 0).await;
    cluster.stop().await;
    let report = checks::Report::read(&db, &cluster.sim).await;
    assert_eq!(
        report.outbound.len(),
        SENDS,
        "no message beyond one per key"
    );
    report.exactly_once_in_order(&accepted);
    report
        .webhooks_at_least_once_in_order(&db, &cluster.hooks)
        .await;
}
