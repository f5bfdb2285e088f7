//! Reading persona bodies. The typed structs check each known field's type (so a wrong type
//! is a 400 naming the field); the stored config is then taken from the raw JSON, so
//! unknown fields and the exact values sent round-trip.

use std::collections::BTreeMap;

use parley_domain::{number_config::Patch, PhoneNumber};
use parley_store::{NewPersona, PersonaPatch};
use serde::Deserialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::VERSION_FIELDS;
use crate::api::{error::ApiError, send::NumOrString};

/// Longest `name`, in characters.
const MAX_NAME_CHARS: usize = 255;
/// Most numbers one attach or detach call may name.
pub const MAX_INBOUND_NUMBERS: usize = 1000;

/// Fields the server owns: a client that sends back a persona it read gets them ignored,
/// not stored as unknown config.
const SERVER_FIELDS: [&str; 16] = [
    "id",
    "user_id",
    "created_at",
    "updated_at",
    "deleted_at",
    "current_production_version_id",
    "current_draft_version_id",
    "current_production_version",
    "current_draft_version",
    "inbound_numbers",
    "persona_id",
    "version_type",
    "version_number",
    "promoted_from_version_id",
    "promoted_at",
    "promoted_by",
];

/// Persona-level fields: they apply at once, outside the versions.
const PERSONA_FIELDS: [&str; 5] = ["name", "role", "description", "tags", "image_url"];

/// A `pathway_conditions` entry: every field optional (Bland's dashboard saves blank ones).
#[derive(Debug, Deserialize, ToSchema)]
pub struct PathwayConditionIn {
    pub name: Option<String>,
    /// When to route to this pathway.
    pub prompt: Option<String>,
    pub pathway_id: Option<String>,
    /// A string, or a number.
    #[schema(value_type = Option<String>)]
    pub pathway_version: Option<NumOrString>,
    pub start_node_id: Option<String>,
}

