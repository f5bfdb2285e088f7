//! Personas (spec 5), the pure parts: version kinds, the pathway overrides each layer can
//! name, and which layer drives a conversation's replies.
//!
//! Reply precedence, highest first (spec 2.1 and 5; the lower layers are our reading):
//! 1. the send's `persona_settings` (`pathway_id`, `pathway_version`, `start_node_id`);
//! 2. the request's own `pathway_id` / `pathway_version` / `start_node_id`;
//! 3. the number's persona settings (set with `PATCH /v1/personas/{id}/inbound/{n}/settings`);
//! 4. the persona's routing: its first usable `pathway_conditions` entry, then its
//!    `personality_prompt` as the objective (a persona replaces the number's config);
//! 5. the number's own `pathway_id`, then its `objective`.
//!
//! A layer counts only when it names something: a blank `pathway_id` (Bland's dashboard
//! saves empty placeholder conditions) or a blank prompt falls through to the next layer.
//! Each layer's version and start node stay with that layer's pathway; they never mix.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A persona version's role. A persona has exactly one production and one draft version;
/// archived versions are former productions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VersionType {
    Production,
    Draft,
    Archived,
}

impl VersionType {
    pub fn as_str(self) -> &'static str {
        match self {
            VersionType::Production => "production",
            VersionType::Draft => "draft",
            VersionType::Archived => "archived",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "production" => Some(VersionType::Production),
            "draft" => Some(VersionType::Draft),
            "archived" => Some(VersionType::Archived),
            _ => None,
        }
    }
}

/// Which version a send or a number uses (`persona_version`): production unless told.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PersonaVersion {
    #[default]
    Production,
    Draft,
}

impl PersonaVersion {
    /// `"production"` or `"draft"`, exactly as Bland spells them.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "production" => Some(PersonaVersion::Production),
            "draft" => Some(PersonaVersion::Draft),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        self.version_type().as_str()
    }

    pub fn version_type(self) -> VersionType {
        match self {
            PersonaVersion::Production => VersionType::Production,
            PersonaVersion::Draft => VersionType::Draft,
        }
    }
}

/// A non-blank string, or a number written as one (ids and versions arrive both ways).
fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// What one layer says about the pathway: the shape of `persona_settings`, of a
/// `pathway_conditions` entry, and of the pathway fields of a send or a number config.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PathwayOverride {
    pub pathway_id: Option<String>,
    pub pathway_version: Option<String>,
    pub start_node_id: Option<String>,
}

impl PathwayOverride {
    /// Reads `{pathway_id, pathway_version, start_node_id}` from a JSON object; anything
    /// else (null, a string, an array) names nothing.
    pub fn from_json(v: &Value) -> Self {
        Self {
            pathway_id: text(v.get("pathway_id")),
            pathway_version: text(v.get("pathway_version")),
            start_node_id: text(v.get("start_node_id")),
        }
    }

    /// The pathway this layer names, if its id is not blank.
    pub fn choice(&self) -> Option<PathwayChoice> {
        let id = self
            .pathway_id
            .as_deref()
            .filter(|s| !s.trim().is_empty())?;
        Some(PathwayChoice {
            pathway_id: id.to_owned(),
            version: self
                .pathway_version
                .clone()
                .filter(|s| !s.trim().is_empty()),
            start_node_id: self.start_node_id.clone().filter(|s| !s.trim().is_empty()),
        })
    }
}

/// What the persona's version contributes: its routing rules and its own prompt.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PersonaRouting {
    /// `pathway_conditions`, in order. Bland's orchestrator picks one from the
    /// conversation's context; until Parley has one, the first usable entry is the
    /// persona's default route.
    pub conditions: Vec<PathwayOverride>,
    /// `personality_prompt`: the objective when no condition names a pathway.
    pub prompt: Option<String>,
}

impl PersonaRouting {
    /// Reads a version's config object (`pathway_conditions`, `personality_prompt`).
    pub fn from_version_config(config: &Value) -> Self {
        let conditions = config
            .get("pathway_conditions")
            .and_then(Value::as_array)
            .map(|a| a.iter().map(PathwayOverride::from_json).collect())
            .unwrap_or_default();
        Self {
            conditions,
            prompt: text(config.get("personality_prompt")),
        }
    }
}

/// A pathway to run. `version: None` means the pathway's default version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathwayChoice {
    pub pathway_id: String,
    pub version: Option<String>,
    pub start_node_id: Option<String>,
}

/// The layer a reply source came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplyOrigin {
    SendPersonaSettings,
    RequestPathway,
    NumberPersonaSettings,
    PersonaRouting,
    PersonaPrompt,
    NumberPathway,
    NumberObjective,
}

