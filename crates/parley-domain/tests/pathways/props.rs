//! Property tests: the engine never panics and always terminates, whatever the graph,
//! the text and the answers; templating never leaves a known `{{var}}` behind.

use parley_domain::pathways::{
    ModelReply, ModelRequest, Pathway, PathwayState, Poll, Turn, WebhookResponse,
};
use proptest::prelude::*;
use serde_json::{json, Map, Value};

use crate::support::ctx;

const TYPES: &[&str] = &[
    "Default",
    "End Call",
    "Webhook",
    "Transfer Pathway",
    "Transfer to Human",
    "SMS",
    "Wait for Response",
    "Knowledge Base",
    "Transfer Call",
    "Press Button",
    "Custom Code",
    "",
];

fn id() -> impl Strategy<Value = String> {
    // A small id space, so edges often hit real nodes, sometimes dangle, and cycle.
    prop_oneof![
        (0u8..6).prop_map(|i| format!("n{i}")),
        Just("ghost".to_owned())
    ]
}

fn text() -> impl Strategy<Value = Option<String>> {
    prop::option::of(prop_oneof![
        ".{0,20}",
        "[a-z {}]{0,20}",
        Just("{{x}} and {{ y }}".to_owned())
    ])
}

fn rule() -> impl Strategy<Value = Option<Value>> {
    prop::option::of(prop_oneof![
        "[a-z]{1,5}".prop_map(|v| json!({"kind": "equals", "values": [v]})),
        "[a-z ]{0,8}".prop_map(|v| json!({"kind": "contains_any", "values": [v]})),
        ".{0,8}".prop_map(|p| json!({"kind": "regex", "pattern": p})),
        (
            "[a-z]{1,3}",
            prop_oneof![Just("=="), Just("<"), Just("exists"), Just("??")]
        )
            .prop_map(|(v, op)| json!({"kind": "variable", "var": v, "op": op, "value": 3})),
        Just(json!({"kind": 5})),
    ])
}

prop_compose! {
    fn node()(id in id(), ty in prop::sample::select(TYPES), start in any::<bool>(), text in text(), prompt in text(),
              cond in text(), global in any::<bool>(), label in text(), extract in any::<bool>(),
              url in text(), routes in any::<bool>(), tp in text()) -> Value {
        json!({"id": id, "type": ty, "data": {
            "isStart": start, "text": text, "prompt": prompt, "condition": cond,
            "isGlobal": global, "globalLabel": label, "enableGlobalAutoReturn": global && start,
            "extractVars": if extract { json!([["x", "integer", "a number"], ["y", "boolean", ""], ["z", "weird", ""]]) } else { Value::Null },
            "url": url, "smsBody": text, "transferPathway": tp, "transferPathwayNode": tp,
            "responseData": [{"name": "x", "data": "$.x"}, {"name": "bad", "data": "$[?"}],
            "responsePathways": if routes { json!([["x", "==", "1", {"id": "n1"}], ["BlandStatusCode", ">", "299", {"id": "ghost"}], ["Default/Webhook Completion", "", "", {"id": "n2"}]]) } else { Value::Null },
        }})
    }
}

prop_compose! {
    fn edge()(id in "[a-c]", source in id(), target in id(), label in text(), always in any::<bool>(), rule in rule()) -> Value {
        json!({"id": id, "source": source, "target": target, "data": {"label": label, "alwaysPick": always, "parleyCondition": rule}})
    }
}

fn model_reply() -> impl Strategy<Value = ModelReply> {
    prop_oneof![
        ".{0,16}".prop_map(ModelReply::Dialogue),
        prop::option::of(0usize..8).prop_map(ModelReply::Choice),
        any::<bool>().prop_map(ModelReply::ConditionMet),
        (
            prop_oneof![
                Just(json!(3)),
                Just(json!("7")),
                Just(json!("nope")),
                Just(json!(null)),
                Just(json!([1]))
            ],
            any::<bool>()
        )
            .prop_map(|(x, y)| {
                let mut m = Map::new();
                m.insert("x".into(), x);
                m.insert("y".into(), json!(y));
                ModelReply::Extracted(m)
            }),
    ]
}

