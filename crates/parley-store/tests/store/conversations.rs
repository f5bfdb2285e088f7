//! Conversation operations beyond sending: create, send on a conversation, the list (its
//! paging from either end and its `variables` containment), activation, soft delete and the
//! pair operations.

use parley_domain::timeouts::TimeoutSettings;
use parley_store::{
    ConversationFields, ConversationListQuery, ConversationSend, ConversationSendOutcome,
    CreateRequest, Filter, SetActiveOutcome, SortField, Store, TextField, TextOp,
};
use serde_json::{json, Value};

use crate::{accepted, org_with_number, postgres, send, sqlite, T0};

both_backends!(
    create_stores_without_queueing_and_refuses_atomically,
    conversation_send_is_scoped_and_idempotent,
    pages_read_from_either_end_agree,
    containment_follows_postgres_semantics,
    activation_keeps_one_active_conversation_per_pair,
    soft_delete_is_scoped_and_recounts,
    pair_operations_cover_every_thread_of_the_pair,
);

const AGENT: &str = "+15550100000";

fn create(user: &str, request_data: Option<Value>) -> CreateRequest {
    CreateRequest {
        org_id: "o1".into(),
        user_number: user.into(),
        agent_number: AGENT.into(),
        channel: "sms".into(),
        new_conversation: false,
        fields: ConversationFields {
            request_data,
            ..Default::default()
        },
        number_timeouts: TimeoutSettings::default(),
        body: "seed".into(),
        sender: "USER".into(),
        encoding: "GSM-7".into(),
        segments: 1,
        provider_sid: None,
        now: T0,
    }
}

fn query(
    sort: SortField,
    descending: bool,
    page: i64,
    page_size: i64,
    filters: Vec<Filter>,
) -> ConversationListQuery {
    ConversationListQuery {
        org_id: "o1".into(),
        page,
        page_size,
        sort,
        descending,
        filters,
        after: None,
    }
}

