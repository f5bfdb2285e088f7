//! Three nodes on one PostgreSQL under steady send and inbound load, one of them `kill -9`ed
//! every few seconds and restarted. Afterwards, from the simulator's and the receiver's own
//! records: every message reached the carrier exactly once and in order per conversation,
//! every timer fired once, every webhook arrived at least once and in order per
//! conversation, and no number went more than 5% over its rate in any one-second window.

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use serde_json::json;

use crate::{
    checks,
    support::{
        cluster::{agent, Cluster, MPS, NUMBERS},
        twilio::{Faults, TwilioSim, ACCOUNT},
        Api, Logs, Node,
    },
};

const NODES: usize = 3;
const PLAIN_USERS: usize = 200;
const PLAIN_SENDS: usize = 700;
/// Conversations with inactivity timers: one send, then a warning and a timeout message.
const TIMER_USERS: usize = 40;
/// Conversations on a static pathway: an opener, then inbound messages that get replies.
const CHAT_USERS: usize = 40;
const INBOUND_PER_CHAT: usize = 3;
const LOAD: Duration = Duration::from_secs(20);
const KILL_EVERY: Duration = Duration::from_secs(3);

fn plain_user(u: usize) -> String {
    format!("+1555030{u:04}")
}

fn timer_user(u: usize) -> String {
    format!("+1555040{u:04}")
}

fn chat_user(u: usize) -> String {
    format!("+1555050{u:04}")
}

/// Sends `body` once `start + at` has come, with an idempotency key, and returns the
/// accepted message id.
async fn send_at(
    api: Api,
    start: Instant,
    at: Duration,
    key: String,
    body: serde_json::Value,
) -> i64 {
    tokio::time::sleep_until((start + at).into()).await;
    let v = api.post("/v1/sms/send", Some(&key), &body).await;
    v["data"]["message_id"].as_i64().expect("message_id")
}

async fn static_pathway(api: &Api) -> String {
    let created = api
        .post("/v1/pathway/create", None, &json!({"name": "faults chat"}))
        .await;
    let id = created["pathway_id"].as_str().unwrap().to_owned();
    let nodes = json!([
        {"id": "a", "type": "Default", "data": {"name": "A", "isStart": true, "text": "Hello from the agent"}},
        {"id": "b", "type": "Default", "data": {"name": "B", "text": "Noted, thank you"}}
    ]);
    let edges = json!([
        {"id": "ab", "source": "a", "target": "b", "data": {"label": "any", "alwaysPick": true}},
        {"id": "ba", "source": "b", "target": "a", "data": {"label": "any", "alwaysPick": true}}
    ]);
    api.post(
        &format!("/v1/pathway/{id}"),
        None,
        &json!({"nodes": nodes, "edges": edges}),
    )
    .await;
    id
}

/// The offered load: plain sends spread over `LOAD`, timer conversations and chat
/// conversations (opener, then inbound messages 2 s apart, one of each posted twice as a
/// carrier retry would). Returns the ids the API accepted.
async fn load(api: Api, sim: TwilioSim, pathway: String) -> Vec<i64> {
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    let step = LOAD / PLAIN_SENDS as u32;
    for k in 0..PLAIN_SENDS {
        let u = k % PLAIN_USERS;
        let body = json!({"user_number": plain_user(u), "agent_number": agent(u % NUMBERS),
                          "agent_message": format!("plain message {k}")});
        tasks.spawn(send_at(
            api.clone(),
            start,
            step * k as u32,
            format!("plain-{k}"),
            body,
        ));
    }
    let half = LOAD / 2;
    for u in 0..TIMER_USERS {
        let body = json!({"user_number": timer_user(u), "agent_number": agent(u % NUMBERS),
                          "agent_message": format!("timer conversation {u}"),
                          "warning_time": 1, "time_out": 3,
                          "warning_message": "Are you still there?",
                          "timeout_message": "Closing this conversation."});
        let at = half * u as u32 / TIMER_USERS as u32;
        tasks.spawn(send_at(api.clone(), start, at, format!("timer-{u}"), body));
    }
    for u in 0..CHAT_USERS {
        let (api, sim, pathway) = (api.clone(), sim.clone(), pathway.clone());
        tasks.spawn(async move {
            let at = half * u as u32 / CHAT_USERS as u32;
            let body = json!({"user_number": chat_user(u), "agent_number": agent(u % NUMBERS),
                              "pathway_id": pathway, "agent_message": format!("chat opener {u}")});
            let id = send_at(api.clone(), start, at, format!("chat-{u}"), body).await;
            for i in 0..INBOUND_PER_CHAT {
                tokio::time::sleep(Duration::from_secs(2)).await;
                let sid = format!("SM{:032x}", 0xA000_0000usize + u * 16 + i);
                let (from, to, text) = (chat_user(u), agent(u % NUMBERS), format!("question {i}"));
                let params = [
                    ("MessageSid", sid.as_str()),
                    ("SmsSid", sid.as_str()),
                    ("AccountSid", ACCOUNT),
                    ("From", from.as_str()),
                    ("To", to.as_str()),
                    ("Body", text.as_str()),
                    ("NumMedia", "0"),
                ];
                let copies = if i == 1 { 2 } else { 1 };
                for _ in 0..copies {
                    sim.post_signed("/v1/carriers/twilio/inbound", &params)
                        .await;
                }
            }
            id
        });
    }
    let mut ids = Vec::new();
    while let Some(r) = tasks.join_next().await {
        ids.push(r.expect("load task"));
    }
    ids
}

