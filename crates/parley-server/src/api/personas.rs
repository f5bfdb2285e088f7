//! `/v1/personas` (spec 5): personas in Bland's shapes. `crud` holds create, list, get,
//! update and delete; `versions` the version list, one version and promote; `inbound` the
//! number attach / detach and per-number settings; `input` reads and checks bodies.
//!
//! Another org's persona is answered exactly like one that does not exist
//! (`PERSONA_NOT_FOUND`), and so is an id that is not a UUID.

pub mod crud;
pub mod inbound;
mod input;
pub mod versions;

use std::collections::BTreeMap;

use axum::http::StatusCode;
use parley_domain::clock::iso8601_ms;
use parley_store::{InboundLink, PersonaDetail, PersonaVersionRow};
use serde::Serialize;
use serde_json::{json, Value};
use utoipa::ToSchema;

use super::error::ApiError;
use crate::app::AppState;

/// `PERSONA_NOT_FOUND`, the same for another org's persona and for none at all.
pub fn persona_not_found(id: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "PERSONA_NOT_FOUND",
        "Persona not found or access denied",
    )
    .with_details(json!({ "persona_id": id }))
}

/// A persona id as stored (lowercase hyphenated UUID), or `PERSONA_NOT_FOUND`: an id that is
/// not a UUID names no persona.
pub fn persona_id(raw: &str) -> Result<String, ApiError> {
    uuid::Uuid::parse_str(raw.trim())
        .map(|u| u.hyphenated().to_string())
        .map_err(|_| persona_not_found(raw))
}

/// Checks a `persona_id` a send or a number update names: one of the org's personas, else
/// `PERSONA_NOT_FOUND`. Returns the id in its stored form.
pub async fn check_persona_ref(
    state: &AppState,
    org_id: &str,
    raw: &str,
) -> Result<String, ApiError> {
    let id = persona_id(raw)?;
    if state.store.persona_exists(org_id, &id).await? {
        Ok(id)
    } else {
        Err(persona_not_found(raw))
    }
}

/// One version: the fields Bland documents (defaults where never set) plus every other
/// field stored with it, as sent.
#[derive(Debug, Serialize, ToSchema)]
pub struct PersonaVersionOut {
    pub id: String,
    pub persona_id: String,
    /// `production`, `draft` or `archived`.
    pub version_type: String,
    pub version_number: i64,
    pub orchestration_prompt: Option<String>,
    pub personality_prompt: Option<String>,
    #[schema(value_type = Option<Vec<Object>>)]
    pub pathway_conditions: Value,
    #[schema(value_type = Vec<String>)]
    pub kb_ids: Vec<Value>,
    #[schema(value_type = Option<Object>)]
    pub call_config: Value,
    #[schema(value_type = Vec<Object>)]
    pub default_tools: Vec<Value>,
    pub promoted_from_version_id: Option<String>,
    pub promoted_at: Option<String>,
    /// Always `null`: Parley has no users below the org.
    pub promoted_by: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    /// Fields Parley does not interpret (`memory_enabled`, `skills`, …), round-tripped.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// The versioned fields Parley knows; everything else in a version's config is `extra`.
pub(crate) const VERSION_FIELDS: [&str; 6] = [
    "orchestration_prompt",
    "personality_prompt",
    "pathway_conditions",
    "kb_ids",
    "call_config",
    "default_tools",
];

impl From<&PersonaVersionRow> for PersonaVersionOut {
    fn from(v: &PersonaVersionRow) -> Self {
        let c = &v.config;
        let text = |k: &str| c.get(k).and_then(Value::as_str).map(str::to_owned);
        let list = |k: &str| {
            c.get(k)
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
        };
        Self {
            id: v.id.clone(),
            persona_id: v.persona_id.clone(),
            version_type: v.version_type.as_str().to_owned(),
            version_number: v.version_number,
            orchestration_prompt: text("orchestration_prompt"),
            personality_prompt: text("personality_prompt"),
            pathway_conditions: c.get("pathway_conditions").cloned().unwrap_or(Value::Null),
            kb_ids: list("kb_ids"),
            call_config: c.get("call_config").cloned().unwrap_or(Value::Null),
            default_tools: list("default_tools"),
            promoted_from_version_id: v.promoted_from_version_id.clone(),
            promoted_at: v.promoted_at.map(iso8601_ms),
            promoted_by: v.promoted_by.clone(),
            created_at: iso8601_ms(v.created_at),
            updated_at: iso8601_ms(v.updated_at),
            extra: c
                .iter()
                .filter(|(k, _)| !VERSION_FIELDS.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        }
    }
}

/// A number attached to a persona (Bland's inbound number object).
#[derive(Debug, Serialize, ToSchema)]
pub struct InboundNumberOut {
    pub phone_number: String,
    /// Always `null`: Parley numbers have no label.
    pub label: Option<String>,
    pub persona_id: String,
    /// Parley extension: which version answers on the number (`production` unless set to
    /// `draft` through `/v1/sms/number/update`).
    pub persona_version: String,
    #[schema(value_type = Option<Object>)]
    pub persona_settings: Option<Value>,
}

impl From<&InboundLink> for InboundNumberOut {
    fn from(l: &InboundLink) -> Self {
        Self {
            phone_number: l.phone_number.clone(),
            label: None,
            persona_id: l.persona_id.clone(),
            persona_version: l.persona_version.clone(),
            persona_settings: l.persona_settings.clone(),
        }
    }
}

/// A persona as every persona endpoint returns it.
#[derive(Debug, Serialize, ToSchema)]
pub struct PersonaOut {
    pub id: String,
    pub name: String,
    pub role: Option<String>,
    pub description: Option<String>,
    #[schema(value_type = Vec<String>)]
    pub tags: Vec<Value>,
    pub image_url: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    /// Always `null`: deletes are permanent.
    pub deleted_at: Option<String>,
    /// The owning org's id (Bland's accounts are users; Parley's are orgs).
    pub user_id: String,
    pub current_production_version_id: Option<String>,
    pub current_draft_version_id: Option<String>,
    pub inbound_numbers: Vec<InboundNumberOut>,
    pub current_production_version: Option<PersonaVersionOut>,
    pub current_draft_version: Option<PersonaVersionOut>,
}

impl From<&PersonaDetail> for PersonaOut {
    fn from(d: &PersonaDetail) -> Self {
        let p = &d.persona;
        Self {
            id: p.id.clone(),
            name: p.name.clone(),
            role: p.role.clone(),
            description: p.description.clone(),
            tags: p.tags.as_array().cloned().unwrap_or_default(),
            image_url: p.image_url.clone(),
            created_at: iso8601_ms(p.created_at),
            updated_at: iso8601_ms(p.updated_at),
            deleted_at: None,
            user_id: p.org_id.clone(),
            current_production_version_id: d.production.as_ref().map(|v| v.id.clone()),
            current_draft_version_id: d.draft.as_ref().map(|v| v.id.clone()),
            inbound_numbers: d.inbound_numbers.iter().map(Into::into).collect(),
            current_production_version: d.production.as_ref().map(Into::into),
            current_draft_version: d.draft.as_ref().map(Into::into),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct PersonaEnvelope {
    pub data: PersonaOut,
    #[schema(value_type = Option<Object>)]
    pub errors: Option<()>,
}

#[derive(Serialize, ToSchema)]
pub struct PersonasEnvelope {
    pub data: Vec<PersonaOut>,
    #[schema(value_type = Option<Object>)]
    pub errors: Option<()>,
}
