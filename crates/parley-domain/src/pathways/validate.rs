//! Save-time checks, and whether a pathway needs a language model to run.
//!
//! Validation returns every problem at once, each with a stable machine code (part of the
//! API: customers match on it) and a message naming the node or edge.

use std::collections::HashSet;

use serde::Serialize;

use super::model::{NodeType, Pathway};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum IssueCode {
    /// The pathway, `nodes` or `edges` is not the JSON shape Bland uses.
    InvalidShape,
    NoStartNode,
    MultipleStartNodes,
    MissingNodeId,
    DuplicateNodeId,
    UnknownNodeType,
    DuplicateEdgeId,
    EdgeSourceNotFound,
    EdgeTargetNotFound,
    WebhookUrlMissing,
    InvalidWebhookField,
    InvalidJsonPath,
    ResponsePathwayTargetNotFound,
    InvalidExtractVars,
    InvalidExtractVarType,
    /// A `parleyCondition` with an unknown kind or missing fields.
    InvalidCondition,
    InvalidRegex,
    GlobalNodeWithoutLabel,
    TransferPathwayMissing,
}

impl IssueCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidShape => "INVALID_SHAPE",
            Self::NoStartNode => "NO_START_NODE",
            Self::MultipleStartNodes => "MULTIPLE_START_NODES",
            Self::MissingNodeId => "MISSING_NODE_ID",
            Self::DuplicateNodeId => "DUPLICATE_NODE_ID",
            Self::UnknownNodeType => "UNKNOWN_NODE_TYPE",
            Self::DuplicateEdgeId => "DUPLICATE_EDGE_ID",
            Self::EdgeSourceNotFound => "EDGE_SOURCE_NOT_FOUND",
            Self::EdgeTargetNotFound => "EDGE_TARGET_NOT_FOUND",
            Self::WebhookUrlMissing => "WEBHOOK_URL_MISSING",
            Self::InvalidWebhookField => "INVALID_WEBHOOK_FIELD",
            Self::InvalidJsonPath => "INVALID_JSON_PATH",
            Self::ResponsePathwayTargetNotFound => "RESPONSE_PATHWAY_TARGET_NOT_FOUND",
            Self::InvalidExtractVars => "INVALID_EXTRACT_VARS",
            Self::InvalidExtractVarType => "INVALID_EXTRACT_VAR_TYPE",
            Self::InvalidCondition => "INVALID_CONDITION",
            Self::InvalidRegex => "INVALID_REGEX",
            Self::GlobalNodeWithoutLabel => "GLOBAL_NODE_WITHOUT_LABEL",
            Self::TransferPathwayMissing => "TRANSFER_PATHWAY_MISSING",
        }
    }
}

/// One problem found in a pathway.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Issue {
    pub code: IssueCode,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub edge_id: Option<String>,
}

impl Issue {
    pub(crate) fn pathway(code: IssueCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            node_id: None,
            edge_id: None,
        }
    }

    pub(crate) fn node(node: &str, code: IssueCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            node_id: Some(node.to_owned()),
            edge_id: None,
        }
    }

    pub(crate) fn edge(edge: &str, code: IssueCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            node_id: None,
            edge_id: Some(edge.to_owned()),
        }
    }
}

