//! Pathways: org scoping, the draft, numbered versions, publishing, the version selector
//! resolver, and chats.

use parley_store::{
    graph_of, Environment, NewChat, PathwayUpdate, PublishOutcome, Resolution, Store,
    VersionDelete, VersionRef, VersionSelector,
};
use serde_json::{json, Value};

use crate::{postgres, sqlite, T0};

both_backends!(
    pathway_crud_is_scoped_by_org_and_keeps_json_verbatim,
    versions_are_numbered_published_and_resolved,
    published_versions_cannot_be_deleted_and_numbers_are_not_reused,
    chats_persist_state_and_history_per_org,
);

fn graph(tag: &str) -> Value {
    // Unknown keys, nesting and layout must come back exactly.
    graph_of(
        json!([{"id": "a", "type": "Default", "data": {"name": tag, "isStart": true, "text": "hi",
                "modelOptions": {"temperature": 0.3}}, "position": {"x": 1.5, "y": -2}}]),
        json!([{"id": "e", "source": "a", "target": "a", "type": "custom",
                "data": {"label": "loop", "isHighlighted": false}}]),
    )
}

fn resolved(r: Resolution) -> parley_store::ResolvedGraph {
    match r {
        Resolution::Found(g) => *g,
        other => panic!("expected a graph, got {other:?}"),
    }
}

async fn orgs(s: &Store) {
    s.create_org("o1", "o1", T0).await.unwrap();
    s.create_org("o2", "o2", T0).await.unwrap();
}

async fn pathway_crud_is_scoped_by_org_and_keeps_json_verbatim(s: &Store) {
    orgs(s).await;
    let p = s
        .create_pathway("o1", "p1", "Reminders", Some("appointments"), T0)
        .await
        .unwrap();
    assert_eq!(p.nodes(), json!([]));
    s.create_pathway("o2", "p2", "Other", None, T0 + 1)
        .await
        .unwrap();

    assert_eq!(s.pathways("o1").await.unwrap().len(), 1);
    assert!(s.pathway("o2", "p1").await.unwrap().is_none());
    let other_org = PathwayUpdate {
        name: Some("stolen".into()),
        ..Default::default()
    };
    assert!(s
        .update_pathway("o2", "p1", &other_org, T0)
        .await
        .unwrap()
        .is_none());
    assert!(!s.delete_pathway("o2", "p1").await.unwrap());

    let updated = s
        .update_pathway(
            "o1",
            "p1",
            &PathwayUpdate {
                draft: Some(graph("Start")),
                ..Default::default()
            },
            T0 + 5,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (updated.name.as_str(), updated.description.as_deref()),
        ("Reminders", Some("appointments")),
        "absent fields are kept"
    );
    let back = s.pathway("o1", "p1").await.unwrap().unwrap();
    assert_eq!(back.draft, graph("Start"));
    assert_eq!(back.updated_at, T0 + 5);
    let cleared = s
        .update_pathway(
            "o1",
            "p1",
            &PathwayUpdate {
                description: Some(None),
                ..Default::default()
            },
            T0 + 6,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(cleared.description, None);
    assert_eq!(cleared.draft, graph("Start"));

    assert!(s.delete_pathway("o1", "p1").await.unwrap());
    assert!(s.pathway("o1", "p1").await.unwrap().is_none());
    assert_eq!(s.pathways("o2").await.unwrap().len(), 1);
}

async fn versions_are_numbered_published_and_resolved(s: &Store) {
    orgs(s).await;
    s.create_pathway("o1", "p1", "P", None, T0).await.unwrap();
    s.update_pathway(
        "o1",
        "p1",
        &PathwayUpdate {
            draft: Some(graph("draft")),
            ..Default::default()
        },
        T0,
    )
    .await
    .unwrap();
    // Nothing published: production runs the draft; staging and latest name nothing.
    let prod = resolved(
        s.resolve_pathway_version("o1", "p1", VersionSelector::Production)
            .await
            .unwrap(),
    );
    assert!(prod.version.is_none());
    assert_eq!(prod.graph(), &graph("draft"));
    for sel in [VersionSelector::Staging, VersionSelector::Latest] {
        assert_eq!(
            s.resolve_pathway_version("o1", "p1", sel).await.unwrap(),
            Resolution::VersionNotFound,
            "{sel:?}"
        );
    }

    let v1 = s
        .create_pathway_version("o1", "p1", "v-1", "first", &graph("one"), T0 + 1)
        .await
        .unwrap()
        .unwrap();
    let v2 = s
        .create_pathway_version("o1", "p1", "v-2", "second", &graph("two"), T0 + 2)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((v1.version_number, v2.version_number), (1, 2));
    assert!(s
        .create_pathway_version("o2", "p1", "v-x", "x", &graph("x"), T0)
        .await
        .unwrap()
        .is_none());
    let listed = s.pathway_versions("o1", "p1").await.unwrap().unwrap();
    assert_eq!(
        listed
            .iter()
            .map(|v| (v.version_number, v.is_latest))
            .collect::<Vec<_>>(),
        [(1, false), (2, true)]
    );
    assert!(s.pathway_versions("o2", "p1").await.unwrap().is_none());

    assert_eq!(
        s.publish_pathway_version("o1", "p1", 1, Environment::Production, T0)
            .await
            .unwrap(),
        PublishOutcome::Published
    );
    assert_eq!(
        s.publish_pathway_version("o1", "p1", 2, Environment::Staging, T0)
            .await
            .unwrap(),
        PublishOutcome::Published
    );
    assert_eq!(
        s.publish_pathway_version("o1", "p1", 9, Environment::Staging, T0)
            .await
            .unwrap(),
        PublishOutcome::VersionNotFound
    );
    assert_eq!(
        s.publish_pathway_version("o2", "p1", 1, Environment::Staging, T0)
            .await
            .unwrap(),
        PublishOutcome::PathwayNotFound
    );
    let number = |r: Resolution| resolved(r).version.map(|v| v.version_number);
    for (sel, want) in [
        (VersionSelector::Production, Some(1)),
        (VersionSelector::Staging, Some(2)),
        (VersionSelector::Latest, Some(2)),
        (VersionSelector::Number(1), Some(1)),
        (VersionSelector::Draft, None),
    ] {
        let got = number(s.resolve_pathway_version("o1", "p1", sel).await.unwrap());
        assert_eq!(got, want, "{sel:?}");
    }
    let by_id = resolved(
        s.resolve_pathway_ref("o1", "p1", &VersionRef::Id("v-2".into()))
            .await
            .unwrap(),
    );
    assert_eq!(by_id.graph(), &graph("two"));
    assert_eq!(
        s.resolve_pathway_version("o1", "p1", VersionSelector::Number(7))
            .await
            .unwrap(),
        Resolution::VersionNotFound
    );
    assert_eq!(
        s.resolve_pathway_version("o2", "p1", VersionSelector::Production)
            .await
            .unwrap(),
        Resolution::PathwayNotFound
    );

    assert!(s
        .update_pathway_version("o1", "p1", 1, "renamed", &graph("uno"), T0 + 3)
        .await
        .unwrap());
    assert!(!s
        .update_pathway_version("o2", "p1", 1, "x", &graph("x"), T0)
        .await
        .unwrap());
    assert!(!s
        .update_pathway_version("o1", "p1", 5, "x", &graph("x"), T0)
        .await
        .unwrap());
    let prod = resolved(
        s.resolve_pathway_version("o1", "p1", VersionSelector::Production)
            .await
            .unwrap(),
    );
    assert_eq!(prod.graph(), &graph("uno"));
    assert_eq!(prod.version.unwrap().name, "renamed");
}

async fn published_versions_cannot_be_deleted_and_numbers_are_not_reused(s: &Store) {
    orgs(s).await;
    s.create_pathway("o1", "p1", "P", None, T0).await.unwrap();
    for i in 1..=3 {
        s.create_pathway_version("o1", "p1", &format!("v-{i}"), "v", &graph("g"), T0)
            .await
            .unwrap()
            .unwrap();
    }
    s.publish_pathway_version("o1", "p1", 2, Environment::Staging, T0)
        .await
        .unwrap();
    let del = |r: &str| VersionRef::parse(r);
    assert_eq!(
        s.delete_pathway_version("o1", "p1", &del("2"))
            .await
            .unwrap(),
        VersionDelete::Published(Environment::Staging)
    );
    assert_eq!(
        s.delete_pathway_version("o2", "p1", &del("3"))
            .await
            .unwrap(),
        VersionDelete::PathwayNotFound
    );
    assert_eq!(
        s.delete_pathway_version("o1", "p1", &del("draft"))
            .await
            .unwrap(),
        VersionDelete::VersionNotFound
    );
    assert_eq!(
        s.delete_pathway_version("o1", "p1", &del("v-3"))
            .await
            .unwrap(),
        VersionDelete::Deleted
    );
    assert_eq!(
        s.delete_pathway_version("o1", "p1", &del("3"))
            .await
            .unwrap(),
        VersionDelete::VersionNotFound
    );
    let next = s
        .create_pathway_version("o1", "p1", "v-4", "v", &graph("g"), T0)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        next.version_number, 4,
        "deleted numbers are not handed out again"
    );
    // Deleting the pathway takes its versions along.
    assert!(s.delete_pathway("o1", "p1").await.unwrap());
    s.create_pathway("o1", "p1", "P again", None, T0)
        .await
        .unwrap();
    assert_eq!(
        s.pathway_versions("o1", "p1").await.unwrap().unwrap(),
        vec![]
    );
}

