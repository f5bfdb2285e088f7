//! Timer firing skew and memory with many pending timers (run by `bench/timers.sh`).
//!
//! Fills a fresh database with `--pending` timers due a day from now (the load that must not
//! slow anything down) plus `--firing` timeout timers due over `--window-ms` starting two
//! seconds from now, runs the real timer worker on the system clock, and reports for the
//! firing ones the skew `ended_at - due_at` (p50 / p99 / max), plus the process's peak RSS
//! and the worker's RSS growth while it ran over the pending set.
//!
//!   timer_bench [--pending N] [--firing M] [--window-ms W] [--database URL]

use std::{sync::Arc, time::Duration};

use parley_domain::clock::{Clock, SystemClock};
use parley_server::{wakeups::Wakeups, workers::timers::TimerWorker};
use parley_store::{Store, StoreOptions};
use tokio_util::sync::CancellationToken;

fn arg(name: &str, default: &str) -> String {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
        .unwrap_or_else(|| default.to_owned())
}

fn rss_kb(field: &str) -> i64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}

async fn insert_timers(
    store: &Store,
    from: usize,
    count: usize,
    due: impl Fn(usize) -> i64,
    now: i64,
) {
    const CHUNK: usize = 500;
    let mut i = from;
    while i < from + count {
        let end = (i + CHUNK).min(from + count);
        let convs: Vec<String> = (i..end)
            .map(|n| {
                format!(
                    "('bench-{n:08}', 'bench', '+1{:010}', '+15550100000', 'sms', 1, {now}, {now}, 1)",
                    2_000_000_000u64 + n as u64
                )
            })
            .collect();
        store
            .execute_raw(&format!(
                "INSERT INTO conversations (id, org_id, user_number, agent_number, channel, is_active, created_at, \
                 updated_at, message_count) VALUES {}",
                convs.join(", ")
            ))
            .await
            .unwrap();
        let timers: Vec<String> = (i..end)
            .map(|n| format!("('bench-{n:08}', 'bench', 'timeout', {}, {now})", due(n)))
            .collect();
        store
            .execute_raw(&format!(
                "INSERT INTO conversation_timers (conversation_id, org_id, kind, due_at, created_at) VALUES {}",
                timers.join(", ")
            ))
            .await
            .unwrap();
        i = end;
    }
}

#[tokio::main]
async fn main() {
    let pending: usize = arg("--pending", "100000").parse().unwrap();
    let firing: usize = arg("--firing", "1000").parse().unwrap();
    let window_ms: i64 = arg("--window-ms", "10000").parse().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let default_url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("timers.db").display()
    );
    let url = arg("--database", &default_url);
    let store = Store::connect(&url, &StoreOptions::default())
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let clock = SystemClock;
    let now = clock.now_ms();
    store.create_org("bench", "bench", now).await.unwrap();
    store
        .add_number("bench", "+15550100000", "sandbox", "sms", 10.0, now)
        .await
        .unwrap();
    let t = std::time::Instant::now();
    insert_timers(&store, 0, pending, |_| now + 86_400_000, now).await;
    let fire_start = clock.now_ms() + 2_000;
    let step = window_ms as f64 / firing.max(1) as f64;
    insert_timers(
        &store,
        pending,
        firing,
        |n| fire_start + ((n - pending) as f64 * step) as i64,
        now,
    )
    .await;
    eprintln!(
        "inserted {} timers in {:.1}s",
        pending + firing,
        t.elapsed().as_secs_f64()
    );

    let rss_before = rss_kb("VmRSS:");
    let worker = Arc::new(TimerWorker {
        store: store.clone(),
        clock: Arc::new(clock),
        dispatch_wake: Wakeups::new("timer-bench").dispatch.clone(),
        lease_ms: 30_000,
    });
    let stop = CancellationToken::new();
    let running = tokio::spawn(worker.clone().run(stop.clone()));
    let deadline = fire_start + window_ms + 60_000;
    loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let (_, left) = store.timer_stats().await.unwrap();
        if left as usize <= pending || clock.now_ms() > deadline {
            break;
        }
    }
    stop.cancel();
    running.await.unwrap();
    let rss_after = rss_kb("VmRSS:");

    let mut skews = Vec::with_capacity(firing);
    for n in pending..pending + firing {
        let due = fire_start + ((n - pending) as f64 * step) as i64;
        let c = store
            .conversation("bench", &format!("bench-{n:08}"))
            .await
            .unwrap()
            .unwrap();
        match c.ended_at {
            Some(at) => skews.push(at - due),
            None => skews.push(i64::MAX),
        }
    }
    skews.sort_unstable();
    let pct = |p: f64| {
        skews[((skews.len() as f64 * p).ceil() as usize)
            .saturating_sub(1)
            .min(skews.len() - 1)]
    };
    let unfired = skews.iter().filter(|s| **s == i64::MAX).count();
    let (_, left) = store.timer_stats().await.unwrap();
    println!(
        "pending={pending} firing={firing} window_ms={window_ms} fired={} unfired={unfired} still_pending={left} \
         skew_ms p50={} p99={} max={} rss_kb before_worker={rss_before} after_worker={rss_after} peak={}",
        firing - unfired,
        pct(0.50),
        pct(0.99),
        skews.last().copied().unwrap_or(0),
        rss_kb("VmHWM:"),
    );
    store.close().await;
}
