//! Pathways of static text and deterministic edges: no model anywhere.

use parley_domain::pathways::{EngineError, Pathway, Signal, Tag, Turn, Warning};
use serde_json::json;

use crate::support::*;

/// A three-branch appointment reminder: confirm / reschedule / STOP.
pub fn reminder() -> Pathway {
    pathway(json!({
        "nodes": [
            {"id": "remind", "type": "Default", "data": {"isStart": true, "name": "Reminder",
                "text": "Hi {{first_name}}, your appointment is {{appt_time}}. Reply C to confirm, R to reschedule, or STOP to opt out."}},
            {"id": "confirmed", "type": "End Call", "data": {"text": "Great, see you {{appt_time}}!", "tag": {"name": "confirmed", "color": "#0f0"}}},
            {"id": "resched", "type": "Transfer to Human", "data": {"text": "No problem, a team member will text you to find a new time.", "tag": "reschedule"}},
            {"id": "stop", "type": "End Call", "data": {"text": "You are unsubscribed.", "tag": "opted_out"}}
        ],
        "edges": [
            {"id": "e_stop", "source": "remind", "target": "stop", "data": {"label": "opt out",
                "parleyCondition": {"kind": "regex", "pattern": "^\\s*(stop|unsubscribe)\\s*$", "case_insensitive": true}}},
            {"id": "e_confirm", "source": "remind", "target": "confirmed", "data": {"label": "confirms",
                "parleyCondition": {"kind": "equals", "values": ["c", "confirm", "yes"]}}},
            {"id": "e_resched", "source": "remind", "target": "resched", "data": {"label": "reschedule",
                "parleyCondition": {"kind": "contains_any", "values": ["r", "reschedule", "another time"]}}}
        ]
    }))
}

fn reminder_state() -> parley_domain::pathways::PathwayState {
    let mut s = state();
    s.variables.insert("first_name".into(), json!("Ana"));
    s.variables.insert("appt_time".into(), json!("Tue 3pm"));
    s
}

#[test]
fn reminder_opener_then_confirm_ends_with_tag() {
    let p = reminder();
    let open = run_static(&p, reminder_state(), None);
    assert_eq!(texts(&open), ["Hi Ana, your appointment is Tue 3pm. Reply C to confirm, R to reschedule, or STOP to opt out."]);
    assert_eq!((at(&open), &open.signal), ("remind", &Signal::Continue));

    let out = run_static(&p, open.state, Some("  YES! "));
    assert_eq!(texts(&out), ["Great, see you Tue 3pm!"]);
    assert_eq!(
        out.signal,
        Signal::End {
            node_id: "confirmed".into()
        }
    );
    assert_eq!(
        out.tags,
        [Tag {
            name: "confirmed".into(),
            color: Some("#0f0".into())
        }]
    );
    assert!(out.state.ended);
    assert_eq!(out.state.previous_node_id.as_deref(), Some("remind"));

    let again = Turn::new(&p, out.state, "hello?", ctx()).run(no_model, no_webhook);
    assert_eq!(again.unwrap_err(), EngineError::ConversationEnded);
}

#[test]
fn reminder_reschedule_hands_off_and_stop_ends() {
    let p = reminder();
    let open = run_static(&p, reminder_state(), None);
    let out = run_static(&p, open.state.clone(), Some("can we do another time?"));
    assert_eq!(
        out.signal,
        Signal::Handoff {
            node_id: "resched".into(),
            transfer_number: None
        }
    );
    assert_eq!(
        texts(&out),
        ["No problem, a team member will text you to find a new time."]
    );
    assert_eq!(out.tags[0].name, "reschedule");

    // "stop" also contains no reschedule words, and the STOP edge comes first anyway.
    let out = run_static(&p, open.state, Some("STOP"));
    assert_eq!(
        out.signal,
        Signal::End {
            node_id: "stop".into()
        }
    );
    assert_eq!(out.visited, ["stop"]);
}

