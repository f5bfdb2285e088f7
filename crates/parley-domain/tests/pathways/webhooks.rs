//! Webhook nodes: the request built, variables from `responseData`, routing by
//! `responsePathways`, and failures.

use parley_domain::pathways::{Poll, Signal, Turn, WebhookRequest, WebhookResponse};
use serde_json::json;

use crate::support::*;

fn lookup() -> parley_domain::pathways::Pathway {
    pathway(json!({
        "nodes": [
            {"id": "ask", "type": "Default", "data": {"isStart": true, "text": "Your order number?"}},
            {"id": "hook", "type": "Webhook", "data": {
                "text": "One moment...",
                "url": "https://api.example.com/orders/{{order}}?conv={{call_id}}",
                "method": "post",
                "headers": [["Authorization", "Bearer {{token}}"], ["X-From", "{{from}}"]],
                "body": "{\"order\": \"{{order}}\", \"note\": \"{{note}}\"}",
                "timeoutValue": 3,
                "responseData": [{"name": "status", "data": "$.order.status"}, {"name": "eta", "data": "$.order.eta_days"}],
                "responsePathways": [
                    ["BlandStatusCode", ">=", "500", {"id": "down", "name": "Down"}],
                    ["status", "==", "shipped", {"id": "shipped", "name": "Shipped"}],
                    ["Default/Webhook Completion", "", "", {"id": "other", "name": "Other"}]
                ]}},
            {"id": "shipped", "type": "Default", "data": {"text": "Shipped! Arrives in {{eta}} days."}},
            {"id": "other", "type": "Default", "data": {"text": "Status: {{status}}."}},
            {"id": "down", "type": "Transfer to Human", "data": {"text": "Our system is down; a person will follow up."}}
        ],
        "edges": [{"id": "e", "source": "ask", "target": "hook", "data": {"parleyCondition": {"kind": "regex", "pattern": "^\\d+$"}}}]
    }))
}

fn at_ask() -> parley_domain::pathways::PathwayState {
    let mut s = state();
    s.current_node_id = Some("ask".into());
    s.variables.insert("token".into(), json!("tok_9"));
    s.variables
        .insert("note".into(), json!("leave at \"door\""));
    s
}

fn run_with(resp: WebhookResponse) -> (WebhookRequest, parley_domain::pathways::Outcome) {
    let p = lookup();
    let mut s = at_ask();
    s.variables.insert("order".into(), json!("42"));
    let mut seen = None;
    let out = Turn::new(&p, s, "42", ctx())
        .run(no_model, |req| {
            seen = Some(req.clone());
            resp.clone()
        })
        .unwrap();
    (seen.expect("the webhook was called"), out)
}

#[test]
fn request_is_templated_with_json_safe_body() {
    let (req, _) = run_with(WebhookResponse::Failed {
        reason: "timeout".into(),
    });
    assert_eq!(req.node_id, "hook");
    assert_eq!(req.method, "POST");
    assert_eq!(req.url, "https://api.example.com/orders/42?conv=conv_123");
    assert_eq!(
        req.headers,
        [
            ("Authorization".to_owned(), "Bearer tok_9".to_owned()),
            ("X-From".to_owned(), "+15550001111".to_owned())
        ]
    );
    let body: serde_json::Value = serde_json::from_str(req.body.as_deref().unwrap()).unwrap();
    assert_eq!(body, json!({"order": "42", "note": "leave at \"door\""}));
    assert_eq!(req.timeout_ms, 3_000);
}

#[test]
fn response_data_sets_variables_and_routes() {
    let (_, out) = run_with(WebhookResponse::Response {
        status: 200,
        body: json!({"order": {"status": "shipped", "eta_days": 2}}),
    });
    assert_eq!(
        texts(&out),
        ["One moment...", "Shipped! Arrives in 2 days."]
    );
    assert_eq!(out.state.variables["status"], "shipped");
    assert_eq!(out.state.variables["eta"], 2);
    assert_eq!(out.visited, ["hook", "shipped"]);
    assert_eq!(at(&out), "shipped");
}

#[test]
fn default_route_status_route_and_failure() {
    let (_, out) = run_with(WebhookResponse::Response {
        status: 200,
        body: json!({"order": {"status": "packing"}}),
    });
    assert_eq!(texts(&out)[1], "Status: packing.");

    let (_, out) = run_with(WebhookResponse::Response {
        status: 503,
        body: json!("Service Unavailable"),
    });
    assert_eq!(
        out.signal,
        Signal::Handoff {
            node_id: "down".into(),
            transfer_number: None
        }
    );

    // No HTTP answer: no status to compare, no variables; the default route applies.
    let (_, out) = run_with(WebhookResponse::Failed {
        reason: "connection refused".into(),
    });
    assert_eq!(at(&out), "other");
    assert!(!out.state.variables.contains_key("status"));
}

#[test]
fn without_routes_the_webhook_node_follows_its_single_edge() {
    let p = pathway(json!({
        "nodes": [
            {"id": "hook", "type": "Webhook", "data": {"isStart": true, "url": "https://x.test/h", "body": {"who": "{{call_id}}"},
                "responseData": [{"name": "greeting", "data": "$.greeting"}]}},
            {"id": "say", "type": "Default", "data": {"text": "{{greeting}}"}}
        ],
        "edges": [{"id": "e", "source": "hook", "target": "say", "data": {"label": "after the call"}}]
    }));
    assert!(!p.needs_model(), "{:?}", p.model_needs());
    let mut turn = Turn::opener(&p, state(), ctx());
    let Poll::NeedWebhook(req) = turn.poll().unwrap() else {
        panic!("expected a webhook call")
    };
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(req.body.as_deref().unwrap()).unwrap(),
        json!({"who": "conv_123"})
    );
    assert_eq!((req.method.as_str(), req.timeout_ms), ("POST", 10_000));
    turn.answer_webhook(WebhookResponse::Response {
        status: 200,
        body: json!({"greeting": "Hello from the backend"}),
    })
    .unwrap();
    let Poll::Done(out) = turn.poll().unwrap() else {
        panic!()
    };
    assert_eq!(texts(&out), ["Hello from the backend"]);
}
