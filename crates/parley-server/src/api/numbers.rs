//! `GET /v1/sms/numbers`: the org's numbers with their messaging config (spec 2.5).
//! Updates live in `update` (spec 2.6) and `legacy` (spec 2.7 to 2.9).

pub mod legacy;
pub mod update;

use axum::{extract::State, Json};
use parley_domain::{number_config::NumberConfig, Channel};
use parley_store::NumberOverview;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::{
    auth::Org,
    error::{ok, ApiError, Envelope, ErrorBody},
    extract::BlandQuery,
    send::parse_channel,
};
use crate::app::AppState;

/// A channel config with every key present: Bland's defaults where nothing was set
/// (`objective` "Chat with the user", `temperature` 0, `tools` [], `request_data` [],
/// `restart_after_end_call` true), `null` for the rest.
#[derive(Debug, Serialize, ToSchema)]
pub struct NumberConfigOut {
    pub webhook: Option<String>,
    #[schema(schema_with = super::doc::object_or_array)]
    pub request_data: Value,
    pub time_out: Option<i64>,
    pub timeout_action: Option<String>,
    pub timeout_message: Option<String>,
    pub warning_time: Option<i64>,
    pub warning_message: Option<String>,
    pub messaging_service_sid: Option<String>,
    pub objective: String,
    #[schema(value_type = Vec<Object>)]
    pub tools: Vec<Value>,
    pub temperature: f64,
    pub pathway_id: Option<String>,
    pub pathway_version: Option<String>,
    pub start_node_id: Option<String>,
    pub restart_after_end_call: bool,
    pub timezone: Option<String>,
    pub summary_prompt: Option<String>,
    pub disposition_ids: Option<Vec<String>>,
    pub citation_schema_ids: Option<Vec<String>>,
    /// Legacy `/v1/sms/update`: messages containing one of these get no AI reply.
    pub ignore_keywords: Option<Vec<String>>,
    /// Parley: the answer to a whole-message HELP; null: HELP is an ordinary message.
    pub help_message: Option<String>,
}

impl From<&NumberConfig> for NumberConfigOut {
    fn from(c: &NumberConfig) -> Self {
        Self {
            webhook: c.webhook.clone(),
            request_data: c.request_data_or_default(),
            time_out: c.time_out,
            timeout_action: c.timeout_action.clone(),
            timeout_message: c.timeout_message.clone(),
            warning_time: c.warning_time,
            warning_message: c.warning_message.clone(),
            messaging_service_sid: c.messaging_service_sid.clone(),
            objective: c.objective_or_default().to_owned(),
            tools: c.tools_or_default(),
            temperature: c.temperature_or_default(),
            pathway_id: c.pathway_id.clone(),
            pathway_version: c.pathway_version.clone(),
            start_node_id: c.start_node_id.clone(),
            restart_after_end_call: c.restart_after_end_call_or_default(),
            timezone: c.timezone.clone(),
            summary_prompt: c.summary_prompt.clone(),
            disposition_ids: c.disposition_ids.clone(),
            citation_schema_ids: c.citation_schema_ids.clone(),
            ignore_keywords: c.ignore_keywords.clone(),
            help_message: c.help_message.clone(),
        }
    }
}

/// The config under Bland's key for its channel. Bland documents only `sms_config`, and
/// clients read that key whatever channel they asked for, so it is always present; the
/// channel's own key (`whatsapp_config`, `imessage_config`) is added next to it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChannelConfigs {
    pub sms_config: NumberConfigOut,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub whatsapp_config: Option<NumberConfigOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub imessage_config: Option<NumberConfigOut>,
}

impl ChannelConfigs {
    pub fn new(channel: Channel, config: &NumberConfig) -> Self {
        Self {
            sms_config: config.into(),
            whatsapp_config: (channel == Channel::Whatsapp).then(|| config.into()),
            imessage_config: (channel == Channel::Imessage).then(|| config.into()),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NumberOut {
    pub phone_number: String,
    #[serde(flatten)]
    pub configs: ChannelConfigs,
    /// Conversations on this number, active or not, on every channel.
    pub conversation_count: i64,
    /// Parley extension: the channel a send uses when it names none.
    pub channel: String,
    /// Parley extension: legacy human mode (`/v1/sms/toggle`), the AI stays silent.
    pub human_mode: bool,
}

impl NumberOut {
    fn new(channel: Channel, n: NumberOverview) -> Self {
        Self {
            configs: ChannelConfigs::new(channel, &n.config),
            phone_number: n.phone_number,
            conversation_count: n.conversation_count,
            channel: n.channel,
            human_mode: n.human_mode,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct NumbersEnvelope {
    pub data: Vec<NumberOut>,
    #[schema(value_type = Option<Object>)]
    pub errors: Option<()>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListNumbersParams {
    /// Which config to return: `sms` (default), `whatsapp` or `imessage`.
    #[param(value_type = Option<super::doc::ChannelDoc>, inline)]
    pub channel: Option<String>,
}

#[utoipa::path(
    get, path = "/v1/sms/numbers", tag = "numbers",
    params(ListNumbersParams),
    responses(
        (status = 200, description = "The org's numbers, oldest first", body = NumbersEnvelope),
        (status = 400, description = "Unknown channel", body = ErrorBody),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn list_numbers(
    State(state): State<AppState>,
    org: Org,
    BlandQuery(q): BlandQuery<ListNumbersParams>,
) -> Result<Json<Envelope<Vec<NumberOut>>>, ApiError> {
    let channel = parse_channel(q.channel.as_deref(), "sms")?;
    let numbers = state
        .store
        .numbers_overview(&org.id, channel.as_str())
        .await?;
    Ok(ok(numbers
        .into_iter()
        .map(|n| NumberOut::new(channel, n))
        .collect()))
}
