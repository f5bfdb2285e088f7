//! One storage suite, run against a real SQLite file and, when `PARLEY_TEST_DATABASE_URL`
//! is set, a fresh schema on a real PostgreSQL server.

use parley_domain::{message_status::MessageStatus, timeouts::TimeoutSettings};
use parley_store::{
    ConversationFields, DeliveryResult, DispatchOptions, InboundMessage, NewOutbound, SendOutcome,
    SendRequest, Store, StoreOptions,
};

struct TestDb {
    store: Store,
    _dir: Option<tempfile::TempDir>,
}

async fn sqlite() -> TestDb {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
    let store = Store::connect(&url, &StoreOptions::default())
        .await
        .unwrap();
    store.migrate().await.unwrap();
    TestDb {
        store,
        _dir: Some(dir),
    }
}

async fn postgres() -> Option<TestDb> {
    let base = std::env::var("PARLEY_TEST_DATABASE_URL").ok()?;
    let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
    let admin = Store::connect(&base, &StoreOptions::default())
        .await
        .unwrap();
    admin
        .execute_raw(&format!("CREATE SCHEMA {schema}"))
        .await
        .unwrap();
    admin.close().await;
    let sep = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{sep}options=-c%20search_path%3D{schema}");
    let store = Store::connect(&url, &StoreOptions::default())
        .await
        .unwrap();
    store.migrate().await.unwrap();
    Some(TestDb { store, _dir: None })
}

macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod on_sqlite { $( #[tokio::test] async fn $name() { super::$name(&super::sqlite().await.store).await } )* }
        mod on_postgres { $( #[tokio::test] async fn $name() {
            match super::postgres().await {
                Some(db) => super::$name(&db.store).await,
                None => eprintln!("PARLEY_TEST_DATABASE_URL not set; PostgreSQL run not requested"),
            }
        } )* }
    };
}

both_backends!(
    send_reuses_the_active_conversation_and_archives_on_request,
    idempotency_replays_and_refuses_other_bodies,
    timeout_rules_merge_stored_overrides,
    claims_pace_each_sender_and_keep_conversation_order,
    expired_leases_are_claimed_again,
    status_never_moves_backwards,
    a_message_own_carrier_id_is_not_another_message,
    sandbox_counts_repeat_handovers_once,
    inbound_lands_on_the_active_conversation,
    orgs_and_numbers_are_scoped,
    concurrent_sends_share_commits_without_mixing_outcomes,
    batched_sends_keep_every_conversation_consistent,
);

// Suites for number configs and the conversation operations beyond sending; they share the
// helpers of this file.
#[path = "store/batches.rs"]
mod batches;
#[path = "store/citation_schemas.rs"]
mod citation_schemas;
#[path = "store/conversations.rs"]
mod conversations;
#[path = "store/dispositions.rs"]
mod dispositions;
#[path = "store/list_plans.rs"]
mod list_plans;
#[path = "store/number_configs.rs"]
mod number_configs;
#[path = "store/pathways.rs"]
mod pathways;
#[path = "store/personas.rs"]
mod personas;
#[path = "store/suppressions.rs"]
mod suppressions;
#[path = "store/upgrades.rs"]
mod upgrades;

const T0: i64 = 1_700_000_000_000;

async fn org_with_number(s: &Store, org: &str, number: &str, mps: f64) {
    s.create_org(org, org, T0).await.unwrap();
    s.add_number(org, number, "sandbox", "sms", mps, T0)
        .await
        .unwrap();
}

fn send(org: &str, agent: &str, user: &str, body: &str) -> SendRequest {
    SendRequest {
        org_id: org.into(),
        user_number: user.into(),
        agent_number: agent.into(),
        channel: "sms".into(),
        new_conversation: false,
        fields: ConversationFields::default(),
        number_timeouts: TimeoutSettings::default(),
        outbound: NewOutbound {
            body: body.into(),
            sender: "AGENT".into(),
            encoding: "GSM-7".into(),
            segments: 1,
            content_sid: None,
            content_variables: None,
            priority: 0,
        },
        more: Vec::new(),
        pathway: None,
        idempotency: None,
        now: T0,
    }
}

fn accepted(o: SendOutcome) -> parley_store::Accepted {
    match o {
        SendOutcome::Accepted(a) => a,
        other => panic!("expected Accepted, got {other:?}"),
    }
}