/// Body of `POST /v1/personas` and `PATCH /v1/personas/{persona_id}`. Any other field is
/// stored with the version as sent and returned with it.
#[derive(Debug, Deserialize, ToSchema)]
pub struct PersonaIn {
    /// Required on create; optional on update (Bland marks it required there too).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub name: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub role: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub description: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<Vec<String>>)]
    pub tags: Patch<Vec<String>>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub image_url: Patch<String>,
    /// Voice settings (`voice`, `record`, `language`, …), stored as sent.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub call_config: Patch<Map<String, Value>>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub orchestration_prompt: Patch<String>,
    /// The persona's prompt: the objective of its conversations when no pathway applies.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub personality_prompt: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<Vec<Object>>)]
    pub default_tools: Patch<Vec<Value>>,
    /// Routing rules; the first with a `pathway_id` is the persona's default route.
    #[serde(default)]
    #[schema(value_type = Option<Vec<PathwayConditionIn>>)]
    pub pathway_conditions: Patch<Vec<PathwayConditionIn>>,
    #[serde(default)]
    #[schema(value_type = Option<Vec<String>>)]
    pub kb_ids: Patch<Vec<String>>,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

fn check_name(name: Patch<String>, required: bool) -> Result<Option<String>, ApiError> {
    match name {
        Patch::Value(n) if !n.trim().is_empty() && n.chars().count() <= MAX_NAME_CHARS => {
            Ok(Some(n))
        }
        Patch::Value(_) => Err(ApiError::invalid(format!(
            "name must be 1 to {MAX_NAME_CHARS} characters"
        ))),
        Patch::Absent if !required => Ok(None),
        _ => Err(ApiError::invalid("name is required (a non-empty string)")),
    }
}

fn check_image_url(url: Patch<String>) -> Result<Patch<String>, ApiError> {
    url.try_map(|u| {
        if (u.starts_with("https://") || u.starts_with("http://")) && u.len() <= 2048 {
            Ok(u)
        } else {
            Err(ApiError::invalid(
                "image_url must be an http:// or https:// URL of at most 2048 characters",
            ))
        }
    })
}

/// The versioned fields of a body as sent: known ones (already type-checked) and unknown
/// ones, minus persona-level and server-owned fields.
fn version_config(raw: &Value) -> Map<String, Value> {
    raw.as_object()
        .map(|o| {
            o.iter()
                .filter(|(k, _)| {
                    !PERSONA_FIELDS.contains(&k.as_str()) && !SERVER_FIELDS.contains(&k.as_str())
                })
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default()
}

fn tags(t: Vec<String>) -> Vec<Value> {
    t.into_iter().map(Value::String).collect()
}

/// A create body: `name` required; versioned fields not sent are stored as unset.
pub fn new_persona(body: PersonaIn, raw: &Value) -> Result<NewPersona, ApiError> {
    let name = check_name(body.name, true)?.unwrap_or_default();
    let image_url = check_image_url(body.image_url)?;
    let value = |p: Patch<String>| match p {
        Patch::Value(v) => Some(v),
        _ => None,
    };
    let mut config = version_config(raw);
    // A field sent as null is the same as not sent on create.
    config.retain(|k, v| !(v.is_null() && VERSION_FIELDS.contains(&k.as_str())));
    Ok(NewPersona {
        name,
        role: value(body.role),
        description: value(body.description),
        tags: match body.tags {
            Patch::Value(t) => tags(t),
            _ => Vec::new(),
        },
        image_url: value(image_url),
        config,
    })
}

/// An update body: persona fields change at once, the rest goes to the draft.
pub fn persona_patch(body: PersonaIn, raw: &Value) -> Result<PersonaPatch, ApiError> {
    Ok(PersonaPatch {
        name: check_name(body.name, false)?,
        role: body.role,
        description: body.description,
        tags: match body.tags {
            Patch::Value(t) => Some(tags(t)),
            Patch::Null => Some(Vec::new()),
            Patch::Absent => None,
        },
        image_url: check_image_url(body.image_url)?,
        config: version_config(raw),
    })
}

/// Body of `POST /v1/personas/{persona_id}/inbound/attach` and `/detach`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct InboundNumbersIn {
    /// E.164 numbers of the caller's org.
    pub inbound_numbers: Option<Vec<String>>,
}

/// The numbers of an attach or detach body, checked and without repeats.
pub fn inbound_numbers(body: InboundNumbersIn) -> Result<Vec<String>, ApiError> {
    let numbers = body.inbound_numbers.ok_or_else(|| {
        ApiError::invalid("inbound_numbers is required (an array of E.164 numbers)")
    })?;
    if numbers.is_empty() || numbers.len() > MAX_INBOUND_NUMBERS {
        return Err(ApiError::invalid(format!(
            "inbound_numbers must list 1 to {MAX_INBOUND_NUMBERS} numbers"
        )));
    }
    let mut out: Vec<String> = Vec::with_capacity(numbers.len());
    for (i, n) in numbers.iter().enumerate() {
        let n = PhoneNumber::parse(n)
            .map_err(|e| ApiError::invalid(format!("inbound_numbers[{i}]: {e}")))?
            .to_string();
        if !out.contains(&n) {
            out.push(n);
        }
    }
    Ok(out)
}

/// `persona_settings` of a number: the pathway override.
#[derive(Debug, Deserialize, ToSchema)]
pub struct PersonaSettingsIn {
    pub pathway_id: Option<String>,
    /// A number (Bland's type), or a string.
    #[schema(value_type = Option<f64>)]
    pub pathway_version: Option<NumOrString>,
    pub start_node_id: Option<String>,
}

/// Body of `PATCH /v1/personas/{persona_id}/inbound/{phone_number}/settings`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SettingsIn {
    /// The override, or `null` to clear it. Required.
    #[serde(default)]
    #[schema(value_type = Option<PersonaSettingsIn>)]
    pub persona_settings: Patch<PersonaSettingsIn>,
}

/// The settings to store (`None` clears), taken from the raw body once type-checked.
pub fn settings(body: SettingsIn, raw: &Value) -> Result<Option<Value>, ApiError> {
    match body.persona_settings {
        Patch::Absent => Err(ApiError::invalid(
            "persona_settings is required (an object, or null to clear)",
        )),
        Patch::Null => Ok(None),
        Patch::Value(_) => Ok(raw.get("persona_settings").cloned()),
    }
}
