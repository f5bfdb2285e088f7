//! Bland's pathway JSON (spec 8.3, 8.4), read leniently into typed views.
//!
//! The customer's JSON is the source of truth: a [`Pathway`] keeps it verbatim and
//! serializes exactly that back, so keys Parley does not know (React Flow layout,
//! `modelOptions`, examples, future Bland fields) round-trip unchanged. The typed
//! [`Node`]s and [`Edge`]s are views computed once at parse time. Parsing never fails on
//! a JSON object: every shape problem becomes an [`Issue`] that [`Pathway::validate`]
//! reports alongside the graph checks, so a customer sees all problems at once.

use std::collections::HashMap;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use super::{
    condition::EdgeRule,
    validate::{Issue, IssueCode},
    webhook::WebhookSpec,
};

/// A pathway version's graph: `{nodes: [...], edges: [...], ...}`.
#[derive(Debug, Clone)]
pub struct Pathway {
    raw: Value,
    nodes: Vec<Node>,
    edges: Vec<Edge>,
    global_prompt: Option<String>,
    /// Node id -> index of its first occurrence (duplicates are a validation error).
    index: HashMap<String, usize>,
    /// Per node, the indices of its outgoing edges whose target exists, in edge order.
    outgoing: Vec<Vec<usize>>,
    pub(crate) parse_issues: Vec<Issue>,
}

/// The node types Parley knows. `Transfer Call` and `Press Button` are voice-only; see
/// `docs/PATHWAYS.md` for what they do in a text conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeType {
    Default,
    EndCall,
    Webhook,
    TransferPathway,
    TransferToHuman,
    Sms,
    WaitForResponse,
    KnowledgeBase,
    TransferCall,
    PressButton,
    /// Any other `type` string; refused on save, run like `Default` if it gets through.
    Other(String),
}

impl NodeType {
    pub fn parse(s: &str) -> Self {
        match s {
            "Default" => Self::Default,
            "End Call" => Self::EndCall,
            "Webhook" => Self::Webhook,
            "Transfer Pathway" => Self::TransferPathway,
            "Transfer to Human" => Self::TransferToHuman,
            "SMS" => Self::Sms,
            "Wait for Response" => Self::WaitForResponse,
            "Knowledge Base" => Self::KnowledgeBase,
            "Transfer Call" => Self::TransferCall,
            "Press Button" => Self::PressButton,
            other => Self::Other(other.to_owned()),
        }
    }

    /// Nodes that do something and move on without waiting for the user.
    pub fn is_action(&self) -> bool {
        matches!(self, Self::Webhook | Self::Sms)
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::Default => "Default",
            Self::EndCall => "End Call",
            Self::Webhook => "Webhook",
            Self::TransferPathway => "Transfer Pathway",
            Self::TransferToHuman => "Transfer to Human",
            Self::Sms => "SMS",
            Self::WaitForResponse => "Wait for Response",
            Self::KnowledgeBase => "Knowledge Base",
            Self::TransferCall => "Transfer Call",
            Self::PressButton => "Press Button",
            Self::Other(s) => s,
        }
    }
}

/// A node's typed view. Absent or blank strings are `None`.
#[derive(Debug, Clone)]
pub struct Node {
    pub id: String,
    pub node_type: NodeType,
    pub name: Option<String>,
    pub is_start: bool,
    /// Static text, sent verbatim after templating. Wins over `prompt` when both are set.
    pub text: Option<String>,
    /// Instruction for model-generated dialogue.
    pub prompt: Option<String>,
    /// Natural-language exit condition: the conversation stays here until the model says
    /// it is met.
    pub condition: Option<String>,
    pub global: Option<GlobalSettings>,
    pub extract_vars: Vec<VarSpec>,
    pub webhook: Option<WebhookSpec>,
    pub sms: Option<SmsSpec>,
    pub transfer_pathway: Option<TransferPathwaySpec>,
    pub transfer_number: Option<String>,
    /// Knowledge text of a `Knowledge Base` node, handed to the model with the prompt.
    pub kb: Option<String>,
    pub tag: Option<Tag>,
    /// `data.globalPrompt`: extra instructions for this node only.
    pub node_prompt_addendum: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobalSettings {
    pub label: Option<String>,
    pub description: Option<String>,
    /// Return to the node the conversation came from once the global node is done.
    pub auto_return: bool,
}

/// One `extractVars` entry: `[name, type, description, ...]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VarSpec {
    pub name: String,
    #[serde(rename = "type")]
    pub var_type: VarType,
    pub description: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VarType {
    String,
    Integer,
    Boolean,
}

/// `SMS` node: `smsBody` sent to `phoneNumber` (or to the conversation when absent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmsSpec {
    pub body: Option<String>,
    pub phone_number: Option<String>,
}

