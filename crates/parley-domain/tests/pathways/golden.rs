//! The JSON shapes of spec 8.3/8.4: round trip, typed views, validation, model needs.

use parley_domain::pathways::{IssueCode, ModelNeedReason, NodeType, Pathway, VarType};
use serde_json::{json, Value};

/// Shaped like Bland's `pathway_json_example.json`: React Flow layout keys, a
/// `globalConfig` element in `nodes`, prompt and text nodes, extraction, a global node,
/// a webhook, tags, and keys Parley does not know.
fn bland_example() -> Value {
    json!({
        "name": "Inbound support",
        "description": "example",
        "nodes": [
            {"id": "1", "type": "Default", "position": {"x": 0, "y": 0}, "width": 320, "height": 120,
             "data": {"name": "Start", "isStart": true, "text": "Hi {{first_name}}, this is Acme. How can I help?",
                      "modelOptions": {"temperature": 0.2, "interruptionThreshold": 100},
                      "dialogueExamples": [], "someFutureKey": {"nested": [1, 2, 3]}}},
            {"id": "2", "type": "Default", "position": {"x": 0, "y": 200},
             "data": {"name": "Collect order", "prompt": "Ask for the order number.",
                      "extractVars": [["order_number", "integer", "The order number", false]],
                      "condition": "The user gave an order number", "tag": {"name": "order", "color": "#ff0000"}}},
            {"id": "3", "type": "Webhook", "position": {"x": 0, "y": 400},
             "data": {"name": "Lookup", "url": "https://api.example.com/orders/{{order_number}}", "method": "GET",
                      "timeoutValue": 5, "responseData": [{"name": "status", "data": "$.status", "context": "order status"}],
                      "responsePathways": [["status", "==", "shipped", {"id": "4", "name": "Shipped"}],
                                           ["Default/Webhook Completion", "", "", {"id": "5", "name": "End"}]]}},
            {"id": "4", "type": "Knowledge Base", "position": {"x": 0, "y": 600},
             "data": {"name": "Shipping FAQ", "prompt": "Answer shipping questions.", "kb": "Ships in 2 days."}},
            {"id": "5", "type": "End Call", "position": {"x": 300, "y": 600}, "data": {"name": "Bye", "text": "Goodbye!"}},
            {"id": "6", "type": "Default", "position": {"x": 600, "y": 0},
             "data": {"name": "Hours", "isGlobal": true, "globalLabel": "user asks about opening hours",
                      "enableGlobalAutoReturn": true, "text": "We are open 9 to 5."}},
            {"globalConfig": {"globalPrompt": "You are Acme's friendly assistant."}}
        ],
        "edges": [
            {"id": "e1", "source": "1", "target": "2", "type": "custom", "data": {"label": "user has an order question", "isHighlighted": false}},
            {"id": "e2", "source": "2", "target": "3", "type": "custom", "data": {"label": "order number collected", "alwaysPick": true}},
            {"id": "e3", "source": "4", "target": "5", "type": "custom", "data": {"label": "user is done", "description": "no more questions"}}
        ]
    })
}

#[test]
fn example_round_trips_byte_for_byte_and_reads_typed() {
    let raw = bland_example();
    let p: Pathway = serde_json::from_value(raw.clone()).unwrap();
    assert_eq!(
        serde_json::to_value(&p).unwrap(),
        raw,
        "unknown keys must survive"
    );
    assert!(p.validate().is_empty(), "{:#?}", p.validate());

    assert_eq!(
        p.global_prompt(),
        Some("You are Acme's friendly assistant.")
    );
    assert_eq!(p.nodes().len(), 6, "the globalConfig element is not a node");
    assert_eq!(p.start_node().unwrap().id, "1");
    let collect = p.node("2").unwrap();
    assert_eq!(collect.extract_vars[0].name, "order_number");
    assert_eq!(collect.extract_vars[0].var_type, VarType::Integer);
    assert_eq!(
        collect.tag.as_ref().unwrap().color.as_deref(),
        Some("#ff0000")
    );
    let hook = p.node("3").unwrap().webhook.as_ref().unwrap();
    assert_eq!((hook.method.as_str(), hook.timeout_ms), ("GET", 5_000));
    assert_eq!(hook.routes.len(), 2);
    assert_eq!(p.node("4").unwrap().node_type, NodeType::KnowledgeBase);
    assert!(p.node("6").unwrap().global.as_ref().unwrap().auto_return);
    assert!(p.edges()[1].always_pick);
    assert_eq!(
        p.edges()[2].description.as_deref(),
        Some("no more questions")
    );
}