/// Kills one node every `KILL_EVERY` (in turn) and restarts it on the same port, until told
/// to stop. Returns the nodes, running, and how many kills there were.
async fn killer(
    mut nodes: Vec<Node>,
    logs: Arc<Logs>,
    stop: Arc<AtomicBool>,
) -> (Vec<Node>, usize) {
    let http = reqwest::Client::new();
    let mut kills = 0;
    while !stop.load(Ordering::Relaxed) {
        tokio::time::sleep(KILL_EVERY).await;
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let i = kills % nodes.len();
        nodes[i].assert_alive();
        nodes[i].kill();
        kills += 1;
        eprintln!("killed {} at {}", nodes[i].spec.name, checks::epoch_ms());
        let spec = nodes[i].spec.clone();
        let runs = nodes[i].runs + 1;
        nodes[i] = Node::start(&spec, runs, &logs);
        nodes[i].ready(&http).await;
    }
    (nodes, kills)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_nodes_killed_in_turn_lose_nothing_and_send_nothing_twice() {
    let _alone = crate::serial().await;
    let Some(mut cluster) = Cluster::start("faults_cluster", NODES, Faults::default(), 0.1).await
    else {
        return;
    };
    let pathway = static_pathway(&cluster.api).await;

    let stop = Arc::new(AtomicBool::new(false));
    let nodes = std::mem::take(&mut cluster.nodes);
    let killing = tokio::spawn(killer(nodes, cluster.logs.clone(), stop.clone()));
    let accepted = load(cluster.api.clone(), cluster.sim.clone(), pathway).await;
    stop.store(true, Ordering::Relaxed);
    let (nodes, kills) = killing.await.expect("killer task");
    cluster.nodes = nodes;
    let db = cluster.database.pool().await;
    cluster
        .settle(&db, (CHAT_USERS * INBOUND_PER_CHAT) as i64)
        .await;
    cluster.stop().await;

    let (sim, logs) = (&cluster.sim, &cluster.logs);
    let report = checks::Report::read(&db, sim).await;
    eprintln!(
        "{kills} kills; {} accepted sends; {} outbound messages; carrier stats {:?}",
        accepted.len(),
        report.outbound.len(),
        sim.stats()
    );
    assert!(kills >= 5, "only {kills} kills during the load");
    for (id, n) in crate::support::creates_by_message(&report.created) {
        if n > 1 {
            let times: Vec<_> = report
                .created
                .iter()
                .filter(|c| c.message_id == id)
                .map(|c| (c.sid.clone(), c.at_epoch_ms))
                .collect();
            eprintln!(
                "message {id} created {n} times {times:?}; row {:?}; its log lines:",
                report.outbound[&id]
            );
            for line in logs.grep(&format!("message.id={id} ")) {
                eprintln!("  {line}");
            }
        }
    }
    let accepted: BTreeSet<i64> = accepted.into_iter().collect();
    report.exactly_once_in_order(&accepted);
    report.rate_within(MPS, 0.05);
    report
        .webhooks_at_least_once_in_order(&db, &cluster.hooks)
        .await;
    let timers: BTreeSet<String> = (0..TIMER_USERS).map(timer_user).collect();
    report.timers_fired_once(&db, &timers).await;
    let chats: BTreeMap<String, usize> = (0..CHAT_USERS)
        .map(|u| (chat_user(u), INBOUND_PER_CHAT))
        .collect();
    report.inbound_stored_once_and_answered(&db, &chats).await;
}
