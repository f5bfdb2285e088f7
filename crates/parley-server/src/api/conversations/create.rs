//! `POST /v1/sms/create`: create or resume the pair's conversation with explicit pathway
//! state and one stored message (spec 2.2). Nothing is transmitted and nothing is
//! generated: Bland's page says the endpoint seeds a conversation "without triggering
//! immediate message sending", for example to carry a voice call over to text.

use axum::{extract::State, Json};
use parley_domain::{segments, timeouts::TimeoutSettings};
use parley_store::{ConversationFields, CreateRequest};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::{
    api::{
        auth::Org,
        error::{ok, ApiError, Envelope, ErrorBody},
        extract::BlandJson,
        send::{check_text, parse_channel, parse_number, seconds, NumOrString},
    },
    app::AppState,
    turns::source_check::{check_node, checked_pathway, PathwayRef},
};

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct CreateConversationIn {
    #[schema(pattern = r"^\+[1-9][0-9]{7,14}$")]
    pub user_number: Option<String>,
    #[schema(pattern = r"^\+[1-9][0-9]{7,14}$")]
    pub agent_number: Option<String>,
    /// The message to store in the history (required, at most 1,600 characters).
    pub message: Option<String>,
    /// The provider's id of that message, for correlation.
    pub message_sid: Option<String>,
    pub curr_pathway_id: Option<String>,
    /// e.g. `"latest"` or `"v1.0"`; a number is stored as a string.
    pub curr_pathway_version: Option<NumOrString>,
    pub current_node_id: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub request_data: Option<Map<String, Value>>,
    /// Archive the pair's active conversation first.
    pub new_conversation: Option<bool>,
    /// Who wrote `message`: `USER` (default) or `AGENT`.
    pub sender: Option<String>,
    /// `sms`, `whatsapp` or `imessage`; default: the number's channel.
    #[schema(value_type = Option<crate::api::doc::ChannelDoc>)]
    pub channel: Option<String>,
    #[serde(default, deserialize_with = "seconds")]
    #[schema(value_type = Option<f64>)]
    pub time_out: Option<i64>,
    pub timeout_message: Option<String>,
    #[serde(default, deserialize_with = "seconds")]
    #[schema(value_type = Option<f64>)]
    pub warning_time: Option<i64>,
    pub warning_message: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreateConversationOut {
    /// Always `"SMS conversation created successfully"`.
    pub message: String,
    pub conversation_id: String,
    pub workflow_id: String,
    /// Parley extension: the id of the stored message.
    pub message_id: i64,
}

#[derive(Serialize, ToSchema)]
pub struct CreateConversationEnvelope {
    pub data: CreateConversationOut,
    #[schema(value_type = Option<Object>)]
    pub errors: Option<()>,
}

#[utoipa::path(
    post, path = "/v1/sms/create", tag = "conversations",
    request_body = CreateConversationIn,
    responses(
        (status = 200, description = "Stored; nothing was sent", body = CreateConversationEnvelope),
        (status = 400, description = "Invalid field (`INVALID_PARAMETER`, also a current_node_id that is not a node of the pathway), timeouts (`INVALID_TIMEOUT_CONFIG`), or a pathway that needs a language model this server lacks (`MODEL_REQUIRED`)", body = ErrorBody),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
        (status = 404, description = "agent_number is not one of the caller's numbers (`AGENT_NUMBER_NOT_FOUND`), or curr_pathway_id is not one of its pathways (`PATHWAY_NOT_FOUND`) or has no curr_pathway_version (`PATHWAY_VERSION_NOT_FOUND`)", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn create_conversation(
    State(state): State<AppState>,
    org: Org,
    body: BlandJson<CreateConversationIn>,
) -> Result<Json<Envelope<CreateConversationOut>>, ApiError> {
    let b = body.value;
    let user = parse_number("user_number", b.user_number.as_deref())?;
    let agent = parse_number("agent_number", b.agent_number.as_deref())?;
    let text = b
        .message
        .ok_or_else(|| ApiError::invalid("message is required"))?;
    check_text("message", &text)?;
    let sender = match b.sender.as_deref().map(str::to_ascii_uppercase).as_deref() {
        None | Some("USER") => "USER",
        Some("AGENT") => "AGENT",
        Some(_) => return Err(ApiError::invalid("sender must be USER or AGENT")),
    };
    if let Some(sid) = &b.message_sid {
        if sid.trim().is_empty() || sid.len() > 64 {
            return Err(ApiError::invalid("message_sid must be 1 to 64 characters"));
        }
    }
    let timeouts = TimeoutSettings {
        time_out: b.time_out,
        timeout_message: b.timeout_message,
        warning_time: b.warning_time,
        warning_message: b.warning_message,
    };
    timeouts
        .validate()
        .map_err(|e| ApiError::invalid_timeout(e.to_string()))?;

    let number = state
        .store
        .number_for_org(&org.id, agent.as_str())
        .await?
        .ok_or_else(|| ApiError::agent_number_not_found(agent.as_str()))?;
    let channel = parse_channel(b.channel.as_deref(), &number.channel)?;
    let number_config = state
        .store
        .number_config(number.id, channel.as_str())
        .await?;
    let pathway_version = b.curr_pathway_version.map(NumOrString::into_string);
    // The next inbound continues on this pathway: it must exist (and run on this server).
    if let Some(id) = &b.curr_pathway_id {
        let pathway = PathwayRef {
            id,
            version: pathway_version.as_deref(),
            id_field: "curr_pathway_id",
            version_field: "curr_pathway_version",
        };
        let graph = checked_pathway(&state, &org.id, &pathway).await?;
        if let Some(node) = &b.current_node_id {
            check_node(&graph, id, "current_node_id", node)?;
        }
    }
    let count = segments::count(&text);
    let req = CreateRequest {
        org_id: org.id,
        user_number: user.to_string(),
        agent_number: agent.to_string(),
        channel: channel.as_str().to_owned(),
        new_conversation: b.new_conversation.unwrap_or(false),
        fields: ConversationFields {
            request_data: b.request_data.map(Value::Object),
            pathway_id: b.curr_pathway_id,
            pathway_version,
            current_node_id: b.current_node_id,
            timeouts,
            ..Default::default()
        },
        number_timeouts: number_config.timeouts(),
        body: text,
        sender: sender.to_owned(),
        encoding: count.encoding.as_str().into(),
        segments: i64::from(count.segments),
        provider_sid: b.message_sid,
        now: state.clock.now_ms(),
    };
    let created = state
        .store
        .accept_create(&req)
        .await?
        .map_err(|e| ApiError::invalid_timeout(e.to_string()))?;
    Ok(ok(CreateConversationOut {
        message: "SMS conversation created successfully".into(),
        conversation_id: created.conversation_id,
        workflow_id: created.workflow_id,
        message_id: created.message_id,
    }))
}
