//! The numbers a persona answers on: attach, detach, and the per-number settings.

use axum::{
    extract::{Path, State},
    http::StatusCode,
    Json,
};
use parley_domain::{clock::iso8601_ms, PhoneNumber};
use parley_store::{AttachOutcome, SettingsOutcome};
use serde::Serialize;
use serde_json::{json, Value};
use utoipa::ToSchema;

use super::{
    input::{inbound_numbers, settings, InboundNumbersIn, SettingsIn},
    persona_id, persona_not_found, PersonaEnvelope, PersonaOut,
};
use crate::{
    api::{
        auth::Org,
        error::{ok, ApiError, Envelope, ErrorBody},
        extract::BlandJson,
    },
    app::AppState,
};

#[utoipa::path(
    post, path = "/v1/personas/{persona_id}/inbound/attach", tag = "personas",
    params(("persona_id" = String, Path, description = "Persona id (UUID)")),
    request_body = InboundNumbersIn,
    responses(
        (status = 200, description = "The persona with its numbers. A number that served another persona moves here and loses its settings", body = PersonaEnvelope),
        (status = 400, description = "`INVALID_INBOUND_NUMBERS`: some numbers are not the caller's (nothing attached; `details.invalid_numbers` lists them); `INVALID_PARAMETER`: missing or malformed list", body = ErrorBody),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
        (status = 404, description = "`PERSONA_NOT_FOUND`", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn attach(
    State(state): State<AppState>,
    org: Org,
    Path(raw): Path<String>,
    body: BlandJson<InboundNumbersIn>,
) -> Result<Json<Envelope<PersonaOut>>, ApiError> {
    let id = persona_id(&raw)?;
    let numbers = inbound_numbers(body.value)?;
    let now = state.clock.now_ms();
    match state
        .store
        .attach_numbers(&org.id, &id, &numbers, "production", now)
        .await?
    {
        AttachOutcome::Attached(d) => Ok(ok(d.as_ref().into())),
        AttachOutcome::PersonaNotFound => Err(persona_not_found(&raw)),
        AttachOutcome::InvalidNumbers(bad) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "INVALID_INBOUND_NUMBERS",
            "Some phone numbers were not found or do not belong to you",
        )
        .with_details(json!({ "invalid_numbers": bad }))),
    }
}

#[utoipa::path(
    post, path = "/v1/personas/{persona_id}/inbound/detach", tag = "personas",
    params(("persona_id" = String, Path, description = "Persona id (UUID)")),
    request_body = InboundNumbersIn,
    responses(
        (status = 200, description = "The persona with the numbers still attached. Detached numbers lose their persona settings; numbers not attached to it are left alone", body = PersonaEnvelope),
        (status = 400, description = "Missing or malformed list (`INVALID_PARAMETER`)", body = ErrorBody),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
        (status = 404, description = "`PERSONA_NOT_FOUND`", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn detach(
    State(state): State<AppState>,
    org: Org,
    Path(raw): Path<String>,
    body: BlandJson<InboundNumbersIn>,
) -> Result<Json<Envelope<PersonaOut>>, ApiError> {
    let id = persona_id(&raw)?;
    let numbers = inbound_numbers(body.value)?;
    let d = state
        .store
        .detach_numbers(&org.id, &id, &numbers, state.clock.now_ms())
        .await?
        .ok_or_else(|| persona_not_found(&raw))?;
    Ok(ok((&d).into()))
}

/// The number's record after a settings change.
#[derive(Debug, Serialize, ToSchema)]
pub struct InboundSettingsOut {
    /// Parley's id of the number.
    pub id: i64,
    pub phone_number: String,
    pub persona_id: String,
    #[schema(value_type = Option<Object>)]
    pub persona_settings: Option<Value>,
    pub updated_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct InboundSettingsEnvelope {
    pub data: InboundSettingsOut,
    #[schema(value_type = Option<Object>)]
    pub errors: Option<()>,
}

fn inbound_not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "INBOUND_NOT_FOUND",
        "Inbound number not found or not attached to this persona",
    )
}

#[utoipa::path(
    patch, path = "/v1/personas/{persona_id}/inbound/{phone_number}/settings", tag = "personas",
    params(
        ("persona_id" = String, Path, description = "Persona id (UUID)"),
        ("phone_number" = String, Path, description = "E.164 number attached to the persona"),
    ),
    request_body = SettingsIn,
    responses(
        (status = 200, description = "The number's persona settings after the change", body = InboundSettingsEnvelope),
        (status = 400, description = "Missing persona_settings or a field of the wrong type (`INVALID_PARAMETER`)", body = ErrorBody),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
        (status = 404, description = "`PERSONA_NOT_FOUND`, or `INBOUND_NOT_FOUND`: not the caller's number, or not attached to this persona", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn update_settings(
    State(state): State<AppState>,
    org: Org,
    Path((raw, number)): Path<(String, String)>,
    body: BlandJson<SettingsIn>,
) -> Result<Json<Envelope<InboundSettingsOut>>, ApiError> {
    let id = persona_id(&raw)?;
    let new = settings(body.value, &body.raw)?;
    let Ok(number) = PhoneNumber::parse(&number) else {
        // Not a number at all: it cannot be attached to anything.
        return if state.store.persona_exists(&org.id, &id).await? {
            Err(inbound_not_found())
        } else {
            Err(persona_not_found(&raw))
        };
    };
    match state
        .store
        .set_number_persona_settings(
            &org.id,
            &id,
            number.as_str(),
            new.as_ref(),
            state.clock.now_ms(),
        )
        .await?
    {
        SettingsOutcome::Updated(l) => Ok(ok(InboundSettingsOut {
            id: l.number_id,
            phone_number: l.phone_number,
            persona_id: l.persona_id,
            persona_settings: l.persona_settings,
            updated_at: iso8601_ms(l.updated_at),
        })),
        SettingsOutcome::PersonaNotFound => Err(persona_not_found(&raw)),
        SettingsOutcome::InboundNotFound => Err(inbound_not_found()),
    }
}
