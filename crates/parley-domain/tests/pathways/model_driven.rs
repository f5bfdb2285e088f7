//! Pathways that need the model, driven by scripted answers.

use parley_domain::pathways::{ModelReply, ModelRequest, Role, Signal, Turn, Warning};
use serde_json::{json, Map, Value};

use crate::support::*;

fn support_desk() -> parley_domain::pathways::Pathway {
    pathway(json!({
        "nodes": [
            {"id": "greet", "type": "Default", "data": {"isStart": true, "prompt": "Greet {{first_name}} and ask how to help.", "globalPrompt": "Mention the ticket number."}},
            {"id": "billing", "type": "Default", "data": {"prompt": "Help with billing."}},
            {"id": "tech", "type": "Default", "data": {"text": "Tech support here: describe the issue."}},
            {"globalConfig": {"globalPrompt": "Be brief."}}
        ],
        "edges": [
            {"id": "e_bill", "source": "greet", "target": "billing", "data": {"label": "billing question", "description": "invoices, refunds"}},
            {"id": "e_tech", "source": "greet", "target": "tech", "data": {"label": "technical issue"}}
        ]
    }))
}

fn greeted_state() -> parley_domain::pathways::PathwayState {
    let mut s = state();
    s.variables.insert("first_name".into(), json!("Ana"));
    s
}

#[test]
fn prompt_node_asks_for_dialogue_with_prompts_and_variables() {
    let p = support_desk();
    let mut model = ScriptedModel::new([ModelReply::Dialogue("Hello Ana! How can I help?".into())]);
    let out = model.run(Turn::opener(&p, greeted_state(), ctx()));
    assert_eq!(texts(&out), ["Hello Ana! How can I help?"]);
    let ModelRequest::Dialogue {
        node_id,
        prompt,
        global_prompt,
        variables,
        history,
        unmet_condition,
        ..
    } = &model.asked[0]
    else {
        panic!("expected a dialogue request, got {:?}", model.asked[0]);
    };
    assert_eq!(node_id, "greet");
    assert_eq!(prompt, "Greet Ana and ask how to help.");
    assert_eq!(
        global_prompt.as_deref(),
        Some("Be brief.\n\nMention the ticket number.")
    );
    assert_eq!(variables["first_name"], "Ana");
    assert!(history.is_empty() && unmet_condition.is_none());
}

#[test]
fn label_routing_picks_the_chosen_edge() {
    let p = support_desk();
    let mut s = greeted_state();
    s.current_node_id = Some("greet".into());
    let mut model = ScriptedModel::new([ModelReply::Choice(Some(1))]);
    let out = model.run(Turn::new(&p, s, "my router is broken", ctx()));
    assert_eq!(texts(&out), ["Tech support here: describe the issue."]);
    assert_eq!(at(&out), "tech");
    let ModelRequest::ChooseRoute {
        options, history, ..
    } = &model.asked[0]
    else {
        panic!()
    };
    let labels: Vec<_> = options
        .iter()
        .map(|o| (o.label.as_str(), o.edge_id.as_deref()))
        .collect();
    assert_eq!(
        labels,
        [
            ("billing question", Some("e_bill")),
            ("technical issue", Some("e_tech"))
        ]
    );
    assert_eq!(options[0].description.as_deref(), Some("invoices, refunds"));
    assert_eq!(
        (history[0].role, history[0].text.as_str()),
        (Role::User, "my router is broken")
    );
}

#[test]
fn no_choice_or_a_bad_index_stays_and_re_prompts() {
    let p = support_desk();
    let mut s = greeted_state();
    s.current_node_id = Some("greet".into());
    let mut model = ScriptedModel::new([
        ModelReply::Choice(None),
        ModelReply::Dialogue("Could you say more?".into()),
    ]);
    let out = model.run(Turn::new(&p, s.clone(), "hmm", ctx()));
    assert_eq!(
        (texts(&out), at(&out)),
        (vec!["Could you say more?"], "greet")
    );

    let mut model = ScriptedModel::new([
        ModelReply::Choice(Some(9)),
        ModelReply::Dialogue("Sorry?".into()),
    ]);
    let out = model.run(Turn::new(&p, s, "hmm", ctx()));
    assert_eq!(at(&out), "greet");
    assert_eq!(
        out.warnings,
        [Warning::ChoiceOutOfRange {
            node_id: "greet".into(),
            index: 9
        }]
    );
}

#[test]
fn extraction_keeps_values_that_fit_and_drops_the_rest() {
    let p = pathway(json!({
        "nodes": [
            {"id": "ask", "type": "Default", "data": {"isStart": true, "text": "Name, age and membership?",
                "extractVars": [["name", "string", "first name"], ["age", "integer", "age in years"], ["member", "boolean", "is a member"]]}},
            {"id": "adult", "type": "Default", "data": {"text": "Thanks {{name}}."}}
        ],
        "edges": [{"id": "e", "source": "ask", "target": "adult", "data": {"parleyCondition": {"kind": "variable", "var": "member", "op": "==", "value": true}}}]
    }));
    let mut s = state();
    s.current_node_id = Some("ask".into());
    s.variables.insert("age".into(), json!(30));
    let found: Map<String, Value> = serde_json::from_value(
        json!({"name": "Ana", "age": "forty", "member": "true", "injected": "x"}),
    )
    .unwrap();
    let mut model = ScriptedModel::new([ModelReply::Extracted(found)]);
    let out = model.run(Turn::new(&p, s, "Ana, forty, yes I'm a member", ctx()));
    assert_eq!(texts(&out), ["Thanks Ana."]);
    assert_eq!(out.state.variables["member"], json!(true));
    assert_eq!(
        out.state.variables["age"],
        json!(30),
        "a bad value does not overwrite"
    );
    assert!(
        !out.state.variables.contains_key("injected"),
        "undeclared names are ignored"
    );
    assert_eq!(
        out.warnings,
        [Warning::ExtractedValueDropped {
            node_id: "ask".into(),
            name: "age".into(),
            value: json!("forty")
        }]
    );
    let ModelRequest::Extract { vars, .. } = &model.asked[0] else {
        panic!()
    };
    assert_eq!(
        vars.iter().map(|v| v.name.as_str()).collect::<Vec<_>>(),
        ["name", "age", "member"]
    );
}

