//! `POST /v1/sms/number/update`: merge a partial update into a number's channel config
//! (spec 2.6). A field that is absent keeps its value, an explicit `null` clears it (fields
//! with a default go back to it), a value replaces it. The merged config is validated as a
//! whole and stored all or nothing.

use axum::{extract::State, Json};
use parley_domain::{
    number_config::{NumberConfig, NumberConfigPatch, Patch},
    Channel,
};
use parley_store::ConfigUpdate;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::ChannelConfigs;
use crate::{
    api::{
        auth::Org,
        error::{ok, ApiError, Envelope, ErrorBody},
        extract::BlandJson,
        send::{check_webhook, parse_channel, parse_number, seconds, NumOrString},
    },
    app::AppState,
};

/// Body of `POST /v1/sms/number/update`. Every field but `phone_number` is optional; see
/// the module docs for absent / `null` / value.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct UpdateNumberIn {
    #[schema(required = true, value_type = String, pattern = r"^\+[1-9][0-9]{7,14}$")]
    pub phone_number: Option<String>,
    /// Which config to change: `sms` (default), `whatsapp` or `imessage`.
    #[schema(value_type = Option<crate::api::doc::ChannelDoc>)]
    pub channel: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub webhook: Patch<String>,
    /// An object of variables (or Bland's default, an empty array).
    #[serde(default)]
    #[schema(schema_with = crate::api::doc::object_array_or_null)]
    pub request_data: Patch<Value>,
    /// Seconds; `null` or `""` means never.
    #[serde(default, deserialize_with = "patch_seconds")]
    #[schema(value_type = Option<f64>)]
    pub time_out: Patch<i64>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub timeout_action: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub timeout_message: Patch<String>,
    /// Seconds, below `time_out`; `null` or `""` clears it.
    #[serde(default, deserialize_with = "patch_seconds")]
    #[schema(value_type = Option<f64>)]
    pub warning_time: Patch<i64>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub warning_message: Patch<String>,
    /// Twilio Messaging Service SID: `MG` and 32 hex digits.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub messaging_service_sid: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub objective: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<Vec<Object>>)]
    pub tools: Patch<Vec<Value>>,
    /// 0 to 2.
    #[serde(default)]
    #[schema(value_type = Option<f64>)]
    pub temperature: Patch<f64>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub pathway_id: Patch<String>,
    /// A string, or a number (stored as a string).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub pathway_version: Patch<NumOrString>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub start_node_id: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<bool>)]
    pub restart_after_end_call: Patch<bool>,
    /// IANA zone, e.g. `America/New_York`.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub timezone: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub summary_prompt: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<Vec<String>>)]
    pub disposition_ids: Patch<Vec<String>>,
    #[serde(default)]
    #[schema(value_type = Option<Vec<String>>)]
    pub citation_schema_ids: Patch<Vec<String>>,
    /// Parley: the answer to a whole-message HELP (sent even to opted-out users, no agent
    /// turn); `null` clears it and HELP becomes an ordinary message.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub help_message: Patch<String>,
    /// Parley: the persona answering on this number (the same link as
    /// `/v1/personas/{id}/inbound/attach`); `null` detaches it. Must be one of the org's
    /// personas, else `PERSONA_NOT_FOUND`.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub persona_id: Patch<String>,
    /// With `persona_id`: `production` (default) or `draft`.
    pub persona_version: Option<String>,
}

