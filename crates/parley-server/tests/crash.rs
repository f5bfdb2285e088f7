//! Crash test: queue 10,000 messages, `kill -9` the server mid-dispatch, restart it on the
//! same database, and show that the sandbox received every message id exactly once, in
//! order within each conversation, and that the only repeated hand-overs are those the kill
//! (or a timed-out carrier call) can explain.
//!
//! Three runs of the real `parley` binary share one database:
//! 1. dispatch off: first start, numbers, and 10,000 sends over HTTP (all must be 200);
//! 2. dispatch on: SIGKILL once the sandbox holds 10–60% of the messages;
//! 3. dispatch on: runs until the queue is empty and the sandbox has every message.
//!
//! Sends go in with dispatch off because in a debug build the API accepts messages more
//! slowly than the dispatcher sends them: with both on, the queue drains as fast as it
//! fills and there is no "mid-dispatch" to kill in.
//!
//! Runs on a temporary SQLite file, and also on PostgreSQL when `PARLEY_TEST_DATABASE_URL`
//! is set (in a fresh database created for the run and dropped afterwards).

use std::{
    collections::{BTreeMap, BTreeSet},
    fs::File,
    io::{BufRead, BufReader, Read},
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use parley_store::{MessageRow, SandboxMessage, Store, StoreOptions};

// Not every helper of the shared file is used by this target.
#[allow(dead_code)]
#[path = "common/fresh_db.rs"]
mod fresh_db;
#[allow(dead_code)]
#[path = "common/logs.rs"]
mod logs;
use serde_json::{json, Value};

const MESSAGES: usize = 10_000;
const USERS: usize = 2_000;
const NUMBERS: usize = 4;
const MPS: f64 = 1_000.0;
const SEND_CONCURRENCY: usize = 32;
/// Short, so that run 3 re-drives what the killed worker held within seconds.
const LEASE_MS: i64 = 2_000;
const API_KEY: &str = "crash-test-key";
/// The kill happens once the sandbox holds between these fractions of all messages.
const KILL_AT: (f64, f64) = (0.10, 0.60);
/// Coarse ceiling on re-hand-overs; the exact bound is computed from the kill snapshot.
const MAX_REHANDOVERS: i64 = 2_000;
const SETTLE_DEADLINE: Duration = Duration::from_secs(120);
const POLL: Duration = Duration::from_millis(20);
/// What the dispatcher logs when a carrier call exceeds its time limit.
const TIMEOUT_LOG: &str = "carrier call timed out";

fn agent_number(n: usize) -> String {
    format!("+1555010{:04}", n + 1)
}

fn user_number(u: usize) -> String {
    format!("+1555030{u:04}")
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// A running `parley serve`; SIGKILLed when dropped (also on panic).
struct Server {
    child: Child,
    stdout: PathBuf,
    stderr: PathBuf,
    base: String,
}

impl Server {
    fn start(dir: &Path, run: &str, database_url: &str, dispatch: bool, logs: &logs::Logs) -> Self {
        let port = {
            let l = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
            l.local_addr().unwrap().port()
        };
        let stdout = dir.join(format!("{run}.stdout"));
        let stderr = dir.join(format!("{run}.stderr"));
        logs.add(stdout.clone());
        logs.add(stderr.clone());
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
            .env("PARLEY_DISPATCH__ENABLED", dispatch.to_string())
            .env("PARLEY_DISPATCH__LEASE_MS", LEASE_MS.to_string())
            .env("PARLEY_SANDBOX__DELIVERY_DELAY_MS", "0")
            .env("PARLEY_LOG", "info,sqlx=warn")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(File::create(&stdout).unwrap())
            .stderr(File::create(&stderr).unwrap())
            .spawn()
            .expect("spawn parley serve");
        Self {
            child,
            stdout,
            stderr,
            base: format!("http://{listen}"),
        }
    }

    /// Waits for `/readyz`; fails fast if the process exits.
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

    /// The org id from the first-start banner.
    fn default_org_id(&self) -> String {
        let f = File::open(&self.stdout).unwrap();
        for line in BufReader::new(f).lines() {
            let line = line.unwrap();
            if let Some(rest) = line.strip_prefix("Parley first start: created org \"default\" (") {
                return rest.trim_end_matches(')').to_owned();
            }
        }
        panic!("no first-start banner on stdout");
    }

    /// Carrier calls of this run that hit the dispatcher's time limit, by message id. Each
    /// may have reached the carrier anyway (the call is abandoned, not undone), so each may
    /// explain one repeated hand-over.
    fn carrier_timeouts(&self) -> BTreeMap<i64, i64> {
        let mut bytes = Vec::new();
        File::open(&self.stderr)
            .unwrap()
            .read_to_end(&mut bytes)
            .unwrap();
        timeouts_in(&String::from_utf8_lossy(&bytes))
    }

    /// SIGTERM, then waits for the graceful shutdown.
    async fn terminate(&mut self) {
        let pid = self.child.id().to_string();
        let signalled = Command::new("kill").args(["-TERM", &pid]).status();
        assert!(
            signalled.is_ok_and(|s| s.success()),
            "kill -TERM {pid} failed"
        );
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(
                    status.success(),
                    "parley serve exited with {status} after SIGTERM"
                );
                return;
            }
            assert!(
                Instant::now() < deadline,
                "parley serve still running 30 s after SIGTERM"
            );
            tokio::time::sleep(POLL).await;
        }
    }

    /// SIGKILL (`Child::kill` on Unix), then reap.
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

/// Counts the dispatcher's carrier-timeout log lines by message id.
fn timeouts_in(log: &str) -> BTreeMap<i64, i64> {
    let mut by_id = BTreeMap::new();
    for line in strip_ansi(log).lines() {
        if !line.contains(TIMEOUT_LOG) {
            continue;
        }
        let id = line
            .split_once("message.id=")
            .and_then(|(_, rest)| {
                let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                digits.parse::<i64>().ok()
            })
            .unwrap_or_else(|| panic!("no message id in timeout log line: {line}"));
        *by_id.entry(id).or_default() += 1;
    }
    by_id
}

/// Removes terminal colour sequences (`ESC [ ... m`) from log text.
fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn add_number(database_url: &str, org_id: &str, number: &str) {
    let out = Command::new(env!("CARGO_BIN_EXE_parley"))
        .args(["number", "add", number, "--org", org_id])
        .args(["--mps", &MPS.to_string(), "--database-url", database_url])
        .env_remove("PARLEY_DATABASE_URL")
        .output()
        .expect("run parley number add");
    assert!(
        out.status.success(),
        "parley number add failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let row: Value = serde_json::from_slice(&out.stdout).expect("number add prints JSON");
    assert_eq!(row["phone_number"], number);
}

#[derive(Debug, Clone)]
struct Sent {
    message_id: i64,
    conversation_id: String,
    user: usize,
}

/// Queues `MESSAGES` messages: message `k` goes to user `k % USERS` from that user's number,
/// so each conversation gets `MESSAGES / USERS` messages spread over the whole run.
async fn queue_all(http: &reqwest::Client, base: &str) -> Vec<Sent> {
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..SEND_CONCURRENCY {
        let (http, next, url) = (http.clone(), next.clone(), format!("{base}/v1/sms/send"));
        workers.spawn(async move {
            let mut mine = Vec::new();
            loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                if k >= MESSAGES {
                    return mine;
                }
                let user = k % USERS;
                let body = json!({
                    "user_number": user_number(user),
                    "agent_number": agent_number(user % NUMBERS),
                    "agent_message": format!("crash test message {k}"),
                });
                let r = http
                    .post(&url)
                    .header("authorization", API_KEY)
                    .json(&body)
                    .send()
                    .await
                    .expect("send request");
                let status = r.status();
                let v: Value = r.json().await.expect("JSON answer");
                assert_eq!(status, 200, "send {k} answered {status}: {v}");
                let d = &v["data"];
                mine.push(Sent {
                    message_id: d["message_id"].as_i64().expect("message_id"),
                    conversation_id: d["conversation_id"]
                        .as_str()
                        .expect("conversation_id")
                        .to_owned(),
                    user,
                });
            }
        });
    }
    let mut all = Vec::with_capacity(MESSAGES);
    while let Some(r) = workers.join_next().await {
        all.extend(r.expect("sender task"));
    }
    all
}

/// Waits until nothing is queued and the sandbox holds every message.
async fn wait_settled(store: &Store) {
    let deadline = Instant::now() + SETTLE_DEADLINE;
    loop {
        let queued = store.queue_depth(now_ms()).await.unwrap().queued;
        let (rows, _) = store.sandbox_totals().await.unwrap();
        if queued == 0 && rows >= MESSAGES as i64 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "not settled after {SETTLE_DEADLINE:?}: {queued} still queued, sandbox has {rows} of {MESSAGES}"
        );
        tokio::time::sleep(POLL).await;
    }
}

