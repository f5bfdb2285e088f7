//! Citation schemas: create, get, list, load by ids, update, delete (which strips the id
//! from number configs), org scoping, and merging citation variables on a conversation.

use parley_domain::number_config::{NumberConfigPatch, Patch};
use parley_store::{CitationSchemaPatch, NewCitationSchema, Store};
use serde_json::{json, Map, Value};

use crate::{accepted, org_with_number, postgres, send, sqlite, T0};

both_backends!(
    citation_schemas_round_trip_and_list_newest_first,
    citation_schemas_load_by_ids_in_the_order_asked,
    citation_schema_delete_strips_it_from_number_configs,
    citation_schemas_are_invisible_to_other_orgs,
    citation_variables_merge_and_reach_the_record,
);

const NUMBER: &str = "+15550100000";
const USER: &str = "+15551230000";

fn schema(name: &str) -> NewCitationSchema {
    NewCitationSchema {
        name: name.into(),
        description: Some(format!("{name} schema")),
        schema: json!({"variables": [{"name": "zip", "type": "string", "x-ui": {"kept": true}}]}),
    }
}

fn obj(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

async fn citation_schemas_round_trip_and_list_newest_first(s: &Store) {
    s.create_org("o1", "o1", T0).await.unwrap();
    let a = s
        .create_citation_schema("o1", &schema("a"), T0)
        .await
        .unwrap();
    let b = s
        .create_citation_schema("o1", &schema("b"), T0 + 1)
        .await
        .unwrap();

    let got = s.citation_schema("o1", &a.id).await.unwrap().unwrap();
    assert_eq!(got, a);
    // Keys Parley does not use are kept as sent.
    assert_eq!(got.schema["variables"][0]["x-ui"], json!({"kept": true}));
    let listed: Vec<String> = s
        .list_citation_schemas("o1")
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.name)
        .collect();
    assert_eq!(listed, ["b", "a"]);

    let patched = s
        .update_citation_schema(
            "o1",
            &a.id,
            CitationSchemaPatch {
                name: Some("a2".into()),
                description: Patch::Null,
                schema: Some(json!({"variables": []})),
            },
            T0 + 5,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            patched.name.as_str(),
            patched.description,
            patched.created_at,
            patched.updated_at
        ),
        ("a2", None, T0, T0 + 5)
    );
    assert_eq!(
        s.citation_schema("o1", &a.id)
            .await
            .unwrap()
            .unwrap()
            .schema,
        json!({"variables": []})
    );
    // Absent fields keep their value.
    let kept = s
        .update_citation_schema("o1", &b.id, CitationSchemaPatch::default(), T0 + 6)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (kept.name, kept.description),
        ("b".into(), Some("b schema".into()))
    );

    assert!(s.delete_citation_schema("o1", &a.id).await.unwrap());
    assert!(!s.delete_citation_schema("o1", &a.id).await.unwrap());
    assert_eq!(s.citation_schema("o1", &a.id).await.unwrap(), None);
    assert_eq!(s.list_citation_schemas("o1").await.unwrap().len(), 1);
}

async fn citation_schemas_load_by_ids_in_the_order_asked(s: &Store) {
    s.create_org("o1", "o1", T0).await.unwrap();
    let a = s
        .create_citation_schema("o1", &schema("a"), T0)
        .await
        .unwrap();
    let b = s
        .create_citation_schema("o1", &schema("b"), T0)
        .await
        .unwrap();
    let ids = [b.id.clone(), "missing".into(), a.id.clone(), b.id.clone()];

    let got: Vec<String> = s
        .citation_schemas_by_ids("o1", &ids)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.name)
        .collect();

    assert_eq!(got, ["b", "a"]);
    assert!(s
        .citation_schemas_by_ids("o1", &[])
        .await
        .unwrap()
        .is_empty());
}

