//! `Webhook` nodes: the request the engine asks the server to make, and how the answer
//! becomes variables (`responseData`) and a route (`responsePathways`).
//!
//! The engine never performs the call (nor guards against SSRF: the server's webhook
//! client does). It templates url, headers and body, yields a [`WebhookRequest`], and is
//! resumed with a [`WebhookResponse`].

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use serde_json_path::JsonPath;

use super::{
    condition::{as_text, compare, CompareOp},
    parse::non_blank,
    validate::{Issue, IssueCode},
};

/// Default and bounds for `timeoutValue`, in seconds.
const DEFAULT_TIMEOUT_S: u64 = 10;
const MAX_TIMEOUT_S: u64 = 120;

/// The pseudo-variable a `responsePathways` entry uses to route on the HTTP status.
pub const STATUS_VARIABLE: &str = "BlandStatusCode";
/// The `responsePathways` entry that applies when no other one does.
pub const DEFAULT_ROUTE: &str = "Default/Webhook Completion";

/// A webhook node's configuration, as written (templates not yet filled).
#[derive(Debug, Clone)]
pub struct WebhookSpec {
    pub url: Option<String>,
    pub method: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<BodyTemplate>,
    pub timeout_ms: u64,
    pub response_data: Vec<ResponseMapping>,
    pub routes: Vec<ResponseRoute>,
}

/// A body template: a string (usually JSON text, filled with JSON-escaped values so the
/// result stays valid JSON) or a JSON value (every string in it filled with raw values).
#[derive(Debug, Clone)]
pub enum BodyTemplate {
    Text(String),
    Json(Value),
}

/// `responseData` entry: the first match of `path` in the response body goes to `name`.
#[derive(Debug, Clone)]
pub struct ResponseMapping {
    pub name: String,
    pub path: JsonPath,
}

/// `responsePathways` entry `[var, op, value, {id, name}]`. `target: None` means "carry
/// on along the node's edges".
#[derive(Debug, Clone)]
pub struct ResponseRoute {
    /// `None` for the default route.
    pub test: Option<(String, CompareOp, Value)>,
    pub target: Option<String>,
}

/// What the server is asked to send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookRequest {
    pub node_id: String,
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
    pub timeout_ms: u64,
}

/// What the server got back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum WebhookResponse {
    /// Any HTTP answer, 2xx or not. A body that is not JSON should be passed as a JSON
    /// string.
    Response { status: u16, body: Value },
    /// No HTTP answer: timeout, refused connection, blocked address.
    Failed { reason: String },
}

impl WebhookSpec {
    pub(crate) fn parse(node: &str, data: &Map<String, Value>, issues: &mut Vec<Issue>) -> Self {
        let bad = |issues: &mut Vec<Issue>, field: &str, what: String| {
            issues.push(Issue::node(
                node,
                IssueCode::InvalidWebhookField,
                format!("webhook node {node:?}: `{field}` {what}"),
            ));
        };
        let method = data
            .get("method")
            .and_then(Value::as_str)
            .map(|m| m.trim().to_ascii_uppercase())
            .filter(|m| !m.is_empty())
            .unwrap_or_else(|| "POST".to_owned());
        let headers = match data.get("headers") {
            None | Some(Value::Null) => Vec::new(),
            Some(v) => parse_headers(v).unwrap_or_else(|| {
                bad(
                    issues,
                    "headers",
                    "must be an object or a list of [name, value] pairs".into(),
                );
                Vec::new()
            }),
        };
        let body = match data.get("body") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.trim().is_empty() => None,
            Some(Value::String(s)) => Some(BodyTemplate::Text(s.clone())),
            Some(v) => Some(BodyTemplate::Json(v.clone())),
        };
        let timeout_s = match data.get("timeoutValue") {
            None | Some(Value::Null) => DEFAULT_TIMEOUT_S,
            Some(v) => match v
                .as_f64()
                .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
            {
                Some(s) if s.is_finite() && s > 0.0 => (s.ceil() as u64).min(MAX_TIMEOUT_S),
                _ => {
                    bad(
                        issues,
                        "timeoutValue",
                        "must be a positive number of seconds".into(),
                    );
                    DEFAULT_TIMEOUT_S
                }
            },
        };
        let mut response_data = Vec::new();
        for (i, item) in data
            .get("responseData")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let (Some(name), Some(path)) = (
                item.get("name").and_then(non_blank),
                item.get("data").and_then(Value::as_str),
            ) else {
                bad(
                    issues,
                    "responseData",
                    format!("entry {i} needs `name` and `data`"),
                );
                continue;
            };
            match JsonPath::parse(path.trim()) {
                Ok(path) => response_data.push(ResponseMapping { name, path }),
                Err(e) => issues.push(Issue::node(node, IssueCode::InvalidJsonPath, format!("webhook node {node:?}: responseData {name:?} has bad JSONPath {path:?}: {e}"))),
            }
        }
        let mut routes = Vec::new();
        for (i, item) in data
            .get("responsePathways")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            match parse_route(item) {
                Some(r) => routes.push(r),
                None => issues.push(Issue::node(node, IssueCode::InvalidWebhookField, format!("webhook node {node:?}: responsePathways entry {i} is not [var, op, value, {{id}}]"))),
            }
        }
        Self {
            url: data.get("url").and_then(non_blank),
            method,
            headers,
            body,
            timeout_ms: timeout_s * 1000,
            response_data,
            routes,
        }
    }
}