fn opts(now_ms: i64) -> DispatchOptions {
    DispatchOptions {
        owner: "w1".into(),
        now_ms,
        horizon_ms: 1_000,
        lease_ms: 30_000,
        max_per_sender: 1_000,
        max_total: 10_000,
        day_offset_ms: 0,
    }
}

async fn send_reuses_the_active_conversation_and_archives_on_request(s: &Store) {
    org_with_number(s, "o1", "+15550100000", 10.0).await;
    let a = accepted(
        s.accept_send(&send("o1", "+15550100000", "+15551230000", "one"))
            .await
            .unwrap(),
    );
    let b = accepted(
        s.accept_send(&send("o1", "+15550100000", "+15551230000", "two"))
            .await
            .unwrap(),
    );
    assert_eq!(a.conversation_id, b.conversation_id);
    assert!(b.message_id > a.message_id);
    let mut fresh = send("o1", "+15550100000", "+15551230000", "three");
    fresh.new_conversation = true;
    let c = accepted(s.accept_send(&fresh).await.unwrap());
    assert_ne!(c.conversation_id, a.conversation_id);
    let old = s
        .conversation("o1", &a.conversation_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(old.is_active, 0);
    assert_eq!(old.message_count, 2);
    let msgs = s.conversation_messages(&a.conversation_id).await.unwrap();
    assert_eq!(
        msgs.iter().map(|m| m.body.as_str()).collect::<Vec<_>>(),
        ["one", "two"]
    );
    assert_eq!(msgs[0].status.as_deref(), Some("queued"));
}

async fn idempotency_replays_and_refuses_other_bodies(s: &Store) {
    org_with_number(s, "o1", "+15550100000", 10.0).await;
    let mut r = send("o1", "+15550100000", "+15551230000", "hi");
    r.idempotency = Some(("k1".into(), "h1".into()));
    let first = accepted(s.accept_send(&r).await.unwrap());
    assert_eq!(
        s.accept_send(&r).await.unwrap(),
        SendOutcome::Replayed(first.clone())
    );
    r.idempotency = Some(("k1".into(), "h2".into()));
    assert_eq!(s.accept_send(&r).await.unwrap(), SendOutcome::KeyReused);
    assert_eq!(
        s.conversation_messages(&first.conversation_id)
            .await
            .unwrap()
            .len(),
        1
    );
    // Keys are per org: another org may use the same key.
    org_with_number(s, "o2", "+15550100001", 10.0).await;
    let mut other = send("o2", "+15550100001", "+15551230000", "hi");
    other.idempotency = Some(("k1".into(), "h1".into()));
    assert!(matches!(
        s.accept_send(&other).await.unwrap(),
        SendOutcome::Accepted(_)
    ));
    assert_eq!(s.purge_idempotency_keys(T0 + 1).await.unwrap(), 2);
}

async fn timeout_rules_merge_stored_overrides(s: &Store) {
    org_with_number(s, "o1", "+15550100000", 10.0).await;
    let mut r = send("o1", "+15550100000", "+15551230000", "hi");
    r.fields.timeouts.time_out = Some(600);
    let a = accepted(s.accept_send(&r).await.unwrap());
    // The stored time_out (600) still applies to a later send that only sets a warning.
    let mut w = send("o1", "+15550100000", "+15551230000", "again");
    w.fields.timeouts.warning_time = Some(900);
    assert!(matches!(
        s.accept_send(&w).await.unwrap(),
        SendOutcome::InvalidTimeout(_)
    ));
    w.fields.timeouts.warning_time = Some(300);
    accepted(s.accept_send(&w).await.unwrap());
    let c = s
        .conversation("o1", &a.conversation_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((c.time_out, c.warning_time), (Some(600), Some(300)));
    assert_eq!(c.message_count, 2, "the refused send wrote nothing");
}

async fn claims_pace_each_sender_and_keep_conversation_order(s: &Store) {
    org_with_number(s, "o1", "+15550100000", 5.0).await;
    let mut ids = Vec::new();
    for i in 0..4 {
        // Two users, two messages each: per conversation only the head may be claimed.
        let user = if i % 2 == 0 {
            "+15551230000"
        } else {
            "+15551230001"
        };
        ids.push(
            accepted(
                s.accept_send(&send("o1", "+15550100000", user, &format!("m{i}")))
                    .await
                    .unwrap(),
            )
            .message_id,
        );
    }
    let claimed = s.claim_due_messages(&opts(T0)).await.unwrap();
    assert_eq!(
        claimed.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![ids[0], ids[1]]
    );
    // 5 segments per second: slots 200 ms apart.
    assert_eq!(
        claimed
            .iter()
            .map(|c| c.scheduled_at - T0)
            .collect::<Vec<_>>(),
        vec![0, 200]
    );
    // While the heads are in flight nothing else of those conversations is claimable.
    assert!(s.claim_due_messages(&opts(T0)).await.unwrap().is_empty());
    for c in &claimed {
        s.record_delivery(
            c.id,
            &DeliveryResult::Sent {
                provider_sid: format!("p{}", c.id),
            },
            T0,
        )
        .await
        .unwrap();
    }
    let next = s.claim_due_messages(&opts(T0)).await.unwrap();
    assert_eq!(
        next.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![ids[2], ids[3]]
    );
    // The pacing state carried over: the next slots follow the earlier ones.
    assert_eq!(
        next.iter().map(|c| c.scheduled_at - T0).collect::<Vec<_>>(),
        vec![400, 600]
    );
}

async fn expired_leases_are_claimed_again(s: &Store) {
    org_with_number(s, "o1", "+15550100000", 100.0).await;
    let a = accepted(
        s.accept_send(&send("o1", "+15550100000", "+15551230000", "x"))
            .await
            .unwrap(),
    );
    assert_eq!(s.claim_due_messages(&opts(T0)).await.unwrap().len(), 1);
    assert!(s
        .claim_due_messages(&opts(T0 + 29_000))
        .await
        .unwrap()
        .is_empty());
    let again = s.claim_due_messages(&opts(T0 + 31_000)).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!((again[0].id, again[0].attempts), (a.message_id, 2));
    // The first claim was never released: its worker may have handed the message over.
    assert_eq!(
        again[0].previous_error.as_deref(),
        Some(parley_store::ABANDONED_ATTEMPT)
    );
    s.record_delivery(
        a.message_id,
        &DeliveryResult::Retry {
            at_ms: T0 + 60_000,
            error_code: Some("503".into()),
        },
        T0 + 31_000,
    )
    .await
    .unwrap();
    assert!(s
        .claim_due_messages(&opts(T0 + 59_000))
        .await
        .unwrap()
        .is_empty());
    let third = s.claim_due_messages(&opts(T0 + 60_000)).await.unwrap();
    assert_eq!(third.len(), 1);
    // Released with an answer: the answer is what the next attempt learns.
    assert_eq!(third[0].previous_error.as_deref(), Some("503"));
    s.record_delivery(
        a.message_id,
        &DeliveryResult::Failed {
            status: MessageStatus::Failed,
            error_code: Some("21211".into()),
        },
        T0 + 60_000,
    )
    .await
    .unwrap();
    let m = s.message(a.message_id).await.unwrap().unwrap();
    assert_eq!(
        (m.status.as_deref(), m.error_code.as_deref(), m.attempts),
        (Some("failed"), Some("21211"), 3)
    );
}

async fn a_message_own_carrier_id_is_not_another_message(s: &Store) {
    org_with_number(s, "o1", "+15550100000", 100.0).await;
    let send_to = |user: &'static str| send("o1", "+15550100000", user, "x");
    let a = accepted(s.accept_send(&send_to("+15551230000")).await.unwrap());
    let b = accepted(s.accept_send(&send_to("+15551230001")).await.unwrap());
    // A callback binds Twilio's id to `a` while `a`'s lookup runs: for `a` that id is its
    // own copy (to be matched), for any other message it is taken.
    s.apply_carrier_status(a.message_id, "SMa", None, None, T0)
        .await
        .unwrap();
    let listed = vec!["SMa".to_owned(), "SMx".to_owned()];
    assert!(s
        .known_provider_sids(&listed, a.message_id)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        s.known_provider_sids(&listed, b.message_id).await.unwrap(),
        vec!["SMa".to_owned()]
    );
}

async fn status_never_moves_backwards(s: &Store) {
    org_with_number(s, "o1", "+15550100000", 100.0).await;
    let a = accepted(
        s.accept_send(&send("o1", "+15550100000", "+15551230000", "x"))
            .await
            .unwrap(),
    );
    // A delivery report that overtakes the worker's own "sent" record.
    assert!(s
        .apply_status_report(a.message_id, MessageStatus::Delivered, None, T0)
        .await
        .unwrap());
    s.record_delivery(
        a.message_id,
        &DeliveryResult::Sent {
            provider_sid: "p".into(),
        },
        T0,
    )
    .await
    .unwrap();
    assert!(!s
        .apply_status_report(a.message_id, MessageStatus::Sent, None, T0)
        .await
        .unwrap());
    let m = s.message(a.message_id).await.unwrap().unwrap();
    assert_eq!(
        (m.status.as_deref(), m.provider_sid.as_deref()),
        (Some("delivered"), Some("p"))
    );
    assert!(s
        .apply_status_report(a.message_id, MessageStatus::Read, None, T0)
        .await
        .unwrap());
}

async fn sandbox_counts_repeat_handovers_once(s: &Store) {
    org_with_number(s, "o1", "+15550100000", 100.0).await;
    let accept = parley_store::SandboxAccept {
        message_id: 7,
        org_id: "o1".into(),
        from_number: "+15550100000".into(),
        to_number: "+15551230000".into(),
        body: "hi".into(),
        channel: "sms".into(),
        segments: 1,
        now: T0,
        report: Some((
            "sandbox_report".into(),
            serde_json::json!({"message_id": 7}),
            T0 + 10,
        )),
    };
    let (sid1, n1) = s.sandbox_accept(&accept).await.unwrap();
    let (sid2, n2) = s.sandbox_accept(&accept).await.unwrap();
    assert_eq!((sid1 == sid2, n1, n2), (true, 1, 2));
    assert_eq!(s.sandbox_totals().await.unwrap(), (1, 2));
    assert_eq!(
        s.sandbox_inbox("o1", "+15551230000", 10)
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(s
        .sandbox_inbox("o2", "+15551230000", 10)
        .await
        .unwrap()
        .is_empty());
    // Exactly one delivery report was scheduled, and it is not due before its time.
    assert!(s.claim_jobs("w", T0, 1_000, 10).await.unwrap().is_empty());
    let jobs = s.claim_jobs("w", T0 + 10, 1_000, 10).await.unwrap();
    assert_eq!(jobs.len(), 1);
    s.delete_job(jobs[0].id).await.unwrap();
    assert_eq!(s.pending_jobs().await.unwrap(), 0);
}

async fn inbound_lands_on_the_active_conversation(s: &Store) {
    org_with_number(s, "o1", "+15550100000", 100.0).await;
    let a = accepted(
        s.accept_send(&send("o1", "+15550100000", "+15551230000", "hello"))
            .await
            .unwrap(),
    );
    let inbound = InboundMessage {
        org_id: "o1".into(),
        user_number: "+15551230000".into(),
        agent_number: "+15550100000".into(),
        channel: "sms".into(),
        body: "hi back".into(),
        encoding: "GSM-7".into(),
        segments: 1,
        provider_sid: None,
        now: T0 + 5,
    };
    let conv = s.record_inbound(&inbound).await.unwrap().conversation_id;
    assert_eq!(conv, a.conversation_id);
    let msgs = s.conversation_messages(&conv).await.unwrap();
    assert_eq!(
        (msgs[1].sender.as_str(), msgs[1].status.as_deref()),
        ("USER", None)
    );
    // A user texting a number with no conversation opens one.
    let other = s
        .record_inbound(&InboundMessage {
            user_number: "+15551239999".into(),
            ..inbound
        })
        .await
        .unwrap()
        .conversation_id;
    assert_ne!(other, conv);
}

async fn orgs_and_numbers_are_scoped(s: &Store) {
    org_with_number(s, "o1", "+15550100000", 10.0).await;
    s.create_org("o2", "o2", T0).await.unwrap();
    assert!(s
        .number_for_org("o2", "+15550100000")
        .await
        .unwrap()
        .is_none());
    assert!(s
        .number_for_org("o1", "+15550100000")
        .await
        .unwrap()
        .is_some());
    let dup = s
        .add_number("o2", "+15550100000", "sandbox", "sms", 1.0, T0)
        .await;
    assert!(matches!(dup, Err(parley_store::StoreError::Conflict(_))));
    s.add_api_key("o1", "hash1", "pk_1", T0).await.unwrap();
    assert_eq!(
        s.org_for_key_hash("hash1").await.unwrap().as_deref(),
        Some("o1")
    );
    assert_eq!(s.org_for_key_hash("nope").await.unwrap(), None);
    let a = accepted(
        s.accept_send(&send("o1", "+15550100000", "+15551230000", "x"))
            .await
            .unwrap(),
    );
    assert!(s
        .conversation("o2", &a.conversation_id)
        .await
        .unwrap()
        .is_none());
}

async fn concurrent_sends_share_commits_without_mixing_outcomes(s: &Store) {
    org_with_number(s, "o1", "+15550100000", 10.0).await;
    let mut tasks = Vec::new();
    for i in 0..300 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let mut r = send(
                "o1",
                "+15550100000",
                &format!("+1555123{:04}", i % 30),
                &format!("m{i}"),
            );
            if i % 7 == 0 {
                // Refused: must write nothing, even when it shares a transaction with others.
                r.fields.timeouts = TimeoutSettings {
                    time_out: Some(10),
                    warning_time: Some(20),
                    ..Default::default()
                };
            }
            if i % 11 == 0 {
                r.idempotency = Some((format!("k{}", i % 2), format!("h{i}")));
            }
            (i, s.accept_send(&r).await.unwrap())
        }));
    }
    let mut accepted = 0;
    for t in tasks {
        let (i, outcome) = t.await.unwrap();
        match outcome {
            SendOutcome::Accepted(_) => {
                assert!(i % 7 != 0, "send {i} should have been refused");
                accepted += 1;
            }
            SendOutcome::InvalidTimeout(_) => assert_eq!(i % 7, 0),
            SendOutcome::KeyReused => assert_eq!(i % 11, 0),
            SendOutcome::Replayed(_) => panic!("no two sends carry the same key and body"),
        }
    }
    assert_eq!(s.queue_depth(i64::MAX).await.unwrap().queued, accepted);
    // Each of the two keys was taken by exactly one accepted send.
    assert_eq!(s.purge_idempotency_keys(i64::MAX).await.unwrap(), 2);
}

