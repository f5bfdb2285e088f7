//! Personas: versions and promotion, attach / detach and per-number settings, delete with
//! and without force, org scoping, and the reply-source resolution over stored data.

use parley_domain::{
    number_config::{NumberConfigPatch, Patch},
    personas::{PathwayChoice, PersonaVersion, ReplyOrigin, ReplySource, VersionType},
};
use parley_store::{
    AttachOutcome, DeleteOutcome, NewPersona, PersonaPatch, ReplyLookup, ReplyRequest,
    SettingsOutcome, Store,
};
use serde_json::{json, Map, Value};

use crate::{org_with_number, postgres, sqlite, T0};

both_backends!(
    persona_versions_and_promotion,
    persona_attach_detach_and_settings,
    persona_delete_refuses_in_use_unless_forced,
    persona_is_invisible_to_other_orgs,
    persona_reply_source_follows_the_precedence,
    persona_concurrent_promotes_keep_one_production,
);

const NUMBER: &str = "+15550100000";
const OTHER: &str = "+15550100001";

fn config(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

async fn persona(s: &Store, org: &str, prompt: &str) -> String {
    s.create_persona(
        org,
        &NewPersona {
            name: "Support".into(),
            tags: vec![json!("a")],
            config: config(json!({"personality_prompt": prompt, "memory_enabled": true})),
            ..Default::default()
        },
        T0,
    )
    .await
    .unwrap()
    .persona
    .id
}

async fn persona_versions_and_promotion(s: &Store) {
    org_with_number(s, "o1", NUMBER, 10.0).await;
    let id = persona(s, "o1", "v1 prompt").await;
    let d = s.persona("o1", &id).await.unwrap().unwrap();
    let (prod, draft) = (d.production.unwrap(), d.draft.unwrap());
    assert_eq!((prod.version_number, draft.version_number), (1, 2));
    assert_eq!(
        draft.promoted_from_version_id.as_deref(),
        Some(prod.id.as_str())
    );
    assert_eq!(prod.promoted_at, Some(T0));
    // Unknown fields are kept as sent.
    assert_eq!(prod.config["memory_enabled"], json!(true));

    // Edits: persona fields at once, versioned fields on the draft only.
    let d = s
        .update_persona(
            "o1",
            &id,
            PersonaPatch {
                name: Some("Sales".into()),
                role: Patch::Value("closer".into()),
                config: config(json!({"personality_prompt": "v2 prompt", "skills": ["x"]})),
                ..Default::default()
            },
            T0 + 1,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (d.persona.name.as_str(), d.persona.role.as_deref()),
        ("Sales", Some("closer"))
    );
    assert_eq!(
        d.production.as_ref().unwrap().config["personality_prompt"],
        "v1 prompt"
    );
    let draft = d.draft.unwrap();
    assert_eq!(draft.config["personality_prompt"], "v2 prompt");
    assert_eq!(
        draft.config["memory_enabled"],
        json!(true),
        "untouched keys stay"
    );

    // Promote: a new production copies the draft, the old production is archived.
    let p = s.promote_persona("o1", &id, T0 + 2).await.unwrap().unwrap();
    let new_prod = p.production.unwrap();
    assert_eq!(new_prod.version_number, 3);
    assert_eq!(new_prod.config["personality_prompt"], "v2 prompt");
    assert_eq!(
        new_prod.promoted_from_version_id.as_deref(),
        Some(draft.id.as_str())
    );
    assert_eq!(p.draft.unwrap().id, draft.id, "the draft stays the draft");
    let versions = s.persona_versions("o1", &id).await.unwrap().unwrap();
    assert_eq!(
        versions
            .iter()
            .map(|v| (v.version_number, v.version_type))
            .collect::<Vec<_>>(),
        [
            (3, VersionType::Production),
            (2, VersionType::Draft),
            (1, VersionType::Archived)
        ]
    );
    let old = s
        .persona_version("o1", &id, &prod.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(old.version_type, VersionType::Archived);
    // Promoting again archives version 3.
    let p = s.promote_persona("o1", &id, T0 + 3).await.unwrap().unwrap();
    assert_eq!(p.production.unwrap().version_number, 4);
    let list = s.list_personas("o1", 1, 20).await.unwrap();
    assert_eq!(list.len(), 1);
    assert!(s.list_personas("o1", 2, 20).await.unwrap().is_empty());
}

async fn persona_attach_detach_and_settings(s: &Store) {
    org_with_number(s, "o1", NUMBER, 10.0).await;
    s.add_number("o1", OTHER, "sandbox", "sms", 1.0, T0)
        .await
        .unwrap();
    let a = persona(s, "o1", "a").await;
    let b = persona(s, "o1", "b").await;
    // All or nothing: one unknown number refuses the whole call.
    let refused = s
        .attach_numbers(
            "o1",
            &a,
            &[NUMBER.into(), "+15550999999".into()],
            "production",
            T0,
        )
        .await
        .unwrap();
    assert_eq!(
        refused,
        AttachOutcome::InvalidNumbers(vec!["+15550999999".into()])
    );
    assert!(s.number_persona("o1", NUMBER).await.unwrap().is_none());

    let AttachOutcome::Attached(d) = s
        .attach_numbers("o1", &a, &[NUMBER.into(), OTHER.into()], "production", T0)
        .await
        .unwrap()
    else {
        panic!("attach refused");
    };
    assert_eq!(
        d.inbound_numbers
            .iter()
            .map(|l| l.phone_number.as_str())
            .collect::<Vec<_>>(),
        [NUMBER, OTHER]
    );
    let settings = json!({"pathway_id": "p1", "pathway_version": 2});
    let SettingsOutcome::Updated(l) = s
        .set_number_persona_settings("o1", &a, NUMBER, Some(&settings), T0)
        .await
        .unwrap()
    else {
        panic!("settings refused");
    };
    assert_eq!(l.persona_settings, Some(settings.clone()));
    // Settings only on a number attached to that persona.
    assert_eq!(
        s.set_number_persona_settings("o1", &b, NUMBER, Some(&settings), T0)
            .await
            .unwrap(),
        SettingsOutcome::InboundNotFound
    );
    // Re-attaching to the same persona keeps the settings; moving clears them.
    s.attach_numbers("o1", &a, &[NUMBER.into()], "production", T0)
        .await
        .unwrap();
    let l = s.number_persona("o1", NUMBER).await.unwrap().unwrap();
    assert_eq!(l.persona_settings, Some(settings));
    s.attach_numbers("o1", &b, &[NUMBER.into()], "production", T0)
        .await
        .unwrap();
    let l = s.number_persona("o1", NUMBER).await.unwrap().unwrap();
    assert_eq!(
        (l.persona_id.as_str(), l.persona_settings),
        (b.as_str(), None)
    );

    // Detach leaves numbers of other personas alone.
    let d = s
        .detach_numbers("o1", &a, &[NUMBER.into(), OTHER.into()], T0)
        .await
        .unwrap()
        .unwrap();
    assert!(d.inbound_numbers.is_empty());
    assert_eq!(
        s.number_persona("o1", NUMBER)
            .await
            .unwrap()
            .unwrap()
            .persona_id,
        b
    );
    assert!(s.number_persona("o1", OTHER).await.unwrap().is_none());
}

async fn persona_delete_refuses_in_use_unless_forced(s: &Store) {
    org_with_number(s, "o1", NUMBER, 10.0).await;
    let a = persona(s, "o1", "a").await;
    s.attach_numbers("o1", &a, &[NUMBER.into()], "production", T0)
        .await
        .unwrap();
    assert_eq!(
        s.delete_persona("o1", &a, false).await.unwrap(),
        DeleteOutcome::InUse(vec![NUMBER.into()])
    );
    assert!(s.persona("o1", &a).await.unwrap().is_some());
    assert_eq!(
        s.delete_persona("o1", &a, true).await.unwrap(),
        DeleteOutcome::Deleted
    );
    assert!(s.persona("o1", &a).await.unwrap().is_none());
    assert!(s.number_persona("o1", NUMBER).await.unwrap().is_none());
    assert_eq!(
        s.delete_persona("o1", &a, true).await.unwrap(),
        DeleteOutcome::NotFound
    );
    // An unused persona needs no force.
    let b = persona(s, "o1", "b").await;
    assert_eq!(
        s.delete_persona("o1", &b, false).await.unwrap(),
        DeleteOutcome::Deleted
    );
}

async fn persona_is_invisible_to_other_orgs(s: &Store) {
    org_with_number(s, "o1", NUMBER, 10.0).await;
    org_with_number(s, "o2", OTHER, 10.0).await;
    let a = persona(s, "o1", "a").await;
    assert!(s.persona("o2", &a).await.unwrap().is_none());
    assert!(!s.persona_exists("o2", &a).await.unwrap());
    assert!(s.list_personas("o2", 1, 100).await.unwrap().is_empty());
    assert!(s.persona_versions("o2", &a).await.unwrap().is_none());
    let prod = s
        .persona("o1", &a)
        .await
        .unwrap()
        .unwrap()
        .production
        .unwrap();
    assert!(s
        .persona_version("o2", &a, &prod.id)
        .await
        .unwrap()
        .is_none());
    assert!(s
        .update_persona("o2", &a, PersonaPatch::default(), T0)
        .await
        .unwrap()
        .is_none());
    assert!(s.promote_persona("o2", &a, T0).await.unwrap().is_none());
    assert_eq!(
        s.delete_persona("o2", &a, true).await.unwrap(),
        DeleteOutcome::NotFound
    );
    assert_eq!(
        s.attach_numbers("o2", &a, &[OTHER.into()], "production", T0)
            .await
            .unwrap(),
        AttachOutcome::PersonaNotFound
    );
    // o1 cannot attach o2's number to its own persona either.
    assert_eq!(
        s.attach_numbers("o1", &a, &[OTHER.into()], "production", T0)
            .await
            .unwrap(),
        AttachOutcome::InvalidNumbers(vec![OTHER.into()])
    );
    assert!(s
        .detach_numbers("o2", &a, &[OTHER.into()], T0)
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        s.set_number_persona_settings("o2", &a, OTHER, None, T0)
            .await
            .unwrap(),
        SettingsOutcome::PersonaNotFound
    );
    let req = ReplyRequest {
        persona_id: Some(&a),
        ..Default::default()
    };
    assert_eq!(
        s.resolve_reply_source("o2", OTHER, None, &req)
            .await
            .unwrap(),
        ReplyLookup::PersonaNotFound
    );
    assert_eq!(
        s.delete_persona("o1", &a, false).await.unwrap(),
        DeleteOutcome::Deleted
    );
}

fn pathway(id: &str, version: Option<&str>, from: ReplyOrigin) -> ReplySource {
    ReplySource::Pathway {
        pathway: PathwayChoice {
            pathway_id: id.into(),
            version: version.map(Into::into),
            start_node_id: None,
        },
        from,
    }
}

async fn persona_reply_source_follows_the_precedence(s: &Store) {
    org_with_number(s, "o1", NUMBER, 10.0).await;
    let source = |l: ReplyLookup| match l {
        ReplyLookup::Resolved { source, .. } => source,
        other => panic!("not resolved: {other:?}"),
    };
    let none = ReplyRequest::default();
    // A bare number: Bland's default objective.
    assert_eq!(
        source(
            s.resolve_reply_source("o1", NUMBER, None, &none)
                .await
                .unwrap()
        ),
        ReplySource::Objective {
            prompt: "Chat with the user".into(),
            from: ReplyOrigin::NumberObjective
        }
    );
    s.update_number_config(
        "o1",
        NUMBER,
        "sms",
        NumberConfigPatch {
            pathway_id: Patch::Value("own".into()),
            ..Default::default()
        },
        T0,
    )
    .await
    .unwrap();
    assert_eq!(
        source(
            s.resolve_reply_source("o1", NUMBER, None, &none)
                .await
                .unwrap()
        ),
        pathway("own", None, ReplyOrigin::NumberPathway)
    );
    // The attached persona's routing beats the number's own pathway.
    let a = persona(s, "o1", "a").await;
    s.update_persona(
        "o1",
        &a,
        PersonaPatch {
            config: config(json!({"pathway_conditions": [
                {"name": "", "prompt": "", "pathway_id": "", "pathway_version": ""},
                {"name": "sales", "prompt": "wants to buy", "pathway_id": "routed", "pathway_version": "1", "start_node_id": ""}
            ]})),
            ..Default::default()
        },
        T0,
    )
    .await
    .unwrap();
    s.attach_numbers("o1", &a, &[NUMBER.into()], "production", T0)
        .await
        .unwrap();
    // Production has no routing yet: its prompt drives.
    assert_eq!(
        source(
            s.resolve_reply_source("o1", NUMBER, None, &none)
                .await
                .unwrap()
        ),
        ReplySource::Objective {
            prompt: "a".into(),
            from: ReplyOrigin::PersonaPrompt
        }
    );
    let draft = ReplyRequest {
        persona_id: Some(&a),
        persona_version: Some(PersonaVersion::Draft),
        ..Default::default()
    };
    assert_eq!(
        source(
            s.resolve_reply_source("o1", NUMBER, None, &draft)
                .await
                .unwrap()
        ),
        pathway("routed", Some("1"), ReplyOrigin::PersonaRouting)
    );
    s.promote_persona("o1", &a, T0).await.unwrap();
    // The number's persona settings beat the routing; the request's pathway beats them.
    let settings = json!({"pathway_id": "num", "pathway_version": 4});
    s.set_number_persona_settings("o1", &a, NUMBER, Some(&settings), T0)
        .await
        .unwrap();
    assert_eq!(
        source(
            s.resolve_reply_source("o1", NUMBER, None, &none)
                .await
                .unwrap()
        ),
        pathway("num", Some("4"), ReplyOrigin::NumberPersonaSettings)
    );
    let req = ReplyRequest {
        pathway_id: Some("req"),
        ..Default::default()
    };
    assert_eq!(
        source(
            s.resolve_reply_source("o1", NUMBER, None, &req)
                .await
                .unwrap()
        ),
        pathway("req", None, ReplyOrigin::RequestPathway)
    );
    let send_settings = json!({"pathway_id": "send", "pathway_version": 9});
    let top = ReplyRequest {
        persona_settings: Some(&send_settings),
        ..req
    };
    assert_eq!(
        source(
            s.resolve_reply_source("o1", NUMBER, None, &top)
                .await
                .unwrap()
        ),
        pathway("send", Some("9"), ReplyOrigin::SendPersonaSettings)
    );
    // A send naming another persona does not inherit this number's settings for `a`.
    let b = persona(s, "o1", "b").await;
    let other = ReplyRequest {
        persona_id: Some(&b),
        ..Default::default()
    };
    assert_eq!(
        source(
            s.resolve_reply_source("o1", NUMBER, None, &other)
                .await
                .unwrap()
        ),
        ReplySource::Objective {
            prompt: "b".into(),
            from: ReplyOrigin::PersonaPrompt
        }
    );
    assert_eq!(
        s.resolve_reply_source("o1", "+15550999999", None, &none)
            .await
            .unwrap(),
        ReplyLookup::NumberNotFound
    );
}

/// Promotes racing each other (and an edit of the draft) never leave two productions or
/// reuse a version number.
async fn persona_concurrent_promotes_keep_one_production(s: &Store) {
    org_with_number(s, "o1", NUMBER, 10.0).await;
    let id = persona(s, "o1", "a").await;
    let mut tasks = Vec::new();
    for i in 0..8 {
        let (s, id) = (s.clone(), id.clone());
        tasks.push(tokio::spawn(async move {
            if i % 4 == 0 {
                let patch = PersonaPatch {
                    config: config(json!({"personality_prompt": format!("p{i}")})),
                    ..Default::default()
                };
                s.update_persona("o1", &id, patch, T0 + i)
                    .await
                    .unwrap()
                    .unwrap();
            } else {
                s.promote_persona("o1", &id, T0 + i).await.unwrap().unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let versions = s.persona_versions("o1", &id).await.unwrap().unwrap();
    let count = |t| versions.iter().filter(|v| v.version_type == t).count();
    assert_eq!(
        (
            count(VersionType::Production),
            count(VersionType::Draft),
            count(VersionType::Archived)
        ),
        (1, 1, 6)
    );
    let mut numbers: Vec<i64> = versions.iter().map(|v| v.version_number).collect();
    numbers.dedup();
    assert_eq!(numbers, (1..=8).rev().collect::<Vec<_>>());
    assert_eq!(versions[0].version_type, VersionType::Production);
}
