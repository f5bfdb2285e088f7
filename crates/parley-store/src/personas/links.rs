//! Numbers answered by a persona: attach, detach, and the per-number `persona_settings`.
//!
//! A number has at most one persona. Attaching a number that serves another persona moves
//! it and clears its settings (they were overrides of the other persona); re-attaching it to
//! the same persona keeps them.

use serde_json::Value;
use sqlx::Row;

use super::{id_marks, lock_persona, PersonaDetail};
use crate::{parse_json, Result, Store};

/// A number attached to a persona.
#[derive(Debug, Clone, PartialEq)]
pub struct InboundLink {
    pub number_id: i64,
    pub phone_number: String,
    pub persona_id: String,
    /// `production` or `draft`: which version answers on this number.
    pub persona_version: String,
    /// `{pathway_id, pathway_version, start_node_id}` or `None`.
    pub persona_settings: Option<Value>,
    pub updated_at: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub enum AttachOutcome {
    Attached(Box<PersonaDetail>),
    PersonaNotFound,
    /// These numbers are not the org's; nothing was attached.
    InvalidNumbers(Vec<String>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum SettingsOutcome {
    Updated(InboundLink),
    PersonaNotFound,
    /// The number is not the org's, or not attached to this persona.
    InboundNotFound,
}

const LINK_COLUMNS: &str = "pn.number_id, n.phone_number, pn.persona_id, pn.persona_version, \
     pn.persona_settings, pn.updated_at";

fn link_row(r: &sqlx::any::AnyRow) -> Result<InboundLink> {
    Ok(InboundLink {
        number_id: r.try_get("number_id")?,
        phone_number: r.try_get("phone_number")?,
        persona_id: r.try_get("persona_id")?,
        persona_version: r.try_get("persona_version")?,
        persona_settings: parse_json(r.try_get("persona_settings")?),
        updated_at: r.try_get("updated_at")?,
    })
}

impl Store {
    /// The numbers attached to some of the org's personas, by phone number.
    pub(super) async fn links_of(
        &self,
        org_id: &str,
        persona_ids: &[&str],
    ) -> Result<Vec<InboundLink>> {
        let marks = id_marks(persona_ids.len());
        let sql = format!(
            "SELECT {LINK_COLUMNS} FROM persona_numbers pn JOIN numbers n ON n.id = pn.number_id \
             WHERE pn.org_id = $1 AND pn.persona_id IN ({marks}) ORDER BY n.phone_number"
        );
        let mut q = sqlx::query(&sql).bind(org_id);
        for id in persona_ids {
            q = q.bind(*id);
        }
        q.fetch_all(&self.reader)
            .await?
            .iter()
            .map(link_row)
            .collect()
    }

    /// The persona link of one of the org's numbers, if it has one.
    pub async fn number_persona(
        &self,
        org_id: &str,
        phone_number: &str,
    ) -> Result<Option<InboundLink>> {
        let sql = format!(
            "SELECT {LINK_COLUMNS} FROM persona_numbers pn JOIN numbers n ON n.id = pn.number_id \
             WHERE pn.org_id = $1 AND n.phone_number = $2"
        );
        let row = sqlx::query(&sql)
            .bind(org_id)
            .bind(phone_number)
            .fetch_optional(&self.reader)
            .await?;
        row.as_ref().map(link_row).transpose()
    }

    /// Attaches the org's numbers to one of its personas, all or nothing. `version` is the
    /// version the numbers answer with (`production` for the attach endpoint).
    pub async fn attach_numbers(
        &self,
        org_id: &str,
        persona_id: &str,
        numbers: &[String],
        version: &str,
        now: i64,
    ) -> Result<AttachOutcome> {
        let mut tx = self.writer.begin().await?;
        if !lock_persona(&mut tx, self, org_id, persona_id).await? {
            return Ok(AttachOutcome::PersonaNotFound);
        }
        let mut ids = Vec::with_capacity(numbers.len());
        let mut missing = Vec::new();
        for n in numbers {
            let row = sqlx::query("SELECT id FROM numbers WHERE org_id = $1 AND phone_number = $2")
                .bind(org_id)
                .bind(n)
                .fetch_optional(&mut *tx)
                .await?;
            match row {
                Some(r) => ids.push(r.try_get::<i64, _>("id")?),
                None => missing.push(n.clone()),
            }
        }
        if !missing.is_empty() {
            tx.rollback().await?;
            return Ok(AttachOutcome::InvalidNumbers(missing));
        }
        for id in ids {
            sqlx::query(
                "INSERT INTO persona_numbers (number_id, org_id, persona_id, persona_version, persona_settings, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, NULL, $5, $5) \
                 ON CONFLICT (number_id) DO UPDATE SET \
                   persona_settings = CASE WHEN persona_numbers.persona_id = excluded.persona_id \
                     THEN persona_numbers.persona_settings ELSE NULL END, \
                   persona_id = excluded.persona_id, persona_version = excluded.persona_version, \
                   updated_at = excluded.updated_at",
            )
            .bind(id)
            .bind(org_id)
            .bind(persona_id)
            .bind(version)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query("UPDATE personas SET updated_at = $1 WHERE id = $2")
            .bind(now)
            .bind(persona_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(match self.persona(org_id, persona_id).await? {
            Some(d) => AttachOutcome::Attached(Box::new(d)),
            None => AttachOutcome::PersonaNotFound,
        })
    }

    /// Detaches numbers from one of the org's personas (clearing their settings). Numbers not
    /// attached to it are left alone. `None` if there is no such persona.
    pub async fn detach_numbers(
        &self,
        org_id: &str,
        persona_id: &str,
        numbers: &[String],
        now: i64,
    ) -> Result<Option<PersonaDetail>> {
        let mut tx = self.writer.begin().await?;
        if !lock_persona(&mut tx, self, org_id, persona_id).await? {
            return Ok(None);
        }
        for n in numbers {
            sqlx::query(
                "DELETE FROM persona_numbers WHERE org_id = $1 AND persona_id = $2 AND number_id IN \
                 (SELECT id FROM numbers WHERE org_id = $1 AND phone_number = $3)",
            )
            .bind(org_id)
            .bind(persona_id)
            .bind(n)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query("UPDATE personas SET updated_at = $1 WHERE id = $2")
            .bind(now)
            .bind(persona_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.persona(org_id, persona_id).await
    }

    /// Sets (or with `None` clears) the persona settings of a number attached to one of the
    /// org's personas.
    pub async fn set_number_persona_settings(
        &self,
        org_id: &str,
        persona_id: &str,
        phone_number: &str,
        settings: Option<&Value>,
        now: i64,
    ) -> Result<SettingsOutcome> {
        if !self.persona_exists(org_id, persona_id).await? {
            return Ok(SettingsOutcome::PersonaNotFound);
        }
        let changed = sqlx::query(
            "UPDATE persona_numbers SET persona_settings = $1, updated_at = $2 \
             WHERE org_id = $3 AND persona_id = $4 AND number_id IN \
             (SELECT id FROM numbers WHERE org_id = $3 AND phone_number = $5)",
        )
        .bind(settings.map(Value::to_string))
        .bind(now)
        .bind(org_id)
        .bind(persona_id)
        .bind(phone_number)
        .execute(&self.writer)
        .await?
        .rows_affected();
        if changed == 0 {
            return Ok(SettingsOutcome::InboundNotFound);
        }
        Ok(match self.number_persona(org_id, phone_number).await? {
            Some(l) if l.persona_id == persona_id => SettingsOutcome::Updated(l),
            _ => SettingsOutcome::InboundNotFound,
        })
    }

    /// Sets which persona (and version) answers on one of the org's numbers, or with `None`
    /// detaches it: `/v1/sms/number/update`'s `persona_id`. Returns `false` if the persona
    /// is not the org's (nothing changed).
    pub async fn set_number_persona(
        &self,
        org_id: &str,
        phone_number: &str,
        persona: Option<(&str, &str)>,
        now: i64,
    ) -> Result<bool> {
        match persona {
            Some((id, version)) => Ok(matches!(
                self.attach_numbers(org_id, id, &[phone_number.to_owned()], version, now)
                    .await?,
                AttachOutcome::Attached(_)
            )),
            None => {
                sqlx::query(
                    "DELETE FROM persona_numbers WHERE org_id = $1 AND number_id IN \
                     (SELECT id FROM numbers WHERE org_id = $1 AND phone_number = $2)",
                )
                .bind(org_id)
                .bind(phone_number)
                .execute(&self.writer)
                .await?;
                Ok(true)
            }
        }
    }
}
