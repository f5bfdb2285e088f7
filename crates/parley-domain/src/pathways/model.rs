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
use serde_json::Value;

use super::{
    condition::EdgeRule,
    parse::text_at,
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
    /// What `{{prevNodePrompt}}` shows for this node: its prompt, or its static text.
    pub fn prompt_or_text(&self) -> Option<&str> {
        self.prompt.as_deref().or(self.text.as_deref())
    }
}
