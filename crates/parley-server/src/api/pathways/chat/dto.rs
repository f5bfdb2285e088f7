//! Request and response bodies of the chat harness, in Bland's shapes.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::api::send::NumOrString;

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateChatIn {
    /// Required.
    #[schema(required = true, value_type = String, min_length = 1, pattern = r"\S")]
    pub pathway_id: Option<String>,
    /// Start here instead of at the node marked `isStart`.
    pub start_node_id: Option<String>,
    /// Initial variables (`{{name}}` in the pathway): a JSON object.
    #[schema(value_type = Option<Object>)]
    pub request_data: Option<Value>,
    /// A version number, or `production` (default), `staging`, `draft`, `latest`.
    #[schema(value_type = Option<String>)]
    pub pathway_version: Option<NumOrString>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedChat {
    pub chat_id: String,
    /// `"Chat instance created successfully"`.
    pub message: String,
    #[schema(value_type = Object)]
    pub variables: Value,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreateChatOut {
    pub data: CreatedChat,
    #[schema(value_type = Option<Object>)]
    pub errors: Option<()>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ChatMessageIn {
    /// The user's message. May be left out for the first message: the agent opens.
    pub message: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ChatEntry {
    /// `user` or `assistant`.
    pub role: String,
    pub content: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ChatReply {
    pub chat_id: String,
    /// The agent's messages for this turn, in order.
    pub assistant_responses: Vec<String>,
    pub current_node_id: Option<String>,
    pub current_node_name: Option<String>,
    pub chat_history: Vec<ChatEntry>,
    pub pathway_id: Option<String>,
    pub pathway_version: Option<String>,
    #[schema(value_type = Object)]
    pub variables: Value,
    /// An End Call node was reached; the chat takes no more messages.
    pub completed: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ChatReplyOut {
    pub data: ChatReply,
    #[schema(value_type = Option<Object>)]
    pub errors: Option<()>,
}
