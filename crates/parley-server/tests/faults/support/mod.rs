//! What the fault tests share: node processes, the misbehaving Twilio, the webhook
//! receiver, a client that retries across nodes as a customer behind a load balancer
//! would, and the checks on what reached the carrier.

pub mod cluster;
#[path = "../../common/fresh_db.rs"]
pub mod fresh_db;
#[path = "../../common/logs.rs"]
pub mod logs;
pub mod node;
pub mod private_pg;
pub mod receiver;
pub mod twilio;

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use rand::Rng;
use serde_json::Value;

pub use fresh_db::FreshDatabase;
pub use logs::Logs;
pub use node::{add_number, free_port, Node, NodeSpec, API_KEY};

/// A node config for the tests: short leases so a killed node's work is re-driven within
/// seconds, fast retries, every webhook allowed to loopback, Twilio at the simulator.
pub fn write_config(dir: &Path, name: &str, twilio_url: &str, extra: &str) -> PathBuf {
    let path = dir.join(format!("{name}.toml"));
    let text = format!(
        r#"
public_base_url = "{public}"

[database]
max_connections = 6
acquire_timeout_secs = 2

[dispatch]
lease_ms = 2000
poll_interval_ms = 100

[retry]
base_ms = 50
max_ms = 400
max_attempts = 40

[webhooks]
timeout_ms = 1000
allowed_networks = ["127.0.0.0/8"]

[webhooks.retry]
base_ms = 50
max_ms = 400
max_attempts = 40

[leases]
timers_ms = 2000
jobs_ms = 2000
endings_ms = 3000
turn_margin_ms = 2000

[language_model]
timeout_ms = 1000
turn_budget_ms = 1000

[twilio]
base_url = "{twilio_url}"
request_timeout_ms = 400
connect_timeout_ms = 200

[twilio.accounts.default]
account_sid = "{account}"
auth_token = "{token}"

[batches]
data_dir = "{data}"

{extra}
"#,
        public = twilio::PUBLIC,
        account = twilio::ACCOUNT,
        token = twilio::TOKEN,
        data = dir.join("batches").display(),
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// A customer's client behind a load balancer: each request goes to some node, and a
/// request that finds its node down (or the database unavailable) is retried on another
/// with the same idempotency key. Anything but 200, 503 or a dead connection fails the test.
#[derive(Clone)]
pub struct Api {
    pub http: reqwest::Client,
    pub bases: Vec<String>,
}

impl Api {
    pub fn new(bases: Vec<String>) -> Self {
        Self {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap(),
            bases,
        }
    }

    /// POSTs until some node answers 200; returns the answer.
    pub async fn post(&self, path: &str, key: Option<&str>, body: &Value) -> Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut node = rand::thread_rng().gen_range(0..self.bases.len());
        loop {
            let mut req = self
                .http
                .post(format!("{}{path}", self.bases[node % self.bases.len()]))
                .header("authorization", API_KEY)
                .json(body);
            if let Some(k) = key {
                req = req.header("idempotency-key", k);
            }
            node += 1;
            if let Ok(r) = req.send().await {
                let status = r.status().as_u16();
                if let Ok(v) = r.json::<Value>().await {
                    match status {
                        200 => return v,
                        503 => assert_eq!(v["errors"][0]["error"], "SERVICE_UNAVAILABLE", "{v}"),
                        _ => panic!("{path} {body} answered {status}: {v}"),
                    }
                }
            }
            assert!(
                Instant::now() < deadline,
                "{path}: no node answered 200 in 60 s"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// The most events of `times` (ms, any order) inside any window `[t, t + window)`.
pub fn max_in_window(times: &[f64], window_ms: f64) -> usize {
    let mut t = times.to_vec();
    t.sort_by(f64::total_cmp);
    busiest_window(&t, window_ms).len()
}

/// The indices of the busiest window `[t, t + window)` of `sorted` (ascending times): the
/// first one holding the most events.
pub fn busiest_window(sorted: &[f64], window_ms: f64) -> std::ops::Range<usize> {
    let (mut best, mut lo) = (0..0, 0);
    for hi in 0..sorted.len() {
        while sorted[hi] - sorted[lo] >= window_ms {
            lo += 1;
        }
        if hi + 1 - lo > best.len() {
            best = lo..hi + 1;
        }
    }
    best
}

#[test]
fn max_in_window_counts_half_open_windows() {
    assert_eq!(max_in_window(&[], 1000.0), 0);
    assert_eq!(max_in_window(&[0.0, 1000.0, 2000.0], 1000.0), 1);
    assert_eq!(max_in_window(&[0.0, 999.0, 1000.0, 1500.0], 1000.0), 3);
    assert_eq!(max_in_window(&[5.0, 1.0, 3.0, 2.0], 2.5), 3);
}

/// Each message id the carrier created, with how many times.
pub fn creates_by_message(created: &[twilio::Created]) -> BTreeMap<i64, usize> {
    let mut by = BTreeMap::new();
    for c in created {
        *by.entry(c.message_id).or_default() += 1;
    }
    by
}