fn parse_headers(v: &Value) -> Option<Vec<(String, String)>> {
    match v {
        Value::Object(o) => Some(o.iter().map(|(k, v)| (k.clone(), as_text(v))).collect()),
        Value::Array(items) => items
            .iter()
            .map(|item| match item {
                Value::Array(pair) if pair.len() == 2 => {
                    Some((as_text(&pair[0]), as_text(&pair[1])))
                }
                Value::Object(o) => Some((as_text(o.get("key")?), as_text(o.get("value")?))),
                _ => None,
            })
            .collect(),
        _ => None,
    }
}

fn parse_route(item: &Value) -> Option<ResponseRoute> {
    let a = item.as_array()?;
    let var = a.first()?.as_str()?.trim();
    let target = match a.get(3) {
        Some(Value::Object(o)) => o.get("id").and_then(non_blank),
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.clone()),
        _ => None,
    };
    if var == DEFAULT_ROUTE || var.is_empty() {
        return Some(ResponseRoute { test: None, target });
    }
    let op = CompareOp::parse(a.get(1)?.as_str()?)?;
    let value = a.get(2).cloned().unwrap_or(Value::Null);
    Some(ResponseRoute {
        test: Some((var.to_owned(), op, value)),
        target,
    })
}

/// Writes the `responseData` variables from a response. A path with no match leaves the
/// variable as it was; a failed call writes nothing.
pub(crate) fn apply_response_data(
    spec: &WebhookSpec,
    response: &WebhookResponse,
    vars: &mut Map<String, Value>,
) {
    let WebhookResponse::Response { body, .. } = response else {
        return;
    };
    for m in &spec.response_data {
        if let Some(found) = m.path.query(body).first() {
            vars.insert(m.name.clone(), found.clone());
        }
    }
}

/// The node id the first matching route names; `Some(None)` when a matching route (or the
/// default) says to carry on along the edges; `None` when no route applies.
pub(crate) fn route(
    spec: &WebhookSpec,
    response: &WebhookResponse,
    vars: &Map<String, Value>,
) -> Option<Option<String>> {
    let status = match response {
        WebhookResponse::Response { status, .. } => Some(Value::from(*status)),
        WebhookResponse::Failed { .. } => None,
    };
    let lookup = |var: &str| -> Option<Value> {
        if var == STATUS_VARIABLE {
            return status.clone();
        }
        if var.starts_with('$') {
            let WebhookResponse::Response { body, .. } = response else {
                return None;
            };
            return JsonPath::parse(var).ok()?.query(body).first().cloned();
        }
        vars.get(var).cloned()
    };
    let matched = spec.routes.iter().find(|r| match &r.test {
        Some((var, op, value)) => compare(lookup(var).as_ref(), *op, value),
        None => false,
    });
    matched
        .or_else(|| spec.routes.iter().find(|r| r.test.is_none()))
        .map(|r| r.target.clone())
}
