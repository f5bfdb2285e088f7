//! Citation schemas (spec 3) and the citation variables they leave on conversations.
//!
//! Every query is scoped by org: another org's schema or conversation is indistinguishable
//! from none. The store keeps a schema's JSON as given; checking it is the caller's job
//! (`parley_domain::citations::CitationSchema::parse`), done before it is written.

use parley_domain::number_config::Patch;
use serde_json::{Map, Value};
use sqlx::{any::AnyRow, Row};

use crate::{Result, Store, StoreError};

#[derive(Debug, Clone, PartialEq)]
pub struct CitationSchemaRow {
    pub id: String,
    pub org_id: String,
    pub name: String,
    pub description: Option<String>,
    /// The schema object as sent.
    pub schema: Value,
    pub created_at: i64,
    pub updated_at: i64,
}

/// What `POST /v1/citation_schemas/` stores.
#[derive(Debug, Clone, Default)]
pub struct NewCitationSchema {
    pub name: String,
    pub description: Option<String>,
    pub schema: Value,
}

/// What `PATCH /v1/citation_schemas/?id=` changes; `schema` replaces the stored one whole.
#[derive(Debug, Clone, Default)]
pub struct CitationSchemaPatch {
    pub name: Option<String>,
    pub description: Patch<String>,
    pub schema: Option<Value>,
}

/// A conversation's citation variables around one merge.
#[derive(Debug, Clone, PartialEq)]
pub struct MergedCitations {
    pub previous: Map<String, Value>,
    /// `previous` with the new values over it.
    pub merged: Map<String, Value>,
}

const COLUMNS: &str = "id, org_id, name, description, schema, created_at, updated_at";

