//! Bland's legacy number endpoints (spec 2.7 to 2.9). They still appear in Bland's
//! tutorials, so clients call them. Success bodies are Bland's bare `{"status": "…"}`, not
//! the envelope; errors use the envelope like every other endpoint.

use axum::{extract::State, Json};
use parley_domain::{
    number_config::{NumberConfigPatch, Patch},
    Channel,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::update::{apply_patch, check_temperature};
use crate::{
    api::{
        auth::Org,
        error::{ApiError, ErrorBody},
        extract::BlandJson,
        send::{check_webhook, parse_channel, parse_number},
    },
    app::AppState,
};

/// Bland's legacy success body.
#[derive(Debug, Serialize, ToSchema)]
pub struct LegacyStatusOut {
    pub status: String,
}

fn status(s: &str) -> Json<LegacyStatusOut> {
    Json(LegacyStatusOut { status: s.into() })
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct WebhookUpdateIn {
    #[schema(required = true, value_type = String, pattern = r"^\+[1-9][0-9]{7,14}$")]
    pub phone_number: Option<String>,
    /// The SMS webhook URL; `null` removes it.
    #[serde(default)]
    #[schema(required = true, value_type = Option<String>, max_length = 2048, pattern = r"^https?://[^ ]*$")]
    pub webhook: Patch<String>,
}

#[utoipa::path(
    post, path = "/v1/sms/webhook/update", tag = "numbers",
    request_body = WebhookUpdateIn,
    responses(
        (status = 200, description = "`{\"status\": \"success\"}` (legacy, not enveloped)", body = LegacyStatusOut),
        (status = 400, description = "Missing or invalid field", body = ErrorBody),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
        (status = 404, description = "Not one of the caller's numbers", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn update_webhook(
    State(state): State<AppState>,
    org: Org,
    body: BlandJson<WebhookUpdateIn>,
) -> Result<Json<LegacyStatusOut>, ApiError> {
    let b = body.value;
    let number = parse_number("phone_number", b.phone_number.as_deref())?;
    if b.webhook.is_absent() {
        return Err(ApiError::invalid(
            "webhook is required (a URL, or null to remove it)",
        ));
    }
    let patch = NumberConfigPatch {
        webhook: b.webhook.try_map(|w| check_webhook(&w).map(|()| w))?,
        ..Default::default()
    };
    apply_patch(
        &state,
        &org,
        "phone_number",
        number.as_str(),
        Channel::Sms,
        patch,
    )
    .await?;
    Ok(status("success"))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct LegacyUpdateIn {
    #[schema(required = true, value_type = String, pattern = r"^\+[1-9][0-9]{7,14}$")]
    pub phone_number: Option<String>,
    /// `sms` (default), `whatsapp` or `imessage`.
    #[schema(value_type = Option<crate::api::doc::ChannelDoc>)]
    pub channel: Option<String>,
    /// The reply prompt; stored as the config's `objective`.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub prompt: Patch<String>,
    /// Messages containing one of these get no AI reply; `null` disables.
    #[serde(default)]
    #[schema(schema_with = crate::api::doc::non_blank_words_or_null)]
    pub ignore_keywords: Patch<Vec<String>>,
    #[serde(default)]
    #[schema(value_type = Option<f64>, minimum = 0, maximum = 2)]
    pub temperature: Patch<f64>,
}

#[utoipa::path(
    post, path = "/v1/sms/update", tag = "numbers",
    request_body = LegacyUpdateIn,
    responses(
        (status = 200, description = "`{\"status\": \"Prompt updated\"}` (legacy, not enveloped)", body = LegacyStatusOut),
        (status = 400, description = "Missing or invalid field", body = ErrorBody),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
        (status = 404, description = "Not one of the caller's numbers", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn update_prompt(
    State(state): State<AppState>,
    org: Org,
    body: BlandJson<LegacyUpdateIn>,
) -> Result<Json<LegacyStatusOut>, ApiError> {
    let b = body.value;
    let number = parse_number("phone_number", b.phone_number.as_deref())?;
    let channel = parse_channel(b.channel.as_deref(), "sms")?;
    let patch = NumberConfigPatch {
        objective: b.prompt,
        ignore_keywords: b.ignore_keywords.try_map(|words| {
            if words.iter().any(|w| w.trim().is_empty()) {
                Err(ApiError::invalid(
                    "ignore_keywords must not contain empty words",
                ))
            } else {
                Ok(words)
            }
        })?,
        temperature: b.temperature.try_map(check_temperature)?,
        ..Default::default()
    };
    apply_patch(
        &state,
        &org,
        "phone_number",
        number.as_str(),
        channel,
        patch,
    )
    .await?;
    Ok(status("Prompt updated"))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ToggleIn {
    #[schema(required = true, value_type = String, pattern = r"^\+[1-9][0-9]{7,14}$")]
    pub phone_number: Option<String>,
    /// `true`: the AI stops replying on the number (human mode); `false`: it replies again.
    #[schema(required = true, value_type = bool)]
    pub on: Option<bool>,
}

#[utoipa::path(
    post, path = "/v1/sms/toggle", tag = "numbers",
    request_body = ToggleIn,
    responses(
        (status = 200, description = "`{\"status\": \"Turned human mode on\"}` or `…off` (legacy, not enveloped)", body = LegacyStatusOut),
        (status = 400, description = "Missing or invalid field", body = ErrorBody),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
        (status = 404, description = "Not one of the caller's numbers", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn toggle_human_mode(
    State(state): State<AppState>,
    org: Org,
    body: BlandJson<ToggleIn>,
) -> Result<Json<LegacyStatusOut>, ApiError> {
    let b = body.value;
    let number = parse_number("phone_number", b.phone_number.as_deref())?;
    let on =
        b.on.ok_or_else(|| ApiError::invalid("on is required (true or false)"))?;
    if !state
        .store
        .set_human_mode(&org.id, number.as_str(), on)
        .await?
    {
        return Err(ApiError::number_not_found("phone_number", number.as_str()));
    }
    Ok(status(if on {
        "Turned human mode on"
    } else {
        "Turned human mode off"
    }))
}
