//! Number configs: merge, validation, per-channel and per-org scoping, human mode, and no
//! lost updates under concurrency.

use parley_domain::number_config::{NumberConfigPatch, Patch};
use parley_store::{ConfigUpdate, Store};

use crate::{accepted, org_with_number, postgres, send, sqlite, T0};

both_backends!(
    configs_merge_per_channel_and_refuse_invalid_results,
    overview_counts_conversations_and_shows_human_mode,
    concurrent_partial_updates_all_land,
);

const NUMBER: &str = "+15550100000";

fn updated(u: ConfigUpdate) -> parley_domain::number_config::NumberConfig {
    match u {
        ConfigUpdate::Updated(c) => *c,
        other => panic!("expected Updated, got {other:?}"),
    }
}

async fn configs_merge_per_channel_and_refuse_invalid_results(s: &Store) {
    org_with_number(s, "o1", NUMBER, 10.0).await;
    s.create_org("o2", "o2", T0).await.unwrap();
    let id = s.number_for_org("o1", NUMBER).await.unwrap().unwrap().id;
    assert_eq!(
        s.number_config(id, "sms").await.unwrap(),
        Default::default()
    );

    let c = updated(
        s.update_number_config(
            "o1",
            NUMBER,
            "sms",
            NumberConfigPatch {
                webhook: Patch::Value("https://a".into()),
                time_out: Patch::Value(60),
                ..Default::default()
            },
            T0,
        )
        .await
        .unwrap(),
    );
    assert_eq!(
        (c.webhook.as_deref(), c.time_out),
        (Some("https://a"), Some(60))
    );
    // Absent keeps, null clears.
    let c = updated(
        s.update_number_config(
            "o1",
            NUMBER,
            "sms",
            NumberConfigPatch {
                webhook: Patch::Null,
                objective: Patch::Value("Sell".into()),
                ..Default::default()
            },
            T0,
        )
        .await
        .unwrap(),
    );
    assert_eq!(
        (c.webhook.as_deref(), c.time_out, c.objective.as_deref()),
        (None, Some(60), Some("Sell"))
    );
    assert_eq!(s.number_config(id, "sms").await.unwrap(), c);
    assert_eq!(
        s.number_config(id, "whatsapp").await.unwrap(),
        Default::default()
    );

    // The merged result is validated; a refused update leaves the stored config alone.
    let refused = s
        .update_number_config(
            "o1",
            NUMBER,
            "sms",
            NumberConfigPatch {
                objective: Patch::Value("changed".into()),
                warning_time: Patch::Value(60),
                ..Default::default()
            },
            T0,
        )
        .await
        .unwrap();
    assert!(matches!(refused, ConfigUpdate::Invalid(_)));
    assert_eq!(s.number_config(id, "sms").await.unwrap(), c);
    // Another org's number is not found, and nothing is written for it.
    let foreign = s
        .update_number_config("o2", NUMBER, "sms", NumberConfigPatch::default(), T0)
        .await
        .unwrap();
    assert_eq!(foreign, ConfigUpdate::NumberNotFound);
    assert!(!s.set_human_mode("o2", NUMBER, true).await.unwrap());
    assert!(s.numbers_overview("o2", "sms").await.unwrap().is_empty());
}

async fn overview_counts_conversations_and_shows_human_mode(s: &Store) {
    org_with_number(s, "o1", NUMBER, 10.0).await;
    s.add_number("o1", "+15550100001", "sandbox", "whatsapp", 5.0, T0)
        .await
        .unwrap();
    for user in ["+15551230000", "+15551230001", "+15551230000"] {
        accepted(s.accept_send(&send("o1", NUMBER, user, "x")).await.unwrap());
    }
    assert!(s.set_human_mode("o1", NUMBER, true).await.unwrap());
    s.update_number_config(
        "o1",
        "+15550100001",
        "whatsapp",
        NumberConfigPatch {
            objective: Patch::Value("WA".into()),
            ..Default::default()
        },
        T0,
    )
    .await
    .unwrap();
    let sms = s.numbers_overview("o1", "sms").await.unwrap();
    assert_eq!(
        sms.iter()
            .map(|n| (
                n.phone_number.as_str(),
                n.channel.as_str(),
                n.conversation_count,
                n.human_mode
            ))
            .collect::<Vec<_>>(),
        [
            (NUMBER, "sms", 2, true),
            ("+15550100001", "whatsapp", 0, false)
        ]
    );
    assert_eq!(sms[1].config.objective, None);
    let wa = s.numbers_overview("o1", "whatsapp").await.unwrap();
    assert_eq!(wa[1].config.objective.as_deref(), Some("WA"));
}

async fn concurrent_partial_updates_all_land(s: &Store) {
    org_with_number(s, "o1", NUMBER, 10.0).await;
    let mut tasks = Vec::new();
    for i in 0..10 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let v = |name: &str| Patch::Value(format!("{name}-{i}"));
            let mut p = NumberConfigPatch::default();
            match i {
                0 => p.webhook = v("https://w"),
                1 => p.timeout_action = v("a"),
                2 => p.timeout_message = v("t"),
                3 => p.warning_message = v("w"),
                4 => p.objective = v("o"),
                5 => p.pathway_id = v("p"),
                6 => p.pathway_version = v("v"),
                7 => p.start_node_id = v("n"),
                8 => p.timezone = v("Z"),
                _ => p.summary_prompt = v("s"),
            }
            updated(
                s.update_number_config("o1", NUMBER, "sms", p, T0)
                    .await
                    .unwrap(),
            );
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let id = s.number_for_org("o1", NUMBER).await.unwrap().unwrap().id;
    let c = s.number_config(id, "sms").await.unwrap();
    let set = [
        c.webhook,
        c.timeout_action,
        c.timeout_message,
        c.warning_message,
        c.objective,
        c.pathway_id,
        c.pathway_version,
        c.start_node_id,
        c.timezone,
        c.summary_prompt,
    ];
    assert!(
        set.iter().all(Option::is_some),
        "every partial update landed: {set:?}"
    );
}
