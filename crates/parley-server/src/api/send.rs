//! `POST /v1/sms/send`: send a message, creating or resuming the pair's conversation.

use axum::{extract::State, http::HeaderMap, Json};
use parley_domain::{
    personas::PersonaVersion, segments, timeouts::TimeoutSettings, Channel, PhoneNumber,
};
use parley_store::{
    ConversationFields, NewOutbound, ReplyRequest, SendOutcome, SendRequest, Store,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use super::{
    auth::Org,
    error::{ok, ApiError, Envelope, ErrorBody},
    extract::BlandJson,
    send_rules,
};
use crate::{
    app::AppState,
    turns::{
        effects::outbound,
        opener::{opener, OpenerFor},
        source_check::{check_named_source, SourceFor},
    },
};

/// Longest text accepted in one message, in characters (Bland's and Twilio's limit).
pub const MAX_MESSAGE_CHARS: usize = 1600;

/// A number or a string (`pathway_version` is typed both ways across Bland's pages).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum NumOrString {
    Num(f64),
    Str(String),
}

impl NumOrString {
    pub fn into_string(self) -> String {
        match self {
            NumOrString::Num(n) => n.to_string(),
            NumOrString::Str(s) => s,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct PersonaSettings {
    pub pathway_id: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub pathway_version: Option<Value>,
    pub start_node_id: Option<String>,
}

/// Body of `POST /v1/sms/send` (spec 2.1), plus the legacy aliases Bland's CLI and cookbook
/// send: `phone_number` (= `user_number`), `from` (= `agent_number`), `message`
/// (= `agent_message`) and `prompt`.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct SendSmsIn {
    #[schema(pattern = r"^\+[1-9][0-9]{7,14}$")]
    pub user_number: Option<String>,
    #[schema(pattern = r"^\+[1-9][0-9]{7,14}$")]
    pub agent_number: Option<String>,
    pub agent_message: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub request_data: Option<Map<String, Value>>,
    pub new_conversation: Option<bool>,
    pub persona_id: Option<String>,
    pub persona_version: Option<String>,
    pub persona_settings: Option<PersonaSettings>,
    pub pathway_id: Option<String>,
    pub pathway_version: Option<NumOrString>,
    pub start_node_id: Option<String>,
    pub webhook: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Map<String, Value>>,
    pub disposition_ids: Option<Vec<String>>,
    pub citation_schema_ids: Option<Vec<String>>,
    #[schema(value_type = Option<crate::api::doc::ChannelDoc>)]
    pub channel: Option<String>,
    pub content_sid: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub content_variables: Option<Map<String, Value>>,
    #[serde(default, deserialize_with = "seconds")]
    #[schema(value_type = Option<f64>)]
    pub time_out: Option<i64>,
    pub timeout_message: Option<String>,
    #[serde(default, deserialize_with = "seconds")]
    #[schema(value_type = Option<f64>)]
    pub warning_time: Option<i64>,
    pub warning_message: Option<String>,
    /// Legacy alias of `user_number`.
    #[schema(pattern = r"^\+[1-9][0-9]{7,14}$")]
    pub phone_number: Option<String>,
    /// Legacy alias of `agent_number`.
    #[schema(pattern = r"^\+[1-9][0-9]{7,14}$")]
    pub from: Option<String>,
    /// Legacy alias of `agent_message`.
    pub message: Option<String>,
    /// Legacy: the reply prompt for this conversation.
    pub prompt: Option<String>,
}

/// Seconds as a JSON number (integer or fraction, rounded up); `null` means unset.
pub(crate) fn seconds<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    let v: Option<f64> = Option::deserialize(d)?;
    match v {
        None => Ok(None),
        Some(s) if (0.0..1e12).contains(&s) => Ok(Some(s.ceil() as i64)),
        Some(_) => Err(serde::de::Error::custom(
            "must be a non-negative number of seconds",
        )),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SendSmsOut {
    /// Always `"SMS sent successfully"`.
    pub message: String,
    pub conversation_id: String,
    pub message_id: i64,
    pub workflow_id: String,
}

#[derive(Serialize, ToSchema)]
pub struct SendSmsEnvelope {
    pub data: SendSmsOut,
    #[schema(value_type = Option<Object>)]
    pub errors: Option<()>,
}

pub fn parse_number(field: &str, value: Option<&str>) -> Result<PhoneNumber, ApiError> {
    let v = value.ok_or_else(|| {
        ApiError::invalid(format!("{field} is required (E.164, e.g. +15551234567)"))
    })?;
    PhoneNumber::parse(v).map_err(|e| ApiError::invalid(format!("{field}: {e}")))
}

pub fn parse_channel(value: Option<&str>, default: &str) -> Result<Channel, ApiError> {
    let v = value.unwrap_or(default);
    Channel::parse(v).ok_or_else(|| {
        ApiError::invalid(format!(
            "channel must be one of sms, whatsapp, imessage (got {v:?})"
        ))
    })
}

/// Checks a message text against the length rules and returns its character count.
pub fn check_text(field: &str, text: &str) -> Result<(), ApiError> {
    if text.trim().is_empty() {
        return Err(ApiError::invalid(format!("{field} must not be empty")));
    }
    let n = text.chars().count();
    if n > MAX_MESSAGE_CHARS {
        return Err(ApiError::invalid(format!(
            "{field} must be at most {MAX_MESSAGE_CHARS} characters (got {n})"
        )));
    }
    Ok(())
}

pub(crate) fn check_webhook(url: &str) -> Result<(), ApiError> {
    let ok = (url.starts_with("https://") || url.starts_with("http://"))
        && url.len() <= 2048
        && !url.contains(' ');
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid(
            "webhook must be an http:// or https:// URL of at most 2048 characters",
        ))
    }
}

pub(crate) fn check_idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(v) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let s = v
        .to_str()
        .map_err(|_| ApiError::invalid("idempotency-key must be printable ASCII"))?;
    if s.is_empty() || s.len() > 255 {
        return Err(ApiError::invalid(
            "idempotency-key must be 1 to 255 characters",
        ));
    }
    Ok(Some(s.to_owned()))
}