#[test]
fn validation_reports_every_problem_with_codes_and_ids() {
    let p = Pathway::from_value(json!({
        "nodes": [
            {"id": "a", "type": "Default", "data": {"isStart": true, "text": "hi",
                "extractVars": [["age", "float", "age"], ["", "string", "no name"]]}},
            {"id": "a", "type": "Default", "data": {"isStart": true}},
            {"id": "w", "type": "Webhook", "data": {"responseData": [{"name": "x", "data": "$[?"}],
                "responsePathways": [["x", "==", "1", {"id": "ghost"}], ["x", "~~", "1", {"id": "a"}]]}},
            {"id": "c", "type": "Custom Code", "data": {}},
            {"id": "g", "type": "Default", "data": {"isGlobal": true}},
            {"id": "t", "type": "Transfer Pathway", "data": {}},
            {"type": "Default", "data": {}}
        ],
        "edges": [
            {"id": "e1", "source": "a", "target": "nowhere", "data": {"label": "x"}},
            {"id": "e1", "source": "void", "target": "a", "data": {}},
            {"id": "e3", "source": "a", "target": "w", "data": {"parleyCondition": {"kind": "regex", "pattern": "(unclosed"}}},
            {"id": "e4", "source": "a", "target": "w", "data": {"parleyCondition": {"kind": "equalz", "values": ["x"]}}}
        ]
    }));
    let issues = p.validate();
    let has = |code: IssueCode, node: Option<&str>, edge: Option<&str>| {
        issues
            .iter()
            .any(|i| i.code == code && i.node_id.as_deref() == node && i.edge_id.as_deref() == edge)
    };
    assert!(has(IssueCode::MultipleStartNodes, None, None));
    assert!(has(IssueCode::DuplicateNodeId, Some("a"), None));
    assert!(has(IssueCode::InvalidExtractVarType, Some("a"), None));
    assert!(has(IssueCode::InvalidExtractVars, Some("a"), None));
    assert!(has(IssueCode::WebhookUrlMissing, Some("w"), None));
    assert!(has(IssueCode::InvalidJsonPath, Some("w"), None));
    assert!(has(
        IssueCode::ResponsePathwayTargetNotFound,
        Some("w"),
        None
    ));
    assert!(has(IssueCode::InvalidWebhookField, Some("w"), None));
    assert!(has(IssueCode::UnknownNodeType, Some("c"), None));
    assert!(has(IssueCode::GlobalNodeWithoutLabel, Some("g"), None));
    assert!(has(IssueCode::TransferPathwayMissing, Some("t"), None));
    assert!(has(IssueCode::MissingNodeId, None, None));
    assert!(has(IssueCode::EdgeTargetNotFound, None, Some("e1")));
    assert!(has(IssueCode::DuplicateEdgeId, None, Some("e1")));
    assert!(has(IssueCode::EdgeSourceNotFound, None, Some("e1")));
    assert!(has(IssueCode::InvalidRegex, None, Some("e3")));
    assert!(has(IssueCode::InvalidCondition, None, Some("e4")));
    // Messages name what is wrong, and codes serialize as the stable strings.
    let dangling = issues
        .iter()
        .find(|i| i.code == IssueCode::EdgeTargetNotFound)
        .unwrap();
    assert!(dangling.message.contains("nowhere"), "{}", dangling.message);
    assert_eq!(
        serde_json::to_value(dangling).unwrap()["code"],
        "EDGE_TARGET_NOT_FOUND"
    );

    let empty = Pathway::from_value(json!({"nodes": [], "edges": []}));
    assert_eq!(
        empty.validate().iter().map(|i| i.code).collect::<Vec<_>>(),
        vec![IssueCode::NoStartNode]
    );
    let not_arrays = Pathway::from_value(json!({"nodes": {}, "edges": 3}));
    assert_eq!(
        not_arrays
            .validate()
            .iter()
            .filter(|i| i.code == IssueCode::InvalidShape)
            .count(),
        2
    );
}

#[test]
fn model_needs_name_each_place_and_static_pathways_need_none() {
    let p = Pathway::from_value(bland_example());
    let needs = p.model_needs();
    let has = |r: ModelNeedReason, node: &str, edge: Option<&str>| {
        needs
            .iter()
            .any(|n| n.reason == r && n.node_id == node && n.edge_id.as_deref() == edge)
    };
    assert!(has(ModelNeedReason::PromptNode, "2", None));
    assert!(has(ModelNeedReason::ExtractVars, "2", None));
    assert!(has(ModelNeedReason::NodeCondition, "2", None));
    assert!(has(ModelNeedReason::LabelEdge, "1", Some("e1")));
    assert!(has(ModelNeedReason::GlobalNode, "6", None));
    assert!(
        !has(ModelNeedReason::LabelEdge, "2", Some("e2")),
        "alwaysPick needs no choice"
    );
    assert!(
        !has(ModelNeedReason::PromptNode, "1", None),
        "static text is not a prompt"
    );

    let stat = crate::static_flows::reminder();
    assert!(!stat.needs_model(), "{:?}", stat.model_needs());
}
