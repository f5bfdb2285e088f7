//! Cross-node wake-ups (PostgreSQL): work queued through one node wakes another node's
//! dispatcher at once, not at its next poll, and the listener comes back by itself after
//! its connection is killed.
//!
//! Node A serves HTTP and runs no dispatcher; node B shares A's database and runs only a
//! dispatcher whose poll interval is ten minutes. A message reaches the sandbox within the
//! test's deadline only if B heard A's `NOTIFY`.

use std::{sync::Arc, time::Duration};

use parley_server::App;
use tokio_util::sync::CancellationToken;

use crate::helpers::{test_config, Backend, TestApp, USER};

const DEADLINE: Duration = Duration::from_secs(20);

async fn delivered(a: &TestApp, count: usize) {
    let start = std::time::Instant::now();
    loop {
        let got = a.inbox(USER).await.len();
        if got >= count {
            assert_eq!(got, count, "each message is handed over once");
            return;
        }
        assert!(
            start.elapsed() < DEADLINE,
            "only {got} of {count} messages reached the sandbox: node B was not woken"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The backends holding a `LISTEN` on `channel`, once there are `count` of them and none is
/// in `old`.
async fn listeners(admin: &sqlx::PgPool, channel: &str, count: usize, old: &[i32]) -> Vec<i32> {
    let start = std::time::Instant::now();
    loop {
        let pids: Vec<i32> = sqlx::query_scalar(
            "SELECT pid FROM pg_stat_activity WHERE query LIKE 'LISTEN %' AND query LIKE $1",
        )
        .bind(format!("%{channel}%"))
        .fetch_all(admin)
        .await
        .unwrap();
        if pids.len() == count && pids.iter().all(|p| !old.contains(p)) {
            return pids;
        }
        assert!(
            start.elapsed() < DEADLINE,
            "listeners {pids:?}, wanted {count} new ones"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_send_on_one_node_wakes_the_dispatcher_of_another() {
    if std::env::var("PARLEY_TEST_DATABASE_URL").is_err() {
        eprintln!("PARLEY_TEST_DATABASE_URL not set; PostgreSQL run not requested");
        return;
    }
    let a = TestApp::spawn(Backend::Postgres).await;
    let stop = CancellationToken::new();
    a.app
        .state
        .wakeups
        .start(a.store.clone(), stop.clone())
        .await;

    let mut cfg = test_config();
    cfg.dispatch.poll_interval_ms = 600_000;
    let b = Arc::new(App::new(a.store.clone(), Arc::new(a.clock.clone()), cfg));
    b.state.wakeups.start(a.store.clone(), stop.clone()).await;
    let dispatcher = tokio::spawn(
        b.dispatcher
            .clone()
            .run(b.state.dispatch_wake.clone(), stop.clone()),
    );

    // The first message may be claimed by B's first poll; the second arrives while B waits.
    a.send(USER, "one").await;
    delivered(&a, 1).await;
    a.send(USER, "two").await;
    delivered(&a, 2).await;

    // Kill both nodes' listener connections: they reconnect, listen again, and B hears the
    // next ping.
    let url = std::env::var("PARLEY_TEST_DATABASE_URL").unwrap();
    let admin = sqlx::PgPool::connect(&url).await.unwrap();
    let channel = a.store.wake_channel().await.unwrap().unwrap();
    let old = listeners(&admin, &channel, 2, &[]).await;
    for pid in &old {
        sqlx::query("SELECT pg_terminate_backend($1)")
            .bind(pid)
            .execute(&admin)
            .await
            .unwrap();
    }
    listeners(&admin, &channel, 2, &old).await;
    a.send(USER, "three").await;
    delivered(&a, 3).await;

    stop.cancel();
    dispatcher.await.unwrap();
}