/// Sends that arrive together share multi-row statements on SQLite (`conversations::bulk`);
/// whatever mix arrives (repeated pairs, settings, refusals, keys, new conversations), each
/// answer must name the message it wrote and every conversation must count what it holds.
async fn batched_sends_keep_every_conversation_consistent(s: &Store) {
    org_with_number(s, "o1", "+15550100000", 10.0).await;
    let user = |i: usize| format!("+1555124{:04}", i % 25);
    let mut tasks = Vec::new();
    for i in 0..400usize {
        let s = s.clone();
        let mut r = send("o1", "+15550100000", &user(i), &format!("m{i}"));
        if i % 5 == 0 {
            r.fields.request_data = Some(serde_json::json!({ "i": i }));
        }
        if i % 13 == 0 {
            r.fields.timeouts = TimeoutSettings {
                time_out: Some(10),
                warning_time: Some(20),
                ..Default::default()
            };
        }
        if i % 17 == 0 {
            r.new_conversation = true;
        }
        if i % 19 == 0 {
            r.idempotency = Some((format!("key-{i}"), format!("h{i}")));
        }
        tasks.push(tokio::spawn(async move {
            (i, s.accept_send(&r).await.unwrap())
        }));
    }
    let mut accepted = Vec::new();
    for t in tasks {
        let (i, outcome) = t.await.unwrap();
        match outcome {
            SendOutcome::Accepted(a) => {
                assert_ne!(i % 13, 0, "send {i} breaks its timeout rule");
                accepted.push((i, a));
            }
            SendOutcome::InvalidTimeout(_) => assert_eq!(i % 13, 0),
            other => panic!("send {i}: unexpected {other:?}"),
        }
    }
    assert_eq!(accepted.len(), 400 - 400usize.div_ceil(13));
    let mut conversations = std::collections::BTreeSet::new();
    let mut message_ids = std::collections::BTreeSet::new();
    for (i, a) in &accepted {
        let m = s
            .message(a.message_id)
            .await
            .unwrap()
            .expect("message stored");
        assert_eq!(m.body, format!("m{i}"));
        assert_eq!(m.conversation_id, a.conversation_id, "send {i}");
        assert_eq!(m.to_number, user(*i));
        assert!(
            message_ids.insert(a.message_id),
            "message id {} twice",
            a.message_id
        );
        conversations.insert(a.conversation_id.clone());
    }
    assert_eq!(
        s.queue_depth(i64::MAX).await.unwrap().queued,
        accepted.len() as i64
    );
    let mut active_per_user = std::collections::BTreeMap::new();
    for id in &conversations {
        let c = s.conversation("o1", id).await.unwrap().unwrap();
        let held = s.conversation_messages(id).await.unwrap().len() as i64;
        assert_eq!(c.message_count, held, "conversation {id} miscounts");
        *active_per_user.entry(c.user_number.clone()).or_insert(0) += c.is_active;
    }
    assert!(
        active_per_user.values().all(|&n| n == 1),
        "{active_per_user:?}"
    );
    assert_eq!(active_per_user.len(), 25);
}
