//! Dispositions: immutable numbered versions, revisions under the lock, lookups that name
//! what they could not find, delete refused while number configs use it, org scoping.

use parley_domain::number_config::{NumberConfigPatch, Patch};
use parley_store::{DispositionDelete, DispositionLookup, Store, VersionWrite};
use serde_json::{json, Value};

use crate::{org_with_number, postgres, sqlite, T0};

both_backends!(
    disposition_updates_add_versions_and_keep_the_old_ones,
    disposition_revisions_that_refuse_write_nothing,
    disposition_concurrent_updates_get_consecutive_versions,
    disposition_lookups_keep_order_and_name_missing_ids,
    disposition_delete_is_refused_while_a_number_uses_it,
    disposition_is_invisible_to_other_orgs,
);

const NUMBER: &str = "+15550100000";

fn def(name: &str) -> Value {
    json!({"name": name, "fields": [{"name": "ok", "type": "boolean", "rule": true}]})
}

async fn create(s: &Store, org: &str, name: &str) -> String {
    s.create_disposition(org, &def(name), T0).await.unwrap().id
}

/// Updates to `def(name)`, which must be saved; returns the new version number.
async fn rename(s: &Store, org: &str, id: &str, name: &str, now: i64) -> i64 {
    let to = def(name);
    match s
        .update_disposition(org, id, now, |_| Ok::<_, ()>(to))
        .await
        .unwrap()
    {
        VersionWrite::Saved(d) => d.current.version,
        other => panic!("{other:?}"),
    }
}

async fn disposition_updates_add_versions_and_keep_the_old_ones(s: &Store) {
    org_with_number(s, "o1", NUMBER, 10.0).await;
    let id = create(s, "o1", "v1").await;
    let d = s.disposition("o1", &id).await.unwrap().unwrap();
    assert_eq!((d.current.version, d.created_at), (1, T0));
    assert_eq!(d.current.definition, def("v1"));

    // The revision sees the current version.
    let r = s
        .update_disposition("o1", &id, T0 + 5, |cur| {
            assert_eq!(cur.version, 1);
            Ok::<_, ()>(def(&format!("{} then v2", cur.definition["name"])))
        })
        .await
        .unwrap();
    let VersionWrite::Saved(d) = r else {
        panic!("{r:?}")
    };
    assert_eq!(
        (d.current.version, d.current.created_at, d.created_at),
        (2, T0 + 5, T0)
    );
    assert_eq!(rename(s, "o1", &id, "v3", T0 + 9).await, 3);

    let versions = s.disposition_versions("o1", &id).await.unwrap().unwrap();
    let numbers: Vec<i64> = versions.iter().map(|v| v.version).collect();
    assert_eq!(numbers, [3, 2, 1]);
    let v1 = s.disposition_version("o1", &id, 1).await.unwrap().unwrap();
    assert_eq!((v1.definition, v1.created_at), (def("v1"), T0));
    assert_eq!(
        s.disposition_version("o1", &id, 2)
            .await
            .unwrap()
            .unwrap()
            .definition["name"],
        "\"v1\" then v2"
    );
    assert!(s.disposition_version("o1", &id, 4).await.unwrap().is_none());
    // Any spelling of the UUID names it.
    let upper = id.to_uppercase();
    assert_eq!(
        s.disposition("o1", &upper)
            .await
            .unwrap()
            .unwrap()
            .current
            .version,
        3
    );

    // The list is oldest first and shows current versions.
    let second = create(s, "o1", "other").await;
    let list = s.list_dispositions("o1", 1, 10).await.unwrap();
    let ids: Vec<(&str, i64)> = list
        .iter()
        .map(|d| (d.id.as_str(), d.current.version))
        .collect();
    assert_eq!(ids, [(id.as_str(), 3), (second.as_str(), 1)]);
    assert_eq!(s.list_dispositions("o1", 2, 1).await.unwrap()[0].id, second);
    assert!(s.list_dispositions("o1", 3, 1).await.unwrap().is_empty());
}

async fn disposition_revisions_that_refuse_write_nothing(s: &Store) {
    org_with_number(s, "o1", NUMBER, 10.0).await;
    let id = create(s, "o1", "v1").await;
    let r = s
        .update_disposition("o1", &id, T0 + 1, |_| Err("bad rule"))
        .await
        .unwrap();
    assert_eq!(r, VersionWrite::Refused("bad rule"));
    let versions = s.disposition_versions("o1", &id).await.unwrap().unwrap();
    assert_eq!(versions.len(), 1);
    assert_eq!(
        s.disposition("o1", &id)
            .await
            .unwrap()
            .unwrap()
            .current
            .version,
        1
    );
}

