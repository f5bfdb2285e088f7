//! Batch chunks: a chunk commits whole, once, and only by the worker holding the batch at
//! the cursor it read from; a million-row chunk path uses multi-row INSERTs across the
//! statement size boundary.

use parley_store::{
    BatchChunk, BatchRecipient, BatchSkip, ChunkOutcome, ConversationFields, DispatchOptions,
    NewBatch, Store, PRIORITY_BATCH,
};

use crate::{org_with_number, postgres, sqlite, T0};

both_backends!(
    chunks_commit_once_under_the_lease,
    cancel_takes_queued_rows_out
);

const AGENT: &str = "+15550100000";

async fn batch(s: &Store, id: &str) {
    assert!(s
        .create_batch(&NewBatch {
            id: id.into(),
            org_id: "o1".into(),
            agent_number: AGENT.into(),
            channel: "sms".into(),
            workflow_id: "wf".into(),
            settings: serde_json::json!({}),
            total_rows: Some(1_200),
            first_offset: 10,
            now: T0,
        })
        .await
        .unwrap());
}

fn chunk(
    id: &str,
    owner: &str,
    from_row: i64,
    users: std::ops::Range<i64>,
    last: bool,
) -> BatchChunk {
    let recipients: Vec<BatchRecipient> = users
        .clone()
        .map(|i| BatchRecipient {
            row: i,
            user_number: format!("+1555200{i:04}"),
            request_data: Some(serde_json::json!({"i": i})),
            variables: serde_json::json!({"i": i}),
            body: format!("hello {i}"),
            encoding: "GSM-7".into(),
            segments: 1,
        })
        .collect();
    BatchChunk {
        batch_id: id.into(),
        org_id: "o1".into(),
        agent_number: AGENT.into(),
        channel: "sms".into(),
        workflow_id: "wf".into(),
        owner: owner.into(),
        from_row,
        next_row: users.end + 1,
        next_offset: users.end * 100,
        last,
        fields: ConversationFields::default(),
        new_conversation: false,
        priority: PRIORITY_BATCH,
        content_sid: None,
        content_variables: None,
        recipients,
        skips: vec![BatchSkip {
            row: users.end,
            phone_number: "12ab".into(),
            reason: "invalid_phone_number".into(),
        }],
        lease_ms: 60_000,
        now: T0,
    }
}

async fn chunks_commit_once_under_the_lease(s: &Store) {
    org_with_number(s, "o1", AGENT, 10.0).await;
    batch(s, "b1").await;
    assert!(!s
        .create_batch(&NewBatch {
            id: "b1".into(),
            org_id: "o1".into(),
            agent_number: AGENT.into(),
            channel: "sms".into(),
            workflow_id: "x".into(),
            settings: serde_json::json!({}),
            total_rows: None,
            first_offset: 0,
            now: T0
        })
        .await
        .unwrap());
    // Nobody holds it: no commit.
    let first = chunk("b1", "w1", 1, 1..1_100, false);
    assert_eq!(
        s.commit_batch_chunk(&first).await.unwrap(),
        ChunkOutcome::Stopped
    );
    let claimed = s.claim_batch("w1", T0, 60_000).await.unwrap().unwrap();
    assert_eq!((claimed.next_row, claimed.next_offset), (1, 10));
    assert!(s.claim_batch("w2", T0, 60_000).await.unwrap().is_none());
    // 1,099 recipients and a skipped row: three INSERT statements per table, one transaction.
    assert_eq!(
        s.commit_batch_chunk(&first).await.unwrap(),
        ChunkOutcome::Committed
    );
    // The same chunk again (a retry after an unclear commit) finds the cursor moved.
    assert_eq!(
        s.commit_batch_chunk(&first).await.unwrap(),
        ChunkOutcome::Stopped
    );
    let b = s.batch("o1", "b1").await.unwrap().unwrap();
    assert_eq!(
        (b.next_row, b.next_offset, b.queued, b.skipped),
        (1_101, 110_000, 1_099, 1)
    );
    assert_eq!(s.batch_recipient_numbers("b1").await.unwrap().len(), 1_099);
    // Another worker takes over once the lease ran out; the old one can commit no more.
    let taken = s
        .claim_batch("w2", T0 + 60_001, 60_000)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(taken.next_row, 1_101);
    let second = chunk("b1", "w1", 1_101, 1_101..1_150, true);
    assert_eq!(
        s.commit_batch_chunk(&second).await.unwrap(),
        ChunkOutcome::Stopped
    );
    let second = BatchChunk {
        owner: "w2".into(),
        ..second
    };
    assert_eq!(
        s.commit_batch_chunk(&second).await.unwrap(),
        ChunkOutcome::Committed
    );
    let b = s.batch("o1", "b1").await.unwrap().unwrap();
    assert_eq!(
        (b.state.as_str(), b.queued, b.skipped),
        ("completed", 1_148, 2)
    );
    assert!(s
        .claim_batch("w3", T0 + 200_000, 60_000)
        .await
        .unwrap()
        .is_none());
    let errors = s.batch_errors("b1", 0, 10).await.unwrap();
    assert_eq!(
        errors.iter().map(|e| e.row_number).collect::<Vec<_>>(),
        vec![1_100, 1_150]
    );
    // Batch rows are queued below live traffic and carry their batch.
    let counts = s.batch_message_counts("b1").await.unwrap();
    assert_eq!((counts.queued, counts.queued_segments), (1_148, 1_148));
    let claimed = s
        .claim_due_messages(&DispatchOptions {
            owner: "d".into(),
            now_ms: T0,
            horizon_ms: 1_000,
            lease_ms: 30_000,
            max_per_sender: 5,
            max_total: 5,
            day_offset_ms: 0,
        })
        .await
        .unwrap();
    assert_eq!(claimed.len(), 5);
    assert_eq!(claimed[0].body, "hello 1");
    assert_eq!(claimed[0].to_number, "+15552000001");
}

async fn cancel_takes_queued_rows_out(s: &Store) {
    org_with_number(s, "o1", AGENT, 10.0).await;
    s.create_org("o2", "o2", T0).await.unwrap();
    batch(s, "b1").await;
    s.claim_batch("w1", T0, 60_000).await.unwrap().unwrap();
    let c = chunk("b1", "w1", 1, 1..4, false);
    assert_eq!(
        s.commit_batch_chunk(&c).await.unwrap(),
        ChunkOutcome::Committed
    );
    assert_eq!(s.cancel_batch("o2", "b1", T0).await.unwrap(), None);
    assert_eq!(s.cancel_batch("o1", "b1", T0).await.unwrap(), Some(3));
    let counts = s.batch_message_counts("b1").await.unwrap();
    assert_eq!((counts.queued, counts.cancelled), (0, 3));
    // The worker's next chunk is refused; nothing more is queued.
    let next = chunk("b1", "w1", 4, 4..6, true);
    assert_eq!(
        s.commit_batch_chunk(&next).await.unwrap(),
        ChunkOutcome::Stopped
    );
    assert_eq!(
        s.batch("o1", "b1").await.unwrap().unwrap().state,
        "cancelled"
    );
    assert_eq!(s.queue_depth(T0).await.unwrap().queued, 0);
}