fn webhook_reply() -> impl Strategy<Value = WebhookResponse> {
    prop_oneof![
        (
            100u16..600,
            prop_oneof![
                Just(json!({"x": 1})),
                Just(json!("text")),
                Just(json!(null))
            ]
        )
            .prop_map(|(status, body)| WebhookResponse::Response { status, body }),
        Just(WebhookResponse::Failed {
            reason: "timeout".into()
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn engine_never_panics_and_terminates(
        nodes in prop::collection::vec(node(), 0..7),
        edges in prop::collection::vec(edge(), 0..10),
        current in prop::option::of(id()),
        return_to in prop::option::of(id()),
        user in prop::option::of(".{0,24}"),
        answers in prop::collection::vec(model_reply(), 0..12),
        hooks in prop::collection::vec(webhook_reply(), 0..4),
    ) {
        let p = Pathway::from_value(json!({"nodes": nodes, "edges": edges}));
        let _ = p.validate();
        let _ = p.model_needs();
        let state = PathwayState { current_node_id: current, return_node_id: return_to, ..PathwayState::default() };
        let mut turn = match &user {
            Some(u) => Turn::new(&p, state, u, ctx()),
            None => Turn::opener(&p, state, ctx()),
        };
        let (mut answers, mut hooks) = (answers.into_iter(), hooks.into_iter());
        // Each poll is a node entry or an answer; the hop limit bounds both.
        for _ in 0..200 {
            match turn.poll() {
                Ok(Poll::Done(out)) => {
                    prop_assert!(out.visited.len() <= parley_domain::pathways::DEFAULT_HOP_LIMIT);
                    let _ = serde_json::to_string(&out.state).unwrap();
                    return Ok(());
                }
                Ok(Poll::NeedModel(req)) => {
                    // Random answers, often of the wrong kind: the turn must refuse those
                    // and keep waiting, so fall back to a well-typed one.
                    let reply = answers.next().unwrap_or(ModelReply::Choice(None));
                    if turn.answer_model(reply).is_err() {
                        let fitting = match req {
                            ModelRequest::Dialogue { .. } => ModelReply::Dialogue("ok".into()),
                            ModelRequest::ChooseRoute { .. } => ModelReply::Choice(Some(0)),
                            ModelRequest::Extract { .. } => ModelReply::Extracted(Map::new()),
                            ModelRequest::CheckCondition { .. } => ModelReply::ConditionMet(true),
                        };
                        turn.answer_model(fitting).unwrap();
                    }
                }
                Ok(Poll::NeedWebhook(_)) => {
                    let r = hooks.next().unwrap_or(WebhookResponse::Failed { reason: "x".into() });
                    turn.answer_webhook(r).unwrap();
                }
                Err(_) => return Ok(()),
            }
        }
        prop_assert!(false, "the turn did not finish in 200 polls");
    }

    #[test]
    fn known_variables_never_leave_braces(
        parts in prop::collection::vec(prop_oneof!["[^{}]{0,6}", Just("{{a}}".to_owned()), Just("{{ b }}".to_owned()), Just("{{lastUserMessage}}".to_owned())], 0..10),
        a in "[^{}]{0,6}",
        b in "[^{}]{0,6}",
    ) {
        let template = parts.concat();
        let p = Pathway::from_value(json!({"nodes": [{"id": "s", "type": "Default", "data": {"isStart": true, "text": template}}], "edges": []}));
        let mut vars = Map::new();
        vars.insert("a".into(), json!(a));
        vars.insert("b".into(), json!(b));
        let out = Turn::opener(&p, PathwayState { variables: vars, ..PathwayState::default() }, ctx())
            .run(crate::support::no_model, crate::support::no_webhook)
            .unwrap();
        for m in &out.messages {
            prop_assert!(!m.text.contains("{{"), "{:?}", m.text);
        }
        prop_assert!(out.warnings.is_empty());
    }
}
