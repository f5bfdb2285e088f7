//! The list at a size where its query plans differ: more than `SORT_MATCHES_MAX` (20,000)
//! matches walk the sort's index, fewer are read through the filters and sorted, and a
//! filter on the sort column itself leaves the planner alone. Every plan must return the
//! same rows as the definition, by page number from either end and by cursor. The rows are
//! inserted (and some deleted) in bulk SQL statements, which the conversation counter's
//! triggers must count too.

use parley_store::{
    CmpOp, ConversationListQuery, Dialect, Filter, IntField, ListCursor, SortField, Store,
    TextField, TextOp,
};

use crate::{postgres, sqlite, T0};

const ROWS: i64 = 25_000;

both_backends!(every_plan_returns_the_defined_rows_at_25000_conversations);

fn id(i: i64) -> String {
    format!("c{i:05}")
}

fn query(
    filters: Vec<Filter>,
    sort: SortField,
    descending: bool,
    page: i64,
) -> ConversationListQuery {
    ConversationListQuery {
        org_id: "o1".into(),
        page,
        page_size: 25,
        sort,
        descending,
        filters,
        after: None,
    }
}

async fn ids(s: &Store, q: &ConversationListQuery) -> (Vec<String>, i64, Option<ListCursor>) {
    let page = s.list_conversations(q).await.unwrap();
    let ids = page
        .rows
        .iter()
        .map(|r| r.conversation.id.clone())
        .collect();
    (ids, page.total, page.next)
}

async fn every_plan_returns_the_defined_rows_at_25000_conversations(s: &Store) {
    s.create_org("o1", "o1", T0).await.unwrap();
    // Conversation i: created at i, closed and timed out when i % 10 == 0, user number
    // +1555 and i on seven digits (so user order is creation order).
    let insert = match s.dialect() {
        Dialect::Sqlite => format!(
            "WITH RECURSIVE seq(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM seq WHERE i < {ROWS} - 1) \
             INSERT INTO conversations (id, org_id, user_number, agent_number, channel, is_active, created_at, \
             updated_at, message_count, timed_out_at) \
             SELECT printf('c%05d', i), 'o1', printf('+1555%07d', i), '+15550100000', 'sms', \
             CASE WHEN i % 10 = 0 THEN 0 ELSE 1 END, i, i, i % 7, CASE WHEN i % 10 = 0 THEN i END FROM seq"
        ),
        Dialect::Postgres => format!(
            "INSERT INTO conversations (id, org_id, user_number, agent_number, channel, is_active, created_at, \
             updated_at, message_count, timed_out_at) \
             SELECT 'c' || lpad(i::text, 5, '0'), 'o1', '+1555' || lpad(i::text, 7, '0'), '+15550100000', 'sms', \
             CASE WHEN i % 10 = 0 THEN 0 ELSE 1 END, i, i, i % 7, CASE WHEN i % 10 = 0 THEN i END \
             FROM generate_series(0::bigint, {ROWS} - 1) AS g(i)"
        ),
    };
    s.execute_raw(&insert).await.unwrap();
    s.execute_raw("ANALYZE").await.unwrap();
    let all = query(Vec::new(), SortField::CreatedAt, true, 1);
    assert_eq!(ids(s, &all).await.1, ROWS, "a bulk insert is counted");

    let active = |i: &i64| i % 10 != 0;
    let newest_active: Vec<String> = (0..ROWS).rev().filter(active).map(id).collect();
    let oldest_active: Vec<String> = (0..ROWS).filter(active).map(id).collect();
    // 22,500 matches: the sort's index is walked (also for the filters SQLite would
    // otherwise take for selective).
    for filter in [
        Filter::IsActive(true),
        Filter::IntUnset(IntField::TimedOutAt),
    ] {
        let (first, total, next) = ids(
            s,
            &query(vec![filter.clone()], SortField::CreatedAt, true, 1),
        )
        .await;
        assert_eq!(
            (first.as_slice(), total),
            (&newest_active[..25], 22_500),
            "{filter:?}"
        );
        let last_page = 22_500 / 25;
        let (last, _, none) = ids(
            s,
            &query(vec![filter.clone()], SortField::CreatedAt, true, last_page),
        )
        .await;
        assert_eq!(
            last,
            oldest_active[..25]
                .iter()
                .rev()
                .cloned()
                .collect::<Vec<_>>()
        );
        assert!(none.is_none());
        let mut q = query(vec![filter.clone()], SortField::CreatedAt, true, 1);
        q.after = next;
        assert_eq!(
            ids(s, &q).await.0,
            newest_active[25..50].to_vec(),
            "{filter:?}"
        );
    }
    // 100 matches at the far end of the sort: read through the filter and sorted.
    let few = Filter::Text(TextField::UserNumber, TextOp::Lt, "+15550000100".into());
    let (first, total, next) =
        ids(s, &query(vec![few.clone()], SortField::CreatedAt, true, 1)).await;
    let expected: Vec<String> = (0..100).rev().map(id).collect();
    assert_eq!((first.as_slice(), total), (&expected[..25], 100));
    let mut q = query(vec![few.clone()], SortField::CreatedAt, true, 1);
    q.after = next;
    assert_eq!(ids(s, &q).await.0, expected[25..50].to_vec());
    assert_eq!(
        ids(s, &query(vec![few.clone()], SortField::CreatedAt, true, 4))
            .await
            .0,
        expected[75..].to_vec()
    );
    // A filter on the sort column itself, with many and with few matches.
    for (bound, count) in [(24_000, 1_000), (100, 24_900)] {
        let f = Filter::Int(IntField::CreatedAt, CmpOp::Gte, bound);
        let (first, total, _) = ids(s, &query(vec![f], SortField::CreatedAt, false, 1)).await;
        assert_eq!(total, count);
        assert_eq!(first, (bound..bound + 25).map(id).collect::<Vec<_>>());
    }
    // Many matches sorted by another column than the filters': message_count, then id.
    let f = Filter::Int(IntField::MessageCount, CmpOp::Gte, 1);
    let (first, total, _) = ids(s, &query(vec![f], SortField::MessageCount, false, 1)).await;
    let mut ones: Vec<String> = (0..ROWS).filter(|i| i % 7 == 1).map(id).collect();
    ones.truncate(25);
    assert_eq!(
        (first, total),
        (ones, (0..ROWS).filter(|i| i % 7 != 0).count() as i64)
    );
    let f = Filter::IsActive(true);
    let (first, _, _) = ids(s, &query(vec![f], SortField::MessageCount, true, 1)).await;
    let mut sixes: Vec<String> = (0..ROWS)
        .rev()
        .filter(|i| i % 7 == 6 && active(i))
        .map(id)
        .collect();
    sixes.truncate(25);
    assert_eq!(first, sixes);

    // A bulk delete is counted too.
    s.execute_raw("DELETE FROM conversations WHERE created_at < 1000")
        .await
        .unwrap();
    assert_eq!(ids(s, &all).await.1, ROWS - 1_000);
}