impl Pathway {
    /// Every problem that should stop this pathway from being saved; empty means valid.
    pub fn validate(&self) -> Vec<Issue> {
        let mut issues = self.parse_issues.clone();
        let starts: Vec<&str> = self
            .nodes()
            .iter()
            .filter(|n| n.is_start)
            .map(|n| n.id.as_str())
            .collect();
        match starts.as_slice() {
            [] => issues.push(Issue::pathway(
                IssueCode::NoStartNode,
                "no node has `data.isStart: true`; exactly one start node is required",
            )),
            [_] => {}
            many => issues.push(Issue::pathway(
                IssueCode::MultipleStartNodes,
                format!(
                    "{} start nodes ({}); exactly one is allowed",
                    many.len(),
                    many.join(", ")
                ),
            )),
        }
        let mut seen = HashSet::new();
        for node in self.nodes() {
            if !seen.insert(node.id.as_str()) {
                issues.push(Issue::node(
                    &node.id,
                    IssueCode::DuplicateNodeId,
                    format!("node id {:?} is used more than once", node.id),
                ));
            }
            if let NodeType::Other(t) = &node.node_type {
                issues.push(Issue::node(
                    &node.id,
                    IssueCode::UnknownNodeType,
                    format!("node {:?} has unknown type {t:?}", node.id),
                ));
            }
            if let Some(g) = &node.global {
                if g.label.is_none() {
                    issues.push(Issue::node(
                        &node.id,
                        IssueCode::GlobalNodeWithoutLabel,
                        format!(
                            "global node {:?} has no `globalLabel` to be chosen by",
                            node.id
                        ),
                    ));
                }
            }
            if let Some(w) = &node.webhook {
                if w.url.is_none() {
                    issues.push(Issue::node(
                        &node.id,
                        IssueCode::WebhookUrlMissing,
                        format!("webhook node {:?} has no `url`", node.id),
                    ));
                }
                for route in &w.routes {
                    if let Some(target) = &route.target {
                        if self.node(target).is_none() {
                            issues.push(Issue::node(&node.id, IssueCode::ResponsePathwayTargetNotFound, format!("a responsePathways entry of node {:?} routes to missing node {target:?}", node.id)));
                        }
                    }
                }
            }
            if let Some(t) = &node.transfer_pathway {
                if t.pathway_id.is_none() {
                    issues.push(Issue::node(
                        &node.id,
                        IssueCode::TransferPathwayMissing,
                        format!(
                            "transfer pathway node {:?} has no `transferPathway`",
                            node.id
                        ),
                    ));
                }
            }
        }
        let mut edge_ids = HashSet::new();
        for edge in self.edges() {
            if !edge_ids.insert(edge.id.as_str()) {
                issues.push(Issue::edge(
                    &edge.id,
                    IssueCode::DuplicateEdgeId,
                    format!("edge id {:?} is used more than once", edge.id),
                ));
            }
            if self.node(&edge.source).is_none() {
                issues.push(Issue::edge(
                    &edge.id,
                    IssueCode::EdgeSourceNotFound,
                    format!(
                        "edge {:?} starts at missing node {:?}",
                        edge.id, edge.source
                    ),
                ));
            }
            if self.node(&edge.target).is_none() {
                issues.push(Issue::edge(
                    &edge.id,
                    IssueCode::EdgeTargetNotFound,
                    format!(
                        "edge {:?} points at missing node {:?}",
                        edge.id, edge.target
                    ),
                ));
            }
        }
        issues
    }
}

/// Why a pathway needs a language model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ModelNeedReason {
    /// `data.prompt` without static `text`.
    PromptNode,
    /// An edge with only a label, at a node where a choice among labels must be made.
    LabelEdge,
    ExtractVars,
    /// A natural-language `data.condition`.
    NodeCondition,
    /// A global node, chosen by its label on every turn.
    GlobalNode,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ModelNeed {
    pub reason: ModelNeedReason,
    pub node_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub edge_id: Option<String>,
}

impl Pathway {
    /// Every place this pathway would ask a model, mirroring the engine's choices; empty
    /// means it runs on a server with no model configured.
    pub fn model_needs(&self) -> Vec<ModelNeed> {
        let need = |reason, node: &str, edge: Option<&str>| ModelNeed {
            reason,
            node_id: node.to_owned(),
            edge_id: edge.map(str::to_owned),
        };
        let mut out = Vec::new();
        for (i, node) in self.nodes().iter().enumerate() {
            if node.text.is_none() && node.prompt.is_some() {
                out.push(need(ModelNeedReason::PromptNode, &node.id, None));
            }
            if !node.extract_vars.is_empty() {
                out.push(need(ModelNeedReason::ExtractVars, &node.id, None));
            }
            if node.condition.is_some() {
                out.push(need(ModelNeedReason::NodeCondition, &node.id, None));
            }
            if node.global.is_some() {
                out.push(need(ModelNeedReason::GlobalNode, &node.id, None));
            }
            // The engine never reads labels past an `alwaysPick` edge, nor the edges of a
            // global node that returns.
            // An action node (webhook, SMS) with a single edge follows it without asking.
            let returns = node.global.as_ref().is_some_and(|g| g.auto_return);
            let single_action_edge = node.node_type.is_action() && self.outgoing(i).count() == 1;
            if returns || single_action_edge || self.outgoing(i).any(|e| e.always_pick) {
                continue;
            }
            for edge in self.outgoing(i).filter(|e| e.is_label_only()) {
                out.push(need(ModelNeedReason::LabelEdge, &node.id, Some(&edge.id)));
            }
        }
        out
    }

    pub fn needs_model(&self) -> bool {
        !self.model_needs().is_empty()
    }
}