/// What drives the conversation's next agent turn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplySource {
    Pathway {
        pathway: PathwayChoice,
        from: ReplyOrigin,
    },
    Objective {
        prompt: String,
        from: ReplyOrigin,
    },
    /// No layer names anything.
    Nothing,
}

impl ReplySource {
    pub fn origin(&self) -> Option<ReplyOrigin> {
        match self {
            ReplySource::Pathway { from, .. } | ReplySource::Objective { from, .. } => Some(*from),
            ReplySource::Nothing => None,
        }
    }
}

/// Every layer of the precedence; `None` where the layer does not apply (no persona, the
/// number is not attached to the persona in use, …).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplyLayers {
    pub send_persona_settings: Option<PathwayOverride>,
    pub request_pathway: Option<PathwayOverride>,
    pub number_persona_settings: Option<PathwayOverride>,
    pub persona: Option<PersonaRouting>,
    pub number_pathway: Option<PathwayOverride>,
    pub number_objective: Option<String>,
}

/// Applies the precedence in the module docs: the first layer that names a pathway or a
/// prompt wins.
pub fn resolve_reply_source(layers: &ReplyLayers) -> ReplySource {
    let pathway = |o: &Option<PathwayOverride>, from| {
        o.as_ref()
            .and_then(PathwayOverride::choice)
            .map(|pathway| ReplySource::Pathway { pathway, from })
    };
    let objective = |p: Option<&String>, from| {
        p.filter(|s| !s.trim().is_empty())
            .map(|p| ReplySource::Objective {
                prompt: p.clone(),
                from,
            })
    };
    let persona = layers.persona.as_ref();
    pathway(
        &layers.send_persona_settings,
        ReplyOrigin::SendPersonaSettings,
    )
    .or_else(|| pathway(&layers.request_pathway, ReplyOrigin::RequestPathway))
    .or_else(|| {
        pathway(
            &layers.number_persona_settings,
            ReplyOrigin::NumberPersonaSettings,
        )
    })
    .or_else(|| {
        persona?
            .conditions
            .iter()
            .find_map(PathwayOverride::choice)
            .map(|pathway| ReplySource::Pathway {
                pathway,
                from: ReplyOrigin::PersonaRouting,
            })
    })
    .or_else(|| objective(persona?.prompt.as_ref(), ReplyOrigin::PersonaPrompt))
    .or_else(|| pathway(&layers.number_pathway, ReplyOrigin::NumberPathway))
    .or_else(|| {
        objective(
            layers.number_objective.as_ref(),
            ReplyOrigin::NumberObjective,
        )
    })
    .unwrap_or(ReplySource::Nothing)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn over(id: &str) -> Option<PathwayOverride> {
        Some(PathwayOverride {
            pathway_id: Some(id.into()),
            ..Default::default()
        })
    }

    #[test]
    fn send_persona_settings_beat_the_request_pathway() {
        let layers = ReplyLayers {
            send_persona_settings: Some(PathwayOverride::from_json(
                &json!({"pathway_id": "p1", "pathway_version": 2, "start_node_id": "n1"}),
            )),
            request_pathway: over("p2"),
            ..Default::default()
        };
        assert_eq!(
            resolve_reply_source(&layers),
            ReplySource::Pathway {
                pathway: PathwayChoice {
                    pathway_id: "p1".into(),
                    version: Some("2".into()),
                    start_node_id: Some("n1".into()),
                },
                from: ReplyOrigin::SendPersonaSettings,
            }
        );
    }

    #[test]
    fn blank_placeholder_conditions_fall_through_to_the_persona_prompt() {
        let routing = PersonaRouting::from_version_config(&json!({
            "pathway_conditions": [{"name": "", "prompt": "", "pathway_id": "", "pathway_version": ""}],
            "personality_prompt": "Be kind",
        }));
        let layers = ReplyLayers {
            persona: Some(routing),
            number_pathway: over("own"),
            ..Default::default()
        };
        assert_eq!(
            resolve_reply_source(&layers),
            ReplySource::Objective {
                prompt: "Be kind".into(),
                from: ReplyOrigin::PersonaPrompt
            }
        );
    }

    #[test]
    fn nothing_named_is_nothing() {
        assert_eq!(
            resolve_reply_source(&ReplyLayers::default()),
            ReplySource::Nothing
        );
        assert_eq!(ReplySource::Nothing.origin(), None);
    }

    #[test]
    fn version_names_round_trip() {
        for t in [
            VersionType::Production,
            VersionType::Draft,
            VersionType::Archived,
        ] {
            assert_eq!(VersionType::parse(t.as_str()), Some(t));
        }
        assert_eq!(PersonaVersion::parse("archived"), None);
        assert_eq!(PersonaVersion::default().as_str(), "production");
    }
}
