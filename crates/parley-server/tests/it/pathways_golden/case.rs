//! The shape of a golden file (`tests/golden/*.json`): pathways, the conversations to hold
//! with them, and what each turn must produce. Unknown keys are refused so that a typo in
//! an expectation cannot silently check nothing.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Map, Value};

/// One golden file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// What the file shows, for whoever reads it.
    #[allow(dead_code)]
    pub description: String,
    /// Run with the scripted model configured. `false`: the server has no model at all,
    /// which proves the pathways run without one. (Read before parsing, to configure the
    /// server the pathways are saved on.)
    #[serde(default)]
    #[allow(dead_code)]
    pub model: bool,
    /// Pathways by name, each `{nodes, edges}` saved as a draft. In any string of the
    /// file, `$PATHWAY:<name>` becomes that pathway's id, `$API` the base URL of the
    /// loopback API webhook nodes call, `$AGENT` the agent number and `$CONVERSATION`
    /// (in expectations) the conversation's id.
    pub pathways: BTreeMap<String, Value>,
    /// What the loopback API answers, by `"METHOD /path"`; anything else gets a 404.
    #[serde(default)]
    pub api: BTreeMap<String, ApiAnswer>,
    /// Also hold the conversations through the chat harness (`/v1/pathway/chat/*`), which
    /// must give the same replies, nodes and variables.
    #[serde(default)]
    pub chat: bool,
    pub conversations: Vec<Conversation>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiAnswer {
    #[serde(default = "ok")]
    pub status: u16,
    #[serde(default)]
    pub body: Value,
}

fn ok() -> u16 {
    200
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Conversation {
    /// The user's number (each conversation of a file has its own).
    pub user: String,
    /// The `/v1/sms/send` body, without `user_number`, `agent_number` and `webhook`
    /// (which the runner adds).
    pub send: Map<String, Value>,
    /// The model's answers while the send opens the conversation.
    #[serde(default)]
    pub opener_model: Vec<ModelStep>,
    /// What the user's handset gets from the send.
    pub opener: Vec<String>,
    /// The calls webhook nodes make while the send opens the conversation.
    #[serde(default)]
    pub opener_api_calls: Vec<ApiCall>,
    pub turns: Vec<TurnCase>,
    pub end: End,
}

/// The user texts, then the agent's turn runs.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TurnCase {
    /// Texts sent one after another before the turn runs (more than one: a burst, answered
    /// once).
    pub user: Vec<String>,
    /// What the inbound procedure decides for each text (default `reply`).
    #[serde(default = "reply")]
    pub decision: String,
    /// The model's answers, in the order the turn must ask.
    #[serde(default)]
    pub model: Vec<ModelStep>,
    /// The new messages on the user's handset, in order.
    pub replies: Vec<String>,
    /// The calls webhook nodes make to the loopback API during the turn.
    #[serde(default)]
    pub api_calls: Vec<ApiCall>,
    /// Messages to other numbers (SMS nodes).
    #[serde(default)]
    pub others: Vec<Other>,
}

fn reply() -> String {
    "reply".into()
}

/// One model request the turn must make, and the answer it gets.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelStep {
    pub task: Task,
    /// The raw completion text (`3` for the third option, `YES`, a JSON object, a reply).
    pub answer: String,
    /// Texts the request must contain (a templated prompt, the unmet condition).
    #[serde(default)]
    pub asked: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Task {
    Dialogue,
    ChooseRoute,
    Extract,
    CheckCondition,
}

impl Task {
    /// The task of a chat-completions request, told by the system prompt each helper of
    /// `language_models::tasks` writes.
    pub fn of(request: &Value) -> Self {
        let system = request["messages"][0]["content"]
            .as_str()
            .unwrap_or_default();
        if system.starts_with("You pick the option") {
            Task::ChooseRoute
        } else if system.starts_with("You extract information") {
            Task::Extract
        } else if system.starts_with("You judge whether") {
            Task::CheckCondition
        } else {
            Task::Dialogue
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiCall {
    pub method: String,
    pub path: String,
    /// Headers the call must carry (others are not checked).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// The body, as JSON (or a JSON string when it is not JSON); absent: no body.
    #[serde(default)]
    pub body: Option<Value>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Other {
    pub to: String,
    pub message: String,
}

/// Where the conversation stands after its last turn.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct End {
    pub is_active: bool,
    /// `ended` after an End Call node; `null` while it runs.
    pub ended_reason: Option<String>,
    #[serde(default)]
    pub handed_off: bool,
    pub current_node_id: Option<String>,
    /// The pathway it follows now (`$PATHWAY:<name>`).
    pub pathway_id: String,
    /// Every variable, exactly.
    pub variables: Value,
    pub pathway_tags: Value,
}

/// Replaces the `$…` placeholders in every string of `v`.
pub fn substitute(v: &mut Value, subs: &[(String, String)]) {
    match v {
        Value::String(s) => {
            for (from, to) in subs {
                if s.contains(from.as_str()) {
                    *s = s.replace(from.as_str(), to);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| substitute(i, subs)),
        Value::Object(m) => m.values_mut().for_each(|i| substitute(i, subs)),
        _ => {}
    }
}
