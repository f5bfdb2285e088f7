//! Personas (spec 5): per-org agent configurations with a production and a draft version,
//! the archive of former productions, and the numbers they answer on.
//!
//! Creating a persona writes version 1 (production) and version 2 (draft) with the same
//! config. Edits of versioned fields go to the draft; promoting copies the draft into a new
//! production version (the next number) and archives the previous production, as Bland's
//! promote example shows (production 1 → archived, draft 2 stays, production 3 appears).
//! Persona-level fields (`name`, `role`, `description`, `tags`, `image_url`) apply at once.
//!
//! Every query is scoped by org: another org's persona is indistinguishable from none.
//! Submodules: `versions` (list, get, promote), `links` (attach, detach, per-number
//! settings), `resolve` (which layer drives a conversation's replies).

mod links;
mod resolve;
mod versions;

use parley_domain::{number_config::Patch, personas::VersionType};
use serde_json::{Map, Value};
use sqlx::{any::AnyRow, Any, Row, Transaction};

pub use links::{AttachOutcome, InboundLink, SettingsOutcome};
pub use resolve::{ReplyLookup, ReplyRequest};

use crate::{Result, Store, StoreError};

/// The persona-level fields.
#[derive(Debug, Clone, PartialEq)]
pub struct PersonaRow {
    pub id: String,
    pub org_id: String,
    pub name: String,
    pub role: Option<String>,
    pub description: Option<String>,
    /// A JSON array.
    pub tags: Value,
    pub image_url: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// One version of a persona.
#[derive(Debug, Clone, PartialEq)]
pub struct PersonaVersionRow {
    pub id: String,
    pub persona_id: String,
    pub version_type: VersionType,
    pub version_number: i64,
    /// The versioned fields as stored, unknown ones included.
    pub config: Map<String, Value>,
    pub promoted_from_version_id: Option<String>,
    pub promoted_at: Option<i64>,
    pub promoted_by: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A persona with its current versions and the numbers attached to it.
#[derive(Debug, Clone, PartialEq)]
pub struct PersonaDetail {
    pub persona: PersonaRow,
    pub production: Option<PersonaVersionRow>,
    pub draft: Option<PersonaVersionRow>,
    pub inbound_numbers: Vec<InboundLink>,
}

/// What `POST /v1/personas` stores.
#[derive(Debug, Clone, Default)]
pub struct NewPersona {
    pub name: String,
    pub role: Option<String>,
    pub description: Option<String>,
    pub tags: Vec<Value>,
    pub image_url: Option<String>,
    /// The versioned fields, written to both the production and the draft version.
    pub config: Map<String, Value>,
}

/// What `PATCH /v1/personas/{id}` changes. `config` keys are set on the draft (a JSON
/// `null` value stores null); keys not in it keep their value.
#[derive(Debug, Clone, Default)]
pub struct PersonaPatch {
    pub name: Option<String>,
    pub role: Patch<String>,
    pub description: Patch<String>,
    pub tags: Option<Vec<Value>>,
    pub image_url: Patch<String>,
    pub config: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum DeleteOutcome {
    Deleted,
    NotFound,
    /// Attached to these numbers and not forced; nothing was deleted.
    InUse(Vec<String>),
}

const PERSONA_COLUMNS: &str =
    "id, org_id, name, role, description, tags, image_url, created_at, updated_at";
const VERSION_COLUMNS: &str = "id, persona_id, version_type, version_number, config, \
     promoted_from_version_id, promoted_at, promoted_by, created_at, updated_at";

fn persona_row(r: &AnyRow) -> Result<PersonaRow> {
    let tags: String = r.try_get("tags")?;
    Ok(PersonaRow {
        id: r.try_get("id")?,
        org_id: r.try_get("org_id")?,
        name: r.try_get("name")?,
        role: r.try_get("role")?,
        description: r.try_get("description")?,
        tags: serde_json::from_str(&tags)
            .map_err(|e| StoreError::Corrupt(format!("persona tags are not JSON: {e}")))?,
        image_url: r.try_get("image_url")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

fn version_row(r: &AnyRow) -> Result<PersonaVersionRow> {
    let kind: String = r.try_get("version_type")?;
    let config: String = r.try_get("config")?;
    Ok(PersonaVersionRow {
        id: r.try_get("id")?,
        persona_id: r.try_get("persona_id")?,
        version_type: VersionType::parse(&kind)
            .ok_or_else(|| StoreError::Corrupt(format!("persona version type {kind:?}")))?,
        version_number: r.try_get("version_number")?,
        config: serde_json::from_str(&config)
            .map_err(|e| StoreError::Corrupt(format!("persona version config: {e}")))?,
        promoted_from_version_id: r.try_get("promoted_from_version_id")?,
        promoted_at: r.try_get("promoted_at")?,
        promoted_by: r.try_get("promoted_by")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

/// `$2, $3, …` for `n` persona ids bound after the org id.
fn id_marks(n: usize) -> String {
    (0..n)
        .map(|i| format!("${}", i + 2))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Locks one of the org's personas for a read-modify-write; whether it exists.
async fn lock_persona(
    tx: &mut Transaction<'static, Any>,
    store: &Store,
    org_id: &str,
    id: &str,
) -> Result<bool> {
    let sql = format!(
        "SELECT id FROM personas WHERE org_id = $1 AND id = $2{}",
        store.dialect.for_update()
    );
    Ok(sqlx::query(&sql)
        .bind(org_id)
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?
        .is_some())
}

#[expect(clippy::too_many_arguments, reason = "one row's columns")]
async fn insert_version(
    tx: &mut Transaction<'static, Any>,
    org_id: &str,
    persona_id: &str,
    kind: VersionType,
    number: i64,
    config: &Map<String, Value>,
    promoted_from: Option<&str>,
    promoted_at: Option<i64>,
    now: i64,
) -> Result<String> {
    let id = uuid::Uuid::new_v4().to_string();
    sqlx::query(
        "INSERT INTO persona_versions (id, persona_id, org_id, version_type, version_number, config, \
         promoted_from_version_id, promoted_at, promoted_by, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, $9, $9)",
    )
    .bind(&id)
    .bind(persona_id)
    .bind(org_id)
    .bind(kind.as_str())
    .bind(number)
    .bind(Value::Object(config.clone()).to_string())
    .bind(promoted_from)
    .bind(promoted_at)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

impl Store {
    /// Creates a persona with its production (1) and draft (2) versions.
    pub async fn create_persona(
        &self,
        org_id: &str,
        p: &NewPersona,
        now: i64,
    ) -> Result<PersonaDetail> {
        let id = uuid::Uuid::new_v4().to_string();
        let mut tx = self.writer.begin().await?;
        sqlx::query(
            "INSERT INTO personas (id, org_id, name, role, description, tags, image_url, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
        )
        .bind(&id)
        .bind(org_id)
        .bind(&p.name)
        .bind(&p.role)
        .bind(&p.description)
        .bind(Value::Array(p.tags.clone()).to_string())
        .bind(&p.image_url)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let v = VersionType::Production;
        let prod =
            insert_version(&mut tx, org_id, &id, v, 1, &p.config, None, Some(now), now).await?;
        let d = VersionType::Draft;
        insert_version(
            &mut tx,
            org_id,
            &id,
            d,
            2,
            &p.config,
            Some(&prod),
            None,
            now,
        )
        .await?;
        tx.commit().await?;
        self.persona(org_id, &id)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("persona {id} vanished after create")))
    }

    /// One of the org's personas, with its current versions and numbers.
    pub async fn persona(&self, org_id: &str, id: &str) -> Result<Option<PersonaDetail>> {
        let sql = format!("SELECT {PERSONA_COLUMNS} FROM personas WHERE org_id = $1 AND id = $2");
        let Some(row) = sqlx::query(&sql)
            .bind(org_id)
            .bind(id)
            .fetch_optional(&self.reader)
            .await?
        else {
            return Ok(None);
        };
        let mut all = self.details(org_id, vec![persona_row(&row)?]).await?;
        Ok(all.pop())
    }

    /// Whether the org has this persona.
    pub async fn persona_exists(&self, org_id: &str, id: &str) -> Result<bool> {
        Ok(
            sqlx::query("SELECT 1 AS one FROM personas WHERE org_id = $1 AND id = $2")
                .bind(org_id)
                .bind(id)
                .fetch_optional(&self.reader)
                .await?
                .is_some(),
        )
    }

    /// A page of the org's personas, oldest first (`page` from 1).
    pub async fn list_personas(
        &self,
        org_id: &str,
        page: i64,
        limit: i64,
    ) -> Result<Vec<PersonaDetail>> {
        let sql = format!(
            "SELECT {PERSONA_COLUMNS} FROM personas WHERE org_id = $1 \
             ORDER BY created_at, id LIMIT $2 OFFSET $3"
        );
        let rows = sqlx::query(&sql)
            .bind(org_id)
            .bind(limit)
            .bind((page - 1).saturating_mul(limit))
            .fetch_all(&self.reader)
            .await?;
        let personas = rows.iter().map(persona_row).collect::<Result<Vec<_>>>()?;
        self.details(org_id, personas).await
    }

    /// Adds current versions and numbers to personas of one org, in two queries.
    async fn details(&self, org_id: &str, personas: Vec<PersonaRow>) -> Result<Vec<PersonaDetail>> {
        if personas.is_empty() {
            return Ok(Vec::new());
        }
        let marks = id_marks(personas.len());
        let sql = format!(
            "SELECT {VERSION_COLUMNS} FROM persona_versions WHERE org_id = $1 \
             AND version_type IN ('production', 'draft') AND persona_id IN ({marks})"
        );
        let mut q = sqlx::query(&sql).bind(org_id);
        for p in &personas {
            q = q.bind(&p.id);
        }
        let versions = q
            .fetch_all(&self.reader)
            .await?
            .iter()
            .map(version_row)
            .collect::<Result<Vec<_>>>()?;
        let ids: Vec<&str> = personas.iter().map(|p| p.id.as_str()).collect();
        let links = self.links_of(org_id, &ids).await?;
        Ok(personas
            .into_iter()
            .map(|persona| {
                let pick = |t| {
                    versions
                        .iter()
                        .find(|v| v.persona_id == persona.id && v.version_type == t)
                        .cloned()
                };
                PersonaDetail {
                    production: pick(VersionType::Production),
                    draft: pick(VersionType::Draft),
                    inbound_numbers: links
                        .iter()
                        .filter(|l| l.persona_id == persona.id)
                        .cloned()
                        .collect(),
                    persona,
                }
            })
            .collect())
    }

    /// Applies persona-level changes at once and versioned ones to the draft.
    pub async fn update_persona(
        &self,
        org_id: &str,
        id: &str,
        patch: PersonaPatch,
        now: i64,
    ) -> Result<Option<PersonaDetail>> {
        let mut tx = self.writer.begin().await?;
        if !lock_persona(&mut tx, self, org_id, id).await? {
            return Ok(None);
        }
        let sql = format!("SELECT {PERSONA_COLUMNS} FROM personas WHERE org_id = $1 AND id = $2");
        let mut p = persona_row(
            &sqlx::query(&sql)
                .bind(org_id)
                .bind(id)
                .fetch_one(&mut *tx)
                .await?,
        )?;
        if let Some(name) = patch.name {
            p.name = name;
        }
        patch.role.apply_to(&mut p.role);
        patch.description.apply_to(&mut p.description);
        patch.image_url.apply_to(&mut p.image_url);
        if let Some(tags) = patch.tags {
            p.tags = Value::Array(tags);
        }
        sqlx::query(
            "UPDATE personas SET name = $1, role = $2, description = $3, tags = $4, image_url = $5, \
             updated_at = $6 WHERE org_id = $7 AND id = $8",
        )
        .bind(&p.name)
        .bind(&p.role)
        .bind(&p.description)
        .bind(p.tags.to_string())
        .bind(&p.image_url)
        .bind(now)
        .bind(org_id)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if !patch.config.is_empty() {
            let sql = format!(
                "SELECT {VERSION_COLUMNS} FROM persona_versions \
                 WHERE org_id = $1 AND persona_id = $2 AND version_type = 'draft'"
            );
            let mut draft = version_row(
                &sqlx::query(&sql)
                    .bind(org_id)
                    .bind(id)
                    .fetch_one(&mut *tx)
                    .await?,
            )?;
            draft.config.extend(patch.config);
            sqlx::query("UPDATE persona_versions SET config = $1, updated_at = $2 WHERE id = $3")
                .bind(Value::Object(draft.config).to_string())
                .bind(now)
                .bind(&draft.id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        self.persona(org_id, id).await
    }

    /// Deletes a persona and all its versions. Attached numbers refuse it unless `force`,
    /// which detaches them first (clearing their persona settings).
    pub async fn delete_persona(
        &self,
        org_id: &str,
        id: &str,
        force: bool,
    ) -> Result<DeleteOutcome> {
        let mut tx = self.writer.begin().await?;
        if !lock_persona(&mut tx, self, org_id, id).await? {
            return Ok(DeleteOutcome::NotFound);
        }
        let using: Vec<String> = sqlx::query(
            "SELECT n.phone_number FROM persona_numbers pn JOIN numbers n ON n.id = pn.number_id \
             WHERE pn.org_id = $1 AND pn.persona_id = $2 ORDER BY n.phone_number",
        )
        .bind(org_id)
        .bind(id)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| r.try_get("phone_number"))
        .collect::<Result<_, _>>()?;
        if !using.is_empty() && !force {
            tx.rollback().await?;
            return Ok(DeleteOutcome::InUse(using));
        }
        for sql in [
            "DELETE FROM persona_numbers WHERE org_id = $1 AND persona_id = $2",
            "DELETE FROM persona_versions WHERE org_id = $1 AND persona_id = $2",
            "DELETE FROM personas WHERE org_id = $1 AND id = $2",
        ] {
            sqlx::query(sql)
                .bind(org_id)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(DeleteOutcome::Deleted)
    }
}