/// Like [`seconds`], but for a partial update: `null` and Bland's blank `""` clear.
fn patch_seconds<'de, D: Deserializer<'de>>(d: D) -> Result<Patch<i64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Blank(String),
        Secs(#[serde(deserialize_with = "seconds")] Option<i64>),
    }
    match Raw::deserialize(d) {
        Ok(Raw::Secs(None)) => Ok(Patch::Null),
        Ok(Raw::Secs(Some(s))) => Ok(Patch::Value(s)),
        Ok(Raw::Blank(s)) if s.trim().is_empty() => Ok(Patch::Null),
        _ => Err(serde::de::Error::custom(
            "must be a non-negative number of seconds, or null / \"\" for never",
        )),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UpdateNumberOut {
    /// `SMS config updated for number <E.164>`.
    pub message: String,
    #[serde(flatten)]
    pub configs: ChannelConfigs,
}

#[derive(Serialize, ToSchema)]
pub struct UpdateNumberEnvelope {
    pub data: UpdateNumberOut,
    #[schema(value_type = Option<Object>)]
    pub errors: Option<()>,
}

#[utoipa::path(
    post, path = "/v1/sms/number/update", tag = "numbers",
    request_body = UpdateNumberIn,
    responses(
        (status = 200, description = "The full config after the update, defaults filled in", body = UpdateNumberEnvelope),
        (status = 400, description = "Invalid field (`INVALID_PARAMETER`) or warning_time not below time_out (`INVALID_TIMEOUT_CONFIG`)", body = ErrorBody),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
        (status = 404, description = "Not one of the caller's numbers (`AGENT_NUMBER_NOT_FOUND`), or persona_id is not one of its personas (`PERSONA_NOT_FOUND`)", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn update_number(
    State(state): State<AppState>,
    org: Org,
    body: BlandJson<UpdateNumberIn>,
) -> Result<Json<Envelope<UpdateNumberOut>>, ApiError> {
    let b = body.value;
    let number = parse_number("phone_number", b.phone_number.as_deref())?;
    let channel = parse_channel(b.channel.as_deref(), "sms")?;
    let persona = persona_link(&state, &org, b.persona_id, b.persona_version).await?;
    let patch = NumberConfigPatch {
        webhook: b.webhook.try_map(|w| check_webhook(&w).map(|()| w))?,
        request_data: b.request_data.try_map(|v| match v {
            Value::Object(_) | Value::Array(_) => Ok(v),
            _ => Err(ApiError::invalid(
                "request_data must be an object or an array",
            )),
        })?,
        time_out: b.time_out,
        timeout_action: b
            .timeout_action
            .try_map(|a| bounded("timeout_action", a, 64))?,
        timeout_message: b.timeout_message,
        warning_time: b.warning_time,
        warning_message: b.warning_message,
        messaging_service_sid: b
            .messaging_service_sid
            .try_map(check_messaging_service_sid)?,
        objective: b.objective,
        tools: b.tools,
        temperature: b.temperature.try_map(check_temperature)?,
        pathway_id: b.pathway_id,
        pathway_version: b.pathway_version.map(NumOrString::into_string),
        start_node_id: b.start_node_id,
        restart_after_end_call: b.restart_after_end_call,
        timezone: b.timezone.try_map(check_timezone)?,
        summary_prompt: b.summary_prompt,
        disposition_ids: b
            .disposition_ids
            .try_map(|ids| non_blank_ids("disposition_ids", ids))?,
        citation_schema_ids: b
            .citation_schema_ids
            .try_map(|ids| non_blank_ids("citation_schema_ids", ids))?,
        ignore_keywords: Patch::Absent,
        help_message: b.help_message.try_map(check_help_message)?,
    };
    let config = apply_patch(
        &state,
        &org,
        "phone_number",
        number.as_str(),
        channel,
        patch,
    )
    .await?;
    let now = state.clock.now_ms();
    match &persona {
        PersonaChange::Keep => {}
        PersonaChange::Detach => {
            state
                .store
                .set_number_persona(&org.id, number.as_str(), None, now)
                .await?;
        }
        PersonaChange::Attach { id, version } => {
            let link = Some((id.as_str(), version.as_str()));
            if !state
                .store
                .set_number_persona(&org.id, number.as_str(), link, now)
                .await?
            {
                // Deleted between the check and now.
                return Err(crate::api::personas::persona_not_found(id));
            }
        }
    }
    Ok(ok(UpdateNumberOut {
        message: format!("SMS config updated for number {number}"),
        configs: ChannelConfigs::new(channel, &config),
    }))
}

/// Stores a patch for one of the org's numbers and returns the merged config. Shared with
/// the legacy endpoints, which change subsets of the same config.
pub(super) async fn apply_patch(
    state: &AppState,
    org: &Org,
    field: &str,
    number: &str,
    channel: Channel,
    patch: NumberConfigPatch,
) -> Result<NumberConfig, ApiError> {
    let now = state.clock.now_ms();
    match state
        .store
        .update_number_config(&org.id, number, channel.as_str(), patch, now)
        .await?
    {
        ConfigUpdate::Updated(c) => Ok(*c),
        ConfigUpdate::NumberNotFound => Err(ApiError::number_not_found(field, number)),
        ConfigUpdate::Invalid(e) => Err(ApiError::invalid_timeout(e.to_string())),
    }
}

/// What a number update does to the number's persona.
enum PersonaChange {
    Keep,
    Detach,
    Attach { id: String, version: String },
}

/// Checks `persona_id` / `persona_version` of a number update before anything is written.
async fn persona_link(
    state: &AppState,
    org: &Org,
    persona_id: Patch<String>,
    version: Option<String>,
) -> Result<PersonaChange, ApiError> {
    if let Some(v) = &version {
        if parley_domain::personas::PersonaVersion::parse(v).is_none() {
            return Err(ApiError::invalid(
                "persona_version must be \"production\" or \"draft\"",
            ));
        }
        if !matches!(persona_id, Patch::Value(_)) {
            return Err(ApiError::invalid("persona_version needs a persona_id"));
        }
    }
    Ok(match persona_id {
        Patch::Absent => PersonaChange::Keep,
        Patch::Null => PersonaChange::Detach,
        Patch::Value(raw) => PersonaChange::Attach {
            id: crate::api::personas::check_persona_ref(state, &org.id, &raw).await?,
            version: version.unwrap_or_else(|| "production".into()),
        },
    })
}

/// LLM temperatures run from 0 (deterministic) to 2.
pub(super) fn check_temperature(t: f64) -> Result<f64, ApiError> {
    if (0.0..=2.0).contains(&t) {
        Ok(t)
    } else {
        Err(ApiError::invalid("temperature must be between 0 and 2"))
    }
}

fn bounded(field: &str, s: String, max: usize) -> Result<String, ApiError> {
    if s.trim().is_empty() || s.chars().count() > max {
        return Err(ApiError::invalid(format!(
            "{field} must be 1 to {max} characters"
        )));
    }
    Ok(s)
}

fn non_blank_ids(field: &str, ids: Vec<String>) -> Result<Vec<String>, ApiError> {
    if ids.iter().any(|id| id.trim().is_empty()) {
        return Err(ApiError::invalid(format!(
            "{field} must not contain empty ids"
        )));
    }
    Ok(ids)
}

fn check_messaging_service_sid(sid: String) -> Result<String, ApiError> {
    let ok =
        sid.len() == 34 && sid.starts_with("MG") && sid[2..].bytes().all(|b| b.is_ascii_hexdigit());
    if ok {
        Ok(sid)
    } else {
        Err(ApiError::invalid(
            "messaging_service_sid must be a Twilio Messaging Service SID: MG and 32 hex digits",
        ))
    }
}

/// Accepts what an IANA zone name looks like (`UTC`, `America/New_York`, `Etc/GMT+5`).
/// Without a zone database we cannot know every name, but a typo'd shape (spaces, empty
/// parts, an offset like `+02:00`) is refused early.
/// A help answer is sent as is, so it must be a message the send API would accept.
fn check_help_message(text: String) -> Result<String, ApiError> {
    let chars = text.chars().count();
    if text.trim().is_empty() || chars > crate::api::send::MAX_MESSAGE_CHARS {
        return Err(ApiError::invalid(format!(
            "help_message must be 1 to {} characters",
            crate::api::send::MAX_MESSAGE_CHARS
        )));
    }
    Ok(text)
}

fn check_timezone(tz: String) -> Result<String, ApiError> {
    let part_ok = |p: &str| {
        !p.is_empty()
            && p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'+'))
    };
    let ok = tz.len() <= 64
        && tz.starts_with(|c: char| c.is_ascii_uppercase())
        && tz.split('/').all(part_ok);
    if ok {
        Ok(tz)
    } else {
        Err(ApiError::invalid(
            "timezone must be an IANA zone name such as America/New_York or UTC",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timezones_look_like_iana_names() {
        for ok in [
            "UTC",
            "America/New_York",
            "Etc/GMT+5",
            "America/Argentina/Buenos_Aires",
        ] {
            assert!(check_timezone(ok.into()).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "utc",
            "+02:00",
            "America/",
            "America/New York",
            "Europe//Paris",
        ] {
            assert!(check_timezone(bad.into()).is_err(), "{bad}");
        }
    }

    #[test]
    fn messaging_service_sids_are_mg_and_32_hex() {
        assert!(check_messaging_service_sid(format!("MG{}", "a1".repeat(16))).is_ok());
        assert!(check_messaging_service_sid(format!("PN{}", "a1".repeat(16))).is_err());
        assert!(check_messaging_service_sid("MG123".into()).is_err());
    }
}