fn schema_row(r: &AnyRow) -> Result<CitationSchemaRow> {
    let schema: String = r.try_get("schema")?;
    Ok(CitationSchemaRow {
        id: r.try_get("id")?,
        org_id: r.try_get("org_id")?,
        name: r.try_get("name")?,
        description: r.try_get("description")?,
        schema: serde_json::from_str(&schema)
            .map_err(|e| StoreError::Corrupt(format!("citation schema is not JSON: {e}")))?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

/// A stored JSON object column; anything else (NULL, or not an object) is empty.
fn object_column(text: Option<String>) -> Map<String, Value> {
    match text.and_then(|t| serde_json::from_str(&t).ok()) {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    }
}

impl Store {
    pub async fn create_citation_schema(
        &self,
        org_id: &str,
        new: &NewCitationSchema,
        now: i64,
    ) -> Result<CitationSchemaRow> {
        let id = uuid::Uuid::new_v4().to_string();
        sqlx::query(
            "INSERT INTO citation_schemas (id, org_id, name, description, schema, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $6)",
        )
        .bind(&id)
        .bind(org_id)
        .bind(&new.name)
        .bind(&new.description)
        .bind(new.schema.to_string())
        .bind(now)
        .execute(&self.writer)
        .await?;
        Ok(CitationSchemaRow {
            id,
            org_id: org_id.to_owned(),
            name: new.name.clone(),
            description: new.description.clone(),
            schema: new.schema.clone(),
            created_at: now,
            updated_at: now,
        })
    }

    pub async fn citation_schema(
        &self,
        org_id: &str,
        id: &str,
    ) -> Result<Option<CitationSchemaRow>> {
        let sql = format!("SELECT {COLUMNS} FROM citation_schemas WHERE org_id = $1 AND id = $2");
        sqlx::query(&sql)
            .bind(org_id)
            .bind(id)
            .fetch_optional(&self.reader)
            .await?
            .as_ref()
            .map(schema_row)
            .transpose()
    }

    /// All of the org's schemas, newest first (as Bland's list example orders them).
    pub async fn list_citation_schemas(&self, org_id: &str) -> Result<Vec<CitationSchemaRow>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM citation_schemas WHERE org_id = $1 ORDER BY created_at DESC, id DESC"
        );
        sqlx::query(&sql)
            .bind(org_id)
            .fetch_all(&self.reader)
            .await?
            .iter()
            .map(schema_row)
            .collect()
    }

    /// The org's schemas among `ids`, in the order of `ids` (a repeated id once); ids that
    /// name none of the org's schemas are left out. What end-of-conversation extraction and
    /// backfill load.
    pub async fn citation_schemas_by_ids(
        &self,
        org_id: &str,
        ids: &[String],
    ) -> Result<Vec<CitationSchemaRow>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let marks: Vec<String> = (0..ids.len()).map(|i| format!("${}", i + 2)).collect();
        let sql = format!(
            "SELECT {COLUMNS} FROM citation_schemas WHERE org_id = $1 AND id IN ({})",
            marks.join(", ")
        );
        let mut q = sqlx::query(&sql).bind(org_id);
        for id in ids {
            q = q.bind(id);
        }
        let mut found = q
            .fetch_all(&self.reader)
            .await?
            .iter()
            .map(schema_row)
            .collect::<Result<Vec<_>>>()?;
        let mut out = Vec::with_capacity(found.len());
        for id in ids {
            if let Some(i) = found.iter().position(|r| &r.id == id) {
                out.push(found.swap_remove(i));
            }
        }
        Ok(out)
    }

    /// Applies `patch`; `None` when the org has no such schema.
    pub async fn update_citation_schema(
        &self,
        org_id: &str,
        id: &str,
        patch: CitationSchemaPatch,
        now: i64,
    ) -> Result<Option<CitationSchemaRow>> {
        let mut tx = self.writer.begin().await?;
        let sql = format!(
            "SELECT {COLUMNS} FROM citation_schemas WHERE org_id = $1 AND id = $2{}",
            self.dialect.for_update()
        );
        let Some(row) = sqlx::query(&sql)
            .bind(org_id)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
        else {
            return Ok(None);
        };
        let mut s = schema_row(&row)?;
        if let Some(name) = patch.name {
            s.name = name;
        }
        patch.description.apply_to(&mut s.description);
        if let Some(schema) = patch.schema {
            s.schema = schema;
        }
        s.updated_at = now;
        sqlx::query(
            "UPDATE citation_schemas SET name = $3, description = $4, schema = $5, updated_at = $6 \
             WHERE org_id = $1 AND id = $2",
        )
        .bind(org_id)
        .bind(id)
        .bind(&s.name)
        .bind(&s.description)
        .bind(s.schema.to_string())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Some(s))
    }

    /// Deletes one of the org's schemas and, as Bland does, takes its id out of every
    /// number config of the org that lists it in `citation_schema_ids`. Citation variables
    /// already on conversations stay. Whether it existed.
    pub async fn delete_citation_schema(&self, org_id: &str, id: &str) -> Result<bool> {
        let mut tx = self.writer.begin().await?;
        let deleted = sqlx::query("DELETE FROM citation_schemas WHERE org_id = $1 AND id = $2")
            .bind(org_id)
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if deleted == 0 {
            return Ok(false);
        }
        // The configs are JSON text: narrow by substring, then edit the parsed array.
        let configs = sqlx::query(
            "SELECT c.number_id, c.channel, c.config FROM number_configs c \
             JOIN numbers n ON n.id = c.number_id WHERE n.org_id = $1 AND c.config LIKE $2",
        )
        .bind(org_id)
        .bind(format!("%{id}%"))
        .fetch_all(&mut *tx)
        .await?;
        for r in configs {
            let text: String = r.try_get("config")?;
            let Ok(Value::Object(mut config)) = serde_json::from_str::<Value>(&text) else {
                continue;
            };
            let Some(Value::Array(ids)) = config.get_mut("citation_schema_ids") else {
                continue;
            };
            let before = ids.len();
            ids.retain(|v| v.as_str() != Some(id));
            if ids.len() == before {
                continue;
            }
            sqlx::query(
                "UPDATE number_configs SET config = $3 WHERE number_id = $1 AND channel = $2",
            )
            .bind(r.try_get::<i64, _>("number_id")?)
            .bind(r.try_get::<String, _>("channel")?)
            .bind(Value::Object(config).to_string())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Merges `new` into one of the org's conversations' citation variables (a new value
    /// replaces the old one of the same name; other names keep theirs), in one transaction.
    /// `None` when the org has no such conversation.
    pub async fn merge_citation_variables(
        &self,
        org_id: &str,
        conversation_id: &str,
        new: &Map<String, Value>,
    ) -> Result<Option<MergedCitations>> {
        let mut tx = self.writer.begin().await?;
        let sql = format!(
            "SELECT citation_variables FROM conversations WHERE org_id = $1 AND id = $2{}",
            self.dialect.for_update()
        );
        let Some(row) = sqlx::query(&sql)
            .bind(org_id)
            .bind(conversation_id)
            .fetch_optional(&mut *tx)
            .await?
        else {
            return Ok(None);
        };
        let previous = object_column(row.try_get("citation_variables")?);
        let mut merged = previous.clone();
        merged.extend(new.iter().map(|(k, v)| (k.clone(), v.clone())));
        if merged != previous {
            sqlx::query(
                "UPDATE conversations SET citation_variables = $3 WHERE org_id = $1 AND id = $2",
            )
            .bind(org_id)
            .bind(conversation_id)
            .bind(Value::Object(merged.clone()).to_string())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(Some(MergedCitations { previous, merged }))
    }
}
