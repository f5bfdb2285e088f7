//! Lenient reading of node and edge JSON into the typed views of `model.rs`.
//!
//! Customers' pathways come from Bland's editor, other tools and hand edits, so fields
//! arrive as strings or numbers, arrays or objects. Anything readable is read; anything
//! else becomes an [`Issue`] for save-time validation instead of a parse failure.

use serde_json::{Map, Value};

use super::{
    condition::EdgeRule,
    model::{
        Edge, GlobalSettings, Node, NodeType, SmsSpec, Tag, TransferPathwaySpec, VarSpec, VarType,
    },
    validate::{Issue, IssueCode},
    webhook::WebhookSpec,
};

impl Node {
    pub(super) fn parse(raw: &Value, position: usize, issues: &mut Vec<Issue>) -> Self {
        let id = match raw.get("id") {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => {
                issues.push(Issue::pathway(
                    IssueCode::MissingNodeId,
                    format!("node #{position} has no id"),
                ));
                format!("#{position}")
            }
        };
        let node_type = match raw.get("type").and_then(Value::as_str) {
            Some(t) => NodeType::parse(t),
            None => NodeType::Other(String::new()),
        };
        let empty = Map::new();
        let data = raw.get("data").and_then(Value::as_object).unwrap_or(&empty);
        let d = |k: &str| data.get(k).and_then(non_blank);
        let flag = |k: &str| data.get(k).and_then(Value::as_bool);
        let global = (flag("isGlobal") == Some(true)).then(|| GlobalSettings {
            label: d("globalLabel"),
            description: d("globalDescription"),
            // Bland returns to the previous node "unless forwarding is enabled", so
            // returning is the default; `false` forwards along the node's own edges.
            auto_return: flag("enableGlobalAutoReturn").unwrap_or(true),
        });
        let webhook =
            (node_type == NodeType::Webhook).then(|| WebhookSpec::parse(&id, data, issues));
        let sms = (node_type == NodeType::Sms).then(|| SmsSpec {
            body: d("smsBody"),
            phone_number: d("phoneNumber"),
        });
        let transfer_pathway =
            (node_type == NodeType::TransferPathway).then(|| TransferPathwaySpec {
                pathway_id: d("transferPathway"),
                version: d("version"),
                node_id: d("transferPathwayNode"),
            });
        Self {
            name: d("name"),
            is_start: flag("isStart") == Some(true),
            text: d("text"),
            prompt: d("prompt"),
            condition: d("condition"),
            global,
            extract_vars: parse_extract_vars(&id, data.get("extractVars"), issues),
            webhook,
            sms,
            transfer_pathway,
            transfer_number: d("transferNumber"),
            kb: d("kb"),
            tag: parse_tag(data.get("tag")),
            node_prompt_addendum: d("globalPrompt"),
            node_type,
            id,
        }
    }
}

impl Edge {
    pub(super) fn parse(raw: &Value, position: usize, issues: &mut Vec<Issue>) -> Self {
        let id = raw
            .get("id")
            .and_then(non_blank)
            .unwrap_or_else(|| format!("#{position}"));
        let empty = Map::new();
        let data = raw.get("data").and_then(Value::as_object).unwrap_or(&empty);
        // The update API also accepts `label`/`description` at the top level of the edge.
        let pick = |k: &str| data.get(k).or_else(|| raw.get(k)).and_then(non_blank);
        let rule = data
            .get(EdgeRule::KEY)
            .filter(|v| !v.is_null())
            .and_then(|v| match EdgeRule::parse(v) {
                Ok(rule) => Some(rule),
                Err(problem) => {
                    issues.push(Issue::edge(&id, problem.code(), problem.to_string()));
                    None
                }
            });
        Self {
            source: raw.get("source").and_then(non_blank).unwrap_or_default(),
            target: raw.get("target").and_then(non_blank).unwrap_or_default(),
            label: pick("label"),
            description: pick("description"),
            always_pick: data.get("alwaysPick").and_then(Value::as_bool) == Some(true),
            rule,
            id,
        }
    }
}

/// A non-blank string, or a number written as one (ids and versions arrive both ways).
pub(crate) fn non_blank(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

pub(super) fn text_at(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(non_blank)
}

fn parse_tag(v: Option<&Value>) -> Option<Tag> {
    match v? {
        Value::String(s) if !s.trim().is_empty() => Some(Tag {
            name: s.clone(),
            color: None,
        }),
        Value::Object(o) => Some(Tag {
            name: o.get("name").and_then(non_blank)?,
            color: o.get("color").and_then(non_blank),
        }),
        _ => None,
    }
}

fn parse_extract_vars(node: &str, v: Option<&Value>, issues: &mut Vec<Issue>) -> Vec<VarSpec> {
    let items = match v {
        None | Some(Value::Null) => return Vec::new(),
        Some(Value::Array(items)) => items,
        Some(_) => {
            issues.push(Issue::node(
                node,
                IssueCode::InvalidExtractVars,
                "`extractVars` must be an array",
            ));
            return Vec::new();
        }
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        // `[name, type, description, ...extra]`, or the object form some tools write.
        let (name, ty, desc) = match item {
            Value::Array(a) => (a.first(), a.get(1), a.get(2)),
            Value::Object(o) => (o.get("name"), o.get("type"), o.get("description")),
            _ => (None, None, None),
        };
        let Some(name) = name.and_then(non_blank) else {
            issues.push(Issue::node(
                node,
                IssueCode::InvalidExtractVars,
                format!("extractVars[{i}] on node {node:?} has no variable name"),
            ));
            continue;
        };
        let var_type = match ty.and_then(Value::as_str) {
            Some("string") => VarType::String,
            Some("integer") => VarType::Integer,
            Some("boolean") => VarType::Boolean,
            other => {
                issues.push(Issue::node(
                    node,
                    IssueCode::InvalidExtractVarType,
                    format!(
                        "variable {name:?} on node {node:?} has type {:?}; expected string, integer or boolean",
                        other.unwrap_or("")
                    ),
                ));
                continue;
            }
        };
        let description = desc.and_then(Value::as_str).unwrap_or_default().to_owned();
        out.push(VarSpec {
            name,
            var_type,
            description,
        });
    }
    out
}