/// Hash of what makes two requests "the same" for idempotency: route and body, with object
/// keys in a canonical order so that key order in the client's JSON does not matter.
pub fn request_hash(route: &str, body: &Value) -> String {
    fn canonical(v: &Value, out: &mut String) {
        match v {
            Value::Object(m) => {
                let mut keys: Vec<_> = m.keys().collect();
                keys.sort();
                out.push('{');
                for (i, k) in keys.into_iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&Value::String(k.clone()).to_string());
                    out.push(':');
                    canonical(&m[k], out);
                }
                out.push('}');
            }
            Value::Array(a) => {
                out.push('[');
                for (i, x) in a.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    canonical(x, out);
                }
                out.push(']');
            }
            other => out.push_str(&other.to_string()),
        }
    }
    let mut s = String::with_capacity(256);
    canonical(body, &mut s);
    hex::encode(Sha256::digest(format!("{route}\n{s}").as_bytes()))
}

#[utoipa::path(
    post, path = "/v1/sms/send", tag = "messages",
    request_body = SendSmsIn,
    params(("idempotency-key" = Option<String>, Header, min_length = 1, max_length = 255, pattern = r"^[!-~]([ -~]*[!-~])?$", description = "1 to 255 printable ASCII characters. Replays the first answer for the same body; refuses another body")),
    responses(
        (status = 200, description = "Queued for sending", body = SendSmsEnvelope),
        (status = 400, description = "Invalid input", body = ErrorBody),
        (status = 403, description = "`RECIPIENT_OPTED_OUT`: the user opted out of this number; nothing sent", body = ErrorBody),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
        (status = 404, description = "agent_number is not one of the caller's numbers (`AGENT_NUMBER_NOT_FOUND`), persona_id is not one of its personas (`PERSONA_NOT_FOUND`), or the pathway the replies would come from (`pathway_id`, `persona_settings.pathway_id`, the persona's routing) is not one of its pathways (`PATHWAY_NOT_FOUND`) or has no such version (`PATHWAY_VERSION_NOT_FOUND`); the message names the field", body = ErrorBody),
        (status = 422, description = "idempotency-key reused with another body", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn send_sms(
    State(state): State<AppState>,
    org: Org,
    headers: HeaderMap,
    body: BlandJson<SendSmsIn>,
) -> Result<Json<Envelope<SendSmsOut>>, ApiError> {
    let idempotency_key = check_idempotency_key(&headers)?;
    let b = body.value;
    let user = parse_number(
        "user_number",
        b.user_number.as_deref().or(b.phone_number.as_deref()),
    )?;
    let agent = parse_number(
        "agent_number",
        b.agent_number.as_deref().or(b.from.as_deref()),
    )?;
    let text = b.agent_message.or(b.message);
    if let Some(t) = &text {
        check_text("agent_message", t)?;
    }
    if let Some(w) = &b.webhook {
        check_webhook(w)?;
    }
    if let Some(v) = &b.persona_version {
        if v != "production" && v != "draft" {
            return Err(ApiError::invalid(
                "persona_version must be \"production\" or \"draft\"",
            ));
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

    // The number and its config for the channel asked for, in one read.
    let (number, config_channel, stored_config) = state
        .store
        .number_for_send(&org.id, agent.as_str(), b.channel.as_deref())
        .await?
        .ok_or_else(|| ApiError::agent_number_not_found(agent.as_str()))?;
    let channel = parse_channel(b.channel.as_deref(), &number.channel)?;
    let persona_id = match b.persona_id.as_deref() {
        Some(p) => Some(super::personas::check_persona_ref(&state, &org.id, p).await?),
        None => None,
    };
    let pathway_version = b.pathway_version.map(NumOrString::into_string);
    let settings = b
        .persona_settings
        .as_ref()
        .and_then(|p| serde_json::to_value(p).ok());
    let reply = ReplyRequest {
        persona_id: persona_id.as_deref(),
        persona_version: b.persona_version.as_deref().and_then(PersonaVersion::parse),
        persona_settings: settings.as_ref(),
        pathway_id: b.pathway_id.as_deref(),
        pathway_version: pathway_version.as_deref(),
        start_node_id: b.start_node_id.as_deref(),
    };
    let (text, more, pathway) = match text {
        Some(t) => {
            // The conversation must be able to answer what it names (the opener checks the
            // same itself).
            let to = SourceFor {
                org_id: &org.id,
                agent_number: agent.as_str(),
                channel: channel.as_str(),
                prefix: "",
            };
            check_named_source(&state, &to, &reply).await?;
            (t, Vec::new(), None)
        }
        None => {
            let mut o = opener(
                &state,
                &OpenerFor {
                    org_id: &org.id,
                    agent_number: agent.as_str(),
                    user_number: user.as_str(),
                    channel: channel.as_str(),
                    request_data: b.request_data.as_ref(),
                },
                &reply,
            )
            .await?;
            let first = o.messages.remove(0);
            let more: Vec<NewOutbound> = o.messages.iter().map(|m| outbound(m)).collect();
            (first, more, o.pathway)
        }
    };
    let count = segments::count(&text);
    let admission = send_rules::admit(
        &state,
        &send_rules::SendFacts {
            org_id: &org.id,
            number: &number,
            channel,
            user_number: user.as_str(),
            content_sid: b.content_sid.as_deref(),
            content_variables: b.content_variables.as_ref(),
            segments: i64::from(count.segments),
            idempotency_key: idempotency_key.as_deref(),
        },
    )
    .await?;
    // The number's config for this channel is the lowest layer of the timeout precedence.
    let number_config = if config_channel == channel.as_str() {
        Store::decode_number_config(stored_config)?
    } else {
        state
            .store
            .number_config(number.id, channel.as_str())
            .await?
    };

    let req = SendRequest {
        org_id: org.id.clone(),
        user_number: user.to_string(),
        agent_number: agent.to_string(),
        channel: channel.as_str().to_owned(),
        new_conversation: b.new_conversation.unwrap_or(false),
        fields: ConversationFields {
            request_data: b.request_data.map(Value::Object),
            metadata: b.metadata.map(Value::Object),
            webhook: b.webhook,
            disposition_ids: b.disposition_ids.map(|v| serde_json::json!(v)),
            citation_schema_ids: b.citation_schema_ids.map(|v| serde_json::json!(v)),
            persona_id,
            persona_version: b.persona_version,
            persona_settings: b
                .persona_settings
                .map(|p| serde_json::to_value(p).unwrap_or(Value::Null)),
            pathway_id: b.pathway_id,
            pathway_version,
            start_node_id: b.start_node_id,
            prompt: b.prompt,
            // An opener's node lands with the rest of its run (`pathway`).
            current_node_id: None,
            timeouts,
        },
        number_timeouts: number_config.timeouts(),
        outbound: NewOutbound {
            body: text,
            sender: "AGENT".into(),
            encoding: count.encoding.as_str().into(),
            segments: i64::from(count.segments),
            content_sid: b.content_sid,
            content_variables: b.content_variables.map(Value::Object),
            priority: 0,
        },
        more,
        pathway,
        idempotency: idempotency_key.map(|k| (k, request_hash("POST /v1/sms/send", &body.raw))),
        now: state.clock.now_ms(),
    };
    let accepted = match state.store.accept_send(&req).await? {
        SendOutcome::Accepted(a) => {
            admission.queued(&state);
            metrics::counter!("parley_messages_total", "status" => "queued").increment(1);
            state.dispatch_wake.notify_one();
            a
        }
        SendOutcome::Replayed(a) => a,
        SendOutcome::KeyReused => return Err(ApiError::idempotency_key_reused()),
        SendOutcome::InvalidTimeout(e) => return Err(ApiError::invalid_timeout(e.to_string())),
    };
    Ok(ok(SendSmsOut {
        message: "SMS sent successfully".into(),
        conversation_id: accepted.conversation_id,
        message_id: accepted.message_id,
        workflow_id: accepted.workflow_id,
    }))
}