#[test]
fn unmatched_reply_re_sends_the_question_and_stays() {
    let p = reminder();
    let open = run_static(&p, reminder_state(), None);
    let out = run_static(&p, open.state.clone(), Some("what?"));
    assert_eq!(texts(&out), texts(&open));
    assert_eq!(at(&out), "remind");
    assert_eq!(out.signal, Signal::Continue);
    assert!(out.visited.is_empty(), "staying is not a visit");
}

#[test]
fn first_user_message_without_opener_enters_the_start_node() {
    let p = reminder();
    let out = run_static(&p, reminder_state(), Some("c"));
    assert_eq!(at(&out), "remind", "the user had not seen the reminder yet");
    assert_eq!(out.visited, ["remind"]);
}

#[test]
fn variable_conditions_and_fallback_edge_route_without_a_model() {
    let p = pathway(json!({
        "nodes": [
            {"id": "q", "type": "Default", "data": {"isStart": true, "text": "Ready?"}},
            {"id": "vip", "type": "Default", "data": {"text": "Welcome back, VIP."}},
            {"id": "plain", "type": "Default", "data": {"text": "Welcome."}}
        ],
        "edges": [
            {"id": "e_vip", "source": "q", "target": "vip", "data": {"parleyCondition": {"kind": "variable", "var": "visits", "op": ">=", "value": 10}}},
            {"id": "e_else", "source": "q", "target": "plain", "data": {}}
        ]
    }));
    assert!(!p.needs_model());
    let mut s = state();
    s.current_node_id = Some("q".into());
    s.variables.insert("visits".into(), json!("12"));
    assert_eq!(at(&run_static(&p, s.clone(), Some("hi"))), "vip");
    s.variables.insert("visits".into(), json!(3));
    assert_eq!(at(&run_static(&p, s, Some("hi"))), "plain");
}

#[test]
fn builtins_and_unknown_variables_in_text() {
    let p = pathway(json!({
        "nodes": [
            {"id": "a", "type": "Default", "data": {"isStart": true, "text": "First {{first_name}}"}},
            {"id": "b", "type": "Default", "data": {"text":
                "{{now_utc}} {{call_id}} {{from}}->{{to}} said={{lastUserMessage}} prev=[{{prevNodePrompt}}] x={{nickname}}."}}
        ],
        "edges": [{"id": "e", "source": "a", "target": "b", "data": {"alwaysPick": true}}]
    }));
    let mut s = state();
    s.variables.insert("first_name".into(), json!("Ana"));
    s.current_node_id = Some("a".into());
    let out = run_static(&p, s, Some("ok go"));
    assert_eq!(
        texts(&out),
        ["2025-05-13T20:50:59.233Z conv_123 +15550001111->+15552223333 said=ok go prev=[First Ana] x=."]
    );
    assert_eq!(
        out.warnings,
        [Warning::UnknownVariable {
            node_id: "b".into(),
            name: "nickname".into()
        }]
    );
    assert!(!out.messages[0].text.contains("{{"));
}

#[test]
fn start_node_id_and_missing_current_node() {
    let p = reminder();
    let mut s = reminder_state();
    s.current_node_id = Some("stop".into());
    let out = run_static(&p, s.clone(), None);
    assert_eq!(
        (texts(&out), &out.signal),
        (
            vec!["You are unsubscribed."],
            &Signal::End {
                node_id: "stop".into()
            }
        )
    );

    s.current_node_id = Some("deleted_in_v4".into());
    let out = run_static(&p, s, Some("c"));
    assert_eq!(at(&out), "remind");
    assert_eq!(
        out.warnings,
        [Warning::CurrentNodeMissing {
            node_id: "deleted_in_v4".into()
        }]
    );
}