async fn disposition_concurrent_updates_get_consecutive_versions(s: &Store) {
    org_with_number(s, "o1", NUMBER, 10.0).await;
    let id = create(s, "o1", "v1").await;
    let updates = (0..6).map(|i| {
        let (s, id) = (s.clone(), id.clone());
        tokio::spawn(async move { rename(&s, "o1", &id, &format!("u{i}"), T0 + i).await })
    });
    let mut got: Vec<i64> = Vec::new();
    for u in updates {
        got.push(u.await.unwrap());
    }
    got.sort_unstable();
    assert_eq!(got, [2, 3, 4, 5, 6, 7]);
    let d = s.disposition("o1", &id).await.unwrap().unwrap();
    assert_eq!(d.current.version, 7);
}

async fn disposition_lookups_keep_order_and_name_missing_ids(s: &Store) {
    org_with_number(s, "o1", NUMBER, 10.0).await;
    s.create_org("o2", "o2", T0).await.unwrap();
    let a = create(s, "o1", "a").await;
    let b = create(s, "o1", "b").await;
    rename(s, "o1", &b, "b2", T0 + 1).await;
    let foreign = create(s, "o2", "theirs").await;
    let unknown = uuid::Uuid::new_v4().to_string();
    let asked: Vec<String> = vec![
        b.clone(),
        "not-a-uuid".into(),
        a.to_uppercase(),
        foreign.clone(),
        b.clone(),
        unknown.clone(),
        a.clone(),
    ];
    let got = s.current_disposition_versions("o1", &asked).await.unwrap();
    let shown: Vec<String> = got
        .iter()
        .map(|l| match l {
            DispositionLookup::Found(v) => format!("{}@{}", v.disposition_id, v.version),
            DispositionLookup::NotFound(id) => format!("missing {id}"),
        })
        .collect();
    assert_eq!(
        shown,
        [
            format!("{b}@2"),
            "missing not-a-uuid".into(),
            format!("{a}@1"),
            format!("missing {foreign}"),
            format!("missing {unknown}"),
        ]
    );
    assert!(s
        .current_disposition_versions("o1", &[])
        .await
        .unwrap()
        .is_empty());
}

async fn disposition_delete_is_refused_while_a_number_uses_it(s: &Store) {
    org_with_number(s, "o1", NUMBER, 10.0).await;
    let used = create(s, "o1", "used").await;
    let free = create(s, "o1", "free").await;
    let patch = NumberConfigPatch {
        disposition_ids: Patch::Value(vec!["x".into(), used.to_uppercase()]),
        ..Default::default()
    };
    s.update_number_config("o1", NUMBER, "whatsapp", patch, T0)
        .await
        .unwrap();

    assert_eq!(
        s.delete_disposition("o1", &used, false).await.unwrap(),
        DispositionDelete::InUse(vec![NUMBER.into()])
    );
    assert!(s.disposition("o1", &used).await.unwrap().is_some());
    assert_eq!(
        s.delete_disposition("o1", &free, false).await.unwrap(),
        DispositionDelete::Deleted
    );
    assert_eq!(
        s.delete_disposition("o1", &used, true).await.unwrap(),
        DispositionDelete::Deleted
    );
    assert!(s.disposition("o1", &used).await.unwrap().is_none());
    assert!(s.disposition_versions("o1", &used).await.unwrap().is_none());
    assert_eq!(
        s.delete_disposition("o1", &used, true).await.unwrap(),
        DispositionDelete::NotFound
    );
}

async fn disposition_is_invisible_to_other_orgs(s: &Store) {
    org_with_number(s, "o1", NUMBER, 10.0).await;
    s.create_org("o2", "o2", T0).await.unwrap();
    let id = create(s, "o1", "mine").await;
    assert!(s.disposition("o2", &id).await.unwrap().is_none());
    assert!(s.disposition_versions("o2", &id).await.unwrap().is_none());
    assert!(s.disposition_version("o2", &id, 1).await.unwrap().is_none());
    assert!(s.list_dispositions("o2", 1, 10).await.unwrap().is_empty());
    let r = s
        .update_disposition("o2", &id, T0, |_| Ok::<_, ()>(def("stolen")))
        .await
        .unwrap();
    assert_eq!(r, VersionWrite::NotFound);
    assert_eq!(
        s.delete_disposition("o2", &id, true).await.unwrap(),
        DispositionDelete::NotFound
    );
    let d = s.disposition("o1", &id).await.unwrap().unwrap();
    assert_eq!((d.current.version, d.current.definition), (1, def("mine")));
}
