//! Which layer drives a conversation's replies: loads the number, its persona link, the
//! persona version and the number's own config, then applies
//! [`parley_domain::personas::resolve_reply_source`].

use parley_domain::personas::{
    resolve_reply_source, PathwayOverride, PersonaRouting, PersonaVersion, ReplyLayers, ReplySource,
};
use serde_json::Value;
use sqlx::Row;

use crate::{Result, Store, StoreError};

/// The reply-relevant fields of a send (`/v1/sms/send`, a batch row) or of a stored
/// conversation (inbound handling passes what the conversation row holds).
#[derive(Debug, Clone, Copy, Default)]
pub struct ReplyRequest<'a> {
    pub persona_id: Option<&'a str>,
    /// Only read when `persona_id` is given; a number's own persona uses the version the
    /// number is set to (production unless changed).
    pub persona_version: Option<PersonaVersion>,
    /// The send's `persona_settings` object.
    pub persona_settings: Option<&'a Value>,
    pub pathway_id: Option<&'a str>,
    pub pathway_version: Option<&'a str>,
    pub start_node_id: Option<&'a str>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ReplyLookup {
    /// What drives the replies, and the persona in use (if any).
    Resolved {
        source: ReplySource,
        persona_id: Option<String>,
    },
    /// `agent_number` is not one of the org's numbers.
    NumberNotFound,
    /// `persona_id` names no persona of the org.
    PersonaNotFound,
}

fn owned(s: Option<&str>) -> Option<String> {
    s.map(str::to_owned)
}

impl Store {
    /// Resolves what drives the replies of a conversation on one of the org's numbers:
    ///
    /// ```text
    /// resolve_reply_source(org_id, agent_number, channel, &ReplyRequest { .. }) -> Result<ReplyLookup>
    /// ```
    ///
    /// `channel` picks the number's config (`None`: the number's own channel). The persona
    /// in use is the request's `persona_id`, else the one attached to the number; the
    /// number's `persona_settings` apply only when that is the number's own persona. The
    /// number's objective falls back to Bland's default (`Chat with the user`), so a known
    /// number always resolves to something.
    pub async fn resolve_reply_source(
        &self,
        org_id: &str,
        agent_number: &str,
        channel: Option<&str>,
        req: &ReplyRequest<'_>,
    ) -> Result<ReplyLookup> {
        let Some((_, _, stored)) = self.number_for_send(org_id, agent_number, channel).await?
        else {
            return Ok(ReplyLookup::NumberNotFound);
        };
        let config = Store::decode_number_config(stored)?;
        let link = self.number_persona(org_id, agent_number).await?;
        let (persona_id, version) = match (req.persona_id, &link) {
            (Some(id), _) => (Some(id.to_owned()), req.persona_version.unwrap_or_default()),
            (None, Some(l)) => (
                Some(l.persona_id.clone()),
                PersonaVersion::parse(&l.persona_version).unwrap_or_default(),
            ),
            (None, None) => (None, PersonaVersion::Production),
        };
        let mut layers = ReplyLayers {
            send_persona_settings: req.persona_settings.map(PathwayOverride::from_json),
            request_pathway: Some(PathwayOverride {
                pathway_id: owned(req.pathway_id),
                pathway_version: owned(req.pathway_version),
                start_node_id: owned(req.start_node_id),
            }),
            number_pathway: Some(PathwayOverride {
                pathway_id: config.pathway_id.clone(),
                pathway_version: config.pathway_version.clone(),
                start_node_id: config.start_node_id.clone(),
            }),
            number_objective: Some(config.objective_or_default().to_owned()),
            ..Default::default()
        };
        if let Some(id) = &persona_id {
            let Some(routing) = self.persona_routing(org_id, id, version).await? else {
                return Ok(ReplyLookup::PersonaNotFound);
            };
            layers.persona = Some(routing);
            layers.number_persona_settings = link
                .filter(|l| &l.persona_id == id)
                .and_then(|l| l.persona_settings)
                .map(|s| PathwayOverride::from_json(&s));
        }
        Ok(ReplyLookup::Resolved {
            source: resolve_reply_source(&layers),
            persona_id,
        })
    }

    /// The routing of one version of one of the org's personas; `None` if no such persona.
    async fn persona_routing(
        &self,
        org_id: &str,
        id: &str,
        version: PersonaVersion,
    ) -> Result<Option<PersonaRouting>> {
        let row = sqlx::query(
            "SELECT config FROM persona_versions \
             WHERE org_id = $1 AND persona_id = $2 AND version_type = $3",
        )
        .bind(org_id)
        .bind(id)
        .bind(version.as_str())
        .fetch_optional(&self.reader)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let text: String = row.try_get("config")?;
        let config: Value = serde_json::from_str(&text)
            .map_err(|e| StoreError::Corrupt(format!("persona version config: {e}")))?;
        Ok(Some(PersonaRouting::from_version_config(&config)))
    }
}
