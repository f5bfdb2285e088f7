//! What goes in and out of a turn: the stored state, the caller's context, the typed
//! requests the engine yields, the answers it is resumed with, and the outcome.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{
    model::{Tag, VarSpec},
    webhook::WebhookRequest,
};

/// The pathway part of a conversation row. Serialized as is; unknown fields default so
/// rows written by older versions still load.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PathwayState {
    pub pathway_id: Option<String>,
    pub pathway_version: Option<String>,
    /// Where the conversation is. `None`: not started; the next turn enters the start
    /// node. Set it before the first turn to start elsewhere (`start_node_id`).
    pub current_node_id: Option<String>,
    /// The node before the current one.
    pub previous_node_id: Option<String>,
    /// Set while at a global node that returns: where to go back to.
    pub return_node_id: Option<String>,
    /// request_data, batch columns and extracted/webhook variables, in one map.
    pub variables: Map<String, Value>,
    /// An `End Call` node was reached.
    pub ended: bool,
}

impl PathwayState {
    pub fn new(
        pathway_id: impl Into<String>,
        version: Option<String>,
        variables: Map<String, Value>,
    ) -> Self {
        Self {
            pathway_id: Some(pathway_id.into()),
            pathway_version: version,
            variables,
            ..Self::default()
        }
    }
}

/// Facts about the conversation the engine cannot know by itself.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TurnContext {
    /// `{{call_id}}`.
    pub conversation_id: String,
    /// `{{from}}` and `{{to}}`, as the server defines them for the conversation.
    pub from: String,
    pub to: String,
    /// `{{now_utc}}`; the engine never reads a clock.
    pub now_ms: i64,
    /// Earlier messages, oldest first, not including this turn's user text.
    pub history: Vec<HistoryEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub role: Role,
    pub text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    User,
    Agent,
}

/// What the model is asked. Every variant carries the conversation so far (including
/// this turn's user text and messages already produced) and the variables.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ModelRequest {
    /// Write the agent's next message for a prompt node. Answer: [`ModelReply::Dialogue`].
    Dialogue {
        node_id: String,
        /// The node prompt, templated.
        prompt: String,
        /// The pathway's global prompt and the node's own addendum, templated.
        global_prompt: Option<String>,
        /// A `Knowledge Base` node's text.
        knowledge: Option<String>,
        /// Set when re-prompting because the node's condition is not met yet.
        unmet_condition: Option<String>,
        variables: Map<String, Value>,
        history: Vec<HistoryEntry>,
    },
    /// Which option (by index) does the conversation take? Answer:
    /// [`ModelReply::Choice`] with an index or `None` for "none of them".
    ChooseRoute {
        node_id: String,
        options: Vec<RouteOption>,
        variables: Map<String, Value>,
        history: Vec<HistoryEntry>,
    },
    /// Extract the declared variables from the conversation. Answer:
    /// [`ModelReply::Extracted`]; values are checked against the declared types.
    Extract {
        node_id: String,
        vars: Vec<VarSpec>,
        variables: Map<String, Value>,
        history: Vec<HistoryEntry>,
    },
    /// Is the node's exit condition met? Answer: [`ModelReply::ConditionMet`].
    CheckCondition {
        node_id: String,
        condition: String,
        variables: Map<String, Value>,
        history: Vec<HistoryEntry>,
    },
}

/// One labelled way out: an edge of the current node, or a global node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RouteOption {
    pub label: String,
    pub description: Option<String>,
    pub target_node_id: String,
    /// `Some` for an edge; `None` for a global node.
    pub edge_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum ModelReply {
    Dialogue(String),
    Choice(Option<usize>),
    Extracted(Map<String, Value>),
    ConditionMet(bool),
}

/// What to do next with a [`Turn`](super::Turn).
#[derive(Debug, Clone, PartialEq)]
pub enum Poll {
    /// Ask the model, then call `answer_model`.
    NeedModel(ModelRequest),
    /// Call the webhook, then call `answer_webhook`.
    NeedWebhook(WebhookRequest),
    Done(Outcome),
}

/// One message for the user (or, from an `SMS` node with a `phoneNumber`, for `to`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboundMessage {
    pub text: String,
    pub node_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
}

/// How the turn left the conversation.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Signal {
    /// Waiting for the user's next message.
    #[default]
    Continue,
    /// An `End Call` node: end the conversation after sending the messages.
    End { node_id: String },
    /// `Transfer to Human` (or the voice-only `Transfer Call`): hand the conversation to a
    /// person; the agent goes silent.
    Handoff {
        node_id: String,
        transfer_number: Option<String>,
    },
    /// `Transfer Pathway`: load `pathway_id` and run an opener on it; the state already
    /// names the new pathway and (if given) node.
    TransferPathway {
        node_id: String,
        pathway_id: String,
        version: Option<String>,
        target_node_id: Option<String>,
    },
}

/// Something the caller should log; the turn still completed.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Warning {
    /// A template named a variable nobody set; it rendered as nothing.
    UnknownVariable { node_id: String, name: String },
    /// The model gave an extracted value that does not fit the declared type.
    ExtractedValueDropped {
        node_id: String,
        name: String,
        value: Value,
    },
    /// The model chose an option index that does not exist; treated as "none".
    ChoiceOutOfRange { node_id: String, index: usize },
    /// The stored node no longer exists in this pathway version; restarted at the start.
    CurrentNodeMissing { node_id: String },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    pub messages: Vec<OutboundMessage>,
    pub state: PathwayState,
    /// Tags of the nodes entered this turn, in order, each once.
    pub tags: Vec<Tag>,
    pub signal: Signal,
    /// Node ids entered this turn, in order.
    pub visited: Vec<String>,
    pub warnings: Vec<Warning>,
}