async fn citation_schema_delete_strips_it_from_number_configs(s: &Store) {
    org_with_number(s, "o1", NUMBER, 10.0).await;
    let a = s
        .create_citation_schema("o1", &schema("a"), T0)
        .await
        .unwrap();
    let b = s
        .create_citation_schema("o1", &schema("b"), T0)
        .await
        .unwrap();
    for channel in ["sms", "whatsapp"] {
        s.update_number_config(
            "o1",
            NUMBER,
            channel,
            NumberConfigPatch {
                citation_schema_ids: Patch::Value(vec![a.id.clone(), b.id.clone()]),
                summary_prompt: Patch::Value("Summarise".into()),
                ..Default::default()
            },
            T0,
        )
        .await
        .unwrap();
    }

    assert!(s.delete_citation_schema("o1", &a.id).await.unwrap());

    let number = s.number_for_org("o1", NUMBER).await.unwrap().unwrap().id;
    for channel in ["sms", "whatsapp"] {
        let c = s.number_config(number, channel).await.unwrap();
        assert_eq!(c.citation_schema_ids, Some(vec![b.id.clone()]), "{channel}");
        assert_eq!(c.summary_prompt.as_deref(), Some("Summarise"));
    }
}

async fn citation_schemas_are_invisible_to_other_orgs(s: &Store) {
    org_with_number(s, "o1", NUMBER, 10.0).await;
    s.create_org("o2", "o2", T0).await.unwrap();
    let a = s
        .create_citation_schema("o1", &schema("a"), T0)
        .await
        .unwrap();
    let conv = accepted(
        s.accept_send(&send("o1", NUMBER, USER, "hi"))
            .await
            .unwrap(),
    )
    .conversation_id;

    assert_eq!(s.citation_schema("o2", &a.id).await.unwrap(), None);
    assert!(s.list_citation_schemas("o2").await.unwrap().is_empty());
    assert!(s
        .citation_schemas_by_ids("o2", std::slice::from_ref(&a.id))
        .await
        .unwrap()
        .is_empty());
    let patch = CitationSchemaPatch {
        name: Some("stolen".into()),
        ..Default::default()
    };
    assert_eq!(
        s.update_citation_schema("o2", &a.id, patch, T0)
            .await
            .unwrap(),
        None
    );
    assert!(!s.delete_citation_schema("o2", &a.id).await.unwrap());
    let new = obj(json!({"zip": "1"}));
    assert_eq!(
        s.merge_citation_variables("o2", &conv, &new).await.unwrap(),
        None
    );

    let still = s.citation_schema("o1", &a.id).await.unwrap().unwrap();
    assert_eq!(still.name, "a");
    let record = s.conversation_record("o1", &conv).await.unwrap().unwrap();
    assert!(record.citations.is_empty());
}

async fn citation_variables_merge_and_reach_the_record(s: &Store) {
    org_with_number(s, "o1", NUMBER, 10.0).await;
    let conv = accepted(
        s.accept_send(&send("o1", NUMBER, USER, "hi"))
            .await
            .unwrap(),
    )
    .conversation_id;

    let first = s
        .merge_citation_variables("o1", &conv, &obj(json!({"a": 1, "b": "x"})))
        .await
        .unwrap()
        .unwrap();
    let second = s
        .merge_citation_variables("o1", &conv, &obj(json!({"a": 3, "c": [true]})))
        .await
        .unwrap()
        .unwrap();

    assert!(first.previous.is_empty());
    assert_eq!(Value::Object(second.previous), json!({"a": 1, "b": "x"}));
    assert_eq!(
        Value::Object(second.merged.clone()),
        json!({"a": 3, "b": "x", "c": [true]})
    );
    let record = s.conversation_record("o1", &conv).await.unwrap().unwrap();
    assert_eq!(record.citations, second.merged);
    let row = s.conversation("o1", &conv).await.unwrap().unwrap();
    assert_eq!(
        row.json(&row.citation_variables),
        Some(json!({"a": 3, "b": "x", "c": [true]}))
    );
    assert_eq!(
        s.merge_citation_variables("o1", "nope", &Map::new())
            .await
            .unwrap(),
        None
    );
}