/// Sandbox rows, hand-overs and queued messages once they stop changing. After a SIGKILL
/// PostgreSQL may still finish statements the dead process had sent, so the first reading
/// is not necessarily the final state.
async fn quiesced_totals(store: &Store) -> (i64, i64, i64) {
    let read = || async {
        let (rows, attempts) = store.sandbox_totals().await.unwrap();
        let queued = store.queue_depth(now_ms()).await.unwrap().queued;
        (rows, attempts, queued)
    };
    let mut last = read().await;
    let mut same = 0;
    while same < 3 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let now = read().await;
        same = if now == last { same + 1 } else { 0 };
        last = now;
    }
    last
}

/// Every handset's inbox, by message id; checks each handset got exactly its messages
/// (`want` sorted) when `exact`, a subset otherwise.
async fn sandbox_view(
    store: &Store,
    org_id: &str,
    by_user: &BTreeMap<usize, Vec<i64>>,
    exact: bool,
) -> BTreeMap<i64, SandboxMessage> {
    let mut view = BTreeMap::new();
    for (&user, want) in by_user {
        let inbox = store
            .sandbox_inbox(org_id, &user_number(user), (MESSAGES + 1) as i64)
            .await
            .unwrap();
        let got: Vec<i64> = inbox.iter().map(|m| m.message_id).collect();
        if exact {
            assert_eq!(
                &got,
                want,
                "handset {} received exactly its accepted ids",
                user_number(user)
            );
        } else {
            assert!(
                got.iter().all(|id| want.binary_search(id).is_ok()),
                "handset {} received ids it was never sent: {got:?}",
                user_number(user)
            );
        }
        for m in inbox {
            assert_eq!(m.from_number, agent_number(user % NUMBERS));
            assert!(m.attempts >= 1);
            let id = m.message_id;
            assert!(view.insert(id, m).is_none(), "message {id} in two inboxes");
        }
    }
    view
}

