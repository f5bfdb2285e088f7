//! The router and `/openapi.json` describe the same routes.
//!
//! axum cannot list a router's routes, so the check is by probing: every operation of the
//! document is asked for (without an API key, so nothing is changed) and must reach a
//! handler, not the fallback (`404 NOT_FOUND`) nor the wrong-method answer (`405`); every
//! other method on a documented path must get `405`. Routes registered through
//! `utoipa_axum::routes!` are in both by construction; the probe catches one added to the
//! plain router beside them. `ROUTES` below is the list both are compared with, so that a
//! route dropped from both (or added to both) is noticed too: update it with the route.

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::json;

use crate::helpers::{Backend, TestApp};

crate::backend_tests!(router_and_document_list_the_same_routes);

/// Every route: the methods it serves, then its path as the document spells it.
const ROUTES: &[&str] = &[
    "GET /healthz",
    "GET /metrics",
    "GET /readyz",
    "POST /v1/carriers/twilio/inbound",
    "POST /v1/carriers/twilio/status",
    "GET POST DELETE PATCH /v1/citation_schemas",
    "GET POST DELETE PATCH /v1/citation_schemas/",
    "POST /v1/citation_schemas/backfill",
    "GET /v1/citation_schemas/list",
    "GET POST /v1/dispositions",
    "GET DELETE PATCH /v1/dispositions/{disposition_id}",
    "POST /v1/dispositions/{disposition_id}/test",
    "GET /v1/dispositions/{disposition_id}/versions",
    "POST /v1/files/attach",
    "GET /v1/pathway",
    "POST /v1/pathway/chat/create",
    "POST /v1/pathway/chat/{id}",
    "POST /v1/pathway/create",
    "GET POST DELETE /v1/pathway/{pathway_id}",
    "POST /v1/pathway/{pathway_id}/publish",
    "POST /v1/pathway/{pathway_id}/version",
    "GET POST DELETE /v1/pathway/{pathway_id}/version/{version_id}",
    "GET /v1/pathway/{pathway_id}/versions",
    "GET POST /v1/personas",
    "GET DELETE PATCH /v1/personas/{persona_id}",
    "POST /v1/personas/{persona_id}/inbound/attach",
    "POST /v1/personas/{persona_id}/inbound/detach",
    "PATCH /v1/personas/{persona_id}/inbound/{phone_number}/settings",
    "GET /v1/personas/{persona_id}/versions",
    "POST /v1/personas/{persona_id}/versions/promote",
    "GET /v1/personas/{persona_id}/versions/{version_id}",
    "POST /v1/sandbox/inbound",
    "GET /v1/sandbox/messages",
    "POST /v1/sms/analyze",
    "POST /v1/sms/batch",
    "GET /v1/sms/batch/{batch_id}",
    "POST /v1/sms/batch/{batch_id}/cancel",
    "GET /v1/sms/batch/{batch_id}/errors",
    "GET /v1/sms/batches",
    "POST /v1/sms/clear",
    "GET PATCH /v1/sms/conversations",
    "POST /v1/sms/conversations/webhooks/resend",
    "GET DELETE PATCH /v1/sms/conversations/{id}",
    "POST /v1/sms/conversations/{id}/handoff",
    "POST DELETE /v1/sms/conversations/{id}/messages",
    "POST /v1/sms/conversations/{id}/resume",
    "GET /v1/sms/conversations/{id}/webhook",
    "POST /v1/sms/create",
    "POST /v1/sms/messages/get",
    "POST /v1/sms/number/update",
    "GET /v1/sms/numbers",
    "POST /v1/sms/send",
    "POST /v1/sms/toggle",
    "POST /v1/sms/update",
    "POST /v1/sms/webhook/update",
    "GET POST /v1/webhook_secrets",
];

const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

fn listed() -> BTreeSet<(String, String)> {
    ROUTES
        .iter()
        .flat_map(|line| {
            let (methods, path) = line.rsplit_once(' ').unwrap();
            methods
                .split(' ')
                .map(move |m| (m.to_owned(), path.to_owned()))
        })
        .collect()
}

async fn router_and_document_list_the_same_routes(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (s, doc) = app.get("/openapi.json", "").await;
    assert_eq!(s, 200);
    let mut documented = BTreeSet::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for method in ops.as_object().unwrap().keys() {
            documented.insert((method.to_uppercase(), path.clone()));
        }
    }
    let listed = listed();
    let only_doc: Vec<_> = documented.difference(&listed).collect();
    let only_list: Vec<_> = listed.difference(&documented).collect();
    assert!(
        only_doc.is_empty() && only_list.is_empty(),
        "documented but not in ROUTES: {only_doc:?}; in ROUTES but not documented: {only_list:?}"
    );
    assert_eq!(documented.len(), 77, "operations in the document");

    let paths: BTreeSet<&String> = documented.iter().map(|(_, p)| p).collect();
    for path in paths {
        // Path parameters get a value no handler knows; the handler answers 401, 404 with
        // its own code, or 400, never the router's fallback.
        let concrete = path
            .split('/')
            .map(|seg| if seg.starts_with('{') { "x0" } else { seg })
            .collect::<Vec<_>>()
            .join("/");
        for method in METHODS {
            let m = Method::from_bytes(method.as_bytes()).unwrap();
            let (status, body) = app.call(m, &concrete, "", Some(&json!({}))).await;
            let code = body["errors"][0]["error"].as_str().unwrap_or("");
            if documented.contains(&(method.to_owned(), path.clone())) {
                assert!(
                    status != 405 && code != "NOT_FOUND",
                    "{method} {path} is documented but not served: {status} {body}"
                );
            } else {
                assert_eq!(
                    (status, code),
                    (405, "METHOD_NOT_ALLOWED"),
                    "{method} {path} is served but not documented: {body}"
                );
            }
        }
    }
}