/// `Transfer Pathway` node: `transferPathway`, `version`, `transferPathwayNode`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferPathwaySpec {
    pub pathway_id: Option<String>,
    pub version: Option<String>,
    pub node_id: Option<String>,
}

/// A pathway tag (`data.tag`), surfaced as `pathway_tags: [{name, color}]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Edge {
    pub id: String,
    pub source: String,
    pub target: String,
    /// The routing description the model chooses by.
    pub label: Option<String>,
    pub description: Option<String>,
    pub always_pick: bool,
    /// Parley's deterministic condition, `data.parleyCondition`.
    pub rule: Option<EdgeRule>,
}

impl Edge {
    /// No label, no rule, not `alwaysPick`: the "otherwise" branch, taken when nothing
    /// else was chosen.
    pub fn is_fallback(&self) -> bool {
        self.label.is_none() && self.rule.is_none() && !self.always_pick
    }

    /// Only a label: choosing it needs the model.
    pub fn is_label_only(&self) -> bool {
        self.label.is_some() && self.rule.is_none() && !self.always_pick
    }
}

impl Pathway {
    /// Reads a pathway from the customer's JSON. Never fails; see [`Pathway::validate`].
    pub fn from_value(raw: Value) -> Self {
        let mut issues = Vec::new();
        let mut nodes = Vec::new();
        let mut edges = Vec::new();
        let mut global_prompt = None;
        match raw.get("nodes") {
            Some(Value::Array(items)) => {
                for (i, item) in items.iter().enumerate() {
                    if let Some(cfg) = item
                        .get("globalConfig")
                        .filter(|_| item.get("id").is_none())
                    {
                        global_prompt = global_prompt.or_else(|| text_at(cfg, "globalPrompt"));
                    } else {
                        nodes.push(Node::parse(item, i, &mut issues));
                    }
                }
            }
            None | Some(Value::Null) => {}
            Some(_) => issues.push(Issue::pathway(
                IssueCode::InvalidShape,
                "`nodes` must be an array",
            )),
        }
        match raw.get("edges") {
            Some(Value::Array(items)) => {
                for (i, item) in items.iter().enumerate() {
                    edges.push(Edge::parse(item, i, &mut issues));
                }
            }
            None | Some(Value::Null) => {}
            Some(_) => issues.push(Issue::pathway(
                IssueCode::InvalidShape,
                "`edges` must be an array",
            )),
        }
        if !raw.is_object() {
            issues.push(Issue::pathway(
                IssueCode::InvalidShape,
                "a pathway must be a JSON object",
            ));
        }
        let mut index = HashMap::new();
        for (i, n) in nodes.iter().enumerate() {
            index.entry(n.id.clone()).or_insert(i);
        }
        let mut outgoing = vec![Vec::new(); nodes.len()];
        for (e, edge) in edges.iter().enumerate() {
            if let (Some(&s), true) = (index.get(&edge.source), index.contains_key(&edge.target)) {
                outgoing[s].push(e);
            }
        }
        Self {
            raw,
            nodes,
            edges,
            global_prompt,
            index,
            outgoing,
            parse_issues: issues,
        }
    }

    /// Exactly the JSON the customer sent.
    pub fn raw(&self) -> &Value {
        &self.raw
    }

    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    pub fn edges(&self) -> &[Edge] {
        &self.edges
    }

    /// The pathway-wide prompt from the `{"globalConfig": {"globalPrompt": ...}}` element.
    pub fn global_prompt(&self) -> Option<&str> {
        self.global_prompt.as_deref()
    }

    pub fn node(&self, id: &str) -> Option<&Node> {
        self.node_index(id).map(|i| &self.nodes[i])
    }

    pub(crate) fn node_index(&self, id: &str) -> Option<usize> {
        self.index.get(id).copied()
    }

    /// The first node marked `isStart`.
    pub fn start_node(&self) -> Option<&Node> {
        self.nodes.iter().find(|n| n.is_start)
    }

    /// Outgoing edges of the node at `node` whose target exists, in edge order.
    pub(crate) fn outgoing(&self, node: usize) -> impl Iterator<Item = &Edge> + '_ {
        self.outgoing
            .get(node)
            .into_iter()
            .flatten()
            .map(move |&e| &self.edges[e])
    }
}

impl Serialize for Pathway {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.raw.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Pathway {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Value::deserialize(d).map(Self::from_value)
    }
}

impl Node {
    fn parse(raw: &Value, position: usize, issues: &mut Vec<Issue>) -> Self {
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

    /// What `{{prevNodePrompt}}` shows for this node: its prompt, or its static text.
    pub fn prompt_or_text(&self) -> Option<&str> {
        self.prompt.as_deref().or(self.text.as_deref())
    }
}

impl Edge {
    fn parse(raw: &Value, position: usize, issues: &mut Vec<Issue>) -> Self {
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

fn text_at(v: &Value, key: &str) -> Option<String> {
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