/// Every conversation's messages, checking each holds exactly its accepted ids.
async fn conversations_view(
    store: &Store,
    by_conversation: &BTreeMap<String, Vec<i64>>,
) -> BTreeMap<String, Vec<MessageRow>> {
    let mut view = BTreeMap::new();
    for (conversation, want) in by_conversation {
        let msgs = store.conversation_messages(conversation).await.unwrap();
        let got: Vec<i64> = msgs.iter().map(|m| m.id).collect();
        assert_eq!(
            &got, want,
            "conversation {conversation} holds exactly its messages"
        );
        view.insert(conversation.clone(), msgs);
    }
    view
}

/// The whole scenario against one database.
async fn crash_scenario(label: &str, database_url: &str, dir: &Path) {
    let started = Instant::now();
    let logs = logs::Logs::default();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(SEND_CONCURRENCY)
        .build()
        .unwrap();

    // Run 1, dispatch off: first start, numbers, every send.
    let mut queueing = Server::start(dir, "run1-queue", database_url, false, &logs);
    queueing.ready(&http).await;
    let org_id = queueing.default_org_id();
    for n in 0..NUMBERS {
        add_number(database_url, &org_id, &agent_number(n));
    }
    let store = Store::connect(
        database_url,
        &StoreOptions {
            max_connections: 2,
            ..Default::default()
        },
    )
    .await
    .expect("test store");

    let queue_started = Instant::now();
    let sent = queue_all(&http, &queueing.base).await;
    let queue_time = queue_started.elapsed();
    assert_eq!(sent.len(), MESSAGES);
    let ids: BTreeSet<i64> = sent.iter().map(|s| s.message_id).collect();
    assert_eq!(ids.len(), MESSAGES, "every send got its own message id");
    let depth = store.queue_depth(now_ms()).await.unwrap();
    assert_eq!(depth.queued, MESSAGES as i64, "everything queued");
    assert_eq!(store.sandbox_totals().await.unwrap(), (0, 0));
    eprintln!("[{label}] queued {MESSAGES} over HTTP in {queue_time:.1?}");
    drop(queueing);
    let mut by_user: BTreeMap<usize, Vec<i64>> = BTreeMap::new();
    let mut by_conversation: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for s in &sent {
        by_user.entry(s.user).or_default().push(s.message_id);
        by_conversation
            .entry(s.conversation_id.clone())
            .or_default()
            .push(s.message_id);
    }
    by_user.values_mut().for_each(|v| v.sort_unstable());
    by_conversation.values_mut().for_each(|v| v.sort_unstable());
    assert_eq!(by_conversation.len(), USERS, "one conversation per user");

    // Run 2, dispatch on: SIGKILL mid-dispatch.
    let dispatch_started = Instant::now();
    let mut dispatching = Server::start(dir, "run2-dispatch", database_url, true, &logs);
    dispatching.ready(&http).await;
    let lo = (MESSAGES as f64 * KILL_AT.0) as i64;
    let hi = (MESSAGES as f64 * KILL_AT.1) as i64;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (rows, _) = store.sandbox_totals().await.unwrap();
        if rows >= lo {
            assert!(
                rows <= hi,
                "dispatch outran the kill window: sandbox already had {rows} (> {hi})"
            );
            dispatching.kill();
            break;
        }
        assert!(
            Instant::now() < deadline,
            "dispatch did not reach {lo} messages in 60 s (at {rows})"
        );
        tokio::time::sleep(POLL).await;
    }
    let kill_time = dispatch_started.elapsed();
    let (rows_at_kill, attempts_at_kill, queued_at_kill) = quiesced_totals(&store).await;
    assert!(
        rows_at_kill < MESSAGES as i64 && queued_at_kill > 0,
        "the kill was not mid-dispatch: sandbox {rows_at_kill}, queued {queued_at_kill}"
    );
    // Handed to the carrier but not recorded as sent: these, and only these, may be handed
    // over again because of the kill.
    let at_kill = sandbox_view(&store, &org_id, &by_user, false).await;
    let mut in_flight_at_kill = BTreeSet::new();
    for msgs in conversations_view(&store, &by_conversation).await.values() {
        for m in msgs {
            let queued = m.status.as_deref() == Some("queued");
            assert!(
                queued || at_kill.contains_key(&m.id),
                "message {} is {:?} but never reached the sandbox",
                m.id,
                m.status
            );
            if queued && at_kill.contains_key(&m.id) {
                in_flight_at_kill.insert(m.id);
            }
        }
    }
    eprintln!(
        "[{label}] SIGKILL {kill_time:.1?} into dispatch: sandbox {rows_at_kill} messages \
         ({attempts_at_kill} hand-overs), {} handed over but unrecorded, {queued_at_kill} queued",
        in_flight_at_kill.len()
    );
    let mut timeouts = dispatching.carrier_timeouts();
    drop(dispatching);

    // Run 3 on the same database: re-drives what the dead worker held once its leases expire.
    let restart = Instant::now();
    let mut restarted = {
        let mut s = Server::start(dir, "run3-restart", database_url, true, &logs);
        s.ready(&http).await;
        s
    };
    wait_settled(&store).await;
    let settle_time = restart.elapsed();
    // Stop it gracefully: calls still in flight finish and are counted below.
    restarted.terminate().await;
    for (id, n) in restarted.carrier_timeouts() {
        *timeouts.entry(id).or_default() += n;
    }
    drop(restarted);
    let (rows, attempts, queued) = quiesced_totals(&store).await;
    assert_eq!(queued, 0);
    let rehandovers = attempts - rows;
    eprintln!(
        "[{label}] settled {settle_time:.1?} after restart: sandbox {rows} messages, {attempts} \
         hand-overs, {rehandovers} re-hand-overs; {} carrier calls timed out",
        timeouts.values().sum::<i64>()
    );

    // Exactly once: one sandbox row per accepted id, no extras.
    let checks_started = Instant::now();
    assert_eq!(rows, MESSAGES as i64, "sandbox rows");
    let inbox = sandbox_view(&store, &org_id, &by_user, true).await;
    assert_eq!(
        inbox.keys().copied().collect::<BTreeSet<_>>(),
        ids,
        "sandbox ids == accepted ids"
    );

    // Every message sent, and per conversation in order: the dispatcher hands a
    // conversation's next message to the carrier only after the previous one was accepted
    // and recorded, so each handset receipt follows the previous message's `sent_at`.
    let mut statuses: BTreeMap<String, usize> = BTreeMap::new();
    let mut claims = BTreeMap::new();
    for (conversation, msgs) in conversations_view(&store, &by_conversation).await {
        let mut prev: Option<&MessageRow> = None;
        for m in &msgs {
            let status = m.status.clone().unwrap_or_default();
            assert!(
                status == "sent" || status == "delivered",
                "message {} ended {status:?}",
                m.id
            );
            *statuses.entry(status).or_default() += 1;
            claims.insert(m.id, m.attempts);
            let sent_at = m
                .sent_at
                .unwrap_or_else(|| panic!("message {} has no sent_at", m.id));
            let recv = inbox[&m.id].received_at;
            assert!(
                recv <= sent_at,
                "message {}: handset received it at {recv}, after it was recorded sent at {sent_at}",
                m.id
            );
            if let Some(p) = prev {
                let p_sent = p.sent_at.unwrap();
                assert!(
                    recv >= p_sent && sent_at >= p_sent,
                    "conversation {conversation}: message {} reached the handset at {recv} (recorded \
                     sent {sent_at}), but the previous message {} was recorded sent only at {p_sent}",
                    m.id,
                    p.id
                );
            }
            prev = Some(m);
        }
    }

    // Repeated hand-overs. A correct dispatcher hands a message over again only if the
    // killed worker had handed it over without recording it, or after a carrier call that
    // timed out (abandoned by Parley, possibly completed by the carrier). Anything beyond
    // that is a live worker handing one message over twice.
    let mut by_kill = 0;
    let mut by_timeout = 0;
    let mut unexplained = Vec::new();
    for (id, m) in &inbox {
        let extra = m.attempts - 1;
        let kill = i64::from(in_flight_at_kill.contains(id)).min(extra);
        let timeout = timeouts.get(id).copied().unwrap_or(0).min(extra - kill);
        by_kill += kill;
        by_timeout += timeout;
        if extra > kill + timeout {
            unexplained.push((*id, m.attempts, claims[id]));
        }
    }
    eprintln!(
        "[{label}] statuses {statuses:?}; most claims of one message {}; re-hand-overs: \
         {by_kill} after the kill, {by_timeout} after a carrier timeout, {} unexplained; checks \
         {:.1?}; total {:.1?}",
        claims.values().max().unwrap(),
        rehandovers - by_kill - by_timeout,
        checks_started.elapsed(),
        started.elapsed()
    );
    assert!(
        rehandovers <= MAX_REHANDOVERS,
        "{rehandovers} re-hand-overs: more than could have been in flight at the kill"
    );
    assert!(
        unexplained.is_empty(),
        "{} messages were handed to the carrier more often than the kill or a carrier timeout \
         explains, i.e. twice by a live worker (e.g. its lease ran out while it still held the \
         message, and it claimed the message again); (message id, hand-overs, claims): {:?}",
        unexplained.len(),
        &unexplained[..unexplained.len().min(20)]
    );

    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_dispatch_delivers_every_message_exactly_once_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("parley.db");
    crash_scenario("sqlite", db.to_str().unwrap(), dir.path()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_dispatch_delivers_every_message_exactly_once_postgres() {
    let Some(database) = fresh_db::FreshDatabase::create("crash").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    crash_scenario("postgres", &database.url, dir.path()).await;
}

#[test]
fn timeout_log_lines_are_counted_by_message_id() {
    let coloured = "\u{1b}[2m2026-11-23T15:57:13.749881Z\u{1b}[0m \u{1b}[32m INFO\u{1b}[0m \u{1b}[1mdeliver\u{1b}[0m\u{1b}[1m{\u{1b}[0m\u{1b}[3mmessage.id\u{1b}[0m\u{1b}[2m=\u{1b}[0m4681 \u{1b}[3mcarrier.name\u{1b}[0m\u{1b}[2m=\u{1b}[0msandbox\u{1b}[1m}\u{1b}[0m: carrier failed; will retry \u{1b}[3merror.message\u{1b}[0m\u{1b}[2m=\u{1b}[0mcarrier call timed out";
    let plain = "2026-11-23T15:57:13Z  INFO deliver{message.id=7 carrier.name=sandbox attempt=2}: parley_server::workers::dispatch: carrier failed; will retry error.code=TIMEOUT error.message=carrier call timed out delay_ms=1092";
    let other = "2026-11-23T15:57:13Z  INFO deliver{message.id=8}: carrier failed; will retry error.code=503";
    let log = format!("{coloured}\n{plain}\n{plain}\n{other}\n");
    assert_eq!(timeouts_in(&log), BTreeMap::from([(4681, 1), (7, 2)]));
}
