//! One idempotency key, 100 concurrent requests spread over three nodes: every request gets
//! the same answer, and exactly one message exists and reaches the carrier.

use std::sync::Arc;

use serde_json::{json, Value};

use crate::support::{cluster::Cluster, twilio::Faults, API_KEY};

const REQUESTS: usize = 100;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_key_sent_100_times_at_once_to_three_nodes_is_one_message() {
    let _alone = crate::serial().await;
    let Some(mut cluster) = Cluster::start("faults_idem", 3, Faults::default(), 0.0).await else {
        return;
    };
    let body = json!({"user_number": "+15550300001", "agent_number": crate::support::cluster::agent(0),
                      "agent_message": "exactly one of me"});
    let http = reqwest::Client::new();
    let barrier = Arc::new(tokio::sync::Barrier::new(REQUESTS));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..REQUESTS {
        let (http, barrier, body) = (http.clone(), barrier.clone(), body.clone());
        let url = format!("{}/v1/sms/send", cluster.bases[i % cluster.bases.len()]);
        tasks.spawn(async move {
            barrier.wait().await;
            let r = http
                .post(url)
                .header("authorization", API_KEY)
                .header("idempotency-key", "the-one-key")
                .json(&body)
                .send()
                .await
                .expect("a node answers");
            let status = r.status().as_u16();
            (status, r.json::<Value>().await.expect("a JSON answer"))
        });
    }
    let mut answers = Vec::new();
    while let Some(r) = tasks.join_next().await {
        answers.push(r.expect("request task"));
    }
    for (status, v) in &answers {
        assert_eq!(*status, 200, "{v}");
    }
    let first = &answers[0].1["data"];
    assert!(first["message_id"].is_i64(), "{first}");
    for (_, v) in &answers {
        assert_eq!(&v["data"], first, "every request gets the first answer");
    }
    let db = cluster.database.pool().await;
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM messages")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(stored, 1, "one message stored");
    cluster.settle(&db, 0).await;
    let created = cluster.sim.created();
    assert_eq!(created.len(), 1, "one message reached the carrier");
    assert_eq!(Some(created[0].message_id), first["message_id"].as_i64());
    cluster.stop().await;
}
