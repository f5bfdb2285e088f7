//! Crash test for batches: a 100,000-row batch, `kill -9` of the real `parley serve` while
//! the batch worker is queueing it, restart on the same database, and show that every valid
//! row was queued exactly once, in file order, and every invalid or duplicate row reported
//! exactly once.
//!
//! The dispatcher is off in both runs (`dispatch.enabled = false`; the batch worker runs on
//! its own switch): sending 98,000 messages through a debug build takes far longer than this
//! test may, and that a queued message is handed to the carrier exactly once across a
//! `kill -9` is what `crash.rs` proves for every queued message, batch rows included (they
//! are ordinary queued messages).
//!
//! At the kill, the batch's cursor, its counters and its committed messages and skipped
//! rows must agree exactly: a chunk commits whole or not at all.
//!
//! Runs on a temporary SQLite file, and also on PostgreSQL when `PARLEY_TEST_DATABASE_URL`
//! is set (in a fresh database created for the run and dropped afterwards).

use std::{
    collections::BTreeMap,
    fs::File,
    io::{BufRead, BufReader, Write},
    net::TcpListener,
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use parley_store::{Store, StoreOptions};

// Not every helper of the shared file is used by this target.
#[allow(dead_code)]
#[path = "common/fresh_db.rs"]
mod fresh_db;
use serde_json::{json, Value};

const ROWS: i64 = 100_000;
/// PostgreSQL shares this machine's two cores with the test and the server; a smaller batch
/// keeps its run within the test's time budget (the same chunk path as SQLite's 100,000).
const PG_ROWS: i64 = 20_000;
const API_KEY: &str = "batch-crash-key";
const AGENT: &str = "+15550200000";
/// The kill happens once this share of the rows has been read.
const KILL_AFTER: f64 = 0.15;
const DEADLINE: Duration = Duration::from_secs(150);
const POLL: Duration = Duration::from_millis(20);

/// Row `i` (1-based): every 97th has a bad number, every 89th repeats row 1's number.
fn row(i: i64) -> (String, Option<&'static str>) {
    if i % 97 == 0 {
        (format!("12ab{i}"), Some("invalid_phone_number"))
    } else if i % 89 == 0 {
        (number(1), Some("duplicate_phone_number"))
    } else {
        (number(i), None)
    }
}

fn number(i: i64) -> String {
    format!("1555{i:07}")
}

struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start(dir: &Path, run: &str, database_url: &str) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_parley"));
        for (k, _) in std::env::vars() {
            if k.starts_with("PARLEY_") {
                cmd.env_remove(k);
            }
        }
        let listen = format!("127.0.0.1:{port}");
        let child = cmd
            .args(["serve", "--listen", &listen, "--database-url", database_url])
            .env("PARLEY_API_KEY", API_KEY)
            .env("PARLEY_BATCHES__DATA_DIR", dir.join("data"))
            .env("PARLEY_BATCHES__LEASE_MS", "2000")
            .env("PARLEY_DISPATCH__ENABLED", "false")
            .env("PARLEY_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(File::create(dir.join(format!("{run}.stdout"))).unwrap())
            .stderr(File::create(dir.join(format!("{run}.stderr"))).unwrap())
            .spawn()
            .expect("spawn parley serve");
        Self {
            child,
            base: format!("http://{listen}"),
        }
    }

    async fn ready(&mut self, http: &reqwest::Client) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("parley serve exited before becoming ready: {status}");
            }
            if let Ok(r) = http.get(format!("{}/readyz", self.base)).send().await {
                if r.status().is_success() {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "parley serve not ready after 30 s"
            );
            tokio::time::sleep(POLL).await;
        }
    }

    fn kill(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

fn default_org_id(dir: &Path) -> String {
    let f = File::open(dir.join("run1.stdout")).unwrap();
    for line in BufReader::new(f).lines() {
        let line = line.unwrap();
        if let Some(rest) = line.strip_prefix("Parley first start: created org \"default\" (") {
            return rest.trim_end_matches(')').to_owned();
        }
    }
    panic!("no first-start banner on stdout");
}

async fn status(http: &reqwest::Client, base: &str, id: &str) -> Value {
    let r = http
        .get(format!("{base}/v1/sms/batch/{id}"))
        .header("authorization", API_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json::<Value>().await.unwrap()["data"].clone()
}

async fn scenario(label: &str, database_url: &str, dir: &Path, rows: i64) {
    let started = Instant::now();
    let http = reqwest::Client::new();
    // The file, and what must come of it.
    let csv_path = dir.join("batch.csv");
    let mut valid = Vec::new();
    let mut skips = BTreeMap::new();
    {
        let mut f = std::io::BufWriter::new(File::create(&csv_path).unwrap());
        writeln!(f, "phone_number,name,city").unwrap();
        for i in 1..=rows {
            let (n, skip) = row(i);
            writeln!(f, "{n},name {i},\"City, {}\"", i % 50).unwrap();
            match skip {
                Some(reason) => {
                    skips.insert(i, (format!("+{}", n.trim_start_matches('+')), reason));
                }
                None => valid.push(format!("+{n}")),
            }
        }
    }
    // A bad number is reported as written.
    for (i, (n, reason)) in skips.iter_mut() {
        if *reason == "invalid_phone_number" {
            *n = row(*i).0;
        }
    }

    let mut run1 = Server::start(dir, "run1", database_url);
    run1.ready(&http).await;
    let org_id = default_org_id(dir);
    let out = Command::new(env!("CARGO_BIN_EXE_parley"))
        .args(["number", "add", AGENT, "--org", &org_id, "--mps", "100000"])
        .args(["--database-url", database_url])
        .env_remove("PARLEY_DATABASE_URL")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let store = Store::connect(
        database_url,
        &StoreOptions {
            max_connections: 2,
            ..Default::default()
        },
    )
    .await
    .unwrap();

    let up: Value = http
        .post(format!(
            "{}/v1/files/attach?file_type=batches&name=batch.csv",
            run1.base
        ))
        .header("authorization", API_KEY)
        .header("content-type", "text/csv")
        .body(std::fs::read(&csv_path).unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(up["data"]["row_count"], rows, "{up}");
    let id = up["data"]["file_id"].as_str().unwrap().to_owned();
    let r = http
        .post(format!("{}/v1/sms/batch", run1.base))
        .header("authorization", API_KEY)
        .json(&json!({"file_id": id, "global": {"agent_number": AGENT, "agent_message": "Hi {{name}} in {{city}}"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());

    // Kill -9 while the batch is being read.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let b = store.batch(&org_id, &id).await.unwrap().unwrap();
        let read = b.next_row - 1;
        if read as f64 >= rows as f64 * KILL_AFTER {
            assert_eq!(b.state, "running", "the batch was queued before the kill");
            run1.kill();
            break;
        }
        assert!(Instant::now() < deadline, "batch at row {read} after 60 s");
        tokio::time::sleep(POLL).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let b = store.batch(&org_id, &id).await.unwrap().unwrap();
    let queued_at_kill = store.batch_recipient_numbers(&id).await.unwrap();
    let skipped_at_kill = store.batch_errors(&id, 0, rows).await.unwrap();
    eprintln!(
        "[{label}] SIGKILL {:.1?} after start: cursor at row {}, {} queued, {} skipped",
        started.elapsed(),
        b.next_row,
        queued_at_kill.len(),
        skipped_at_kill.len(),
    );
    assert!(b.next_row - 1 < rows, "the kill came after the last chunk");
    // The cursor, the counters and the committed rows agree: chunks are atomic.
    assert_eq!(b.queued, queued_at_kill.len() as i64);
    assert_eq!(b.skipped, skipped_at_kill.len() as i64);
    assert_eq!(b.queued + b.skipped, b.next_row - 1);
    assert_eq!(&queued_at_kill[..], &valid[..queued_at_kill.len()]);
    drop(run1);

    // Restart on the same database: the batch resumes after its last committed chunk.
    let mut run2 = Server::start(dir, "run2", database_url);
    run2.ready(&http).await;
    let deadline = Instant::now() + DEADLINE;
    loop {
        let s = status(&http, &run2.base, &id).await;
        if s["state"] == "completed" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not done after {DEADLINE:?}: {s}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let s = status(&http, &run2.base, &id).await;
    let t = &s["totals"];
    assert_eq!(t["rows"], rows, "{s}");
    assert_eq!(t["processed"], rows);
    assert_eq!(t["skipped"], skips.len());
    assert_eq!(t["queued"], valid.len());

    // Every valid row exactly once, in file order; every skipped row exactly once.
    assert_eq!(store.batch_recipient_numbers(&id).await.unwrap(), valid);
    let queued = store.queue_depth(0).await.unwrap().queued;
    assert_eq!(queued, valid.len() as i64);
    let csv = http
        .get(format!("{}/v1/sms/batch/{id}/errors", run2.base))
        .header("authorization", API_KEY)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("row_number,phone_number,reason"));
    let got: BTreeMap<i64, (String, &str)> = lines
        .map(|l| {
            let mut p = l.splitn(3, ',');
            let i: i64 = p.next().unwrap().parse().unwrap();
            let n = p.next().unwrap().to_owned();
            let reason = p.next().unwrap();
            (i, (n, reason))
        })
        .collect();
    let want: BTreeMap<i64, (String, &str)> = skips
        .iter()
        .map(|(i, (n, r))| (*i, (n.clone(), *r)))
        .collect();
    assert_eq!(got, want);
    eprintln!(
        "[{label}] done {:.1?} after start: {} queued, {} skipped",
        started.elapsed(),
        valid.len(),
        skips.len()
    );
    drop(run2);
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_batch_queues_every_valid_row_exactly_once_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("parley.db");
    scenario("sqlite", db.to_str().unwrap(), dir.path(), ROWS).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_batch_queues_every_valid_row_exactly_once_postgres() {
    let Some(database) = fresh_db::FreshDatabase::create("batch_crash").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    scenario("postgres", &database.url, dir.path(), PG_ROWS).await;
}
