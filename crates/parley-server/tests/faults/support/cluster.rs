//! A running cluster for the fault tests: a fresh PostgreSQL database, the misbehaving
//! Twilio, a webhook receiver, `n` nodes, and `NUMBERS` Twilio numbers whose webhooks go to
//! the receiver.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use serde_json::json;
use sqlx::{PgPool, Row};

use super::{
    add_number, free_port,
    receiver::Receiver,
    twilio::{Faults, TwilioSim},
    write_config, Api, FreshDatabase, Logs, Node, NodeSpec,
};

pub const NUMBERS: usize = 3;
/// Each number's rate: the cluster test offers more, so pacing is what limits sends.
pub const MPS: f64 = 20.0;
const SETTLE: Duration = Duration::from_secs(120);

pub fn agent(n: usize) -> String {
    format!("+1555010{:04}", n + 1)
}

pub struct Cluster {
    pub nodes: Vec<Node>,
    pub bases: Vec<String>,
    pub api: Api,
    pub sim: TwilioSim,
    pub hooks: Receiver,
    pub logs: Arc<Logs>,
    // Dropped last: the nodes must be gone before their database is.
    pub database: FreshDatabase,
    /// Holds the nodes' config and logs until the cluster is dropped.
    _dir: tempfile::TempDir,
}

impl Cluster {
    /// `None` when no PostgreSQL run was requested (`PARLEY_TEST_DATABASE_URL` unset).
    pub async fn start(prefix: &str, n: usize, faults: Faults, hook_failures: f64) -> Option<Self> {
        let database = FreshDatabase::create(prefix).await?;
        Some(Self::start_on(database, n, faults, hook_failures).await)
    }

    pub async fn start_on(
        database: FreshDatabase,
        n: usize,
        faults: Faults,
        hook_failures: f64,
    ) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let logs = Arc::new(Logs::default());
        let sim = TwilioSim::start(faults).await;
        let hooks = Receiver::start(hook_failures).await;
        let config = write_config(dir.path(), "node", &sim.url, "");
        let http = reqwest::Client::new();
        let mut nodes = Vec::new();
        for i in 0..n {
            let spec = NodeSpec {
                name: format!("node{i}"),
                port: free_port(),
                database_url: database.url.clone(),
                config: config.clone(),
                dir: dir.path().to_owned(),
            };
            // The first start creates the org; the others find it.
            let mut node = Node::start(&spec, 0, &logs);
            node.ready(&http).await;
            nodes.push(node);
        }
        let org = nodes[0].default_org_id();
        for n in 0..NUMBERS {
            add_number(&database.url, &org, &agent(n), "twilio", MPS);
        }
        let bases: Vec<String> = nodes.iter().map(|n| n.spec.base()).collect();
        sim.set_nodes(bases.clone());
        let api = Api::new(bases.clone());
        for n in 0..NUMBERS {
            api.post(
                "/v1/sms/number/update",
                None,
                &json!({"phone_number": agent(n), "webhook": hooks.url}),
            )
            .await;
        }
        Self {
            nodes,
            bases,
            api,
            sim,
            hooks,
            logs,
            database,
            _dir: dir,
        }
    }

    /// Waits until nothing is left to do: no undelivered outbound message, no pending
    /// webhook, timer, turn or ending, and `inbound` inbound messages stored.
    pub async fn settle(&self, db: &PgPool, inbound: i64) {
        let deadline = Instant::now() + SETTLE;
        let probes = [
            "SELECT COUNT(*) FROM messages WHERE direction = 'outbound' AND status IS DISTINCT FROM 'delivered'",
            "SELECT COUNT(*) FROM webhook_events WHERE state = 'pending'",
            "SELECT COUNT(*) FROM conversation_timers",
            "SELECT COUNT(*) FROM conversation_turns WHERE requested > answered",
            "SELECT COUNT(*) FROM conversation_endings",
        ];
        loop {
            let mut left = Vec::new();
            for p in probes {
                left.push(count(db, p).await);
            }
            let stored = count(
                db,
                "SELECT COUNT(*) FROM messages WHERE direction = 'inbound'",
            )
            .await;
            if left.iter().all(|n| *n == 0) && stored == inbound {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "not settled after {SETTLE:?}: {left:?} left of {probes:?}; {stored} inbound stored"
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Stops every node gracefully, failing if one died by itself or any logged a panic.
    pub async fn stop(&mut self) {
        for n in &mut self.nodes {
            n.assert_alive();
            n.terminate().await;
        }
        let panics = self.logs.grep("panicked");
        assert!(panics.is_empty(), "a node panicked: {panics:?}");
    }
}

pub async fn count(db: &PgPool, sql: &str) -> i64 {
    sqlx::query(sql)
        .fetch_one(db)
        .await
        .unwrap()
        .get::<i64, _>(0)
}