async fn chats_persist_state_and_history_per_org(s: &Store) {
    orgs(s).await;
    s.create_pathway("o1", "p1", "P", None, T0).await.unwrap();
    s.create_pathway_chat(&NewChat {
        id: "c1".into(),
        org_id: "o1".into(),
        pathway_id: "p1".into(),
        pathway_version: Some("staging".into()),
        start_node_id: Some("b".into()),
        state: json!({"pathway_id": "p1", "variables": {"name": "Ada"}}),
        now: T0,
    })
    .await
    .unwrap();
    let c = s.pathway_chat("o1", "c1").await.unwrap().unwrap();
    assert_eq!(c.history, json!([]));
    assert_eq!(c.pathway_version.as_deref(), Some("staging"));
    assert_eq!(c.start_node_id.as_deref(), Some("b"));
    assert!(!c.completed);
    assert!(s.pathway_chat("o2", "c1").await.unwrap().is_none());

    let history =
        json!([{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]);
    let state = json!({"pathway_id": "p1", "current_node_id": "a"});
    assert!(!s
        .save_pathway_chat("o2", "c1", &state, &history, true, T0 + 1)
        .await
        .unwrap());
    assert!(s
        .save_pathway_chat("o1", "c1", &state, &history, true, T0 + 1)
        .await
        .unwrap());
    let c = s.pathway_chat("o1", "c1").await.unwrap().unwrap();
    assert_eq!((c.state, c.history, c.completed), (state, history, true));
    assert!(s.delete_pathway("o1", "p1").await.unwrap());
    assert!(s.pathway_chat("o1", "c1").await.unwrap().is_none());
}