#[test]
fn transfer_pathway_switches_pathway_and_node() {
    let first = pathway(json!({
        "nodes": [
            {"id": "a", "type": "Default", "data": {"isStart": true, "text": "Billing or support?"}},
            {"id": "t", "type": "Transfer Pathway", "data": {"text": "Moving you to billing.",
                "transferPathway": "pw_billing", "version": 7, "transferPathwayNode": "b2"}}
        ],
        "edges": [{"id": "e", "source": "a", "target": "t", "data": {"parleyCondition": {"kind": "contains_any", "values": ["billing"]}}}]
    }));
    let billing = pathway(json!({
        "nodes": [
            {"id": "b1", "type": "Default", "data": {"isStart": true, "text": "Billing start"}},
            {"id": "b2", "type": "Default", "data": {"text": "Which invoice?"}}
        ],
        "edges": []
    }));
    let mut s = state();
    s.current_node_id = Some("a".into());
    let out = run_static(&first, s, Some("billing please"));
    assert_eq!(texts(&out), ["Moving you to billing."]);
    assert_eq!(
        out.signal,
        Signal::TransferPathway {
            node_id: "t".into(),
            pathway_id: "pw_billing".into(),
            version: Some("7".into()),
            target_node_id: Some("b2".into())
        }
    );
    assert_eq!(out.state.pathway_id.as_deref(), Some("pw_billing"));
    assert_eq!(out.state.pathway_version.as_deref(), Some("7"));
    let next = run_static(&billing, out.state, None);
    assert_eq!(texts(&next), ["Which invoice?"]);
}

#[test]
fn sms_nodes_chain_and_a_cycle_hits_the_hop_limit() {
    let chain = pathway(json!({
        "nodes": [
            {"id": "s1", "type": "SMS", "data": {"isStart": true, "smsBody": "one"}},
            {"id": "s2", "type": "SMS", "data": {"smsBody": "two", "phoneNumber": "{{manager}}"}},
            {"id": "q", "type": "Default", "data": {"text": "three"}}
        ],
        "edges": [
            {"id": "e1", "source": "s1", "target": "s2", "data": {"label": "next"}},
            {"id": "e2", "source": "s2", "target": "q", "data": {}}
        ]
    }));
    let mut s = state();
    s.variables.insert("manager".into(), json!("+15559990000"));
    let out = run_static(&chain, s.clone(), None);
    assert_eq!(
        texts(&out),
        ["one", "two", "three"],
        "several messages in one turn, in order"
    );
    assert_eq!(out.messages[1].to.as_deref(), Some("+15559990000"));
    assert_eq!((at(&out), out.visited.len()), ("q", 3));
    let limited = Turn::opener(&chain, s, ctx())
        .with_hop_limit(2)
        .run(no_model, no_webhook);
    assert_eq!(
        limited.unwrap_err(),
        EngineError::HopLimit {
            limit: 2,
            node_id: "q".into()
        }
    );

    let cycle = pathway(json!({
        "nodes": [
            {"id": "a", "type": "SMS", "data": {"isStart": true, "smsBody": "ping"}},
            {"id": "b", "type": "SMS", "data": {"smsBody": "pong"}}
        ],
        "edges": [
            {"id": "ab", "source": "a", "target": "b", "data": {"alwaysPick": true}},
            {"id": "ba", "source": "b", "target": "a", "data": {"alwaysPick": true}}
        ]
    }));
    let err = Turn::opener(&cycle, state(), ctx())
        .run(no_model, no_webhook)
        .unwrap_err();
    assert!(
        matches!(err, EngineError::HopLimit { limit: 16, .. }),
        "{err:?}"
    );
}

#[test]
fn state_round_trips_through_json() {
    let p = reminder();
    let out = run_static(&p, reminder_state(), None);
    let stored = serde_json::to_string(&out.state).unwrap();
    let back: parley_domain::pathways::PathwayState = serde_json::from_str(&stored).unwrap();
    assert_eq!(back, out.state);
    let old_row: parley_domain::pathways::PathwayState =
        serde_json::from_str(r#"{"current_node_id":"remind"}"#).unwrap();
    assert_eq!(old_row.current_node_id.as_deref(), Some("remind"));
}