async fn create_stores_without_queueing_and_refuses_atomically(s: &Store) {
    org_with_number(s, "o1", AGENT, 10.0).await;
    let a = s
        .accept_create(&create("+15551230000", None))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(s.queue_depth(i64::MAX).await.unwrap().queued, 0);
    let m = s.message(a.message_id).await.unwrap().unwrap();
    assert_eq!(
        (
            m.direction.as_str(),
            m.status.as_deref(),
            m.from_number.as_str()
        ),
        ("inbound", None, "+15551230000")
    );
    // A refused create with new_conversation archives nothing.
    let mut bad = create("+15551230000", None);
    bad.new_conversation = true;
    bad.fields.timeouts = TimeoutSettings {
        time_out: Some(5),
        warning_time: Some(5),
        ..Default::default()
    };
    assert!(s.accept_create(&bad).await.unwrap().is_err());
    let c = s
        .conversation("o1", &a.conversation_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((c.is_active, c.message_count), (1, 1));
}

async fn conversation_send_is_scoped_and_idempotent(s: &Store) {
    org_with_number(s, "o1", AGENT, 10.0).await;
    s.create_org("o2", "o2", T0).await.unwrap();
    let a = accepted(
        s.accept_send(&send("o1", AGENT, "+15551230000", "x"))
            .await
            .unwrap(),
    );
    let req = |org: &str, key: Option<(&str, &str)>| ConversationSend {
        org_id: org.into(),
        conversation_id: a.conversation_id.clone(),
        outbound: send("o1", AGENT, "+15551230000", "human").outbound,
        idempotency: key.map(|(k, h)| (k.into(), h.into())),
        now: T0,
    };
    assert_eq!(
        s.accept_conversation_send(&req("o2", None)).await.unwrap(),
        ConversationSendOutcome::ConversationNotFound
    );
    let first = match s
        .accept_conversation_send(&req("o1", Some(("k", "h1"))))
        .await
        .unwrap()
    {
        ConversationSendOutcome::Accepted(acc) => acc,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        s.accept_conversation_send(&req("o1", Some(("k", "h1"))))
            .await
            .unwrap(),
        ConversationSendOutcome::Replayed(first.clone())
    );
    assert_eq!(
        s.accept_conversation_send(&req("o1", Some(("k", "h2"))))
            .await
            .unwrap(),
        ConversationSendOutcome::KeyReused
    );
    let c = s
        .conversation("o1", &a.conversation_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(c.message_count, 2);
    assert_eq!(s.queue_depth(i64::MAX).await.unwrap().queued, 2);
}

async fn pages_read_from_either_end_agree(s: &Store) {
    org_with_number(s, "o1", AGENT, 10.0).await;
    // 23 conversations with ties and NULLs in the sorted columns.
    for i in 0..23 {
        let mut r = create(&format!("+1555123{:04}", (i * 7) % 23), None);
        r.fields.pathway_id = (i % 3 != 0).then(|| format!("p{}", i % 4));
        r.fields.pathway_version = (i % 5 != 0).then(|| format!("{}", i % 2));
        r.now = T0 + (i % 6) * 1000;
        s.accept_create(&r).await.unwrap().unwrap();
    }
    for sort in SortField::ALL {
        for descending in [false, true] {
            let all = s
                .list_conversations(&query(sort, descending, 1, 100, vec![]))
                .await
                .unwrap();
            assert_eq!(all.total, 23);
            let all: Vec<String> = all.rows.into_iter().map(|r| r.conversation.id).collect();
            let mut paged = Vec::new();
            for page in 1..=5 {
                let p = s
                    .list_conversations(&query(sort, descending, page, 5, vec![]))
                    .await
                    .unwrap();
                paged.extend(p.rows.into_iter().map(|r| r.conversation.id));
            }
            assert_eq!(paged, all, "{sort:?} descending={descending}");
        }
    }
    // NULL is the smallest value on both backends.
    let asc = s
        .list_conversations(&query(SortField::CurrPathwayId, false, 1, 100, vec![]))
        .await
        .unwrap();
    let first_set = asc
        .rows
        .iter()
        .position(|r| r.conversation.pathway_id.is_some())
        .unwrap();
    assert!(asc.rows[..first_set]
        .iter()
        .all(|r| r.conversation.pathway_id.is_none()));
    assert!(asc.rows[first_set..]
        .iter()
        .all(|r| r.conversation.pathway_id.is_some()));
}

async fn containment_follows_postgres_semantics(s: &Store) {
    org_with_number(s, "o1", AGENT, 10.0).await;
    let stored = [
        json!({"a": 1, "b": "x", "c": true, "d": null}),
        json!({"items": [{"sku": "a", "qty": 1}, {"sku": "b"}], "m": [[1, 2], [3]]}),
        json!({"n": 1.5, "deep": {"e": {"f": [1, "1"]}}}),
    ];
    for (i, v) in stored.iter().enumerate() {
        s.accept_create(&create(&format!("+1555999000{i}"), Some(v.clone())))
            .await
            .unwrap()
            .unwrap();
    }
    let cases: Vec<(usize, Value, bool)> = vec![
        (0, json!({"a": 1}), true),
        (0, json!({"a": 1.0}), true),
        (0, json!({"a": "1"}), false),
        (0, json!({"c": true}), true),
        (0, json!({"c": false}), false),
        (0, json!({"d": null}), true),
        (0, json!({"b": null}), false),
        (0, json!({"a": 1, "b": "x", "c": true}), true),
        (0, json!({"a": 1, "z": 1}), false),
        (1, json!({"items": [{"sku": "b"}]}), true),
        (1, json!({"items": [{"sku": "a", "qty": 1}]}), true),
        (1, json!({"items": [{"sku": "a", "qty": 2}]}), false),
        (1, json!({"items": [{"sku": "b", "qty": 1}]}), false),
        (1, json!({"items": [{}]}), true),
        (1, json!({"items": {"sku": "a"}}), false),
        (1, json!({"m": [[2]]}), true),
        (1, json!({"m": [[3, 1]]}), false),
        (1, json!({"m": [[]]}), true),
        (2, json!({"n": 1.5}), true),
        (2, json!({"deep": {"e": {"f": ["1"]}}}), true),
        (2, json!({"deep": {"e": {"f": [2]}}}), false),
        (2, json!({"deep": {"e": {}}}), true),
        (2, json!({"deep": {"e": []}}), false),
    ];
    for (i, filter, expected) in cases {
        let filters = vec![
            Filter::Text(TextField::UserNumber, TextOp::Eq, format!("+1555999000{i}")),
            Filter::VariablesContain(filter.as_object().unwrap().clone()),
        ];
        let got = s
            .list_conversations(&query(SortField::CreatedAt, true, 1, 10, filters))
            .await
            .unwrap()
            .total
            == 1;
        assert_eq!(got, expected, "{} contains {filter}", stored[i]);
    }
}

async fn activation_keeps_one_active_conversation_per_pair(s: &Store) {
    org_with_number(s, "o1", AGENT, 10.0).await;
    let a = accepted(
        s.accept_send(&send("o1", AGENT, "+15551230000", "x"))
            .await
            .unwrap(),
    );
    assert_eq!(
        s.set_conversation_active("o2", &a.conversation_id, false, T0)
            .await
            .unwrap(),
        SetActiveOutcome::NotFound
    );
    let closed = s
        .set_conversation_active("o1", &a.conversation_id, false, T0 + 1)
        .await
        .unwrap();
    assert!(
        matches!(&closed, SetActiveOutcome::Updated(c) if c.is_active == 0 && c.ended_reason.as_deref() == Some("inactive"))
    );
    let b = accepted(
        s.accept_send(&send("o1", AGENT, "+15551230000", "y"))
            .await
            .unwrap(),
    );
    let busy = s
        .set_conversation_active("o1", &a.conversation_id, true, T0 + 2)
        .await
        .unwrap();
    assert_eq!(
        busy,
        SetActiveOutcome::PairBusy {
            active_id: b.conversation_id.clone()
        }
    );
    s.set_conversation_active("o1", &b.conversation_id, false, T0 + 3)
        .await
        .unwrap();
    let reopened = s
        .set_conversation_active("o1", &a.conversation_id, true, T0 + 4)
        .await
        .unwrap();
    assert!(
        matches!(&reopened, SetActiveOutcome::Updated(c) if c.is_active == 1 && c.ended_reason.is_none() && c.updated_at == T0 + 4)
    );
}

async fn soft_delete_is_scoped_and_recounts(s: &Store) {
    org_with_number(s, "o1", AGENT, 10.0).await;
    s.create_org("o2", "o2", T0).await.unwrap();
    let a1 = accepted(
        s.accept_send(&send("o1", AGENT, "+15551230000", "1"))
            .await
            .unwrap(),
    );
    let mut later = send("o1", AGENT, "+15551230000", "2");
    later.now = T0 + 10;
    let a2 = accepted(s.accept_send(&later).await.unwrap());
    let other = accepted(
        s.accept_send(&send("o1", AGENT, "+15551230001", "o"))
            .await
            .unwrap(),
    );
    assert_eq!(
        s.soft_delete_messages("o2", &a1.conversation_id, &[a1.message_id], T0)
            .await
            .unwrap(),
        None
    );
    let n = s
        .soft_delete_messages(
            "o1",
            &a1.conversation_id,
            &[a2.message_id, a2.message_id, other.message_id],
            T0 + 20,
        )
        .await
        .unwrap();
    assert_eq!(n, Some(1));
    let c = s
        .conversation("o1", &a1.conversation_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((c.message_count, c.last_message_at), (1, Some(T0)));
    assert_eq!(
        s.conversation_messages(&other.conversation_id)
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        s.delete_conversation("o2", &a1.conversation_id)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        s.delete_conversation("o1", &a1.conversation_id)
            .await
            .unwrap(),
        Some(2),
        "deleted messages go too"
    );
    assert!(s.message(a2.message_id).await.unwrap().is_none());
}

async fn pair_operations_cover_every_thread_of_the_pair(s: &Store) {
    org_with_number(s, "o1", AGENT, 10.0).await;
    let user = "+15551230000";
    accepted(s.accept_send(&send("o1", AGENT, user, "a")).await.unwrap());
    let mut fresh = send("o1", AGENT, user, "b");
    fresh.new_conversation = true;
    accepted(s.accept_send(&fresh).await.unwrap());
    let mut wa = send("o1", AGENT, user, "c");
    wa.channel = "whatsapp".into();
    accepted(s.accept_send(&wa).await.unwrap());
    accepted(
        s.accept_send(&send("o1", AGENT, "+15551230001", "other"))
            .await
            .unwrap(),
    );
    let texts =
        |rows: Vec<parley_store::MessageRow>| rows.into_iter().map(|m| m.body).collect::<Vec<_>>();
    assert_eq!(
        texts(s.pair_messages("o1", user, AGENT, 10).await.unwrap()),
        ["a", "b", "c"]
    );
    assert_eq!(
        texts(s.pair_messages("o1", AGENT, user, 2).await.unwrap()),
        ["b", "c"],
        "the newest, oldest first"
    );
    assert!(s
        .pair_messages("o2", AGENT, user, 10)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(s.hide_pair_from_ai("o2", AGENT, user).await.unwrap(), 0);
    assert_eq!(s.hide_pair_from_ai("o1", user, AGENT).await.unwrap(), 3);
    assert_eq!(s.hide_pair_from_ai("o1", AGENT, user).await.unwrap(), 0);
    let rows = s.pair_messages("o1", user, AGENT, 10).await.unwrap();
    assert!(rows.iter().all(|m| m.hidden_from_ai == 1));
}