#[test]
fn node_condition_loops_until_met() {
    let p = pathway(json!({
        "nodes": [
            {"id": "date", "type": "Default", "data": {"isStart": true, "prompt": "Ask for a date.", "condition": "The user gave a date"}},
            {"id": "ok", "type": "End Call", "data": {"text": "Booked."}}
        ],
        "edges": [{"id": "e", "source": "date", "target": "ok", "data": {"alwaysPick": true}}]
    }));
    let mut s = state();
    s.current_node_id = Some("date".into());
    let mut model = ScriptedModel::new([
        ModelReply::ConditionMet(false),
        ModelReply::Dialogue("Which day suits you?".into()),
    ]);
    let out = model.run(Turn::new(&p, s, "whenever", ctx()));
    assert_eq!(
        (texts(&out), at(&out), &out.signal),
        (vec!["Which day suits you?"], "date", &Signal::Continue)
    );
    let ModelRequest::Dialogue {
        unmet_condition, ..
    } = &model.asked[1]
    else {
        panic!()
    };
    assert_eq!(unmet_condition.as_deref(), Some("The user gave a date"));

    let mut model = ScriptedModel::new([ModelReply::ConditionMet(true)]);
    let out = model.run(Turn::new(&p, out.state, "friday", ctx()));
    assert_eq!(
        (texts(&out), &out.signal),
        (
            vec!["Booked."],
            &Signal::End {
                node_id: "ok".into()
            }
        )
    );
}

fn with_global() -> parley_domain::pathways::Pathway {
    pathway(json!({
        "nodes": [
            {"id": "q", "type": "Default", "data": {"isStart": true, "text": "Reply YES to confirm."}},
            {"id": "done", "type": "End Call", "data": {"text": "Confirmed."}},
            {"id": "hours", "type": "Default", "data": {"isGlobal": true, "globalLabel": "asks about opening hours",
                "enableGlobalAutoReturn": true, "text": "We're open 9-5.", "tag": "faq"}}
        ],
        "edges": [{"id": "e", "source": "q", "target": "done", "data": {"parleyCondition": {"kind": "contains_any", "values": ["yes"]}}}]
    }))
}

#[test]
fn global_node_answers_then_returns_to_where_it_was() {
    let p = with_global();
    let mut s = state();
    s.current_node_id = Some("q".into());
    let mut model = ScriptedModel::new([ModelReply::Choice(Some(0))]);
    let out = model.run(Turn::new(&p, s, "what are your hours?", ctx()));
    let ModelRequest::ChooseRoute { options, .. } = &model.asked[0] else {
        panic!()
    };
    assert_eq!(
        (
            options[0].target_node_id.as_str(),
            options[0].edge_id.as_ref()
        ),
        ("hours", None)
    );
    assert_eq!(texts(&out), ["We're open 9-5."]);
    assert_eq!(
        (at(&out), out.state.return_node_id.as_deref()),
        ("hours", Some("q"))
    );
    assert_eq!(out.tags[0].name, "faq");

    // The next message is read at the node the user came from: no model needed here.
    let out2 = run_static(&p, out.state.clone(), Some("ok, yes"));
    assert_eq!(
        (texts(&out2), &out2.signal),
        (
            vec!["Confirmed."],
            &Signal::End {
                node_id: "done".into()
            }
        )
    );

    // Nothing matches there: the original question comes back.
    let mut model = ScriptedModel::new([ModelReply::Choice(None)]);
    let out3 = model.run(Turn::new(&p, out.state, "thanks", ctx()));
    assert_eq!(
        (texts(&out3), at(&out3)),
        (vec!["Reply YES to confirm."], "q")
    );
    assert_eq!(out3.state.return_node_id, None);
}

#[test]
fn mismatched_answers_are_refused_without_losing_the_request() {
    let p = support_desk();
    let mut turn = Turn::opener(&p, greeted_state(), ctx());
    let first = turn.poll().unwrap();
    assert!(matches!(
        first,
        parley_domain::pathways::Poll::NeedModel(ModelRequest::Dialogue { .. })
    ));
    assert!(
        turn.poll().is_err(),
        "polling again before answering is refused"
    );
    assert!(turn.answer_model(ModelReply::Choice(Some(0))).is_err());
    assert!(turn
        .answer_webhook(parley_domain::pathways::WebhookResponse::Failed { reason: "x".into() })
        .is_err());
    turn.answer_model(ModelReply::Dialogue("Hi".into()))
        .unwrap();
    let parley_domain::pathways::Poll::Done(out) = turn.poll().unwrap() else {
        panic!()
    };
    assert_eq!(texts(&out), ["Hi"]);
    assert!(turn.poll().is_err(), "a finished turn stays finished");
}
